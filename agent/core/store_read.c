/* store_read.c - the baseline store: reading records and objects, and the
 * scratch table that `check` merges against a generation in path order. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/crypto.h"
#include "vigil/store.h"

#include "store_priv.h"

/* Rows are read in batches and the statement reset before the caller sees
 * them: a caller may write the generation after this one while it reads
 * (accept copies the previous generation), and extending a row in place
 * under an open cursor made SQLite return that row twice. */
#define ITER_BATCH 128
#define ITER_BATCH_SQL "128"

struct vigil_store_iter {
	struct vigil_store *st;
	sqlite3_stmt *stmt;
	int64_t gen;
	struct vigil_record rec[ITER_BATCH];
	size_t n, i;
	int done;
};

/* --- reading ---------------------------------------------------------------------- */

int vigil_store_get(struct vigil_store *st, int64_t gen, const char *path, size_t len,
		    struct vigil_record *rec, struct vigil_err *err)
{
	sqlite3_stmt *s = NULL;
	char p[256];
	int rc;

	vigil_record_init(rec);
	rc = store_prepare(st, "SELECT " REC_COLS " FROM records WHERE path = ?2 AND last_gen >= ?1 AND first_gen <= ?1"
			   " AND EXISTS (SELECT 1 FROM generations WHERE id = ?1)", &s, "reading a record", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, gen);
	store_bind_blob(s, 2, path, len);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		rc = store_read_record(st, s, 0, rec, gen, err);
		if (rc)
			vigil_record_clear(rec);
	} else if (rc == SQLITE_DONE) {
		store_path_str(path, len, p);
		rc = vigil_err_set(err, -ENOENT, "'%s' is not in baseline generation %" PRId64, p, gen);
	} else {
		rc = store_db_fail(st, rc, err, "reading a record");
	}
	sqlite3_finalize(s);
	return rc;
}

int vigil_store_get_object(struct vigil_store *st, int64_t gen, const char *kind, const char *key,
			   void **data, size_t *len, struct vigil_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*data = NULL;
	*len = 0;
	rc = store_prepare(st, "SELECT data FROM objects WHERE kind = ?2 AND key = ?3 AND last_gen >= ?1 AND first_gen <= ?1"
			   " AND EXISTS (SELECT 1 FROM generations WHERE id = ?1)", &s,
		     "reading an object", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, gen);
	sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(s, 0);
		size_t n = (size_t)sqlite3_column_bytes(s, 0);

		*data = malloc(n + 1);
		if (!*data) {
			rc = vigil_err_set(err, -ENOMEM, "reading object '%s': out of memory", key);
		} else {
			if (n)
				memcpy(*data, p, n);
			((char *)*data)[n] = '\0';
			*len = n;
			rc = 0;
		}
	} else if (rc == SQLITE_DONE) {
		rc = vigil_err_set(err, -ENOENT, "no %s object '%s' in baseline generation %" PRId64, kind, key, gen);
	} else {
		rc = store_db_fail(st, rc, err, "reading an object");
	}
	sqlite3_finalize(s);
	return rc;
}

int vigil_store_iter_new(struct vigil_store *st, int64_t gen, struct vigil_store_iter **out,
			 struct vigil_err *err)
{
	struct vigil_store_iter *it = calloc(1, sizeof(*it));
	int rc;

	*out = NULL;
	if (!it)
		return vigil_err_set(err, -ENOMEM, "reading generation %" PRId64 ": out of memory", gen);
	it->st = st;
	it->gen = gen;
	for (size_t i = 0; i < ITER_BATCH; i++)
		vigil_record_init(&it->rec[i]);
	/* ?2: the last path of the previous batch (x'' sorts before any path) */
	rc = store_prepare(st, "SELECT " REC_COLS " FROM records WHERE path > ?2 AND first_gen <= ?1 AND last_gen >= ?1"
			   " AND EXISTS (SELECT 1 FROM generations WHERE id = ?1) ORDER BY path LIMIT "
			   ITER_BATCH_SQL, &it->stmt, "reading records", err);
	if (rc) {
		free(it);
		return rc;
	}
	sqlite3_bind_int64(it->stmt, 1, gen);
	*out = it;
	return 0;
}

static void iter_clear(struct vigil_store_iter *it)
{
	for (size_t i = 0; i < it->n; i++)
		vigil_record_clear(&it->rec[i]);
	it->n = it->i = 0;
}

/* The next batch of rows after the last path read. */
static int iter_fill(struct vigil_store_iter *it, struct vigil_err *err)
{
	char *last = NULL;
	size_t last_len = 0;
	int rc = 0;

	if (it->n) {
		last = it->rec[it->n - 1].path; /* kept for the bind */
		last_len = it->rec[it->n - 1].path_len;
		it->rec[it->n - 1].path = NULL;
	}
	iter_clear(it);
	store_bind_blob(it->stmt, 2, last, last_len);
	while (it->n < ITER_BATCH && (rc = sqlite3_step(it->stmt)) == SQLITE_ROW) {
		rc = store_read_record(it->st, it->stmt, 0, &it->rec[it->n], it->gen, err);
		it->n++;
		if (rc)
			break;
	}
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		rc = 0;
	else if (rc > 0)
		rc = store_db_fail(it->st, rc, err, "reading records");
	sqlite3_reset(it->stmt);
	sqlite3_clear_bindings(it->stmt);
	sqlite3_bind_int64(it->stmt, 1, it->gen);
	free(last);
	if (rc)
		iter_clear(it);
	if (!rc && it->n < ITER_BATCH)
		it->done = 1;
	return rc;
}

int vigil_store_iter_next(struct vigil_store_iter *it, struct vigil_record *rec, struct vigil_err *err)
{
	if (it->i == it->n && !it->done) {
		int rc = iter_fill(it, err);

		if (rc)
			return rc;
	}
	if (it->i == it->n) {
		vigil_record_init(rec);
		return 0;
	}
	*rec = it->rec[it->i++];
	return 1;
}

void vigil_store_iter_free(struct vigil_store_iter *it)
{
	if (!it)
		return;
	iter_clear(it);
	sqlite3_finalize(it->stmt);
	free(it);
}

/* One object read, kept until the statement is done (see ITER_BATCH:
 * a callback may write the generation after this one). */
struct obj {
	struct obj *next;
	char *kind, *key;
	size_t len;
	unsigned char data[];
};

static int read_objects(struct vigil_store *st, sqlite3_stmt *s, struct obj **head, struct vigil_err *err)
{
	struct obj **tail = head;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0), *key = (const char *)sqlite3_column_text(s, 1);
		size_t kn = (size_t)sqlite3_column_bytes(s, 0), keyn = (size_t)sqlite3_column_bytes(s, 1);
		const void *data = sqlite3_column_blob(s, 2);
		size_t n = (size_t)sqlite3_column_bytes(s, 2);
		struct obj *o;

		if (!k || !key)
			return vigil_err_set(err, -EBADMSG, "baseline database '%s' is corrupt: object without kind or key",
					     st->path);
		o = malloc(sizeof(*o) + n + kn + keyn + 3);
		if (!o)
			return vigil_err_set(err, -ENOMEM, "reading objects: out of memory");
		o->next = NULL;
		o->len = n;
		if (n)
			memcpy(o->data, data, n);
		o->data[n] = '\0';
		o->kind = (char *)o->data + n + 1;
		memcpy(o->kind, k, kn + 1);
		o->key = o->kind + kn + 1;
		memcpy(o->key, key, keyn + 1);
		*tail = o;
		tail = &o->next;
	}
	return rc == SQLITE_DONE ? 0 : store_db_fail(st, rc, err, "reading objects");
}

int vigil_store_objects(struct vigil_store *st, int64_t gen, const char *kind,
			vigil_store_object_cb cb, void *arg, struct vigil_err *err)
{
	struct obj *head = NULL;
	sqlite3_stmt *s = NULL;
	int rc;

	rc = store_prepare(st, "SELECT kind, key, data FROM objects WHERE first_gen <= ?1 AND last_gen >= ?1"
			   " AND (?2 IS NULL OR kind = ?2) AND EXISTS (SELECT 1 FROM generations WHERE id = ?1)"
			   " ORDER BY kind, key", &s, "reading objects", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, gen);
	if (kind)
		sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
	rc = read_objects(st, s, &head, err);
	sqlite3_finalize(s);
	for (struct obj *o = head; !rc && o; o = o->next)
		rc = cb(arg, o->kind, o->key, o->data, o->len);
	while (head) {
		struct obj *o = head;

		head = o->next;
		free(o);
	}
	return rc;
}

/* --- scratch merge for `check` ------------------------------------------------------- */

int vigil_store_scratch_begin(struct vigil_store *st, struct vigil_err *err)
{
	int rc;

	vigil_store_scratch_end(st);
	/* One transaction for the whole scan: 157k autocommits would each sync
	 * the temp journal.  On its own it holds no lock on the baseline: only
	 * the temp database is written until the merge reads. */
	if (sqlite3_get_autocommit(st->db)) {
		rc = store_exec(st, "BEGIN", "starting the scratch table", err);
		if (rc)
			return rc;
		st->scratch_txn = 1;
	}
	st->scratch = 1;
	/* A rowid table: appends are cheap, and the merge sorts it once (SQLite's
	 * external merge sort, bounded memory); a path-keyed B-tree filled in
	 * hash-pool order cost twice as much. */
	rc = store_exec(st, "DROP TABLE IF EXISTS temp.scratch; CREATE TEMP TABLE scratch(" REC_DECL ")",
		  "creating the scratch table", err);
	if (!rc)
		rc = store_prepare(st, "INSERT INTO temp.scratch(" REC_COLS ") VALUES(" REC_PARAMS ")", &st->ins_scratch,
			     "creating the scratch table", err);
	if (rc)
		vigil_store_scratch_end(st);
	return rc;
}

int vigil_store_scratch_put(struct vigil_store *st, const struct vigil_record *rec, struct vigil_err *err)
{
	int rc;

	if (!st->scratch)
		return vigil_err_set(err, -EINVAL, "baseline database '%s': no scratch table", st->path);
	rc = store_check_record(st, rec, err);
	if (rc)
		return rc;
	if (store_bind_record(st->ins_scratch, 1, rec)) {
		sqlite3_clear_bindings(st->ins_scratch);
		return vigil_err_set(err, -ENOMEM, "scratch table: out of memory");
	}
	return store_step_insert(st, st->ins_scratch, rec->path, rec->path_len, "scanned path", err);
}

/* memcmp order, shorter first on a common prefix: SQLite's BLOB order. */
static int path_cmp(const struct vigil_record *a, const struct vigil_record *b)
{
	size_t n = a->path_len < b->path_len ? a->path_len : b->path_len;
	int c = memcmp(a->path, b->path, n);

	if (c)
		return c;
	return (a->path_len > b->path_len) - (a->path_len < b->path_len);
}

/* Steps s and fills r; 1 row, 0 end, -errno. */
static int merge_step(struct vigil_store *st, sqlite3_stmt *s, struct vigil_record *r, int64_t gen,
		      struct vigil_err *err)
{
	int rc = sqlite3_step(s);

	vigil_record_clear(r);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return store_db_fail(st, rc, err, "merging the scan with the baseline");
	rc = store_read_record(st, s, 0, r, gen, err);
	return rc ? rc : 1;
}

struct merge {
	struct vigil_store *st;
	sqlite3_stmt *so, *sc;
	int64_t gen;
	struct vigil_record old, cur;
	char *prev; /* the previous scanned path: a repeat is a caller bug */
	size_t prev_len, prev_cap;
};

static int merge_next_cur(struct merge *m, struct vigil_err *err)
{
	int rc;

	if (m->cur.path) {
		if (m->cur.path_len > m->prev_cap) {
			char *p = realloc(m->prev, m->cur.path_len);

			if (!p)
				return vigil_err_set(err, -ENOMEM, "merging the scan: out of memory");
			m->prev = p;
			m->prev_cap = m->cur.path_len;
		}
		memcpy(m->prev, m->cur.path, m->cur.path_len);
		m->prev_len = m->cur.path_len;
	}
	rc = merge_step(m->st, m->sc, &m->cur, 0, err);
	if (rc == 1 && m->prev && m->prev_len == m->cur.path_len && !memcmp(m->prev, m->cur.path, m->prev_len)) {
		char p[256];

		store_path_str(m->cur.path, m->cur.path_len, p);
		return vigil_err_set(err, -EEXIST, "merging the scan: scanned path '%s' given twice", p);
	}
	return rc;
}

int vigil_store_scratch_merge(struct vigil_store *st, int64_t gen, vigil_store_merge_cb cb, void *arg,
			      struct vigil_err *err)
{
	struct merge m = { .st = st, .gen = gen };
	int rc, ho = 0, hc = 0;

	vigil_record_init(&m.old);
	vigil_record_init(&m.cur);
	if (!st->scratch)
		return vigil_err_set(err, -EINVAL, "baseline database '%s': no scratch table", st->path);
	rc = store_prepare(st, "SELECT " REC_COLS " FROM main.records WHERE first_gen <= ?1 AND last_gen >= ?1 ORDER BY path", &m.so,
		     "merging the scan with the baseline", err);
	if (!rc)
		rc = store_prepare(st, "SELECT " REC_COLS " FROM temp.scratch ORDER BY path", &m.sc,
			     "merging the scan with the baseline", err);
	if (rc)
		goto out;
	sqlite3_bind_int64(m.so, 1, gen);
	/* Two ordered cursors stepped side by side: memory is two records (and
	 * SQLite's bounded sorter for the scratch side), whatever the number of paths. */
	ho = merge_step(st, m.so, &m.old, gen, err);
	if (ho >= 0)
		hc = merge_next_cur(&m, err);
	while (ho >= 0 && hc >= 0 && (ho > 0 || hc > 0)) {
		int c = ho <= 0 ? 1 : hc <= 0 ? -1 : path_cmp(&m.old, &m.cur);

		rc = cb(arg, c <= 0 ? &m.old : NULL, c >= 0 ? &m.cur : NULL);
		if (rc)
			goto out;
		if (c <= 0)
			ho = merge_step(st, m.so, &m.old, gen, err);
		if (c >= 0 && ho >= 0)
			hc = merge_next_cur(&m, err);
	}
	rc = ho < 0 ? ho : hc < 0 ? hc : 0;
out:
	free(m.prev);
	vigil_record_clear(&m.old);
	vigil_record_clear(&m.cur);
	sqlite3_finalize(m.so);
	sqlite3_finalize(m.sc);
	return rc;
}

void vigil_store_scratch_end(struct vigil_store *st)
{
	if (!st || !st->scratch)
		return;
	sqlite3_finalize(st->ins_scratch);
	st->ins_scratch = NULL;
	if (st->scratch_txn) {
		/* The table was made inside the transaction: rolling back drops it. */
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		st->scratch_txn = 0;
	} else {
		sqlite3_exec(st->db, "DROP TABLE IF EXISTS temp.scratch", NULL, NULL, NULL);
	}
	st->scratch = 0;
}

int vigil_store_objlist_add(void *arg, const char *kind, const char *key, const void *data, size_t len)
{
	struct vigil_store_objlist *l = arg;

	(void)kind;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		char **k = realloc(l->key, cap * sizeof(*k)), **d;

		if (!k)
			return -ENOMEM;
		l->key = k;
		d = realloc(l->data, cap * sizeof(*d));
		if (!d)
			return -ENOMEM;
		l->data = d;
		l->cap = cap;
	}
	l->key[l->n] = strdup(key);
	l->data[l->n] = strndup(data, len);
	if (!l->key[l->n] || !l->data[l->n]) {
		free(l->key[l->n]);
		free(l->data[l->n]);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

void vigil_store_objlist_free(struct vigil_store_objlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->key[i]);
		free(l->data[i]);
	}
	free(l->key);
	free(l->data);
	memset(l, 0, sizeof(*l));
}
