/* store_row.c - the baseline store: records to rows and back.
 *
 * Rows are hostile input too: a blob of the wrong size, a scope with a NUL
 * or a digest set that does not match the algorithms is corruption. */
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

/* --- record <-> row ----------------------------------------------------------- */

int store_bind_blob(sqlite3_stmt *s, int i, const void *p, size_t n)
{
	/* A NULL pointer would bind SQL NULL; an empty path or target is "" instead. */
	return sqlite3_bind_blob64(s, i, p ? p : "", n, SQLITE_STATIC);
}

int store_bind_record(sqlite3_stmt *s, int i, const struct vigil_record *r)
{
	unsigned char digests[VIGIL_ALGO_COUNT * VIGIL_DIGEST_MAX];
	size_t dn = 0;
	int rc = 0;

	for (int a = 0; a < VIGIL_ALGO_COUNT; a++)
		if (r->algos & VIGIL_ALGO_BIT(a)) {
			memcpy(digests + dn, r->digest[a], vigil_algo_len(a));
			dn += vigil_algo_len(a);
		}
	rc |= store_bind_blob(s, i++, r->path, r->path_len);
	rc |= sqlite3_bind_int64(s, i++, r->ftype);
	rc |= sqlite3_bind_int64(s, i++, r->mode);
	rc |= sqlite3_bind_int64(s, i++, r->uid);
	rc |= sqlite3_bind_int64(s, i++, r->gid);
	rc |= sqlite3_bind_int64(s, i++, (sqlite3_int64)r->size);
	rc |= sqlite3_bind_int64(s, i++, r->mtime_ns);
	rc |= sqlite3_bind_int64(s, i++, r->ctime_ns);
	rc |= sqlite3_bind_int64(s, i++, (sqlite3_int64)r->ino);
	rc |= sqlite3_bind_int64(s, i++, (sqlite3_int64)r->dev);
	rc |= sqlite3_bind_int64(s, i++, (sqlite3_int64)r->rdev);
	rc |= sqlite3_bind_int64(s, i++, (sqlite3_int64)r->nlink);
	rc |= r->target ? store_bind_blob(s, i, r->target, r->target_len) : sqlite3_bind_null(s, i);
	i++;
	rc |= r->xattrs_len ? store_bind_blob(s, i, r->xattrs, r->xattrs_len) : sqlite3_bind_null(s, i);
	i++;
	rc |= sqlite3_bind_int64(s, i++, r->flags);
	rc |= sqlite3_bind_int64(s, i++, r->has_flags);
	rc |= sqlite3_bind_int64(s, i++, r->algos);
	/* SQLITE_TRANSIENT: the digest buffer is on this stack frame. */
	rc |= sqlite3_bind_blob64(s, i++, digests, dn, SQLITE_TRANSIENT);
	rc |= sqlite3_bind_int64(s, i++, r->status);
	rc |= sqlite3_bind_int64(s, i++, r->err);
	rc |= sqlite3_bind_text(s, i++, r->scope, (int)strnlen(r->scope, sizeof(r->scope)), SQLITE_STATIC);
	return rc ? -ENOMEM : 0;
}

int store_check_record(struct vigil_store *st, const struct vigil_record *r, struct vigil_err *err)
{
	if (!r->path || !r->path_len)
		return vigil_err_set(err, -EINVAL, "baseline database '%s': record with an empty path", st->path);
	if (strnlen(r->scope, sizeof(r->scope)) == sizeof(r->scope) || r->algos >> VIGIL_ALGO_COUNT) {
		char p[256];

		store_path_str(r->path, r->path_len, p);
		return vigil_err_set(err, -EINVAL, "record '%s': malformed scope or digest set", p);
	}
	return 0;
}

/* Fills r (initialised, empty) from the row's columns c.. in REC_COLS order.
 * Rows are hostile input too: a blob of the wrong size is corruption. */
int store_read_record(struct vigil_store *st, sqlite3_stmt *s, int c, struct vigil_record *r, int64_t gen,
		       struct vigil_err *err)
{
	const void *p = sqlite3_column_blob(s, c);
	size_t n = (size_t)sqlite3_column_bytes(s, c), dn, want = 0;
	const unsigned char *d;
	const char *scope;
	char ps[256];

	if (sqlite3_column_type(s, c) == SQLITE_NULL || n == 0) {
		return vigil_err_set(err, -EBADMSG, "baseline database '%s' is corrupt: "
				     "generation %" PRId64 " has a record without a path", st->path, gen);
	}
	if (vigil_record_set_path(r, p, n))
		goto nomem;
	c++;
	r->ftype = (int)sqlite3_column_int64(s, c++);
	r->mode = (uint32_t)sqlite3_column_int64(s, c++);
	r->uid = (uint32_t)sqlite3_column_int64(s, c++);
	r->gid = (uint32_t)sqlite3_column_int64(s, c++);
	r->size = (uint64_t)sqlite3_column_int64(s, c++);
	r->mtime_ns = sqlite3_column_int64(s, c++);
	r->ctime_ns = sqlite3_column_int64(s, c++);
	r->ino = (uint64_t)sqlite3_column_int64(s, c++);
	r->dev = (uint64_t)sqlite3_column_int64(s, c++);
	r->rdev = (uint64_t)sqlite3_column_int64(s, c++);
	r->nlink = (uint64_t)sqlite3_column_int64(s, c++);
	if (sqlite3_column_type(s, c) != SQLITE_NULL) {
		p = sqlite3_column_blob(s, c);
		n = (size_t)sqlite3_column_bytes(s, c);
		if (vigil_record_set_target(r, p ? p : "", n))
			goto nomem;
	}
	c++;
	p = sqlite3_column_blob(s, c);
	n = (size_t)sqlite3_column_bytes(s, c);
	if (n && vigil_record_set_xattrs(r, p, n))
		goto nomem;
	c++;
	r->flags = (uint32_t)sqlite3_column_int64(s, c++);
	r->has_flags = (int)sqlite3_column_int64(s, c++);
	r->algos = (unsigned)sqlite3_column_int64(s, c++);
	d = sqlite3_column_blob(s, c);
	dn = (size_t)sqlite3_column_bytes(s, c);
	c++;
	for (int a = 0; a < VIGIL_ALGO_COUNT; a++)
		if (r->algos & VIGIL_ALGO_BIT(a))
			want += vigil_algo_len(a);
	if ((r->algos >> VIGIL_ALGO_COUNT) || dn != want) {
		store_path_str(r->path, r->path_len, ps);
		return vigil_err_set(err, -EBADMSG, "baseline database '%s' is corrupt: record '%s' of "
				     "generation %" PRId64 ": digests do not match the algorithm set",
				     st->path, ps, gen);
	}
	for (int a = 0; a < VIGIL_ALGO_COUNT; a++)
		if (r->algos & VIGIL_ALGO_BIT(a)) {
			memcpy(r->digest[a], d, vigil_algo_len(a));
			d += vigil_algo_len(a);
		}
	r->status = (unsigned)sqlite3_column_int64(s, c++);
	r->err = (int)sqlite3_column_int64(s, c++);
	scope = (const char *)sqlite3_column_text(s, c);
	n = (size_t)sqlite3_column_bytes(s, c);
	if (n >= sizeof(r->scope) || (scope && memchr(scope, '\0', n))) {
		store_path_str(r->path, r->path_len, ps);
		return vigil_err_set(err, -EBADMSG, "baseline database '%s' is corrupt: record '%s' of "
				     "generation %" PRId64 ": malformed scope", st->path, ps, gen);
	}
	if (n)
		memcpy(r->scope, scope, n);
	r->scope[n] = '\0';
	return 0;
nomem:
	return vigil_err_set(err, -ENOMEM, "baseline database '%s': reading a record: out of memory", st->path);
}

int store_read_gen(struct vigil_store *st, sqlite3_stmt *s, struct vigil_generation *g, struct vigil_err *err)
{
	const void *host = sqlite3_column_text(s, 2), *kind = sqlite3_column_text(s, 3);
	size_t hn = (size_t)sqlite3_column_bytes(s, 2), kn = (size_t)sqlite3_column_bytes(s, 3);
	const void *dg = sqlite3_column_blob(s, 5), *sg, *id, *pd;
	size_t dgn = (size_t)sqlite3_column_bytes(s, 5), sgn, idn, pdn;

	sg = sqlite3_column_blob(s, 6);
	sgn = (size_t)sqlite3_column_bytes(s, 6);
	id = sqlite3_column_blob(s, 7);
	idn = (size_t)sqlite3_column_bytes(s, 7);
	pd = sqlite3_column_blob(s, 9);
	pdn = (size_t)sqlite3_column_bytes(s, 9);
	memset(g, 0, sizeof(*g));
	g->id = sqlite3_column_int64(s, 0);
	g->prev_id = sqlite3_column_int64(s, 8);
	if (!host || !kind || hn >= sizeof(g->host) || kn >= sizeof(g->kind) || dgn != sizeof(g->digest) ||
	    sgn != sizeof(g->sig) || idn != sizeof(g->key_id) || g->prev_id < 0 || g->prev_id >= g->id ||
	    pdn != (g->prev_id ? sizeof(g->prev_digest) : 0))
		return vigil_err_set(err, -EBADMSG, "baseline database '%s' is corrupt: generation %" PRId64
				     " has a malformed header (host, kind, digest, signature, key id or link "
				     "to the previous generation)", st->path, g->id);
	if (pdn)
		memcpy(g->prev_digest, pd, pdn);
	g->created = sqlite3_column_int64(s, 1);
	memcpy(g->host, host, hn);
	memcpy(g->kind, kind, kn);
	g->n_records = (uint64_t)sqlite3_column_int64(s, 4);
	memcpy(g->digest, dg, dgn);
	memcpy(g->sig, sg, sgn);
	memcpy(g->key_id, id, idn);
	return 0;
}
