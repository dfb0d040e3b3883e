/* store.h - the baseline store: SQLite (WAL) in the state dir, generations,
 * a signed digest per generation.
 *
 * Lifecycle:
 *   vigil_store_open(dir, flags, &st, err)
 *   writing a generation: vigil_store_begin(st, &gen) -> vigil_store_put() ... and
 *     vigil_store_put_object() ... -> vigil_store_commit(st, key) (digest + signature,
 *     all in one transaction) or vigil_store_rollback(st)
 *   reading: vigil_store_latest(st, &gen), vigil_store_verify(st, gen, pub, err),
 *     vigil_store_get(st, gen, path, &rec), vigil_store_iter_*()
 *   vigil_store_close(st)  (accepts NULL)
 *
 * Paths are BLOBs: any byte string Linux allows round-trips; iteration is in
 * memcmp order of the path bytes, which is also the order the digest is taken in.
 * The generation digest is SHA-256 over a header ("vigil-baseline-v2", gen,
 * created time, host, kind, and the previous generation's id and digest: the
 * generations form a chain) followed by vigil_record_encode() of every record
 * in path order, then every object in (kind, key) order, then both counts,
 * each part length-prefixed; it is signed with Ed25519 (the 32 digest bytes).
 *
 * Which generation is current is decided by the signed head, baseline.head,
 * OUTSIDE the database (store_head.c): vigil_store_commit() writes it after the
 * database commit, vigil_store_latest() refuses a database whose newest
 * generation is not the head's (rolled back: -EBADMSG), and
 * vigil_store_verify() checks the head's signature too.  The one tolerated
 * difference is a head one generation behind, when that generation chains to
 * the head's digest and verifies (a crash between the two writes).
 *
 * Every file trusted here (state dir, database, head) must pass the StrictModes
 * rules of statedir.h.
 */
#ifndef VIGIL_STORE_H
#define VIGIL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"
#include "vigil/record.h"
#include "vigil/sign.h"

#define VIGIL_STORE_FILE "baseline.db"
#define VIGIL_STORE_HEAD_FILE "baseline.head"

enum vigil_store_flags {
	VIGIL_STORE_RDONLY = 1u << 0,
	VIGIL_STORE_CREATE = 1u << 1, /* create dir (0700) and db when missing */
};

struct vigil_store;

struct vigil_generation {
	int64_t id;          /* 1, 2, ... */
	int64_t created;     /* unix seconds */
	char host[256];
	char kind[32];       /* "baseline", "accept", "scheduled" */
	uint64_t n_records;
	unsigned char digest[32];
	unsigned char sig[64];
	unsigned char key_id[8];
	int64_t prev_id;     /* the generation before it when it was written; 0 for the first */
	unsigned char prev_digest[32]; /* that generation's digest (zeros for the first) */
};

/* The signed head: the current generation, its digest, and a counter that
 * grows by one on every write (a smaller counter later means an old head was
 * put back). */
struct vigil_store_head {
	int64_t gen;
	unsigned char digest[32];
	uint64_t counter;
	unsigned char key_id[8];
	unsigned char sig[64];
};

/* Reads DIR/baseline.head; with pub, also checks its signature (-EBADMSG).
 * -ENOENT when there is none.  The daemon calls it after a scheduled baseline
 * to report the new head (and a counter that went down). */
int vigil_store_head_read(const char *dir, const struct vigil_pubkey *pub, struct vigil_store_head *h,
			  struct vigil_err *err);
/* {"head":{"generation":N,"digest":"hex","counter":C}} for an event's vigil.*
 * object; -EOVERFLOW when size is too small (160 bytes always do). */
int vigil_store_head_json(const struct vigil_store_head *h, char *out, size_t size);
/* Signs and writes the head for h->gen and h->digest (sets counter, key_id,
 * sig); vigil_store_commit() calls it.  A head already there for a newer
 * generation is kept (and returned in h): the head never goes back. */
int vigil_store_head_write(const char *dir, const struct vigil_seckey *key, struct vigil_store_head *h,
			   struct vigil_err *err);

int vigil_store_open(const char *dir, unsigned flags, struct vigil_store **out, struct vigil_err *err);
void vigil_store_close(struct vigil_store *st);
const char *vigil_store_path(const struct vigil_store *st);

/* The current generation: the newest committed one, which must be the one the
 * head names (or chain to it, see above); -ENOENT when there is none, -EBADMSG
 * when the database was rolled back or the head is missing or malformed. */
int vigil_store_latest(struct vigil_store *st, struct vigil_generation *gen, struct vigil_err *err);
int vigil_store_generation(struct vigil_store *st, int64_t id, struct vigil_generation *gen,
			   struct vigil_err *err);

/* Recomputes the digest of gen from its records and checks it and the
 * signature against pub, its link to the previous generation when that is
 * still stored, and the head's signature; the newest generation must be the
 * head's.  -EBADMSG when any of it does not verify. */
int vigil_store_verify(struct vigil_store *st, const struct vigil_generation *gen,
		       const struct vigil_pubkey *pub, struct vigil_err *err);

/* Writing a new generation. kind: "baseline", "accept", ... */
int vigil_store_begin(struct vigil_store *st, const char *kind, struct vigil_err *err);
int vigil_store_put(struct vigil_store *st, const struct vigil_record *rec, struct vigil_err *err);
/* Non-file objects (e.g. kind "layer", key chain ID, data JSON) in the same generation. */
int vigil_store_put_object(struct vigil_store *st, const char *kind, const char *key,
			   const void *data, size_t len, struct vigil_err *err);
/* Copies every record of generation `from` except those whose path is in
 * skip (n paths) into the generation being written (used by `accept`).  Call
 * it before putting the fresh records.  Objects are not copied: copy them with
 * vigil_store_objects() -> vigil_store_put_object() if the new generation
 * should keep them. */
int vigil_store_copy_except(struct vigil_store *st, int64_t from, const char *const *skip,
			    const size_t *skip_len, size_t n, struct vigil_err *err);
/* Signs the generation, commits it, then writes the signed head.  A head that
 * cannot be written is an error after the database commit (the head stays one
 * generation behind, which the next commit repairs). */
int vigil_store_commit(struct vigil_store *st, const struct vigil_seckey *key,
		       struct vigil_generation *out, struct vigil_err *err);
void vigil_store_rollback(struct vigil_store *st);
/* Deletes every generation but the newest `keep` (>= 1) committed ones. */
int vigil_store_prune(struct vigil_store *st, unsigned keep, struct vigil_err *err);

/* Retention (agent/core/store_retain.c): deletes the complete generations
 * beyond the newest `keep` (0: no count limit) or created before now -
 * max_age_s (0: no age limit), never the newest and never one in protect;
 * then gives the freed pages back (incremental vacuum).  *pruned (malloc'd)
 * lists the ids deleted, newest first. */
int vigil_store_retain(struct vigil_store *st, unsigned keep, uint64_t max_age_s, int64_t now,
		       const int64_t *protect, size_t n_protect, int64_t **pruned, size_t *n_pruned,
		       struct vigil_err *err);
/* The same, now, protecting every generation STATE_DIR/custody.jsonl names
 * ("generation": N): what `vigil prune` and the daemon apply. */
int vigil_store_retain_policy(struct vigil_store *st, const char *state_dir, unsigned keep, uint64_t max_age_s,
			      int64_t **pruned, size_t *n_pruned, struct vigil_err *err);

/* One record; -ENOENT when the path is not in gen.  rec is overwritten (not
 * freed first) and owned by the caller: vigil_record_clear() it after use. */
int vigil_store_get(struct vigil_store *st, int64_t gen, const char *path, size_t len,
		    struct vigil_record *rec, struct vigil_err *err);
/* Object lookup; *data malloc'd. -ENOENT when absent. */
int vigil_store_get_object(struct vigil_store *st, int64_t gen, const char *kind, const char *key,
			   void **data, size_t *len, struct vigil_err *err);

/* Iteration over a generation's records in path order.  The iterator keeps a
 * statement open; records are valid until the next call.  The record's buffers
 * belong to the iterator: do not vigil_record_clear() it, vigil_record_copy()
 * it to keep it. */
struct vigil_store_iter;
int vigil_store_iter_new(struct vigil_store *st, int64_t gen, struct vigil_store_iter **it,
			 struct vigil_err *err);
/* 1 and fills rec, 0 at the end, -errno on error. */
int vigil_store_iter_next(struct vigil_store_iter *it, struct vigil_record *rec, struct vigil_err *err);
void vigil_store_iter_free(struct vigil_store_iter *it);

/* Iteration over objects of one kind (kind NULL = all) in (kind, key) order. */
typedef int (*vigil_store_object_cb)(void *arg, const char *kind, const char *key,
				     const void *data, size_t len);
int vigil_store_objects(struct vigil_store *st, int64_t gen, const char *kind,
			vigil_store_object_cb cb, void *arg, struct vigil_err *err);
/* The objects of one kind in memory (keys and data as strings, in key
 * order): vigil_store_objects(st, gen, kind, vigil_store_objlist_add, &l, err)
 * then vigil_store_objlist_free(&l).  A caller may free and NULL an entry. */
struct vigil_store_objlist {
	char **key, **data;
	size_t n, cap;
};
int vigil_store_objlist_add(void *arg, const char *kind, const char *key, const void *data, size_t len);
void vigil_store_objlist_free(struct vigil_store_objlist *l);

/* A scratch table for `check`: the current scan is written to it and then
 * merged against a generation in path order (bounded memory).  */
int vigil_store_scratch_begin(struct vigil_store *st, struct vigil_err *err);
int vigil_store_scratch_put(struct vigil_store *st, const struct vigil_record *rec, struct vigil_err *err);
/* Calls cb for each path in either set, in path order: old NULL = added,
 * cur NULL = removed, both = present in both (the caller diffs).  The records
 * belong to the merge and are valid during the call only.  A non-zero return
 * from cb stops the merge and is returned. */
typedef int (*vigil_store_merge_cb)(void *arg, const struct vigil_record *old,
				    const struct vigil_record *cur);
int vigil_store_scratch_merge(struct vigil_store *st, int64_t gen, vigil_store_merge_cb cb, void *arg,
			      struct vigil_err *err);
void vigil_store_scratch_end(struct vigil_store *st);

#endif
