/* test_capture_bodyfile.c - bodyfile lines as mactime splits and decodes them. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "vigil/capture.h"

static struct stat st_of(mode_t mode)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = mode;
	st.st_ino = 42;
	st.st_uid = 1000;
	st.st_gid = 100;
	st.st_size = 7;
	st.st_atim.tv_sec = 1700000000;
	st.st_atim.tv_nsec = 5;
	st.st_mtim.tv_sec = 1700000001;
	st.st_mtim.tv_nsec = 123456789;
	st.st_ctim.tv_sec = 1700000002;
	return st;
}

static void test_names(void **state)
{
	static const struct {
		const char *name;
		size_t len;
		const char *want; /* the name field */
	} cases[] = {
		{ "/etc/passwd", 11, "/etc/passwd" },
		{ "/a|b", 4, "/a%7Cb" },                 /* a bare '|' would shift mactime's columns */
		{ "/100%", 5, "/100%25" },               /* '%' itself, so decoding is lossless */
		{ "/new\nline", 9, "/new%0Aline" },      /* one record per line */
		{ "/\xff\xfe", 3, "/%FF%FE" },           /* not UTF-8 */
		{ "/caf\xc3\xa9", 6, "/caf\xc3\xa9" },   /* valid UTF-8 kept */
		{ "/\xc0\xaf", 3, "/%C0%AF" },           /* overlong encoding of '/' */
		{ "/a\\b", 4, "/a\\b" },
	};
	struct stat st = st_of(S_IFREG | 0644);
	char line[256], want[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = vigil_bodyfile_line(line, sizeof(line), cases[i].name, cases[i].len, &st, 0);

		snprintf(want, sizeof(want),
			 "0|%s|42|r/rrw-r--r--|1000|100|7|1700000000.000000005|1700000001.123456789|"
			 "1700000002.000000000|0\n", cases[i].want);
		assert_string_equal(line, want);
		assert_int_equal(n, strlen(want));
	}
}

static void test_modes_and_deleted(void **state)
{
	struct stat st = st_of(S_IFREG | 04755);
	char mode[13], line[256];

	(void)state;
	vigil_bodyfile_mode(S_IFREG | 04755, mode);
	assert_string_equal(mode, "r/rrwsr-xr-x");
	vigil_bodyfile_mode(S_IFDIR | 01777, mode);
	assert_string_equal(mode, "d/drwxrwxrwt");
	vigil_bodyfile_mode(S_IFLNK | 0777, mode);
	assert_string_equal(mode, "l/lrwxrwxrwx");
	vigil_bodyfile_mode(S_IFCHR, mode);
	assert_string_equal(mode, "c/c---------");
	vigil_bodyfile_line(line, sizeof(line), "/gone", 5, &st, 1);
	assert_non_null(strstr(line, "|/gone (deleted)|"));
}

static void test_truncation(void **state)
{
	struct stat st = st_of(S_IFREG | 0600);
	char small[16];
	size_t need;

	(void)state;
	need = vigil_bodyfile_line(small, sizeof(small), "/a/long/name/here", 17, &st, 0);
	assert_true(need > sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_modes_and_deleted),
		cmocka_unit_test(test_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
