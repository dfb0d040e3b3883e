/* statedir.c - StrictModes for the state dir and atomic replacement of its
 * small files (see include/vigil/statedir.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gcrypt.h>

#include "vigil/statedir.h"

static const char *kind_of(const struct stat *sb)
{
	return S_ISDIR(sb->st_mode) ? "directory" : S_ISREG(sb->st_mode) ? "file" :
	       S_ISLNK(sb->st_mode) ? "symbolic link" : "special file";
}

/* sticky_ok: a sticky directory writable by others is fine (above the
 * state dir only: in the state dir itself another user could still create
 * the files vigil has not made yet, a -wal file of their own first of all). */
static int check_stat(const struct stat *sb, const char *path, const char *what, int sticky_ok,
		      struct vigil_err *err)
{
	uid_t me = geteuid();
	int sticky_dir = sticky_ok && S_ISDIR(sb->st_mode) && (sb->st_mode & S_ISVTX);

	if (sb->st_uid != 0 && sb->st_uid != me) {
		if (me == 0)
			return vigil_err_set(err, -EPERM, "refusing %s '%s': owned by uid %u, not by root "
					     "(fix: chown root '%s', after checking what is in it)",
					     what, path, (unsigned)sb->st_uid, path);
		return vigil_err_set(err, -EPERM, "refusing %s '%s': owned by uid %u, neither root nor "
				     "the running user (uid %u) (fix: chown %u '%s', after checking what is in it)",
				     what, path, (unsigned)sb->st_uid, (unsigned)me, (unsigned)me, path);
	}
	if ((sb->st_mode & (S_IWGRP | S_IWOTH)) && !sticky_dir)
		return vigil_err_set(err, -EPERM, "refusing %s '%s': %s writable by %s (mode %04o) "
				     "(fix: chmod go-w '%s', after checking what is in it)",
				     what, path, kind_of(sb),
				     (sb->st_mode & S_IWOTH) ? (sb->st_mode & S_IWGRP) ? "group and others" : "others" :
				     "group", (unsigned)(sb->st_mode & 07777), path);
	return 0;
}

int vigil_statedir_check_stat(const struct stat *sb, const char *path, const char *what,
			      struct vigil_err *err)
{
	return check_stat(sb, path, what, 0, err);
}

int vigil_statedir_check_path(const char *path, const char *what, struct vigil_err *err)
{
	struct stat sb;

	if (lstat(path, &sb) < 0)
		return vigil_err_set(err, -errno, "cannot stat %s '%s': %s", what, path, strerror(errno));
	if (S_ISLNK(sb.st_mode))
		return vigil_err_set(err, -EPERM, "refusing %s '%s': a symbolic link", what, path);
	return vigil_statedir_check_stat(&sb, path, what, err);
}

int vigil_statedir_check_dir(const char *dir, struct vigil_err *err)
{
	char real[PATH_MAX];
	struct stat sb;
	int rc;

	/* The state dir itself may be reached through a symbolic link (e.g.
	 * /var/lib -> /srv/lib): what counts is the directory it names. */
	if (stat(dir, &sb) < 0)
		return vigil_err_set(err, -errno, "cannot stat state directory '%s': %s", dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return vigil_err_set(err, -ENOTDIR, "state directory '%s' is not a directory", dir);
	rc = vigil_statedir_check_stat(&sb, dir, "state directory", err);
	if (rc)
		return rc;
	if (!realpath(dir, real))
		return vigil_err_set(err, -errno, "cannot resolve state directory '%s': %s", dir, strerror(errno));
	/* Every directory above: whoever can rename one of them can swap the
	 * whole state dir for their own. */
	for (char *slash = strrchr(real, '/'); slash; slash = strrchr(real, '/')) {
		if (slash == real) {
			real[1] = '\0';
		} else {
			*slash = '\0';
		}
		if (stat(real, &sb) < 0)
			return vigil_err_set(err, -errno, "cannot stat '%s' (above the state directory '%s'): %s",
					     real, dir, strerror(errno));
		rc = check_stat(&sb, real, "directory above the state directory", 1, err);
		if (rc)
			return rc;
		if (slash == real)
			break;
	}
	return 0;
}

int vigil_statedir_read_small(const char *file, const char *what, size_t max, char **buf, size_t *len,
			      struct vigil_err *err)
{
	struct stat sb;
	char *b = NULL;
	size_t n = 0;
	int fd, rc = 0;

	fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vigil_err_set(err, -errno, "cannot open %s '%s': %s", what, file,
				     errno == ELOOP ? "is a symbolic link" : strerror(errno));
	if (fstat(fd, &sb) < 0) {
		rc = vigil_err_set(err, -errno, "cannot stat %s '%s': %s", what, file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = vigil_err_set(err, -EINVAL, "%s '%s' is not a regular file", what, file);
		goto out;
	}
	if ((uintmax_t)sb.st_size > max) {
		rc = vigil_err_set(err, -EFBIG, "%s '%s' is too large (%jd bytes, at most %zu expected)",
				   what, file, (intmax_t)sb.st_size, max);
		goto out;
	}
	b = malloc(max + 1);
	if (!b) {
		rc = vigil_err_set(err, -ENOMEM, "reading %s '%s': out of memory", what, file);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, b + n, max - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = vigil_err_set(err, -errno, "cannot read %s '%s': %s", what, file, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == max) {
			rc = vigil_err_set(err, -EFBIG, "%s '%s' is too large (at most %zu bytes expected)",
					   what, file, max);
			goto out;
		}
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
out:
	if (b) {
		explicit_bzero(b, max + 1);
		free(b);
	}
	close(fd);
	return rc;
}

char *vigil_statedir_next_line(char **p, char *end)
{
	char *s = *p, *nl;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = end;
	}
	if (nl && nl > s && nl[-1] == '\r')
		nl[-1] = '\0';
	return s;
}

int vigil_statedir_sync_dir(const char *file)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(file, '/');
	int fd, rc = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == file)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - file) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
	else
		return -ENAMETOOLONG;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int vigil_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int vigil_statedir_write_tmp(const char *file, const void *data, size_t len, mode_t mode, char *tmp,
			     size_t tmpsize, struct vigil_err *err)
{
	const unsigned char *p = data;
	int fd = -1, rc = 0;
	unsigned char rnd[6];
	char hex[13];

	gcry_create_nonce(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	if ((size_t)snprintf(tmp, tmpsize, "%s.tmp-%s", file, hex) >= tmpsize)
		return vigil_err_set(err, -ENAMETOOLONG, "path too long: '%s'", file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = vigil_err_set(err, -errno, "cannot create '%s': %s", tmp, strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	/* umask may have taken bits away; set exactly what was asked. */
	if (fchmod(fd, mode) < 0) {
		rc = vigil_err_set(err, -errno, "cannot chmod '%s': %s", tmp, strerror(errno));
		goto out;
	}
	if ((rc = vigil_write_all(fd, p, len))) {
		vigil_err_set(err, rc, "cannot write '%s': %s", tmp, strerror(-rc));
		goto out;
	}
	if (fsync(fd) < 0)
		rc = vigil_err_set(err, -errno, "cannot write '%s': %s", tmp, strerror(errno));
out:
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = vigil_err_set(err, -errno, "cannot write '%s': %s", tmp, strerror(errno));
	if (rc && tmp[0]) {
		unlink(tmp);
		tmp[0] = '\0';
	}
	return rc;
}

int vigil_statedir_replace(const char *file, const void *data, size_t len, mode_t mode,
			   struct vigil_err *err)
{
	char tmp[PATH_MAX];
	int rc = vigil_statedir_write_tmp(file, data, len, mode, tmp, sizeof(tmp), err);

	if (rc)
		return rc;
	if (rename(tmp, file) < 0) {
		rc = vigil_err_set(err, -errno, "cannot install '%s': %s", file, strerror(errno));
		unlink(tmp);
		return rc;
	}
	rc = vigil_statedir_sync_dir(file);
	if (rc)
		return vigil_err_set(err, rc, "cannot sync the directory of '%s': %s", file, strerror(-rc));
	return 0;
}
