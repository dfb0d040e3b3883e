/* store_retain.c - retention: which generations go (older than the newest
 * `keep`, or older than max_age), which never do (the newest, and those a
 * caller protects: generations a custody case refers to), and the space
 * given back (incremental vacuum, in databases created with auto_vacuum =
 * INCREMENTAL; older databases keep their pages for reuse). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "vigil/store.h"

#include "store_priv.h"

static int64_t one_int(struct vigil_store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (store_prepare(st, sql, &s, "", NULL))
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Rows are shared by the run of generations first_gen..last_gen (store.c):
 * one goes when no generation in its run is left. */
int store_gc(struct vigil_store *st, struct store_gc *gc, struct vigil_err *err)
{
	int64_t before = sqlite3_total_changes64(st->db);
	int rc;

	if (gc)
		gc->pages = one_int(st, "PRAGMA page_count");
	rc = store_exec(st, "DELETE FROM records WHERE NOT EXISTS (SELECT 1 FROM generations g"
			" WHERE g.id BETWEEN records.first_gen AND records.last_gen);"
			"DELETE FROM objects WHERE NOT EXISTS (SELECT 1 FROM generations g"
			" WHERE g.id BETWEEN objects.first_gen AND objects.last_gen)",
			"deleting rows no generation holds", err);
	if (!rc && gc) {
		gc->deleted = sqlite3_total_changes64(st->db) - before;
		gc->left = one_int(st, "SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM objects)");
	}
	return rc;
}

/* The freed pages go back to the file system.  A row deleted from a page
 * that keeps other rows (the other versions of its path sit beside it, in
 * path order) frees no page: when a tenth of the rows or more went but the
 * file shrank by less than half that share, VACUUM rewrites it compactly
 * (pruning is rare: once after a scheduled generation at most). */
int store_give_back(struct vigil_store *st, const struct store_gc *gc, struct vigil_err *err)
{
	int64_t pages;
	int rc = store_exec(st, "PRAGMA incremental_vacuum", "giving pages back", err);

	if (rc || !gc || gc->deleted <= 0 || gc->pages <= 0 || gc->left < 0)
		return rc;
	pages = one_int(st, "PRAGMA page_count");
	if (gc->deleted * 10 < gc->deleted + gc->left ||
	    (double)(gc->pages - pages) / (double)gc->pages >= (double)gc->deleted / (double)(gc->deleted + gc->left) / 2)
		return 0;
	/* best effort: the generations are gone either way, and a VACUUM that
	 * finds no room for its copy leaves the file as it was */
	store_exec(st, "VACUUM", "compacting the baseline database", NULL);
	return 0;
}

static int is_protected(int64_t id, const int64_t *protect, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (protect[i] == id)
			return 1;
	return 0;
}

int vigil_store_retain(struct vigil_store *st, unsigned keep, uint64_t max_age_s, int64_t now,
		       const int64_t *protect, size_t n_protect, int64_t **pruned, size_t *n_pruned,
		       struct vigil_err *err)
{
	struct store_gc gc = { 0 };
	sqlite3_stmt *s = NULL;
	int64_t *out = NULL;
	size_t n = 0, rank = 0;
	int rc;

	*pruned = NULL;
	*n_pruned = 0;
	if (st->flags & VIGIL_STORE_RDONLY)
		return vigil_err_set(err, -EROFS, "baseline database '%s' is open read-only", st->path);
	if (st->writing)
		return vigil_err_set(err, -EBUSY, "baseline database '%s': a generation is being written", st->path);
	rc = store_prepare(st, "SELECT id, created FROM generations WHERE complete = 1 ORDER BY id DESC", &s,
			   "listing generations", err);
	if (rc)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0), created = sqlite3_column_int64(s, 1);
		int old = (keep && rank >= keep) || (max_age_s && created < now - (int64_t)max_age_s);
		int64_t *nv;

		if (rank++ == 0 || !old || is_protected(id, protect, n_protect))
			continue;
		nv = realloc(out, (n + 1) * sizeof(*nv));
		if (!nv) {
			sqlite3_finalize(s);
			free(out);
			return vigil_err_set(err, -ENOMEM, "out of memory");
		}
		out = nv;
		out[n++] = id;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		free(out);
		return store_db_fail(st, rc, err, "listing generations");
	}
	rc = store_exec(st, "BEGIN IMMEDIATE", "pruning generations", err);
	for (size_t i = 0; !rc && i < n; i++) {
		rc = store_prepare(st, "DELETE FROM generations WHERE id = ?", &s, "pruning generations", err);
		if (rc)
			break;
		sqlite3_bind_int64(s, 1, out[i]);
		rc = sqlite3_step(s);
		rc = rc == SQLITE_DONE ? 0 : store_db_fail(st, rc, err, "pruning generations");
		sqlite3_finalize(s);
	}
	if (!rc && n)
		rc = store_gc(st, &gc, err);
	if (!rc)
		rc = store_exec(st, "COMMIT", "pruning generations", err);
	else
		store_exec(st, "ROLLBACK", "pruning generations", NULL);
	/* the pages of the deleted rows go back to the file system */
	if (!rc && n)
		rc = store_give_back(st, &gc, err);
	if (rc) {
		free(out);
		return rc;
	}
	*pruned = out;
	*n_pruned = n;
	return 0;
}

/* Generations the custody ledger names ("generation": N in any record of
 * STATE_DIR/custody.jsonl, agent/capture/custody.c's file): a case's
 * evidence may rest on them. */
static size_t custody_gens(const char *dir, int64_t **out)
{
	char path[4096], *line = NULL;
	size_t cap = 0, n = 0;
	FILE *f;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/custody.jsonl", dir);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0) {
		json_t *o = json_loads(line, 0, NULL);
		json_t *g = json_object_get(o, "generation");
		int64_t *nv;

		if (json_is_integer(g) && (nv = realloc(*out, (n + 1) * sizeof(*nv)))) {
			*out = nv;
			nv[n++] = json_integer_value(g);
		}
		json_decref(o);
	}
	free(line);
	fclose(f);
	return n;
}

int vigil_store_retain_policy(struct vigil_store *st, const char *state_dir, unsigned keep, uint64_t max_age_s,
			      int64_t **pruned, size_t *n_pruned, struct vigil_err *err)
{
	int64_t *prot = NULL;
	size_t n_prot = custody_gens(state_dir, &prot);
	int rc = vigil_store_retain(st, keep, max_age_s, (int64_t)time(NULL), prot, n_prot, pruned, n_pruned, err);

	free(prot);
	return rc;
}
