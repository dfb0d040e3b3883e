/* walk_priv.h - what the walker's files share; not an API.
 *
 * walk.c (the walk itself: directories, shadows, the state dir, the run),
 * walk_plan.c (config paths -> starts), walk_read.c (opening paths inside
 * the root, reading one record: hashing, directories, other files;
 * vigil_walk_one), pool.c (the hash
 * threads and their bounded queue).  Functions named walk_* here are shared
 * between those files only.
 */
#ifndef VIGIL_WALK_PRIV_H
#define VIGIL_WALK_PRIV_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "vigil/crypto.h"
#include "vigil/walk.h"

/* Read size per worker.  Measured on a tmpfs copy of /usr (137,299 files,
 * 9.35 GB, 2 vCPUs, SHA-256): 64 KiB, 256 KiB and 1 MiB all took 10.3-11.3 s
 * of CPU, within the machine's noise; peak RSS 3.0, 3.5 and 5.0 MB.  The
 * middle one leaves room for slower disks, where larger reads help. */
#ifndef WALK_BUF_SIZE
#define WALK_BUF_SIZE (256u * 1024)
#endif
#define WALK_QUEUE_PER_THREAD 16
/* Directories deeper than this are recorded but not entered: each level holds
 * two fds and a stack frame, and a hostile tree may be arbitrarily deep. */
#define WALK_MAX_LEVELS 2048
/* Files at least this large are dropped from the page cache after hashing, so
 * a scan of multi-GB layers or images does not evict the host's working set.
 * Smaller files (binaries, configs) are likely in use and stay cached;
 * mapped pages are never dropped by the kernel anyway. */
#define WALK_DONTNEED_MIN (64ull << 20)
#define WALK_PROGRESS_NS 250000000ll

struct hasher {
	struct vigil_digest *d;
	unsigned char *buf;
	size_t size;
	unsigned algos;
	uint64_t max_size;
};

struct dref {
	int fd;
	unsigned refs;
};

struct job {
	struct dref *dir;
	char *path; /* user path; the name is its last name_len bytes */
	size_t path_len, name_len;
	struct stat st;
	const struct vigil_scope *scope;
};

struct start {
	char *root; /* user-visible path */
	size_t root_len;
	int e_ncomp; /* components of the expanded config path: depth is counted from it */
	const struct vigil_scope *scope;
	int walked;  /* its root exists and was visited */
	dev_t dev;   /* its root's st_dev: the one_filesystem reference */
	size_t *below; /* other starts whose root is at or below this one's */
	size_t n_below;
	size_t *covered_by; /* earlier starts whose walk reached this root */
	size_t n_covered_by;
};

struct walk {
	const struct vigil_walk_opts *opts;
	struct vigil_err *err;
	int rootfd;
	int confined; /* a --root other than "/" */
	char *rootdir;
	unsigned algos;
	uint64_t max_size;
	struct start *starts;
	size_t n_starts;

	pthread_t *threads;
	int n_threads, n_started;
	int locks;              /* queue locks made (walk_threads_start) */
	struct hasher *hashers;
	pthread_mutex_t qlock;
	pthread_cond_t q_notfull, q_notempty;
	struct job *q;
	size_t qcap, qhead, qlen;
	int closing;
	int waiting; /* the walker waits for the queue to drain to half */

	pthread_mutex_t cblock; /* callback and stats */
	struct vigil_walk_stats st;
	int stop; /* atomic: 0, or the negative code that stops the walk */

	/* the state dir, never walked (on the live host only) */
	int skip_state;
	dev_t state_dev;
	ino_t state_ino;

	uint64_t planned;
	int64_t next_progress;
	char *path; /* the walker's current path */
	size_t path_cap;
	int levels;
};

static inline int walk_stopped(struct walk *w)
{
	return __atomic_load_n(&w->stop, __ATOMIC_RELAXED);
}

static inline void walk_set_stop(struct walk *w, int rc)
{
	int zero = 0;

	__atomic_compare_exchange_n(&w->stop, &zero, rc, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* walk.c */
/* The root to walk in: an fd, *confined when it is not "/" (then *rootdir
 * is its name, malloc'd); -errno with err set. */
int walk_open_root(const char *root, int *confined, char **rootdir, struct vigil_err *err);

/* walk_read.c */
/* The parent directory of path (len bytes, inside the root) as an fd, and its
 * last name in *name; -errno. */
int walk_open_parent(int rootfd, int confined, char *path, size_t len, const char **name);
void walk_set_scope_name(struct vigil_record *rec, const struct vigil_scope *s);
int walk_hasher_init(struct hasher *h, unsigned algos, uint64_t max_size);
void walk_hasher_free(struct hasher *h);
int walk_take_file(struct hasher *h, int dirfd, const char *name, const struct stat *lst,
		   struct vigil_record *rec, uint64_t *hashed);
int walk_open_dir(int dirfd, const char *name, const struct stat *lst, struct stat *st, unsigned *status);
int walk_take_other(int dirfd, const char *name, const struct stat *st, int fd, int open_err,
		    struct vigil_record *rec);

/* pool.c */
void walk_dref_put(struct dref *d);
void walk_emit(struct walk *w, const struct vigil_record *rec, const struct vigil_scope *s, uint64_t hashed);
void walk_progress(struct walk *w, int force);
int walk_submit(struct walk *w, struct dref *dir, size_t len, size_t name_len, const struct stat *st,
		const struct vigil_scope *s);
int walk_pool_start(struct walk *w);
void walk_pool_stop(struct walk *w);
/* The locks and the hashing pool: 0; or -errno with w->err set (the pool did
 * not start: stop is set, go on to walk_threads_finish; or w->locks is 0: no
 * locks, skip to walk_release). */
int walk_threads_start(struct walk *w);
/* Stops the pool, final progress, stats; returns rc or why the walk stopped. */
int walk_threads_finish(struct walk *w, int rc, struct vigil_walk_stats *stats);
/* Locks, path buffers and the root fd. */
void walk_release(struct walk *w);

/* walk_plan.c */
int walk_plan(struct walk *w);
void walk_free_starts(struct walk *w);

#endif
