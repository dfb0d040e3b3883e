/* walk.h - the tree walker and hash pool.
 *
 * Lifecycle: fill a struct vigil_walk_opts, call vigil_walk_run(); it walks
 * every scope of the config (paths taken inside opts->root when set), hands
 * each regular file to a pool of worker threads that read it once and compute
 * every selected digest, and calls opts->cb once per record.  Callbacks are
 * serialised (never two at once) but may come from any thread; records arrive
 * in no particular order.  Memory stays bounded whatever the tree's size: the
 * walk keeps only the open directory chain and a bounded job queue.
 *
 * Files are opened O_RDONLY|O_NOFOLLOW|O_NOATIME|O_NONBLOCK relative to their
 * directory's fd (paths longer than PATH_MAX work), fstat'ed, read with large
 * sequential reads; a stat change while reading sets VIGIL_REC_CHANGED.  FIFOs,
 * sockets and devices are never opened.  Unreadable or vanished files become
 * records with a status bit, never an abort.
 */
#ifndef VIGIL_WALK_H
#define VIGIL_WALK_H

#include <stdint.h>

#include "vigil/config.h"
#include "vigil/record.h"

struct vigil_walk_stats {
	uint64_t files, dirs, others; /* records produced */
	uint64_t bytes;               /* bytes hashed */
	uint64_t errors;              /* records with UNREADABLE/VANISHED/XATTR_ERR */
	uint64_t skipped_fs;          /* mount points not crossed */
};

/* Returns 0 to go on, negative to stop the walk (that value is returned). */
typedef int (*vigil_walk_cb)(void *arg, const struct vigil_record *rec,
			     const struct vigil_scope *scope);
/* Progress, called from the walking thread about 4 times a second. */
typedef void (*vigil_walk_progress_cb)(void *arg, const struct vigil_walk_stats *st,
				       uint64_t bytes_planned);

struct vigil_walk_opts {
	const struct vigil_config *cfg;
	const char *root;       /* NULL or "/" for the live host; else a mounted image */
	unsigned algos;         /* digests to compute; 0 = cfg->algos */
	int threads;            /* 0 = cfg->threads, then one per core */
	const char *const *only;/* NULL, or absolute paths: walk only these (and below) */
	vigil_walk_cb cb;
	void *arg;
	vigil_walk_progress_cb progress;
	void *progress_arg;
};

/* 0 on success (individual unreadable files are records, not failures);
 * -errno when the walk itself could not run, or the callback's error. */
int vigil_walk_run(const struct vigil_walk_opts *opts, struct vigil_walk_stats *st,
		   struct vigil_err *err);

/* Takes one record for `path` (user-visible path; root prefixed internally),
 * with the attributes and digests of the scope that would select it.
 * Returns 0 and fills rec (rec->ftype == VIGIL_FT_NONE when the path does not
 * exist), or -errno. */
int vigil_walk_one(const char *root, const char *path, size_t path_len, unsigned algos,
		   uint64_t max_file_size, struct vigil_record *rec, struct vigil_err *err);

/* The hash pool over a list of files instead of a tree (walk_list.c):
 * next() hands out absolute paths (NULL at the end; each valid until the
 * next call); cb gets one record per path, in no particular order, ftype
 * VIGIL_FT_NONE when it is absent.  Parents are resolved as the walk does
 * (in the root, so /bin -> usr/bin works), the last name is not followed.
 * Scope is NULL in cb.  0, -errno, or cb's error. */
struct vigil_walk_files_opts {
	const char *root;          /* NULL or "/": the live host */
	unsigned algos;            /* 0: SHA-256 */
	int threads;               /* 0: one per core */
	uint64_t max_file_size;    /* 0: no bound */
	const char *(*next)(void *arg, size_t *len);
	void *next_arg;
	vigil_walk_cb cb;
	void *arg;
	vigil_walk_progress_cb progress;
	void *progress_arg;
};
int vigil_walk_files(const struct vigil_walk_files_opts *o, struct vigil_walk_stats *st,
		     struct vigil_err *err);

/* Which scope selects path (includes/excludes/depth honoured); NULL if none. */
const struct vigil_scope *vigil_walk_scope_for(const struct vigil_config *cfg,
					       const char *path, size_t len);

#endif
