/* store_priv.h - what the files of the baseline store share; not an API.
 *
 * store.c (open, close, schema, SQLite errors), store_row.c (record <-> row),
 * store_gen.c (generations, digest, verify, the head's agreement),
 * store_write.c (writing a generation), store_read.c (reading, the scratch
 * merge of `check`), store_head.c (the signed head file).  Functions named
 * store_* here are shared between those files only.
 */
#ifndef VIGIL_STORE_PRIV_H
#define VIGIL_STORE_PRIV_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "vigil/store.h"

/* How long a writer waits for another writer before giving up with "locked".
 * A whole `vigil baseline` holds the lock, so waiting longer rarely helps. */
#define BUSY_MS 3000

#define REC_COLS "path, ftype, mode, uid, gid, size, mtime_ns, ctime_ns, ino, dev, rdev, nlink, " \
	"target, xattrs, flags, has_flags, algos, digests, status, err, scope"
#define REC_NCOLS 21
#define REC_PARAMS "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
#define REC_NPARAMS "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, " \
	"?19, ?20, ?21"
#define REC_DECL "path BLOB NOT NULL, ftype INTEGER NOT NULL, mode INTEGER NOT NULL, " \
	"uid INTEGER NOT NULL, gid INTEGER NOT NULL, size INTEGER NOT NULL, " \
	"mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, " \
	"dev INTEGER NOT NULL, rdev INTEGER NOT NULL, nlink INTEGER NOT NULL, target BLOB, " \
	"xattrs BLOB, flags INTEGER NOT NULL, has_flags INTEGER NOT NULL, algos INTEGER NOT NULL, " \
	"digests BLOB, status INTEGER NOT NULL, err INTEGER NOT NULL, scope TEXT NOT NULL"
/* Schema 3: a record row is stored once for the run of generations that
 * hold it unchanged: first_gen..last_gen (the generations in between that
 * still exist).  A generation's records are the rows with
 * first_gen <= gen <= last_gen.  REC_SAME: every field of the row equals the
 * record bound at ?1..?21 (store_bind_record(s, 1, r)); the path is ?1. */
#define GEN_IN "first_gen <= ?%d AND last_gen >= ?%d"
#define REC_SAME "ftype IS ?2 AND mode IS ?3 AND uid IS ?4 AND gid IS ?5 AND size IS ?6 AND " \
	"mtime_ns IS ?7 AND ctime_ns IS ?8 AND ino IS ?9 AND dev IS ?10 AND rdev IS ?11 AND " \
	"nlink IS ?12 AND target IS ?13 AND xattrs IS ?14 AND flags IS ?15 AND has_flags IS ?16 AND " \
	"algos IS ?17 AND digests IS ?18 AND status IS ?19 AND err IS ?20 AND scope IS ?21"
#define REC_TABLE_DECL "first_gen INTEGER NOT NULL, last_gen INTEGER NOT NULL, " REC_DECL ", " \
	"PRIMARY KEY(path, first_gen)"
#define OBJ_TABLE_DECL "first_gen INTEGER NOT NULL, last_gen INTEGER NOT NULL, kind TEXT NOT NULL, " \
	"key TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY(kind, key, first_gen)"
#define GEN_COLS "id, created, host, kind, n_records, digest, sig, key_id, prev_id, prev_digest"

struct vigil_store {
	sqlite3 *db;
	unsigned flags;
	char path[PATH_MAX], dir[PATH_MAX];
	/* the generation being written, and the one before it */
	int writing;
	int64_t gen, created, prev_id;
	unsigned char prev_digest[32];
	char host[256], kind[32];
	sqlite3_stmt *ins_rec, *ins_obj, *ext_rec, *ext_obj;
	/* the scratch table of `check` */
	int scratch, scratch_txn;
	sqlite3_stmt *ins_scratch;
};

/* Maps a SQLite result to -errno with a message naming the database. */
int store_db_fail(struct vigil_store *st, int rc, struct vigil_err *err, const char *what);
int store_exec(struct vigil_store *st, const char *sql, const char *what, struct vigil_err *err);
int store_prepare(struct vigil_store *st, const char *sql, sqlite3_stmt **stmt, const char *what,
		  struct vigil_err *err);
/* Display form of a path for messages, cut to fit. */
void store_path_str(const char *p, size_t n, char out[256]);

/* store_row.c */
int store_bind_blob(sqlite3_stmt *s, int i, const void *p, size_t n);
int store_bind_record(sqlite3_stmt *s, int i, const struct vigil_record *r);
int store_check_record(struct vigil_store *st, const struct vigil_record *r, struct vigil_err *err);
/* Fills r (initialised, empty) from the row's columns c.. in REC_COLS order. */
int store_read_record(struct vigil_store *st, sqlite3_stmt *s, int c, struct vigil_record *r, int64_t gen,
		      struct vigil_err *err);
/* Fills g from a row of GEN_COLS. */
int store_read_gen(struct vigil_store *st, sqlite3_stmt *s, struct vigil_generation *g, struct vigil_err *err);

/* store_gen.c */
/* The database's newest committed generation, whatever the head says. */
int store_newest(struct vigil_store *st, struct vigil_generation *gen, struct vigil_err *err);
/* Whether g, the newest generation (NULL: none), is the one head h names
 * (head_rc: how reading h went): 0, -ENOENT (no baseline at all) or -EBADMSG. */
int store_head_agrees(struct vigil_store *st, const struct vigil_generation *g, const struct vigil_store_head *h,
		      int head_rc, struct vigil_err *err);

/* The generation digest, recomputed from the rows as they are stored now;
 * *n_records: how many records it covered. */
int store_compute_digest(struct vigil_store *st, const struct vigil_generation *g, unsigned char out[32],
			 uint64_t *n_records, struct vigil_err *err);

/* store_migrate.c */
/* Schema 2 (a full copy of the records per generation) to 3, in one
 * transaction, then the freed space given back. */
int store_migrate_v2(struct vigil_store *st, struct vigil_err *err);

/* store_retain.c */
struct store_gc {
	int64_t pages;            /* the file's pages before */
	int64_t deleted, left;    /* rows deleted, rows left */
};
/* Deletes the record and object rows no stored generation holds; gc (may be
 * NULL) gets what it did, for store_give_back(). */
int store_gc(struct vigil_store *st, struct store_gc *gc, struct vigil_err *err);
/* Gives the free pages back to the file system (incremental vacuum), and
 * compacts the file (VACUUM) when gc deleted rows but their space stayed
 * inside pages that kept other rows. */
int store_give_back(struct vigil_store *st, const struct store_gc *gc, struct vigil_err *err);

/* store_write.c */
/* Steps an INSERT; a repeated key is -EEXIST naming path. */
int store_step_insert(struct vigil_store *st, sqlite3_stmt *s, const char *path, size_t len,
		      const char *what, struct vigil_err *err);

#endif
