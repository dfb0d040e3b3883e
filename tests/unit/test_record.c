/* test_record.c - record diffing, escaping and canonical encoding. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/record.h"

static void make(struct vigil_record *r, const char *path)
{
	vigil_record_init(r);
	assert_int_equal(vigil_record_set_path(r, path, strlen(path)), 0);
	r->ftype = VIGIL_FT_REG;
	r->mode = 0644;
	r->size = 10;
	r->nlink = 1;
	r->algos = VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256);
	memset(r->digest[VIGIL_ALGO_SHA256], 0xab, 32);
}

static unsigned mutate(struct vigil_record *r, int i)
{
	switch (i) {
	case 0: r->mode = 0755; return VIGIL_ATTR_MODE;
	case 1: r->uid = 1000; return VIGIL_ATTR_UID;
	case 2: r->gid = 50; return VIGIL_ATTR_GID;
	case 3: r->size = 11; return VIGIL_ATTR_SIZE;
	case 4: r->mtime_ns = 5; return VIGIL_ATTR_MTIME;
	case 5: r->ctime_ns = 5; return VIGIL_ATTR_CTIME;
	case 6: r->ino = 99; return VIGIL_ATTR_INODE;
	case 7: r->nlink = 2; return VIGIL_ATTR_NLINK;
	case 8: vigil_record_set_target(r, "x", 1); return VIGIL_ATTR_TARGET;
	case 9: vigil_record_set_xattrs(r, (const unsigned char *)"\1\0\0\0a\0\0\0\0", 9); return VIGIL_ATTR_XATTRS;
	case 10: r->flags = 0x10; return VIGIL_ATTR_FLAGS;
	case 11: r->digest[VIGIL_ALGO_SHA256][31] ^= 1; return VIGIL_ATTR_HASH;
	case 12: r->ftype = VIGIL_FT_LNK; return VIGIL_ATTR_TYPE;
	case 13: r->dev = 7; return VIGIL_ATTR_DEV;
	default: return 0;
	}
}

static void test_diff_each_attr(void **state)
{
	unsigned attr;

	(void)state;
	for (int i = 0;; i++) {
		struct vigil_record a, b;

		make(&a, "/x");
		make(&b, "/x");
		a.has_flags = b.has_flags = 1;
		assert_int_equal(vigil_record_diff(&a, &b, VIGIL_ATTR_ALL), 0);
		attr = mutate(&b, i);
		if (!attr) {
			vigil_record_clear(&a);
			vigil_record_clear(&b);
			break;
		}
		assert_int_equal(vigil_record_diff(&a, &b, VIGIL_ATTR_ALL), attr);
		/* masked out: no difference */
		assert_int_equal(vigil_record_diff(&a, &b, VIGIL_ATTR_ALL & ~attr), 0);
		vigil_record_clear(&a);
		vigil_record_clear(&b);
	}
}

static void test_escape(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{ "/etc/passwd", 11, "/etc/passwd" },
		{ "/caf\xc3\xa9", 6, "/caf\xc3\xa9" },
		{ "/a\nb", 4, "/a\\x0ab" },
		{ "/bad\xff", 5, "/bad\\xff" },
		{ "/back\\slash", 11, "/back\\\\slash" },
		{ "/nul\0x", 6, "/nul\\x00x" },
		{ "/over\xc0\xaf", 7, "/over\\xc0\\xaf" },      /* overlong '/' */
		{ "/sur\xed\xa0\x80", 7, "/sur\\xed\\xa0\\x80" }, /* UTF-16 surrogate */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *e = vigil_path_escape(cases[i].in, cases[i].len);

		assert_non_null(e);
		assert_string_equal(e, cases[i].out);
		free(e);
	}
	assert_true(vigil_utf8_valid("/caf\xc3\xa9", 6));
	assert_false(vigil_utf8_valid("/bad\xff", 5));
}

static void test_encode_distinguishes(void **state)
{
	struct vigil_record a, b;
	unsigned char *ea, *eb;
	size_t la, lb;

	(void)state;
	make(&a, "/x");
	make(&b, "/x");
	ea = vigil_record_encode(&a, &la);
	eb = vigil_record_encode(&b, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(ea, eb, la);
	free(eb);
	/* an empty target differs from no target */
	vigil_record_set_target(&b, "", 0);
	eb = vigil_record_encode(&b, &lb);
	assert_true(la != lb || memcmp(ea, eb, la));
	free(ea);
	free(eb);
	vigil_record_clear(&a);
	vigil_record_clear(&b);
}

static void test_copy(void **state)
{
	struct vigil_record a, b;

	(void)state;
	make(&a, "/with\xff" "byte");
	vigil_record_set_target(&a, "tgt", 3);
	assert_int_equal(vigil_record_copy(&b, &a), 0);
	assert_ptr_not_equal(a.path, b.path);
	assert_int_equal(vigil_record_diff(&a, &b, VIGIL_ATTR_ALL), 0);
	assert_memory_equal(a.path, b.path, a.path_len);
	vigil_record_clear(&a);
	vigil_record_clear(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_each_attr),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_encode_distinguishes),
		cmocka_unit_test(test_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
