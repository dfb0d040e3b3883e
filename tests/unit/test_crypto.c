/* test_crypto.c - digests against published test vectors, hex helpers. */
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
#include "vigil/hasher.h"

/* input: 0 = "", 1 = "abc", 2 = one million 'a'.
 * SHA-256, SHA-512: FIPS 180-2 appendix B / NIST CSRC examples; SHA3-256: NIST
 * CSRC SHA3 examples; BLAKE2b-512 "" and "abc": RFC 7693 appendix A and the
 * reference implementation's KAT.  BLAKE2b of a million 'a' has no official
 * vector: that one was cross-checked with Python's hashlib. */
static const struct {
	int algo, input;
	const char *hex;
} vectors[] = {
	{ VIGIL_ALGO_SHA256, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ VIGIL_ALGO_SHA256, 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ VIGIL_ALGO_SHA256, 2, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
	{ VIGIL_ALGO_SHA512, 0,
	  "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e" },
	{ VIGIL_ALGO_SHA512, 1,
	  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
	{ VIGIL_ALGO_SHA512, 2,
	  "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
	  "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b" },
	{ VIGIL_ALGO_BLAKE2B512, 0,
	  "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419"
	  "d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce" },
	{ VIGIL_ALGO_BLAKE2B512, 1,
	  "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
	  "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923" },
	{ VIGIL_ALGO_BLAKE2B512, 2,
	  "98fb3efb7206fd19ebf69b6f312cf7b64e3b94dbe1a17107913975a793f177e1"
	  "d077609d7fba363cbba00d05f7aa4e4fa8715d6428104c0a75643b0ff3fd3eaf" },
	{ VIGIL_ALGO_SHA3_256, 0, "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a" },
	{ VIGIL_ALGO_SHA3_256, 1, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532" },
	{ VIGIL_ALGO_SHA3_256, 2, "5c8875ae474a3634ba4fd55ec85bffd661f32aca75c6d699d0cdcb6c115891c1" },
	/* MD5 (internal, for dpkg's sums): RFC 1321's vectors */
	{ VIGIL_ALGO_MD5, 0, "d41d8cd98f00b204e9800998ecf8427e" },
	{ VIGIL_ALGO_MD5, 1, "900150983cd24fb0d6963f7d28e17f72" },
	{ VIGIL_ALGO_MD5, 2, "7707d6ae4e027c70eea2a935c2296f21" },
};

/* Feeds input in uneven pieces so block boundaries are crossed. */
static void feed(struct vigil_digest *d, int input)
{
	static char a[1000];

	memset(a, 'a', sizeof(a));
	if (input == 0) {
		vigil_digest_write(d, "", 0);
	} else if (input == 1) {
		vigil_digest_write(d, "a", 1);
		vigil_digest_write(d, "bc", 2);
	} else {
		size_t left = 1000000, step = 1;

		while (left) {
			size_t n = step < left ? step : left;

			vigil_digest_write(d, a, n);
			left -= n;
			step = step % 997 + 1;
		}
	}
}

static void test_vectors_one_algo(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct vigil_digest *d = vigil_digest_new(VIGIL_ALGO_BIT(vectors[i].algo));
		unsigned char out[VIGIL_DIGEST_MAX];
		char hex[2 * VIGIL_DIGEST_MAX + 1];

		assert_non_null(d);
		feed(d, vectors[i].input);
		vigil_digest_read(d, vectors[i].algo, out);
		vigil_hex(out, vigil_algo_len(vectors[i].algo), hex);
		assert_string_equal(hex, vectors[i].hex);
		vigil_digest_free(d);
	}
}

/* Every algorithm at once in one pass, and reset for reuse (what the workers do). */
static void test_vectors_all_at_once(void **state)
{
	unsigned all = (1u << VIGIL_ALGO_COUNT) - 1;
	struct vigil_digest *d = vigil_digest_new(all);

	(void)state;
	assert_non_null(d);
	for (int input = 0; input < 3; input++) {
		vigil_digest_reset(d);
		feed(d, input);
		for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
			unsigned char out[VIGIL_DIGEST_MAX];
			char hex[2 * VIGIL_DIGEST_MAX + 1];

			if (vectors[i].input != input)
				continue;
			vigil_digest_read(d, vectors[i].algo, out);
			vigil_hex(out, vigil_algo_len(vectors[i].algo), hex);
			assert_string_equal(hex, vectors[i].hex);
		}
	}
	vigil_digest_free(d);
	vigil_digest_free(NULL);
}

static void test_sha256_oneshot(void **state)
{
	unsigned char out[32];
	char hex[65];

	(void)state;
	vigil_sha256("abc", 3, out);
	vigil_hex(out, 32, hex);
	assert_string_equal(hex, vectors[1].hex);
}

static void test_names(void **state)
{
	(void)state;
	for (int a = 0; a < VIGIL_ALGO_COUNT; a++)
		assert_int_equal(vigil_algo_from_name(vigil_algo_name(a)), a == VIGIL_ALGO_MD5 ? -1 : a);
	assert_int_equal(vigil_algo_from_name("SHA256"), VIGIL_ALGO_SHA256);
	assert_int_equal(vigil_algo_from_name("md5"), -1);
	assert_int_equal(vigil_algo_len(VIGIL_ALGO_SHA3_256), 32);
	assert_int_equal(vigil_algo_len(VIGIL_ALGO_BLAKE2B512), 64);
}

static void test_hex(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		int rc;
	} cases[] = {
		{ "00ff10aB", 4, 0 },
		{ "", 0, 0 },
		{ "0g", 1, -EINVAL },
		{ "g0", 1, -EINVAL },
		{ "abc", 1, -EINVAL },   /* one digit too many */
		{ "abcd", 1, -EINVAL },  /* two too many */
		{ "a", 1, -EINVAL },     /* too short */
		{ " 0", 1, -EINVAL },
	};
	unsigned char bin[8], all[256];
	char hex[2 * 256 + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(vigil_unhex(cases[i].in, bin, cases[i].len), cases[i].rc);
	assert_int_equal(vigil_unhex("00ff10aB", bin, 4), 0);
	assert_memory_equal(bin, "\x00\xff\x10\xab", 4);
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	vigil_hex(all, 256, hex);
	assert_int_equal(strlen(hex), 512);
	assert_memory_equal(hex, "000102", 6);
	assert_memory_equal(hex + 508, "feff", 4);
	memset(bin, 0, sizeof(bin));
	{
		unsigned char back[256];

		assert_int_equal(vigil_unhex(hex, back, 256), 0);
		assert_memory_equal(back, all, 256);
	}
}

/* The background hasher gives the digest of the bytes in the order handed
 * over, with the caller refilling the buffer it is not hashing (as the
 * evidence writer does); the same with no thread (NULL hasher). */
static void test_hasher_two_buffers(void **state)
{
	enum { CHUNK = 4096 + 17, ROUNDS = 3000 };
	unsigned char *buf = malloc(2 * CHUNK), want[32], got[32];
	struct vigil_digest *ref = vigil_digest_new(VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256));
	uint32_t x = 12345;

	(void)state;
	assert_non_null(buf);
	for (int mode = 0; mode < 2; mode++) {
		struct vigil_hasher *h = mode ? vigil_hasher_new() : NULL;
		struct vigil_digest *d = vigil_digest_new(VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256));

		if (mode)
			assert_non_null(h); /* the test machines have more than one CPU */
		vigil_digest_reset(ref);
		x = 12345;
		for (int r = 0; r < ROUNDS; r++) {
			unsigned char *b = buf + (r % 2) * CHUNK;
			size_t len = 1 + (size_t)(r * 7919) % CHUNK;

			for (size_t i = 0; i < len; i++) {
				x = x * 1103515245u + 12345u;
				b[i] = (unsigned char)(x >> 16);
			}
			vigil_digest_write(ref, b, len);
			vigil_hasher_write(h, d, b, len);
		}
		vigil_hasher_sync(h);
		vigil_digest_read(ref, VIGIL_ALGO_SHA256, want);
		vigil_digest_read(d, VIGIL_ALGO_SHA256, got);
		assert_memory_equal(want, got, 32);
		vigil_digest_free(d);
		vigil_hasher_free(h);
	}
	vigil_digest_free(ref);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_one_algo),
		cmocka_unit_test(test_vectors_all_at_once),
		cmocka_unit_test(test_sha256_oneshot),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_hasher_two_buffers),
	};

	if (vigil_crypto_init(NULL))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
