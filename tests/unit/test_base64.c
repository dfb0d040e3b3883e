/* test_base64.c - RFC 4648 vectors and every way to be non-canonical. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/base64.h"

static const struct {
	const char *raw, *enc;
} vectors[] = { /* RFC 4648 section 10 */
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		size_t n = strlen(vectors[i].raw);
		char enc[VIGIL_BASE64_SIZE(16)];
		unsigned char dec[16];

		vigil_base64_encode(vectors[i].raw, n, enc);
		assert_string_equal(enc, vectors[i].enc);
		assert_int_equal(vigil_base64_decode(enc, strlen(enc), dec, sizeof(dec)), (long)n);
		assert_memory_equal(dec, vectors[i].raw, n);
	}
}

static void test_rejects(void **state)
{
	static const char *const bad[] = {
		"Zm9", "Zm9v!", "Zg==Zg==", "Z===", "Zh==", /* trailing bits set */
		"Zm9v\n", "Zm=v", "====",
	};
	unsigned char out[16];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vigil_base64_decode(bad[i], strlen(bad[i]), out, sizeof(out)), -EINVAL);
	assert_int_equal(vigil_base64_decode("Zm9vYmFy", 8, out, 5), -EINVAL); /* output too small */
	assert_int_equal(vigil_base64_decode("Zm9vYmFy", 8, out, 6), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
