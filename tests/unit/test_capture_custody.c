/* test_capture_custody.c - the ledger's chain: appends link, any edit,
 * removal or reordering is named by record, concurrent writers never fork it. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/capture.h"
#include "vigil/crypto.h"

static char dir[] = "/tmp/vigil-custody.XXXXXX";
static char ledger[256];

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(ledger, sizeof(ledger), "%s/%s", dir, VIGIL_CUSTODY_FILE);
	return vigil_crypto_init(NULL);
}

static int teardown(void **state)
{
	(void)state;
	unlink(ledger);
	rmdir(dir);
	return 0;
}

static void append_n(int n)
{
	struct vigil_err err = { "" };
	char fields[128];

	for (int i = 0; i < n; i++) {
		snprintf(fields, sizeof(fields), "{\"action\":\"acquired\",\"case\":\"c%d\"}", i);
		assert_int_equal(vigil_custody_append(dir, fields, NULL, &err), 0);
	}
}

static char *slurp(size_t *len)
{
	FILE *f = fopen(ledger, "r");
	char *buf = calloc(1, 1 << 20);

	assert_non_null(f);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

static void spit(const char *buf, size_t len)
{
	FILE *f = fopen(ledger, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

static void test_chain(void **state)
{
	struct vigil_err err = { "" };
	uint64_t n = 0;
	char *line = NULL;

	(void)state;
	unlink(ledger);
	append_n(3);
	assert_int_equal(vigil_custody_append(dir, "{\"action\":\"sealed\"}", &line, &err), 0);
	assert_non_null(strstr(line, "\"seq\":4"));
	free(line);
	assert_int_equal(vigil_custody_verify(dir, &n, &err), 0);
	assert_int_equal(n, 4);
	/* the first record links to 64 zeros */
	assert_int_equal(vigil_custody_link_ok("{\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\"}",
					       75, NULL, 0), 0);
	assert_int_equal(vigil_custody_append(dir, "not json", NULL, &err), -EINVAL);
}

static void test_tamper(void **state)
{
	struct vigil_err err = { "" };
	size_t len;
	char *orig, *buf, *p, *second, *third;

	(void)state;
	unlink(ledger);
	append_n(4);
	orig = slurp(&len);
	buf = malloc(len + 64);

	/* one byte of record 2 changed: record 3 no longer chains */
	memcpy(buf, orig, len + 1);
	p = strstr(buf, "\"c1\"");
	p[2] = '9';
	spit(buf, len);
	assert_int_equal(vigil_custody_verify(dir, NULL, &err), 1);
	assert_non_null(strstr(err.msg, "record 3"));

	/* record 2 removed: record 2 (was 3) has the wrong seq */
	second = strchr(orig, '\n') + 1;
	third = strchr(second, '\n') + 1;
	memcpy(buf, orig, (size_t)(second - orig));
	memcpy(buf + (second - orig), third, len - (size_t)(third - orig));
	spit(buf, len - (size_t)(third - second));
	assert_int_equal(vigil_custody_verify(dir, NULL, &err), 1);
	assert_non_null(strstr(err.msg, "record 2"));

	/* the last record removed: still a valid (shorter) chain; an appended
	 * forgery without the right prev is caught */
	spit(orig, len);
	assert_int_equal(vigil_custody_verify(dir, NULL, &err), 0);
	memcpy(buf, orig, len);
	strcpy(buf + len, "{\"seq\":5,\"prev\":\"00\"}\n");
	spit(buf, strlen(buf));
	assert_int_equal(vigil_custody_verify(dir, NULL, &err), 1);
	assert_non_null(strstr(err.msg, "record 5"));
	free(buf);
	free(orig);
}

/* Two processes appending at once: the flock keeps one chain. */
static void test_concurrent(void **state)
{
	struct vigil_err err = { "" };
	uint64_t n = 0;
	pid_t kids[2];
	int status;

	(void)state;
	unlink(ledger);
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		assert_true(kids[k] >= 0);
		if (!kids[k]) {
			for (int i = 0; i < 50; i++)
				if (vigil_custody_append(dir, "{\"action\":\"verified\"}", NULL, &err))
					_exit(1);
			_exit(0);
		}
	}
	for (int k = 0; k < 2; k++) {
		assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
		assert_int_equal(status, 0);
	}
	assert_int_equal(vigil_custody_verify(dir, &n, &err), 0);
	assert_int_equal(n, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_concurrent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
