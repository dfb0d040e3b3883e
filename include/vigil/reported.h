/* reported.h - what the watch daemon last reported for each path, so that
 * one state of a file gives one event however many threads look at it.
 *
 * Lifecycle: vigil_reported_new(max) ->
 *   per observation of a path (any thread): stamp = vigil_reported_stamp()
 *   taken BEFORE the file is read (stat, hash), then
 *   vigil_reported_claim(r, path, len, stamp, fp, force, emit, arg) ->
 *   vigil_reported_clear() when the baseline compared with changes ->
 *   vigil_reported_free().
 *
 * A claim is one atomic step under the map's lock: compare with what was last
 * reported, call emit(arg) (which hands the event on, e.g. queues it for the
 * loop), and record the state only if emit succeeded.  Because emit runs under
 * the lock, events leave in the order their states were recorded.
 *
 * The stamp orders observations: a rescan reads a file long before it
 * compares it (the whole tree is walked first), so its record can be older
 * than one the path worker has reported meanwhile.  A claim whose stamp is
 * older than the recorded one is stale and never emitted or recorded: what it
 * saw is either what was recorded, or older, and any change after the
 * recorded observation leads to a newer observation (inotify, or a rescan
 * after an overflow).  Limit: two observations of one path that overlap in
 * time while the file changes can still be ordered wrongly (a window of one
 * file's stat and hash); the change's own event then reports the final state.
 */
#ifndef VIGIL_REPORTED_H
#define VIGIL_REPORTED_H

#include <stddef.h>
#include <stdint.h>

#define VIGIL_REPORTED_FP_LEN 16 /* a state: digest of the compared attributes */

struct vigil_reported;

/* Returns 0 when the event was handed on, <0 (-errno) when it was not. */
typedef int (*vigil_reported_emit_fn)(void *arg);

/* max: paths remembered; beyond it the least recently reported is forgotten
 * (which costs at most a repeated event for it).  NULL on ENOMEM. */
struct vigil_reported *vigil_reported_new(size_t max);
void vigil_reported_free(struct vigil_reported *r);

/* A new observation stamp, greater than every one before (thread-safe). */
uint64_t vigil_reported_stamp(struct vigil_reported *r);

/* fp: the observed state (VIGIL_REPORTED_FP_LEN bytes), or NULL when the path
 * is back in its baseline state (emitted only if something else was reported
 * for it: a restore).  force (checks): report every difference even if
 * already reported, but never a restore, and a stale one is not recorded.
 * Returns 1 when emit was called and succeeded, 0 when there was nothing to
 * report, emit's error otherwise (nothing recorded: a later observation
 * reports it). */
int vigil_reported_claim(struct vigil_reported *r, const char *path, size_t len, uint64_t stamp,
			 const unsigned char *fp, int force, vigil_reported_emit_fn emit, void *arg);

/* Forgets every path (the stamps keep increasing). */
void vigil_reported_clear(struct vigil_reported *r);
/* Calls fn for each path whose last report was a change (not a restore),
 * oldest first, under the map's lock (fn must not call back into r); a
 * non-zero return stops.  Returns the number of calls.  For rescans: a path
 * reported as added and then lost in an overflow is neither in the baseline
 * nor on disk, so only this map knows it must be looked at again. */
typedef int (*vigil_reported_path_fn)(void *arg, const char *path, size_t len);
size_t vigil_reported_changed(struct vigil_reported *r, vigil_reported_path_fn fn, void *arg);
/* Paths remembered, restored ones included. */
size_t vigil_reported_count(struct vigil_reported *r);

#endif
