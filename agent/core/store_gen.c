/* store_gen.c - the baseline store: generations, their digest and its
 * verification, and whether the database agrees with the signed head. */
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

#define DIGEST_HEADER "vigil-baseline-v2\n"

/* --- generations ---------------------------------------------------------------- */

static int gen_query(struct vigil_store *st, const char *sql, int64_t id, struct vigil_generation *gen,
		     const char *what, struct vigil_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = store_prepare(st, sql, &s, what, err);

	if (rc)
		return rc;
	if (id)
		sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		rc = store_read_gen(st, s, gen, err);
	else if (rc == SQLITE_DONE)
		rc = id ? vigil_err_set(err, -ENOENT, "baseline database '%s' has no generation %" PRId64,
					st->path, id) :
			  vigil_err_set(err, -ENOENT, "baseline database '%s' has no baseline yet: run "
					"`vigil baseline` first", st->path);
	else
		rc = store_db_fail(st, rc, err, what);
	sqlite3_finalize(s);
	return rc;
}

/* The database's newest committed generation, whatever the head says. */
int store_newest(struct vigil_store *st, struct vigil_generation *gen, struct vigil_err *err)
{
	return gen_query(st, "SELECT " GEN_COLS " FROM generations WHERE complete = 1 ORDER BY id DESC LIMIT 1",
			 0, gen, "reading the newest generation", err);
}

/* Whether g, the database's newest generation (NULL: it has none), is the one
 * head h names (head_rc: how reading h went).  0, -ENOENT (no baseline at
 * all) or -EBADMSG with what is wrong and how to start over on purpose. */
int store_head_agrees(struct vigil_store *st, const struct vigil_generation *g, const struct vigil_store_head *h,
		       int head_rc, struct vigil_err *err)
{
	char hf[PATH_MAX + 32], a[65], b[65];

	snprintf(hf, sizeof(hf), "%s/%s", st->dir, VIGIL_STORE_HEAD_FILE);
	if (head_rc == -ENOENT && !g)
		return vigil_err_set(err, -ENOENT, "baseline database '%s' has no baseline yet: run "
				     "`vigil baseline` first", st->path);
	if (head_rc == -ENOENT)
		return vigil_err_set(err, -EBADMSG, "baseline head '%s' is missing: nothing tells whether "
				     "'%s' was rolled back (if you removed the head on purpose, run 'vigil "
				     "baseline' to start a new one)", hf, st->path);
	if (head_rc)
		return head_rc;
	if (g && g->id == h->gen) {
		if (!memcmp(g->digest, h->digest, sizeof(h->digest)))
			return 0;
		vigil_hex(g->digest, 32, a);
		vigil_hex(h->digest, 32, b);
		return vigil_err_set(err, -EBADMSG, "baseline database '%s' was replaced: its generation %" PRId64
				     " has digest %s, the head '%s' names digest %s", st->path, g->id, a, hf, b);
	}
	/* A crash between the database commit and the head write: the newer
	 * generation must link to the head's (its signature is checked by
	 * vigil_store_verify()). */
	if (g && g->id > h->gen && g->prev_id == h->gen && !memcmp(g->prev_digest, h->digest, sizeof(h->digest)))
		return 0;
	if (!g || g->id < h->gen)
		return vigil_err_set(err, -EBADMSG, "baseline database '%s' was rolled back: its newest generation "
				     "is %" PRId64 ", the signed head '%s' says %" PRId64 " (counter %" PRIu64 "); "
				     "refusing an older baseline (if you restored an old database on "
				     "purpose, remove the head and run 'vigil baseline')",
				     st->path, g ? g->id : 0, hf, h->gen, h->counter);
	return vigil_err_set(err, -EBADMSG, "baseline database '%s': generation %" PRId64 " is newer than the "
			     "head '%s' (generation %" PRId64 ") and does not link to it", st->path, g->id, hf, h->gen);
}

int vigil_store_latest(struct vigil_store *st, struct vigil_generation *gen, struct vigil_err *err)
{
	struct vigil_store_head h;
	int rc = store_newest(st, gen, err), hrc;

	if (rc && rc != -ENOENT)
		return rc;
	hrc = vigil_store_head_read(st->dir, NULL, &h, err);
	return store_head_agrees(st, rc ? NULL : gen, &h, hrc, err);
}

int vigil_store_generation(struct vigil_store *st, int64_t id, struct vigil_generation *gen,
			   struct vigil_err *err)
{
	if (id <= 0)
		return vigil_err_set(err, -ENOENT, "baseline database '%s' has no generation %" PRId64,
				     st->path, id);
	return gen_query(st, "SELECT " GEN_COLS " FROM generations WHERE complete = 1 AND id = ?",
			 id, gen, "reading a generation", err);
}

static void put_u64(struct vigil_digest *d, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	vigil_digest_write(d, b, 8);
}

static void put_bytes(struct vigil_digest *d, const void *p, size_t n)
{
	put_u64(d, n);
	if (n)
		vigil_digest_write(d, p, n);
}

/* The generation digest, recomputed from the rows as they are stored now:
 * header (with the link to the previous generation), then 'R' + encoded
 * record in path order, 'O' + object in (kind, key) order, then 'E' + both
 * counts, every part length-prefixed so no two different generations hash
 * the same bytes. */
/* 'R' + each encoded record of gen in path order; *n: how many. */
static int digest_records(struct vigil_store *st, struct vigil_digest *d, int64_t gen, uint64_t *n,
			  struct vigil_err *err)
{
	sqlite3_stmt *s = NULL;
	struct vigil_record r;
	int rc;

	vigil_record_init(&r);
	rc = store_prepare(st, "SELECT " REC_COLS " FROM records WHERE first_gen <= ?1 AND last_gen >= ?1 ORDER BY path", &s,
			   "reading records", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, gen);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		unsigned char *enc;
		size_t len;

		vigil_record_clear(&r);
		rc = store_read_record(st, s, 0, &r, gen, err);
		if (rc)
			goto out;
		enc = vigil_record_encode(&r, &len);
		if (!enc) {
			rc = vigil_err_set(err, -ENOMEM, "digest of generation %" PRId64 ": out of memory", gen);
			goto out;
		}
		vigil_digest_write(d, "R", 1);
		put_bytes(d, enc, len);
		free(enc);
		(*n)++;
	}
	rc = rc == SQLITE_DONE ? 0 : store_db_fail(st, rc, err, "reading records");
out:
	vigil_record_clear(&r);
	sqlite3_finalize(s);
	return rc;
}

/* 'O' + each object of gen (kind, key, data) in (kind, key) order. */
static int digest_objects(struct vigil_store *st, struct vigil_digest *d, int64_t gen, uint64_t *n,
			  struct vigil_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = store_prepare(st, "SELECT kind, key, data FROM objects WHERE first_gen <= ?1 AND last_gen >= ?1 ORDER BY kind, key", &s,
			       "reading objects", err);

	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, gen);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		vigil_digest_write(d, "O", 1);
		for (int c = 0; c < 3; c++) {
			const void *p = sqlite3_column_blob(s, c);

			put_bytes(d, p, (size_t)sqlite3_column_bytes(s, c));
		}
		(*n)++;
	}
	rc = rc == SQLITE_DONE ? 0 : store_db_fail(st, rc, err, "reading objects");
	sqlite3_finalize(s);
	return rc;
}

int store_compute_digest(struct vigil_store *st, const struct vigil_generation *g, unsigned char out[32],
			 uint64_t *n_records, struct vigil_err *err)
{
	struct vigil_digest *d = vigil_digest_new(VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256));
	uint64_t nrec = 0, nobj = 0;
	int rc;

	if (!d)
		return vigil_err_set(err, -ENOMEM, "digest of generation %" PRId64 ": out of memory", g->id);
	vigil_digest_write(d, DIGEST_HEADER, strlen(DIGEST_HEADER));
	put_u64(d, (uint64_t)g->id);
	put_u64(d, (uint64_t)g->created);
	put_bytes(d, g->host, strlen(g->host));
	put_bytes(d, g->kind, strlen(g->kind));
	put_u64(d, (uint64_t)g->prev_id);
	put_bytes(d, g->prev_digest, g->prev_id ? sizeof(g->prev_digest) : 0);
	rc = digest_records(st, d, g->id, &nrec, err);
	if (!rc)
		rc = digest_objects(st, d, g->id, &nobj, err);
	if (!rc) {
		vigil_digest_write(d, "E", 1);
		put_u64(d, nrec);
		put_u64(d, nobj);
		vigil_digest_read(d, VIGIL_ALGO_SHA256, out);
		*n_records = nrec;
	}
	vigil_digest_free(d);
	return rc;
}

/* The signed links of a verified generation g: to the generation before it
 * (when still stored) and, for the newest ones, to the signed head. */
static int verify_links(struct vigil_store *st, const struct vigil_generation *g, const struct vigil_pubkey *pub,
			struct vigil_err *err)
{
	struct vigil_generation prev;
	struct vigil_store_head h;
	int rc;

	if (g->prev_id) {
		rc = vigil_store_generation(st, g->prev_id, &prev, NULL);
		if (rc == 0 && memcmp(prev.digest, g->prev_digest, sizeof(prev.digest)))
			return vigil_err_set(err, -EBADMSG, "baseline generation %" PRId64 " does not link to generation %"
					     PRId64 " as stored (the older one was replaced)", g->id, g->prev_id);
		if (rc && rc != -ENOENT)
			return vigil_store_generation(st, g->prev_id, &prev, err);
	}
	rc = vigil_store_head_read(st->dir, pub, &h, err);
	if (!rc && g->id < h.gen)
		return 0; /* an older generation: vigil_store_latest() says which one is current */
	return store_head_agrees(st, g, &h, rc, err);
}

int vigil_store_verify(struct vigil_store *st, const struct vigil_generation *gen,
		       const struct vigil_pubkey *pub, struct vigil_err *err)
{
	struct vigil_generation g;
	unsigned char digest[32], pubid[8];
	char hex_now[65], hex_stored[65], id_sig[17], id_pub[17];
	uint64_t n = 0;
	int rc, txn = sqlite3_get_autocommit(st->db);

	/* One read snapshot for the header and every row. */
	if (txn && (rc = store_exec(st, "BEGIN", "verifying", err)))
		return rc;
	rc = vigil_store_generation(st, gen->id, &g, err);
	if (rc)
		goto out;
	vigil_pubkey_id(pub, pubid);
	vigil_sign_key_id_str(g.key_id, id_sig);
	vigil_sign_key_id_str(pubid, id_pub);
	if (memcmp(g.key_id, pubid, sizeof(pubid))) {
		rc = vigil_err_set(err, -EBADMSG, "baseline generation %" PRId64 " was signed with key %s, "
				   "not with key %s (wrong public key, or the key was replaced)",
				   g.id, id_sig, id_pub);
		goto out;
	}
	rc = store_compute_digest(st, &g, digest, &n, err);
	if (rc)
		goto out;
	vigil_hex(digest, 32, hex_now);
	vigil_hex(g.digest, 32, hex_stored);
	if (memcmp(digest, g.digest, 32)) {
		rc = vigil_err_set(err, -EBADMSG, "baseline generation %" PRId64 " was modified: digest %s != stored %s",
				   g.id, hex_now, hex_stored);
		goto out;
	}
	if (vigil_verify(pub, g.digest, sizeof(g.digest), g.sig, NULL)) {
		rc = vigil_err_set(err, -EBADMSG, "signature of generation %" PRId64 " does not verify with key %s",
				   g.id, id_pub);
		goto out;
	}
	if (n != g.n_records) {
		rc = vigil_err_set(err, -EBADMSG, "baseline generation %" PRId64 " was modified: it holds %" PRIu64
				   " records, its header says %" PRIu64, g.id, n, g.n_records);
		goto out;
	}
	rc = verify_links(st, &g, pub, err);
out:
	if (txn)
		sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	return rc;
}
