/* store_write.c - the baseline store: writing a generation (begin, put,
 * copy, commit with the digest, the signature and the head; rollback; prune). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vigil/clock.h"
#include "vigil/crypto.h"
#include "vigil/store.h"

#include "store_priv.h"

/* --- writing ---------------------------------------------------------------------- */

static int need_writing(struct vigil_store *st, struct vigil_err *err)
{
	if (!st->writing)
		return vigil_err_set(err, -EINVAL, "baseline database '%s': no generation is being written",
				     st->path);
	return 0;
}

/* Links the generation about to be written to the newest one, which must
 * agree with the head.  No head at all starts a new chain: the first
 * baseline, or one started on purpose after the head was removed. */
static int begin_link(struct vigil_store *st, struct vigil_err *err)
{
	struct vigil_generation last;
	struct vigil_store_head h;
	int rc = store_newest(st, &last, err), hrc;

	if (rc && rc != -ENOENT)
		return rc;
	hrc = vigil_store_head_read(st->dir, NULL, &h, err);
	if (hrc != -ENOENT) {
		hrc = store_head_agrees(st, rc ? NULL : &last, &h, hrc, err);
		if (hrc)
			return hrc;
	}
	st->prev_id = rc ? 0 : last.id;
	memset(st->prev_digest, 0, sizeof(st->prev_digest));
	if (!rc)
		memcpy(st->prev_digest, last.digest, sizeof(st->prev_digest));
	return 0;
}

int vigil_store_begin(struct vigil_store *st, const char *kind, struct vigil_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (st->flags & VIGIL_STORE_RDONLY)
		return vigil_err_set(err, -EROFS, "baseline database '%s' is open read-only", st->path);
	if (st->writing || st->scratch_txn)
		return vigil_err_set(err, -EBUSY, "baseline database '%s': a generation or a scratch table "
				     "is already open on this handle", st->path);
	if (!kind || !*kind || strlen(kind) >= sizeof(st->kind))
		return vigil_err_set(err, -EINVAL, "generation kind '%s' is empty or too long", kind ? kind : "");
	snprintf(st->kind, sizeof(st->kind), "%s", kind);
	if (gethostname(st->host, sizeof(st->host)) < 0)
		snprintf(st->host, sizeof(st->host), "unknown");
	st->host[sizeof(st->host) - 1] = '\0';
	st->created = vigil_clock_real_ns() / 1000000000;
	/* Puts arrive in hash-pool order, not path order: with SQLite's default
	 * 2 MiB cache, inserting 157k shuffled records into the path-keyed table
	 * kept spilling pages and took 2.3 s of CPU.  The walker's order is nearly
	 * sorted (directory by directory), and there 8 MiB costs no more CPU than
	 * 32 MiB did (measured on a /usr copy, 137k files: 8.4 s user either way)
	 * while peak RSS of `vigil baseline` drops from 40 MB to 15 MB: the issue's
	 * bound is 32 MB whatever the tree's size.  Back to the default at the end:
	 * the merge's sorter ran faster with the small cache. */
	sqlite3_exec(st->db, "PRAGMA main.cache_size = -8192", NULL, NULL, NULL);
	rc = store_exec(st, "BEGIN IMMEDIATE", "starting a generation", err);
	if (rc) {
		sqlite3_exec(st->db, "PRAGMA main.cache_size = -2000", NULL, NULL, NULL);
		return rc;
	}
	st->writing = 1;
	rc = begin_link(st, err);
	if (rc)
		goto out;
	rc = store_prepare(st, "INSERT INTO generations(created, host, kind) VALUES(?, ?, ?)", &s,
		     "starting a generation", err);
	if (rc)
		goto out;
	sqlite3_bind_int64(s, 1, st->created);
	sqlite3_bind_text(s, 2, st->host, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, st->kind, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		rc = store_db_fail(st, rc, err, "starting a generation");
		goto out;
	}
	st->gen = sqlite3_last_insert_rowid(st->db);
	/* ?22: this generation, ?23: the previous one.  A row the previous
	 * generation holds unchanged is extended in place (its key stays, so a
	 * reader of the previous generation on this handle sees it once); a
	 * path this generation already holds is neither extended nor inserted
	 * again (store_step_put(): "given twice"). */
	/* With no previous generation nothing can be extended into this one: the
	 * primary key (path, first_gen) alone refuses a path given twice, and the
	 * NOT EXISTS probe per row (+20 % of a first baseline's wall time on
	 * /usr/lib, measured) is left out. */
	rc = store_prepare(st, st->prev_id ? "INSERT INTO records(first_gen, last_gen, " REC_COLS ") SELECT ?22, ?22, "
			   REC_NPARAMS " WHERE NOT EXISTS (SELECT 1 FROM records WHERE path = ?1 AND last_gen >= ?22)"
			   : "INSERT INTO records(first_gen, last_gen, " REC_COLS ") VALUES(?22, ?22, " REC_NPARAMS ")",
			   &st->ins_rec, "starting a generation", err);
	if (!rc)
		rc = store_prepare(st, "UPDATE records SET last_gen = ?22 WHERE path = ?1 AND last_gen = ?23 AND "
				   REC_SAME " AND NOT EXISTS (SELECT 1 FROM records AS t WHERE t.path = ?1"
				   " AND t.last_gen >= ?22)", &st->ext_rec, "starting a generation", err);
	if (!rc)
		rc = store_prepare(st, "INSERT INTO objects(first_gen, last_gen, kind, key, data) SELECT ?4, ?4, ?1, ?2, ?3"
				   " WHERE NOT EXISTS (SELECT 1 FROM objects WHERE kind = ?1 AND key = ?2 AND last_gen >= ?4)",
				   &st->ins_obj, "starting a generation", err);
	if (!rc)
		rc = store_prepare(st, "UPDATE objects SET last_gen = ?4 WHERE kind = ?1 AND key = ?2 AND last_gen = ?5"
				   " AND data = ?3 AND NOT EXISTS (SELECT 1 FROM objects AS t WHERE t.kind = ?1"
				   " AND t.key = ?2 AND t.last_gen >= ?4)", &st->ext_obj, "starting a generation", err);
out:
	sqlite3_finalize(s);
	if (rc)
		vigil_store_rollback(st);
	return rc;
}

int store_step_insert(struct vigil_store *st, sqlite3_stmt *s, const char *path, size_t len,
		       const char *what, struct vigil_err *err)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		char p[256];

		store_path_str(path, len, p);
		return vigil_err_set(err, -EEXIST, "baseline database '%s': %s '%s' given twice", st->path, what, p);
	}
	return store_db_fail(st, rc, err, what);
}

/* Steps ins, the INSERT of a row this generation does not hold yet. */
static int step_put(struct vigil_store *st, sqlite3_stmt *ins, const char *path, size_t len, const char *what,
		    struct vigil_err *err)
{
	char p[256];
	int rc = store_step_insert(st, ins, path, len, what, err);

	if (rc || sqlite3_changes(st->db) > 0)
		return rc;
	store_path_str(path, len, p);
	return vigil_err_set(err, -EEXIST, "baseline database '%s': %s '%s' given twice", st->path, what, p);
}

/* Steps ext, the UPDATE that moves an identical row of the previous
 * generation on to this one: 1 done, 0 no such row (insert one), -errno. */
static int step_extend(struct vigil_store *st, sqlite3_stmt *ext, const char *path, size_t len,
		       const char *what, struct vigil_err *err)
{
	int rc;

	if (!st->prev_id) {
		sqlite3_reset(ext);
		sqlite3_clear_bindings(ext);
		return 0;
	}
	rc = store_step_insert(st, ext, path, len, what, err);
	return rc ? rc : sqlite3_changes(st->db) > 0;
}

int vigil_store_put(struct vigil_store *st, const struct vigil_record *rec, struct vigil_err *err)
{
	int rc = need_writing(st, err);

	if (!rc)
		rc = store_check_record(st, rec, err);
	if (rc)
		return rc;
	if (store_bind_record(st->ext_rec, 1, rec) || sqlite3_bind_int64(st->ext_rec, 22, st->gen) ||
	    sqlite3_bind_int64(st->ext_rec, 23, st->prev_id)) {
		sqlite3_clear_bindings(st->ext_rec);
		return vigil_err_set(err, -ENOMEM, "baseline database '%s': storing a record: out of memory", st->path);
	}
	rc = step_extend(st, st->ext_rec, rec->path, rec->path_len, "path", err);
	if (rc)
		return rc < 0 ? rc : 0;
	if (store_bind_record(st->ins_rec, 1, rec) || sqlite3_bind_int64(st->ins_rec, 22, st->gen)) {
		sqlite3_clear_bindings(st->ins_rec);
		return vigil_err_set(err, -ENOMEM, "baseline database '%s': storing a record: out of memory", st->path);
	}
	return step_put(st, st->ins_rec, rec->path, rec->path_len, "path", err);
}

/* Binds (kind, key, data, this generation, the previous one) to s. */
static int bind_object(struct vigil_store *st, sqlite3_stmt *s, const char *kind, const char *key,
		       const void *data, size_t len)
{
	return sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC) || sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC) ||
	       store_bind_blob(s, 3, data, len) || sqlite3_bind_int64(s, 4, st->gen) ||
	       (sqlite3_bind_parameter_count(s) >= 5 && sqlite3_bind_int64(s, 5, st->prev_id));
}

int vigil_store_put_object(struct vigil_store *st, const char *kind, const char *key,
			   const void *data, size_t len, struct vigil_err *err)
{
	int rc = need_writing(st, err);

	if (rc)
		return rc;
	if (!kind || !key || !*kind)
		return vigil_err_set(err, -EINVAL, "baseline database '%s': object without kind or key", st->path);
	if (bind_object(st, st->ext_obj, kind, key, data, len)) {
		sqlite3_clear_bindings(st->ext_obj);
		return vigil_err_set(err, -ENOMEM, "baseline database '%s': storing an object: out of memory", st->path);
	}
	rc = step_extend(st, st->ext_obj, key, strlen(key), "object", err);
	if (rc)
		return rc < 0 ? rc : 0;
	if (bind_object(st, st->ins_obj, kind, key, data, len)) {
		sqlite3_clear_bindings(st->ins_obj);
		return vigil_err_set(err, -ENOMEM, "baseline database '%s': storing an object: out of memory", st->path);
	}
	return step_put(st, st->ins_obj, key, strlen(key), "object", err);
}

int vigil_store_copy_except(struct vigil_store *st, int64_t from, const char *const *skip,
			    const size_t *skip_len, size_t n, struct vigil_err *err)
{
	struct vigil_generation g;
	sqlite3_stmt *s = NULL;
	int rc = need_writing(st, err);

	if (rc)
		return rc;
	rc = vigil_store_generation(st, from, &g, err);
	if (rc)
		return rc;
	rc = store_exec(st, "CREATE TEMP TABLE IF NOT EXISTS skip(path BLOB PRIMARY KEY) WITHOUT ROWID;"
		  " DELETE FROM temp.skip", "copying a generation", err);
	if (rc)
		return rc;
	rc = store_prepare(st, "INSERT OR IGNORE INTO temp.skip(path) VALUES(?)", &s, "copying a generation", err);
	for (size_t i = 0; !rc && i < n; i++) {
		store_bind_blob(s, 1, skip[i], skip_len[i]);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		rc = rc == SQLITE_DONE ? 0 : store_db_fail(st, rc, err, "copying a generation");
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rc)
		goto out;
	/* a path of `from` this generation already holds */
	rc = store_prepare(st, "SELECT 1 FROM records AS a WHERE a.last_gen >= ?1 AND a.path NOT IN"
			   " (SELECT path FROM temp.skip) AND EXISTS (SELECT 1 FROM records AS b WHERE"
			   " b.path = a.path AND b.first_gen <= ?2 AND b.last_gen >= ?2) LIMIT 1", &s,
			   "copying a generation", err);
	if (rc)
		goto out;
	sqlite3_bind_int64(s, 1, st->gen);
	sqlite3_bind_int64(s, 2, from);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	s = NULL;
	if (rc == SQLITE_ROW) {
		rc = SQLITE_CONSTRAINT;
		goto out;
	}
	if (rc != SQLITE_DONE) {
		rc = store_db_fail(st, rc, err, "copying a generation");
		goto out;
	}
	/* from the previous generation: its rows now reach this one too; from
	 * an older one: copies (its rows may not span the ones in between) */
	if (from == st->prev_id)
		rc = store_prepare(st, "UPDATE records SET last_gen = ?1 WHERE last_gen = ?2"
				   " AND path NOT IN (SELECT path FROM temp.skip)", &s, "copying a generation", err);
	else
		rc = store_prepare(st, "INSERT INTO records(first_gen, last_gen, " REC_COLS ") SELECT ?1, ?1, "
				   REC_COLS " FROM records WHERE first_gen <= ?2 AND last_gen >= ?2"
				   " AND path NOT IN (SELECT path FROM temp.skip)", &s, "copying a generation", err);
	if (rc)
		goto out;
	sqlite3_bind_int64(s, 1, st->gen);
	sqlite3_bind_int64(s, 2, from);
	rc = sqlite3_step(s);
out:
	if (rc > 0 && (rc & 0xff) == SQLITE_CONSTRAINT)
		rc = vigil_err_set(err, -EEXIST, "baseline database '%s': copying generation %" PRId64
				   ": a copied path was already put (copy first, then put)", st->path, from);
	else
		rc = rc == SQLITE_DONE ? 0 : rc > 0 ? store_db_fail(st, rc, err, "copying a generation") : rc;
	sqlite3_finalize(s);
	sqlite3_exec(st->db, "DELETE FROM temp.skip", NULL, NULL, NULL);
	return rc;
}

int vigil_store_commit(struct vigil_store *st, const struct vigil_seckey *key,
		       struct vigil_generation *out, struct vigil_err *err)
{
	struct vigil_generation g;
	sqlite3_stmt *s = NULL;
	int rc = need_writing(st, err);

	if (rc)
		return rc;
	if (!key) {
		rc = vigil_err_set(err, -EINVAL, "baseline database '%s': a generation must be signed", st->path);
		goto out;
	}
	memset(&g, 0, sizeof(g));
	g.id = st->gen;
	g.created = st->created;
	snprintf(g.host, sizeof(g.host), "%s", st->host);
	snprintf(g.kind, sizeof(g.kind), "%s", st->kind);
	g.prev_id = st->prev_id;
	memcpy(g.prev_digest, st->prev_digest, sizeof(g.prev_digest));
	rc = store_compute_digest(st, &g, g.digest, &g.n_records, err);
	if (!rc)
		rc = vigil_sign(key, g.digest, sizeof(g.digest), g.sig, err);
	if (rc)
		goto out;
	vigil_seckey_id(key, g.key_id);
	rc = store_prepare(st, "UPDATE generations SET n_records = ?, digest = ?, sig = ?, key_id = ?, complete = 1,"
		     " prev_id = ?, prev_digest = ? WHERE id = ?", &s, "committing a generation", err);
	if (rc)
		goto out;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)g.n_records);
	sqlite3_bind_blob(s, 2, g.digest, sizeof(g.digest), SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, g.sig, sizeof(g.sig), SQLITE_STATIC);
	sqlite3_bind_blob(s, 4, g.key_id, sizeof(g.key_id), SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, g.prev_id);
	if (g.prev_id)
		sqlite3_bind_blob(s, 6, g.prev_digest, sizeof(g.prev_digest), SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 6);
	sqlite3_bind_int64(s, 7, g.id);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_DONE ? 0 : store_db_fail(st, rc, err, "committing a generation");
	sqlite3_finalize(s);
	s = NULL;
	if (rc)
		goto out;
	/* Statements must be done before COMMIT can release the write lock. */
	sqlite3_finalize(st->ins_rec);
	sqlite3_finalize(st->ins_obj);
	sqlite3_finalize(st->ext_rec);
	sqlite3_finalize(st->ext_obj);
	st->ins_rec = st->ins_obj = st->ext_rec = st->ext_obj = NULL;
	rc = store_exec(st, "COMMIT", "committing a generation", err);
	if (rc)
		goto out;
	sqlite3_exec(st->db, "PRAGMA main.cache_size = -2000", NULL, NULL, NULL);
	st->writing = 0;
	if (out)
		*out = g;
	{
		struct vigil_store_head h = { .gen = g.id };

		memcpy(h.digest, g.digest, sizeof(h.digest));
		rc = vigil_store_head_write(st->dir, key, &h, err);
		if (rc)
			vigil_err_prefix(err, rc, "generation %" PRId64 " is committed, but", g.id);
	}
out:
	if (rc)
		vigil_store_rollback(st);
	return rc;
}

void vigil_store_rollback(struct vigil_store *st)
{
	if (!st || !st->writing)
		return;
	sqlite3_finalize(st->ins_rec);
	sqlite3_finalize(st->ins_obj);
	sqlite3_finalize(st->ext_rec);
	sqlite3_finalize(st->ext_obj);
	st->ins_rec = st->ins_obj = st->ext_rec = st->ext_obj = NULL;
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_exec(st->db, "PRAGMA main.cache_size = -2000", NULL, NULL, NULL);
	st->writing = 0;
	/* A scratch table begun inside the write transaction went with it. */
	if (st->scratch && !st->scratch_txn) {
		sqlite3_finalize(st->ins_scratch);
		st->ins_scratch = NULL;
		st->scratch = 0;
	}
}

int vigil_store_prune(struct vigil_store *st, unsigned keep, struct vigil_err *err)
{
	struct store_gc gc;
	sqlite3_stmt *s = NULL;
	int rc;

	if (st->flags & VIGIL_STORE_RDONLY)
		return vigil_err_set(err, -EROFS, "baseline database '%s' is open read-only", st->path);
	if (st->writing || keep == 0)
		return vigil_err_set(err, -EINVAL, "baseline database '%s': prune needs keep >= 1 and no "
				     "generation being written", st->path);
	rc = store_exec(st, "BEGIN IMMEDIATE", "pruning old generations", err);
	if (rc)
		return rc;
	rc = store_prepare(st, "DELETE FROM generations WHERE id NOT IN"
		     " (SELECT id FROM generations WHERE complete = 1 ORDER BY id DESC LIMIT ?)",
		     &s, "pruning old generations", err);
	if (!rc) {
		sqlite3_bind_int64(s, 1, keep);
		rc = sqlite3_step(s);
		rc = rc == SQLITE_DONE ? 0 : store_db_fail(st, rc, err, "pruning old generations");
		sqlite3_finalize(s);
	}
	if (!rc)
		rc = store_gc(st, &gc, err);
	if (!rc)
		rc = store_exec(st, "COMMIT", "pruning old generations", err);
	if (rc) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	return store_give_back(st, &gc, err);
}
