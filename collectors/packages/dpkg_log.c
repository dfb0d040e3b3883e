/* dpkg_log.c - /var/log/dpkg.log and its rotations (.1, .2.gz, ...):
 * "2025-06-24 14:36:25 upgrade libudev1:amd64 252.36-1~deb12u1 252.38-1~deb12u1".
 * The wall clock dpkg wrote is local time of that machine; it is read as UTC
 * (an image's time zone is not known here), so compare with some slack. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "vigil/rootfs.h"

#include "dpkg_priv.h"

static int num(const char *s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*out = *out * 10 + (s[i] - '0');
	}
	return 0;
}

/* "YYYY-MM-DD HH:MM:SS" -> seconds since the epoch (as UTC). */
static int stamp(const char *s, size_t n, int64_t *t)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, se;

	if (n < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' ||
	    num(s, 4, &y) || num(s + 5, 2, &mo) || num(s + 8, 2, &d) || num(s + 11, 2, &h) ||
	    num(s + 14, 2, &mi) || num(s + 17, 2, &se) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t = (int64_t)timegm(&tm);
	return 0;
}

/* Splits at most max words of s (n bytes) in place into w[]; returns the count. */
static int words(char *s, size_t n, char **w, int max)
{
	int k = 0;
	size_t i = 0;

	while (i < n && k < max) {
		while (i < n && s[i] == ' ')
			s[i++] = '\0';
		if (i == n)
			break;
		w[k++] = s + i;
		while (i < n && s[i] != ' ')
			i++;
	}
	while (i < n && s[i] == ' ')
		s[i++] = '\0';
	return i < n ? max + 1 : k;
}

static int action_of(const char *w)
{
	if (!strcmp(w, "install"))
		return VIGIL_DPKG_LOG_INSTALL;
	if (!strcmp(w, "upgrade"))
		return VIGIL_DPKG_LOG_UPGRADE;
	if (!strcmp(w, "remove"))
		return VIGIL_DPKG_LOG_REMOVE;
	if (!strcmp(w, "purge"))
		return VIGIL_DPKG_LOG_PURGE;
	return 0;
}

int vigil_dpkg_log_parse(const char *buf, size_t len, const char *file, vigil_dpkg_log_cb cb, void *arg,
			 struct vigil_err *err)
{
	struct dpkg_lines l = { .buf = buf, .len = len, .file = file };
	const char *line;
	size_t n;
	int rc;

	while ((rc = dpkg_lines_next(&l, &line, &n, err)) > 0) {
		struct vigil_dpkg_logev ev = { .file = file };
		char copy[VIGIL_DPKG_MAX_LINE + 1], *w[5];
		int k;

		if (!n)
			continue;
		if (stamp(line, n, &ev.time))
			return dpkg_bad(err, &l, "expected 'YYYY-MM-DD HH:MM:SS action ...'");
		if (n == 19 || line[19] != ' ')
			return dpkg_bad(err, &l, "no action after the time");
		memcpy(copy, line + 20, n - 20);
		copy[n - 20] = '\0';
		k = words(copy, n - 20, w, 5);
		if (k < 1)
			return dpkg_bad(err, &l, "no action after the time");
		if (!(ev.action = action_of(w[0])))
			continue; /* status, configure, trigproc, startup, conffile */
		if (k != 4)
			return dpkg_bad(err, &l, "'%s' needs 'package old-version new-version'", w[0]);
		ev.pkg = w[1];
		ev.old_ver = strcmp(w[2], "<none>") ? w[2] : NULL;
		ev.new_ver = strcmp(w[3], "<none>") ? w[3] : NULL;
		ev.line = l.lineno;
		if ((rc = cb(arg, &ev)))
			return rc;
	}
	return rc;
}

int vigil_dpkg_gunzip(const unsigned char *in, size_t len, size_t max, char **out, size_t *outlen)
{
	z_stream z;
	size_t cap = len * 4 + 4096, got = 0;
	char *b = NULL;
	int zr = Z_OK, rc = 0;

	*out = NULL;
	*outlen = 0;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 32) != Z_OK) /* gzip or zlib header */
		return -ENOMEM;
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
	while (zr != Z_STREAM_END) {
		if (got == cap || !b) {
			char *t;

			if (b)
				cap *= 2;
			if (cap > max + 1)
				cap = max + 1;
			if (b && got == cap) {
				rc = -EFBIG;
				goto out;
			}
			if (!(t = realloc(b, cap + 1))) {
				rc = -ENOMEM;
				goto out;
			}
			b = t;
		}
		z.next_out = (unsigned char *)b + got;
		z.avail_out = (uInt)(cap - got);
		zr = inflate(&z, Z_NO_FLUSH);
		got = cap - z.avail_out;
		if (zr == Z_BUF_ERROR && z.avail_out) {
			rc = -EBADMSG; /* input ends before the stream does: truncated */
			goto out;
		}
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			rc = zr == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
			goto out;
		}
	}
	if (got > max) {
		rc = -EFBIG;
		goto out;
	}
	b[got] = '\0';
	*out = b;
	*outlen = got;
	b = NULL;
out:
	inflateEnd(&z);
	free(b);
	return rc;
}

struct logs {
	char **names;
	size_t n;
	int rc;
};

static int add_log(void *arg, const char *path)
{
	struct logs *ls = arg;
	char **t = realloc(ls->names, (ls->n + 1) * sizeof(*t));

	if (!t || !(t[ls->n] = strdup(path))) {
		if (t)
			ls->names = t;
		return -ENOMEM;
	}
	ls->names = t;
	ls->n++;
	return 0;
}

/* "dpkg.log.12.gz" -> 12, "dpkg.log" -> 0: rotations are older the higher. */
static long rotation(const char *path)
{
	const char *p = strrchr(path, '/');

	p = p ? p + 1 : path;
	return strlen(p) > 9 ? strtol(p + 9, NULL, 10) : 0;
}

static int by_age(const void *a, const void *b)
{
	long x = rotation(*(char *const *)a), y = rotation(*(char *const *)b);

	return x < y ? 1 : x > y ? -1 : 0;
}

int vigil_dpkg_log_read(int rootfd, vigil_dpkg_log_cb cb, void *arg, struct vigil_err *err)
{
	struct logs ls = { 0 };
	int rc;

	rc = vigil_rootfs_glob(rootfd, VIGIL_DPKG_LOG "*", add_log, &ls);
	if (rc == -ENOENT)
		rc = 0;
	if (rc) {
		vigil_err_set(err, rc, "cannot list %s*: %s", VIGIL_DPKG_LOG, strerror(-rc));
		goto out;
	}
	qsort(ls.names, ls.n, sizeof(*ls.names), by_age);
	for (size_t i = 0; i < ls.n && !rc; i++) {
		const char *name = ls.names[i];
		size_t nl = strlen(name), len;
		char *buf = NULL, *text = NULL;

		if (nl < 9 || (strcmp(name, VIGIL_DPKG_LOG) && (rotation(name) <= 0)))
			continue; /* dpkg.log.old, dpkg.log-2025...: not dpkg's own rotation */
		rc = vigil_rootfs_read(rootfd, name, VIGIL_DPKG_MAX_FILE, &buf, &len);
		if (rc == -ENOENT || rc == -EINVAL) { /* gone, or not a regular file */
			rc = 0;
			continue;
		}
		if (rc < 0) {
			vigil_err_set(err, rc, "cannot read %s: %s", name, strerror(-rc));
			break;
		}
		if (nl > 3 && !strcmp(name + nl - 3, ".gz")) {
			rc = vigil_dpkg_gunzip((unsigned char *)buf, len, VIGIL_DPKG_MAX_FILE, &text, &len);
			free(buf);
			buf = text;
			if (rc) {
				vigil_err_set(err, rc, "%s: %s", name,
					      rc == -EBADMSG ? "not gzip, or truncated" : strerror(-rc));
				break;
			}
		}
		rc = vigil_dpkg_log_parse(buf, len, name, cb, arg, err);
		free(buf);
	}
out:
	for (size_t i = 0; i < ls.n; i++)
		free(ls.names[i]);
	free(ls.names);
	return rc;
}
