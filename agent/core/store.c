/* store.c - the baseline store: SQLite (WAL) in the state dir, one signed
 * generation per baseline run.
 *
 * Schema (version 2):
 *   meta(key, value)                          'schema' = 2
 *   generations(id, created, host, kind, n_records, digest, sig, key_id, complete,
 *               prev_id, prev_digest)         (prev_*: the chain, covered by the digest)
 *   records(gen, path BLOB, <every record field>) PRIMARY KEY(gen, path) WITHOUT ROWID
 *   objects(gen, kind, key, data BLOB)        PRIMARY KEY(gen, kind, key) WITHOUT ROWID
 * SQLite compares BLOBs with memcmp() and then by length, so the primary key
 * order of records is the path order vigil_record_encode() digests are taken
 * in, and a scan of one generation is a range read of the table itself.
 *
 * A generation is written in one transaction (BEGIN IMMEDIATE .. COMMIT) that
 * only commits after its digest and signature are stored: a crash or a kill
 * mid-way leaves the previous generations and nothing else.  The write lock is
 * held for the whole scan; readers (check, show) are not blocked in WAL mode.
 *
 * Version 1 databases (before the chain and the head) are refused with a
 * message that says to move them away and run `vigil baseline`: their newest
 * generation cannot be told from a rolled-back one, so adopting it would
 * trust exactly what the head is there to doubt.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "vigil/crypto.h"
#include "vigil/statedir.h"
#include "vigil/store.h"

#define SCHEMA_VERSION 2
/* How long a writer waits for another writer before giving up with "locked".
 * A whole `vigil baseline` holds the lock, so waiting longer rarely helps. */
#define BUSY_MS 3000
#define DIGEST_HEADER "vigil-baseline-v2\n"

#define REC_COLS "path, ftype, mode, uid, gid, size, mtime_ns, ctime_ns, ino, dev, rdev, nlink, " \
	"target, xattrs, flags, has_flags, algos, digests, status, err, scope"
#define REC_NCOLS 21
#define REC_PARAMS "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
#define REC_DECL "path BLOB NOT NULL, ftype INTEGER NOT NULL, mode INTEGER NOT NULL, " \
	"uid INTEGER NOT NULL, gid INTEGER NOT NULL, size INTEGER NOT NULL, " \
	"mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, " \
	"dev INTEGER NOT NULL, rdev INTEGER NOT NULL, nlink INTEGER NOT NULL, target BLOB, " \
	"xattrs BLOB, flags INTEGER NOT NULL, has_flags INTEGER NOT NULL, algos INTEGER NOT NULL, " \
	"digests BLOB, status INTEGER NOT NULL, err INTEGER NOT NULL, scope TEXT NOT NULL"
#define GEN_COLS "id, created, host, kind, n_records, digest, sig, key_id, prev_id, prev_digest"

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO meta(key, value) VALUES('schema', 2);"
	"CREATE TABLE IF NOT EXISTS generations("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, created INTEGER NOT NULL, host TEXT NOT NULL,"
	" kind TEXT NOT NULL, n_records INTEGER NOT NULL DEFAULT 0, digest BLOB, sig BLOB,"
	" key_id BLOB, complete INTEGER NOT NULL DEFAULT 0, prev_id INTEGER NOT NULL DEFAULT 0,"
	" prev_digest BLOB);"
	"CREATE TABLE IF NOT EXISTS records("
	" gen INTEGER NOT NULL REFERENCES generations(id) ON DELETE CASCADE, " REC_DECL ","
	" PRIMARY KEY(gen, path)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS objects("
	" gen INTEGER NOT NULL REFERENCES generations(id) ON DELETE CASCADE,"
	" kind TEXT NOT NULL, key TEXT NOT NULL, data BLOB NOT NULL,"
	" PRIMARY KEY(gen, kind, key)) WITHOUT ROWID;";

struct vigil_store {
	sqlite3 *db;
	unsigned flags;
	char path[PATH_MAX], dir[PATH_MAX];
	/* the generation being written, and the one before it */
	int writing;
	int64_t gen, created, prev_id;
	unsigned char prev_digest[32];
	char host[256], kind[32];
	sqlite3_stmt *ins_rec, *ins_obj;
	/* the scratch table of `check` */
	int scratch, scratch_txn;
	sqlite3_stmt *ins_scratch;
};

struct vigil_store_iter {
	struct vigil_store *st;
	sqlite3_stmt *stmt;
	int64_t gen;
	struct vigil_record rec;
};

const char *vigil_store_path(const struct vigil_store *st)
{
	return st->path;
}

/* Maps a SQLite result to -errno with a message naming the database. */
static int db_fail(struct vigil_store *st, int rc, struct vigil_err *err, const char *what)
{
	const char *msg = st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
	int sys = st->db ? sqlite3_system_errno(st->db) : 0;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return vigil_err_set(err, -EBUSY, "baseline database '%s' is locked by another process "
				     "(%s: still busy after %d s)", st->path, what, BUSY_MS / 1000);
	case SQLITE_NOTADB:
		return vigil_err_set(err, -EBADMSG, "baseline database '%s' is not a SQLite database "
				     "(damaged or replaced): %s", st->path, msg);
	case SQLITE_CORRUPT:
		return vigil_err_set(err, -EBADMSG, "baseline database '%s' is corrupt (%s): %s",
				     st->path, what, msg);
	case SQLITE_CONSTRAINT:
		return vigil_err_set(err, -EEXIST, "baseline database '%s': %s: %s", st->path, what, msg);
	case SQLITE_READONLY:
		return vigil_err_set(err, -EROFS, "baseline database '%s' is read-only (%s): %s",
				     st->path, what, msg);
	case SQLITE_FULL:
		return vigil_err_set(err, -ENOSPC, "baseline database '%s': %s: disk full", st->path, what);
	case SQLITE_NOMEM:
		return vigil_err_set(err, -ENOMEM, "baseline database '%s': %s: out of memory", st->path, what);
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return vigil_err_set(err, -EACCES, "baseline database '%s': %s: %s", st->path, what, msg);
	case SQLITE_TOOBIG:
		return vigil_err_set(err, -EFBIG, "baseline database '%s': %s: %s", st->path, what, msg);
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		return vigil_err_set(err, sys > 0 ? -sys : -EIO, "baseline database '%s': %s: %s%s%s",
				     st->path, what, msg, sys > 0 ? ": " : "", sys > 0 ? strerror(sys) : "");
	default:
		return vigil_err_set(err, -EIO, "baseline database '%s': %s: %s", st->path, what, msg);
	}
}

static int exec(struct vigil_store *st, const char *sql, const char *what, struct vigil_err *err)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_fail(st, rc, err, what);
}

static int prepare(struct vigil_store *st, const char *sql, sqlite3_stmt **stmt, const char *what,
		   struct vigil_err *err)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL);

	return rc == SQLITE_OK ? 0 : db_fail(st, rc, err, what);
}

/* Display form of a path for messages, cut to fit. */
static void path_str(const char *p, size_t n, char out[256])
{
	char *e = vigil_path_escape(p, n);

	if (snprintf(out, 256, "%s", e ? e : "?") >= 256)
		memcpy(out + 252, "...", 4);
	free(e);
}

static int mkdir_p(const char *dir, struct vigil_err *err)
{
	char buf[PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof(buf))
		return vigil_err_set(err, -ENAMETOOLONG, "state directory name too long: '%s'", dir);
	memcpy(buf, dir, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p != '/' && *p)
			continue;
		{
			char c = *p;

			*p = '\0';
			if (mkdir(buf, 0700) < 0 && errno != EEXIST)
				return vigil_err_set(err, -errno, "cannot create state directory '%s': %s",
						     buf, strerror(errno));
			*p = c;
		}
		if (!*p)
			break;
	}
	return 0;
}

/* --- record <-> row ----------------------------------------------------------- */

static int bind_blob(sqlite3_stmt *s, int i, const void *p, size_t n)
{
	/* A NULL pointer would bind SQL NULL; an empty path or target is "" instead. */
	return sqlite3_bind_blob64(s, i, p ? p : "", n, SQLITE_STATIC);
}

static int bind_record(sqlite3_stmt *s, int i, const struct vigil_record *r)
{
	unsigned char digests[VIGIL_ALGO_COUNT * VIGIL_DIGEST_MAX];
	size_t dn = 0;
	int rc = 0;

	for (int a = 0; a < VIGIL_ALGO_COUNT; a++)
		if (r->algos & VIGIL_ALGO_BIT(a)) {
			memcpy(digests + dn, r->digest[a], vigil_algo_len(a));
			dn += vigil_algo_len(a);
		}
	rc |= bind_blob(s, i++, r->path, r->path_len);
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
	rc |= r->target ? bind_blob(s, i, r->target, r->target_len) : sqlite3_bind_null(s, i);
	i++;
	rc |= r->xattrs_len ? bind_blob(s, i, r->xattrs, r->xattrs_len) : sqlite3_bind_null(s, i);
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

static int check_record(struct vigil_store *st, const struct vigil_record *r, struct vigil_err *err)
{
	if (!r->path || !r->path_len)
		return vigil_err_set(err, -EINVAL, "baseline database '%s': record with an empty path", st->path);
	if (strnlen(r->scope, sizeof(r->scope)) == sizeof(r->scope) || r->algos >> VIGIL_ALGO_COUNT) {
		char p[256];

		path_str(r->path, r->path_len, p);
		return vigil_err_set(err, -EINVAL, "record '%s': malformed scope or digest set", p);
	}
	return 0;
}

/* Fills r (initialised, empty) from the row's columns c.. in REC_COLS order.
 * Rows are hostile input too: a blob of the wrong size is corruption. */
static int read_record(struct vigil_store *st, sqlite3_stmt *s, int c, struct vigil_record *r, int64_t gen,
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
		path_str(r->path, r->path_len, ps);
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
		path_str(r->path, r->path_len, ps);
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

static int read_gen(struct vigil_store *st, sqlite3_stmt *s, struct vigil_generation *g, struct vigil_err *err)
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

/* --- open / close ----------------------------------------------------------- */

static int check_schema(struct vigil_store *st, struct vigil_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, ntables = 0, nours = 0;
	int64_t version = -1;

	rc = prepare(st, "SELECT count(*), coalesce(sum(name IN ('meta', 'generations', 'records', 'objects')), 0)"
		     " FROM sqlite_master WHERE type = 'table'", &s, "reading the schema", err);
	if (rc)
		return rc;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		rc = db_fail(st, rc, err, "reading the schema");
		goto out;
	}
	ntables = sqlite3_column_int(s, 0);
	nours = sqlite3_column_int(s, 1);
	sqlite3_finalize(s);
	s = NULL;
	if (ntables == 0) {
		if (st->flags & VIGIL_STORE_RDONLY) {
			rc = vigil_err_set(err, -ENOENT, "baseline database '%s' holds no baseline (empty database)",
					   st->path);
			goto out;
		}
		/* IMMEDIATE: two first runs at once must not both create the schema. */
		rc = exec(st, "BEGIN IMMEDIATE", "creating the schema", err);
		if (rc)
			goto out;
		rc = exec(st, schema_sql, "creating the schema", err);
		if (!rc)
			rc = exec(st, "COMMIT", "creating the schema", err);
		if (rc) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
		nours = 4;
	}
	if (nours != 4) {
		rc = vigil_err_set(err, -EINVAL, "baseline database '%s' is not a vigil baseline "
				   "(tables meta, generations, records, objects missing)", st->path);
		goto out;
	}
	rc = prepare(st, "SELECT value FROM meta WHERE key = 'schema'", &s, "reading the schema version", err);
	if (rc)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_INTEGER)
		version = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = db_fail(st, rc, err, "reading the schema version");
		goto out;
	}
	if (version == 1) {
		rc = vigil_err_set(err, -ENOTSUP, "baseline database '%s' was written by an older vigil (schema 1, "
				   "without the signed head that detects a rollback): move it away (mv '%s' '%s.v1') "
				   "and run 'vigil baseline' again", st->path, st->path, st->path);
		goto out;
	}
	if (version != SCHEMA_VERSION) {
		rc = vigil_err_set(err, -ENOTSUP, "baseline database '%s' has schema version %" PRId64
				   ", this vigil reads version %d%s", st->path, version, SCHEMA_VERSION,
				   version > SCHEMA_VERSION ? " (written by a newer vigil?)" : "");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

/* Percent-encodes a path for a file: URI (SQLite decodes %XX). */
static int uri_path(char *out, size_t size, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (size < 6)
		return -ENAMETOOLONG;
	memcpy(out, "file:", 5);
	o = 5;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    strchr("/-._~", *p);

		if (o + (plain ? 1 : 3) >= size)
			return -ENAMETOOLONG;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

/* Room a reader needs to create the -shm file (one 32 KiB wal-index page)
 * and the -wal file, with a margin. */
#define SHM_ROOM (64 * 1024)

/* A -wal file with content: committed data may be in it, which an immutable
 * open of the main file alone would not see. */
static int wal_pending(const struct vigil_store *st)
{
	char wal[PATH_MAX + 4];
	struct stat sb;

	snprintf(wal, sizeof(wal), "%s-wal", st->path);
	return lstat(wal, &sb) == 0 && sb.st_size > 0;
}

/* Whether a reader would have to create or grow the -shm file on a file
 * system that has no room for it. */
static int no_room_for_shm(const struct vigil_store *st)
{
	char shm[PATH_MAX + 4];
	struct statvfs vf;
	struct stat sb;
	uint64_t room;

	snprintf(shm, sizeof(shm), "%s-shm", st->path);
	if (lstat(shm, &sb) == 0 && sb.st_size >= 32768)
		return 0;
	if (statvfs(st->dir, &vf) < 0)
		return 0;
	/* root may use the blocks reserved for it, and so may SQLite as root */
	room = (uint64_t)(geteuid() == 0 ? vf.f_bfree : vf.f_bavail) * vf.f_frsize;
	return room < SHM_ROOM || (vf.f_files && vf.f_favail < 2);
}

static int open_immutable(struct vigil_store *st, int oflags)
{
	char uri[3 * PATH_MAX + 32];

	if (uri_path(uri, sizeof(uri) - 16, st->path))
		return SQLITE_CANTOPEN;
	strcat(uri, "?immutable=1");
	sqlite3_close_v2(st->db);
	st->db = NULL;
	return sqlite3_open_v2(uri, &st->db, oflags | SQLITE_OPEN_URI, NULL);
}

/* A WAL database needs its -shm and -wal files, which a reader can only
 * create in a writable directory with room to spare; after a clean close they
 * are gone.  When the directory is read-only (a mounted image, an
 * unprivileged reader) or its file system is full, and no log is pending, the
 * main file is the whole database: open it immutable, so that a read-only
 * check creates nothing in the state dir.  The cost: no locking, so a writer
 * committing in the same dir at that moment could make the read fail
 * verification (a false alarm, never a false pass; `check` verifies again at
 * its end).  On a full file system no writer can commit anyway. */
static int readonly_fallback(struct vigil_store *st, int oflags)
{
	int rc = sqlite3_exec(st->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
	int sys = sqlite3_system_errno(st->db), code = rc & 0xff;

	if (rc == SQLITE_OK || (code != SQLITE_READONLY && code != SQLITE_CANTOPEN && code != SQLITE_FULL &&
				code != SQLITE_IOERR))
		return SQLITE_OK; /* the real error, if any, shows on the next statement */
	if (access(st->dir, W_OK) == 0 && sys != ENOSPC && sys != EDQUOT)
		return rc;
	if (wal_pending(st))
		return rc;
	return open_immutable(st, oflags);
}

int vigil_store_open(const char *dir, unsigned flags, struct vigil_store **out, struct vigil_err *err)
{
	struct vigil_store *st = NULL;
	int rc, oflags;
	struct stat sb;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return vigil_err_set(err, -ENOMEM, "opening the baseline store: out of memory");
	st->flags = flags;
	if ((size_t)snprintf(st->path, sizeof(st->path), "%s/%s", dir, VIGIL_STORE_FILE) >= sizeof(st->path) ||
	    (size_t)snprintf(st->dir, sizeof(st->dir), "%s", dir) >= sizeof(st->dir)) {
		rc = vigil_err_set(err, -ENAMETOOLONG, "state directory name too long: '%s'", dir);
		goto out;
	}
	if ((flags & VIGIL_STORE_CREATE) && !(flags & VIGIL_STORE_RDONLY)) {
		rc = mkdir_p(dir, err);
		if (rc)
			goto out;
	}
	if (lstat(st->path, &sb) < 0) {
		rc = -errno;
		if (rc == -ENOENT && ((flags & VIGIL_STORE_RDONLY) || !(flags & VIGIL_STORE_CREATE))) {
			vigil_err_set(err, rc, "no baseline database '%s': run `vigil baseline` first", st->path);
			goto out;
		}
		if (rc != -ENOENT) {
			vigil_err_set(err, rc, "cannot stat baseline database '%s': %s", st->path, strerror(-rc));
			goto out;
		}
	} else if (!S_ISREG(sb.st_mode)) {
		rc = vigil_err_set(err, S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL,
				   "baseline database '%s' is not a regular file (%s)", st->path,
				   S_ISDIR(sb.st_mode) ? "a directory" : S_ISLNK(sb.st_mode) ? "a symbolic link" :
				   "a special file");
		goto out;
	} else if (sb.st_size == 0) {
		/* SQLite would take a 0-byte file for a new database: a truncated
		 * baseline must not silently become an empty one. */
		rc = vigil_err_set(err, -EBADMSG, "baseline database '%s' is an empty file (truncated?): "
				   "move it away to start a new baseline", st->path);
		goto out;
	} else {
		rc = vigil_statedir_check_stat(&sb, st->path, "baseline database", err);
		if (rc)
			goto out;
	}
	rc = vigil_statedir_check_dir(dir, err);
	if (rc)
		goto out;

	oflags = SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX;
	if (flags & VIGIL_STORE_RDONLY)
		oflags |= SQLITE_OPEN_READONLY;
	else
		oflags |= SQLITE_OPEN_READWRITE | ((flags & VIGIL_STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
	if ((flags & VIGIL_STORE_RDONLY) && !wal_pending(st) && no_room_for_shm(st)) {
		rc = open_immutable(st, oflags);
	} else {
		rc = sqlite3_open_v2(st->path, &st->db, oflags, NULL);
		if (rc == SQLITE_OK && (flags & VIGIL_STORE_RDONLY))
			rc = readonly_fallback(st, oflags);
	}
	if (rc != SQLITE_OK) {
		rc = db_fail(st, rc, err, "opening");
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_MS);
	/* The file may have been replaced by someone hostile: no triggers or views
	 * that run functions, no schema writes, no loadable extensions. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
#ifdef SQLITE_DBCONFIG_ENABLE_VIEW
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
#endif
	/* temp_store=FILE keeps the scratch table of a 157k-path check on disk;
	 * its page cache is bounded (16 MiB) whatever the scan size. */
	rc = exec(st, "PRAGMA foreign_keys = ON; PRAGMA cell_size_check = ON; PRAGMA temp_store = FILE;"
		  " PRAGMA temp.cache_size = -16384", "setting up the connection", err);
	if (!rc && !(flags & VIGIL_STORE_RDONLY))
		rc = exec(st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
			  " PRAGMA journal_size_limit = 67108864", "setting up the connection", err);
	if (!rc)
		rc = check_schema(st, err);
	if (rc)
		goto out;
	*out = st;
	st = NULL;
out:
	vigil_store_close(st);
	return rc;
}

void vigil_store_close(struct vigil_store *st)
{
	if (!st)
		return;
	vigil_store_scratch_end(st);
	vigil_store_rollback(st);
	sqlite3_close_v2(st->db);
	free(st);
}

/* --- generations ---------------------------------------------------------------- */

static int gen_query(struct vigil_store *st, const char *sql, int64_t id, struct vigil_generation *gen,
		     const char *what, struct vigil_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = prepare(st, sql, &s, what, err);

	if (rc)
		return rc;
	if (id)
		sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		rc = read_gen(st, s, gen, err);
	else if (rc == SQLITE_DONE)
		rc = id ? vigil_err_set(err, -ENOENT, "baseline database '%s' has no generation %" PRId64,
					st->path, id) :
			  vigil_err_set(err, -ENOENT, "baseline database '%s' has no baseline yet: run "
					"`vigil baseline` first", st->path);
	else
		rc = db_fail(st, rc, err, what);
	sqlite3_finalize(s);
	return rc;
}

/* The database's newest committed generation, whatever the head says. */
static int newest(struct vigil_store *st, struct vigil_generation *gen, struct vigil_err *err)
{
	return gen_query(st, "SELECT " GEN_COLS " FROM generations WHERE complete = 1 ORDER BY id DESC LIMIT 1",
			 0, gen, "reading the newest generation", err);
}

/* Whether g, the database's newest generation (NULL: it has none), is the one
 * head h names (head_rc: how reading h went).  0, -ENOENT (no baseline at
 * all) or -EBADMSG with what is wrong and how to start over on purpose. */
static int head_agrees(struct vigil_store *st, const struct vigil_generation *g, const struct vigil_store_head *h,
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
	int rc = newest(st, gen, err), hrc;

	if (rc && rc != -ENOENT)
		return rc;
	hrc = vigil_store_head_read(st->dir, NULL, &h, err);
	return head_agrees(st, rc ? NULL : gen, &h, hrc, err);
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
static int compute_digest(struct vigil_store *st, const struct vigil_generation *g, unsigned char out[32],
			  uint64_t *n_records, struct vigil_err *err)
{
	int64_t gen = g->id;
	struct vigil_digest *d = vigil_digest_new(VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256));
	sqlite3_stmt *s = NULL;
	struct vigil_record r;
	uint64_t nrec = 0, nobj = 0;
	int rc;

	vigil_record_init(&r);
	if (!d)
		return vigil_err_set(err, -ENOMEM, "digest of generation %" PRId64 ": out of memory", gen);
	vigil_digest_write(d, DIGEST_HEADER, strlen(DIGEST_HEADER));
	put_u64(d, (uint64_t)gen);
	put_u64(d, (uint64_t)g->created);
	put_bytes(d, g->host, strlen(g->host));
	put_bytes(d, g->kind, strlen(g->kind));
	put_u64(d, (uint64_t)g->prev_id);
	put_bytes(d, g->prev_digest, g->prev_id ? sizeof(g->prev_digest) : 0);

	rc = prepare(st, "SELECT " REC_COLS " FROM records WHERE gen = ? ORDER BY path", &s,
		     "reading records", err);
	if (rc)
		goto out;
	sqlite3_bind_int64(s, 1, gen);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		unsigned char *enc;
		size_t len;

		vigil_record_clear(&r);
		rc = read_record(st, s, 0, &r, gen, err);
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
		nrec++;
	}
	if (rc != SQLITE_DONE) {
		rc = db_fail(st, rc, err, "reading records");
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;

	rc = prepare(st, "SELECT kind, key, data FROM objects WHERE gen = ? ORDER BY kind, key", &s,
		     "reading objects", err);
	if (rc)
		goto out;
	sqlite3_bind_int64(s, 1, gen);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		vigil_digest_write(d, "O", 1);
		for (int c = 0; c < 3; c++) {
			const void *p = sqlite3_column_blob(s, c);

			put_bytes(d, p, (size_t)sqlite3_column_bytes(s, c));
		}
		nobj++;
	}
	if (rc != SQLITE_DONE) {
		rc = db_fail(st, rc, err, "reading objects");
		goto out;
	}
	vigil_digest_write(d, "E", 1);
	put_u64(d, nrec);
	put_u64(d, nobj);
	vigil_digest_read(d, VIGIL_ALGO_SHA256, out);
	*n_records = nrec;
	rc = 0;
out:
	vigil_record_clear(&r);
	sqlite3_finalize(s);
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
	return head_agrees(st, g, &h, rc, err);
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
	if (txn && (rc = exec(st, "BEGIN", "verifying", err)))
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
	rc = compute_digest(st, &g, digest, &n, err);
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
	int rc = newest(st, &last, err), hrc;

	if (rc && rc != -ENOENT)
		return rc;
	hrc = vigil_store_head_read(st->dir, NULL, &h, err);
	if (hrc != -ENOENT) {
		hrc = head_agrees(st, rc ? NULL : &last, &h, hrc, err);
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
	st->created = (int64_t)time(NULL);
	/* Puts arrive in hash-pool order, not path order: with SQLite's default
	 * 2 MiB cache, inserting 157k shuffled records into the path-keyed table
	 * kept spilling pages and took 2.3 s of CPU.  The walker's order is nearly
	 * sorted (directory by directory), and there 8 MiB costs no more CPU than
	 * 32 MiB did (measured on a /usr copy, 137k files: 8.4 s user either way)
	 * while peak RSS of `vigil baseline` drops from 40 MB to 15 MB: the issue's
	 * bound is 32 MB whatever the tree's size.  Back to the default at the end:
	 * the merge's sorter ran faster with the small cache. */
	sqlite3_exec(st->db, "PRAGMA main.cache_size = -8192", NULL, NULL, NULL);
	rc = exec(st, "BEGIN IMMEDIATE", "starting a generation", err);
	if (rc) {
		sqlite3_exec(st->db, "PRAGMA main.cache_size = -2000", NULL, NULL, NULL);
		return rc;
	}
	st->writing = 1;
	rc = begin_link(st, err);
	if (rc)
		goto out;
	rc = prepare(st, "INSERT INTO generations(created, host, kind) VALUES(?, ?, ?)", &s,
		     "starting a generation", err);
	if (rc)
		goto out;
	sqlite3_bind_int64(s, 1, st->created);
	sqlite3_bind_text(s, 2, st->host, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, st->kind, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		rc = db_fail(st, rc, err, "starting a generation");
		goto out;
	}
	st->gen = sqlite3_last_insert_rowid(st->db);
	rc = prepare(st, "INSERT INTO records(gen, " REC_COLS ") VALUES(?, " REC_PARAMS ")", &st->ins_rec,
		     "starting a generation", err);
	if (!rc)
		rc = prepare(st, "INSERT INTO objects(gen, kind, key, data) VALUES(?, ?, ?, ?)", &st->ins_obj,
			     "starting a generation", err);
out:
	sqlite3_finalize(s);
	if (rc)
		vigil_store_rollback(st);
	return rc;
}

static int step_insert(struct vigil_store *st, sqlite3_stmt *s, const char *path, size_t len,
		       const char *what, struct vigil_err *err)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		char p[256];

		path_str(path, len, p);
		return vigil_err_set(err, -EEXIST, "baseline database '%s': %s '%s' given twice", st->path, what, p);
	}
	return db_fail(st, rc, err, what);
}

int vigil_store_put(struct vigil_store *st, const struct vigil_record *rec, struct vigil_err *err)
{
	int rc = need_writing(st, err);

	if (!rc)
		rc = check_record(st, rec, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st->ins_rec, 1, st->gen);
	if (bind_record(st->ins_rec, 2, rec)) {
		sqlite3_clear_bindings(st->ins_rec);
		return vigil_err_set(err, -ENOMEM, "baseline database '%s': storing a record: out of memory", st->path);
	}
	return step_insert(st, st->ins_rec, rec->path, rec->path_len, "path", err);
}

int vigil_store_put_object(struct vigil_store *st, const char *kind, const char *key,
			   const void *data, size_t len, struct vigil_err *err)
{
	int rc = need_writing(st, err);

	if (rc)
		return rc;
	if (!kind || !key || !*kind)
		return vigil_err_set(err, -EINVAL, "baseline database '%s': object without kind or key", st->path);
	if (sqlite3_bind_int64(st->ins_obj, 1, st->gen) || sqlite3_bind_text(st->ins_obj, 2, kind, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(st->ins_obj, 3, key, -1, SQLITE_STATIC) || bind_blob(st->ins_obj, 4, data, len)) {
		sqlite3_clear_bindings(st->ins_obj);
		return vigil_err_set(err, -ENOMEM, "baseline database '%s': storing an object: out of memory", st->path);
	}
	return step_insert(st, st->ins_obj, key, strlen(key), "object", err);
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
	rc = exec(st, "CREATE TEMP TABLE IF NOT EXISTS skip(path BLOB PRIMARY KEY) WITHOUT ROWID;"
		  " DELETE FROM temp.skip", "copying a generation", err);
	if (rc)
		return rc;
	rc = prepare(st, "INSERT OR IGNORE INTO temp.skip(path) VALUES(?)", &s, "copying a generation", err);
	for (size_t i = 0; !rc && i < n; i++) {
		bind_blob(s, 1, skip[i], skip_len[i]);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		rc = rc == SQLITE_DONE ? 0 : db_fail(st, rc, err, "copying a generation");
	}
	sqlite3_finalize(s);
	s = NULL;
	if (rc)
		goto out;
	rc = prepare(st, "INSERT INTO records(gen, " REC_COLS ") SELECT ?, " REC_COLS " FROM records"
		     " WHERE gen = ? AND path NOT IN (SELECT path FROM temp.skip)", &s, "copying a generation", err);
	if (rc)
		goto out;
	sqlite3_bind_int64(s, 1, st->gen);
	sqlite3_bind_int64(s, 2, from);
	rc = sqlite3_step(s);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		rc = vigil_err_set(err, -EEXIST, "baseline database '%s': copying generation %" PRId64
				   ": a copied path was already put (copy first, then put)", st->path, from);
	else
		rc = rc == SQLITE_DONE ? 0 : db_fail(st, rc, err, "copying a generation");
out:
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
	rc = compute_digest(st, &g, g.digest, &g.n_records, err);
	if (!rc)
		rc = vigil_sign(key, g.digest, sizeof(g.digest), g.sig, err);
	if (rc)
		goto out;
	vigil_seckey_id(key, g.key_id);
	rc = prepare(st, "UPDATE generations SET n_records = ?, digest = ?, sig = ?, key_id = ?, complete = 1,"
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
	rc = rc == SQLITE_DONE ? 0 : db_fail(st, rc, err, "committing a generation");
	sqlite3_finalize(s);
	s = NULL;
	if (rc)
		goto out;
	/* Statements must be done before COMMIT can release the write lock. */
	sqlite3_finalize(st->ins_rec);
	sqlite3_finalize(st->ins_obj);
	st->ins_rec = st->ins_obj = NULL;
	rc = exec(st, "COMMIT", "committing a generation", err);
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
	st->ins_rec = st->ins_obj = NULL;
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
	sqlite3_stmt *s = NULL;
	int rc;

	if (st->flags & VIGIL_STORE_RDONLY)
		return vigil_err_set(err, -EROFS, "baseline database '%s' is open read-only", st->path);
	if (st->writing || keep == 0)
		return vigil_err_set(err, -EINVAL, "baseline database '%s': prune needs keep >= 1 and no "
				     "generation being written", st->path);
	rc = prepare(st, "DELETE FROM generations WHERE id NOT IN"
		     " (SELECT id FROM generations WHERE complete = 1 ORDER BY id DESC LIMIT ?)",
		     &s, "pruning old generations", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, keep);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_DONE ? 0 : db_fail(st, rc, err, "pruning old generations");
	sqlite3_finalize(s);
	return rc;
}

/* --- reading ---------------------------------------------------------------------- */

int vigil_store_get(struct vigil_store *st, int64_t gen, const char *path, size_t len,
		    struct vigil_record *rec, struct vigil_err *err)
{
	sqlite3_stmt *s = NULL;
	char p[256];
	int rc;

	vigil_record_init(rec);
	rc = prepare(st, "SELECT " REC_COLS " FROM records WHERE gen = ? AND path = ?", &s, "reading a record", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, gen);
	bind_blob(s, 2, path, len);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		rc = read_record(st, s, 0, rec, gen, err);
		if (rc)
			vigil_record_clear(rec);
	} else if (rc == SQLITE_DONE) {
		path_str(path, len, p);
		rc = vigil_err_set(err, -ENOENT, "'%s' is not in baseline generation %" PRId64, p, gen);
	} else {
		rc = db_fail(st, rc, err, "reading a record");
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
	rc = prepare(st, "SELECT data FROM objects WHERE gen = ? AND kind = ? AND key = ?", &s,
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
		rc = db_fail(st, rc, err, "reading an object");
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
	vigil_record_init(&it->rec);
	rc = prepare(st, "SELECT " REC_COLS " FROM records WHERE gen = ? ORDER BY path", &it->stmt,
		     "reading records", err);
	if (rc) {
		free(it);
		return rc;
	}
	sqlite3_bind_int64(it->stmt, 1, gen);
	*out = it;
	return 0;
}

int vigil_store_iter_next(struct vigil_store_iter *it, struct vigil_record *rec, struct vigil_err *err)
{
	int rc = sqlite3_step(it->stmt);

	vigil_record_clear(&it->rec);
	if (rc == SQLITE_DONE) {
		vigil_record_init(rec);
		return 0;
	}
	if (rc != SQLITE_ROW)
		return db_fail(it->st, rc, err, "reading records");
	rc = read_record(it->st, it->stmt, 0, &it->rec, it->gen, err);
	if (rc) {
		vigil_record_clear(&it->rec);
		return rc;
	}
	*rec = it->rec;
	return 1;
}

void vigil_store_iter_free(struct vigil_store_iter *it)
{
	if (!it)
		return;
	vigil_record_clear(&it->rec);
	sqlite3_finalize(it->stmt);
	free(it);
}

int vigil_store_objects(struct vigil_store *st, int64_t gen, const char *kind,
			vigil_store_object_cb cb, void *arg, struct vigil_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = prepare(st, "SELECT kind, key, data FROM objects WHERE gen = ?1 AND (?2 IS NULL OR kind = ?2)"
		     " ORDER BY kind, key", &s, "reading objects", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, gen);
	if (kind)
		sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0), *key = (const char *)sqlite3_column_text(s, 1);
		const void *data = sqlite3_column_blob(s, 2);
		size_t n = (size_t)sqlite3_column_bytes(s, 2);

		if (!k || !key) {
			rc = vigil_err_set(err, -EBADMSG, "baseline database '%s' is corrupt: object without kind or key",
					   st->path);
			goto out;
		}
		rc = cb(arg, k, key, data ? data : "", n);
		if (rc)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : db_fail(st, rc, err, "reading objects");
out:
	sqlite3_finalize(s);
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
		rc = exec(st, "BEGIN", "starting the scratch table", err);
		if (rc)
			return rc;
		st->scratch_txn = 1;
	}
	st->scratch = 1;
	/* A rowid table: appends are cheap, and the merge sorts it once (SQLite's
	 * external merge sort, bounded memory); a path-keyed B-tree filled in
	 * hash-pool order cost twice as much. */
	rc = exec(st, "DROP TABLE IF EXISTS temp.scratch; CREATE TEMP TABLE scratch(" REC_DECL ")",
		  "creating the scratch table", err);
	if (!rc)
		rc = prepare(st, "INSERT INTO temp.scratch(" REC_COLS ") VALUES(" REC_PARAMS ")", &st->ins_scratch,
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
	rc = check_record(st, rec, err);
	if (rc)
		return rc;
	if (bind_record(st->ins_scratch, 1, rec)) {
		sqlite3_clear_bindings(st->ins_scratch);
		return vigil_err_set(err, -ENOMEM, "scratch table: out of memory");
	}
	return step_insert(st, st->ins_scratch, rec->path, rec->path_len, "scanned path", err);
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
		return db_fail(st, rc, err, "merging the scan with the baseline");
	rc = read_record(st, s, 0, r, gen, err);
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

		path_str(m->cur.path, m->cur.path_len, p);
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
	rc = prepare(st, "SELECT " REC_COLS " FROM main.records WHERE gen = ? ORDER BY path", &m.so,
		     "merging the scan with the baseline", err);
	if (!rc)
		rc = prepare(st, "SELECT " REC_COLS " FROM temp.scratch ORDER BY path", &m.sc,
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
