/* bodyfile.c - Sleuth Kit bodyfile 3.x lines (mactime -b, plaso).
 *
 * MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime
 * Times are seconds with nine decimals: mactime keeps the integer part
 * (sprintf "%.10d"), plaso the fraction.  mactime splits on every '|' and
 * then decodes %XX in each field, so names are escaped that way (a "\|"
 * would shift its columns): '|', '%', control bytes and bytes that are not
 * UTF-8 become %XX, losslessly.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vigil/capture.h"

void vigil_bodyfile_mode(mode_t mode, char out[13])
{
	static const char rwx[] = "rwxrwxrwx";
	char t = '-';

	switch (mode & S_IFMT) {
	case S_IFREG: t = 'r'; break;
	case S_IFDIR: t = 'd'; break;
	case S_IFLNK: t = 'l'; break;
	case S_IFCHR: t = 'c'; break;
	case S_IFBLK: t = 'b'; break;
	case S_IFIFO: t = 'p'; break;
	case S_IFSOCK: t = 'h'; break;
	}
	out[0] = t;
	out[1] = '/';
	out[2] = t;
	for (int i = 0; i < 9; i++)
		out[3 + i] = (mode & (0400u >> i)) ? rwx[i] : '-';
	if (mode & S_ISUID)
		out[5] = (mode & 0100) ? 's' : 'S';
	if (mode & S_ISGID)
		out[8] = (mode & 0010) ? 's' : 'S';
	if (mode & S_ISVTX)
		out[11] = (mode & 0001) ? 't' : 'T';
	out[12] = '\0';
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) { len = 2; cp = s[0] & 0x1f; }
	else if ((s[0] & 0xf0) == 0xe0) { len = 3; cp = s[0] & 0x0f; }
	else if ((s[0] & 0xf8) == 0xf0) { len = 4; cp = s[0] & 0x07; }
	else return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len < o->size) {
		size_t room = o->size - o->len - 1;

		memcpy(o->buf + o->len, s, n < room ? n : room);
		o->buf[o->len + (n < room ? n : room)] = '\0';
	}
	o->len += n;
}

static void put_name(struct out *o, const unsigned char *s, size_t n)
{
	char esc[4];

	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(s + i, n - i);

		if (k == 1 && s[i] >= 0x20 && s[i] != 0x7f && s[i] != '|' && s[i] != '%') {
			put(o, (const char *)s + i, 1);
		} else if (k > 1) {
			put(o, (const char *)s + i, k);
		} else {
			snprintf(esc, sizeof(esc), "%%%02X", s[i]);
			put(o, esc, 3);
			k = 1;
		}
		i += k;
	}
}

size_t vigil_bodyfile_line(char *buf, size_t size, const char *name, size_t name_len, const struct stat *st,
			   int deleted)
{
	struct out o = { buf, size, 0 };
	char mode[13], tail[512];

	if (size)
		buf[0] = '\0';
	put(&o, "0|", 2);
	put_name(&o, (const unsigned char *)name, name_len);
	if (deleted)
		put(&o, " (deleted)", 10);
	vigil_bodyfile_mode(st->st_mode, mode);
	snprintf(tail, sizeof(tail),
		 "|%" PRIu64 "|%s|%u|%u|%" PRIu64 "|%lld.%09ld|%lld.%09ld|%lld.%09ld|0\n", (uint64_t)st->st_ino,
		 mode, (unsigned)st->st_uid, (unsigned)st->st_gid, (uint64_t)st->st_size,
		 (long long)st->st_atim.tv_sec, st->st_atim.tv_nsec, (long long)st->st_mtim.tv_sec,
		 st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
	put(&o, tail, strlen(tail));
	return o.len;
}
