/* gendiff.h - two stored generations compared, path by path: what
 * `vigil diff GEN_A GEN_B` shows.  The decision is check's (vigil_compare()
 * with the scope that selects the path in cfg, defaults when none does), so a
 * difference reads the same as in `check`.
 *
 * Lifecycle: none; the caller opens and verifies the store and both
 * generations, then calls vigil_gendiff_records() once.
 */
#ifndef VIGIL_GENDIFF_H
#define VIGIL_GENDIFF_H

#include <stdint.h>

#include "vigil/compare.h"
#include "vigil/config.h"
#include "vigil/err.h"
#include "vigil/run.h"
#include "vigil/store.h"

/* cb gets each difference (old: a's record, cur: b's; either NULL), in path
 * order; t counts them.  0, cb's non-zero return, or -errno. */
int vigil_gendiff_records(struct vigil_store *st, int64_t a, int64_t b, const struct vigil_config *cfg,
			  vigil_run_diff_cb cb, void *arg, struct vigil_tally *t, struct vigil_err *err);

/* The Docker layer and image objects of a and b (kinds "layer" and
 * "image"), merged by key: cb gets each one added, removed or stored
 * differently (d->path NULL, d->object the chain id or image id,
 * d->message what differs, d->extra_json {"kind", "old", "new"} with the
 * stored objects), layers first, then images, each in key order; *n counts
 * them.  0, cb's non-zero return, or -errno. */
int vigil_gendiff_objects(struct vigil_store *st, int64_t a, int64_t b, vigil_run_diff_cb cb, void *arg,
			  size_t *n, struct vigil_err *err);

#endif
