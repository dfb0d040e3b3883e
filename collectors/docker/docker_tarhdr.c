/* docker_tarhdr.c - the tar headers of a layer's rebuilt stream, parsed as
 * the stream is fed (ustar, GNU long names, pax records with xattrs and
 * fractional mtimes).  Every header is untrusted: numbers are bounded, a
 * malformed one stops the parser with the reason (docker_tarp_error).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_priv.h"

/* Sizes beyond 2^40 bytes (1 TiB) in one layer file are absurd (as in tar-split). */
#define TS_SIZE_MAX (1ull << 40)


enum { TP_HDR, TP_DATA, TP_EXT, TP_PAD };

struct docker_tarp {
	docker_tar_cb cb;
	void *arg;
	unsigned char blk[512];
	size_t fill;
	int state;
	uint64_t left;       /* data bytes left in this entry */
	uint64_t pad;        /* padding after the data */
	char ext_type;       /* 'x', 'g', 'L', 'K' while collecting */
	unsigned char *ext;
	size_t ext_len, ext_cap;
	/* pending overrides for the next header */
	char *p_path, *p_link;
	int p_has_size, p_has_uid, p_has_gid, p_has_mtime;
	uint64_t p_size, p_uid, p_gid;
	int64_t p_mtime_s;
	int32_t p_mtime_ns;
	int p_has_ns;
	struct docker_tar_xattr *p_x;
	size_t p_nx;
	int zeros, ended;
	uint64_t last_size;
	char errmsg[256];
};

#define EXT_MAX (8u << 20)

struct docker_tarp *docker_tarp_new(docker_tar_cb cb, void *arg)
{
	struct docker_tarp *p = calloc(1, sizeof(*p));

	if (p) {
		p->cb = cb;
		p->arg = arg;
	}
	return p;
}

static void pending_clear(struct docker_tarp *p)
{
	free(p->p_path);
	free(p->p_link);
	p->p_path = p->p_link = NULL;
	for (size_t i = 0; i < p->p_nx; i++) {
		free(p->p_x[i].name);
		free(p->p_x[i].value);
	}
	free(p->p_x);
	p->p_x = NULL;
	p->p_nx = 0;
	p->p_has_size = p->p_has_uid = p->p_has_gid = p->p_has_mtime = p->p_has_ns = 0;
}

void docker_tarp_free(struct docker_tarp *p)
{
	if (!p)
		return;
	pending_clear(p);
	free(p->ext);
	free(p);
}

const char *docker_tarp_error(const struct docker_tarp *p)
{
	return p->errmsg[0] ? p->errmsg : "malformed tar header";
}

uint64_t docker_tarp_data_left(const struct docker_tarp *p)
{
	return p->state == TP_DATA ? p->left : 0;
}

int docker_tarp_ended(const struct docker_tarp *p)
{
	return p->ended;
}

static int tp_fail(struct docker_tarp *p, const char *why)
{
	snprintf(p->errmsg, sizeof(p->errmsg), "%s", why);
	return -EINVAL;
}

/* Octal with optional spaces/NULs, or GNU base-256 when the high bit is set. */
static int tp_num(const unsigned char *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (n && (f[0] & 0x80)) {
		if (f[0] & 0x40)
			return -EINVAL; /* negative */
		v = f[0] & 0x3f;
		for (i = 1; i < n; i++) {
			if (v >> 55)
				return -EINVAL;
			v = v << 8 | f[i];
		}
		*out = v;
		return 0;
	}
	while (i < n && (f[i] == ' ' || f[i] == '\0'))
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -EINVAL;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -EINVAL;
	*out = v;
	return 0;
}

static char *tp_str(const unsigned char *f, size_t n)
{
	size_t l = 0;
	char *s;

	while (l < n && f[l])
		l++;
	s = malloc(l + 1);
	if (s) {
		memcpy(s, f, l);
		s[l] = '\0';
	}
	return s;
}

/* A pax mtime, "[-]seconds[.fraction]", into the pending header. */
static void pax_mtime(struct docker_tarp *p, const char *val, size_t vlen)
{
	int64_t s = 0;
	int32_t ns = 0;
	size_t k = 0;
	int neg = 0, digits = 0;

	if (k < vlen && val[k] == '-')
		neg = 1, k++;
	for (; k < vlen && val[k] >= '0' && val[k] <= '9'; k++)
		if (s < INT64_MAX / 20)
			s = s * 10 + (val[k] - '0');
	if (k < vlen && val[k] == '.') {
		p->p_has_ns = 1;
		for (k++; k < vlen && val[k] >= '0' && val[k] <= '9'; k++)
			if (digits < 9)
				ns = ns * 10 + (val[k] - '0'), digits++;
		for (; digits < 9; digits++)
			ns *= 10;
	}
	p->p_mtime_s = neg ? -s : s;
	p->p_mtime_ns = ns;
	p->p_has_mtime = 1;
}

/* SCHILY.xattr.NAME=VALUE (value bytes as they are). */
static int pax_xattr(struct docker_tarp *p, const char *name, size_t nlen, const char *val, size_t vlen)
{
	struct docker_tar_xattr *x = realloc(p->p_x, (p->p_nx + 1) * sizeof(*x));

	if (!x)
		return -ENOMEM;
	p->p_x = x;
	x = &p->p_x[p->p_nx];
	x->name = malloc(nlen + 1);
	x->value = malloc(vlen ? vlen : 1);
	if (!x->name || !x->value) {
		free(x->name);
		free(x->value);
		return -ENOMEM;
	}
	memcpy(x->name, name, nlen);
	x->name[nlen] = '\0';
	memcpy(x->value, val, vlen);
	x->len = vlen;
	p->p_nx++;
	return 0;
}

/* One pax record KEY=VALUE: the keys a layer's headers use; others ignored. */
static int pax_record(struct docker_tarp *p, const char *rec, size_t klen, const char *val, size_t vlen)
{
#define KEY(k) (klen == sizeof(k) - 1 && !memcmp(rec, k, sizeof(k) - 1))
	if (KEY("path") || KEY("linkpath")) {
		char **dst = KEY("path") ? &p->p_path : &p->p_link, *s = malloc(vlen + 1);

		if (!s)
			return -ENOMEM;
		memcpy(s, val, vlen);
		s[vlen] = '\0';
		free(*dst);
		*dst = s;
	} else if (KEY("size") || KEY("uid") || KEY("gid")) {
		uint64_t v = 0;

		for (size_t k = 0; k < vlen; k++) {
			if (val[k] < '0' || val[k] > '9' || v >> 58)
				return tp_fail(p, "bad pax number");
			v = v * 10 + (uint64_t)(val[k] - '0');
		}
		if (KEY("size"))
			p->p_size = v, p->p_has_size = 1;
		else if (KEY("uid"))
			p->p_uid = v, p->p_has_uid = 1;
		else
			p->p_gid = v, p->p_has_gid = 1;
	} else if (KEY("mtime")) {
		pax_mtime(p, val, vlen);
	} else if (klen > 12 && !memcmp(rec, "SCHILY.xattr.", 13)) {
		return pax_xattr(p, rec + 13, klen - 13, val, vlen);
	}
#undef KEY
	return 0;
}

/* The pax extended header's records: "LEN KEY=VALUE\n" each. */
static int tp_pax(struct docker_tarp *p)
{
	size_t off = 0;

	while (off < p->ext_len) {
		size_t len = 0, i = off;
		const char *rec, *eq, *val;
		int rc;

		while (i < p->ext_len && p->ext[i] >= '0' && p->ext[i] <= '9' && len < EXT_MAX)
			len = len * 10 + (size_t)(p->ext[i++] - '0');
		if (i >= p->ext_len || p->ext[i] != ' ' || len <= i - off + 1 || off + len > p->ext_len ||
		    p->ext[off + len - 1] != '\n')
			return tp_fail(p, "bad pax record");
		rec = (const char *)p->ext + i + 1;
		eq = memchr(rec, '=', (size_t)((const char *)p->ext + off + len - 1 - rec));
		if (!eq)
			return tp_fail(p, "pax record without '='");
		val = eq + 1;
		rc = pax_record(p, rec, (size_t)(eq - rec), val, (size_t)((const char *)p->ext + off + len - 1 - val));
		if (rc)
			return rc;
		off += len;
	}
	return 0;
}

static int hdr_only_type(char t)
{
	return t == '1' || t == '2' || t == '3' || t == '4' || t == '5' || t == '6';
}

/* An extended header ('x', 'g', 'L', 'K'): its data is collected next. */
static int tp_ext_start(struct docker_tarp *p, char type, uint64_t size)
{
	if (size > EXT_MAX)
		return tp_fail(p, "extended tar header larger than 8 MiB");
	p->ext_type = size ? type : 0;
	p->ext_len = 0;
	p->left = size;
	p->pad = (512 - size % 512) % 512;
	p->state = size ? TP_EXT : TP_PAD;
	return 0;
}

/* The entry's name (pax path, ustar prefix/name, or name) and link name,
 * malloc'd; h->name points into *name past "./" and without trailing '/'. */
static int tp_names(struct docker_tarp *p, struct docker_tar_hdr *h, char **name, char **link)
{
	const unsigned char *b = p->blk;
	size_t nl;

	if (p->p_path) {
		*name = p->p_path;
		p->p_path = NULL;
	} else if (!memcmp(b + 257, "ustar", 5) && b[345]) {
		char *pre = tp_str(b + 345, 155), *nm = tp_str(b, 100);

		if (pre && nm && asprintf(name, "%s/%s", pre, nm) < 0)
			*name = NULL;
		free(pre);
		free(nm);
	} else {
		*name = tp_str(b, 100);
	}
	if (p->p_link) {
		*link = p->p_link;
		p->p_link = NULL;
	} else {
		*link = tp_str(b + 157, 100);
	}
	if (!*name || !*link)
		return -ENOMEM;
	nl = strlen(*name);
	while (nl && (*name)[nl - 1] == '/')
		(*name)[--nl] = '\0';
	h->name = *name;
	while (h->name[0] == '.' && h->name[1] == '/')
		h->name += 2;
	if (!strcmp(h->name, "."))
		h->name = *name + nl;
	h->linkname = *link;
	return 0;
}

/* Mode, owner, mtime, devices from the ustar fields, then the pending pax
 * records over them. */
static int tp_fields(struct docker_tarp *p, struct docker_tar_hdr *h, uint64_t size)
{
	const unsigned char *b = p->blk;
	uint64_t v;

	if (tp_num(b + 100, 8, &v))
		return tp_fail(p, "bad mode field in tar header");
	h->mode = (uint32_t)(v & 07777);
	if (tp_num(b + 108, 8, &h->uid) || tp_num(b + 116, 8, &h->gid) || tp_num(b + 136, 12, &v))
		return tp_fail(p, "bad uid, gid or mtime field in tar header");
	h->mtime_s = (int64_t)v;
	h->size = size;
	if (!tp_num(b + 329, 8, &v))
		h->devmajor = (uint32_t)v;
	if (!tp_num(b + 337, 8, &v))
		h->devminor = (uint32_t)v;
	if (p->p_has_size)
		h->size = p->p_size;
	if (p->p_has_uid)
		h->uid = p->p_uid;
	if (p->p_has_gid)
		h->gid = p->p_gid;
	if (p->p_has_mtime) {
		h->mtime_s = p->p_mtime_s;
		h->mtime_ns = p->p_mtime_ns;
		h->has_ns = p->p_has_ns;
	}
	h->xattrs = p->p_x;
	h->n_xattrs = p->p_nx;
	if (hdr_only_type(h->type))
		h->size = 0;
	if (h->size > TS_SIZE_MAX)
		return tp_fail(p, "absurd size in tar header");
	return 0;
}

static int tp_header(struct docker_tarp *p)
{
	const unsigned char *b = p->blk;
	uint64_t sum = 0, want, size;
	struct docker_tar_hdr h;
	char *name = NULL, *link = NULL;
	int rc;

	for (int i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : b[i];
	if (tp_num(b + 148, 8, &want) || sum != want)
		return tp_fail(p, "tar header checksum mismatch");
	if (tp_num(b + 124, 12, &size))
		return tp_fail(p, "bad size field in tar header");
	if (b[156] == 'x' || b[156] == 'g' || b[156] == 'L' || b[156] == 'K')
		return tp_ext_start(p, (char)b[156], size);
	memset(&h, 0, sizeof(h));
	h.type = b[156] ? (char)b[156] : '0';
	rc = tp_names(p, &h, &name, &link);
	if (!rc)
		rc = tp_fields(p, &h, size);
	if (rc)
		goto out;
	p->last_size = h.size;
	if (p->cb)
		p->cb(p->arg, &h);
	p->left = h.size;
	p->pad = (512 - h.size % 512) % 512;
	p->state = h.size ? TP_DATA : TP_PAD;
out:
	pending_clear(p);
	free(name);
	free(link);
	return rc;
}

static int tp_ext_done(struct docker_tarp *p)
{
	int rc = 0;

	if (p->ext_type == 'x') {
		rc = tp_pax(p);
	} else if (p->ext_type == 'L' || p->ext_type == 'K') {
		char *s = tp_str(p->ext, p->ext_len);

		if (!s)
			return -ENOMEM;
		if (p->ext_type == 'L') {
			free(p->p_path);
			p->p_path = s;
		} else {
			free(p->p_link);
			p->p_link = s;
		}
	}
	p->ext_type = 0;
	return rc;
}

int docker_tarp_feed(struct docker_tarp *p, const unsigned char *buf, size_t len)
{
	int rc;

	while (len) {
		size_t take;

		switch (p->state) {
		case TP_DATA:
			take = len < p->left ? len : (size_t)p->left;
			p->left -= take;
			buf += take;
			len -= take;
			if (!p->left)
				p->state = TP_PAD;
			break;
		case TP_EXT:
			take = len < p->left ? len : (size_t)p->left;
			if (p->ext_len + take > p->ext_cap) {
				size_t ncap = p->ext_len + take + 4096;
				unsigned char *n = realloc(p->ext, ncap);

				if (!n)
					return -ENOMEM;
				p->ext = n;
				p->ext_cap = ncap;
			}
			memcpy(p->ext + p->ext_len, buf, take);
			p->ext_len += take;
			p->left -= take;
			buf += take;
			len -= take;
			if (!p->left) {
				rc = tp_ext_done(p);
				if (rc)
					return rc;
				p->state = TP_PAD;
			}
			break;
		case TP_PAD:
			take = len < p->pad ? len : (size_t)p->pad;
			p->pad -= take;
			buf += take;
			len -= take;
			if (!p->pad)
				p->state = TP_HDR;
			break;
		default:
			if (p->ended) /* trailing zero records after the end blocks */
				return 0;
			take = 512 - p->fill < len ? 512 - p->fill : len;
			memcpy(p->blk + p->fill, buf, take);
			p->fill += take;
			buf += take;
			len -= take;
			if (p->fill < 512)
				break;
			p->fill = 0;
			{
				int zero = 1;

				for (int i = 0; i < 512 && zero; i++)
					zero = !p->blk[i];
				if (zero) {
					if (++p->zeros >= 2)
						p->ended = 1;
					break;
				}
			}
			if (p->zeros)
				return tp_fail(p, "tar header after a zero block");
			rc = tp_header(p);
			if (rc)
				return rc;
			break;
		}
	}
	return 0;
}
