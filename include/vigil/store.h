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
 * The generation digest is SHA-256 over a header ("vigil-baseline-v1", gen,
 * created time, host, kind) followed by vigil_record_encode() of every record in
 * path order, then every object in (kind, key) order, then both counts, each
 * part length-prefixed; it is signed with Ed25519 (the 32 digest bytes).
 */
#ifndef VIGIL_STORE_H
#define VIGIL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"
#include "vigil/record.h"
#include "vigil/sign.h"

#define VIGIL_STORE_FILE "baseline.db"

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
};

int vigil_store_open(const char *dir, unsigned flags, struct vigil_store **out, struct vigil_err *err);
void vigil_store_close(struct vigil_store *st);
const char *vigil_store_path(const struct vigil_store *st);

/* Newest committed generation; -ENOENT when there is none. */
int vigil_store_latest(struct vigil_store *st, struct vigil_generation *gen, struct vigil_err *err);
int vigil_store_generation(struct vigil_store *st, int64_t id, struct vigil_generation *gen,
			   struct vigil_err *err);

/* Recomputes the digest of gen from its records and checks it and the
 * signature against pub.  -EBADMSG when either does not verify. */
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
int vigil_store_commit(struct vigil_store *st, const struct vigil_seckey *key,
		       struct vigil_generation *out, struct vigil_err *err);
void vigil_store_rollback(struct vigil_store *st);
/* Deletes every generation but the newest `keep` (>= 1) committed ones. */
int vigil_store_prune(struct vigil_store *st, unsigned keep, struct vigil_err *err);

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
