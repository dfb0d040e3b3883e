/* walk.c - the tree walker and the hash pool.
 *
 * One walking thread (the caller's) enumerates directories from directory fds
 * (openat/fstatat/fdopendir, never a full path, so depth is not bounded by
 * PATH_MAX) and hands each regular file to N worker threads through a bounded
 * queue.  A job holds a reference on its directory's fd, so a worker opens
 * the file relative to it even after the walker moved on.  Memory is the
 * open directory chain (two fds and one readdir buffer per level), the queue
 * (N * WALK_QUEUE_PER_THREAD jobs, each one path) and one read buffer per
 * worker: nothing grows with the size of the tree.
 *
 * Which walk reports a path.  Config paths are expanded (glob) into "starts";
 * only paths (opts->only) narrow them further.  Starts are taken in config
 * order (scope order, then path order, then glob order).  A path is reported
 * once, by the first start whose walk reaches it and whose scope selects it
 * (depth, include, exclude).  That is vigil_walk_scope_for()'s "first scope
 * in config order wins", with one difference that scope_for() cannot know
 * about: a walk never follows a symlink and, with one_filesystem, never
 * enters another mount, so an earlier scope that cannot physically reach a
 * path does not claim it (scope "/" one_filesystem does not hide scope
 * "/boot" on its own file system, and scope "/" does not hide
 * "/lib/systemd/system/x" reached through the /lib -> usr/lib link).
 * It is done without remembering reported paths: each start knows the other
 * starts whose root lies at or below its own; when a walk reaches such a root
 * as a real directory it either inherits the earlier start as a "shadow" or
 * tells the later start that it is covered.  A shadowed path is skipped when
 * the shadowing scope selects it.
 *
 * Selection rules: include/vigil/scope.h (agent/core/scope.c); include
 * globs filter records only: directories that do not match are still
 * entered, so include "*.conf" finds /etc/a/b.conf.  The state dir is never
 * walked (skip_state_dir()).
 *
 * Races, by design: a name gone between readdir and lstat is skipped (it is
 * simply not there, as if the walk had come a moment later); a file gone
 * between lstat and open is a VIGIL_REC_VANISHED record carrying the lstat
 * attributes and no digest (callers treat it as absent, or as a warning,
 * never as "removed and added"); a path replaced between lstat and open is
 * taken as it now is, with VIGIL_REC_CHANGED.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vigil/attr.h"
#include "vigil/clock.h"
#include "vigil/rootfs.h"
#include "vigil/scope.h"
#include "vigil/walk.h"

#include "walk_priv.h"

/* --- the walk -------------------------------------------------------------- */

struct level {
	size_t k;          /* the start being walked */
	size_t len;        /* w->path[0..len) is this node's path */
	int ncomp;
	const size_t *cands; /* starts whose root is at or below this node */
	size_t n_cands;
	const size_t *shadows; /* earlier starts that reach this node */
	size_t n_shadows;
};

static int path_reserve(struct walk *w, size_t need)
{
	if (need <= w->path_cap)
		return 0;
	size_t cap = w->path_cap ? w->path_cap : PATH_MAX;
	char *np;

	while (cap < need)
		cap *= 2;
	np = realloc(w->path, cap);
	if (!np)
		return -ENOMEM;
	w->path = np;
	w->path_cap = cap;
	return 0;
}

static int shadow_selects(struct walk *w, size_t j, const char *path, int nc)
{
	const struct start *s = &w->starts[j];
	int d = nc - s->e_ncomp;

	if (s->scope->depth >= 0 && d > s->scope->depth)
		return 0;
	return !s->scope->include.n || vigil_scope_match_any(&s->scope->include, path);
}

static int add_covered(struct start *s, size_t k)
{
	size_t *n = realloc(s->covered_by, (s->n_covered_by + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	s->covered_by = n;
	s->covered_by[s->n_covered_by++] = k;
	return 0;
}

static int walk_dir(struct walk *w, const struct level *lv, int fd,
		    const size_t *shadows_in, size_t n_shadows_in, dev_t sdev);

/* vigil's own state dir is in no scope: its database changes on every run
 * (first of all during this one).  Known by device and inode, so a symlink
 * or a bind mount on the way does not hide it; only on the live host: under
 * --root the state dir is not in the image. */
static void skip_state_dir(struct walk *w)
{
	const struct vigil_walk_opts *o = w->opts;
	struct stat sb;

	if ((o->root && strcmp(o->root, "/")) || !o->cfg->state_dir || stat(o->cfg->state_dir, &sb) < 0 ||
	    !S_ISDIR(sb.st_mode))
		return;
	w->skip_state = 1;
	w->state_dev = sb.st_dev;
	w->state_ino = sb.st_ino;
}

static void count_locked(struct walk *w, uint64_t *field)
{
	pthread_mutex_lock(&w->cblock);
	(*field)++;
	pthread_mutex_unlock(&w->cblock);
}

/* Shadows of the node w->path[0..len): earlier starts whose walk reaches it.
 * Inherited ones stop at their scope's excludes; a start whose root is this
 * node joins (a later one is told it is covered).  *out malloc'd. */
static int node_shadows(struct walk *w, const struct level *plv, size_t len, size_t **out, size_t *n)
{
	size_t *shadows = NULL;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!(plv->n_shadows + plv->n_cands))
		return 0;
	shadows = malloc((plv->n_shadows + plv->n_cands) * sizeof(*shadows));
	if (!shadows)
		return -ENOMEM;
	for (size_t i = 0; i < plv->n_shadows; i++) {
		const struct vigil_scope *o = w->starts[plv->shadows[i]].scope;

		if (!(o->exclude.n && vigil_scope_match_any(&o->exclude, w->path)))
			shadows[(*n)++] = plv->shadows[i];
	}
	for (size_t i = 0; i < plv->n_cands && !rc; i++) {
		size_t c = plv->cands[i];
		struct start *sc = &w->starts[c];

		if (sc->root_len != len || memcmp(sc->root, w->path, len))
			continue;
		if (c < plv->k && sc->walked)
			shadows[(*n)++] = c;
		else if (c > plv->k)
			rc = add_covered(sc, plv->k);
	}
	*out = shadows;
	return rc;
}

/* The record of a node that is not a regular file (fd: the directory, or -1
 * with the error of opening it). */
static int emit_other(struct walk *w, int dirfd, const char *name, size_t len, const struct stat *st, int fd,
		      unsigned status, const struct vigil_scope *s)
{
	struct vigil_record rec;
	int rc;

	vigil_record_init(&rec);
	rec.path = w->path;
	rec.path_len = len;
	rec.status = status;
	walk_set_scope_name(&rec, s);
	rc = walk_take_other(dirfd, name, st, fd < 0 ? -1 : fd, fd, &rec);
	if (!rc)
		walk_emit(w, &rec, s, 0);
	rec.path = NULL;
	vigil_record_clear(&rec);
	return rc;
}

/* Enters directory fd (taken: closed on every path) unless the scope's depth,
 * one_filesystem or the level limit stops here; the shadows that still hold
 * below go along (not into another file system for a one_filesystem scope). */
static int descend(struct walk *w, const struct level *plv, struct level *lv, int fd, const struct stat *st,
		   const size_t *shadows, size_t n_shadows, dev_t sdev)
{
	const struct start *sk = &w->starts[plv->k];
	const struct vigil_scope *s = sk->scope;
	size_t *child = NULL, n_child = 0;
	int rc;

	if (s->depth >= 0 && lv->ncomp - sk->e_ncomp >= s->depth) {
		close(fd);
		return 0;
	}
	if (s->one_filesystem && st->st_dev != sdev) {
		count_locked(w, &w->st.skipped_fs);
		close(fd);
		return 0;
	}
	if (w->levels >= WALK_MAX_LEVELS) {
		close(fd);
		return 0;
	}
	if (n_shadows && !(child = malloc(n_shadows * sizeof(*child)))) {
		close(fd);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_shadows; i++) {
		const struct start *o = &w->starts[shadows[i]];

		if (!(o->scope->one_filesystem && st->st_dev != o->dev))
			child[n_child++] = shadows[i];
	}
	lv->cands = plv->cands;
	lv->n_cands = plv->n_cands;
	rc = walk_dir(w, lv, fd, child, n_child, sdev);
	free(child);
	return rc;
}

/* Visits the node w->path[0..len), named `name` in directory dir. */
static int visit(struct walk *w, const struct level *plv, struct dref *dir, int is_root,
		 const char *name, size_t len, size_t name_len, dev_t sdev)
{
	struct start *sk = &w->starts[plv->k];
	const struct vigil_scope *s = sk->scope;
	struct stat st, dst;
	size_t *shadows = NULL, n_shadows = 0;
	struct level lv = { .k = plv->k, .len = len, .ncomp = plv->ncomp + 1 };
	int rc, fd = -1, emit_it;
	unsigned status = 0;

	if (fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		/* nothing to build a record from; counted, the walk goes on */
		if (errno != ENOENT)
			count_locked(w, &w->st.errors);
		return 0;
	}
	if ((s->exclude.n && vigil_scope_match_any(&s->exclude, w->path)) ||
	    (w->skip_state && st.st_dev == w->state_dev && st.st_ino == w->state_ino))
		return 0;
	if (is_root) {
		sk->walked = 1;
		sk->dev = st.st_dev;
		sdev = st.st_dev;
	}
	rc = node_shadows(w, plv, len, &shadows, &n_shadows);
	if (rc)
		goto out;
	emit_it = !s->include.n || vigil_scope_match_any(&s->include, w->path);
	for (size_t i = 0; emit_it && i < n_shadows; i++)
		if (shadow_selects(w, shadows[i], w->path, lv.ncomp))
			emit_it = 0;
	if (S_ISREG(st.st_mode)) {
		if (emit_it)
			rc = walk_submit(w, dir, len, name_len, &st, s);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		fd = walk_open_dir(dir->fd, name, &st, &dst, &status);
		if (fd >= 0)
			st = dst;
	}
	if (emit_it)
		rc = emit_other(w, dir->fd, name, len, &st, fd, status, s);
	if (!rc && fd >= 0) {
		rc = descend(w, plv, &lv, fd, &st, shadows, n_shadows, sdev);
		fd = -1; /* descend took it */
	}
out:
	if (fd >= 0)
		close(fd);
	free(shadows);
	return rc;
}

/* The starts strictly below directory lv (their roots), for its children. */
static int below(struct walk *w, const struct level *lv, struct level *clv, size_t **cands)
{
	*cands = NULL;
	if (!lv->n_cands)
		return 0;
	*cands = malloc(lv->n_cands * sizeof(**cands));
	if (!*cands)
		return -ENOMEM;
	clv->n_cands = 0;
	for (size_t i = 0; i < lv->n_cands; i++) {
		const struct start *c = &w->starts[lv->cands[i]];

		if (c->root_len > lv->len && vigil_scope_at_or_below(c->root, c->root_len, w->path, lv->len))
			(*cands)[clv->n_cands++] = lv->cands[i];
	}
	clv->cands = *cands;
	return 0;
}

/* Each entry of directory d (in dir), visited with w->path extended by its
 * name. */
static int list_dir(struct walk *w, const struct level *lv, const struct level *clv, DIR *d, struct dref *dir,
		    dev_t sdev)
{
	struct dirent *de;
	int rc = 0;

	while (!walk_stopped(w)) {
		size_t nl, len;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				count_locked(w, &w->st.errors);
			break;
		}
		if (de->d_name[0] == '.' &&
		    (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		nl = strlen(de->d_name);
		len = lv->len + (lv->len == 1 ? 0 : 1) + nl;
		rc = path_reserve(w, len + 1);
		if (rc)
			break;
		if (lv->len != 1)
			w->path[lv->len] = '/';
		memcpy(w->path + len - nl, de->d_name, nl + 1);
		rc = visit(w, clv, dir, 0, de->d_name, len, nl, sdev);
		w->path[lv->len] = '\0';
		if (rc)
			break;
		walk_progress(w, 0);
	}
	return rc;
}

static int walk_dir(struct walk *w, const struct level *lv, int fd,
		    const size_t *shadows_in, size_t n_shadows_in, dev_t sdev)
{
	struct dref *dir = NULL;
	struct level clv = *lv;
	size_t *cands = NULL;
	DIR *d = NULL;
	int rc = 0, dfd;

	dir = malloc(sizeof(*dir));
	if (!dir) {
		close(fd);
		return -ENOMEM;
	}
	dir->fd = fd;
	dir->refs = 1;
	/* The DIR gets its own fd: it is closed (with its readdir buffer) as soon
	 * as the listing is done, while the jobs keep the shared one. */
	dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		count_locked(w, &w->st.errors);
		goto out;
	}
	rc = below(w, lv, &clv, &cands);
	if (rc)
		goto out;
	clv.shadows = shadows_in;
	clv.n_shadows = n_shadows_in;
	w->levels++;
	rc = list_dir(w, lv, &clv, d, dir, sdev);
	w->levels--;
out:
	if (d)
		closedir(d);
	free(cands);
	walk_dref_put(dir);
	return rc;
}

/* Walks one start: resolves its root inside the root directory and visits it. */
static int walk_start(struct walk *w, size_t k)
{
	struct start *s = &w->starts[k];
	struct level lv = { .k = k };
	struct dref *dir;
	const char *name;
	int pfd, rc;

	if (s->scope->depth >= 0 && vigil_scope_ncomp(s->root, s->root_len) - s->e_ncomp > s->scope->depth)
		return 0;
	if (vigil_scope_excluded(s->scope, s->root, s->root_len))
		return 0;
	rc = path_reserve(w, s->root_len + 1);
	if (rc)
		return rc;
	memcpy(w->path, s->root, s->root_len + 1);
	pfd = walk_open_parent(w->rootfd, w->confined, w->path, s->root_len, &name);
	if (pfd < 0) {
		if (pfd == -ENOMEM)
			return pfd;
		if (pfd != -ENOENT && pfd != -ENOTDIR && pfd != -ELOOP) {
			count_locked(w, &w->st.errors);
		}
		return 0; /* absent: not an error */
	}
	dir = malloc(sizeof(*dir));
	if (!dir) {
		close(pfd);
		return -ENOMEM;
	}
	dir->fd = pfd;
	dir->refs = 1;
	lv.ncomp = vigil_scope_ncomp(s->root, s->root_len) - 1;
	lv.len = s->root_len;
	lv.cands = s->below;
	lv.n_cands = s->n_below;
	lv.shadows = s->covered_by;
	lv.n_shadows = s->n_covered_by;
	rc = visit(w, &lv, dir, 1, name, s->root_len, strlen(name), 0);
	walk_dref_put(dir);
	return rc;
}

int walk_open_root(const char *root, int *confined, char **rootdir, struct vigil_err *err)
{
	size_t rl;
	int fd;

	*confined = 0;
	*rootdir = NULL;
	if (!root || !*root)
		root = "/";
	rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (!(rl == 1 && root[0] == '/')) {
		*confined = 1;
		*rootdir = strndup(root, rl);
		if (!*rootdir)
			return vigil_err_set(err, -ENOMEM, "root '%s': out of memory", root);
	}
	fd = vigil_rootfs_open_root(root, NULL);
	if (fd < 0) {
		free(*rootdir);
		*rootdir = NULL;
		return vigil_err_set(err, fd, "root '%s': %s", root, strerror(-fd));
	}
	return fd;
}

/* Hashing threads: the option, else the config's, else one per core. */
static int n_threads(const struct vigil_walk_opts *opts)
{
	int n = opts->threads > 0 ? opts->threads : opts->cfg->threads;

	if (n <= 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		n = ncpu > 0 ? (int)ncpu : 1;
	}
	return n > 256 ? 256 : n;
}

int vigil_walk_run(const struct vigil_walk_opts *opts, struct vigil_walk_stats *stats,
		   struct vigil_err *err)
{
	struct walk w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.rootfd = -1;
	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (!opts || !opts->cfg)
		return vigil_err_set(err, -EINVAL, "walk: no configuration");
	w.opts = opts;
	w.err = err;
	w.algos = opts->algos ? opts->algos : opts->cfg->algos;
	if (!w.algos)
		w.algos = VIGIL_ALGOS_DEFAULT;
	w.max_size = opts->cfg->max_file_size;
	skip_state_dir(&w);
	w.n_threads = n_threads(opts);

	rc = walk_open_root(opts->root, &w.confined, &w.rootdir, err);
	if (rc < 0)
		return rc;
	w.rootfd = rc;
	rc = walk_plan(&w);
	if (rc) {
		if (rc == -ENOMEM)
			vigil_err_set(err, rc, "walk: out of memory planning the scopes");
		goto out;
	}
	rc = walk_threads_start(&w);
	if (rc && !w.locks)
		goto out;
	for (size_t k = 0; k < w.n_starts && !rc && !walk_stopped(&w); k++) {
		rc = walk_start(&w, k);
		if (rc) {
			walk_set_stop(&w, rc);
			if (rc == -ENOMEM)
				vigil_err_set(err, rc, "walk: out of memory at '%s'",
					      w.starts[k].root);
		}
	}
	rc = walk_threads_finish(&w, rc, stats);
out:
	walk_free_starts(&w);
	walk_release(&w);
	return rc;
}

int walk_threads_start(struct walk *w)
{
	int rc;

	if (pthread_mutex_init(&w->qlock, NULL) || pthread_mutex_init(&w->cblock, NULL) ||
	    pthread_cond_init(&w->q_notfull, NULL) || pthread_cond_init(&w->q_notempty, NULL))
		return vigil_err_set(w->err, -ENOMEM, "walk: cannot create locks");
	w->locks = 1;
	rc = walk_pool_start(w);
	if (rc) {
		vigil_err_set(w->err, rc, "walk: cannot start %d hashing threads: %s", w->n_threads, strerror(-rc));
		walk_set_stop(w, rc);
	}
	return rc;
}

int walk_threads_finish(struct walk *w, int rc, struct vigil_walk_stats *stats)
{
	walk_pool_stop(w);
	walk_progress(w, 1);
	if (!rc)
		rc = walk_stopped(w);
	if (rc == -ENOMEM)
		vigil_err_set(w->err, rc, "walk: out of memory");
	if (stats)
		*stats = w->st;
	return rc;
}

void walk_release(struct walk *w)
{
	if (w->locks) {
		pthread_mutex_destroy(&w->qlock);
		pthread_mutex_destroy(&w->cblock);
		pthread_cond_destroy(&w->q_notfull);
		pthread_cond_destroy(&w->q_notempty);
	}
	free(w->path);
	free(w->rootdir);
	if (w->rootfd >= 0)
		close(w->rootfd);
}

const struct vigil_scope *vigil_walk_scope_for(const struct vigil_config *cfg, const char *path,
					       size_t len)
{
	return vigil_scope_for(cfg, path, len);
}

