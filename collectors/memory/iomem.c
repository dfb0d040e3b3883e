/* iomem.c - /proc/iomem's top-level "System RAM" ranges: what a memory dump
 * must hold.  Nested lines (indented: "Kernel code", "Kernel data") are parts
 * of a range, not ranges.  As non-root the kernel prints every address as 0,
 * which would make an empty plan: that is refused with the reason. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/kcore.h"

#define IOMEM_MAX (1u << 20)

static int parse_hex(const char **pp, const char *end, uint64_t *v)
{
	const char *p = *pp;
	uint64_t x = 0;
	int digits = 0;

	for (; p < end; p++, digits++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 :
			*p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;

		if (d < 0)
			break;
		if (digits == 16)
			return -1;
		x = x << 4 | (unsigned)d;
	}
	if (!digits)
		return -1;
	*pp = p;
	*v = x;
	return 0;
}

/* One line "START-END : NAME"; 1 when it is a top-level System RAM line. */
static int parse_line(const char *p, const char *end, struct vigil_lime_range *r)
{
	static const char name[] = " : System RAM";

	if (p == end || *p == ' ')
		return 0;
	if (parse_hex(&p, end, &r->start) || p == end || *p++ != '-' || parse_hex(&p, end, &r->end))
		return -1;
	if ((size_t)(end - p) != sizeof(name) - 1 || memcmp(p, name, sizeof(name) - 1))
		return 0;
	return r->end < r->start ? -1 : 1;
}

int vigil_iomem_parse(const char *text, size_t len, struct vigil_lime_range **ranges, size_t *n,
		      struct vigil_err *err)
{
	struct vigil_lime_range *out = NULL, r;
	const char *p = text, *end = text + len;
	size_t count = 0, line = 0;
	int nonzero = 0, rc = 0;

	*ranges = NULL;
	*n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		int k;

		line++;
		k = parse_line(p, le, &r);
		p = nl ? nl + 1 : end;
		if (k < 0) {
			rc = vigil_err_set(err, -EINVAL, "iomem line %zu: not START-END : NAME", line);
			goto out;
		}
		if (!k)
			continue;
		if (r.start || r.end)
			nonzero = 1;
		if (count && nonzero && r.start <= out[count - 1].end) {
			rc = vigil_err_set(err, -EINVAL, "iomem line %zu: System RAM 0x%" PRIx64
					   " overlaps or precedes 0x%" PRIx64 "-0x%" PRIx64, line, r.start,
					   out[count - 1].start, out[count - 1].end);
			goto out;
		}
		if (count == VIGIL_LIME_MAX_RANGES) {
			rc = vigil_err_set(err, -E2BIG, "iomem: more than %d System RAM ranges", VIGIL_LIME_MAX_RANGES);
			goto out;
		}
		if (!(count & (count - 1))) {
			struct vigil_lime_range *g = realloc(out, (count ? 2 * count : 1) * sizeof(*g));

			if (!g) {
				rc = vigil_err_set(err, -ENOMEM, "iomem: out of memory");
				goto out;
			}
			out = g;
		}
		out[count++] = r;
	}
	if (count && !nonzero) {
		rc = vigil_err_set(err, -EPERM, "iomem: every System RAM address reads as 0: the kernel "
				   "shows them to root only (CAP_SYS_ADMIN)");
		goto out;
	}
	if (!count)
		rc = vigil_err_set(err, -ENOENT, "iomem: no System RAM range");
out:
	if (rc) {
		free(out);
		return rc;
	}
	*ranges = out;
	*n = count;
	return 0;
}

int vigil_iomem_read(const char *path, struct vigil_lime_range **ranges, size_t *n, struct vigil_err *err)
{
	char *buf = malloc(IOMEM_MAX);
	size_t have = 0;
	int fd, rc;

	*ranges = NULL;
	*n = 0;
	if (!buf)
		return vigil_err_set(err, -ENOMEM, "iomem: out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = -errno;
		free(buf);
		return vigil_err_set(err, rc, "open %s: %s", path, strerror(-rc));
	}
	/* procfs files come in pieces: read until EOF */
	for (;;) {
		ssize_t k = read(fd, buf + have, IOMEM_MAX - have);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = vigil_err_set(err, -errno, "read %s: %s", path, strerror(errno));
			goto out;
		}
		if (k == 0)
			break;
		have += (size_t)k;
		if (have == IOMEM_MAX) {
			rc = vigil_err_set(err, -EFBIG, "%s: larger than %u bytes", path, IOMEM_MAX);
			goto out;
		}
	}
	rc = vigil_iomem_parse(buf, have, ranges, n, err);
	if (rc)
		vigil_err_prefix(err, rc, "%s", path);
out:
	close(fd);
	free(buf);
	return rc;
}

void vigil_iomem_limit(struct vigil_lime_range *ranges, size_t *n, uint64_t max_bytes)
{
	uint64_t left = max_bytes;

	if (!max_bytes)
		return;
	for (size_t i = 0; i < *n; i++) {
		uint64_t len = ranges[i].end - ranges[i].start + 1;

		if (!left) {
			*n = i;
			return;
		}
		if (len > left || len == 0 /* 2^64 */) {
			ranges[i].end = ranges[i].start + left - 1;
			*n = i + 1;
			return;
		}
		left -= len;
	}
}
