/* store.c - the baseline store: SQLite (WAL) in the state dir, one signed
 * generation per baseline run.
 *
 * Schema (version 3):
 *   meta(key, value)                          'schema' = 3
 *   generations(id, created, host, kind, n_records, digest, sig, key_id, complete,
 *               prev_id, prev_digest)         (prev_*: the chain, covered by the digest)
 *   records(first_gen, last_gen, path BLOB, <every record field>)
 *                                             PRIMARY KEY(path, last_gen) WITHOUT ROWID
 *   objects(first_gen, last_gen, kind, key, data BLOB)
 *                                             PRIMARY KEY(kind, key, last_gen) WITHOUT ROWID
 * A record is stored once for the run of generations that hold it unchanged:
 * generation G holds the rows with first_gen <= G <= last_gen.  Writing G
 * moves last_gen of an identical row of the previous generation to G (an
 * unchanged host costs no new row), or inserts a row G..G.  Within one
 * generation a path is held once, so (path, last_gen) is a key, and the
 * rows of G read in primary key order are in path order: SQLite compares
 * BLOBs with memcmp() and then by length, the order vigil_record_encode()
 * digests are taken in.  Rows no stored generation holds are deleted when
 * generations are (store_gc(), store_retain.c).  Version 2 (a full copy per
 * generation, records(gen, path, ...)) is migrated on open (store_migrate.c).
 *
 * A generation is written in one transaction (BEGIN IMMEDIATE .. COMMIT) that
 * only commits after its digest and signature are stored: a crash or a kill
 * mid-way leaves the previous generations and nothing else.  The write lock is
 * held for the whole scan; readers (check, show) are not blocked in WAL mode.
 *
 * This file: opening (StrictModes, the read-only and full-disk fallbacks),
 * the schema and SQLite's errors; the rest is split along the same lines as
 * store.h (see store_priv.h for which file holds what).
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

#include "store_priv.h"

#define SCHEMA_VERSION 3


static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO meta(key, value) VALUES('schema', 3);"
	"CREATE TABLE IF NOT EXISTS generations("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, created INTEGER NOT NULL, host TEXT NOT NULL,"
	" kind TEXT NOT NULL, n_records INTEGER NOT NULL DEFAULT 0, digest BLOB, sig BLOB,"
	" key_id BLOB, complete INTEGER NOT NULL DEFAULT 0, prev_id INTEGER NOT NULL DEFAULT 0,"
	" prev_digest BLOB);"
	"CREATE TABLE IF NOT EXISTS records(" REC_TABLE_DECL ") WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS objects(" OBJ_TABLE_DECL ") WITHOUT ROWID;";


const char *vigil_store_path(const struct vigil_store *st)
{
	return st->path;
}

/* Maps a SQLite result to -errno with a message naming the database. */
int store_db_fail(struct vigil_store *st, int rc, struct vigil_err *err, const char *what)
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

int store_exec(struct vigil_store *st, const char *sql, const char *what, struct vigil_err *err)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_db_fail(st, rc, err, what);
}

int store_prepare(struct vigil_store *st, const char *sql, sqlite3_stmt **stmt, const char *what,
		   struct vigil_err *err)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL);

	return rc == SQLITE_OK ? 0 : store_db_fail(st, rc, err, what);
}

/* Display form of a path for messages, cut to fit. */
void store_path_str(const char *p, size_t n, char out[256])
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

/* --- open / close ----------------------------------------------------------- */

static int check_schema(struct vigil_store *st, struct vigil_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc, ntables = 0, nours = 0;
	int64_t version = -1;

	rc = store_prepare(st, "SELECT count(*), coalesce(sum(name IN ('meta', 'generations', 'records', 'objects')), 0)"
		     " FROM sqlite_master WHERE type = 'table'", &s, "reading the schema", err);
	if (rc)
		return rc;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		rc = store_db_fail(st, rc, err, "reading the schema");
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
		rc = store_exec(st, "BEGIN IMMEDIATE", "creating the schema", err);
		if (rc)
			goto out;
		rc = store_exec(st, schema_sql, "creating the schema", err);
		if (!rc)
			rc = store_exec(st, "COMMIT", "creating the schema", err);
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
	rc = store_prepare(st, "SELECT value FROM meta WHERE key = 'schema'", &s, "reading the schema version", err);
	if (rc)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_INTEGER)
		version = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = store_db_fail(st, rc, err, "reading the schema version");
		goto out;
	}
	if (version == 1) {
		rc = vigil_err_set(err, -ENOTSUP, "baseline database '%s' was written by an older vigil (schema 1, "
				   "without the signed head that detects a rollback): move it away (mv '%s' '%s.v1') "
				   "and run 'vigil baseline' again", st->path, st->path, st->path);
		goto out;
	}
	if (version == 2 && (st->flags & VIGIL_STORE_RDONLY)) {
		rc = 1; /* vigil_store_open() migrates it through a writable handle */
		goto out;
	}
	if (version == 2) {
		sqlite3_finalize(s);
		s = NULL;
		rc = store_migrate_v2(st, err);
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

/* The database file before SQLite opens it: a regular file that is not empty
 * (SQLite would take a 0-byte file for a new database: a truncated baseline
 * must not silently become an empty one), owned and protected as statedir.h
 * says, in a state dir that is.  Absent is fine only when creating. */
static int check_db_file(struct vigil_store *st, const char *dir, unsigned flags, struct vigil_err *err)
{
	struct stat sb;
	int rc;

	if (lstat(st->path, &sb) < 0) {
		rc = -errno;
		if (rc == -ENOENT && ((flags & VIGIL_STORE_RDONLY) || !(flags & VIGIL_STORE_CREATE)))
			return vigil_err_set(err, rc, "no baseline database '%s': run `vigil baseline` first", st->path);
		if (rc != -ENOENT)
			return vigil_err_set(err, rc, "cannot stat baseline database '%s': %s", st->path, strerror(-rc));
	} else if (!S_ISREG(sb.st_mode)) {
		return vigil_err_set(err, S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL,
				     "baseline database '%s' is not a regular file (%s)", st->path,
				     S_ISDIR(sb.st_mode) ? "a directory" : S_ISLNK(sb.st_mode) ? "a symbolic link" :
				     "a special file");
	} else if (sb.st_size == 0) {
		return vigil_err_set(err, -EBADMSG, "baseline database '%s' is an empty file (truncated?): "
				     "move it away to start a new baseline", st->path);
	} else {
		rc = vigil_statedir_check_stat(&sb, st->path, "baseline database", err);
		if (rc)
			return rc;
	}
	return vigil_statedir_check_dir(dir, err);
}

/* Opens st->db: read-only ones immutable when the state dir cannot take the
 * -shm file (see readonly_fallback()). */
static int open_db(struct vigil_store *st, unsigned flags)
{
	int rc, oflags = SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX;

	if (flags & VIGIL_STORE_RDONLY)
		oflags |= SQLITE_OPEN_READONLY;
	else
		oflags |= SQLITE_OPEN_READWRITE | ((flags & VIGIL_STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
	if ((flags & VIGIL_STORE_RDONLY) && !wal_pending(st) && no_room_for_shm(st))
		return open_immutable(st, oflags);
	rc = sqlite3_open_v2(st->path, &st->db, oflags, NULL);
	if (rc == SQLITE_OK && (flags & VIGIL_STORE_RDONLY))
		rc = readonly_fallback(st, oflags);
	return rc;
}

static int setup_connection(struct vigil_store *st, unsigned flags, struct vigil_err *err)
{
	int rc;

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
	rc = store_exec(st, "PRAGMA foreign_keys = ON; PRAGMA cell_size_check = ON; PRAGMA temp_store = FILE;"
			" PRAGMA temp.cache_size = -16384", "setting up the connection", err);
	/* a new (empty) file: pruning will give pages back (incremental_vacuum,
	 * store_retain.c); it must be set before the header is first written */
	if (!rc && !(flags & VIGIL_STORE_RDONLY)) {
		struct stat sb;

		if (!stat(st->path, &sb) && sb.st_size == 0)
			rc = store_exec(st, "PRAGMA auto_vacuum = INCREMENTAL", "setting up the connection", err);
	}
	if (!rc && !(flags & VIGIL_STORE_RDONLY))
		rc = store_exec(st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
				" PRAGMA journal_size_limit = 67108864", "setting up the connection", err);
	return rc;
}

int vigil_store_open(const char *dir, unsigned flags, struct vigil_store **out, struct vigil_err *err)
{
	struct vigil_store *st = NULL;
	int rc;

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
	rc = check_db_file(st, dir, flags, err);
	if (rc)
		goto out;
	rc = open_db(st, flags);
	if (rc != SQLITE_OK) {
		rc = store_db_fail(st, rc, err, "opening");
		goto out;
	}
	rc = setup_connection(st, flags, err);
	if (!rc)
		rc = check_schema(st, err);
	if (rc == 1) {
		/* schema 2 opened read-only (check, generations, diff): migrate it
		 * once through a writable handle, then open it again */
		struct vigil_store *rw = NULL;

		vigil_store_close(st);
		st = NULL;
		rc = vigil_store_open(dir, flags & ~(unsigned)(VIGIL_STORE_RDONLY | VIGIL_STORE_CREATE), &rw, err);
		vigil_store_close(rw);
		if (rc)
			return vigil_err_prefix(err, rc, "baseline database of schema version 2 (an older vigil) "
						"must be migrated, which needs write access");
		return vigil_store_open(dir, flags, out, err);
	}
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
