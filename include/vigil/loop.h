/* loop.h - the daemon's one event loop: epoll over file descriptors with a
 * callback and a context each, timers on timerfd, and wake-ups from worker
 * threads on eventfd.
 *
 * Lifecycle:
 *   vigil_loop_new(&loop, err)
 *   vigil_loop_add(loop, fd, EPOLLIN, cb, ctx)      any fd: inotify, signalfd, sockets,
 *                                                   the audit netlink socket, ...
 *   vigil_loop_timer_new(loop, clock, cb, ctx, &t)  then vigil_loop_timer_arm*(t, ...)
 *   vigil_loop_async_new(loop, cb, ctx, &a)         vigil_loop_async_send(a) from any thread
 *   vigil_loop_run(loop)                            until a callback calls vigil_loop_stop()
 *   vigil_loop_del(loop, fd) / vigil_loop_timer_free(t) / vigil_loop_async_free(a)
 *   vigil_loop_free(loop)                           frees what is still registered; never
 *                                                   closes a caller's fd
 *
 * Callbacks run on the loop thread, one at a time, and must not block: slow
 * work goes to a worker thread, which reports back with vigil_loop_async_send().
 * A callback may add or remove any fd or timer, its own included: removed
 * entries are freed only after the current epoll batch, so a stale event in the
 * batch is skipped, never dispatched to freed memory.  Everything but
 * vigil_loop_async_send() is for the loop thread only.
 *
 * The loop has no timeout of its own: when no fd is ready and no timer is
 * armed it sleeps in epoll_wait(-1), so an idle daemon causes no wake-ups.
 */
#ifndef VIGIL_LOOP_H
#define VIGIL_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

#include "vigil/err.h"

struct vigil_loop;
struct vigil_loop_timer;
struct vigil_loop_async;

/* events: the EPOLL* bits that fired. */
typedef void (*vigil_loop_fn)(struct vigil_loop *loop, int fd, uint32_t events, void *ctx);
/* expirations: how many times the timer expired since it was last read
 * (more than 1 when the loop was late); 0 for a CLOCK_REALTIME timer whose
 * clock was set (it must then be re-armed). */
typedef void (*vigil_loop_timer_fn)(struct vigil_loop_timer *t, uint64_t expirations, void *ctx);
typedef void (*vigil_loop_async_fn)(struct vigil_loop_async *a, void *ctx);

int vigil_loop_new(struct vigil_loop **out, struct vigil_err *err);
void vigil_loop_free(struct vigil_loop *loop);

/* -EEXIST when fd is already registered. */
int vigil_loop_add(struct vigil_loop *loop, int fd, uint32_t events, vigil_loop_fn fn, void *ctx);
int vigil_loop_mod(struct vigil_loop *loop, int fd, uint32_t events);
/* -ENOENT when fd is not registered.  Call before closing fd. */
int vigil_loop_del(struct vigil_loop *loop, int fd);

/* 0 after vigil_loop_stop(), -errno when epoll_wait fails. */
int vigil_loop_run(struct vigil_loop *loop);
/* Runs at most one epoll batch, waiting at most timeout_ms (-1 forever);
 * returns the number of callbacks run or -errno.  For tests and shutdown. */
int vigil_loop_once(struct vigil_loop *loop, int timeout_ms);
void vigil_loop_stop(struct vigil_loop *loop);
/* Monotonic time in nanoseconds. */
int64_t vigil_loop_now_ns(void);

/* clock: CLOCK_MONOTONIC (relative arming) or CLOCK_REALTIME (wall-clock
 * arming; a jump of the clock makes the callback run with expirations 0). */
int vigil_loop_timer_new(struct vigil_loop *loop, int clock, vigil_loop_timer_fn fn, void *ctx,
			 struct vigil_loop_timer **out);
/* First expiry after first_ms (0 with interval 0 disarms), then every
 * interval_ms (0 = once). */
int vigil_loop_timer_arm(struct vigil_loop_timer *t, uint64_t first_ms, uint64_t interval_ms);
/* Expiry at an absolute time of the timer's clock, in nanoseconds. */
int vigil_loop_timer_arm_abs(struct vigil_loop_timer *t, int64_t when_ns);
int vigil_loop_timer_disarm(struct vigil_loop_timer *t);
int vigil_loop_timer_armed(const struct vigil_loop_timer *t);
void vigil_loop_timer_free(struct vigil_loop_timer *t);

int vigil_loop_async_new(struct vigil_loop *loop, vigil_loop_async_fn fn, void *ctx,
			 struct vigil_loop_async **out);
/* Thread-safe and async-signal-safe; sends coalesce until the callback runs. */
void vigil_loop_async_send(struct vigil_loop_async *a);
void vigil_loop_async_free(struct vigil_loop_async *a);

#endif
