/* sched.h - the daemon's schedules (config `schedule:`): an action every
 * DURATION on CLOCK_MONOTONIC, or daily at HH:MM local time on
 * CLOCK_REALTIME, re-armed when the clock is set.  One timerfd per entry; no
 * polling.
 *
 * Lifecycle: vigil_sched_new(loop, cfg->schedules, n, fn, ctx, &s, err) ->
 * fn(ctx, action, index) runs on the loop thread at each due time ->
 * vigil_sched_free(s).  A reload builds a new one and frees the old.
 */
#ifndef VIGIL_SCHED_H
#define VIGIL_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/config.h"
#include "vigil/err.h"
#include "vigil/loop.h"

struct vigil_sched;

/* action: enum vigil_sched_action; index: the entry in the config's list. */
typedef void (*vigil_sched_fn)(void *ctx, int action, size_t index);

int vigil_sched_new(struct vigil_loop *loop, const struct vigil_schedule *sch, size_t n,
		    vigil_sched_fn fn, void *ctx, struct vigil_sched **out, struct vigil_err *err);
void vigil_sched_free(struct vigil_sched *s);
size_t vigil_sched_count(const struct vigil_sched *s);
/* Unix time (seconds) entry i is next due. */
int64_t vigil_sched_next_due(const struct vigil_sched *s, size_t i);
/* The first HH:MM (at_min minutes after local midnight) strictly after now,
 * in unix seconds; a time that a DST change skips runs at the same offset
 * after the change (mktime's normalisation). */
int64_t vigil_sched_next_at(int at_min, int64_t now);
const char *vigil_sched_action_name(int action);

#endif
