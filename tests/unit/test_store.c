/* test_store.c - the baseline store: round trips of hostile paths, generations,
 * tamper detection, the scratch merge, damaged and locked databases. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "vigil/crypto.h"
#include "vigil/record.h"
#include "vigil/sign.h"
#include "vigil/store.h"

#include "store_fixture.h"

/* The state dir is two levels (var/vigil) that do not exist yet: CREATE makes them. */
static int setup(void **state)
{
	return store_fix_setup(state, "/tmp/vigil-test-store-XXXXXX", "var/vigil");
}

/* Starts over: no database and no head. */
static void fresh_db(struct store_fix *f)
{
	char p[256];

	unlink(f->db);
	snprintf(p, sizeof(p), "%s/" VIGIL_STORE_HEAD_FILE, f->dir);
	unlink(p);
}

/* A record with every field set, derived from i so each differs. */
static void make(struct vigil_record *r, const char *path, size_t len, int i)
{
	static const unsigned char xattrs[] = "\x0b\0\0\0security.x\x03\0\0\0v\nv";

	vigil_record_init(r);
	assert_int_equal(vigil_record_set_path(r, path, len), 0);
	r->ftype = 1 + i % 7;
	r->mode = (uint32_t)(04755 - i);
	r->uid = (uint32_t)(1000 + i);
	r->gid = 4294967295u - (uint32_t)i; /* full u32 range */
	r->size = UINT64_MAX - (uint64_t)i;  /* beyond int64 */
	r->mtime_ns = -1234567890123LL + i;  /* before 1970 */
	r->ctime_ns = 1700000000123456789LL + i;
	r->ino = 0x8000000000000000ull + (uint64_t)i;
	r->dev = 0x803;
	r->rdev = (uint64_t)i;
	r->nlink = 2;
	if (i % 3 == 0)
		assert_int_equal(vigil_record_set_target(r, "../target\n\xff", 11), 0);
	else if (i % 3 == 1)
		assert_int_equal(vigil_record_set_target(r, "", 0), 0); /* present but empty */
	if (i % 2)
		assert_int_equal(vigil_record_set_xattrs(r, xattrs, sizeof(xattrs) - 1), 0);
	r->flags = 0x80000 + (uint32_t)i;
	r->has_flags = i % 2;
	r->algos = i % 4 == 0 ? 0 : (unsigned)(i % 16);
	for (int a = 0; a < VIGIL_ALGO_COUNT; a++)
		memset(r->digest[a], 0x11 * (a + 1) + i, VIGIL_DIGEST_MAX);
	/* Only valid digests survive the round trip; clear the rest so the
	 * encodings compare. */
	for (int a = 0; a < VIGIL_ALGO_COUNT; a++)
		if (!(r->algos & VIGIL_ALGO_BIT(a)))
			memset(r->digest[a], 0, VIGIL_DIGEST_MAX);
	r->status = (unsigned)i & 0x3f;
	r->err = i % 5 ? 0 : -13;
	snprintf(r->scope, sizeof(r->scope), "scope-%d", i % 4);
}

static void assert_same(const struct vigil_record *a, const struct vigil_record *b)
{
	size_t la, lb;
	unsigned char *ea = vigil_record_encode(a, &la), *eb = vigil_record_encode(b, &lb);

	assert_non_null(ea);
	assert_non_null(eb);
	assert_int_equal(la, lb);
	assert_memory_equal(ea, eb, la);
	assert_int_equal(a->target == NULL, b->target == NULL);
	free(ea);
	free(eb);
}

struct path {
	const char *p;
	size_t len;
};

static int path_cmp(const void *x, const void *y)
{
	const struct path *a = x, *b = y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->p, b->p, n);

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* Hostile names: newline, 0xff, control bytes, 255-byte components, a
 * 5000-byte path, prefixes of each other (order of "a" vs "a/" vs "a\0"-like). */
static char long255[2 + 255 + 1 + 255 + 1];
static char long5000[5000];
static struct path hostile[] = {
	{ "/etc/passwd", 11 },
	{ "/etc/pass\nwd", 12 },
	{ "/etc/\xff\xfe", 7 },
	{ "/etc", 4 },
	{ "/etc/", 5 },
	{ "/etc\x01", 5 },
	{ "/\x7f", 2 },
	{ "/tab\there", 9 },
	{ "/utf8/\xc3\xa9t\xc3\xa9", 11 },
	{ "/back\\slash", 11 },
	{ long255, sizeof(long255) - 1 },
	{ long5000, sizeof(long5000) },
};
#define NHOSTILE (sizeof(hostile) / sizeof(hostile[0]))

static void init_hostile(void)
{
	memset(long255, 'a', sizeof(long255) - 1);
	long255[0] = '/';
	long255[256] = '/';
	memset(long255 + 257, 0xff, 255);
	long255[sizeof(long255) - 1] = '\0';
	for (size_t i = 0; i < sizeof(long5000); i++)
		long5000[i] = i % 100 == 0 ? '/' : (char)('a' + i % 26);
}

static struct vigil_store *open_store(struct store_fix *f, unsigned flags)
{
	struct vigil_err err = { "" };
	struct vigil_store *st = NULL;
	int rc = vigil_store_open(f->dir, flags, &st, &err);

	if (rc)
		fail_msg("open: %s", err.msg);
	return st;
}

/* One generation of the hostile records plus objects; returns its id. */
static int64_t write_gen(struct store_fix *f, const char *kind)
{
	struct vigil_err err = { "" };
	struct vigil_store *st = open_store(f, VIGIL_STORE_CREATE);
	struct vigil_generation g;

	assert_int_equal(vigil_store_begin(st, kind, &err), 0);
	for (size_t i = 0; i < NHOSTILE; i++) {
		struct vigil_record r;

		make(&r, hostile[i].p, hostile[i].len, (int)i);
		if (vigil_store_put(st, &r, &err))
			fail_msg("put: %s", err.msg);
		vigil_record_clear(&r);
	}
	assert_int_equal(vigil_store_put_object(st, "layer", "sha256:bbb", "{\"b\":1}", 7, &err), 0);
	assert_int_equal(vigil_store_put_object(st, "layer", "sha256:aaa", "\0\xff", 2, &err), 0);
	assert_int_equal(vigil_store_put_object(st, "image", "sha256:zzz", "", 0, &err), 0);
	if (vigil_store_commit(st, f->sk, &g, &err))
		fail_msg("commit: %s", err.msg);
	assert_int_equal(g.n_records, NHOSTILE);
	assert_string_equal(g.kind, kind);
	vigil_store_close(st);
	return g.id;
}

struct objs {
	char seen[8][64];
	int n;
};

static int obj_cb(void *arg, const char *kind, const char *key, const void *data, size_t len)
{
	struct objs *o = arg;

	(void)data;
	snprintf(o->seen[o->n++], 64, "%s/%s/%zu", kind, key, len);
	return 0;
}

static void test_roundtrip(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct vigil_store *st;
	struct vigil_generation g, g2;
	struct vigil_store_iter *it;
	struct vigil_record r, want;
	struct path sorted[NHOSTILE];
	struct objs o = { .n = 0 };
	struct stat sb;
	void *data;
	size_t len, n = 0;
	int64_t id;

	id = write_gen(f, "baseline");
	assert_int_equal(id, 1);
	assert_int_equal(stat(f->dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);

	st = open_store(f, VIGIL_STORE_RDONLY);
	assert_string_equal(vigil_store_path(st), f->db);
	assert_int_equal(vigil_store_latest(st, &g, &err), 0);
	assert_int_equal(g.id, 1);
	assert_int_equal(g.n_records, NHOSTILE);
	assert_string_equal(g.kind, "baseline");
	assert_true(g.created > 1700000000);
	assert_true(g.host[0] != '\0');
	{
		unsigned char id8[8];

		vigil_pubkey_id(f->pk, id8);
		assert_memory_equal(g.key_id, id8, 8);
	}
	if (vigil_store_verify(st, &g, f->pk, &err))
		fail_msg("verify: %s", err.msg);
	assert_int_equal(vigil_store_generation(st, 1, &g2, &err), 0);
	assert_memory_equal(&g, &g2, sizeof(g));
	assert_int_equal(vigil_store_generation(st, 2, &g2, &err), -ENOENT);

	/* Every record comes back byte for byte. */
	for (size_t i = 0; i < NHOSTILE; i++) {
		make(&want, hostile[i].p, hostile[i].len, (int)i);
		if (vigil_store_get(st, 1, hostile[i].p, hostile[i].len, &r, &err))
			fail_msg("get %zu: %s", i, err.msg);
		assert_same(&r, &want);
		vigil_record_clear(&r);
		vigil_record_clear(&want);
	}
	assert_int_equal(vigil_store_get(st, 1, "/etc/passw", 10, &r, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/etc/passw"));

	/* Iteration is in memcmp order of the bytes. */
	memcpy(sorted, hostile, sizeof(sorted));
	qsort(sorted, NHOSTILE, sizeof(sorted[0]), path_cmp);
	assert_int_equal(vigil_store_iter_new(st, 1, &it, &err), 0);
	while (vigil_store_iter_next(it, &r, &err) == 1) {
		assert_true(n < NHOSTILE);
		assert_int_equal(r.path_len, sorted[n].len);
		assert_memory_equal(r.path, sorted[n].p, r.path_len);
		n++;
	}
	assert_int_equal(n, NHOSTILE);
	vigil_store_iter_free(it);

	/* Objects: lookup and (kind, key) order. */
	assert_int_equal(vigil_store_get_object(st, 1, "layer", "sha256:aaa", &data, &len, &err), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(data, "\0\xff", 2);
	free(data);
	assert_int_equal(vigil_store_get_object(st, 1, "image", "sha256:zzz", &data, &len, &err), 0);
	assert_int_equal(len, 0);
	free(data);
	assert_int_equal(vigil_store_get_object(st, 1, "layer", "sha256:ccc", &data, &len, &err), -ENOENT);
	assert_int_equal(vigil_store_objects(st, 1, NULL, obj_cb, &o, &err), 0);
	assert_int_equal(o.n, 3);
	assert_string_equal(o.seen[0], "image/sha256:zzz/0");
	assert_string_equal(o.seen[1], "layer/sha256:aaa/2");
	assert_string_equal(o.seen[2], "layer/sha256:bbb/7");
	o.n = 0;
	assert_int_equal(vigil_store_objects(st, 1, "layer", obj_cb, &o, &err), 0);
	assert_int_equal(o.n, 2);

	/* A read-only handle cannot write. */
	assert_int_equal(vigil_store_begin(st, "baseline", &err), -EROFS);
	vigil_store_close(st);
}

static void test_bad_input(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct vigil_store *st = open_store(f, VIGIL_STORE_CREATE);
	struct vigil_record r;
	struct vigil_generation g;

	make(&r, "/x", 2, 1);
	assert_int_equal(vigil_store_put(st, &r, &err), -EINVAL); /* not writing */
	assert_int_equal(vigil_store_begin(st, "", &err), -EINVAL);
	assert_int_equal(vigil_store_begin(st, "a-kind-name-that-is-far-too-long-to-store", &err), -EINVAL);
	assert_int_equal(vigil_store_begin(st, "baseline", &err), 0);
	assert_int_equal(vigil_store_begin(st, "baseline", &err), -EBUSY);
	assert_int_equal(vigil_store_put(st, &r, &err), 0);
	assert_int_equal(vigil_store_put(st, &r, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "'/x' given twice"));
	assert_int_equal(vigil_store_put_object(st, "k", "key", "a", 1, &err), 0);
	assert_int_equal(vigil_store_put_object(st, "k", "key", "b", 1, &err), -EEXIST);
	vigil_record_clear(&r);
	vigil_record_init(&r);
	assert_int_equal(vigil_store_put(st, &r, &err), -EINVAL); /* no path */
	assert_int_equal(vigil_store_commit(st, NULL, &g, &err), -EINVAL);
	/* A failed commit rolled back: nothing is visible. */
	assert_int_equal(vigil_store_latest(st, &g, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no baseline yet"));
	vigil_store_close(st);
}

static void test_generations(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct vigil_store *st;
	struct vigil_generation g;
	struct vigil_record r;

	assert_int_equal(write_gen(f, "baseline"), 1);
	assert_int_equal(write_gen(f, "scheduled"), 2);
	/* A rolled-back generation leaves no row and no gap in what latest() sees. */
	st = open_store(f, 0);
	assert_int_equal(vigil_store_begin(st, "baseline", &err), 0);
	make(&r, "/only-in-rollback", 17, 3);
	assert_int_equal(vigil_store_put(st, &r, &err), 0);
	vigil_store_rollback(st);
	vigil_record_clear(&r);
	vigil_store_close(st);
	assert_int_equal(write_gen(f, "accept"), 3);

	st = open_store(f, 0);
	assert_int_equal(vigil_store_latest(st, &g, &err), 0);
	assert_int_equal(g.id, 3);
	assert_string_equal(g.kind, "accept");
	for (int64_t i = 1; i <= 3; i++) {
		assert_int_equal(vigil_store_generation(st, i, &g, &err), 0);
		if (vigil_store_verify(st, &g, f->pk, &err))
			fail_msg("verify %" PRId64 ": %s", i, err.msg);
	}
	assert_int_equal(vigil_store_prune(st, 0, &err), -EINVAL);
	assert_int_equal(vigil_store_prune(st, 2, &err), 0);
	assert_int_equal(vigil_store_generation(st, 1, &g, &err), -ENOENT);
	assert_int_equal(vigil_store_get(st, 1, "/etc/passwd", 11, &r, &err), -ENOENT);
	assert_int_equal(vigil_store_generation(st, 2, &g, &err), 0);
	assert_int_equal(vigil_store_verify(st, &g, f->pk, &err), 0);
	vigil_store_close(st);
	/* Ids keep growing after a prune (AUTOINCREMENT). */
	assert_int_equal(write_gen(f, "baseline"), 4);
}

/* A writer killed mid-generation leaves the previous generations only. */
static void test_crash_mid_generation(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct vigil_store *st;
	struct vigil_generation g;
	struct vigil_record r;
	sqlite3 *db;
	sqlite3_stmt *s;
	pid_t pid;
	int status;

	assert_int_equal(write_gen(f, "baseline"), 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		st = open_store(f, 0);
		if (vigil_store_begin(st, "baseline", &err))
			_exit(2);
		for (int i = 0; i < 2000; i++) {
			char p[32];

			snprintf(p, sizeof(p), "/crash/%05d", i);
			make(&r, p, strlen(p), i);
			if (vigil_store_put(st, &r, &err))
				_exit(3);
			vigil_record_clear(&r);
		}
		_exit(0); /* no commit, no close: as if killed */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	st = open_store(f, 0);
	assert_int_equal(vigil_store_latest(st, &g, &err), 0);
	assert_int_equal(g.id, 1);
	assert_int_equal(vigil_store_verify(st, &g, f->pk, &err), 0);
	vigil_store_close(st);
	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM generations),"
					    " (SELECT count(*) FROM records WHERE last_gen <> 1)", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 1);
	assert_int_equal(sqlite3_column_int(s, 1), 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	/* And the next generation still gets written. */
	assert_int_equal(write_gen(f, "baseline"), 2);
}

static void sql(const char *dbpath, const char *stmt)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	if (sqlite3_exec(db, stmt, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", stmt, msg);
	if (sqlite3_changes(db) == 0 && strncmp(stmt, "PRAGMA", 6))
		fail_msg("%s changed nothing", stmt);
	sqlite3_close(db);
}

/* Each row edit made behind vigil's back is caught by verify. */
static void test_tamper(void **state)
{
	static const struct {
		const char *sql;
		const char *msg;
	} v[] = {
		{ "UPDATE records SET mode = mode + 1 WHERE path = CAST('/etc/passwd' AS BLOB)",
		  "baseline generation 1 was modified: digest " },
		{ "UPDATE records SET path = CAST('/etc/passwe' AS BLOB) WHERE path = CAST('/etc/passwd' AS BLOB)",
		  "was modified: digest" },
		{ "UPDATE records SET path = CAST('/etc/pass' || char(10) || 'wD' AS BLOB)"
		  " WHERE path = CAST('/etc/pass' || char(10) || 'wd' AS BLOB)", "was modified: digest" },
		{ "DELETE FROM records WHERE path = CAST('/etc/passwd' AS BLOB)", "was modified: digest" },
		{ "INSERT INTO records SELECT first_gen, last_gen, CAST('/etc/shadow' AS BLOB), ftype, mode, uid, gid, size,"
		  " mtime_ns, ctime_ns, ino, dev, rdev, nlink, target, xattrs, flags, has_flags, algos, digests,"
		  " status, err, scope FROM records WHERE path = CAST('/etc/passwd' AS BLOB)", "was modified: digest" },
		{ "UPDATE records SET digests = CAST(zeroblob(length(digests)) AS BLOB) WHERE length(digests) > 0"
		  " AND path = CAST('/etc/pass' || char(10) || 'wd' AS BLOB)", "was modified: digest" },
		{ "UPDATE records SET target = NULL WHERE target IS NOT NULL AND length(target) = 0", "was modified" },
		{ "UPDATE records SET xattrs = NULL WHERE xattrs IS NOT NULL AND path = CAST('/etc/pass' || char(10) || 'wd' AS BLOB)",
		  "was modified" },
		{ "UPDATE records SET scope = 'other' WHERE path = CAST('/etc' AS BLOB)", "was modified" },
		{ "UPDATE objects SET data = CAST('{\"b\":2}' AS BLOB) WHERE key = 'sha256:bbb'", "was modified" },
		{ "DELETE FROM objects WHERE key = 'sha256:zzz'", "was modified" },
		{ "UPDATE generations SET host = 'elsewhere'", "was modified" },
		{ "UPDATE generations SET created = created - 86400", "was modified" },
		{ "UPDATE generations SET kind = 'accept'", "was modified" },
		{ "UPDATE generations SET digest = zeroblob(32)", "has digest 0000000000000000" },
		{ "UPDATE generations SET sig = CAST(replace(hex(sig), substr(hex(sig), 3, 1),"
		  " CASE substr(hex(sig), 3, 1) WHEN 'A' THEN 'B' ELSE 'A' END) AS BLOB)", "corrupt" },
		{ "UPDATE generations SET sig = zeroblob(64)", "signature of generation 1 does not verify with key " },
		{ "UPDATE generations SET key_id = zeroblob(8)", "signed with key 0000000000000000, not with key" },
		{ "UPDATE generations SET n_records = n_records + 1", "header says" },
		{ "UPDATE records SET digests = X'00' WHERE length(digests) > 0 AND path = CAST('/etc/pass' || char(10) || 'wd' AS BLOB)",
		  "digests do not match the algorithm set" },
	};
	struct store_fix *f = *state;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct vigil_err err = { "" };
		struct vigil_store *st;
		struct vigil_generation g;
		int rc;

		fresh_db(f);
		assert_int_equal(write_gen(f, "baseline"), 1);
		sql(f->db, v[i].sql);
		st = open_store(f, VIGIL_STORE_RDONLY);
		rc = vigil_store_latest(st, &g, &err);
		if (!rc)
			rc = vigil_store_verify(st, &g, f->pk, &err);
		if (rc != -EBADMSG || !strstr(err.msg, v[i].msg))
			fail_msg("case %zu (%s): rc %d '%s', want '%s'", i, v[i].sql, rc, err.msg, v[i].msg);
		vigil_store_close(st);
	}
}

/* Signed by another key: refused by key id, and a forged key id does not
 * make the signature verify. */
static void test_wrong_key(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct vigil_seckey *other;
	struct vigil_store *st;
	struct vigil_generation g;
	struct vigil_record r;
	char keys[160], stmt[256], hex[17];
	unsigned char id[8];

	snprintf(keys, sizeof(keys), "%s/other", f->top);
	assert_int_equal(vigil_sign_keygen(keys, 0, &err), 0);
	assert_int_equal(vigil_seckey_load(keys, &other, &err), 0);
	st = open_store(f, VIGIL_STORE_CREATE);
	assert_int_equal(vigil_store_begin(st, "baseline", &err), 0);
	make(&r, "/bin/sh", 7, 1);
	assert_int_equal(vigil_store_put(st, &r, &err), 0);
	vigil_record_clear(&r);
	assert_int_equal(vigil_store_commit(st, other, &g, &err), 0);
	assert_int_equal(vigil_store_verify(st, &g, f->pk, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "was signed with key"));
	vigil_store_close(st);

	vigil_pubkey_id(f->pk, id);
	vigil_hex(id, 8, hex);
	snprintf(stmt, sizeof(stmt), "UPDATE generations SET key_id = X'%s'", hex);
	sql(f->db, stmt);
	st = open_store(f, VIGIL_STORE_RDONLY);
	assert_int_equal(vigil_store_latest(st, &g, &err), 0);
	assert_int_equal(vigil_store_verify(st, &g, f->pk, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "signature of generation 1 does not verify with key"));
	vigil_store_close(st);
	vigil_seckey_free(other);
}

static void test_copy_except(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct vigil_store *st;
	struct vigil_generation g;
	struct vigil_record r, want;
	const char *skip[] = { "/etc/passwd", "/etc/\xff\xfe", "/not/there" };
	const size_t skip_len[] = { 11, 7, 10 };

	assert_int_equal(write_gen(f, "baseline"), 1);
	st = open_store(f, 0);
	assert_int_equal(vigil_store_begin(st, "accept", &err), 0);
	assert_int_equal(vigil_store_copy_except(st, 7, skip, skip_len, 3, &err), -ENOENT);
	if (vigil_store_copy_except(st, 1, skip, skip_len, 3, &err))
		fail_msg("copy: %s", err.msg);
	make(&r, "/etc/passwd", 11, 99);
	assert_int_equal(vigil_store_put(st, &r, &err), 0);
	vigil_record_clear(&r);
	assert_int_equal(vigil_store_commit(st, f->sk, &g, &err), 0);
	assert_int_equal(g.id, 2);
	assert_int_equal(g.n_records, NHOSTILE - 1);
	assert_int_equal(vigil_store_verify(st, &g, f->pk, &err), 0);
	assert_int_equal(vigil_store_get(st, 2, "/etc/passwd", 11, &r, &err), 0);
	make(&want, "/etc/passwd", 11, 99);
	assert_same(&r, &want);
	vigil_record_clear(&r);
	vigil_record_clear(&want);
	assert_int_equal(vigil_store_get(st, 2, "/etc/\xff\xfe", 7, &r, &err), -ENOENT);
	for (size_t i = 0; i < NHOSTILE; i++) {
		if (i == 0 || i == 2)
			continue;
		assert_int_equal(vigil_store_get(st, 2, hostile[i].p, hostile[i].len, &r, &err), 0);
		make(&want, hostile[i].p, hostile[i].len, (int)i);
		assert_same(&r, &want);
		vigil_record_clear(&r);
		vigil_record_clear(&want);
	}
	/* Generation 1 is untouched. */
	assert_int_equal(vigil_store_generation(st, 1, &g, &err), 0);
	assert_int_equal(vigil_store_verify(st, &g, f->pk, &err), 0);
	vigil_store_close(st);
}

struct merged {
	char line[64][64];
	int n, stop_at;
};

static int merge_cb(void *arg, const struct vigil_record *old, const struct vigil_record *cur)
{
	struct merged *m = arg;
	const struct vigil_record *r = old ? old : cur;
	char *e = vigil_path_escape(r->path, r->path_len);

	if (m->stop_at && m->n == m->stop_at) {
		free(e);
		return 42;
	}
	snprintf(m->line[m->n++], 64, "%s %.50s%s", !old ? "added" : !cur ? "removed" :
		 vigil_record_diff(old, cur, VIGIL_ATTR_ALL) ? "changed" : "same", e,
		 old && cur && old->path_len != cur->path_len ? " LEN!" : "");
	free(e);
	return 0;
}

static void scratch_case(struct store_fix *f, unsigned flags)
{
	static const struct path scan[] = {
		{ "/etc/passwd", 11 },          /* same */
		{ "/etc/pass\nwd", 12 },        /* changed below */
		{ "/etc/\xff", 6 },             /* added, a prefix of a baseline path */
		{ "/etc/", 5 },                 /* same */
		{ "/\x01", 2 },                 /* added, sorts first */
		{ "/zzz\xff\xff", 6 },          /* added, sorts last */
		{ "/etc\x01", 5 },              /* same */
		{ "/tab\there", 9 },            /* same */
	};
	static const char *const want[] = {
		"added /\\x01", "removed /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"removed /back\\\\slash", "removed /etc", "same /etc\\x01", "same /etc/",
		"changed /etc/pass\\x0awd", "same /etc/passwd", "added /etc/\\xff", "removed /etc/\\xff\\xfe",
		"same /tab\\x09here", "removed /utf8/\xc3\xa9t\xc3\xa9", "added /zzz\\xff\\xff", "removed /\\x7f",
	};
	struct vigil_err err = { "" };
	struct vigil_store *st = open_store(f, flags);
	struct vigil_generation g;
	struct merged m = { .n = 0 };
	int k = 0;

	assert_int_equal(vigil_store_latest(st, &g, &err), 0);
	if (vigil_store_scratch_begin(st, &err))
		fail_msg("scratch_begin: %s", err.msg);
	for (size_t i = 0; i < sizeof(scan) / sizeof(scan[0]); i++) {
		struct vigil_record r;
		size_t h;

		/* Same attributes as the baseline where the path was there. */
		for (h = 0; h < NHOSTILE; h++)
			if (hostile[h].len == scan[i].len && !memcmp(hostile[h].p, scan[i].p, scan[i].len))
				break;
		make(&r, scan[i].p, scan[i].len, (int)h);
		if (i == 1)
			r.mode ^= 0100;
		if (vigil_store_scratch_put(st, &r, &err))
			fail_msg("scratch_put: %s", err.msg);
		vigil_record_clear(&r);
	}
	if (vigil_store_scratch_merge(st, g.id, merge_cb, &m, &err))
		fail_msg("merge: %s", err.msg);
	for (int i = 0; i < m.n; i++) {
		/* The 5000-byte path starts with "/bcdef..."; skip it in the table. */
		if (!strncmp(m.line[i], "removed /bcdefghijklmnopqrstuvwxyza", 35))
			continue;
		if (k >= (int)(sizeof(want) / sizeof(want[0])) || strcmp(m.line[i], want[k]))
			fail_msg("merge line %d: '%s', want '%s'", i, m.line[i],
				 k < (int)(sizeof(want) / sizeof(want[0])) ? want[k] : "(end)");
		k++;
	}
	assert_int_equal(k, sizeof(want) / sizeof(want[0]));
	assert_int_equal(m.n, k + 1);
	/* A callback can stop the merge; its value comes back. */
	m.n = 0;
	m.stop_at = 3;
	assert_int_equal(vigil_store_scratch_merge(st, g.id, merge_cb, &m, &err), 42);
	vigil_store_scratch_end(st);
	assert_int_equal(vigil_store_scratch_put(st, NULL, &err), -EINVAL);
	/* Again on the same handle, and the baseline still verifies. */
	assert_int_equal(vigil_store_scratch_begin(st, &err), 0);
	m.n = 0;
	m.stop_at = 0;
	assert_int_equal(vigil_store_scratch_merge(st, g.id, merge_cb, &m, &err), 0);
	assert_int_equal(m.n, NHOSTILE);
	for (int i = 0; i < m.n; i++)
		assert_int_equal(strncmp(m.line[i], "removed ", 8), 0);
	vigil_store_scratch_end(st);
	/* A path scanned twice is the caller's bug: the merge says which. */
	{
		struct vigil_record r;

		assert_int_equal(vigil_store_scratch_begin(st, &err), 0);
		make(&r, "/twice\n", 7, 1);
		assert_int_equal(vigil_store_scratch_put(st, &r, &err), 0);
		assert_int_equal(vigil_store_scratch_put(st, &r, &err), 0);
		vigil_record_clear(&r);
		m.n = 0;
		assert_int_equal(vigil_store_scratch_merge(st, g.id, merge_cb, &m, &err), -EEXIST);
		assert_non_null(strstr(err.msg, "'/twice\\x0a' given twice"));
		vigil_store_scratch_end(st);
	}
	assert_int_equal(vigil_store_verify(st, &g, f->pk, &err), 0);
	vigil_store_close(st);
}

static void test_scratch_merge(void **state)
{
	struct store_fix *f = *state;

	assert_int_equal(write_gen(f, "baseline"), 1);
	scratch_case(f, 0);
	/* check and show open read-only: the TEMP table still works. */
	scratch_case(f, VIGIL_STORE_RDONLY);
}

/* --- damaged, foreign and locked databases ----------------------------------- */

static void mkdirs(struct store_fix *f)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/var", f->top);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(mkdir(f->dir, 0700), 0);
}

static void expect_open_fail(struct store_fix *f, unsigned flags, int rc, const char *msg)
{
	struct vigil_err err = { "" };
	struct vigil_store *st = (struct vigil_store *)1;
	int got = vigil_store_open(f->dir, flags, &st, &err);

	assert_null(st);
	if (got != rc || !strstr(err.msg, msg) || !strstr(err.msg, f->db))
		fail_msg("open: rc %d '%s', want %d '%s' and the path", got, err.msg, rc, msg);
}

static void test_missing_and_empty(void **state)
{
	struct store_fix *f = *state;
	int fd;

	expect_open_fail(f, VIGIL_STORE_RDONLY, -ENOENT, "run `vigil baseline` first");
	expect_open_fail(f, 0, -ENOENT, "run `vigil baseline` first");
	mkdirs(f);
	fd = open(f->db, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	expect_open_fail(f, VIGIL_STORE_RDONLY, -EBADMSG, "empty file (truncated?)");
	expect_open_fail(f, VIGIL_STORE_CREATE, -EBADMSG, "empty file (truncated?)");
	unlink(f->db);
	assert_int_equal(mkdir(f->db, 0700), 0);
	expect_open_fail(f, VIGIL_STORE_CREATE, -EISDIR, "a directory");
	rmdir(f->db);
	assert_int_equal(symlink("/etc/passwd", f->db), 0);
	expect_open_fail(f, VIGIL_STORE_RDONLY, -EINVAL, "a symbolic link");
	unlink(f->db);
	fd = open(f->db, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(write(fd, "this is not a database, just text.\n", 35), 35);
	close(fd);
	expect_open_fail(f, VIGIL_STORE_RDONLY, -EBADMSG, "is not a SQLite database");
	expect_open_fail(f, VIGIL_STORE_CREATE, -EBADMSG, "is not a SQLite database");
}

static void test_foreign_and_version(void **state)
{
	struct store_fix *f = *state;
	struct vigil_store *st;

	mkdirs(f);
	sql(f->db, "CREATE TABLE foo(x); INSERT INTO foo VALUES(1)");
	expect_open_fail(f, VIGIL_STORE_CREATE, -EINVAL, "is not a vigil baseline");
	unlink(f->db);
	/* An empty SQLite database: read-only says so, CREATE makes the schema. */
	sql(f->db, "PRAGMA user_version = 1");
	expect_open_fail(f, VIGIL_STORE_RDONLY, -ENOENT, "holds no baseline");
	st = open_store(f, VIGIL_STORE_CREATE);
	vigil_store_close(st);
	assert_int_equal(write_gen(f, "baseline"), 1);
	sql(f->db, "UPDATE meta SET value = 99 WHERE key = 'schema'");
	expect_open_fail(f, VIGIL_STORE_RDONLY, -ENOTSUP, "schema version 99, this vigil reads version 3");
	sql(f->db, "UPDATE meta SET value = 'x' WHERE key = 'schema'");
	expect_open_fail(f, VIGIL_STORE_RDONLY, -ENOTSUP, "schema version -1");
	sql(f->db, "DELETE FROM meta");
	expect_open_fail(f, 0, -ENOTSUP, "schema version");
	/* A baseline of the vigil before the chain and the head: refused, saying what to do. */
	sql(f->db, "INSERT INTO meta(key, value) VALUES('schema', 1)");
	expect_open_fail(f, VIGIL_STORE_RDONLY, -ENOTSUP, "schema 1, without the signed head");
	expect_open_fail(f, VIGIL_STORE_CREATE, -ENOTSUP, "run 'vigil baseline' again");
}

/* A generation big enough to span many pages, closed so it lives in the main file. */
static void write_big(struct store_fix *f, int n)
{
	struct vigil_err err = { "" };
	struct vigil_store *st = open_store(f, VIGIL_STORE_CREATE);
	struct vigil_generation g;

	assert_int_equal(vigil_store_begin(st, "baseline", &err), 0);
	for (int i = 0; i < n; i++) {
		struct vigil_record r;
		char p[64];

		snprintf(p, sizeof(p), "/usr/lib/x86_64-linux-gnu/lib%05d.so", i);
		make(&r, p, strlen(p), i);
		assert_int_equal(vigil_store_put(st, &r, &err), 0);
		vigil_record_clear(&r);
	}
	assert_int_equal(vigil_store_commit(st, f->sk, &g, &err), 0);
	vigil_store_close(st);
}

/* open + latest + verify + a full iteration: the first failure. */
static int read_all(struct store_fix *f, struct vigil_err *err)
{
	struct vigil_store *st = NULL;
	struct vigil_store_iter *it = NULL;
	struct vigil_generation g;
	struct vigil_record r;
	int rc = vigil_store_open(f->dir, VIGIL_STORE_RDONLY, &st, err);

	if (!rc)
		rc = vigil_store_latest(st, &g, err);
	if (!rc)
		rc = vigil_store_verify(st, &g, f->pk, err);
	if (!rc)
		rc = vigil_store_iter_new(st, g.id, &it, err);
	while (!rc && (rc = vigil_store_iter_next(it, &r, err)) == 1)
		rc = 0;
	vigil_store_iter_free(it);
	vigil_store_close(st);
	return rc;
}

static void test_truncated_and_overwritten(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct stat sb;
	char saved[256];
	int rc;

	write_big(f, 3000);
	assert_int_equal(read_all(f, &err), 0);
	snprintf(saved, sizeof(saved), "%s.orig", f->db);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", f->db, saved);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(stat(f->db, &sb), 0);
	assert_true(sb.st_size > 100000);

	/* Truncated to half. */
	assert_int_equal(truncate(f->db, sb.st_size / 2), 0);
	rc = read_all(f, &err);
	if (rc != -EBADMSG || (!strstr(err.msg, f->db) && !strstr(err.msg, "was modified")))
		fail_msg("truncated: rc %d '%s'", rc, err.msg);
	printf("      truncated: %s\n", err.msg);

	/* 4 KiB of junk in the middle (page aligned or not). */
	for (int k = 0; k < 2; k++) {
		char cmd[512];
		int fd;
		char junk[4096];

		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", saved, f->db);
		assert_int_equal(system(cmd), 0);
		memset(junk, k ? 0x55 : 0, sizeof(junk));
		fd = open(f->db, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, junk, sizeof(junk), sb.st_size / 2 + k * 1000), (ssize_t)sizeof(junk));
		close(fd);
		rc = read_all(f, &err);
		if (rc != -EBADMSG || (!strstr(err.msg, f->db) && !strstr(err.msg, "was modified")))
			fail_msg("overwritten %d: rc %d '%s'", k, rc, err.msg);
		printf("      overwritten: %s\n", err.msg);
	}
	/* The header page itself. */
	{
		int fd = open(f->db, O_WRONLY);

		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "garbage!", 8, 0), 8);
		close(fd);
		rc = read_all(f, &err);
		if (rc != -EBADMSG || !strstr(err.msg, "is not a SQLite database"))
			fail_msg("header: rc %d '%s'", rc, err.msg);
	}
	unlink(saved);
}

/* Another process holds the write lock: a writer gives up with a clear error
 * after the busy timeout; readers go on (WAL). */
static void test_locked(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct vigil_store *st;
	struct vigil_generation g;
	int up[2], down[2], status;
	char c;
	pid_t pid;

	assert_int_equal(write_gen(f, "baseline"), 1);
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *db;

		close(up[0]);
		close(down[1]);
		if (sqlite3_open(f->db, &db) != SQLITE_OK ||
		    sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) != SQLITE_OK)
			_exit(2);
		if (write(up[1], "L", 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(3);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(db);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	assert_int_equal(read(up[0], &c, 1), 1);

	st = open_store(f, VIGIL_STORE_RDONLY);
	assert_int_equal(vigil_store_latest(st, &g, &err), 0);
	assert_int_equal(vigil_store_verify(st, &g, f->pk, &err), 0);
	vigil_store_close(st);
	st = open_store(f, 0);
	assert_int_equal(vigil_store_begin(st, "baseline", &err), -EBUSY);
	if (!strstr(err.msg, "is locked by another process") || !strstr(err.msg, f->db))
		fail_msg("locked: '%s'", err.msg);
	printf("      locked: %s\n", err.msg);

	assert_int_equal(write(down[1], "U", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(vigil_store_begin(st, "baseline", &err), 0);
	vigil_store_rollback(st);
	vigil_store_close(st);
	close(up[0]);
	close(down[1]);
}

/* A user who can read the state dir but not write it (check as non-root,
 * a read-only mount) can still read and merge; writing fails clearly. */
static void test_readonly_dir(void **state)
{
	struct store_fix *f = *state;
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		printf("      skipped: needs root to switch to an unprivileged user\n");
		return;
	}
	assert_int_equal(write_gen(f, "baseline"), 1);
	{
		char var[128];

		snprintf(var, sizeof(var), "%s/var", f->top);
		assert_int_equal(chmod(f->top, 0755), 0);
		assert_int_equal(chmod(var, 0755), 0);
		assert_int_equal(chmod(f->dir, 0755), 0);
	}
	assert_int_equal(chmod(f->db, 0644), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vigil_err err = { "" };
		struct vigil_store *st = NULL;
		struct vigil_generation g;
		struct merged m = { .n = 0 };

		if (setgid(65534) || setuid(65534))
			_exit(10);
		if (vigil_store_open(f->dir, VIGIL_STORE_RDONLY, &st, &err) ||
		    vigil_store_latest(st, &g, &err) || vigil_store_verify(st, &g, f->pk, &err) ||
		    vigil_store_scratch_begin(st, &err) || vigil_store_scratch_merge(st, g.id, merge_cb, &m, &err)) {
			fprintf(stderr, "read-only: %s\n", err.msg);
			_exit(11);
		}
		vigil_store_scratch_end(st);
		vigil_store_close(st);
		if (m.n != (int)NHOSTILE)
			_exit(12);
		st = NULL;
		if (vigil_store_open(f->dir, 0, &st, &err) == 0) {
			int rc = vigil_store_begin(st, "baseline", &err);

			vigil_store_close(st);
			if (rc == 0)
				_exit(13);
		}
		printf("      writing as nobody: %s\n", err.msg);
		fflush(stdout);
		_exit(strstr(err.msg, f->db) ? 0 : 14);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* Now with a writer holding the database open: generation 2 is still
	 * in the -wal file, which the reader cannot lock for writing. */
	{
		struct vigil_err err = { "" };
		struct vigil_store *w = open_store(f, 0);
		struct vigil_generation g;
		struct vigil_record r;
		char wal[256];
		struct stat sb;

		assert_int_equal(vigil_store_begin(w, "baseline", &err), 0);
		make(&r, "/new", 4, 1);
		assert_int_equal(vigil_store_put(w, &r, &err), 0);
		vigil_record_clear(&r);
		assert_int_equal(vigil_store_commit(w, f->sk, &g, &err), 0);
		snprintf(wal, sizeof(wal), "%s-wal", f->db);
		assert_int_equal(stat(wal, &sb), 0);
		assert_true(sb.st_size > 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct vigil_store *st = NULL;

			if (setgid(65534) || setuid(65534))
				_exit(10);
			if (vigil_store_open(f->dir, VIGIL_STORE_RDONLY, &st, &err) ||
			    vigil_store_latest(st, &g, &err) || vigil_store_verify(st, &g, f->pk, &err)) {
				printf("      reading as nobody beside a writer: %s\n", err.msg);
				fflush(stdout);
				vigil_store_close(st);
				_exit(11);
			}
			vigil_store_close(st);
			printf("      reading as nobody beside a writer: generation %" PRId64 " verified\n", g.id);
			fflush(stdout);
			_exit(g.id == 2 ? 0 : 12);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		vigil_store_close(w);
	}
}

/* --- size: a Docker host's 157k paths ----------------------------------------- */

/* Process CPU time: wall time on a shared 2-core machine is mostly noise. */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_cb(void *arg, const struct vigil_record *old, const struct vigil_record *cur)
{
	uint64_t *n = arg;

	n[!old ? 0 : !cur ? 1 : 2]++;
	return 0;
}

static void test_157k(void **state)
{
	enum { N = 157000 };
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct vigil_store *st;
	struct vigil_generation g;
	uint32_t *order = malloc(N * sizeof(*order));
	uint64_t counts[3] = { 0, 0, 0 };
	double t[8], w[8];

	assert_non_null(order);
	/* Hash-pool completion order is not path order: insert shuffled. */
	for (uint32_t i = 0; i < N; i++)
		order[i] = i;
	srand(7);
	for (uint32_t i = N - 1; i > 0 && !getenv("VIGIL_TEST_SORTED"); i--) {
		uint32_t j = (uint32_t)rand() % (i + 1), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	st = open_store(f, VIGIL_STORE_CREATE);
	w[0] = wall();
	t[0] = now();
	assert_int_equal(vigil_store_begin(st, "baseline", &err), 0);
	for (uint32_t i = 0; i < N; i++) {
		struct vigil_record r;
		char p[128];

		snprintf(p, sizeof(p), "/var/lib/docker/overlay2/%08x%08x/diff/usr/lib/file%06u",
			 order[i] % 400 * 2654435761u, order[i] % 400, order[i]);
		make(&r, p, strlen(p), (int)order[i]);
		r.algos = VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256);
		assert_int_equal(vigil_store_put(st, &r, &err), 0);
		vigil_record_clear(&r);
	}
	t[1] = now();
	w[1] = wall();
	assert_int_equal(vigil_store_commit(st, f->sk, &g, &err), 0);
	t[2] = now();
	w[2] = wall();
	assert_int_equal(vigil_store_verify(st, &g, f->pk, &err), 0);
	t[3] = now();
	w[3] = wall();
	vigil_store_close(st);

	t[4] = now();
	w[4] = wall();
	st = open_store(f, VIGIL_STORE_RDONLY);
	assert_int_equal(vigil_store_scratch_begin(st, &err), 0);
	/* The scan: one path gone, one new, the rest present. */
	for (uint32_t i = 1; i <= N; i++) {
		struct vigil_record r;
		char p[128];

		snprintf(p, sizeof(p), "/var/lib/docker/overlay2/%08x%08x/diff/usr/lib/file%06u",
			 order[i % N] % 400 * 2654435761u, order[i % N] % 400, i == N ? N : order[i % N]);
		make(&r, p, strlen(p), (int)order[i % N]);
		r.algos = VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256);
		assert_int_equal(vigil_store_scratch_put(st, &r, &err), 0);
		vigil_record_clear(&r);
	}
	t[5] = now();
	w[5] = wall();
	assert_int_equal(vigil_store_scratch_merge(st, g.id, count_cb, counts, &err), 0);
	t[6] = now();
	w[6] = wall();
	vigil_store_scratch_end(st);
	vigil_store_close(st);
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[1], 1);
	assert_int_equal(counts[2], N - 1);
	{
		static const char *const phase[] = { "put", "commit (digest, sign, COMMIT)", "verify",
			"close (checkpoint)", "scratch_begin + scratch put", "merge" };

		printf("      %d records (CPU s / wall s):", N);
		for (int i = 0; i < 6; i++)
			printf(" %s %.2f/%.2f;", phase[i], t[i + 1] - t[i], w[i + 1] - w[i]);
		printf("\n");
	}
	free(order);
}

/* The chain and the signed head (issue 8, defect 2): each generation links to
 * the one before; the head outside the database names the current one, so a
 * database rolled back alone is refused, and a head one generation behind (a
 * crash between the two writes) is not. */
static void test_head_chain(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct vigil_generation g1, g2, g;
	struct vigil_store_head h;
	struct vigil_store *st;
	char head[256], head1[256];

	assert_int_equal(write_gen(f, "baseline"), 1);
	assert_int_equal(vigil_store_head_read(f->dir, f->pk, &h, &err), 0);
	assert_int_equal(h.gen, 1);
	assert_int_equal(h.counter, 1);
	snprintf(head, sizeof(head), "%s/" VIGIL_STORE_HEAD_FILE, f->dir);
	snprintf(head1, sizeof(head1), "%s/head1", f->top);
	assert_int_equal(link(head, head1), 0);
	assert_int_equal(write_gen(f, "baseline"), 2);
	st = open_store(f, VIGIL_STORE_RDONLY);
	assert_int_equal(vigil_store_generation(st, 1, &g1, &err), 0);
	assert_int_equal(vigil_store_latest(st, &g2, &err), 0);
	assert_int_equal(g2.id, 2);
	assert_int_equal(g1.prev_id, 0);
	assert_int_equal(g2.prev_id, 1);
	assert_memory_equal(g2.prev_digest, g1.digest, 32);
	assert_int_equal(vigil_store_verify(st, &g2, f->pk, &err), 0);
	assert_int_equal(vigil_store_verify(st, &g1, f->pk, &err), 0); /* an older one still verifies */
	vigil_store_close(st);
	assert_int_equal(vigil_store_head_read(f->dir, f->pk, &h, &err), 0);
	assert_int_equal(h.gen, 2);
	assert_int_equal(h.counter, 2);
	assert_memory_equal(h.digest, g2.digest, 32);

	/* the newest generation hidden: refused by latest and by a writer */
	sql(f->db, "UPDATE generations SET complete = 0 WHERE id = 2");
	st = open_store(f, VIGIL_STORE_RDONLY);
	assert_int_equal(vigil_store_latest(st, &g, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "rolled back"));
	vigil_store_close(st);
	st = open_store(f, 0);
	assert_int_equal(vigil_store_begin(st, "baseline", &err), -EBADMSG);
	vigil_store_close(st);
	sql(f->db, "UPDATE generations SET complete = 1 WHERE id = 2");

	/* the head never goes back: writing generation 1's keeps generation 2's */
	h.gen = 1;
	memcpy(h.digest, g1.digest, 32);
	assert_int_equal(vigil_store_head_write(f->dir, f->sk, &h, &err), 0);
	assert_int_equal(h.gen, 2);
	assert_int_equal(h.counter, 2);
	/* a head one behind (generation 1's file put back, as after a crash
	 * between the commit and the head write), generation 2 linking to it:
	 * accepted */
	assert_int_equal(rename(head1, head), 0);
	st = open_store(f, VIGIL_STORE_RDONLY);
	assert_int_equal(vigil_store_latest(st, &g, &err), 0);
	assert_int_equal(g.id, 2);
	assert_int_equal(vigil_store_verify(st, &g, f->pk, &err), 0);
	vigil_store_close(st);

	/* a head signed by another key */
	{
		struct vigil_seckey *other = NULL;
		char keys[160];

		snprintf(keys, sizeof(keys), "%s/other", f->top);
		assert_int_equal(vigil_sign_keygen(keys, 0, &err), 0);
		assert_int_equal(vigil_seckey_load(keys, &other, &err), 0);
		h.gen = 2;
		memcpy(h.digest, g2.digest, 32);
		assert_int_equal(vigil_store_head_write(f->dir, other, &h, &err), 0);
		vigil_seckey_free(other);
	}
	st = open_store(f, VIGIL_STORE_RDONLY);
	assert_int_equal(vigil_store_latest(st, &g, &err), 0);
	assert_int_equal(vigil_store_verify(st, &g, f->pk, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "baseline head"));
	vigil_store_close(st);
}

/* StrictModes (issue 8, defect 9): a state dir or database others can write,
 * or a database owned by another user, is refused naming the path and the fix. */
static void test_strict_modes(void **state)
{
	struct store_fix *f = *state;
	struct vigil_err err = { "" };
	struct vigil_store *st = NULL;

	assert_int_equal(write_gen(f, "baseline"), 1);
	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_int_equal(vigil_store_open(f->dir, VIGIL_STORE_RDONLY, &st, &err), -EPERM);
	assert_non_null(strstr(err.msg, f->dir));
	assert_non_null(strstr(err.msg, "chmod go-w"));
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(chmod(f->db, 0664), 0);
	expect_open_fail(f, VIGIL_STORE_RDONLY, -EPERM, "writable by group");
	assert_int_equal(chmod(f->db, 0644), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(f->db, 12345, 0), 0);
		expect_open_fail(f, VIGIL_STORE_RDONLY, -EPERM, "owned by uid 12345");
		assert_int_equal(chown(f->db, 0, 0), 0);
	}
	st = open_store(f, VIGIL_STORE_RDONLY);
	vigil_store_close(st);
}

int main(void)
{
	struct vigil_err err = { "" };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_generations, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_crash_mid_generation, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_tamper, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_copy_except, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_scratch_merge, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_empty, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_foreign_and_version, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_truncated_and_overwritten, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_locked, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_readonly_dir, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_head_chain, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_strict_modes, setup, store_fix_teardown),
		cmocka_unit_test_setup_teardown(test_157k, setup, store_fix_teardown),
	};

	init_hostile();
	/* VIGIL_TEST_FILTER=test_157k runs one test (cmocka glob). */
	if (getenv("VIGIL_TEST_FILTER"))
		cmocka_set_test_filter(getenv("VIGIL_TEST_FILTER"));
	if (vigil_crypto_init(&err))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
