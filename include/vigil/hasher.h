/* hasher.h - a digest computed on a second core while the caller goes on.
 *
 * One background thread per hasher; one job in flight at a time.  The caller
 * alternates between (at least) two buffers: vigil_hasher_write() waits until
 * the previous job is done, then hands over (d, buf, len) and returns at once;
 * buf must stay unchanged until the next vigil_hasher_write() or
 * vigil_hasher_sync() returns, d must not be read or written before
 * vigil_hasher_sync().  On a single-CPU machine (or when the thread cannot be
 * started) vigil_hasher_new() returns NULL and vigil_hasher_write(NULL, ...)
 * hashes in the caller's thread: the same results, serially. */
#ifndef VIGIL_HASHER_H
#define VIGIL_HASHER_H

#include <stddef.h>

#include "vigil/crypto.h"

struct vigil_hasher;

struct vigil_hasher *vigil_hasher_new(void);
void vigil_hasher_write(struct vigil_hasher *h, struct vigil_digest *d, const void *buf, size_t len);
/* Waits until every job handed over is hashed. */
void vigil_hasher_sync(struct vigil_hasher *h);
void vigil_hasher_free(struct vigil_hasher *h);

#endif
