/* test_lime.c - the LiME validator on crafted streams (table-driven): a good
 * stream, every kind of bad header, truncation, overlap and order, expected
 * System RAM ranges, gaps (zero pages) at any feed size; and the output pipe
 * (headers, digest, verdict in one pass). */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/crypto.h"
#include "vigil/lime.h"

#define P VIGIL_LIME_PAGE

/* One range of a crafted stream: header fields, then `body` bytes (which may
 * be fewer than the header says: truncation), filled with `fill` except the
 * pages listed as zero in zero_mask (bit i: page i of the range). */
struct seg {
	uint32_t magic, version;
	uint64_t start, end, reserved;
	int64_t body; /* -1: end - start + 1 */
	unsigned zero_mask;
	int cut_header; /* write only this many header bytes (0: all) */
};

#define GOOD(s, e) { VIGIL_LIME_MAGIC, 1, (s), (e), 0, -1, 0, 0 }
#define GOODZ(s, e, z) { VIGIL_LIME_MAGIC, 1, (s), (e), 0, -1, (z), 0 }

struct stream {
	unsigned char *buf;
	size_t len;
};

static void le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static struct stream build(const struct seg *s, size_t n)
{
	struct stream st = { NULL, 0 };

	for (size_t i = 0; i < n; i++) {
		uint64_t body = s[i].body >= 0 ? (uint64_t)s[i].body : s[i].end - s[i].start + 1;
		size_t hl = s[i].cut_header ? (size_t)s[i].cut_header : VIGIL_LIME_HDR_SIZE;
		unsigned char h[VIGIL_LIME_HDR_SIZE];

		le(h, s[i].magic, 4);
		le(h + 4, s[i].version, 4);
		le(h + 8, s[i].start, 8);
		le(h + 16, s[i].end, 8);
		le(h + 24, s[i].reserved, 8);
		st.buf = realloc(st.buf, st.len + hl + body);
		assert_non_null(st.buf);
		memcpy(st.buf + st.len, h, hl);
		st.len += hl;
		for (uint64_t o = 0; o < body; o++)
			st.buf[st.len + o] = o / P < 32 && (s[i].zero_mask >> (o / P)) & 1 ? 0 : (unsigned char)(0xa5 ^ o);
		st.len += body;
	}
	return st;
}

static const struct lcase {
	const char *name;
	struct seg segs[4];
	size_t n;
	enum vigil_lime_status want;
	size_t ranges;        /* ranges accepted */
	uint64_t gaps;        /* zero-page runs */
	uint64_t gap0_start, gap0_end;
} cases[] = {
	{ "good: two ranges", { GOOD(0x1000, 0x2fff), GOOD(0x100000, 0x100fff) }, 2, VIGIL_LIME_OK, 2, 0, 0, 0 },
	{ "good: range ends mid-page", { GOOD(0x1000, 0x9fbff) }, 1, VIGIL_LIME_OK, 1, 0, 0, 0 },
	{ "good: one byte range", { GOOD(0x5000, 0x5000) }, 1, VIGIL_LIME_OK, 1, 0, 0, 0 },
	{ "bad magic", { { 0x454d694c, 1, 0x1000, 0x1fff, 0, -1, 0, 0 } }, 1, VIGIL_LIME_BAD_MAGIC, 0, 0, 0, 0 },
	{ "bad magic in second range", { GOOD(0x1000, 0x1fff), { 0, 1, 0x3000, 0x3fff, 0, -1, 0, 0 } }, 2,
	  VIGIL_LIME_BAD_MAGIC, 1, 0, 0, 0 },
	{ "version 2", { { VIGIL_LIME_MAGIC, 2, 0x1000, 0x1fff, 0, -1, 0, 0 } }, 1, VIGIL_LIME_BAD_VERSION, 0, 0, 0, 0 },
	{ "version 0", { { VIGIL_LIME_MAGIC, 0, 0x1000, 0x1fff, 0, -1, 0, 0 } }, 1, VIGIL_LIME_BAD_VERSION, 0, 0, 0, 0 },
	{ "reserved not zero", { { VIGIL_LIME_MAGIC, 1, 0x1000, 0x1fff, 1ull << 63, -1, 0, 0 } }, 1,
	  VIGIL_LIME_BAD_RESERVED, 0, 0, 0, 0 },
	{ "end before start", { { VIGIL_LIME_MAGIC, 1, 0x2000, 0x1fff, 0, 0, 0, 0 } }, 1,
	  VIGIL_LIME_END_BEFORE_START, 0, 0, 0, 0 },
	{ "2^64 length", { { VIGIL_LIME_MAGIC, 1, 0, UINT64_MAX, 0, 64, 0, 0 } }, 1,
	  VIGIL_LIME_LENGTH_OVERFLOW, 0, 0, 0, 0 },
	{ "huge range, data short", { { VIGIL_LIME_MAGIC, 1, 1, UINT64_MAX, 0, 100, 0, 0 } }, 1,
	  VIGIL_LIME_TRUNCATED_DATA, 1, 0, 0, 0 },
	{ "unordered", { GOOD(0x10000, 0x10fff), GOOD(0x1000, 0x1fff) }, 2, VIGIL_LIME_UNORDERED, 1, 0, 0, 0 },
	{ "overlap", { GOOD(0x1000, 0x2fff), GOOD(0x2000, 0x3fff) }, 2, VIGIL_LIME_OVERLAP, 1, 0, 0, 0 },
	{ "same range twice", { GOOD(0x1000, 0x1fff), GOOD(0x1000, 0x1fff) }, 2, VIGIL_LIME_OVERLAP, 1, 0, 0, 0 },
	{ "adjacent is fine", { GOOD(0x1000, 0x1fff), GOOD(0x2000, 0x2fff) }, 2, VIGIL_LIME_OK, 2, 0, 0, 0 },
	{ "truncated header", { GOOD(0x1000, 0x1fff), { VIGIL_LIME_MAGIC, 1, 0x3000, 0x3fff, 0, 0, 0, 20 } }, 2,
	  VIGIL_LIME_TRUNCATED_HEADER, 1, 0, 0, 0 },
	{ "truncated data", { { VIGIL_LIME_MAGIC, 1, 0x1000, 0x4fff, 0, 3 * P + 7, 0, 0 } }, 1,
	  VIGIL_LIME_TRUNCATED_DATA, 1, 0, 0, 0 },
	{ "truncated data, no body", { { VIGIL_LIME_MAGIC, 1, 0x1000, 0x4fff, 0, 0, 0, 0 } }, 1,
	  VIGIL_LIME_TRUNCATED_DATA, 1, 0, 0, 0 },
	{ "empty stream", { { 0 } }, 0, VIGIL_LIME_EMPTY, 0, 0, 0, 0 },
	{ "gap: one zero page", { GOODZ(0x1000, 0x4fff, 0x2) }, 1, VIGIL_LIME_OK, 1, 1, 0x2000, 0x2fff },
	{ "gap: zero pages merged", { GOODZ(0x1000, 0x5fff, 0x6) }, 1, VIGIL_LIME_OK, 1, 1, 0x2000, 0x3fff },
	{ "gap: two runs", { GOODZ(0x1000, 0x5fff, 0x9) }, 1, VIGIL_LIME_OK, 1, 2, 0x1000, 0x1fff },
	{ "gap: partial last page", { GOODZ(0x1000, 0x27ff, 0x2) }, 1, VIGIL_LIME_OK, 1, 1, 0x2000, 0x27ff },
	{ "gap: not merged across ranges", { GOODZ(0x1000, 0x1fff, 1), GOODZ(0x2000, 0x2fff, 1) }, 2,
	  VIGIL_LIME_OK, 2, 2, 0x1000, 0x1fff },
	{ "gap: in a truncated range is kept", { { VIGIL_LIME_MAGIC, 1, 0x1000, 0x4fff, 0, P + 10, 0x1, 0 } }, 1,
	  VIGIL_LIME_TRUNCATED_DATA, 1, 1, 0x1000, 0x1fff },
};

/* Feeds the stream in pieces of `step` bytes (any piece size must give the
 * same verdict). */
static struct vigil_lime_check *run(const struct stream *st, size_t step,
				    const struct vigil_lime_range *exp, size_t n_exp)
{
	struct vigil_lime_check *c = vigil_lime_check_new();
	struct vigil_err err = { "" };

	assert_non_null(c);
	if (exp)
		assert_int_equal(vigil_lime_check_expect(c, exp, n_exp), 0);
	for (size_t o = 0; o < st->len; o += step)
		vigil_lime_check_feed(c, st->buf + o, st->len - o < step ? st->len - o : step);
	vigil_lime_check_finish(c, &err);
	if (vigil_lime_check_status(c) != VIGIL_LIME_OK)
		assert_string_equal(err.msg, vigil_lime_check_message(c));
	return c;
}

static void test_table(void **state)
{
	static const size_t steps[] = { 1, 7, 32, 4096, 1 << 20 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct lcase *t = &cases[i];
		struct stream st = build(t->segs, t->n);

		for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
			struct vigil_lime_check *c = run(&st, steps[k], NULL, 0);

			print_message("%s (step %zu): %s %s\n", t->name, steps[k],
				      vigil_lime_status_name(vigil_lime_check_status(c)), vigil_lime_check_message(c));
			assert_int_equal(vigil_lime_check_status(c), t->want);
			assert_int_equal(vigil_lime_check_n_ranges(c), t->ranges);
			assert_int_equal(vigil_lime_check_n_gaps(c), t->gaps);
			if (t->gaps) {
				assert_int_equal(vigil_lime_check_gaps(c)[0].start, t->gap0_start);
				assert_int_equal(vigil_lime_check_gaps(c)[0].end, t->gap0_end);
			}
			vigil_lime_check_free(c);
		}
		free(st.buf);
	}
}

/* Against iomem's System RAM: equal passes; another range, an extra range or
 * a missing one fails. */
static void test_expected(void **state)
{
	static const struct seg two[] = { GOOD(0x1000, 0x2fff), GOOD(0x100000, 0x100fff) };
	static const struct vigil_lime_range same[] = { { 0x1000, 0x2fff }, { 0x100000, 0x100fff } };
	static const struct vigil_lime_range other[] = { { 0x1000, 0x2fff }, { 0x100000, 0x101fff } };
	static const struct vigil_lime_range three[] = { { 0x1000, 0x2fff }, { 0x100000, 0x100fff },
							 { 0x200000, 0x200fff } };
	struct stream st = build(two, 2);
	struct vigil_lime_check *c;

	(void)state;
	c = run(&st, 100, same, 2);
	assert_int_equal(vigil_lime_check_status(c), VIGIL_LIME_OK);
	vigil_lime_check_free(c);
	c = run(&st, 100, other, 2);
	assert_int_equal(vigil_lime_check_status(c), VIGIL_LIME_UNEXPECTED_RANGE);
	vigil_lime_check_free(c);
	c = run(&st, 100, same, 1);
	assert_int_equal(vigil_lime_check_status(c), VIGIL_LIME_UNEXPECTED_RANGE);
	vigil_lime_check_free(c);
	c = run(&st, 100, three, 3);
	assert_int_equal(vigil_lime_check_status(c), VIGIL_LIME_MISSING_RANGE);
	assert_non_null(strstr(vigil_lime_check_message(c), "0x200000"));
	vigil_lime_check_free(c);
	free(st.buf);
}

/* Many one-byte ranges: refused past VIGIL_LIME_MAX_RANGES (bounded memory). */
static void test_too_many_ranges(void **state)
{
	struct vigil_lime_check *c = vigil_lime_check_new();
	struct vigil_err err;
	unsigned char h[VIGIL_LIME_HDR_SIZE + 1];

	(void)state;
	for (uint64_t i = 0; i <= VIGIL_LIME_MAX_RANGES; i++) {
		vigil_lime_header_encode(h, 2 * i, 2 * i);
		h[VIGIL_LIME_HDR_SIZE] = 1;
		vigil_lime_check_feed(c, h, sizeof(h));
	}
	assert_int_equal(vigil_lime_check_finish(c, &err), -EINVAL);
	assert_int_equal(vigil_lime_check_status(c), VIGIL_LIME_TOO_MANY_RANGES);
	assert_int_equal(vigil_lime_check_n_ranges(c), VIGIL_LIME_MAX_RANGES);
	vigil_lime_check_free(c);
}

/* Gaps past the listing bound are counted, never dropped silently. */
static void test_gap_bound(void **state)
{
	struct vigil_lime_check *c = vigil_lime_check_new();
	struct vigil_err err;
	unsigned char h[VIGIL_LIME_HDR_SIZE], page[P];
	uint64_t pages = 2 * (VIGIL_LIME_MAX_GAPS + 10);

	(void)state;
	vigil_lime_header_encode(h, 0x1000, 0x1000 + pages * P - 1);
	vigil_lime_check_feed(c, h, sizeof(h));
	for (uint64_t i = 0; i < pages; i++) {
		memset(page, i & 1 ? 0xff : 0, sizeof(page)); /* every other page zero */
		vigil_lime_check_feed(c, page, sizeof(page));
	}
	assert_int_equal(vigil_lime_check_finish(c, &err), 0);
	assert_int_equal(vigil_lime_check_n_gaps(c), VIGIL_LIME_MAX_GAPS + 10);
	assert_int_equal(vigil_lime_check_gaps_listed(c), VIGIL_LIME_MAX_GAPS);
	assert_int_equal(vigil_lime_check_zero_bytes(c), (VIGIL_LIME_MAX_GAPS + 10) * (uint64_t)P);
	vigil_lime_check_free(c);
}

struct mem {
	unsigned char buf[65536];
	size_t len;
	int fail_at; /* fail the nth write (1-based), 0: never */
	int writes;
};

static int mem_sink(void *ctx, const void *buf, size_t len, struct vigil_err *err)
{
	struct mem *m = ctx;

	if (++m->writes == m->fail_at || m->len + len > sizeof(m->buf))
		return vigil_err_set(err, -ENOSPC, "sink full");
	memcpy(m->buf + m->len, buf, len);
	m->len += len;
	return 0;
}

/* The pipe writes headers, hashes what the sink got, and validates it. */
static void test_out(void **state)
{
	struct mem *m = calloc(1, sizeof(*m));
	struct vigil_lime_out *o = vigil_lime_out_new(mem_sink, m);
	struct vigil_err err = { "" };
	unsigned char body[0x2000], md[32];
	char hex[65], want[65];

	(void)state;
	memset(body, 0x11, sizeof(body));
	assert_int_equal(vigil_lime_out_range(o, 0x1000, 0x2fff, &err), 0);
	assert_int_equal(vigil_lime_out_write(o, body, 0x1000, &err), 0);
	/* a new range before the last is complete, or too many bytes: refused */
	assert_int_equal(vigil_lime_out_range(o, 0x5000, 0x5fff, &err), -EPROTO);
	assert_int_equal(vigil_lime_out_write(o, body, 0x1001, &err), -EPROTO);
	assert_int_equal(vigil_lime_out_write(o, body, 0x1000, &err), 0);
	assert_int_equal(vigil_lime_out_range(o, 0x5000, 0x5fff, &err), 0);
	assert_int_equal(vigil_lime_out_write(o, body, 0x1000, &err), 0);
	assert_int_equal(vigil_lime_out_finish(o, hex, &err), 0);
	assert_int_equal(vigil_lime_out_bytes(o), 64 + 0x3000);
	assert_int_equal(m->len, 64 + 0x3000);
	vigil_sha256(m->buf, m->len, md);
	vigil_hex(md, 32, want);
	assert_string_equal(hex, want);
	vigil_lime_out_free(o);

	/* a short last range fails finish; a failing sink fails every later write */
	memset(m, 0, sizeof(*m));
	o = vigil_lime_out_new(mem_sink, m);
	assert_int_equal(vigil_lime_out_range(o, 0x1000, 0x2fff, &err), 0);
	assert_int_equal(vigil_lime_out_finish(o, hex, &err), -EPROTO);
	vigil_lime_out_free(o);
	memset(m, 0, sizeof(*m));
	m->fail_at = 2;
	o = vigil_lime_out_new(mem_sink, m);
	assert_int_equal(vigil_lime_out_range(o, 0x1000, 0x1fff, &err), 0);
	assert_int_equal(vigil_lime_out_write(o, body, 0x800, &err), -ENOSPC);
	assert_int_equal(vigil_lime_out_write(o, body, 0x800, &err), -EIO);
	assert_int_equal(vigil_lime_out_finish(o, hex, &err), -EIO);
	vigil_lime_out_free(o);
	free(m);
}

static int setup(void **state)
{
	struct vigil_err err;

	(void)state;
	return vigil_crypto_init(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_expected),
		cmocka_unit_test(test_too_many_ranges),
		cmocka_unit_test(test_gap_bound),
		cmocka_unit_test(test_out),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
