/* test_capture_evw.c - the evidence writer and the manifest it writes:
 * files that shrink, grow or are unlinked while read (read() is wrapped at
 * link time to do it exactly between open and read), a FIFO never opened, a
 * symlink never followed, a non-UTF-8 name, max-file-size, cancel; then the
 * archive verifies (members, seal, signature) and nothing is left behind. */
#include "config.h"

#include <dirent.h>
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

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include <jansson.h>

#include "vigil/capture.h"
#include "vigil/crypto.h"
#include "vigil/sign.h"

static char base[] = "/tmp/vigil-evw.XXXXXX";
static char src[PATH_MAX], state[PATH_MAX], out[PATH_MAX];
static ino_t ino_shrink, ino_grow, ino_unlink;

ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __wrap_read(int fd, void *buf, size_t n);
/* The first read of a marked file changes it under the reader. */
ssize_t __wrap_read(int fd, void *buf, size_t n)
{
	char path[PATH_MAX * 2];
	struct stat st;
	int w;

	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_ino) {
		if (st.st_ino == ino_shrink) {
			ino_shrink = 0;
			snprintf(path, sizeof(path), "%s/shrink", src);
			assert_int_equal(truncate(path, 1000), 0);
		} else if (st.st_ino == ino_grow) {
			ino_grow = 0;
			snprintf(path, sizeof(path), "%s/grow", src);
			w = open(path, O_WRONLY | O_APPEND);
			assert_int_equal(write(w, "0123456789", 10), 10);
			close(w);
		} else if (st.st_ino == ino_unlink) {
			ino_unlink = 0;
			snprintf(path, sizeof(path), "%s/unlinked", src);
			assert_int_equal(unlink(path), 0);
		}
	}
	return __real_read(fd, buf, n);
}

static ino_t make_file(const char *name, size_t size, int c)
{
	char path[PATH_MAX * 2], *buf = malloc(size + 1);
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", src, name);
	memset(buf, c, size);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, size, f), size);
	fclose(f);
	free(buf);
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static int setup(void **state_)
{
	char path[PATH_MAX * 2];

	(void)state_;
	if (!mkdtemp(base) || vigil_crypto_init(NULL))
		return -1;
	snprintf(src, sizeof(src), "%s/src", base);
	snprintf(state, sizeof(state), "%s/state", base);
	snprintf(out, sizeof(out), "%s/out", base);
	if (mkdir(src, 0755) || mkdir(state, 0700) || vigil_sign_keygen(state, 0, NULL))
		return -1;
	snprintf(path, sizeof(path), "%s/fifo", src);
	if (mkfifo(path, 0600))
		return -1;
	snprintf(path, sizeof(path), "%s/link", src);
	if (symlink("/etc/shadow", path))
		return -1;
	snprintf(path, sizeof(path), "%s/sub", src);
	if (mkdir(path, 0755))
		return -1;
	make_file("keep", 5, 'k');
	make_file("sub/inner", 3, 'i');
	make_file("bad\xff", 1, 'x');
	return 0;
}

static int teardown(void **state_)
{
	char cmd[PATH_MAX + 16];

	(void)state_;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) ? -1 : 0;
}

static struct vigil_evw_opts opts(const volatile sig_atomic_t *cancel)
{
	struct vigil_evw_opts o = { 0 };

	o.out_dir = out;
	o.state_dir = state;
	o.case_id = "UNIT";
	o.examiner = "cmocka";
	o.cancel = cancel;
	return o;
}

/* MANIFEST.json of archive, parsed. */
static json_t *manifest_of(const char *archive)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	json_t *m = NULL;

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, archive, 65536), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (!strcmp(archive_entry_pathname(e), "MANIFEST.json")) {
			size_t n = (size_t)archive_entry_size(e);
			char *buf = malloc(n + 1);

			assert_int_equal(archive_read_data(a, buf, n), (la_ssize_t)n);
			m = json_loadb(buf, n, 0, NULL);
			free(buf);
		}
	}
	archive_read_free(a);
	assert_non_null(m);
	return m;
}

/* The entry whose source ends with suffix. */
static json_t *entry(json_t *m, const char *suffix)
{
	size_t i, n = strlen(suffix);
	json_t *e;

	json_array_foreach(json_object_get(m, "members"), i, e) {
		const char *s = json_string_value(json_object_get(e, "source"));

		if (s && strlen(s) >= n && !strcmp(s + strlen(s) - n, suffix))
			return e;
	}
	fail_msg("no manifest entry for %s", suffix);
	return NULL;
}

static int has_note(json_t *e, const char *prefix)
{
	size_t i;
	json_t *n;

	json_array_foreach(json_object_get(e, "notes"), i, n)
		if (!strncmp(json_string_value(n), prefix, strlen(prefix)))
			return 1;
	return 0;
}

static void test_changes_while_read(void **state_)
{
	struct vigil_evw_opts o = opts(NULL);
	struct vigil_evw_result res;
	struct vigil_evverify v;
	struct vigil_err err = { "" };
	struct vigil_evw *w = NULL;
	char pub[PATH_MAX * 2];
	json_t *m, *e;
	int fd;

	(void)state_;
	ino_shrink = make_file("shrink", 600000, 'a');
	ino_grow = make_file("grow", 600000, 'b');
	ino_unlink = make_file("unlinked", 1000, 'u');
	assert_int_equal(vigil_evw_open(&o, &w, &err), 0);
	fd = open(src, O_RDONLY | O_DIRECTORY);
	assert_int_equal(vigil_evw_add_tree(w, fd, src, "t", 0, NULL), 0);
	close(fd);
	assert_int_equal(vigil_evw_finish(w, &res, &err), 0);
	vigil_evw_free(w);
	assert_int_equal(ino_shrink + ino_grow + ino_unlink, 0); /* each hook ran */

	m = manifest_of(res.path);
	e = entry(m, "/shrink");
	assert_true(has_note(e, "changed while read: shorter than at open (1000 of 600000 bytes)"));
	assert_int_equal(json_integer_value(json_object_get(e, "size")), 600000); /* zero-filled */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "stat_after"), "size")), 1000);
	assert_true(has_note(entry(m, "/grow"), "changed while read: grew"));
	assert_true(has_note(entry(m, "/unlinked"), "changed while read"));
	e = entry(m, "/fifo");
	assert_true(json_is_null(json_object_get(e, "member")));
	assert_true(has_note(e, "special file: metadata only"));
	e = entry(m, "/link");
	assert_string_equal(json_string_value(json_object_get(e, "target")), "/etc/shadow");
	assert_null(json_object_get(e, "sha256")); /* never followed */
	assert_non_null(json_object_get(entry(m, "/bad\\xff"), "sha256"));
	assert_non_null(json_object_get(entry(m, "/sub/inner"), "sha256"));
	assert_false(has_note(entry(m, "/keep"), "changed"));
	json_decref(m);

	snprintf(pub, sizeof(pub), "%s/%s", state, VIGIL_PUBKEY_FILE);
	assert_int_equal(vigil_evidence_verify(res.path, pub, &v, &err), 0);
	assert_int_equal(v.signature_ok, 1);
	assert_int_equal(vigil_custody_verify(state, NULL, &err), 0);
}

static void test_max_size(void **state_)
{
	struct vigil_evw_opts o = opts(NULL);
	struct vigil_evw_result res;
	struct vigil_err err = { "" };
	struct vigil_evw *w = NULL;
	json_t *m, *e;
	int fd;

	(void)state_;
	make_file("shrink", 600000, 'a');
	o.max_file_size = 100;
	o.compress = VIGIL_EVW_GZIP;
	assert_int_equal(vigil_evw_open(&o, &w, &err), 0);
	fd = open(src, O_RDONLY | O_DIRECTORY);
	assert_int_equal(vigil_evw_add_tree(w, fd, src, "t", 0, NULL), 0);
	close(fd);
	assert_int_equal(vigil_evw_finish(w, &res, &err), 0);
	vigil_evw_free(w);
	assert_non_null(strstr(res.path, ".tar.gz"));
	m = manifest_of(res.path);
	e = entry(m, "/shrink");
	assert_true(has_note(e, "skipped: larger than max-file-size (600000 bytes)"));
	assert_true(json_is_null(json_object_get(e, "member")));
	assert_non_null(json_object_get(entry(m, "/keep"), "sha256"));
	json_decref(m);
}

/* Cancelled (SIGTERM): the temporary file removed, a `failed` record. */
static void test_cancel(void **state_)
{
	static volatile sig_atomic_t stop;
	struct vigil_evw_opts o = opts(&stop);
	struct vigil_evw_result res;
	struct vigil_err err = { "" };
	struct vigil_evw *w = NULL;
	char dir2[PATH_MAX * 2], ledger[PATH_MAX * 2], last[4096] = "", line[4096];
	struct dirent *de;
	FILE *f;
	DIR *d;
	int fd;

	(void)state_;
	snprintf(dir2, sizeof(dir2), "%s/out-cancel", base);
	o.out_dir = dir2;
	assert_int_equal(vigil_evw_open(&o, &w, &err), 0);
	stop = 1;
	fd = open(src, O_RDONLY | O_DIRECTORY);
	assert_int_equal(vigil_evw_add_tree(w, fd, src, "t", 0, NULL), -ECANCELED);
	close(fd);
	assert_int_equal(vigil_evw_finish(w, &res, &err), -ECANCELED);
	vigil_evw_free(w);
	d = opendir(dir2);
	assert_non_null(d);
	while ((de = readdir(d)))
		assert_true(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."));
	closedir(d);
	snprintf(ledger, sizeof(ledger), "%s/%s", state, VIGIL_CUSTODY_FILE);
	f = fopen(ledger, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		memcpy(last, line, sizeof(line));
	fclose(f);
	assert_non_null(strstr(last, "\"action\":\"failed\""));
	assert_non_null(strstr(last, "cancelled"));
	assert_int_equal(vigil_custody_verify(state, NULL, &err), 0);
}

/* Two captures at once that get the same final name (same case, same
 * second): the second is refused, the first stays whole with its companions,
 * and its custody.jsonl (the ledger from its acquired to its sealed record,
 * the other's acquired record in between) chains. */
static void test_never_overwrites(void **state_)
{
	struct vigil_evw_opts o = opts(NULL);
	struct vigil_evw_result ra, rb;
	struct vigil_evverify v;
	struct vigil_err err = { "" };
	char dir3[PATH_MAX * 2], pub[PATH_MAX * 2];
	int tries = 0, rc;

	(void)state_;
	snprintf(dir3, sizeof(dir3), "%s/out-same", base);
	o.out_dir = dir3;
	o.case_id = "SAME";
	do {
		struct vigil_evw *a = NULL, *b = NULL;

		assert_int_equal(vigil_evw_open(&o, &a, &err), 0);
		assert_int_equal(vigil_evw_open(&o, &b, &err), 0);
		assert_int_equal(vigil_evw_add_buf(a, "a.txt", NULL, "first", 5, NULL), 0);
		assert_int_equal(vigil_evw_add_buf(b, "b.txt", NULL, "second", 6, NULL), 0);
		assert_int_equal(vigil_evw_finish(a, &ra, &err), 0);
		rc = vigil_evw_finish(b, &rb, &err);
		vigil_evw_free(a);
		vigil_evw_free(b);
	} while (rc == 0 && ++tries < 3); /* a second boundary in between: names differ */
	assert_int_equal(rc, -EEXIST);
	snprintf(pub, sizeof(pub), "%s/%s", state, VIGIL_PUBKEY_FILE);
	rc = vigil_evidence_verify(ra.path, pub, &v, &err);
	if (rc) /* its custody.jsonl holds b's acquired record too: it must still chain */
		fail_msg("%s: %s %s", ra.path, v.fault, err.msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_changes_while_read),
		cmocka_unit_test(test_max_size),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_never_overwrites),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
