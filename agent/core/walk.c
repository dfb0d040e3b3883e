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

/* --- small helpers -------------------------------------------------------- */

static int stopped(struct walk *w)
{
	return __atomic_load_n(&w->stop, __ATOMIC_RELAXED);
}

static void set_stop(struct walk *w, int rc)
{
	int zero = 0;

	__atomic_compare_exchange_n(&w->stop, &zero, rc, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static void set_scope_name(struct vigil_record *rec, const struct vigil_scope *s)
{
	size_t n = s && s->name ? strlen(s->name) : 0;

	/* config names are at most 63 bytes; a longer one is cut, not overflowed */
	if (n >= sizeof(rec->scope))
		n = sizeof(rec->scope) - 1;
	if (n)
		memcpy(rec->scope, s->name, n);
	rec->scope[n] = '\0';
}

/* --- opening paths inside the root ---------------------------------------- */

static int open_noatime(int dirfd, const char *name, int flags)
{
	int fd = openat(dirfd, name, flags | O_NOATIME);

	/* O_NOATIME needs ownership or CAP_FOWNER; the read is still sound without it */
	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, flags);
	return fd;
}

/* Opens directory `rel` (relative, no leading slash, < PATH_MAX) below dirfd.
 * Confined: symlinks resolve as if dirfd were "/" (rootfs.h), so nothing
 * escapes it.  An O_PATH fd, or -1 with errno set. */
static int open_dir_in(int dirfd, const char *rel, int confined)
{
	int flags = O_PATH | O_DIRECTORY | O_CLOEXEC, fd;

	if (!*rel)
		rel = ".";
	if (!confined)
		return openat(dirfd, rel, flags);
	fd = vigil_rootfs_open(dirfd, rel, flags);
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

/* Opens the parent directory of absolute user path `path` inside the root and
 * points *name at its last component ("." for "/").  Paths longer than
 * PATH_MAX are opened in chunks; with a root, symlinks in a later chunk are
 * confined to the chunk's directory rather than to the root (still inside the
 * image, only less exact for such paths).  Returns an O_PATH fd or -errno. */
static int open_parent(int rootfd, int confined, char *path, size_t len, const char **name)
{
	size_t cut = len, pos = 1, end;
	int cur = rootfd, fd;

	if (len == 1) {
		*name = ".";
		fd = open_dir_in(rootfd, "", confined);
		return fd < 0 ? -errno : fd;
	}
	while (cut > 0 && path[cut - 1] != '/')
		cut--;
	*name = path + cut;
	end = cut - 1; /* the slash before the name: the parent is path[pos..end) */
	if (end <= pos) {
		fd = open_dir_in(rootfd, "", confined);
		return fd < 0 ? -errno : fd;
	}
	for (;;) {
		size_t ce = end;
		char c;

		if (ce - pos >= PATH_MAX) {
			ce = pos + PATH_MAX - 1;
			while (ce > pos && path[ce] != '/')
				ce--;
			if (ce == pos) {
				fd = -ENAMETOOLONG;
				break;
			}
		}
		c = path[ce];
		path[ce] = '\0';
		fd = open_dir_in(cur, path + pos, confined);
		if (fd < 0)
			fd = -errno;
		path[ce] = c;
		if (cur != rootfd)
			close(cur);
		cur = rootfd;
		if (fd < 0 || ce == end)
			break;
		cur = fd;
		pos = ce + 1;
	}
	if (cur != rootfd && fd < 0)
		close(cur);
	return fd;
}

/* --- reading one record --------------------------------------------------- */

static int hasher_init(struct hasher *h, unsigned algos, uint64_t max_size)
{
	h->algos = algos;
	h->max_size = max_size;
	h->size = WALK_BUF_SIZE;
	h->buf = malloc(h->size);
	h->d = vigil_digest_new(algos);
	return h->buf && h->d ? 0 : -ENOMEM;
}

static void hasher_free(struct hasher *h)
{
	vigil_digest_free(h->d);
	free(h->buf);
}

static int read_range(struct hasher *h, int fd, off_t *off, off_t end, uint64_t *hashed)
{
	while (end < 0 || *off < end) {
		size_t want = h->size;
		ssize_t n;

		if (end >= 0 && (off_t)want > end - *off)
			want = (size_t)(end - *off);
		n = pread(fd, h->buf, want, *off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 1; /* EOF */
		vigil_digest_write(h->d, h->buf, (size_t)n);
		*off += n;
		*hashed += (uint64_t)n;
	}
	return 0;
}

static void hash_zeros(struct hasher *h, uint64_t n, uint64_t *hashed)
{
	size_t chunk = n < h->size ? (size_t)n : h->size;

	memset(h->buf, 0, chunk);
	*hashed += n;
	while (n) {
		chunk = n < h->size ? (size_t)n : h->size;
		vigil_digest_write(h->d, h->buf, chunk);
		n -= chunk;
	}
}

/* Digests of the first st->st_size bytes (a shorter read means the file
 * shrank: the stat after reading says so).
 * Holes of a sparse file are hashed as the zeros they read as, without
 * reading them: the digest is identical, only the I/O is saved. */
static int hash_fd(struct hasher *h, int fd, const struct stat *st, uint64_t *hashed)
{
	off_t off = 0, size = st->st_size;
	int rc = 0;

	vigil_digest_reset(h->d);
	if (size > (off_t)h->size)
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (size >= (1 << 20) && (off_t)st->st_blocks * 512 < size) {
		while (off < size) {
			off_t data = lseek(fd, off, SEEK_DATA), hole;

			if (data < 0 && errno != ENXIO)
				break; /* no SEEK_DATA here: plain reads below */
			if (data < 0 || data > size)
				data = size;
			if (data > off) {
				hash_zeros(h, (uint64_t)(data - off), hashed);
				off = data;
			}
			if (off >= size)
				break;
			hole = lseek(fd, off, SEEK_HOLE);
			if (hole < 0 || hole > size)
				hole = size;
			if (hole <= off)
				hole = off + 1; /* the map moved: read at least a byte */
			rc = read_range(h, fd, &off, hole, hashed);
			if (rc)
				break;
		}
	}
	/* Up to the size fstat gave, never to "EOF": a file appended to faster
	 * than it is hashed would otherwise keep a worker forever.  The record's
	 * size and digest then describe the same bytes; growth shows as CHANGED. */
	if (rc == 0)
		rc = read_range(h, fd, &off, size, hashed);
	if ((uint64_t)size >= WALK_DONTNEED_MIN)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return rc < 0 ? rc : 0;
}

static void take_digests(struct hasher *h, struct vigil_record *rec)
{
	for (int a = 0; a < VIGIL_ALGO_COUNT; a++)
		if (h->algos & VIGIL_ALGO_BIT(a))
			vigil_digest_read(h->d, a, rec->digest[a]);
	rec->algos = h->algos;
}

/* A regular file's record: open, check it is what lstat saw, xattrs, flags,
 * digests, stat again.  Returns 0 or -ENOMEM; everything else is status. */
static int take_file(struct hasher *h, int dirfd, const char *name, const struct stat *lst,
		     struct vigil_record *rec, uint64_t *hashed)
{
	struct stat st, after;
	int fd, rc = 0;

	vigil_attr_from_stat(rec, lst);
	fd = open_noatime(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT) {
			rec->status |= VIGIL_REC_VANISHED;
			return 0;
		}
		rec->status |= VIGIL_REC_UNREADABLE;
		if (e == ELOOP) /* became a symlink since lstat */
			rec->status |= VIGIL_REC_CHANGED;
		rec->err = e;
		return vigil_attr_read(dirfd, name, -1, lst, rec);
	}
	if (fstat(fd, &st) < 0) {
		rec->status |= VIGIL_REC_UNREADABLE;
		rec->err = errno;
		goto out;
	}
	if (st.st_ino != lst->st_ino || st.st_dev != lst->st_dev ||
	    (st.st_mode & S_IFMT) != (lst->st_mode & S_IFMT))
		rec->status |= VIGIL_REC_CHANGED; /* replaced: take what is there now */
	vigil_attr_from_stat(rec, &st);
	rc = vigil_attr_read(dirfd, name, fd, &st, rec);
	if (rc)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		/* O_NONBLOCK made a FIFO swapped in open without hanging; never read it */
		rec->status |= VIGIL_REC_NOT_READ;
		goto out;
	}
	if (h->max_size && (uint64_t)st.st_size > h->max_size) {
		rec->status |= VIGIL_REC_TOO_LARGE;
		goto out;
	}
	rc = hash_fd(h, fd, &st, hashed);
	if (rc) {
		rec->status |= VIGIL_REC_UNREADABLE;
		rec->err = -rc;
		rc = 0;
		goto out;
	}
	take_digests(h, rec);
	if (fstat(fd, &after) < 0 || vigil_attr_stat_changed(&st, &after))
		rec->status |= VIGIL_REC_CHANGED;
out:
	close(fd);
	return rc;
}

/* Opens a directory for reading; *st becomes its fstat.  -errno on failure. */
static int open_dir(int dirfd, const char *name, const struct stat *lst, struct stat *st,
		    unsigned *status)
{
	int fd = open_noatime(dirfd, name,
			      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	if (st->st_ino != lst->st_ino || st->st_dev != lst->st_dev)
		*status |= VIGIL_REC_CHANGED;
	return fd;
}

/* Record of a directory (fd >= 0 open on it, else unreadable with err) or of
 * a symlink or special file (fd = -1).  0 or -ENOMEM. */
static int take_other(int dirfd, const char *name, const struct stat *st, int fd, int open_err,
		      struct vigil_record *rec)
{
	vigil_attr_from_stat(rec, st);
	if (S_ISDIR(st->st_mode) && fd < 0) {
		if (open_err == -ENOENT) {
			rec->status |= VIGIL_REC_VANISHED;
			return 0;
		}
		rec->status |= VIGIL_REC_UNREADABLE;
		if (open_err == -ENOTDIR || open_err == -ELOOP)
			rec->status |= VIGIL_REC_CHANGED;
		rec->err = -open_err;
	}
	if (!S_ISDIR(st->st_mode) && !S_ISLNK(st->st_mode))
		rec->status |= VIGIL_REC_NOT_READ;
	return vigil_attr_read(dirfd, name, fd, st, rec);
}

/* --- the pool -------------------------------------------------------------- */

static void dref_put(struct dref *d)
{
	if (d && __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		close(d->fd);
		free(d);
	}
}

static void count(struct walk *w, const struct vigil_record *rec, uint64_t hashed)
{
	if (rec->ftype == VIGIL_FT_REG)
		w->st.files++;
	else if (rec->ftype == VIGIL_FT_DIR)
		w->st.dirs++;
	else
		w->st.others++;
	w->st.bytes += hashed;
	if (rec->status & (VIGIL_REC_UNREADABLE | VIGIL_REC_VANISHED | VIGIL_REC_XATTR_ERR))
		w->st.errors++;
}

static void emit(struct walk *w, const struct vigil_record *rec, const struct vigil_scope *s,
		 uint64_t hashed)
{
	pthread_mutex_lock(&w->cblock);
	if (!stopped(w)) {
		int rc;

		count(w, rec, hashed);
		rc = w->opts->cb ? w->opts->cb(w->opts->arg, rec, s) : 0;
		if (rc < 0)
			set_stop(w, rc);
	}
	pthread_mutex_unlock(&w->cblock);
}

static void run_job(struct walk *w, struct hasher *h, struct job *j)
{
	struct vigil_record rec;
	uint64_t hashed = 0;
	int rc;

	vigil_record_init(&rec);
	rec.path = j->path;
	rec.path_len = j->path_len;
	set_scope_name(&rec, j->scope);
	rc = take_file(h, j->dir->fd, j->path + j->path_len - j->name_len, &j->st, &rec, &hashed);
	if (rc)
		set_stop(w, rc);
	else
		emit(w, &rec, j->scope, hashed);
	rec.path = NULL;
	vigil_record_clear(&rec);
}

struct worker_arg {
	struct walk *w;
	struct hasher *h;
};

static void *worker(void *arg)
{
	struct walk *w = ((struct worker_arg *)arg)->w;
	struct hasher *h = ((struct worker_arg *)arg)->h;

	free(arg);
	for (;;) {
		struct job j;

		pthread_mutex_lock(&w->qlock);
		while (!w->qlen && !w->closing)
			pthread_cond_wait(&w->q_notempty, &w->qlock);
		if (!w->qlen) {
			pthread_mutex_unlock(&w->qlock);
			break;
		}
		j = w->q[w->qhead];
		w->qhead = (w->qhead + 1) % w->qcap;
		w->qlen--;
		/* The walker outruns the hashers and waits on a full queue; waking
		 * it at half rather than at every job saves a futex wake and two
		 * context switches per file (measured: ~15% of the run on a VM). */
		if (w->qlen <= w->qcap / 2)
			pthread_cond_signal(&w->q_notfull);
		pthread_mutex_unlock(&w->qlock);
		if (!stopped(w))
			run_job(w, h, &j);
		dref_put(j.dir);
		free(j.path);
	}
	return NULL;
}

static void progress(struct walk *w, int force)
{
	struct vigil_walk_stats snap;
	int64_t t;

	if (!w->opts->progress)
		return;
	t = vigil_clock_mono_ns();
	if (!force && t < w->next_progress)
		return;
	w->next_progress = t + WALK_PROGRESS_NS;
	pthread_mutex_lock(&w->cblock);
	snap = w->st;
	pthread_mutex_unlock(&w->cblock);
	w->opts->progress(w->opts->progress_arg, &snap, w->planned);
}

/* Queues a regular file; blocks while the queue is full (that is the memory bound). */
static int submit(struct walk *w, struct dref *dir, size_t len, size_t name_len,
		  const struct stat *st, const struct vigil_scope *s)
{
	struct job j = { .dir = dir, .path_len = len, .name_len = name_len, .st = *st, .scope = s };

	j.path = malloc(len + 1);
	if (!j.path)
		return -ENOMEM;
	memcpy(j.path, w->path, len + 1);
	__atomic_add_fetch(&dir->refs, 1, __ATOMIC_RELAXED);
	w->planned += (uint64_t)st->st_size;
	pthread_mutex_lock(&w->qlock);
	/* full: wait until the hashers have drained half of it */
	while (w->qlen == w->qcap || (w->waiting && w->qlen > w->qcap / 2)) {
		struct timespec ts;

		if (stopped(w))
			break;
		w->waiting = 1;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += WALK_PROGRESS_NS;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&w->q_notfull, &w->qlock, &ts);
		pthread_mutex_unlock(&w->qlock);
		progress(w, 0);
		pthread_mutex_lock(&w->qlock);
	}
	w->waiting = 0;
	if (w->qlen == w->qcap) { /* stopped while full: drop this one */
		pthread_mutex_unlock(&w->qlock);
		dref_put(dir);
		free(j.path);
		return 0;
	}
	w->q[(w->qhead + w->qlen) % w->qcap] = j;
	w->qlen++;
	pthread_cond_signal(&w->q_notempty);
	pthread_mutex_unlock(&w->qlock);
	return 0;
}

static int pool_start(struct walk *w)
{
	w->qcap = (size_t)w->n_threads * WALK_QUEUE_PER_THREAD;
	w->q = calloc(w->qcap, sizeof(*w->q));
	w->threads = calloc((size_t)w->n_threads, sizeof(*w->threads));
	w->hashers = calloc((size_t)w->n_threads, sizeof(*w->hashers));
	if (!w->q || !w->threads || !w->hashers)
		return -ENOMEM;
	for (int i = 0; i < w->n_threads; i++) {
		struct worker_arg *a = malloc(sizeof(*a));
		int rc;

		if (!a || hasher_init(&w->hashers[i], w->algos, w->max_size)) {
			free(a);
			return -ENOMEM;
		}
		a->w = w;
		a->h = &w->hashers[i];
		rc = pthread_create(&w->threads[i], NULL, worker, a);
		if (rc) {
			free(a);
			return -rc;
		}
		w->n_started++;
	}
	return 0;
}

static void pool_stop(struct walk *w)
{
	pthread_mutex_lock(&w->qlock);
	w->closing = 1;
	pthread_cond_broadcast(&w->q_notempty);
	pthread_mutex_unlock(&w->qlock);
	for (int i = 0; i < w->n_started; i++)
		pthread_join(w->threads[i], NULL);
	/* no worker ever started: drop what is queued */
	while (w->qlen) {
		dref_put(w->q[w->qhead].dir);
		free(w->q[w->qhead].path);
		w->qhead = (w->qhead + 1) % w->qcap;
		w->qlen--;
	}
	for (int i = 0; w->hashers && i < w->n_threads; i++)
		hasher_free(&w->hashers[i]);
	free(w->hashers);
	free(w->threads);
	free(w->q);
}

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

/* Visits the node w->path[0..lv->len), named `name` in directory dir. */
static int visit(struct walk *w, const struct level *plv, struct dref *dir, int is_root,
		 const char *name, size_t len, size_t name_len, dev_t sdev)
{
	struct start *sk = &w->starts[plv->k];
	const struct vigil_scope *s = sk->scope;
	struct vigil_record rec;
	struct stat st, dst;
	size_t *shadows = NULL, n_shadows = 0, *child_shadows = NULL, n_child = 0;
	struct level lv = { .k = plv->k, .len = len, .ncomp = plv->ncomp + 1 };
	int rc = 0, fd = -1, depth, emit_it, dirfd = dir->fd;
	unsigned status = 0;

	vigil_record_init(&rec);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) {
			/* nothing to build a record from; counted, the walk goes on */
			pthread_mutex_lock(&w->cblock);
			w->st.errors++;
			pthread_mutex_unlock(&w->cblock);
		}
		return 0;
	}
	if (s->exclude.n && vigil_scope_match_any(&s->exclude, w->path))
		return 0;
	if (w->skip_state && st.st_dev == w->state_dev && st.st_ino == w->state_ino)
		return 0;
	if (is_root) {
		sk->walked = 1;
		sk->dev = st.st_dev;
		sdev = st.st_dev;
	}
	depth = lv.ncomp - sk->e_ncomp;

	/* Shadows: earlier starts whose walk reaches this node.  Inherited ones
	 * stop at their scope's excludes; a start whose root is this node joins. */
	if (plv->n_shadows + plv->n_cands) {
		shadows = malloc((plv->n_shadows + plv->n_cands) * sizeof(*shadows));
		if (!shadows)
			return -ENOMEM;
	}
	for (size_t i = 0; i < plv->n_shadows; i++) {
		const struct vigil_scope *o = w->starts[plv->shadows[i]].scope;

		if (!(o->exclude.n && vigil_scope_match_any(&o->exclude, w->path)))
			shadows[n_shadows++] = plv->shadows[i];
	}
	for (size_t i = 0; i < plv->n_cands; i++) {
		size_t c = plv->cands[i];
		struct start *sc = &w->starts[c];

		if (sc->root_len != len || memcmp(sc->root, w->path, len))
			continue;
		if (c < plv->k && sc->walked)
			shadows[n_shadows++] = c;
		else if (c > plv->k && (rc = add_covered(sc, plv->k)))
			goto out;
	}

	emit_it = !s->include.n || vigil_scope_match_any(&s->include, w->path);
	for (size_t i = 0; emit_it && i < n_shadows; i++)
		if (shadow_selects(w, shadows[i], w->path, lv.ncomp))
			emit_it = 0;

	if (S_ISREG(st.st_mode)) {
		if (emit_it)
			rc = submit(w, dir, len, name_len, &st, s);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		fd = open_dir(dirfd, name, &st, &dst, &status);
		if (fd >= 0)
			st = dst;
	}
	if (emit_it) {
		uint64_t none = 0;

		rec.path = w->path;
		rec.path_len = len;
		rec.status = status;
		set_scope_name(&rec, s);
		rc = take_other(dirfd, name, &st, fd < 0 ? -1 : fd, fd, &rec);
		if (!rc)
			emit(w, &rec, s, none);
		rec.path = NULL;
		if (rc)
			goto out;
	}
	if (fd < 0 || (s->depth >= 0 && depth >= s->depth))
		goto out;
	if (s->one_filesystem && st.st_dev != sdev) {
		pthread_mutex_lock(&w->cblock);
		w->st.skipped_fs++;
		pthread_mutex_unlock(&w->cblock);
		goto out;
	}
	if (w->levels >= WALK_MAX_LEVELS)
		goto out;
	/* shadows that still hold below: not into another file system for a
	 * one_filesystem scope */
	if (n_shadows) {
		child_shadows = malloc(n_shadows * sizeof(*child_shadows));
		if (!child_shadows) {
			rc = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n_shadows; i++) {
			const struct start *o = &w->starts[shadows[i]];

			if (!(o->scope->one_filesystem && st.st_dev != o->dev))
				child_shadows[n_child++] = shadows[i];
		}
	}
	lv.cands = plv->cands;
	lv.n_cands = plv->n_cands;
	rc = walk_dir(w, &lv, fd, child_shadows, n_child, sdev);
	fd = -1; /* walk_dir took it */
out:
	if (fd >= 0)
		close(fd);
	free(shadows);
	free(child_shadows);
	vigil_record_clear(&rec);
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
	struct dirent *de;

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
		pthread_mutex_lock(&w->cblock);
		w->st.errors++;
		pthread_mutex_unlock(&w->cblock);
		goto out;
	}
	/* candidates strictly below this directory */
	if (lv->n_cands) {
		cands = malloc(lv->n_cands * sizeof(*cands));
		if (!cands) {
			rc = -ENOMEM;
			goto out;
		}
		clv.n_cands = 0;
		for (size_t i = 0; i < lv->n_cands; i++) {
			const struct start *c = &w->starts[lv->cands[i]];

			if (c->root_len > lv->len && vigil_scope_at_or_below(c->root, c->root_len, w->path, lv->len))
				cands[clv.n_cands++] = lv->cands[i];
		}
		clv.cands = cands;
	}
	clv.shadows = shadows_in;
	clv.n_shadows = n_shadows_in;
	w->levels++;
	while (!stopped(w)) {
		size_t nl, len;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				pthread_mutex_lock(&w->cblock);
				w->st.errors++;
				pthread_mutex_unlock(&w->cblock);
			}
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
		rc = visit(w, &clv, dir, 0, de->d_name, len, nl, sdev);
		w->path[lv->len] = '\0';
		if (rc)
			break;
		progress(w, 0);
	}
	w->levels--;
out:
	if (d)
		closedir(d);
	free(cands);
	dref_put(dir);
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
	pfd = open_parent(w->rootfd, w->confined, w->path, s->root_len, &name);
	if (pfd < 0) {
		if (pfd == -ENOMEM)
			return pfd;
		if (pfd != -ENOENT && pfd != -ENOTDIR && pfd != -ELOOP) {
			pthread_mutex_lock(&w->cblock);
			w->st.errors++;
			pthread_mutex_unlock(&w->cblock);
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
	dref_put(dir);
	return rc;
}

/* --- building the starts --------------------------------------------------- */

static int add_start(struct walk *w, const struct vigil_scope *s, const char *root, size_t len,
		     int e_ncomp)
{
	struct start *n = realloc(w->starts, (w->n_starts + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	w->starts = n;
	n = &w->starts[w->n_starts];
	memset(n, 0, sizeof(*n));
	n->root = strndup(root, len);
	if (!n->root)
		return -ENOMEM;
	n->root_len = len;
	n->e_ncomp = e_ncomp;
	n->scope = s;
	w->n_starts++;
	return 0;
}

static int add_expansion(struct walk *w, const struct vigil_scope *s, const char *e, size_t el)
{
	const char *const *only = w->opts->only;
	int en = vigil_scope_ncomp(e, el), rc = 0;

	while (el > 1 && e[el - 1] == '/')
		el--;
	if (!only)
		return add_start(w, s, e, el, en);
	for (size_t i = 0; only[i] && !rc; i++) {
		size_t ol = strlen(only[i]);

		while (ol > 1 && only[i][ol - 1] == '/')
			ol--;
		if (vigil_scope_at_or_below(only[i], ol, e, el))
			rc = add_start(w, s, only[i], ol, en);
		else if (vigil_scope_at_or_below(e, el, only[i], ol))
			rc = add_start(w, s, e, el, en);
	}
	return rc;
}

static int escape_glob(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in; in++) {
		if (strchr("*?[\\", *in)) {
			if (o + 1 >= size)
				return -ENAMETOOLONG;
			out[o++] = '\\';
		}
		if (o + 1 >= size)
			return -ENAMETOOLONG;
		out[o++] = *in;
	}
	out[o] = '\0';
	return 0;
}

static int expand(struct walk *w, const struct vigil_scope *s, const char *pat)
{
	char buf[2 * PATH_MAX];
	size_t rl = w->confined ? strlen(w->rootdir) : 0, bl;
	glob_t g;
	int rc = 0, n;

	if (pat[0] != '/')
		return 0; /* the config refuses relative paths; never walk the cwd */
	if (!vigil_scope_has_glob(pat))
		return add_expansion(w, s, pat, strlen(pat));
	if (w->confined) {
		rc = escape_glob(w->rootdir, buf, sizeof(buf));
		if (rc)
			return vigil_err_set(w->err, rc, "root '%s': path too long", w->rootdir);
	} else {
		buf[0] = '\0';
	}
	bl = strlen(buf);
	n = snprintf(buf + bl, sizeof(buf) - bl, "%s", pat);
	if (n < 0 || (size_t)n >= sizeof(buf) - bl)
		return vigil_err_set(w->err, -ENAMETOOLONG, "scope '%s': path '%s' too long",
				     s->name, pat);
	n = glob(buf, GLOB_NOSORT, NULL, &g);
	if (n == GLOB_NOSPACE) {
		globfree(&g);
		return vigil_err_set(w->err, -ENOMEM, "scope '%s': glob '%s': out of memory",
				     s->name, pat);
	}
	if (n) { /* no match, or unreadable directories on the way: nothing there */
		globfree(&g);
		return 0;
	}
	for (size_t i = 0; i < g.gl_pathc && !rc; i++) {
		const char *m = g.gl_pathv[i];

		if (rl && (strlen(m) < rl || memcmp(m, w->rootdir, rl)))
			continue;
		m += rl;
		rc = add_expansion(w, s, *m ? m : "/", *m ? strlen(m) : 1);
	}
	globfree(&g);
	return rc;
}

static int plan(struct walk *w)
{
	const struct vigil_config *cfg = w->opts->cfg;
	int rc = 0;

	for (size_t i = 0; i < cfg->n_scopes && !rc; i++)
		for (size_t p = 0; p < cfg->scopes[i].paths.n && !rc; p++)
			rc = expand(w, &cfg->scopes[i], cfg->scopes[i].paths.v[p]);
	if (rc)
		return rc;
	/* which starts lie at or below which: O(starts^2) once, typically a few hundred */
	for (size_t k = 0; k < w->n_starts; k++) {
		struct start *s = &w->starts[k];

		for (size_t c = 0; c < w->n_starts; c++) {
			const struct start *o = &w->starts[c];
			size_t *nb;

			if (c == k || !vigil_scope_at_or_below(o->root, o->root_len, s->root, s->root_len))
				continue;
			nb = realloc(s->below, (s->n_below + 1) * sizeof(*nb));
			if (!nb)
				return -ENOMEM;
			s->below = nb;
			s->below[s->n_below++] = c;
		}
	}
	return 0;
}

static void free_starts(struct walk *w)
{
	for (size_t k = 0; k < w->n_starts; k++) {
		free(w->starts[k].root);
		free(w->starts[k].below);
		free(w->starts[k].covered_by);
	}
	free(w->starts);
}

static int open_root(const char *root, int *confined, char **rootdir, struct vigil_err *err)
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

int vigil_walk_run(const struct vigil_walk_opts *opts, struct vigil_walk_stats *stats,
		   struct vigil_err *err)
{
	struct walk w;
	long ncpu;
	int rc, locks = 0;

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
	w.n_threads = opts->threads > 0 ? opts->threads : opts->cfg->threads;
	if (w.n_threads <= 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		w.n_threads = ncpu > 0 ? (int)ncpu : 1;
	}
	if (w.n_threads > 256)
		w.n_threads = 256;

	rc = open_root(opts->root, &w.confined, &w.rootdir, err);
	if (rc < 0)
		return rc;
	w.rootfd = rc;
	rc = plan(&w);
	if (rc) {
		if (rc == -ENOMEM)
			vigil_err_set(err, rc, "walk: out of memory planning the scopes");
		goto out;
	}
	if (pthread_mutex_init(&w.qlock, NULL) || pthread_mutex_init(&w.cblock, NULL) ||
	    pthread_cond_init(&w.q_notfull, NULL) || pthread_cond_init(&w.q_notempty, NULL)) {
		rc = vigil_err_set(err, -ENOMEM, "walk: cannot create locks");
		goto out;
	}
	locks = 1;
	rc = pool_start(&w);
	if (rc) {
		vigil_err_set(err, rc, "walk: cannot start %d hashing threads: %s", w.n_threads,
			      strerror(-rc));
		set_stop(&w, rc);
	}
	for (size_t k = 0; k < w.n_starts && !rc && !stopped(&w); k++) {
		rc = walk_start(&w, k);
		if (rc) {
			set_stop(&w, rc);
			if (rc == -ENOMEM)
				vigil_err_set(err, rc, "walk: out of memory at '%s'",
					      w.starts[k].root);
		}
	}
	pool_stop(&w);
	progress(&w, 1);
	if (!rc)
		rc = stopped(&w);
	if (rc == -ENOMEM)
		vigil_err_set(err, rc, "walk: out of memory");
	if (stats)
		*stats = w.st;
out:
	if (locks) {
		pthread_mutex_destroy(&w.qlock);
		pthread_mutex_destroy(&w.cblock);
		pthread_cond_destroy(&w.q_notfull);
		pthread_cond_destroy(&w.q_notempty);
	}
	free_starts(&w);
	free(w.path);
	free(w.rootdir);
	if (w.rootfd >= 0)
		close(w.rootfd);
	return rc;
}

int vigil_walk_one(const char *root, const char *path, size_t path_len, unsigned algos,
		   uint64_t max_file_size, struct vigil_record *rec, struct vigil_err *err)
{
	struct hasher h = { 0 };
	struct stat st, dst;
	const char *name;
	char *p = NULL, *rootdir = NULL;
	int rootfd, confined, pfd = -1, fd = -1, rc;
	uint64_t hashed = 0;
	unsigned status = 0;

	vigil_record_init(rec);
	if (!path || !path_len || path[0] != '/' || memchr(path, '\0', path_len))
		return vigil_err_set(err, -EINVAL, "walk: '%.*s' is not an absolute path",
				     (int)(path_len > 200 ? 200 : path_len), path ? path : "");
	while (path_len > 1 && path[path_len - 1] == '/')
		path_len--;
	rootfd = open_root(root, &confined, &rootdir, err);
	if (rootfd < 0)
		return rootfd;
	p = strndup(path, path_len);
	rc = p ? vigil_record_set_path(rec, path, path_len) : -ENOMEM;
	if (rc)
		goto out;
	pfd = open_parent(rootfd, confined, p, path_len, &name);
	if (pfd < 0) {
		rc = pfd == -ENOENT || pfd == -ENOTDIR || pfd == -ELOOP ? 0 : pfd;
		if (rc)
			vigil_err_set(err, rc, "open parent of '%s': %s", p, strerror(-rc));
		pfd = -1;
		goto out; /* absent: ftype NONE */
	}
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
		if (rc)
			vigil_err_set(err, rc, "stat '%s': %s", p, strerror(-rc));
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		rc = hasher_init(&h, algos ? algos : VIGIL_ALGOS_DEFAULT, max_file_size);
		if (!rc)
			rc = take_file(&h, pfd, name, &st, rec, &hashed);
	} else {
		if (S_ISDIR(st.st_mode)) {
			fd = open_dir(pfd, name, &st, &dst, &status);
			if (fd >= 0)
				st = dst;
		}
		rec->status = status;
		rc = take_other(pfd, name, &st, fd < 0 ? -1 : fd, fd, rec);
	}
	if (rc)
		vigil_err_set(err, rc, "record '%s': out of memory", p);
out:
	if (rc)
		vigil_record_clear(rec);
	hasher_free(&h);
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
	close(rootfd);
	free(rootdir);
	free(p);
	return rc;
}

const struct vigil_scope *vigil_walk_scope_for(const struct vigil_config *cfg, const char *path,
					       size_t len)
{
	return vigil_scope_for(cfg, path, len);
}
