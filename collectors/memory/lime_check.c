/* lime_check.c - the LiME format: range headers and a streaming validator.
 *
 * The validator is a small state machine (header bytes, then body bytes)
 * that keeps a 32-byte header buffer, the ranges seen (bounded) and the runs
 * of zero pages (bounded, counted past the bound), so it checks a dump of any
 * size in bounded memory and in pieces of any size: as the bytes are written,
 * or read back from disk afterwards. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/lime.h"

static const char *const status_names[VIGIL_LIME_STATUS_COUNT] = {
	[VIGIL_LIME_OK] = "ok",
	[VIGIL_LIME_BAD_MAGIC] = "bad-magic",
	[VIGIL_LIME_BAD_VERSION] = "bad-version",
	[VIGIL_LIME_BAD_RESERVED] = "bad-reserved",
	[VIGIL_LIME_END_BEFORE_START] = "end-before-start",
	[VIGIL_LIME_LENGTH_OVERFLOW] = "length-overflow",
	[VIGIL_LIME_UNORDERED] = "unordered",
	[VIGIL_LIME_OVERLAP] = "overlap",
	[VIGIL_LIME_TRUNCATED_HEADER] = "truncated-header",
	[VIGIL_LIME_TRUNCATED_DATA] = "truncated-data",
	[VIGIL_LIME_TOO_MANY_RANGES] = "too-many-ranges",
	[VIGIL_LIME_EMPTY] = "empty",
	[VIGIL_LIME_UNEXPECTED_RANGE] = "unexpected-range",
	[VIGIL_LIME_MISSING_RANGE] = "missing-range",
};

const char *vigil_lime_status_name(enum vigil_lime_status s)
{
	return (unsigned)s < VIGIL_LIME_STATUS_COUNT ? status_names[s] : "unknown";
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void vigil_lime_header_encode(unsigned char out[VIGIL_LIME_HDR_SIZE], uint64_t start, uint64_t end)
{
	put_le(out, VIGIL_LIME_MAGIC, 4);
	put_le(out + 4, VIGIL_LIME_VERSION, 4);
	put_le(out + 8, start, 8);
	put_le(out + 16, end, 8);
	put_le(out + 24, 0, 8);
}

enum vigil_lime_status vigil_lime_header_decode(const unsigned char in[VIGIL_LIME_HDR_SIZE],
						struct vigil_lime_range *r)
{
	r->start = get_le(in + 8, 8);
	r->end = get_le(in + 16, 8);
	if (get_le(in, 4) != VIGIL_LIME_MAGIC)
		return VIGIL_LIME_BAD_MAGIC;
	if (get_le(in + 4, 4) != VIGIL_LIME_VERSION)
		return VIGIL_LIME_BAD_VERSION;
	if (get_le(in + 24, 8) != 0)
		return VIGIL_LIME_BAD_RESERVED;
	if (r->end < r->start)
		return VIGIL_LIME_END_BEFORE_START;
	if (r->start == 0 && r->end == UINT64_MAX)
		return VIGIL_LIME_LENGTH_OVERFLOW;
	return VIGIL_LIME_OK;
}

struct vigil_lime_check {
	enum vigil_lime_status status;
	char msg[256];
	unsigned char hdr[VIGIL_LIME_HDR_SIZE];
	size_t hdr_have;
	int in_body;
	uint64_t remain;    /* body bytes left in the current range */
	uint64_t addr;      /* physical address of the next body byte */
	uint64_t page_addr; /* first address of the current page */
	uint64_t page_len;  /* bytes of the current page seen */
	int page_zero;
	int run_open;
	struct vigil_lime_range run;
	uint64_t offset;    /* stream bytes seen */
	struct vigil_lime_range *ranges;
	size_t n_ranges;
	struct vigil_lime_range *expect;
	size_t n_expect;
	int has_expect;
	struct vigil_lime_range *gaps;
	size_t gaps_listed, gaps_cap;
	uint64_t n_gaps, zero_bytes;
};

struct vigil_lime_check *vigil_lime_check_new(void)
{
	return calloc(1, sizeof(struct vigil_lime_check));
}

void vigil_lime_check_free(struct vigil_lime_check *c)
{
	if (!c)
		return;
	free(c->ranges);
	free(c->expect);
	free(c->gaps);
	free(c);
}

int vigil_lime_check_expect(struct vigil_lime_check *c, const struct vigil_lime_range *r, size_t n)
{
	struct vigil_lime_range *copy;

	if (n > VIGIL_LIME_MAX_RANGES)
		return -E2BIG;
	copy = malloc((n ? n : 1) * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	if (n)
		memcpy(copy, r, n * sizeof(*copy));
	free(c->expect);
	c->expect = copy;
	c->n_expect = n;
	c->has_expect = 1;
	return 0;
}

__attribute__((format(printf, 3, 4)))
static int fail(struct vigil_lime_check *c, enum vigil_lime_status s, const char *fmt, ...)
{
	va_list ap;
	int n;

	c->status = s;
	n = snprintf(c->msg, sizeof(c->msg), "%s at stream offset %" PRIu64 ": ",
		     vigil_lime_status_name(s), c->offset);
	if (n > 0 && (size_t)n < sizeof(c->msg)) {
		va_start(ap, fmt);
		vsnprintf(c->msg + n, sizeof(c->msg) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static void close_run(struct vigil_lime_check *c)
{
	if (!c->run_open)
		return;
	c->run_open = 0;
	c->n_gaps++;
	if (c->gaps_listed == VIGIL_LIME_MAX_GAPS)
		return; /* counted, not listed */
	if (c->gaps_listed == c->gaps_cap) {
		size_t cap = c->gaps_cap ? c->gaps_cap * 2 : 16;
		struct vigil_lime_range *g = realloc(c->gaps, cap * sizeof(*g));

		if (!g)
			return; /* counted; the listing is short by one (ENOMEM) */
		c->gaps = g;
		c->gaps_cap = cap;
	}
	c->gaps[c->gaps_listed++] = c->run;
}

/* The current page is complete (or the range ended inside it). */
static void page_done(struct vigil_lime_check *c)
{
	uint64_t last = c->page_addr + c->page_len - 1;

	if (c->page_zero) {
		c->zero_bytes += c->page_len;
		if (c->run_open && c->run.end + 1 == c->page_addr) {
			c->run.end = last;
		} else {
			close_run(c);
			c->run_open = 1;
			c->run.start = c->page_addr;
			c->run.end = last;
		}
	} else {
		close_run(c);
	}
	c->page_addr = last + 1;
	c->page_len = 0;
	c->page_zero = 1;
}

static int header_done(struct vigil_lime_check *c)
{
	struct vigil_lime_range r;
	enum vigil_lime_status s = vigil_lime_header_decode(c->hdr, &r);
	size_t i = c->n_ranges;

	c->offset -= VIGIL_LIME_HDR_SIZE; /* report the header's own offset */
	if (s != VIGIL_LIME_OK)
		return fail(c, s, "range %zu header [0x%" PRIx64 "-0x%" PRIx64 "]", i, r.start, r.end);
	if (i && r.start < c->ranges[i - 1].start)
		return fail(c, VIGIL_LIME_UNORDERED, "range %zu at 0x%" PRIx64 " after 0x%" PRIx64, i,
			    r.start, c->ranges[i - 1].start);
	if (i && r.start <= c->ranges[i - 1].end)
		return fail(c, VIGIL_LIME_OVERLAP, "range %zu at 0x%" PRIx64 " inside 0x%" PRIx64 "-0x%" PRIx64,
			    i, r.start, c->ranges[i - 1].start, c->ranges[i - 1].end);
	if (i == VIGIL_LIME_MAX_RANGES)
		return fail(c, VIGIL_LIME_TOO_MANY_RANGES, "more than %d ranges", VIGIL_LIME_MAX_RANGES);
	if (c->has_expect && (i >= c->n_expect || c->expect[i].start != r.start || c->expect[i].end != r.end))
		return fail(c, VIGIL_LIME_UNEXPECTED_RANGE, "range %zu is 0x%" PRIx64 "-0x%" PRIx64
			    ", System RAM has %s", i, r.start, r.end, i >= c->n_expect ? "fewer ranges" : "another");
	if (!(i & (i - 1)) || !c->ranges) { /* grow at powers of two */
		struct vigil_lime_range *g = realloc(c->ranges, (i ? 2 * i : 1) * sizeof(*g));

		if (!g)
			return fail(c, VIGIL_LIME_TOO_MANY_RANGES, "out of memory at range %zu", i);
		c->ranges = g;
	}
	c->ranges[c->n_ranges++] = r;
	c->offset += VIGIL_LIME_HDR_SIZE;
	c->hdr_have = 0;
	c->in_body = 1;
	c->remain = r.end - r.start + 1;
	c->addr = c->page_addr = r.start;
	c->page_len = 0;
	c->page_zero = 1;
	return 0;
}

static int all_zero(const unsigned char *p, size_t n)
{
	static const unsigned char zero[VIGIL_LIME_PAGE];

	return memcmp(p, zero, n) == 0;
}

int vigil_lime_check_feed(struct vigil_lime_check *c, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (c->status != VIGIL_LIME_OK)
		return -EINVAL;
	while (len) {
		size_t n;

		if (!c->in_body) {
			n = VIGIL_LIME_HDR_SIZE - c->hdr_have;
			n = n < len ? n : len;
			memcpy(c->hdr + c->hdr_have, p, n);
			c->hdr_have += n;
			c->offset += n;
			p += n;
			len -= n;
			if (c->hdr_have == VIGIL_LIME_HDR_SIZE && header_done(c))
				return -EINVAL;
			continue;
		}
		n = VIGIL_LIME_PAGE - (size_t)c->page_len;
		if (n > len)
			n = len;
		if (n > c->remain)
			n = (size_t)c->remain;
		if (c->page_zero && !all_zero(p, n))
			c->page_zero = 0;
		c->page_len += n;
		c->remain -= n;
		c->addr += n;
		c->offset += n;
		p += n;
		len -= n;
		if (c->page_len == VIGIL_LIME_PAGE || !c->remain)
			page_done(c);
		if (!c->remain) {
			close_run(c);
			c->in_body = 0;
		}
	}
	return 0;
}

int vigil_lime_check_finish(struct vigil_lime_check *c, struct vigil_err *err)
{
	if (c->status == VIGIL_LIME_OK) {
		if (c->in_body) {
			if (c->page_len)
				page_done(c);
			close_run(c);
			fail(c, VIGIL_LIME_TRUNCATED_DATA, "range %zu ends 0x%" PRIx64 " bytes short",
			     c->n_ranges - 1, c->remain);
		} else if (c->hdr_have) {
			c->offset -= c->hdr_have;
			fail(c, VIGIL_LIME_TRUNCATED_HEADER, "%zu of %d header bytes", c->hdr_have,
			     VIGIL_LIME_HDR_SIZE);
		} else if (!c->n_ranges) {
			fail(c, VIGIL_LIME_EMPTY, "no range");
		} else if (c->has_expect && c->n_ranges < c->n_expect) {
			fail(c, VIGIL_LIME_MISSING_RANGE, "%zu ranges, System RAM has %zu (next 0x%" PRIx64
			     "-0x%" PRIx64 ")", c->n_ranges, c->n_expect, c->expect[c->n_ranges].start,
			     c->expect[c->n_ranges].end);
		}
	}
	if (c->status != VIGIL_LIME_OK)
		return vigil_err_set(err, -EINVAL, "%s", c->msg);
	return 0;
}

enum vigil_lime_status vigil_lime_check_status(const struct vigil_lime_check *c)
{
	return c->status;
}

const char *vigil_lime_check_message(const struct vigil_lime_check *c)
{
	return c->msg;
}

size_t vigil_lime_check_n_ranges(const struct vigil_lime_check *c)
{
	return c->n_ranges;
}

const struct vigil_lime_range *vigil_lime_check_ranges(const struct vigil_lime_check *c)
{
	return c->ranges;
}

uint64_t vigil_lime_check_n_gaps(const struct vigil_lime_check *c)
{
	return c->n_gaps;
}

size_t vigil_lime_check_gaps_listed(const struct vigil_lime_check *c)
{
	return c->gaps_listed;
}

const struct vigil_lime_range *vigil_lime_check_gaps(const struct vigil_lime_check *c)
{
	return c->gaps;
}

uint64_t vigil_lime_check_zero_bytes(const struct vigil_lime_check *c)
{
	return c->zero_bytes;
}

uint64_t vigil_lime_check_bytes(const struct vigil_lime_check *c)
{
	return c->offset;
}
