/* store_migrate.c - the baseline store: schema 2 to 3.
 *
 * Schema 2 held a full copy of the records and objects per generation
 * (records(gen, path, ...), objects(gen, kind, key, data)); schema 3 holds
 * each once for the run of generations that hold it unchanged (store.c).
 * The generations are replayed in id order: a row identical to one the
 * previous generation holds moves that row's last_gen on, any other row is
 * inserted.  The rows a generation holds, and so its digest and signature,
 * are the same before and after: nothing is re-signed.  All in one
 * transaction (a crash leaves schema 2 as it was); then the freed pages go
 * back to the file system (a VACUUM for stores made before auto_vacuum was
 * set, which also turns it on).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/store.h"

#include "store_priv.h"

/* "a.c IS b.c AND ..." for every column of cols but the first (the key
 * the caller compares itself). */
static char *same_cols(const char *cols, const char *a, const char *b)
{
	size_t cap = strlen(cols) * 4 + 64, n = 0;
	char *out = malloc(cap), *dup = strdup(cols), *save = NULL;
	int first = 1;

	if (!out || !dup) {
		free(out);
		free(dup);
		return NULL;
	}
	out[0] = '\0';
	for (char *c = strtok_r(dup, ", ", &save); c; c = strtok_r(NULL, ", ", &save)) {
		if (first) {
			first = 0;
			continue;
		}
		n += (size_t)snprintf(out + n, cap - n, "%s%s.%s IS %s.%s", n ? " AND " : "", a, c, b, c);
	}
	free(dup);
	return out;
}

/* Replays generation g (previous: p, 0 for none) from the v2 table old into
 * the v3 table new; cols: its columns, the key first-ordered as in the
 * primary key (records: path; objects: kind, key). */
static int replay(struct vigil_store *st, const char *old, const char *new, const char *cols,
		  const char *key_match, int64_t g, int64_t p, struct vigil_err *err)
{
	char *same = same_cols(cols, "o", "n"), *sql = NULL;
	sqlite3_stmt *s = NULL;
	int rc = 0;

	if (!same || asprintf(&sql, "UPDATE %s AS n SET last_gen = ?1 WHERE last_gen = ?2 AND EXISTS"
			      " (SELECT 1 FROM %s AS o WHERE o.gen = ?1 AND %s AND %s);"
			      "INSERT INTO %s(first_gen, last_gen, %s) SELECT ?1, ?1, %s FROM %s AS o"
			      " WHERE o.gen = ?1 AND NOT EXISTS (SELECT 1 FROM %s AS n WHERE n.last_gen = ?1 AND %s)",
			      new, old, key_match, same, new, cols, cols, old, new, key_match) < 0) {
		free(same);
		return vigil_err_set(err, -ENOMEM, "migrating the baseline database: out of memory");
	}
	/* two statements, the same parameters */
	for (const char *tail = sql; !rc && tail && *tail;) {
		rc = sqlite3_prepare_v2(st->db, tail, -1, &s, &tail);
		if (rc != SQLITE_OK) {
			rc = store_db_fail(st, rc, err, "migrating schema 2");
			break;
		}
		if (!s)
			break;
		sqlite3_bind_int64(s, 1, g);
		sqlite3_bind_int64(s, 2, p);
		rc = sqlite3_step(s);
		rc = rc == SQLITE_DONE ? 0 : store_db_fail(st, rc, err, "migrating schema 2");
		sqlite3_finalize(s);
		s = NULL;
	}
	free(sql);
	free(same);
	return rc;
}

static int migrate(struct vigil_store *st, struct vigil_err *err)
{
	sqlite3_stmt *s = NULL;
	int64_t prev = 0;
	int rc = store_exec(st, "CREATE TABLE records_v3(" REC_TABLE_DECL ") WITHOUT ROWID;"
			    "CREATE TABLE objects_v3(" OBJ_TABLE_DECL ") WITHOUT ROWID",
			    "migrating schema 2", err);

	if (rc)
		return rc;
	/* every generation, complete or not: a row must not span one it is not in */
	rc = store_prepare(st, "SELECT id FROM generations ORDER BY id", &s, "migrating schema 2", err);
	if (rc)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t g = sqlite3_column_int64(s, 0);

		rc = replay(st, "records", "records_v3", REC_COLS, "o.path = n.path", g, prev, err);
		if (!rc)
			rc = replay(st, "objects", "objects_v3", "kind, key, data", "o.kind = n.kind AND o.key = n.key",
				    g, prev, err);
		if (rc)
			break;
		prev = g;
	}
	sqlite3_finalize(s);
	if (rc > 0)
		rc = rc == SQLITE_DONE ? 0 : store_db_fail(st, rc, err, "migrating schema 2");
	if (!rc)
		rc = store_exec(st, "DROP TABLE records; DROP TABLE objects;"
				" ALTER TABLE records_v3 RENAME TO records; ALTER TABLE objects_v3 RENAME TO objects;"
				" UPDATE meta SET value = 3 WHERE key = 'schema'", "migrating schema 2", err);
	return rc;
}

int store_migrate_v2(struct vigil_store *st, struct vigil_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = store_exec(st, "BEGIN IMMEDIATE", "migrating schema 2", err), vacuum_mode = -1;

	if (rc)
		return rc;
	/* another process may have migrated it while this one waited */
	rc = store_prepare(st, "SELECT value FROM meta WHERE key = 'schema'", &s, "migrating schema 2", err);
	if (!rc) {
		rc = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) == 3 ? -EALREADY : 0;
		sqlite3_finalize(s);
		s = NULL;
	}
	if (!rc)
		rc = migrate(st, err);
	if (rc == -EALREADY) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return 0;
	}
	if (!rc)
		rc = store_exec(st, "COMMIT", "migrating schema 2", err);
	if (rc) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return vigil_err_prefix(err, rc, "migrating baseline database '%s' from schema 2 to 3:", st->path);
	}
	/* The copies are gone: give their pages back.  Failing here (no room
	 * for VACUUM's copy) leaves a working store with free pages. */
	if (!store_prepare(st, "PRAGMA auto_vacuum", &s, "migrating schema 2", NULL)) {
		if (sqlite3_step(s) == SQLITE_ROW)
			vacuum_mode = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
	if (vacuum_mode == 2)
		store_give_back(st, NULL, NULL);
	else
		sqlite3_exec(st->db, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM", NULL, NULL, NULL);
	return 0;
}
