/* test_capture_memory.c - the evidence writer's streaming member and the
 * verifier's format check of a memory member: a LiME stream written through
 * vigil_evw_stream_*() with a memdump record in its manifest entry verifies;
 * a bad magic, a wrong version, ranges that differ from the record, a
 * missing record are each named (member and fault) although every hash and
 * the seal match; a stream that ends short is zero-padded and noted, one
 * that runs past its declared size is refused. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "vigil/capture.h"
#include "vigil/crypto.h"
#include "vigil/lime.h"
#include "vigil/sign.h"

static char base[] = "/tmp/vigil-evwmem.XXXXXX";
static char state[PATH_MAX], out[PATH_MAX];

static int setup(void **state_)
{
	(void)state_;
	if (!mkdtemp(base) || vigil_crypto_init(NULL))
		return -1;
	snprintf(state, sizeof(state), "%s/state", base);
	snprintf(out, sizeof(out), "%s/out", base);
	return mkdir(state, 0700) || vigil_sign_keygen(state, 0, NULL) ? -1 : 0;
}

static int teardown(void **state_)
{
	char cmd[PATH_MAX + 16];

	(void)state_;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) ? -1 : 0;
}

/* Two ranges: 0x1000-0x1fff (a page of 0xaa) and 0x3000-0x37ff (half a page of 0x55). */
#define MEM_SIZE (2 * VIGIL_LIME_HDR_SIZE + 4096 + 2048)
static void lime_stream(unsigned char *buf)
{
	vigil_lime_header_encode(buf, 0x1000, 0x1fff);
	memset(buf + VIGIL_LIME_HDR_SIZE, 0xaa, 4096);
	vigil_lime_header_encode(buf + VIGIL_LIME_HDR_SIZE + 4096, 0x3000, 0x37ff);
	memset(buf + 2 * VIGIL_LIME_HDR_SIZE + 4096, 0x55, 2048);
}

static json_t *record(const char *end2)
{
	return json_pack("{s:{s:s,s:[{s:s,s:s},{s:s,s:s}]}}", "memdump", "method", "kcore", "ranges", "start",
			 "0x1000", "end", "0x1fff", "start", "0x3000", "end", end2);
}

/* An archive with member holding len bytes of buf (declared: size), its
 * manifest entry with extra; the verifier's verdict (0 or 1, fault in v). */
static int archive_verdict(const char *member, const unsigned char *buf, size_t len, uint64_t size, json_t *extra,
			   struct vigil_evverify *v, json_t **manifest_entry_notes)
{
	static int serial;
	struct vigil_evw_opts o = { .out_dir = out, .state_dir = state, .examiner = "cmocka" };
	struct vigil_evw_result res;
	char case_id[32];
	struct vigil_err err = { "" };
	struct vigil_evw *w = NULL;
	struct vigil_evw_stream *s = NULL;
	int fd, rc;

	snprintf(case_id, sizeof(case_id), "MEM%d", ++serial); /* one archive name each */
	o.case_id = case_id;
	o.compress = VIGIL_EVW_NONE;
	assert_int_equal(vigil_evw_open(&o, &w, &err), 0);
	assert_int_equal(vigil_evw_stream_begin(w, member, "physical memory", size, &s), 0);
	/* in uneven pieces, as a socket delivers them */
	for (size_t off = 0; off < len;) {
		size_t k = len - off > 1000 ? 1000 : len - off;

		assert_int_equal(vigil_evw_stream_write(s, buf + off, k, &err), 0);
		off += k;
	}
	assert_int_equal(vigil_evw_stream_bytes(s), len);
	assert_int_equal(vigil_evw_stream_end(s, extra, NULL), 0);
	json_decref(extra);
	assert_int_equal(vigil_evw_finish(w, &res, &err), 0);
	vigil_evw_free(w);
	fd = open(res.path, O_RDONLY);
	assert_true(fd >= 0);
	rc = vigil_evidence_check_fd(fd, v, &err);
	close(fd);
	if (manifest_entry_notes) {
		/* the manifest's entry for member: its notes */
		char cmd[PATH_MAX + 64];
		FILE *p;
		json_t *m, *e;
		size_t i;

		snprintf(cmd, sizeof(cmd), "bsdtar -xOf '%s' MANIFEST.json", res.path);
		p = popen(cmd, "r");
		assert_non_null(p);
		m = json_loadf(p, 0, NULL);
		pclose(p);
		assert_non_null(m);
		json_array_foreach(json_object_get(m, "members"), i, e)
			if (!strcmp(json_string_value(json_object_get(e, "member")), member))
				*manifest_entry_notes = json_incref(json_object_get(e, "notes"));
		json_decref(m);
	}
	unlink(res.path);
	return rc;
}

static void test_valid(void **state_)
{
	unsigned char buf[MEM_SIZE];
	struct vigil_evverify v;

	(void)state_;
	lime_stream(buf);
	assert_int_equal(archive_verdict("memory/mem.lime", buf, sizeof(buf), sizeof(buf), record("0x37ff"), &v, NULL),
			 0);
	assert_string_equal(v.fault, "");
}

static void test_bad_header(void **state_)
{
	unsigned char buf[MEM_SIZE];
	struct vigil_evverify v;

	(void)state_;
	lime_stream(buf);
	buf[0] ^= 1; /* magic */
	assert_int_equal(archive_verdict("memory/mem.lime", buf, sizeof(buf), sizeof(buf), record("0x37ff"), &v, NULL),
			 1);
	assert_non_null(strstr(v.fault, "member memory/mem.lime: not a valid LiME dump (bad-magic)"));
	lime_stream(buf);
	buf[VIGIL_LIME_HDR_SIZE + 4096 + 4] = 2; /* the second header's version */
	assert_int_equal(archive_verdict("memory/mem.lime", buf, sizeof(buf), sizeof(buf), record("0x37ff"), &v, NULL),
			 1);
	assert_non_null(strstr(v.fault, "member memory/mem.lime: not a valid LiME dump (bad-version)"));
}

static void test_ranges_differ(void **state_)
{
	unsigned char buf[MEM_SIZE];
	struct vigil_evverify v;

	(void)state_;
	lime_stream(buf);
	assert_int_equal(archive_verdict("memory/mem.lime", buf, sizeof(buf), sizeof(buf), record("0x3fff"), &v, NULL),
			 1);
	assert_non_null(strstr(v.fault, "member memory/mem.lime: LiME range 1 is 0x3000-0x37ff, the manifest's "
					"memdump record says 0x3000-0x3fff"));
	assert_int_equal(archive_verdict("memory/mem.lime", buf, sizeof(buf), sizeof(buf), NULL, &v, NULL), 1);
	assert_non_null(strstr(v.fault, "member memory/mem.lime: a memory dump without a memdump record"));
}

static void test_short_and_long(void **state_)
{
	struct vigil_evw_opts o = { .out_dir = out, .state_dir = state, .case_id = "MEM2", .examiner = "cmocka" };
	unsigned char buf[MEM_SIZE];
	struct vigil_evverify v;
	struct vigil_evw *w = NULL;
	struct vigil_evw_stream *s = NULL;
	struct vigil_err err = { "" };
	json_t *notes = NULL;

	(void)state_;
	lime_stream(buf);
	/* ends 2048 bytes short: padded with zeros, noted; the zeros sit in the
	 * second range's data, so the format still holds */
	assert_int_equal(archive_verdict("memory/mem.lime", buf, sizeof(buf) - 2048, sizeof(buf), record("0x37ff"), &v,
					 &notes),
			 0);
	assert_true(json_is_array(notes));
	assert_string_equal(json_string_value(json_array_get(notes, 0)),
			    "stream ended short: the last 2048 bytes are zero padding");
	json_decref(notes);
	/* past the declared size: refused, the archive still finishes whole */
	assert_int_equal(vigil_evw_open(&o, &w, &err), 0);
	assert_int_equal(vigil_evw_stream_begin(w, "memory/mem.lime", NULL, 10, &s), 0);
	assert_int_equal(vigil_evw_stream_write(s, buf, 11, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "runs past its declared 10 bytes"));
	assert_int_equal(vigil_evw_stream_end(s, NULL, "acquisition failed"), 0);
	assert_int_equal(vigil_evw_finish(w, &(struct vigil_evw_result){ 0 }, &err), 0);
	vigil_evw_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_ranges_differ),
		cmocka_unit_test(test_short_and_long),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
