/* attr.c - stat fields, symlink targets, extended attributes and inode flags
 * of one path, into a struct vigil_record.
 *
 * Extended attributes are read from the open descriptor when there is one
 * (flistxattr/fgetxattr: no path lookup, no race with a rename), otherwise
 * through "/proc/self/fd/DIRFD/NAME" with llistxattr/lgetxattr, which never
 * follows the final symlink and works whatever the length of the full path.
 * Every attribute the kernel lists is kept (security.capability,
 * security.selinux, system.posix_acl_*; trusted.* only as root), sorted by
 * name bytewise so the blob is canonical and two scans compare equal.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <linux/fs.h>

#include "vigil/attr.h"

void vigil_attr_from_stat(struct vigil_record *rec, const struct stat *st)
{
	rec->ftype = vigil_ftype_from_mode(st->st_mode);
	rec->mode = st->st_mode & 07777;
	rec->uid = st->st_uid;
	rec->gid = st->st_gid;
	rec->size = (uint64_t)st->st_size;
	rec->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	rec->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	rec->ino = st->st_ino;
	rec->dev = st->st_dev;
	rec->rdev = st->st_rdev;
	rec->nlink = st->st_nlink;
}

int vigil_attr_stat_changed(const struct stat *a, const struct stat *b)
{
	return a->st_size != b->st_size || a->st_ino != b->st_ino || a->st_dev != b->st_dev ||
	       a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec ||
	       a->st_ctim.tv_sec != b->st_ctim.tv_sec || a->st_ctim.tv_nsec != b->st_ctim.tv_nsec;
}

static ssize_t x_list(int fd, const char *path, char *buf, size_t size)
{
	return fd >= 0 ? flistxattr(fd, buf, size) : llistxattr(path, buf, size);
}

static ssize_t x_get(int fd, const char *path, const char *name, void *buf, size_t size)
{
	return fd >= 0 ? fgetxattr(fd, name, buf, size) : lgetxattr(path, name, buf, size);
}

static int cmp_names(const void *a, const void *b)
{
	/* strcmp compares as unsigned char: a bytewise, locale-free order */
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The NUL-separated name list, grown until it fits (it may grow between calls). */
static int read_list(int fd, const char *path, char **out, size_t *out_len)
{
	char *buf = NULL;
	ssize_t n;
	int rc = 0;

	for (int tries = 0; tries < 8; tries++) {
		char *nb;

		n = x_list(fd, path, NULL, 0);
		if (n < 0) {
			rc = errno == ENOTSUP ? 0 : -errno;
			goto out;
		}
		if (n == 0)
			goto out;
		nb = realloc(buf, (size_t)n);
		if (!nb) {
			rc = -ENOMEM;
			goto out;
		}
		buf = nb;
		n = x_list(fd, path, buf, (size_t)n);
		if (n >= 0) {
			*out = buf;
			*out_len = (size_t)n;
			return 0;
		}
		if (errno != ERANGE) {
			rc = errno == ENOTSUP ? 0 : -errno;
			goto out;
		}
	}
	rc = -ERANGE;
out:
	free(buf);
	*out = NULL;
	*out_len = 0;
	return rc;
}

struct blob {
	unsigned char *p;
	size_t len, cap;
};

static int blob_put(struct blob *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

static int blob_put_u32(struct blob *b, uint32_t v)
{
	unsigned char le[4] = { (unsigned char)v, (unsigned char)(v >> 8),
				(unsigned char)(v >> 16), (unsigned char)(v >> 24) };

	return blob_put(b, le, 4);
}

/* One value into b (name_len|name|value_len|value); 1 when the attribute
 * disappeared meanwhile (skipped), 0, or -errno. */
static int put_value(int fd, const char *path, const char *name, struct blob *b)
{
	char small[4096];
	char *val = small;
	ssize_t n = x_get(fd, path, name, small, sizeof(small));
	int rc = 0;

	/* Most values (capabilities, SELinux labels, ACLs) fit the stack buffer:
	 * one syscall.  Larger ones (up to XATTR_SIZE_MAX) take a size query. */
	for (int tries = 0; n < 0 && errno == ERANGE && tries < 8; tries++) {
		ssize_t want = x_get(fd, path, name, NULL, 0);
		char *nv;

		if (want < 0)
			break;
		nv = realloc(val == small ? NULL : val, (size_t)want + 1);
		if (!nv) {
			rc = -ENOMEM;
			goto out;
		}
		val = nv;
		n = x_get(fd, path, name, val, (size_t)want + 1);
	}
	if (n < 0) {
		rc = errno == ENODATA ? 1 : -errno;
		goto out;
	}
	if (blob_put_u32(b, (uint32_t)strlen(name)) || blob_put(b, name, strlen(name)) ||
	    blob_put_u32(b, (uint32_t)n) || blob_put(b, val, (size_t)n))
		rc = -ENOMEM;
out:
	if (val != small)
		free(val);
	return rc;
}

int vigil_attr_xattrs(int fd, const char *path, unsigned char **out, size_t *out_len)
{
	struct blob b = { 0 };
	char *list = NULL, **names = NULL;
	size_t list_len, n = 0;
	int rc;

	*out = NULL;
	*out_len = 0;
	rc = read_list(fd, path, &list, &list_len);
	if (rc || !list)
		goto out;
	for (size_t i = 0; i < list_len; i++)
		if (list[i] == '\0')
			n++;
	names = malloc((n ? n : 1) * sizeof(*names));
	if (!names) {
		rc = -ENOMEM;
		goto out;
	}
	n = 0;
	for (size_t i = 0; i < list_len; i += strlen(list + i) + 1)
		if (list[i])
			names[n++] = list + i;
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		rc = put_value(fd, path, names[i], &b);
		if (rc < 0)
			goto out;
		rc = 0;
	}
	*out = b.p;
	*out_len = b.len;
	b.p = NULL;
out:
	free(b.p);
	free(names);
	free(list);
	return rc;
}

static int read_target(int dirfd, const char *name, const struct stat *st, struct vigil_record *rec)
{
	/* Linux caps symlink targets below PATH_MAX; st_size may be 0 on some
	 * file systems (procfs), so the buffer is sized for the cap, not st_size. */
	char buf[PATH_MAX + 1];
	ssize_t n = readlinkat(dirfd, name, buf, sizeof(buf));

	(void)st;
	if (n < 0) {
		rec->status |= VIGIL_REC_UNREADABLE;
		rec->err = errno;
		return 0;
	}
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	return vigil_record_set_target(rec, buf, (size_t)n);
}

int vigil_attr_read(int dirfd, const char *name, int fd, const struct stat *st,
		    struct vigil_record *rec)
{
	char proc[64 + NAME_MAX];
	unsigned char *blob = NULL;
	size_t len = 0;
	int rc = 0, n;

	if (S_ISLNK(st->st_mode)) {
		rc = read_target(dirfd, name, st, rec);
		if (rc)
			goto out;
	}

	if (fd >= 0) {
		rc = vigil_attr_xattrs(fd, NULL, &blob, &len);
	} else {
		/* The magic link resolves the directory; the l* calls do not follow
		 * the last component.  The name is at most NAME_MAX bytes. */
		n = snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dirfd, name);
		rc = n < 0 || (size_t)n >= sizeof(proc) ? -ENAMETOOLONG
							 : vigil_attr_xattrs(-1, proc, &blob, &len);
	}
	if (rc == -ENOMEM)
		goto out;
	if (rc) {
		rec->status |= VIGIL_REC_XATTR_ERR;
		rc = 0;
	} else {
		free(rec->xattrs);
		rec->xattrs = blob;
		rec->xattrs_len = len;
		blob = NULL;
	}

	rec->has_flags = 0;
	if (fd >= 0 && (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode))) {
		/* The kernel writes an int, whatever the long in the macro says. */
		int flags = 0;

		if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
			rec->flags = (uint32_t)flags;
			rec->has_flags = 1;
		} else if (errno != ENOTTY && errno != EOPNOTSUPP && errno != ENOTSUP &&
			   errno != EINVAL && errno != ENOSYS) {
			rec->status |= VIGIL_REC_FLAGS_ERR;
		}
	}
out:
	free(blob);
	return rc;
}
