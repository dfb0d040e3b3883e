/* fuzz_lime.c - hostile LiME streams through the validator.
 * The first input byte picks the piece size the stream is fed in (the verdict
 * must not depend on it: checked against a one-piece run) and whether the
 * two ranges of iomem-like System RAM are expected; the rest is the stream. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "vigil/lime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum vigil_lime_status check(const uint8_t *p, size_t n, size_t step, int expect, uint64_t *gaps)
{
	static const struct vigil_lime_range ram[] = { { 0x1000, 0x9fbff }, { 0x100000, 0x7ffdfff } };
	struct vigil_lime_check *c = vigil_lime_check_new();
	struct vigil_err err;
	enum vigil_lime_status s;

	if (!c)
		abort();
	if (expect && vigil_lime_check_expect(c, ram, 2))
		abort();
	for (size_t o = 0; o < n; o += step)
		vigil_lime_check_feed(c, p + o, n - o < step ? n - o : step);
	vigil_lime_check_finish(c, &err);
	s = vigil_lime_check_status(c);
	*gaps = vigil_lime_check_n_gaps(c);
	if (vigil_lime_check_gaps_listed(c) > VIGIL_LIME_MAX_GAPS ||
	    vigil_lime_check_n_ranges(c) > VIGIL_LIME_MAX_RANGES)
		abort();
	vigil_lime_check_free(c);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t g1, g2;
	size_t step;
	int expect;

	if (size < 1)
		return 0;
	step = (size_t)(data[0] & 0x7f) + 1;
	expect = data[0] >> 7;
	if (check(data + 1, size - 1, step, expect, &g1) != check(data + 1, size - 1, size, expect, &g2) ||
	    g1 != g2)
		abort();
	return 0;
}
