/* rootfs.c - the one confined door to files under --root (see rootfs.h).
 *
 * Cost: one openat2() per open; without openat2, one openat() per path
 * component.  A glob reads each directory it crosses once.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "vigil/rootfs.h"

/* Glob patterns deeper than this are refused (each level holds a directory). */
#define GLOB_MAX_DEPTH 64

int vigil_rootfs_is_host(const char *root)
{
	if (!root)
		return 1;
	while (*root == '/')
		root++;
	return !*root;
}

int vigil_rootfs_open_root(const char *root, int *confined)
{
	int fd;

	if (confined)
		*confined = !vigil_rootfs_is_host(root);
	fd = open(vigil_rootfs_is_host(root) ? "/" : root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int sys_openat2(int dirfd, const char *path, int flags, uint64_t resolve)
{
#ifdef SYS_openat2
	struct open_how how = { .flags = (uint64_t)flags, .mode = 0, .resolve = resolve };
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
#else
	(void)dirfd, (void)path, (void)flags, (void)resolve;
	return -ENOSYS;
#endif
}

/* Component by component with O_NOFOLLOW: each step is O_PATH|O_DIRECTORY so a
 * symlink anywhere fails with ELOOP/ENOTDIR; costs one syscall per component. */
static int walk_nofollow(int dirfd, const char *rel, int flags)
{
	char comp[256];
	const char *p = rel, *slash;
	int cur = dirfd, fd, rc;

	for (;;) {
		size_t n;

		while (*p == '/')
			p++;
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n >= sizeof(comp)) {
			rc = -ENAMETOOLONG;
			goto out;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (!strcmp(comp, "..")) {
			rc = -EXDEV;
			goto out;
		}
		while (slash && slash[1] == '/')
			slash++;
		if (!slash || !slash[1]) {
			fd = openat(cur, n ? comp : ".", flags | O_NOFOLLOW | O_CLOEXEC);
			rc = fd < 0 ? -errno : fd;
			goto out;
		}
		fd = openat(cur, n ? comp : ".", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			rc = -errno;
			goto out;
		}
		if (cur != dirfd)
			close(cur);
		cur = fd;
		p = slash + 1;
	}
out:
	if (cur != dirfd)
		close(cur);
	return rc;
}

static const char *relative(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

int vigil_rootfs_open_beneath(int dirfd, const char *rel, int flags)
{
	int fd;

	rel = relative(rel);
	fd = sys_openat2(dirfd, rel, flags | O_NOFOLLOW | O_CLOEXEC,
			 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd == -ENOSYS || fd == -EPERM)
		fd = walk_nofollow(dirfd, rel, flags);
	return fd;
}

int vigil_rootfs_open(int rootfd, const char *path, int flags)
{
	int fd;

	path = relative(path);
	fd = sys_openat2(rootfd, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	/* Without openat2 links cannot be resolved safely inside the root: refuse them. */
	if (fd == -ENOSYS || fd == -EPERM)
		fd = walk_nofollow(rootfd, path, flags);
	return fd;
}

int vigil_rootfs_reopen_regular(int pathfd, struct stat *st)
{
	struct stat sb;
	char proc[64];
	int fd;

	if (!st)
		st = &sb;
	if (pathfd < 0)
		return pathfd;
	if (fstat(pathfd, st) || !S_ISREG(st->st_mode)) {
		close(pathfd);
		return -EINVAL;
	}
	/* The magic link reopens exactly this inode, whatever its path is now. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pathfd);
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM) /* O_NOATIME needs ownership or CAP_FOWNER */
		fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	close(pathfd);
	return fd;
}

int vigil_rootfs_lstat(int rootfd, const char *path, struct stat *st)
{
	int fd = vigil_rootfs_open(rootfd, path, O_PATH | O_NOFOLLOW), rc = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, st))
		rc = -errno;
	close(fd);
	return rc;
}

DIR *vigil_rootfs_opendir(int rootfd, const char *path, int *errp)
{
	int fd = vigil_rootfs_open(rootfd, path, O_RDONLY | O_DIRECTORY);
	DIR *d;

	if (fd < 0) {
		if (errp)
			*errp = fd;
		return NULL;
	}
	d = fdopendir(fd);
	if (!d) {
		if (errp)
			*errp = -errno;
		close(fd);
	}
	return d;
}

ssize_t vigil_rootfs_readlink(int rootfd, const char *path, char *buf, size_t len)
{
	int fd = vigil_rootfs_open(rootfd, path, O_PATH | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return fd;
	if (!len) {
		close(fd);
		return -EINVAL;
	}
	n = readlinkat(fd, "", buf, len - 1);
	if (n < 0)
		n = errno == ENOENT ? -EINVAL : -errno; /* "" on a non-link: ENOENT */
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

/* Reads the regular file pathfd (O_PATH, closed here) into *buf. */
static int read_whole(int pathfd, size_t max, char **buf, size_t *len)
{
	struct stat st;
	char *b = NULL;
	size_t got = 0;
	int fd, rc;

	*buf = NULL;
	if (len)
		*len = 0;
	fd = vigil_rootfs_reopen_regular(pathfd, &st);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > max) {
		rc = -EFBIG;
		goto out;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		rc = -ENOMEM;
		goto out;
	}
	/* A file rewritten while read (a live daemon's JSON): stop at the size
	 * fstat saw, so the buffer stays bounded. */
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, b + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	b[got] = '\0';
	*buf = b;
	b = NULL;
	if (len)
		*len = got;
	rc = 0;
out:
	free(b);
	close(fd);
	return rc;
}

int vigil_rootfs_read(int rootfd, const char *path, size_t max, char **buf, size_t *len)
{
	return read_whole(vigil_rootfs_open(rootfd, path, O_PATH), max, buf, len);
}

int vigil_rootfs_read_beneath(int dirfd, const char *rel, size_t max, char **buf, size_t *len)
{
	return read_whole(vigil_rootfs_open_beneath(dirfd, rel, O_PATH), max, buf, len);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct globber {
	int rootfd;
	int (*cb)(void *arg, const char *path);
	void *arg;
};

/* The names of directory dir inside the root matching one component pattern,
 * sorted; *n of them in a malloc'd array of malloc'd names. */
static char **glob_names(int rootfd, const char *dir, const char *pat, size_t *n)
{
	DIR *d = vigil_rootfs_opendir(rootfd, dir, NULL);
	struct dirent *de;
	char **v = NULL;

	*n = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		char **nv;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fnmatch(pat, de->d_name, FNM_PERIOD))
			continue;
		nv = realloc(v, (*n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[*n] = strdup(de->d_name);
		if (!v[*n])
			break;
		(*n)++;
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_str);
	return v;
}

/* path holds the part matched so far ("" or "/a/b"); rest the pattern left. */
static int glob_step(struct globber *g, char *path, size_t plen, size_t cap, const char *rest, int depth)
{
	const char *slash, *comp;
	size_t cl, n = 0;
	char pat[256], **names;
	int rc = 0;

	while (*rest == '/')
		rest++;
	if (!*rest) {
		struct stat st;

		return vigil_rootfs_lstat(g->rootfd, plen ? path : "/", &st) ? 0 : g->cb(g->arg, plen ? path : "/");
	}
	if (depth > GLOB_MAX_DEPTH)
		return 0;
	comp = rest;
	slash = strchr(comp, '/');
	cl = slash ? (size_t)(slash - comp) : strlen(comp);
	if (cl >= sizeof(pat) || plen + 1 + cl + 1 > cap)
		return 0;
	memcpy(pat, comp, cl);
	pat[cl] = '\0';
	if (!strpbrk(pat, "*?[")) {
		path[plen] = '/';
		memcpy(path + plen + 1, pat, cl + 1);
		rc = glob_step(g, path, plen + 1 + cl, cap, comp + cl, depth + 1);
		path[plen] = '\0';
		return rc;
	}
	names = glob_names(g->rootfd, plen ? path : "/", pat, &n);
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(names[i]);

		if (!rc && plen + 1 + nl + 1 <= cap) {
			path[plen] = '/';
			memcpy(path + plen + 1, names[i], nl + 1);
			rc = glob_step(g, path, plen + 1 + nl, cap, comp + cl, depth + 1);
			path[plen] = '\0';
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int vigil_rootfs_glob(int rootfd, const char *pattern, int (*cb)(void *arg, const char *path), void *arg)
{
	struct globber g = { rootfd, cb, arg };
	char path[4096] = "";

	return glob_step(&g, path, 0, sizeof(path), pattern, 0);
}

/* f*xattr() refuse an O_PATH fd (EBADF) on older kernels; the magic link,
 * followed (getxattr, not lgetxattr), then lands on the inode itself. */
static ssize_t xattr_op(int fd, const char *name, void *buf, size_t len)
{
	struct stat st;
	char proc[64];
	ssize_t n = name ? fgetxattr(fd, name, buf, len) : flistxattr(fd, buf, len);

	if (n >= 0)
		return n;
	if (errno != EBADF)
		return -errno;
	if (fstat(fd, &st))
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -ENODATA;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = name ? getxattr(proc, name, buf, len) : listxattr(proc, buf, len);
	return n < 0 ? -errno : n;
}

ssize_t vigil_rootfs_xattr_get(int fd, const char *name, void *val, size_t len)
{
	return xattr_op(fd, name, val, len);
}

ssize_t vigil_rootfs_xattr_list(int fd, char *list, size_t len)
{
	return xattr_op(fd, NULL, list, len);
}
