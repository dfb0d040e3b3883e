/* statedir.h - the daemon's watch on its own state dir: the baseline, its
 * keys and the database's WAL can be changed behind the daemon's back (a row
 * edited to hide a change), so any change there is noticed and the newest
 * generation verified again (digest and signature) before it is trusted.
 *
 * Lifecycle:
 *   vigil_statedir_new(loop, dir, quiet_ms, fn, ctx, &sd, err): an inotify
 *     watch on dir; fn(ctx) runs on the loop thread once nothing more changed
 *     for quiet_ms after a change (the caller then verifies, off the loop)
 *   vigil_statedir_free(sd)
 *   vigil_statedir_verify(dir, &gen, err): any thread; opens the store afresh
 *     (never a connection that may have cached what was there before)
 *
 * The SQLite shared-memory index (-shm) is not watched: readers write it, and
 * on its own it changes no row; nor are opens, closes and owner changes of
 * the database's files, which every reader running as root makes.  Limit: inotify sees changes made through the
 * file system, not writes to the block device underneath (nothing does but a
 * verification that reads everything, which is what checks do first).
 */
#ifndef VIGIL_STATEDIR_H
#define VIGIL_STATEDIR_H

#include "vigil/err.h"
#include "vigil/loop.h"
#include "vigil/store.h"

struct vigil_statedir;

typedef void (*vigil_statedir_fn)(void *ctx);

int vigil_statedir_new(struct vigil_loop *loop, const char *dir, int quiet_ms, vigil_statedir_fn fn, void *ctx,
		       struct vigil_statedir **out, struct vigil_err *err);
void vigil_statedir_free(struct vigil_statedir *sd);
/* Changes seen so far (for status). */
unsigned long long vigil_statedir_changes(const struct vigil_statedir *sd);

/* The newest generation in dir, its digest and signature checked against
 * dir's public key: 0 and *gen, -ENOENT when there is none, -EBADMSG when it
 * does not verify (err says why), another -errno when it cannot be read. */
int vigil_statedir_verify(const char *dir, struct vigil_generation *gen, struct vigil_err *err);

#endif
