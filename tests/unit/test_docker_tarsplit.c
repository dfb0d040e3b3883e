/* test_docker_tarsplit.c - CRC-64/ISO, base64, the tar-split line reader and
 * the tar header parser, on hand-made input including hostile lines. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/base64.h"
#include "vigil/crypto.h"

#include "../../collectors/docker/docker_priv.h"

static void test_crc64(void **state)
{
	(void)state;
	/* CRC-64/GO-ISO check value */
	assert_true(docker_crc64(0, "123456789", 9) == 0xb90956c775a41001ull);
	assert_true(docker_crc64(0, "", 0) == 0);
	/* chaining equals one call, whatever the split (slicing path and tail) */
	{
		unsigned char buf[1000];
		uint64_t whole, part;

		for (int i = 0; i < 1000; i++)
			buf[i] = (unsigned char)(i * 31 + 7);
		whole = docker_crc64(0, buf, sizeof(buf));
		for (size_t cut = 0; cut < 20; cut++) {
			part = docker_crc64(docker_crc64(0, buf, cut), buf + cut, sizeof(buf) - cut);
			assert_true(part == whole);
		}
	}
}

static void test_b64(void **state)
{
	unsigned char out[16];
	static const struct {
		const char *in;
		long want;
		const char *bytes;
	} t[] = {
		{ "", 0, "" }, { "Zg==", 1, "f" }, { "Zm8=", 2, "fo" }, { "Zm9v", 3, "foo" },
		{ "Zm9vYg==", 4, "foob" }, { "Zm9v!", -EINVAL, NULL }, { "Zg==Zg==", -EINVAL, NULL },
		{ "Z===", -EINVAL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long n = vigil_base64_decode(t[i].in, strlen(t[i].in), out, sizeof(out));

		assert_int_equal(n, t[i].want);
		if (n > 0)
			assert_memory_equal(out, t[i].bytes, (size_t)n);
	}
	assert_int_equal(vigil_base64_decode("Zm9vYmFy", 8, out, 3), -EINVAL); /* output too small */
}

/* Each bad line must give an error naming the line, never a crash. */
static void test_ts_bad_lines(void **state)
{
	static const struct {
		const char *text;
		const char *msg; /* substring of the error */
	} t[] = {
		{ "{\"type\":1,\"name\":\"a\",\"size\":1", "bad JSON" },
		{ "[1,2]", "not a JSON object" },
		{ "{\"type\":3}", "'type'" },
		{ "{\"type\":1,\"name\":\"../etc/passwd\",\"size\":1}", "unsafe name" },
		{ "{\"type\":1,\"name\":\"a/../../b\"}", "unsafe name" },
		{ "{\"type\":1,\"name\":\"/etc/passwd\"}", "unsafe name" },
		{ "{\"type\":1,\"name_raw\":\"YQBi\"}", "unsafe name" }, /* "a\0b" */
		{ "{\"type\":1,\"name\":\"a\\u0000b\"}", "bad JSON" },
		{ "{\"type\":1,\"name\":\"a\",\"size\":1099511627777}", "absurd size" },
		{ "{\"type\":1,\"name\":\"a\",\"size\":-1}", "absurd size" },
		{ "{\"type\":1,\"name\":\"a\",\"size\":\"7\"}", "absurd size" },
		{ "{\"type\":1,\"name\":\"a\",\"size\":1,\"payload\":\"AAAA\"}", "not 8 bytes" },
		{ "{\"type\":2,\"payload\":\"!!!\"}", "not base64" },
		{ "{\"type\":2,\"payload\":5}", "not a string" },
		{ "{\"type\":1}", "without a name" },
		{ "{\"type\":2,\"payload\":\"\",\"position\":5}\n{\"type\":2,\"payload\":\"\",\"position\":3}",
		  "out of order" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct docker_ts *ts;
		struct docker_ts_entry e;
		struct vigil_err err = { "" };
		int rc;

		assert_int_equal(docker_ts_open_mem(t[i].text, strlen(t[i].text), &ts), 0);
		while ((rc = docker_ts_next(ts, &e, &err)) > 0)
			;
		if (rc >= 0 || !strstr(err.msg, t[i].msg))
			fail_msg("case %zu: rc %d, message '%s', wanted '%s'", i, rc, err.msg, t[i].msg);
		assert_non_null(strstr(err.msg, "line "));
		docker_ts_close(ts);
	}
}

static void test_ts_good(void **state)
{
	const char *text = "{\"type\":2,\"payload\":\"Zm9v\",\"position\":0}\n"
			   "\n"
			   "{\"type\":1,\"name\":\"./etc/passwd\",\"size\":9,\"payload\":\"uQlWx3WkEAE=\",\"position\":1}\n"
			   "{\"type\":1,\"name_raw\":\"/w==\",\"payload\":null,\"position\":2}\n";
	struct docker_ts *ts;
	struct docker_ts_entry e;
	struct vigil_err err = { "" };

	(void)state;
	assert_int_equal(docker_ts_open_mem(text, strlen(text), &ts), 0);
	assert_int_equal(docker_ts_next(ts, &e, &err), 1);
	assert_int_equal(e.type, DOCKER_TS_SEGMENT);
	assert_int_equal(e.payload_len, 3);
	assert_memory_equal(e.payload, "foo", 3);
	assert_int_equal(docker_ts_next(ts, &e, &err), 1);
	assert_int_equal(e.type, DOCKER_TS_FILE);
	assert_string_equal(e.name, "./etc/passwd");
	assert_true(e.size == 9 && e.has_crc && e.crc == 0xb90956c775a41001ull);
	assert_int_equal(docker_ts_next(ts, &e, &err), 1);
	assert_int_equal(e.name_len, 1); /* not UTF-8: name_raw */
	assert_int_equal((unsigned char)e.name[0], 0xff);
	assert_int_equal(docker_ts_next(ts, &e, &err), 0);
	docker_ts_close(ts);
}

static void test_ts_line_limit(void **state)
{
	size_t n = (17u << 20);
	char *big = malloc(n + 1);
	struct docker_ts *ts;
	struct docker_ts_entry e;
	struct vigil_err err = { "" };

	(void)state;
	memset(big, 'A', n);
	big[n] = '\0';
	assert_int_equal(docker_ts_open_mem(big, n, &ts), 0);
	assert_int_equal(docker_ts_next(ts, &e, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "longer than"));
	docker_ts_close(ts);
	free(big);
}

struct seen {
	int n;
	char names[8][128];
	char types[8];
	uint64_t sizes[8];
	char link[128];
	int nx;
};

static void hdr_cb(void *arg, const struct docker_tar_hdr *h)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->names[s->n], 128, "%s", h->name);
		s->types[s->n] = h->type;
		s->sizes[s->n] = h->size;
		if (h->type == '2')
			snprintf(s->link, sizeof(s->link), "%s", h->linkname);
		s->nx += (int)h->n_xattrs;
	}
	s->n++;
}

static void put_hdr(unsigned char *h, const char *name, char type, size_t size, const char *link)
{
	unsigned sum = 0;

	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 108, "0000000", 7);
	memcpy(h + 116, "0000000", 7);
	snprintf((char *)h + 124, 12, "%011zo", size);
	memcpy(h + 136, "00000000000", 11);
	h[156] = (unsigned char)type;
	if (link)
		snprintf((char *)h + 157, 100, "%s", link);
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static void test_tarp(void **state)
{
	unsigned char tar[512 * 10] = { 0 }, *p = tar;
	const char pax[] = "30 path=very/long/name/here.x\n" "39 SCHILY.xattr.security.capability=\x01\x02\n";
	struct seen s = { 0 };
	struct docker_tarp *tp = docker_tarp_new(hdr_cb, &s);

	(void)state;
	put_hdr(p, "PaxHeaders/x", 'x', strlen(pax), NULL);
	p += 512;
	memcpy(p, pax, strlen(pax));
	p += 512;
	put_hdr(p, "short", '0', 5, NULL);
	p += 512;
	memcpy(p, "hello", 5);
	p += 512;
	put_hdr(p, "dir/", '5', 0, NULL);
	p += 512;
	put_hdr(p, "dir/ln", '2', 0, "../short");
	p += 512;
	/* fed in odd-sized pieces: the parser must not care where reads end */
	for (size_t off = 0; off < sizeof(tar); off += 77) {
		size_t k = sizeof(tar) - off < 77 ? sizeof(tar) - off : 77;

		assert_int_equal(docker_tarp_feed(tp, tar + off, k), 0);
	}
	assert_int_equal(s.n, 3);
	assert_string_equal(s.names[0], "very/long/name/here.x");
	assert_int_equal(s.sizes[0], 5);
	assert_int_equal(s.nx, 1);
	assert_string_equal(s.names[1], "dir");
	assert_int_equal(s.types[1], '5');
	assert_string_equal(s.link, "../short");
	assert_true(docker_tarp_ended(tp));
	docker_tarp_free(tp);

	/* a corrupted checksum is an error, not a crash */
	tar[148] ^= 1;
	tp = docker_tarp_new(hdr_cb, &s);
	assert_int_equal(docker_tarp_feed(tp, tar, sizeof(tar)), -EINVAL);
	assert_non_null(strstr(docker_tarp_error(tp), "checksum"));
	docker_tarp_free(tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc64),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_ts_bad_lines),
		cmocka_unit_test(test_ts_good),
		cmocka_unit_test(test_ts_line_limit),
		cmocka_unit_test(test_tarp),
	};

	vigil_crypto_init(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
