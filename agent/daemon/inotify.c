/* inotify.c - recursive inotify: a tree of watched directories, cookie
 * pairing of moves, overflow and watch-limit handling.  See inotify.h.  The
 * kernel's events are read and handled in inotify_events.c. */
#include "config.h"

#include "inotify_priv.h"

int ino_buf_set(struct buf *b, const char *a, size_t alen, const char *c, size_t clen)
{
	int sep = c && alen && a[alen - 1] != '/';
	size_t need = alen + (size_t)sep + clen + 1;

	if (need > b->cap) {
		size_t cap = need < 256 ? 256 : need * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p, a, alen);
	b->len = alen;
	if (sep)
		b->p[b->len++] = '/';
	if (c) {
		memcpy(b->p + b->len, c, clen);
		b->len += clen;
	}
	b->p[b->len] = '\0';
	return 0;
}

/* Full path of n (and of its entry child when child is not NULL) into b. */
int ino_node_path(struct node *n, const char *child, struct buf *b)
{
	size_t len = 0, pos;
	struct node *m;

	for (m = n; m; m = m->parent)
		len += strlen(m->name) + 1;
	if (len + 1 > b->cap) {
		char *p = realloc(b->p, len * 2 + 256);

		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = len * 2 + 256;
	}
	pos = len;
	b->p[pos] = '\0';
	for (m = n; m; m = m->parent) {
		size_t l = strlen(m->name);

		pos -= l;
		memcpy(b->p + pos, m->name, l);
		/* A root named "/" already ends in the separator. */
		if (m->parent && !(!m->parent->parent && !strcmp(m->parent->name, "/")))
			b->p[--pos] = '/';
	}
	/* Roots sit at the start; the count above reserved one byte per node. */
	memmove(b->p, b->p + pos, len - pos + 1);
	b->len = len - pos;
	if (child) {
		char *tmp = strdup(b->p);
		int rc;

		if (!tmp)
			return -ENOMEM;
		rc = ino_buf_set(b, tmp, strlen(tmp), child, strlen(child));
		free(tmp);
		return rc;
	}
	return 0;
}

void ino_emit(struct vigil_inotify *w, int kind, const char *path, size_t len, const char *from,
		 size_t from_len, int is_dir, int err, uint32_t mask)
{
	struct vigil_inotify_ev ev = { kind, path, len, from, from_len, is_dir, err, mask };

	w->fn(w->ctx, &ev);
}

static size_t hslot(const struct vigil_inotify *w, int wd)
{
	return ((unsigned)wd * 2654435761u) & (w->nbuckets - 1);
}

struct node *ino_lookup(const struct vigil_inotify *w, int wd)
{
	struct node *n;

	for (n = w->hash[hslot(w, wd)]; n; n = n->hnext)
		if (n->wd == wd)
			return n;
	return NULL;
}

static int hash_grow(struct vigil_inotify *w)
{
	size_t nb = w->nbuckets * 2;
	struct node **h = calloc(nb, sizeof(*h));

	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < w->nbuckets; i++) {
		struct node *n = w->hash[i], *next;

		for (; n; n = next) {
			size_t s = ((unsigned)n->wd * 2654435761u) & (nb - 1);

			next = n->hnext;
			n->hnext = h[s];
			h[s] = n;
		}
	}
	free(w->hash);
	w->mem += (nb - w->nbuckets) * sizeof(*h);
	w->hash = h;
	w->nbuckets = nb;
	return 0;
}

void ino_unlink_child(struct node *n)
{
	struct node **pp;

	if (!n->parent)
		return;
	for (pp = &n->parent->child; *pp; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	n->parent = NULL;
	n->next = NULL;
}

void ino_link_child(struct node *parent, struct node *n)
{
	n->parent = parent;
	n->next = parent->child;
	parent->child = n;
}

struct node *ino_find_child(struct node *parent, const char *name)
{
	struct node *c;

	for (c = parent->child; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static void free_sents(struct sent *s)
{
	while (s) {
		struct sent *n = s->next;

		free(s->pattern);
		free(s);
		s = n;
	}
}

/* Forgets n and everything below it; rm_watch tells whether n's own watch
 * still exists in the kernel (children's always may). */
void ino_node_drop(struct vigil_inotify *w, struct node *n, int rm_watch)
{
	struct node **pp;

	while (n->child)
		ino_node_drop(w, n->child, 1);
	ino_unlink_child(n);
	for (pp = &w->hash[hslot(w, n->wd)]; *pp; pp = &(*pp)->hnext)
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	if (rm_watch)
		inotify_rm_watch(w->fd, n->wd);
	if (n->sents)
		w->st.missing_roots++;
	w->mem -= sizeof(*n) + strlen(n->name) + 1;
	w->nnodes--;
	free_sents(n->sents);
	free(n->name);
	free(n);
}

void ino_unwatched_add(struct vigil_inotify *w, const char *path)
{
	char *p;

	for (size_t i = 0; i < w->nunwatched; i++)
		if (!strcmp(w->unwatched[i], path))
			return;
	if (w->nunwatched >= UNWATCHED_MAX) {
		w->unwatched_overflow = 1;
		return;
	}
	if (!w->unwatched) {
		w->unwatched = calloc(UNWATCHED_MAX, sizeof(char *));
		if (!w->unwatched) {
			w->unwatched_overflow = 1;
			return;
		}
	}
	p = strdup(path);
	if (!p) {
		w->unwatched_overflow = 1;
		return;
	}
	w->unwatched[w->nunwatched++] = p;
}

/* Adds (or finds) the watch of the directory parent/name (name is a full path
 * when parent is NULL).  Returns the node, or NULL when it is not a
 * directory, is on another file system under one_fs, or the kernel refused
 * (reported). */
struct node *ino_watch_dir(struct vigil_inotify *w, struct node *parent, const char *name,
			      uint32_t flags)
{
	struct stat st;
	struct node *n;
	int wd;

	if (parent ? ino_node_path(parent, name, &w->pb) : ino_buf_set(&w->pb, name, strlen(name), NULL, 0))
		return NULL;
	if (lstat(w->pb.p, &st) < 0 || !S_ISDIR(st.st_mode))
		return NULL;
	if (parent && (parent->flags & N_ONEFS) && (uint64_t)st.st_dev != parent->dev)
		return NULL;
	wd = inotify_add_watch(w->fd, w->pb.p, WMASK);
	if (wd < 0) {
		int e = errno;

		if (e == ENOENT || e == ENOTDIR)
			return NULL;
		if (e == ENOSPC || e == ENOMEM) {
			w->st.limit_hits++;
			ino_unwatched_add(w, w->pb.p);
		}
		ino_emit(w, VIGIL_INOTIFY_LIMIT, w->pb.p, w->pb.len, NULL, 0, 1, -e, 0);
		return NULL;
	}
	n = ino_lookup(w, wd);
	if (n) {
		/* Known inode: a nested root, a sentinel that is also in a tree, or a
		 * directory that moved while events were lost. */
		if (parent && (n->parent != parent || strcmp(n->name, name)) && !(n->flags & N_ROOT)) {
			char *nm = strdup(name);

			if (nm) {
				ino_unlink_child(n);
				free(n->name);
				n->name = nm;
				ino_link_child(parent, n);
			}
		}
		if (!parent && !n->parent && strcmp(n->name, name)) {
			char *nm = strdup(name);

			if (nm) {
				free(n->name);
				n->name = nm;
			}
		}
		n->flags |= flags | N_MARK;
		return n;
	}
	if (w->nnodes + 1 > w->nbuckets && hash_grow(w)) {
		inotify_rm_watch(w->fd, wd);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n || !(n->name = strdup(name))) {
		free(n);
		inotify_rm_watch(w->fd, wd);
		return NULL;
	}
	n->wd = wd;
	n->flags = flags | N_MARK;
	if (parent) {
		n->flags |= parent->flags & N_ONEFS;
		ino_link_child(parent, n);
	}
	n->dev = (uint64_t)st.st_dev;
	n->hnext = w->hash[hslot(w, wd)];
	w->hash[hslot(w, wd)] = n;
	w->nnodes++;
	w->mem += sizeof(*n) + strlen(name) + 1;
	return n;
}

static int push(struct vigil_inotify *w, struct node *n)
{
	if (w->nstack == w->capstack) {
		size_t cap = w->capstack ? w->capstack * 2 : 64;
		struct node **s = realloc(w->stack, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		w->stack = s;
		w->capstack = cap;
	}
	w->stack[w->nstack++] = n;
	return 0;
}

/* Watches every directory below top; with report, every entry found is
 * reported as PATH (a new directory: files may have been created in it
 * before its watch existed). */
void ino_add_tree(struct vigil_inotify *w, struct node *top, int report)
{
	w->nstack = 0;
	if (push(w, top))
		return;
	while (w->nstack) {
		struct node *n = w->stack[--w->nstack];
		struct dirent *de;
		char *base;
		size_t blen;
		DIR *d;
		int fd;

		if (ino_node_path(n, NULL, &w->pb))
			continue;
		base = strdup(w->pb.p);
		if (!base)
			continue;
		blen = strlen(base);
		fd = open(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		d = fd < 0 ? NULL : fdopendir(fd);
		if (!d) {
			if (fd >= 0)
				close(fd);
			free(base);
			continue;
		}
		while ((de = readdir(d))) {
			int is_dir;

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			is_dir = de->d_type == DT_DIR;
			if (de->d_type == DT_UNKNOWN) {
				struct stat st;

				is_dir = fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
					 S_ISDIR(st.st_mode);
			}
			if (ino_buf_set(&w->pb2, base, blen, de->d_name, strlen(de->d_name)))
				continue;
			if (report)
				ino_emit(w, VIGIL_INOTIFY_PATH, w->pb2.p, w->pb2.len, NULL, 0, is_dir, 0, IN_CREATE);
			if (is_dir && w->watch_dir(w->ctx, w->pb2.p, w->pb2.len)) {
				struct node *c = ino_watch_dir(w, n, de->d_name, N_TREE);

				if (c && push(w, c))
					break;
			}
		}
		closedir(d);
		free(base);
	}
}

static int has_magic(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static void add_sent(struct vigil_inotify *w, struct node *n, const struct rootpat *r)
{
	struct sent *s;

	for (s = n->sents; s; s = s->next)
		if (!strcmp(s->pattern, r->base))
			return;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->pattern = strdup(r->base))) {
		free(s);
		return;
	}
	s->one_fs = r->one_fs;
	s->next = n->sents;
	n->sents = s;
}

void ino_root_tree(struct vigil_inotify *w, const char *path, int one_fs, int report)
{
	struct node *n;

	if (!w->watch_dir(w->ctx, path, strlen(path)))
		return;
	n = ino_watch_dir(w, NULL, path, N_TREE | N_ROOT | (one_fs ? N_ONEFS : 0));
	if (n)
		ino_add_tree(w, n, report);
}

/* Sets up one root pattern: a sentinel watch on each parent directory and a
 * tree for each directory that matches.  Returns how many parents were watched. */
int ino_install(struct vigil_inotify *w, const struct rootpat *r, int report)
{
	glob_t pg = { 0 }, mg = { 0 };
	char **dirs, *single[1];
	size_t ndirs;
	int watched = 0;

	if (!r->base[0]) { /* "/" */
		ino_root_tree(w, "/", r->one_fs, report);
		return 1;
	}
	if (has_magic(r->dir)) {
		if (glob(r->dir, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &pg) != 0)
			return 0;
		dirs = pg.gl_pathv;
		ndirs = pg.gl_pathc;
	} else {
		single[0] = r->dir;
		dirs = single;
		ndirs = 1;
	}
	for (size_t i = 0; i < ndirs; i++) {
		struct node *s = ino_watch_dir(w, NULL, dirs[i], N_SENTINEL);
		char *pat;
		size_t dl = strlen(dirs[i]);

		if (!s)
			continue;
		watched++;
		add_sent(w, s, r);
		pat = malloc(dl + strlen(r->base) + 2);
		if (!pat)
			continue;
		memcpy(pat, dirs[i], dl);
		strcpy(pat + dl + (dl > 1), r->base);
		if (dl > 1)
			pat[dl] = '/';
		if (has_magic(r->base)) {
			if (glob(pat, GLOB_NOSORT, NULL, &mg) == 0)
				for (size_t j = 0; j < mg.gl_pathc; j++)
					ino_root_tree(w, mg.gl_pathv[j], r->one_fs, report);
			globfree(&mg);
		} else {
			ino_root_tree(w, pat, r->one_fs, report);
		}
		free(pat);
	}
	if (dirs != single)
		globfree(&pg);
	return watched;
}

int vigil_inotify_new(vigil_inotify_fn fn, vigil_inotify_filter_fn watch_dir_fn, void *ctx,
		      struct vigil_inotify **out, struct vigil_err *err)
{
	struct vigil_inotify *w;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return vigil_err_set(err, -ENOMEM, "inotify: out of memory");
	w->fn = fn;
	w->watch_dir = watch_dir_fn;
	w->ctx = ctx;
	w->nbuckets = 256;
	w->hash = calloc(w->nbuckets, sizeof(*w->hash));
	w->mem = sizeof(*w) + w->nbuckets * sizeof(*w->hash);
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (!w->hash || w->fd < 0) {
		int rc = w->hash ? -errno : -ENOMEM;

		if (w->fd >= 0)
			close(w->fd);
		free(w->hash);
		free(w);
		return vigil_err_set(err, rc, "inotify_init1: %s%s", strerror(-rc),
				     rc == -EMFILE ? " (fs.inotify.max_user_instances reached)" : "");
	}
	*out = w;
	return 0;
}

void vigil_inotify_free(struct vigil_inotify *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nbuckets; i++) {
		struct node *n = w->hash[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			free_sents(n->sents);
			free(n->name);
			free(n);
		}
	}
	while (w->roots) {
		struct rootpat *r = w->roots->next;

		free(w->roots->dir);
		free(w->roots->base);
		free(w->roots);
		w->roots = r;
	}
	for (size_t i = 0; i < w->nmoves; i++) {
		free(w->moves[i].name);
		free(w->moves[i].path);
	}
	for (size_t i = 0; i < w->nunwatched; i++)
		free(w->unwatched[i]);
	free(w->unwatched);
	free(w->hash);
	free(w->pb.p);
	free(w->pb2.p);
	free(w->stack);
	close(w->fd);
	free(w);
}

int vigil_inotify_fd(const struct vigil_inotify *w)
{
	return w->fd;
}

int vigil_inotify_add_root(struct vigil_inotify *w, const char *path, int one_fs, struct vigil_err *err)
{
	struct rootpat *r;
	const char *slash;
	size_t len = strlen(path);

	if (path[0] != '/')
		return vigil_err_set(err, -EINVAL, "watch root '%s': not an absolute path", path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	r = calloc(1, sizeof(*r));
	if (!r)
		return vigil_err_set(err, -ENOMEM, "watch root '%s': out of memory", path);
	slash = memrchr(path, '/', len);
	r->dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	r->base = strndup(slash + 1, len - (size_t)(slash + 1 - path));
	r->one_fs = one_fs;
	if (!r->dir || !r->base) {
		free(r->dir);
		free(r->base);
		free(r);
		return vigil_err_set(err, -ENOMEM, "watch root '%s': out of memory", path);
	}
	r->next = w->roots;
	w->roots = r;
	if (!ino_install(w, r, 0))
		w->st.missing_roots++;
	return 0;
}
