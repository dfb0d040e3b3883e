/* record.c - one path's attributes: copying, diffing, display, canonical encoding. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "vigil/record.h"

void vigil_record_init(struct vigil_record *r)
{
	memset(r, 0, sizeof(*r));
}

void vigil_record_clear(struct vigil_record *r)
{
	if (!r)
		return;
	free(r->path);
	free(r->target);
	free(r->xattrs);
	vigil_record_init(r);
}

static int dup_bytes(char **dst, size_t *dst_len, const void *src, size_t len)
{
	char *p = NULL;

	if (src) {
		p = malloc(len + 1);
		if (!p)
			return -ENOMEM;
		memcpy(p, src, len);
		p[len] = '\0';
	}
	free(*dst);
	*dst = p;
	*dst_len = src ? len : 0;
	return 0;
}

int vigil_record_set_path(struct vigil_record *r, const char *path, size_t len)
{
	return dup_bytes(&r->path, &r->path_len, path, len);
}

int vigil_record_set_target(struct vigil_record *r, const char *t, size_t len)
{
	return dup_bytes(&r->target, &r->target_len, t, len);
}

int vigil_record_set_xattrs(struct vigil_record *r, const unsigned char *x, size_t len)
{
	return dup_bytes((char **)&r->xattrs, &r->xattrs_len, len ? x : NULL, len);
}

int vigil_record_copy(struct vigil_record *dst, const struct vigil_record *src)
{
	struct vigil_record tmp = *src;

	tmp.path = NULL;
	tmp.target = NULL;
	tmp.xattrs = NULL;
	if (vigil_record_set_path(&tmp, src->path, src->path_len) ||
	    vigil_record_set_target(&tmp, src->target, src->target_len) ||
	    vigil_record_set_xattrs(&tmp, src->xattrs, src->xattrs_len)) {
		vigil_record_clear(&tmp);
		return -ENOMEM;
	}
	*dst = tmp;
	return 0;
}

int vigil_ftype_from_mode(unsigned m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return VIGIL_FT_REG;
	case S_IFDIR: return VIGIL_FT_DIR;
	case S_IFLNK: return VIGIL_FT_LNK;
	case S_IFCHR: return VIGIL_FT_CHR;
	case S_IFBLK: return VIGIL_FT_BLK;
	case S_IFIFO: return VIGIL_FT_FIFO;
	case S_IFSOCK: return VIGIL_FT_SOCK;
	default: return VIGIL_FT_NONE;
	}
}

const char *vigil_ftype_name(int t)
{
	static const char *const names[] = {
		[VIGIL_FT_NONE] = "none", [VIGIL_FT_REG] = "file", [VIGIL_FT_DIR] = "dir",
		[VIGIL_FT_LNK] = "symlink", [VIGIL_FT_CHR] = "char", [VIGIL_FT_BLK] = "block",
		[VIGIL_FT_FIFO] = "fifo", [VIGIL_FT_SOCK] = "socket",
	};
	return t >= 0 && t <= VIGIL_FT_SOCK ? names[t] : "unknown";
}

static const char *const attr_names[VIGIL_ATTR_COUNT] = {
	"type", "mode", "uid", "gid", "size", "mtime", "ctime", "inode",
	"dev", "nlink", "target", "xattrs", "flags", "hash",
};

const char *vigil_attr_name(unsigned attr)
{
	for (int i = 0; i < VIGIL_ATTR_COUNT; i++)
		if (attr == 1u << i)
			return attr_names[i];
	return "?";
}

unsigned vigil_attr_from_name(const char *name)
{
	for (int i = 0; i < VIGIL_ATTR_COUNT; i++)
		if (!strcmp(name, attr_names[i]))
			return 1u << i;
	if (!strcmp(name, "inode") || !strcmp(name, "ino"))
		return VIGIL_ATTR_INODE;
	return 0;
}

static int bytes_eq(const void *a, size_t al, const void *b, size_t bl)
{
	return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

unsigned vigil_record_diff(const struct vigil_record *a, const struct vigil_record *b, unsigned mask)
{
	unsigned d = 0;

	if (a->ftype != b->ftype)
		d |= VIGIL_ATTR_TYPE;
	if (a->mode != b->mode)
		d |= VIGIL_ATTR_MODE;
	if (a->uid != b->uid)
		d |= VIGIL_ATTR_UID;
	if (a->gid != b->gid)
		d |= VIGIL_ATTR_GID;
	/* Directory sizes follow their entry count; compare them only for files and links. */
	if (a->size != b->size && a->ftype != VIGIL_FT_DIR)
		d |= VIGIL_ATTR_SIZE;
	if (a->mtime_ns != b->mtime_ns)
		d |= VIGIL_ATTR_MTIME;
	if (a->ctime_ns != b->ctime_ns)
		d |= VIGIL_ATTR_CTIME;
	if (a->ino != b->ino)
		d |= VIGIL_ATTR_INODE;
	if (a->dev != b->dev || a->rdev != b->rdev)
		d |= VIGIL_ATTR_DEV;
	if (a->nlink != b->nlink && a->ftype != VIGIL_FT_DIR)
		d |= VIGIL_ATTR_NLINK;
	if (!bytes_eq(a->target, a->target_len, b->target, b->target_len))
		d |= VIGIL_ATTR_TARGET;
	if (!(a->status & VIGIL_REC_XATTR_ERR) && !(b->status & VIGIL_REC_XATTR_ERR) &&
	    !bytes_eq(a->xattrs, a->xattrs_len, b->xattrs, b->xattrs_len))
		d |= VIGIL_ATTR_XATTRS;
	if (a->has_flags && b->has_flags && a->flags != b->flags)
		d |= VIGIL_ATTR_FLAGS;
	/* A digest that could not be taken (unreadable now or then) is not a content change;
	 * the caller reports the read error itself. */
	if (a->ftype == VIGIL_FT_REG && b->ftype == VIGIL_FT_REG) {
		unsigned both = a->algos & b->algos;

		for (int i = 0; i < VIGIL_ALGO_COUNT; i++)
			if ((both & VIGIL_ALGO_BIT(i)) &&
			    memcmp(a->digest[i], b->digest[i], vigil_algo_len(i))) {
				d |= VIGIL_ATTR_HASH;
				break;
			}
	}
	return d & mask;
}

static size_t put(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static size_t put(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (size == 0)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n < size ? (size_t)n : size - 1;
}

static size_t put_time(char *buf, size_t size, int64_t ns)
{
	time_t s = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;
	char t[32];

	if (frac < 0) {
		frac += 1000000000;
		s--;
	}
	if (!gmtime_r(&s, &tm) || !strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm))
		return put(buf, size, "%" PRId64 "ns", ns);
	return put(buf, size, "%s.%09ldZ", t, frac);
}

/* Escapes arbitrary bytes into buf for display; returns length. */
static size_t put_escaped(char *buf, size_t size, const char *s, size_t len)
{
	char *e = vigil_path_escape(s, len);
	size_t n;

	if (!e)
		return put(buf, size, "?");
	n = put(buf, size, "%s", e);
	free(e);
	return n;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t put_xattrs(char *buf, size_t size, const struct vigil_record *r)
{
	size_t off = 0, n = 0;

	if (r->status & VIGIL_REC_XATTR_ERR)
		return put(buf, size, "(unreadable)");
	if (!r->xattrs_len)
		return put(buf, size, "(none)");
	buf[0] = '\0';
	while (off + 4 <= r->xattrs_len && n + 1 < size) {
		uint32_t nl = le32(r->xattrs + off), vl;

		if (off + 4 + nl + 4 > r->xattrs_len)
			break;
		vl = le32(r->xattrs + off + 4 + nl);
		if (off + 8 + (size_t)nl + vl > r->xattrs_len)
			break;
		if (off)
			n += put(buf + n, size - n, ",");
		n += put_escaped(buf + n, size - n, (const char *)r->xattrs + off + 4, nl);
		n += put(buf + n, size - n, "=");
		if (vl <= 32 && vigil_utf8_valid((const char *)r->xattrs + off + 8 + nl, vl)) {
			n += put_escaped(buf + n, size - n, (const char *)r->xattrs + off + 8 + nl, vl);
		} else {
			/* binary values (capabilities, ACLs): a short digest keeps lines readable */
			unsigned char h[32];
			char hex[17];

			vigil_sha256(r->xattrs + off + 8 + nl, vl, h);
			vigil_hex(h, 8, hex);
			n += put(buf + n, size - n, "[%u bytes sha256:%s]", vl, hex);
		}
		off += 8 + (size_t)nl + vl;
	}
	return n;
}

size_t vigil_record_attr_str(const struct vigil_record *r, unsigned attr, char *buf, size_t size)
{
	if (!size)
		return 0;
	switch (attr) {
	case VIGIL_ATTR_TYPE: return put(buf, size, "%s", vigil_ftype_name(r->ftype));
	case VIGIL_ATTR_MODE: return put(buf, size, "%04o", r->mode & 07777);
	case VIGIL_ATTR_UID: return put(buf, size, "%" PRIu32, r->uid);
	case VIGIL_ATTR_GID: return put(buf, size, "%" PRIu32, r->gid);
	case VIGIL_ATTR_SIZE: return put(buf, size, "%" PRIu64, r->size);
	case VIGIL_ATTR_MTIME: return put_time(buf, size, r->mtime_ns);
	case VIGIL_ATTR_CTIME: return put_time(buf, size, r->ctime_ns);
	case VIGIL_ATTR_INODE: return put(buf, size, "%" PRIu64, r->ino);
	case VIGIL_ATTR_DEV:
		return put(buf, size, "%" PRIu64 ",rdev=%" PRIu64, r->dev, r->rdev);
	case VIGIL_ATTR_NLINK: return put(buf, size, "%" PRIu64, r->nlink);
	case VIGIL_ATTR_TARGET:
		if (!r->target)
			return put(buf, size, "(none)");
		return put_escaped(buf, size, r->target, r->target_len);
	case VIGIL_ATTR_XATTRS: return put_xattrs(buf, size, r);
	case VIGIL_ATTR_FLAGS:
		if (!r->has_flags)
			return put(buf, size, "(none)");
		return put(buf, size, "0x%08" PRIx32, r->flags);
	case VIGIL_ATTR_HASH:
		for (int i = 0; i < VIGIL_ALGO_COUNT; i++) {
			char hex[2 * VIGIL_DIGEST_MAX + 1];

			if (!(r->algos & VIGIL_ALGO_BIT(i)))
				continue;
			vigil_hex(r->digest[i], vigil_algo_len(i), hex);
			return put(buf, size, "%s:%s", vigil_algo_name(i), hex);
		}
		return put(buf, size, "(none)");
	default:
		return put(buf, size, "?");
	}
}

/* --- canonical encoding --------------------------------------------------- */

struct enc {
	unsigned char *buf;
	size_t len, cap;
	int oom;
};

static void enc_raw(struct enc *e, const void *p, size_t n)
{
	if (e->oom)
		return;
	if (e->len + n > e->cap) {
		size_t cap = e->cap ? e->cap : 256;
		unsigned char *nb;

		while (cap < e->len + n)
			cap *= 2;
		nb = realloc(e->buf, cap);
		if (!nb) {
			e->oom = 1;
			return;
		}
		e->buf = nb;
		e->cap = cap;
	}
	if (n)
		memcpy(e->buf + e->len, p, n);
	e->len += n;
}

static void enc_u64(struct enc *e, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	enc_raw(e, b, 8);
}

static void enc_bytes(struct enc *e, const void *p, size_t n, int present)
{
	enc_u64(e, present ? (uint64_t)n : UINT64_MAX);
	if (present)
		enc_raw(e, p, n);
}

unsigned char *vigil_record_encode(const struct vigil_record *r, size_t *len)
{
	struct enc e = { 0 };

	enc_raw(&e, "R1", 2);
	enc_bytes(&e, r->path, r->path_len, 1);
	enc_u64(&e, (uint64_t)r->ftype);
	enc_u64(&e, r->mode);
	enc_u64(&e, r->uid);
	enc_u64(&e, r->gid);
	enc_u64(&e, r->size);
	enc_u64(&e, (uint64_t)r->mtime_ns);
	enc_u64(&e, (uint64_t)r->ctime_ns);
	enc_u64(&e, r->ino);
	enc_u64(&e, r->dev);
	enc_u64(&e, r->rdev);
	enc_u64(&e, r->nlink);
	enc_bytes(&e, r->target, r->target_len, r->target != NULL);
	enc_bytes(&e, r->xattrs, r->xattrs_len, 1);
	enc_u64(&e, r->flags);
	enc_u64(&e, (uint64_t)r->has_flags);
	enc_u64(&e, r->algos);
	for (int i = 0; i < VIGIL_ALGO_COUNT; i++)
		if (r->algos & VIGIL_ALGO_BIT(i))
			enc_raw(&e, r->digest[i], vigil_algo_len(i));
	enc_u64(&e, r->status);
	enc_u64(&e, (uint64_t)(int64_t)r->err);
	enc_bytes(&e, r->scope, strnlen(r->scope, sizeof(r->scope)), 1);
	if (e.oom) {
		free(e.buf);
		return NULL;
	}
	*len = e.len;
	return e.buf;
}

/* --- path escaping -------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid.
 * Rejects overlongs, surrogates and code points above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return c ? 1 : 0;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0;
		if (c == 0xed && s[1] >= 0xa0)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0;
		if (c == 0xf4 && s[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

int vigil_utf8_valid(const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0;

	while (i < len) {
		size_t k = utf8_seq(s + i, len - i);

		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

char *vigil_path_escape(const char *path, size_t len)
{
	const unsigned char *s = (const unsigned char *)path;
	char *out = malloc(len * 4 + 1), *o = out;
	size_t i = 0;

	if (!out)
		return NULL;
	while (i < len) {
		size_t k = utf8_seq(s + i, len - i);

		if (k && s[i] == '\\') {
			*o++ = '\\';
			*o++ = '\\';
			i++;
		} else if (k && s[i] >= 0x20 && s[i] != 0x7f) {
			memcpy(o, s + i, k);
			o += k;
			i += k;
		} else {
			/* control characters (newline in a name) and invalid bytes */
			o += sprintf(o, "\\x%02x", s[i]);
			i++;
		}
	}
	*o = '\0';
	return out;
}
