/* docker_fs.c - confined reads, ids, CRC-64/ISO and base64 for the docker collector. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "docker_priv.h"

/* openat2() appeared in Linux 5.6; on older kernels (ENOSYS) or seccomp
 * filters that refuse it (EPERM) we fall back to a component walk. */
static int sys_openat2(int dirfd, const char *path, int flags, uint64_t resolve)
{
#ifdef SYS_openat2
	struct open_how how = { .flags = (uint64_t)flags, .mode = 0, .resolve = resolve };
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
#else
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

int docker_open_beneath(int dirfd, const char *rel, int flags)
{
	int fd;

	while (*rel == '/')
		rel++;
	if (!*rel)
		rel = ".";
	fd = sys_openat2(dirfd, rel, flags | O_NOFOLLOW | O_CLOEXEC,
			 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd == -ENOSYS || fd == -EPERM)
		fd = walk_nofollow(dirfd, rel, flags);
	return fd;
}

int docker_open_in_root(int rootfd, const char *abs, int flags)
{
	int fd;

	while (*abs == '/')
		abs++;
	if (!*abs)
		abs = ".";
	fd = sys_openat2(rootfd, abs, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	/* Without openat2 we cannot resolve links safely inside the root: refuse them. */
	if (fd == -ENOSYS || fd == -EPERM)
		fd = walk_nofollow(rootfd, abs, flags);
	return fd;
}

int docker_open_regular(int dirfd, const char *rel, struct stat *st)
{
	struct stat sb;
	char proc[64];
	int pfd = docker_open_beneath(dirfd, rel, O_PATH), fd;

	if (!st)
		st = &sb;
	if (pfd < 0)
		return pfd;
	if (fstat(pfd, st) || !S_ISREG(st->st_mode)) {
		close(pfd);
		return -EINVAL;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM) /* O_NOATIME needs ownership or CAP_FOWNER */
		fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	close(pfd);
	return fd;
}

/* f*xattr() refuse an O_PATH fd (EBADF) on older kernels; the magic
 * link, followed (getxattr, not lgetxattr), then lands on the inode itself. */
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

ssize_t docker_xattr_get(int fd, const char *name, void *val, size_t len)
{
	return xattr_op(fd, name, val, len);
}

ssize_t docker_xattr_list(int fd, char *list, size_t len)
{
	return xattr_op(fd, NULL, list, len);
}

int docker_read_file(int dirfd, const char *rel, size_t max, char **buf, size_t *len)
{
	struct stat st;
	char *b = NULL;
	size_t got = 0;
	int fd, rc;

	*buf = NULL;
	if (len)
		*len = 0;
	fd = docker_open_regular(dirfd, rel, &st);
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
	/* The file may grow while read (a live daemon rewrites it): stop at the
	 * size seen by fstat so the buffer stays bounded. */
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

int docker_read_id(int dirfd, const char *rel, char **out)
{
	size_t len;
	char *s;
	int rc = docker_read_file(dirfd, rel, DOCKER_ID_MAX, &s, &len);

	*out = NULL;
	if (rc)
		return rc;
	while (len && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\r'))
		s[--len] = '\0';
	if (!len || strlen(s) != len) { /* empty or holds a NUL */
		free(s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

int docker_is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

int docker_is_digest(const char *s)
{
	return !strncmp(s, "sha256:", 7) && docker_is_hex64(s + 7);
}

/* Slicing-by-8: about 8x the byte-at-a-time speed, which matters because
 * every payload byte of every layer goes through it. */
static uint64_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint64_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0xD800000000000000ull : c >> 1;
		crc_tab[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
}

uint64_t docker_crc64(uint64_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		v = __builtin_bswap64(v);
#endif
		crc ^= v;
		crc = crc_tab[7][crc & 0xff] ^ crc_tab[6][(crc >> 8) & 0xff] ^
		      crc_tab[5][(crc >> 16) & 0xff] ^ crc_tab[4][(crc >> 24) & 0xff] ^
		      crc_tab[3][(crc >> 32) & 0xff] ^ crc_tab[2][(crc >> 40) & 0xff] ^
		      crc_tab[1][(crc >> 48) & 0xff] ^ crc_tab[0][crc >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

int docker_strv_push(struct vigil_strv *sv, const char *s)
{
	char **v = realloc(sv->v, (sv->n + 2) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	sv->v = v;
	v[sv->n] = strdup(s);
	if (!v[sv->n])
		return -ENOMEM;
	sv->n++;
	v[sv->n] = NULL;
	return 0;
}

void docker_strv_clear(struct vigil_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}
