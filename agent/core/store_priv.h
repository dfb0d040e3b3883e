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
#define REC_DECL "path BLOB NOT NULL, ftype INTEGER NOT NULL, mode INTEGER NOT NULL, " \
	"uid INTEGER NOT NULL, gid INTEGER NOT NULL, size INTEGER NOT NULL, " \
	"mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, " \
	"dev INTEGER NOT NULL, rdev INTEGER NOT NULL, nlink INTEGER NOT NULL, target BLOB, " \
	"xattrs BLOB, flags INTEGER NOT NULL, has_flags INTEGER NOT NULL, algos INTEGER NOT NULL, " \
	"digests BLOB, status INTEGER NOT NULL, err INTEGER NOT NULL, scope TEXT NOT NULL"
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
	sqlite3_stmt *ins_rec, *ins_obj;
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

/* store_write.c */
/* Steps an INSERT; a repeated key is -EEXIST naming path. */
int store_step_insert(struct vigil_store *st, sqlite3_stmt *s, const char *path, size_t len,
		      const char *what, struct vigil_err *err);

#endif
