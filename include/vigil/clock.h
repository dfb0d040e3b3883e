/* clock.h - the one clock helper.
 *
 * Two clocks, named for what they mean: the monotonic clock for durations,
 * deadlines and rate limits (it never jumps when the wall clock is set), and
 * the real-time clock for timestamps a person or another host reads
 * (@timestamp, file times).  Never compare a value of one with the other.
 */
#ifndef VIGIL_CLOCK_H
#define VIGIL_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds: durations and deadlines. */
int64_t vigil_clock_mono_ns(void);
/* CLOCK_REALTIME in nanoseconds since the epoch: timestamps. */
int64_t vigil_clock_real_ns(void);

#endif
