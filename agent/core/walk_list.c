/* walk_list.c - the hash pool over a given list of files rather than a tree
 * (vigil_walk_files): `vigil packages verify` hashes every packaged file.
 * Consecutive paths in one directory share the parent's fd (a .md5sums is
 * grouped by directory), so most files cost one fstatat and one open. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/walk.h"

#include "walk_priv.h"

/* A record for a path that is not a regular file (or not there at all). */
static void emit_other(struct walk *w, int dirfd, const char *name, size_t len, const struct stat *st, int err)
{
	struct vigil_record rec;

	vigil_record_init(&rec);
	rec.path = w->path;
	rec.path_len = len;
	if (err == -ENOENT || err == -ENOTDIR) {
		rec.ftype = VIGIL_FT_NONE;
	} else if (err) {
		rec.status = VIGIL_REC_UNREADABLE;
		rec.err = -err;
	} else if (walk_take_other(dirfd, name, st, -1, 0, &rec)) {
		rec.status |= VIGIL_REC_UNREADABLE;
	}
	walk_emit(w, &rec, NULL, 0);
	rec.path = NULL;
	vigil_record_clear(&rec);
}

static int set_path(struct walk *w, const char *p, size_t len)
{
	if (len + 1 > w->path_cap) {
		char *t = realloc(w->path, len + 1);

		if (!t)
			return -ENOMEM;
		w->path = t;
		w->path_cap = len + 1;
	}
	memcpy(w->path, p, len);
	w->path[len] = '\0';
	return 0;
}

static int one(struct walk *w, struct dref **dir, char **dir_path, size_t *dir_len, const char *p, size_t len)
{
	const char *name;
	struct stat st;
	size_t plen;
	int rc;

	if ((rc = set_path(w, p, len)))
		return rc;
	name = strrchr(w->path, '/');
	if (!name || len < 2 || w->path[0] != '/' || !name[1]) {
		emit_other(w, -1, NULL, len, NULL, -EINVAL);
		return 0;
	}
	plen = (size_t)(name - w->path);
	name++;
	/* the parent: the last one again, or opened now */
	if (!*dir || *dir_len != plen || memcmp(*dir_path, w->path, plen)) {
		char *copy = strndup(w->path, len), *t;
		const char *nm;
		int fd;

		walk_dref_put(*dir);
		*dir = NULL;
		if (!copy)
			return -ENOMEM;
		fd = walk_open_parent(w->rootfd, w->confined, copy, len, &nm);
		free(copy);
		if (fd < 0) {
			emit_other(w, -1, NULL, len, NULL, fd);
			return 0;
		}
		*dir = calloc(1, sizeof(**dir));
		t = realloc(*dir_path, plen + 1);
		if (!*dir || !t) {
			free(*dir);
			*dir = NULL;
			close(fd);
			if (t)
				*dir_path = t;
			return -ENOMEM;
		}
		(*dir)->fd = fd;
		(*dir)->refs = 1;
		*dir_path = t;
		memcpy(t, w->path, plen);
		*dir_len = plen;
	}
	if (fstatat((*dir)->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		emit_other(w, -1, NULL, len, NULL, -errno);
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		emit_other(w, (*dir)->fd, name, len, &st, 0);
		return 0;
	}
	return walk_submit(w, *dir, len, strlen(name), &st, NULL);
}

int vigil_walk_files(const struct vigil_walk_files_opts *o, struct vigil_walk_stats *stats, struct vigil_err *err)
{
	struct vigil_walk_opts wo = { .cb = o->cb, .arg = o->arg, .progress = o->progress,
				      .progress_arg = o->progress_arg };
	struct dref *dir = NULL;
	char *dir_path = NULL;
	size_t dir_len = 0;
	struct walk w;
	int rc;

	memset(&w, 0, sizeof(w));
	if (stats)
		memset(stats, 0, sizeof(*stats));
	w.opts = &wo;
	w.err = err;
	w.algos = o->algos ? o->algos : VIGIL_ALGOS_DEFAULT;
	w.max_size = o->max_file_size;
	w.n_threads = o->threads > 0 ? (o->threads > 256 ? 256 : o->threads) : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (w.n_threads <= 0)
		w.n_threads = 1;
	rc = walk_open_root(o->root, &w.confined, &w.rootdir, err);
	if (rc < 0)
		return rc;
	w.rootfd = rc;
	rc = walk_threads_start(&w);
	if (rc && !w.locks)
		goto out;
	for (;;) {
		size_t len;
		const char *p;

		if (rc || walk_stopped(&w) || !(p = o->next(o->next_arg, &len)))
			break;
		rc = one(&w, &dir, &dir_path, &dir_len, p, len);
		if (rc)
			walk_set_stop(&w, rc);
		walk_progress(&w, 0);
	}
	walk_dref_put(dir);
	rc = walk_threads_finish(&w, rc, stats);
out:
	free(dir_path);
	walk_release(&w);
	return rc;
}
