/* inotify.c - recursive inotify: a tree of watched directories, cookie
 * pairing of moves, overflow and watch-limit handling.  See inotify.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/inotify.h"

#define WMASK (IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | \
	       IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)
/* Directories kept by path for rescans when the kernel refused to watch
 * them; beyond this the whole roots are rescanned instead. */
#define UNWATCHED_MAX 4096
#define MOVES_MAX 256

enum {
	N_TREE = 1u << 0,     /* part of a recursively watched tree */
	N_ROOT = 1u << 1,     /* top of a tree: name is the full path */
	N_SENTINEL = 1u << 2, /* parent of root patterns (sents) */
	N_ONEFS = 1u << 3,    /* do not cross into other file systems below */
	N_UNMOUNTED = 1u << 4,
	N_MARK = 1u << 5,     /* seen during the current resync */
};

struct sent {
	char *pattern; /* last component of a root, fnmatch glob */
	int one_fs;
	struct sent *next;
};

struct node {
	int wd;
	uint32_t flags;
	uint64_t dev;
	struct node *parent, *child, *next, *hnext;
	struct sent *sents;
	char *name; /* full path when parent is NULL */
};

struct rootpat {
	char *dir;  /* may hold globs */
	char *base; /* "" for "/" */
	int one_fs;
	struct rootpat *next;
};

struct pmove {
	uint32_t cookie;
	int parent_wd;
	int is_dir;
	int age;
	char *name;
	char *path;
};

struct buf {
	char *p;
	size_t len, cap;
};

struct vigil_inotify {
	int fd;
	vigil_inotify_fn fn;
	vigil_inotify_filter_fn watch_dir;
	void *ctx;
	struct node **hash;
	size_t nbuckets, nnodes;
	size_t mem;
	struct rootpat *roots;
	struct pmove moves[MOVES_MAX];
	size_t nmoves;
	char **unwatched;
	size_t nunwatched;
	int unwatched_overflow;
	struct vigil_inotify_stats st;
	struct buf pb, pb2;
	struct node **stack;
	size_t nstack, capstack;
};

/* ---- small helpers ---- */

static int buf_set(struct buf *b, const char *a, size_t alen, const char *c, size_t clen)
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
static int node_path(struct node *n, const char *child, struct buf *b)
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
		rc = buf_set(b, tmp, strlen(tmp), child, strlen(child));
		free(tmp);
		return rc;
	}
	return 0;
}

static void emit(struct vigil_inotify *w, int kind, const char *path, size_t len, const char *from,
		 size_t from_len, int is_dir, int err, uint32_t mask)
{
	struct vigil_inotify_ev ev = { kind, path, len, from, from_len, is_dir, err, mask };

	w->fn(w->ctx, &ev);
}

static size_t hslot(const struct vigil_inotify *w, int wd)
{
	return ((unsigned)wd * 2654435761u) & (w->nbuckets - 1);
}

static struct node *lookup(const struct vigil_inotify *w, int wd)
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

static void unlink_child(struct node *n)
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

static void link_child(struct node *parent, struct node *n)
{
	n->parent = parent;
	n->next = parent->child;
	parent->child = n;
}

static struct node *find_child(struct node *parent, const char *name)
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
static void node_drop(struct vigil_inotify *w, struct node *n, int rm_watch)
{
	struct node **pp;

	while (n->child)
		node_drop(w, n->child, 1);
	unlink_child(n);
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

static void unwatched_add(struct vigil_inotify *w, const char *path)
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
static struct node *watch_dir(struct vigil_inotify *w, struct node *parent, const char *name,
			      uint32_t flags)
{
	struct stat st;
	struct node *n;
	int wd;

	if (parent ? node_path(parent, name, &w->pb) : buf_set(&w->pb, name, strlen(name), NULL, 0))
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
			unwatched_add(w, w->pb.p);
		}
		emit(w, VIGIL_INOTIFY_LIMIT, w->pb.p, w->pb.len, NULL, 0, 1, -e, 0);
		return NULL;
	}
	n = lookup(w, wd);
	if (n) {
		/* Known inode: a nested root, a sentinel that is also in a tree, or a
		 * directory that moved while events were lost. */
		if (parent && (n->parent != parent || strcmp(n->name, name)) && !(n->flags & N_ROOT)) {
			char *nm = strdup(name);

			if (nm) {
				unlink_child(n);
				free(n->name);
				n->name = nm;
				link_child(parent, n);
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
		link_child(parent, n);
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
static void add_tree(struct vigil_inotify *w, struct node *top, int report)
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

		if (node_path(n, NULL, &w->pb))
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
			if (buf_set(&w->pb2, base, blen, de->d_name, strlen(de->d_name)))
				continue;
			if (report)
				emit(w, VIGIL_INOTIFY_PATH, w->pb2.p, w->pb2.len, NULL, 0, is_dir, 0, IN_CREATE);
			if (is_dir && w->watch_dir(w->ctx, w->pb2.p, w->pb2.len)) {
				struct node *c = watch_dir(w, n, de->d_name, N_TREE);

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

static void root_tree(struct vigil_inotify *w, const char *path, int one_fs, int report)
{
	struct node *n;

	if (!w->watch_dir(w->ctx, path, strlen(path)))
		return;
	n = watch_dir(w, NULL, path, N_TREE | N_ROOT | (one_fs ? N_ONEFS : 0));
	if (n)
		add_tree(w, n, report);
}

/* Sets up one root pattern: a sentinel watch on each parent directory and a
 * tree for each directory that matches.  Returns how many parents were watched. */
static int install(struct vigil_inotify *w, const struct rootpat *r, int report)
{
	glob_t pg = { 0 }, mg = { 0 };
	char **dirs, *single[1];
	size_t ndirs;
	int watched = 0;

	if (!r->base[0]) { /* "/" */
		root_tree(w, "/", r->one_fs, report);
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
		struct node *s = watch_dir(w, NULL, dirs[i], N_SENTINEL);
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
					root_tree(w, mg.gl_pathv[j], r->one_fs, report);
			globfree(&mg);
		} else {
			root_tree(w, pat, r->one_fs, report);
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
	if (!install(w, r, 0))
		w->st.missing_roots++;
	return 0;
}

/* ---- events ---- */

static void move_free(struct pmove *m)
{
	free(m->name);
	free(m->path);
	m->name = m->path = NULL;
}

static void move_remove(struct vigil_inotify *w, size_t i)
{
	move_free(&w->moves[i]);
	w->moves[i] = w->moves[--w->nmoves];
}

/* A move whose destination never came: the entry left the watched trees. */
static void move_settle(struct vigil_inotify *w, size_t i)
{
	struct pmove *m = &w->moves[i];

	if (m->is_dir) {
		struct node *p = lookup(w, m->parent_wd), *c = p ? find_child(p, m->name) : NULL;

		if (c)
			node_drop(w, c, 1);
		emit(w, VIGIL_INOTIFY_SUBTREE, m->path, strlen(m->path), NULL, 0, 1, 0, IN_MOVED_FROM);
	}
	move_remove(w, i);
}

static void new_dir(struct vigil_inotify *w, struct node *parent, const char *name, const char *path,
		    size_t len)
{
	struct node *c;

	if (!w->watch_dir(w->ctx, path, len))
		return;
	c = watch_dir(w, parent, name, N_TREE);
	if (c)
		add_tree(w, c, 1);
}

static void on_moved_to(struct vigil_inotify *w, struct node *n, const struct inotify_event *ev,
			char *path, size_t len)
{
	int is_dir = !!(ev->mask & IN_ISDIR);
	size_t i;

	for (i = 0; i < w->nmoves; i++)
		if (w->moves[i].cookie == ev->cookie)
			break;
	if (i == w->nmoves) { /* moved in from outside */
		if (is_dir) {
			new_dir(w, n, ev->name, path, len);
			emit(w, VIGIL_INOTIFY_SUBTREE, path, len, NULL, 0, 1, 0, ev->mask);
		}
		emit(w, VIGIL_INOTIFY_PATH, path, len, NULL, 0, is_dir, 0, ev->mask);
		return;
	}
	{
		struct pmove *m = &w->moves[i];

		emit(w, VIGIL_INOTIFY_RENAME, path, len, m->path, strlen(m->path), is_dir, 0, ev->mask);
		if (is_dir) {
			struct node *p = lookup(w, m->parent_wd), *c = p ? find_child(p, m->name) : NULL;

			if (c && w->watch_dir(w->ctx, path, len)) {
				char *nm = strdup(ev->name);

				if (nm) {
					unlink_child(c);
					free(c->name);
					c->name = nm;
					link_child(n, c);
				}
			} else if (c) {
				node_drop(w, c, 1);
			} else {
				new_dir(w, n, ev->name, path, len);
			}
			emit(w, VIGIL_INOTIFY_SUBTREE, m->path, strlen(m->path), NULL, 0, 1, 0, IN_MOVED_FROM);
			emit(w, VIGIL_INOTIFY_SUBTREE, path, len, NULL, 0, 1, 0, ev->mask);
		}
		emit(w, VIGIL_INOTIFY_PATH, path, len, NULL, 0, is_dir, 0, ev->mask);
		move_remove(w, i);
	}
}

static void on_ignored(struct vigil_inotify *w, struct node *n)
{
	int unmounted = n->flags & N_UNMOUNTED;
	struct node *parent = n->parent;
	uint32_t flags = n->flags;
	char *name = NULL, *path = NULL;

	if (unmounted) {
		name = strdup(n->name);
		if (!node_path(n, NULL, &w->pb))
			path = strdup(w->pb.p);
	}
	node_drop(w, n, 0);
	if (!unmounted || !name || !path)
		goto out;
	/* The directory the file system was mounted on is visible again. */
	if (parent && !(parent->flags & N_UNMOUNTED))
		new_dir(w, parent, name, path, strlen(path));
	else if (!parent && (flags & N_ROOT))
		root_tree(w, path, !!(flags & N_ONEFS), 1);
	emit(w, VIGIL_INOTIFY_SUBTREE, path, strlen(path), NULL, 0, 1, 0, IN_UNMOUNT);
out:
	free(name);
	free(path);
}

static void on_sentinel(struct vigil_inotify *w, struct node *n, const struct inotify_event *ev)
{
	int is_dir = !!(ev->mask & IN_ISDIR);
	struct sent *s;

	for (s = n->sents; s; s = s->next)
		if (!fnmatch(s->pattern, ev->name, 0))
			break;
	if (!s || node_path(n, ev->name, &w->pb2))
		return;
	if (is_dir && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
		char *path = strdup(w->pb2.p);

		if (path) {
			root_tree(w, path, s->one_fs, 1);
			emit(w, VIGIL_INOTIFY_SUBTREE, path, strlen(path), NULL, 0, 1, 0, ev->mask);
			emit(w, VIGIL_INOTIFY_PATH, path, strlen(path), NULL, 0, 1, 0, ev->mask);
			free(path);
		}
		return;
	}
	if (is_dir && (ev->mask & IN_MOVED_FROM))
		emit(w, VIGIL_INOTIFY_SUBTREE, w->pb2.p, w->pb2.len, NULL, 0, 1, 0, ev->mask);
	emit(w, VIGIL_INOTIFY_PATH, w->pb2.p, w->pb2.len, NULL, 0, is_dir, 0, ev->mask);
}

static void handle(struct vigil_inotify *w, const struct inotify_event *ev)
{
	struct node *n;
	int is_dir = !!(ev->mask & IN_ISDIR);
	char *path;
	size_t len;

	w->st.events++;
	if (ev->mask & IN_Q_OVERFLOW) {
		w->st.overflows++;
		emit(w, VIGIL_INOTIFY_OVERFLOW, "", 0, NULL, 0, 0, 0, ev->mask);
		return;
	}
	n = lookup(w, ev->wd);
	if (!n)
		return;
	if (ev->mask & IN_IGNORED) {
		on_ignored(w, n);
		return;
	}
	if (ev->mask & IN_UNMOUNT) {
		n->flags |= N_UNMOUNTED;
		if ((!n->parent || n->parent->dev != n->dev) && !node_path(n, NULL, &w->pb))
			emit(w, VIGIL_INOTIFY_UNMOUNT, w->pb.p, w->pb.len, NULL, 0, 1, 0, ev->mask);
		return;
	}
	if (!ev->len || !ev->name[0]) { /* the watched directory itself */
		if (!(n->flags & N_TREE) || node_path(n, NULL, &w->pb))
			return;
		if ((n->flags & N_ROOT) && (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))) {
			char *p = strdup(w->pb.p);

			node_drop(w, n, !!(ev->mask & IN_MOVE_SELF));
			if (p) {
				emit(w, VIGIL_INOTIFY_ROOT_GONE, p, strlen(p), NULL, 0, 1, 0, ev->mask);
				emit(w, VIGIL_INOTIFY_SUBTREE, p, strlen(p), NULL, 0, 1, 0, ev->mask);
				free(p);
			}
			return;
		}
		if (ev->mask & IN_ATTRIB)
			emit(w, VIGIL_INOTIFY_PATH, w->pb.p, w->pb.len, NULL, 0, 1, 0, ev->mask);
		return;
	}
	if (!(n->flags & N_TREE)) {
		if (n->flags & N_SENTINEL)
			on_sentinel(w, n, ev);
		return;
	}
	/* An entry made, removed or renamed changes the directory's own mtime
	 * (and `vigil check` reports that): the directory is looked at too. */
	if ((ev->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)) && !node_path(n, NULL, &w->pb))
		emit(w, VIGIL_INOTIFY_PATH, w->pb.p, w->pb.len, NULL, 0, 1, 0, IN_ATTRIB);
	if (node_path(n, ev->name, &w->pb2))
		return;
	/* pb2 is reused by what follows: keep our own copy. */
	len = w->pb2.len;
	path = strdup(w->pb2.p);
	if (!path)
		return;
	if (ev->mask & IN_MOVED_FROM) {
		if (w->nmoves == MOVES_MAX)
			move_settle(w, 0);
		w->moves[w->nmoves] = (struct pmove){ ev->cookie, n->wd, is_dir, 0, strdup(ev->name), strdup(path) };
		if (!w->moves[w->nmoves].name || !w->moves[w->nmoves].path)
			move_free(&w->moves[w->nmoves]);
		else
			w->nmoves++;
		emit(w, VIGIL_INOTIFY_PATH, path, len, NULL, 0, is_dir, 0, ev->mask);
	} else if (ev->mask & IN_MOVED_TO) {
		on_moved_to(w, n, ev, path, len);
	} else {
		if (is_dir && (ev->mask & IN_CREATE))
			new_dir(w, n, ev->name, path, len);
		emit(w, VIGIL_INOTIFY_PATH, path, len, NULL, 0, is_dir, 0, ev->mask);
	}
	free(path);
}

int vigil_inotify_process(struct vigil_inotify *w)
{
	/* Aligned as the kernel's records are. */
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	int rc = 0;

	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				rc = -errno;
			break;
		}
		if (n == 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			handle(w, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
	/* A move's two halves are queued together; one seen in an earlier batch
	 * and still alone now will stay alone. */
	for (size_t i = 0; i < w->nmoves;) {
		if (w->moves[i].age++ > 0)
			move_settle(w, i);
		else
			i++;
	}
	return rc;
}

void vigil_inotify_flush(struct vigil_inotify *w)
{
	while (w->nmoves)
		move_settle(w, w->nmoves - 1);
}

int vigil_inotify_resync(struct vigil_inotify *w)
{
	int *wds = NULL;
	size_t n = 0;

	for (size_t i = 0; i < w->nbuckets; i++)
		for (struct node *m = w->hash[i]; m; m = m->hnext)
			m->flags &= ~N_MARK;
	for (size_t i = 0; i < w->nunwatched; i++)
		free(w->unwatched[i]);
	w->nunwatched = 0;
	w->unwatched_overflow = 0;
	w->st.missing_roots = 0;
	for (struct rootpat *r = w->roots; r; r = r->next)
		if (!install(w, r, 0))
			w->st.missing_roots++;
	if (w->nnodes) {
		wds = malloc(w->nnodes * sizeof(*wds));
		if (!wds)
			return -ENOMEM;
	}
	for (size_t i = 0; i < w->nbuckets; i++)
		for (struct node *m = w->hash[i]; m; m = m->hnext)
			if (!(m->flags & N_MARK))
				wds[n++] = m->wd;
	for (size_t i = 0; i < n; i++) {
		struct node *m = lookup(w, wds[i]);

		if (m && !(m->flags & N_MARK))
			node_drop(w, m, 1);
	}
	free(wds);
	return 0;
}

int vigil_inotify_retry(struct vigil_inotify *w, void (*still)(void *ctx, const char *path, size_t len),
			void *ctx)
{
	char **old = w->unwatched;
	size_t nold = w->nunwatched;
	int overflow = w->unwatched_overflow;

	if (overflow) {
		/* Too many to keep by name: start over from the roots. */
		int rc = vigil_inotify_resync(w);

		if (still && w->nunwatched)
			for (struct rootpat *r = w->roots; r; r = r->next) {
				if (buf_set(&w->pb2, r->dir, strlen(r->dir), r->base, strlen(r->base)))
					continue;
				still(ctx, w->pb2.p, w->pb2.len);
			}
		return rc;
	}
	w->unwatched = NULL;
	w->nunwatched = 0;
	for (size_t i = 0; i < nold; i++) {
		char *p = old[i], *slash = strrchr(p, '/');
		struct node *parent = NULL, *c;
		int pwd;

		/* Re-adding the parent's watch returns its existing wd: that finds
		 * the parent's node without keeping a path index. */
		if (slash && slash != p) {
			*slash = '\0';
			pwd = inotify_add_watch(w->fd, p, WMASK);
			*slash = '/';
			parent = pwd >= 0 ? lookup(w, pwd) : NULL;
		}
		if (parent) {
			c = watch_dir(w, parent, slash + 1, N_TREE);
			if (c)
				add_tree(w, c, 0);
		} else {
			struct stat st;

			if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
				unwatched_add(w, p);
		}
		free(p);
	}
	free(old);
	/* Roots whose parent could not be watched. */
	if (w->st.missing_roots) {
		w->st.missing_roots = 0;
		for (struct rootpat *r = w->roots; r; r = r->next)
			if (!install(w, r, 1))
				w->st.missing_roots++;
	}
	if (still)
		for (size_t i = 0; i < w->nunwatched; i++)
			still(ctx, w->unwatched[i], strlen(w->unwatched[i]));
	return 0;
}

void vigil_inotify_stats(const struct vigil_inotify *w, struct vigil_inotify_stats *st)
{
	*st = w->st;
	st->watches = w->nnodes;
	st->unwatched = w->nunwatched + (size_t)w->unwatched_overflow;
}

size_t vigil_inotify_mem(const struct vigil_inotify *w)
{
	return w->mem;
}
