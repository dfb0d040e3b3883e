/* test_store_dedup.c - the baseline store's de-duplicated generations
 * (schema 3): a generation of an unchanged tree costs at most 5% of the
 * first one's space, a shared row edited behind vigil's back is refused by
 * every generation that holds it, a path that changes and changes back reads
 * right in each generation, a path put twice is still refused when the
 * first put reused the previous generation's row, pruning gives the
 * space of rows no generation holds back to the file system, and the Docker
 * objects of two generations are diffed (vigil_gendiff_objects()). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
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
#include <sqlite3.h>

#include "vigil/actions.h"
#include "vigil/config.h"
#include "vigil/crypto.h"
#include "vigil/gendiff.h"
#include "vigil/record.h"
#include "vigil/sign.h"
#include "vigil/store.h"

#include "store_fixture.h"

static int setup(void **state)
{
	return store_fix_setup(state, "/tmp/vigil-test-dedup-XXXXXX", "state");
}

/* A regular file's record as the walker makes it: path i of a tree of
 * directories of 100 files, content version v (size, mtime, digest). */
static void file_rec(struct vigil_record *r, int i, int v)
{
	char p[96];

	snprintf(p, sizeof(p), "/srv/app/releases/current/lib/module%03d/file-%05d.py", i / 100, i);
	vigil_record_init(r);
	assert_int_equal(vigil_record_set_path(r, p, strlen(p)), 0);
	r->ftype = 1;
	r->mode = 0100644;
	r->uid = r->gid = 0;
	r->size = 1000 + (uint64_t)i + (uint64_t)v * 7;
	r->mtime_ns = 1700000000000000000LL + (int64_t)i * 1000003 + v;
	r->ctime_ns = r->mtime_ns;
	r->ino = 100000 + (uint64_t)i;
	r->dev = 0x803;
	r->nlink = 1;
	r->algos = VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256);
	for (int b = 0; b < 32; b++)
		r->digest[VIGIL_ALGO_SHA256][b] = (unsigned char)(i * 31 + b * 7 + v * 13);
	snprintf(r->scope, sizeof(r->scope), "app");
}

static struct vigil_store *open_rw(struct store_fix *f)
{
	struct vigil_err err = { "" };
	struct vigil_store *st = NULL;

	if (vigil_store_open(f->dir, VIGIL_STORE_CREATE, &st, &err))
		fail_msg("open: %s", err.msg);
	return st;
}

/* Writes a generation of files [from, to) at version v, except file
 * `changed` at version v + 1; returns its id. */
static int64_t write_files(struct store_fix *f, int from, int to, int v, int changed)
{
	struct vigil_err err = { "" };
	struct vigil_store *st = open_rw(f);
	struct vigil_generation g;

	assert_int_equal(vigil_store_begin(st, "baseline", &err), 0);
	for (int i = from; i < to; i++) {
		struct vigil_record r;

		file_rec(&r, i, i == changed ? v + 1 : v);
		if (vigil_store_put(st, &r, &err))
			fail_msg("put %d: %s", i, err.msg);
		vigil_record_clear(&r);
	}
	assert_int_equal(vigil_store_put_object(st, "image", "sha256:aaa", "{\"a\":1}", 7, &err), 0);
	if (vigil_store_commit(st, f->sk, &g, &err))
		fail_msg("commit: %s", err.msg);
	vigil_store_close(st);
	return g.id;
}

static int64_t count(struct store_fix *f, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int64_t n;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

/* The database's size (page_count * page_size) after a checkpoint. */
static int64_t db_size(struct store_fix *f)
{
	count(f, "PRAGMA wal_checkpoint(TRUNCATE)");
	return count(f, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()");
}

static void edit(struct store_fix *f, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_true(sqlite3_changes(db) > 0);
	sqlite3_close(db);
}

/* verify of generation id: 0 or the error, its message in err */
static int verify(struct store_fix *f, int64_t id, struct vigil_err *err)
{
	struct vigil_store *st = NULL;
	struct vigil_generation g;
	int rc = vigil_store_open(f->dir, VIGIL_STORE_RDONLY, &st, err);

	if (!rc)
		rc = vigil_store_generation(st, id, &g, err);
	if (!rc)
		rc = vigil_store_verify(st, &g, f->pk, err);
	vigil_store_close(st);
	return rc;
}

#define NFILES 3000

/* The rule: a new generation of an unchanged host costs at most 5%
 * of the first one's space. */
static void test_unchanged_costs_5pct(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	int64_t empty, first, second, third;

	vigil_store_close(open_rw(f));
	empty = db_size(f);
	assert_int_equal(write_files(f, 0, NFILES, 0, -1), 1);
	first = db_size(f);
	assert_int_equal(write_files(f, 0, NFILES, 0, -1), 2);
	second = db_size(f);
	/* and one with a changed file: one row more */
	assert_int_equal(write_files(f, 0, NFILES, 0, 42), 3);
	third = db_size(f);
	print_message("      %d files: empty store %" PRId64 " B, after generation 1 %" PRId64 " B (cost %" PRId64
		      "), 2 (unchanged) %" PRId64 " B (+%" PRId64 "), 3 (one file changed) %" PRId64 " B\n",
		      NFILES, empty, first, first - empty, second, second - first, third);
	if ((second - first) * 20 > first - empty)
		fail_msg("generation 2 of an unchanged tree cost %" PRId64 " B, more than 5%% of %" PRId64 " B",
			 second - first, first - empty);
	assert_int_equal(count(f, "SELECT count(*) FROM records"), NFILES + 1);
	assert_int_equal(count(f, "SELECT count(*) FROM objects"), 1);
	for (int64_t g = 1; g <= 3; g++)
		if (verify(f, g, &err))
			fail_msg("verify %" PRId64 ": %s", g, err.msg);
}

/* One row held by generations 1-3: editing it is refused by all three;
 * cutting generation 3 out of its run is refused by 3. */
static void test_shared_row_tampered(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };

	for (int g = 1; g <= 3; g++)
		assert_int_equal(write_files(f, 0, 50, 0, g == 3 ? 7 : -1), g);
	assert_int_equal(write_files(f, 0, 50, 9, -1), 4); /* every file changed: holds no row of 1-3 */
	edit(f, "UPDATE records SET mode = mode + 1 WHERE CAST(path AS TEXT) LIKE '%file-00003.py' AND first_gen = 1");
	for (int64_t g = 1; g <= 3; g++) {
		int rc = verify(f, g, &err);

		if (rc != -EBADMSG || !strstr(err.msg, "was modified: digest"))
			fail_msg("generation %" PRId64 " with its shared row edited: rc %d '%s'", g, rc, err.msg);
	}
	assert_int_equal(verify(f, 4, &err), 0);
	/* the membership is covered too: a row's run cut short */
	edit(f, "UPDATE records SET mode = mode - 1 WHERE CAST(path AS TEXT) LIKE '%file-00003.py' AND first_gen = 1");
	assert_int_equal(verify(f, 3, &err), 0);
	edit(f, "UPDATE records SET last_gen = 2 WHERE CAST(path AS TEXT) LIKE '%file-00004.py' AND last_gen = 3");
	assert_int_equal(verify(f, 3, &err), -EBADMSG);
	assert_int_equal(verify(f, 2, &err), 0);
}

/* A file changed in 2 and back in 3: each generation reads its own version. */
static void test_change_and_back(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct vigil_store *st;
	struct vigil_record want, got;
	struct vigil_store_iter *it;
	int n = 0;

	assert_int_equal(write_files(f, 0, 20, 0, -1), 1);
	assert_int_equal(write_files(f, 0, 20, 0, 5), 2);
	assert_int_equal(write_files(f, 0, 20, 0, -1), 3);
	assert_int_equal(write_files(f, 0, 19, 0, -1), 4); /* the last file removed */
	st = open_rw(f);
	for (int g = 1; g <= 4; g++) {
		file_rec(&want, 5, g == 2);
		assert_int_equal(vigil_store_get(st, g, want.path, want.path_len, &got, &err), 0);
		assert_int_equal(got.size, want.size);
		vigil_record_clear(&got);
		vigil_record_clear(&want);
		if (verify(f, g, &err))
			fail_msg("verify %d: %s", g, err.msg);
	}
	file_rec(&want, 19, 0);
	assert_int_equal(vigil_store_get(st, 3, want.path, want.path_len, &got, &err), 0);
	vigil_record_clear(&got);
	assert_int_equal(vigil_store_get(st, 4, want.path, want.path_len, &got, &err), -ENOENT);
	vigil_record_clear(&want);
	/* an iteration of 2 sees 20 paths, in order, its own version of file 5 */
	assert_int_equal(vigil_store_iter_new(st, 2, &it, &err), 0);
	while (vigil_store_iter_next(it, &got, &err) == 1) {
		file_rec(&want, n, n == 5);
		assert_int_equal(got.path_len, want.path_len);
		assert_memory_equal(got.path, want.path, want.path_len);
		assert_int_equal(got.size, want.size);
		vigil_record_clear(&want);
		n++;
	}
	vigil_store_iter_free(it);
	assert_int_equal(n, 20);
	/* rows: 20 files, file 5's second version and its first again */
	assert_int_equal(count(f, "SELECT count(*) FROM records"), 22);
	vigil_store_close(st);
}

/* A path put twice is refused, also when its first put reused the row of the
 * previous generation; the same for objects. */
static void test_twice_after_reuse(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct vigil_store *st;
	struct vigil_record r;

	assert_int_equal(write_files(f, 0, 3, 0, -1), 1);
	st = open_rw(f);
	assert_int_equal(vigil_store_begin(st, "baseline", &err), 0);
	file_rec(&r, 1, 0);
	assert_int_equal(vigil_store_put(st, &r, &err), 0); /* the row of 1, reused */
	assert_int_equal(vigil_store_put(st, &r, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "given twice"));
	vigil_record_clear(&r);
	file_rec(&r, 1, 3);
	assert_int_equal(vigil_store_put(st, &r, &err), -EEXIST);
	vigil_record_clear(&r);
	assert_int_equal(vigil_store_put_object(st, "image", "sha256:aaa", "{\"a\":1}", 7, &err), 0);
	assert_int_equal(vigil_store_put_object(st, "image", "sha256:aaa", "{\"a\":1}", 7, &err), -EEXIST);
	assert_int_equal(vigil_store_put_object(st, "image", "sha256:aaa", "{\"a\":2}", 7, &err), -EEXIST);
	vigil_store_rollback(st);
	vigil_store_close(st);
	/* the rollback left generation 1 as it was */
	assert_int_equal(verify(f, 1, &err), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM records WHERE last_gen = 1"), 3);
}

/* Pruning deletes the rows only pruned generations held and gives their
 * pages back; rows a kept generation shares stay. */
static void test_prune_gives_back(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct vigil_store *st;
	int64_t before, after, *pruned = NULL;
	size_t n = 0;

	for (int g = 1; g <= 3; g++)
		assert_int_equal(write_files(f, 0, 1000, g, -1), g); /* every file changes each time */
	assert_int_equal(write_files(f, 0, 1000, 3, -1), 4);    /* 4 shares 3's rows */
	before = db_size(f);
	st = open_rw(f);
	if (vigil_store_retain(st, 2, 0, 0, NULL, 0, &pruned, &n, &err))
		fail_msg("retain: %s", err.msg);
	vigil_store_close(st);
	free(pruned);
	assert_int_equal(n, 2);
	after = db_size(f);
	print_message("      pruning 2 of 4 generations of 1000 files: %" PRId64 " B -> %" PRId64 " B\n", before, after);
	assert_true(after * 2 < before);
	assert_int_equal(count(f, "SELECT count(*) FROM records"), 1000);
	assert_int_equal(count(f, "PRAGMA freelist_count"), 0);
	assert_int_equal(verify(f, 3, &err), 0);
	assert_int_equal(verify(f, 4, &err), 0);
	/* vigil_store_prune() too */
	st = open_rw(f);
	assert_int_equal(vigil_store_prune(st, 1, &err), 0);
	vigil_store_close(st);
	assert_int_equal(count(f, "SELECT count(*) FROM records"), 1000);
	assert_int_equal(count(f, "SELECT min(first_gen) FROM records"), 3);
	assert_int_equal(verify(f, 4, &err), 0);
}

/* Pruned versions that sit beside kept versions of the same paths (the
 * rows are in path order) free no whole page: the store is compacted. */
static void test_prune_interleaved(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct vigil_store *st;
	int64_t before, after, prot = 2, *pruned = NULL;
	size_t n = 0;

	for (int g = 1; g <= 5; g++)
		assert_int_equal(write_files(f, 0, 1000, g, -1), g); /* every file changes each time */
	before = db_size(f);
	st = open_rw(f);
	/* keep 2 (4, 5) and 2: 1 and 3 go, their rows beside 2's, 4's and 5's */
	if (vigil_store_retain(st, 2, 0, 0, &prot, 1, &pruned, &n, &err))
		fail_msg("retain: %s", err.msg);
	vigil_store_close(st);
	free(pruned);
	assert_int_equal(n, 2);
	after = db_size(f);
	print_message("      pruning 2 of 5 generations, versions interleaved: %" PRId64 " B -> %" PRId64 " B\n",
		      before, after);
	assert_true(after * 10 < before * 8);
	assert_int_equal(count(f, "SELECT count(*) FROM records"), 3000);
	for (int64_t g = 2; g <= 5; g++)
		if (g != 3 && verify(f, g, &err))
			fail_msg("verify %" PRId64 ": %s", g, err.msg);
}

/* A generation of Docker objects only: n pairs of (kind, key, data). */
static int64_t write_objects(struct store_fix *f, const char *const (*o)[3], size_t n)
{
	struct vigil_err err = { "" };
	struct vigil_store *st = open_rw(f);
	struct vigil_generation g;

	assert_int_equal(vigil_store_begin(st, "baseline", &err), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(vigil_store_put_object(st, o[i][0], o[i][1], o[i][2], strlen(o[i][2]), &err), 0);
	assert_int_equal(vigil_store_commit(st, f->sk, &g, &err), 0);
	vigil_store_close(st);
	return g.id;
}

struct seen_obj {
	char line[8][512];
	size_t n;
};

static int seen_cb(void *arg, const struct vigil_run_diff *d)
{
	struct seen_obj *s = arg;

	assert_null(d->path);
	assert_true(s->n < 8);
	snprintf(s->line[s->n++], sizeof(s->line[0]), "%s %s %d %s %s", d->action, d->object, d->severity,
		 d->message, d->extra_json);
	return 0;
}

static void test_diff_objects(void **state)
{
	static const char *const g1[][3] = {
		{ "layer", "sha256:a", "{\"images\":\"x:1\",\"status\":\"ok\"}" },
		{ "layer", "sha256:b", "{\"images\":\"x:1\",\"status\":\"ok\"}" },
		{ "image", "sha256:x", "{\"config_ok\":true,\"layers\":[\"sha256:a\",\"sha256:b\"],\"tags\":[\"x:1\"]}" },
		{ "cis", "1 2.2", "{\"verdict\":\"pass\"}" },
	};
	static const char *const g2[][3] = {
		{ "layer", "sha256:a", "{\"images\":\"x:1\",\"status\":\"modified\"}" },
		{ "layer", "sha256:c", "{\"images\":\"y:1\",\"status\":\"ok\"}" },
		{ "image", "sha256:x", "{\"config_ok\":true,\"layers\":[\"sha256:a\",\"sha256:b\"],\"tags\":[\"x:2\"]}" },
		{ "image", "sha256:y", "{\"config_ok\":true,\"layers\":[\"sha256:c\"],\"tags\":[\"y:1\"]}" },
		{ "cis", "1 2.2", "{\"verdict\":\"fail\"}" },
	};
	static const char *const want[] = {
		VIGIL_ACTION_DIFF_LAYER_CHANGED " sha256:a 4 image layer sha256:a: stored differently (status) "
		"{\"kind\":\"layer\",\"new\":{\"images\":\"x:1\",\"status\":\"modified\"},"
		"\"old\":{\"images\":\"x:1\",\"status\":\"ok\"}}",
		VIGIL_ACTION_DIFF_LAYER_REMOVED " sha256:b 1 image layer sha256:b: not in the newer generation "
		"{\"kind\":\"layer\",\"new\":null,\"old\":{\"images\":\"x:1\",\"status\":\"ok\"}}",
		VIGIL_ACTION_DIFF_LAYER_ADDED " sha256:c 1 image layer sha256:c: not in the older generation ",
		VIGIL_ACTION_DIFF_IMAGE_CHANGED " sha256:x 1 image sha256:x: stored differently (tags) ",
		VIGIL_ACTION_DIFF_IMAGE_ADDED " sha256:y 1 image sha256:y: not in the older generation ",
	};
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct vigil_store *st;
	struct seen_obj seen = { .n = 0 };
	size_t n = 0;

	assert_int_equal(VIGIL_SEV_LOW, 1);
	assert_int_equal(VIGIL_SEV_CRITICAL, 4);
	assert_int_equal(write_objects(f, g1, 4), 1);
	assert_int_equal(write_objects(f, g2, 5), 2);
	st = open_rw(f);
	if (vigil_gendiff_objects(st, 1, 2, seen_cb, &seen, &n, &err))
		fail_msg("diff: %s", err.msg);
	assert_int_equal(n, 5);
	assert_int_equal(seen.n, 5);
	for (size_t i = 0; i < 5; i++)
		if (strncmp(seen.line[i], want[i], strlen(want[i])))
			fail_msg("object %zu:\n  got  %s\n  want %s", i, seen.line[i], want[i]);
	/* the other way round, and a generation against itself */
	seen.n = 0;
	assert_int_equal(vigil_gendiff_objects(st, 2, 1, seen_cb, &seen, &n, &err), 0);
	assert_int_equal(n, 5);
	assert_non_null(strstr(seen.line[1], VIGIL_ACTION_DIFF_LAYER_ADDED " sha256:b"));
	seen.n = 0;
	assert_int_equal(vigil_gendiff_objects(st, 2, 2, seen_cb, &seen, &n, &err), 0);
	assert_int_equal(n, 0);
	vigil_store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unchanged_costs_5pct, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_shared_row_tampered, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_change_and_back, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_twice_after_reuse, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_prune_gives_back, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_prune_interleaved, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_diff_objects, setup, store_fix_teardown),
	};
	struct vigil_err err = { "" };

	if (vigil_crypto_init(&err))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
