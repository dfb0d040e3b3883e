/* test_docker_hpipe.c - the hashing pipe of `layers verify`
 * (collectors/docker/docker_hpipe.c): whatever the stream's size and however
 * it is fed (copied in, or written in place through space/commit), the digest
 * is the stream's SHA-256; a stream that fits in one slot is hashed inline
 * (no thread asked for, one slot), a longer one starts the thread. */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/crypto.h"

#include "../../collectors/docker/docker_verify.h"

static unsigned char *stream(size_t n)
{
	unsigned char *b = malloc(n ? n : 1);

	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(i * 2654435761u >> 13);
	return b;
}

/* Feeds n bytes (in pieces of `piece`, or in place when inplace) and
 * checks the digest; returns whether the thread was asked for. */
static int run(size_t n, size_t piece, int inplace)
{
	struct vigil_digest *d = vigil_digest_new(VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256));
	unsigned char *b = stream(n), want[32], got[32];
	struct docker_hpipe h;
	int tried;

	assert_non_null(d);
	assert_int_equal(docker_hp_start(&h, d), 0);
	for (size_t off = 0; off < n;) {
		size_t k = n - off < piece ? n - off : piece;

		if (inplace) {
			size_t avail;
			unsigned char *p = docker_hp_space(&h, &avail);

			k = k < avail ? k : avail;
			memcpy(p, b + off, k);
			docker_hp_commit(&h, k);
		} else {
			docker_hp_write(&h, b + off, k);
		}
		off += k;
	}
	docker_hp_finish(&h);
	tried = h.tried;
	docker_hp_free(&h);
	vigil_digest_read(d, VIGIL_ALGO_SHA256, got);
	vigil_sha256(b, n, want);
	assert_memory_equal(got, want, 32);
	vigil_digest_free(d);
	free(b);
	return tried;
}

static void test_sizes(void **state)
{
	static const size_t sizes[] = { 0, 1, 100, HP_SLOT - 1, HP_SLOT, HP_SLOT + 1, 2 * HP_SLOT,
					5 * HP_SLOT + 123, 11 * HP_SLOT + 7 };
	static const size_t pieces[] = { 1000, 4096, HP_SLOT, 3 * HP_SLOT + 5 };

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++)
			for (int inplace = 0; inplace < 2; inplace++) {
				int tried = run(sizes[i], pieces[k], inplace);

				/* the thread only for a stream that outgrew the first slot */
				assert_int_equal(tried, sizes[i] > HP_SLOT);
			}
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
	};

	if (vigil_crypto_init(NULL))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
