/* lime_out.c - the output pipe of every acquisition method: each byte of the
 * LiME stream goes to the caller's sink, into SHA-256 and through the
 * validator in one pass, so the digest and the verdict cost no second read.
 * The sink is a plain callback: a file descriptor now, an archive member
 * writer when the evidence archive exists. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/crypto.h"
#include "vigil/lime.h"

struct vigil_lime_out {
	vigil_lime_sink_fn sink;
	void *ctx;
	struct vigil_digest *d;
	struct vigil_lime_check *check;
	uint64_t remain; /* body bytes owed to the current range */
	uint64_t bytes;
	int failed;
};

struct vigil_lime_out *vigil_lime_out_new(vigil_lime_sink_fn sink, void *ctx)
{
	struct vigil_lime_out *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->sink = sink;
	o->ctx = ctx;
	o->d = vigil_digest_new(VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256));
	o->check = vigil_lime_check_new();
	if (!o->d || !o->check) {
		vigil_lime_out_free(o);
		return NULL;
	}
	return o;
}

void vigil_lime_out_free(struct vigil_lime_out *o)
{
	if (!o)
		return;
	vigil_digest_free(o->d);
	vigil_lime_check_free(o->check);
	free(o);
}

struct vigil_lime_check *vigil_lime_out_check(struct vigil_lime_out *o)
{
	return o->check;
}

uint64_t vigil_lime_out_bytes(const struct vigil_lime_out *o)
{
	return o->bytes;
}

static int emit(struct vigil_lime_out *o, const void *buf, size_t len, struct vigil_err *err)
{
	int rc;

	if (o->failed)
		return vigil_err_set(err, -EIO, "lime output: an earlier write failed");
	rc = o->sink(o->ctx, buf, len, err);
	if (rc) {
		o->failed = 1;
		return rc;
	}
	vigil_digest_write(o->d, buf, len);
	vigil_lime_check_feed(o->check, buf, len); /* the verdict is read at finish */
	o->bytes += len;
	return 0;
}

int vigil_lime_out_range(struct vigil_lime_out *o, uint64_t start, uint64_t end, struct vigil_err *err)
{
	unsigned char hdr[VIGIL_LIME_HDR_SIZE];

	if (o->remain)
		return vigil_err_set(err, -EPROTO, "lime output: range started with %" PRIu64
				     " bytes of the previous one unwritten", o->remain);
	if (end < start || (start == 0 && end == UINT64_MAX))
		return vigil_err_set(err, -EINVAL, "lime output: bad range 0x%" PRIx64 "-0x%" PRIx64, start, end);
	vigil_lime_header_encode(hdr, start, end);
	o->remain = end - start + 1;
	return emit(o, hdr, sizeof(hdr), err);
}

int vigil_lime_out_write(struct vigil_lime_out *o, const void *buf, size_t len, struct vigil_err *err)
{
	if (len > o->remain)
		return vigil_err_set(err, -EPROTO, "lime output: %zu bytes for a range with %" PRIu64 " left",
				     len, o->remain);
	o->remain -= len;
	return emit(o, buf, len, err);
}

int vigil_lime_out_raw(struct vigil_lime_out *o, const void *buf, size_t len, struct vigil_err *err)
{
	return emit(o, buf, len, err);
}

int vigil_lime_out_finish(struct vigil_lime_out *o, char sha256_hex[65], struct vigil_err *err)
{
	unsigned char md[32];

	vigil_digest_read(o->d, VIGIL_ALGO_SHA256, md);
	vigil_hex(md, sizeof(md), sha256_hex);
	if (o->failed)
		return vigil_err_set(err, -EIO, "lime output: a write failed");
	if (o->remain)
		return vigil_err_set(err, -EPROTO, "lime output: the last range is %" PRIu64 " bytes short",
				     o->remain);
	return vigil_lime_check_finish(o->check, err);
}

int vigil_lime_sink_fd(void *fdp, const void *buf, size_t len, struct vigil_err *err)
{
	int fd = *(int *)fdp;
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			return vigil_err_set(err, -e, "write: %s", strerror(e));
		}
		if (n == 0)
			return vigil_err_set(err, -EIO, "write: no progress");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
