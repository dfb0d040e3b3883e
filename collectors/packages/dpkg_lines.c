/* dpkg_lines.c - the line reader under every dpkg parser (see dpkg_priv.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dpkg_priv.h"

int dpkg_bad(struct vigil_err *err, const struct dpkg_lines *l, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vigil_err_set(err, -EBADMSG, "%s:%u: %s", l->file, l->lineno, msg);
}

int dpkg_lines_next(struct dpkg_lines *l, const char **line, size_t *n, struct vigil_err *err)
{
	const char *p, *nl;
	size_t left;

	if (l->pos >= l->len)
		return 0;
	p = l->buf + l->pos;
	left = l->len - l->pos;
	nl = memchr(p, '\n', left);
	*n = nl ? (size_t)(nl - p) : left;
	l->lineno++;
	l->pos += *n + (nl != NULL);
	*line = p;
	if (*n > VIGIL_DPKG_MAX_LINE)
		return dpkg_bad(err, l, "line longer than %u bytes", VIGIL_DPKG_MAX_LINE);
	if (memchr(p, '\0', *n))
		return dpkg_bad(err, l, "NUL byte in line");
	return 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int dpkg_md5_parse(const char *s, size_t n, unsigned char md5[16])
{
	if (n != 32)
		return -EINVAL;
	for (size_t i = 0; i < 16; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		md5[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}
