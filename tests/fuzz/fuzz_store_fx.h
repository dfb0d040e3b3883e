/* fuzz_store_fx.h - a baseline store for the store fuzz targets: made once
 * per process in a scratch dir, with generation 1 marked complete, and a
 * second, raw SQLite handle on the same file through which a target plants
 * hostile rows (the rows an attacker with write access to the database
 * controls) before reading them back through vigil's own store API. */
#ifndef VIGIL_FUZZ_STORE_FX_H
#define VIGIL_FUZZ_STORE_FX_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/store.h"

struct fz_store {
	const char *dir;
	struct vigil_store *st;
	sqlite3 *raw;
};

/* Aborts when the store cannot be made (the target would test nothing). */
void fz_store_init(struct fz_store *f, const char *tag);
/* Runs sql on the raw handle; 0 or the SQLite error code. */
int fz_store_exec(struct fz_store *f, const char *sql);
/* Binds column value i of a statement from the input: a type byte (NULL,
 * integer, real, text, blob) then its bytes (8 for numbers, a length byte
 * then that many for text and blobs).  Advances *p / *left. */
void fz_store_bind(sqlite3_stmt *s, int i, const uint8_t **p, size_t *left);

#endif
