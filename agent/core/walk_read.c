/* walk_read.c - reading one record: a regular file hashed in one read (holes
 * skipped), a directory opened and checked, anything else recorded from its
 * stat; vigil_walk_one() for a single path. */
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

void walk_set_scope_name(struct vigil_record *rec, const struct vigil_scope *s)
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
int walk_open_parent(int rootfd, int confined, char *path, size_t len, const char **name)
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

int walk_hasher_init(struct hasher *h, unsigned algos, uint64_t max_size)
{
	h->algos = algos;
	h->max_size = max_size;
	h->size = WALK_BUF_SIZE;
	h->buf = malloc(h->size);
	h->d = vigil_digest_new(algos);
	return h->buf && h->d ? 0 : -ENOMEM;
}

void walk_hasher_free(struct hasher *h)
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
int walk_take_file(struct hasher *h, int dirfd, const char *name, const struct stat *lst,
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
int walk_open_dir(int dirfd, const char *name, const struct stat *lst, struct stat *st,
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
int walk_take_other(int dirfd, const char *name, const struct stat *st, int fd, int open_err,
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
	rootfd = walk_open_root(root, &confined, &rootdir, err);
	if (rootfd < 0)
		return rootfd;
	p = strndup(path, path_len);
	rc = p ? vigil_record_set_path(rec, path, path_len) : -ENOMEM;
	if (rc)
		goto out;
	pfd = walk_open_parent(rootfd, confined, p, path_len, &name);
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
		rc = walk_hasher_init(&h, algos ? algos : VIGIL_ALGOS_DEFAULT, max_file_size);
		if (!rc)
			rc = walk_take_file(&h, pfd, name, &st, rec, &hashed);
	} else {
		if (S_ISDIR(st.st_mode)) {
			fd = walk_open_dir(pfd, name, &st, &dst, &status);
			if (fd >= 0)
				st = dst;
		}
		rec->status = status;
		rc = walk_take_other(pfd, name, &st, fd < 0 ? -1 : fd, fd, rec);
	}
	if (rc)
		vigil_err_set(err, rc, "record '%s': out of memory", p);
out:
	if (rc)
		vigil_record_clear(rec);
	walk_hasher_free(&h);
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
	close(rootfd);
	free(rootdir);
	free(p);
	return rc;
}
