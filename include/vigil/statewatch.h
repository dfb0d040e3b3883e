/* statewatch.h - the daemon's watch on its own state dir: the baseline, its
 * keys and the database's WAL can be changed behind the daemon's back (a row
 * edited to hide a change), so any change there is noticed and the newest
 * generation verified again (digest and signature) before it is trusted.
 *
 * Lifecycle:
 *   vigil_statewatch_new(loop, dir, quiet_ms, fn, ctx, &sd, err): an inotify
 *     watch on dir; fn(ctx) runs on the loop thread once nothing more changed
 *     for quiet_ms after a change (the caller then verifies, off the loop,
 *     on a fresh connection: vigil_run_open_verified())
 *   vigil_statewatch_free(sd)
 *
 * The SQLite shared-memory index (-shm) is not watched: readers write it, and
 * on its own it changes no row; nor are opens, closes and owner changes of
 * the database's files, which every reader running as root makes.  Limit:
 * inotify sees changes made through the file system, not writes to the block
 * device underneath or through a shared mapping (nothing does but a
 * verification that reads everything, which is what checks do first).
 */
#ifndef VIGIL_STATEWATCH_H
#define VIGIL_STATEWATCH_H

#include "vigil/err.h"
#include "vigil/loop.h"

struct vigil_statewatch;

typedef void (*vigil_statewatch_fn)(void *ctx);

int vigil_statewatch_new(struct vigil_loop *loop, const char *dir, int quiet_ms, vigil_statewatch_fn fn, void *ctx,
		       struct vigil_statewatch **out, struct vigil_err *err);
void vigil_statewatch_free(struct vigil_statewatch *sd);
/* Changes seen so far (for status). */
unsigned long long vigil_statewatch_changes(const struct vigil_statewatch *sd);

#endif
