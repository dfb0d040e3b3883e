/* inotify_events.c - the kernel's events on the tree of inotify.c: a move
 * paired by its cookie (or settled as a move out), a directory made, renamed
 * or unmounted, the sentinels of root patterns, overflows (resync), and the
 * retry of what the kernel refused to watch.  See inotify.h. */
#include "config.h"

#include "inotify_priv.h"

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
		struct node *p = ino_lookup(w, m->parent_wd), *c = p ? ino_find_child(p, m->name) : NULL;

		if (c)
			ino_node_drop(w, c, 1);
		ino_emit(w, VIGIL_INOTIFY_SUBTREE, m->path, strlen(m->path), NULL, 0, 1, 0, IN_MOVED_FROM);
	}
	move_remove(w, i);
}

static void new_dir(struct vigil_inotify *w, struct node *parent, const char *name, const char *path,
		    size_t len)
{
	struct node *c;

	if (!w->watch_dir(w->ctx, path, len))
		return;
	c = ino_watch_dir(w, parent, name, N_TREE);
	if (c)
		ino_add_tree(w, c, 1);
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
			ino_emit(w, VIGIL_INOTIFY_SUBTREE, path, len, NULL, 0, 1, 0, ev->mask);
		}
		ino_emit(w, VIGIL_INOTIFY_PATH, path, len, NULL, 0, is_dir, 0, ev->mask);
		return;
	}
	{
		struct pmove *m = &w->moves[i];

		ino_emit(w, VIGIL_INOTIFY_RENAME, path, len, m->path, strlen(m->path), is_dir, 0, ev->mask);
		if (is_dir) {
			struct node *p = ino_lookup(w, m->parent_wd), *c = p ? ino_find_child(p, m->name) : NULL;

			if (c && w->watch_dir(w->ctx, path, len)) {
				char *nm = strdup(ev->name);

				if (nm) {
					ino_unlink_child(c);
					free(c->name);
					c->name = nm;
					ino_link_child(n, c);
				}
			} else if (c) {
				ino_node_drop(w, c, 1);
			} else {
				new_dir(w, n, ev->name, path, len);
			}
			ino_emit(w, VIGIL_INOTIFY_SUBTREE, m->path, strlen(m->path), NULL, 0, 1, 0, IN_MOVED_FROM);
			ino_emit(w, VIGIL_INOTIFY_SUBTREE, path, len, NULL, 0, 1, 0, ev->mask);
		}
		ino_emit(w, VIGIL_INOTIFY_PATH, path, len, NULL, 0, is_dir, 0, ev->mask);
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
		if (!ino_node_path(n, NULL, &w->pb))
			path = strdup(w->pb.p);
	}
	ino_node_drop(w, n, 0);
	if (!unmounted || !name || !path)
		goto out;
	/* The directory the file system was mounted on is visible again. */
	if (parent && !(parent->flags & N_UNMOUNTED))
		new_dir(w, parent, name, path, strlen(path));
	else if (!parent && (flags & N_ROOT))
		ino_root_tree(w, path, !!(flags & N_ONEFS), 1);
	ino_emit(w, VIGIL_INOTIFY_SUBTREE, path, strlen(path), NULL, 0, 1, 0, IN_UNMOUNT);
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
	if (!s || ino_node_path(n, ev->name, &w->pb2))
		return;
	if (is_dir && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
		char *path = strdup(w->pb2.p);

		if (path) {
			ino_root_tree(w, path, s->one_fs, 1);
			ino_emit(w, VIGIL_INOTIFY_SUBTREE, path, strlen(path), NULL, 0, 1, 0, ev->mask);
			ino_emit(w, VIGIL_INOTIFY_PATH, path, strlen(path), NULL, 0, 1, 0, ev->mask);
			free(path);
		}
		return;
	}
	if (is_dir && (ev->mask & IN_MOVED_FROM))
		ino_emit(w, VIGIL_INOTIFY_SUBTREE, w->pb2.p, w->pb2.len, NULL, 0, 1, 0, ev->mask);
	ino_emit(w, VIGIL_INOTIFY_PATH, w->pb2.p, w->pb2.len, NULL, 0, is_dir, 0, ev->mask);
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
		ino_emit(w, VIGIL_INOTIFY_OVERFLOW, "", 0, NULL, 0, 0, 0, ev->mask);
		return;
	}
	n = ino_lookup(w, ev->wd);
	if (!n)
		return;
	if (ev->mask & IN_IGNORED) {
		on_ignored(w, n);
		return;
	}
	if (ev->mask & IN_UNMOUNT) {
		n->flags |= N_UNMOUNTED;
		if ((!n->parent || n->parent->dev != n->dev) && !ino_node_path(n, NULL, &w->pb))
			ino_emit(w, VIGIL_INOTIFY_UNMOUNT, w->pb.p, w->pb.len, NULL, 0, 1, 0, ev->mask);
		return;
	}
	if (!ev->len || !ev->name[0]) { /* the watched directory itself */
		if (!(n->flags & N_TREE) || ino_node_path(n, NULL, &w->pb))
			return;
		if ((n->flags & N_ROOT) && (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))) {
			char *p = strdup(w->pb.p);

			ino_node_drop(w, n, !!(ev->mask & IN_MOVE_SELF));
			if (p) {
				ino_emit(w, VIGIL_INOTIFY_ROOT_GONE, p, strlen(p), NULL, 0, 1, 0, ev->mask);
				ino_emit(w, VIGIL_INOTIFY_SUBTREE, p, strlen(p), NULL, 0, 1, 0, ev->mask);
				free(p);
			}
			return;
		}
		if (ev->mask & IN_ATTRIB)
			ino_emit(w, VIGIL_INOTIFY_PATH, w->pb.p, w->pb.len, NULL, 0, 1, 0, ev->mask);
		return;
	}
	if (!(n->flags & N_TREE)) {
		if (n->flags & N_SENTINEL)
			on_sentinel(w, n, ev);
		return;
	}
	/* An entry made, removed or renamed changes the directory's own mtime
	 * (and `vigil check` reports that): the directory is looked at too. */
	if ((ev->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)) && !ino_node_path(n, NULL, &w->pb))
		ino_emit(w, VIGIL_INOTIFY_PATH, w->pb.p, w->pb.len, NULL, 0, 1, 0, IN_ATTRIB);
	if (ino_node_path(n, ev->name, &w->pb2))
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
		ino_emit(w, VIGIL_INOTIFY_PATH, path, len, NULL, 0, is_dir, 0, ev->mask);
	} else if (ev->mask & IN_MOVED_TO) {
		on_moved_to(w, n, ev, path, len);
	} else {
		if (is_dir && (ev->mask & IN_CREATE))
			new_dir(w, n, ev->name, path, len);
		ino_emit(w, VIGIL_INOTIFY_PATH, path, len, NULL, 0, is_dir, 0, ev->mask);
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
		if (!ino_install(w, r, 0))
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
		struct node *m = ino_lookup(w, wds[i]);

		if (m && !(m->flags & N_MARK))
			ino_node_drop(w, m, 1);
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
				if (ino_buf_set(&w->pb2, r->dir, strlen(r->dir), r->base, strlen(r->base)))
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
			parent = pwd >= 0 ? ino_lookup(w, pwd) : NULL;
		}
		if (parent) {
			c = ino_watch_dir(w, parent, slash + 1, N_TREE);
			if (c)
				ino_add_tree(w, c, 0);
		} else {
			struct stat st;

			if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
				ino_unwatched_add(w, p);
		}
		free(p);
	}
	free(old);
	/* Roots whose parent could not be watched. */
	if (w->st.missing_roots) {
		w->st.missing_roots = 0;
		for (struct rootpat *r = w->roots; r; r = r->next)
			if (!ino_install(w, r, 1))
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
