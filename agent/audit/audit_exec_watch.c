/* audit_exec_watch.c - the exec watcher (audit_exec.c) in a long-running
 * process (the watch daemon, through audit_watch.c): its socket on the
 * caller's loop, a timer for the reports of what could not be examined,
 * detections through the caller's emit callback.
 *
 * It never stops the daemon: without CAP_NET_ADMIN or without the proc
 * connector in the kernel it says so once and the daemon carries on
 * without container-shell detection.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/audit_exec.h"
#include "vigil/loop.h"

/* Reports of execs not examined (rate limit, exited first) are summed over
 * this period: on a busy host short-lived processes are missed all the
 * time, and one event per second about it would be noise. */
#define REPORT_MS 10000

struct vigil_audit_exec_watch {
	struct vigil_loop *loop;
	struct vigil_audit_exec *x;
	struct vigil_loop_timer *tick;
	int registered;
};

static void on_readable(struct vigil_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct vigil_audit_exec_watch *ew = ctx;
	int rc = vigil_audit_exec_read(ew->x);

	(void)events;
	if (rc < 0) {
		vigil_log_warn("exec watcher: reading the proc connector: %s; container-shell detection "
			   "stops here", strerror(-rc));
		vigil_loop_del(loop, fd);
		ew->registered = 0;
	}
}

static void on_tick(struct vigil_loop_timer *t, uint64_t expirations, void *ctx)
{
	struct vigil_audit_exec_watch *ew = ctx;

	(void)t;
	(void)expirations;
	vigil_audit_exec_tick(ew->x);
}

struct vigil_audit_exec_watch *vigil_audit_exec_watch_start(struct vigil_loop *loop, const struct vigil_config *cfg,
							      vigil_audit_emit_fn emit, void *ctx)
{
	struct vigil_audit_exec_opts o = { 0 };
	struct vigil_audit_exec_watch *ew = calloc(1, sizeof(*ew));
	struct vigil_err err = { "" };
	int rc;

	if (!ew) {
		vigil_log_warn("exec watcher: out of memory; no container-shell detection");
		return NULL;
	}
	ew->loop = loop;
	o.exec_rate = cfg->audit_exec_rate;
	rc = vigil_audit_exec_open(&ew->x, &o, emit, ctx, &err);
	if (rc) {
		vigil_log_warn("%s; no container-shell detection", err.msg);
		free(ew);
		return NULL;
	}
	rc = vigil_loop_add(loop, vigil_audit_exec_fd(ew->x), EPOLLIN, on_readable, ew);
	if (!rc) {
		ew->registered = 1;
		rc = vigil_loop_timer_new(loop, CLOCK_MONOTONIC, on_tick, ew, &ew->tick);
	}
	if (!rc)
		rc = vigil_loop_timer_arm(ew->tick, REPORT_MS, REPORT_MS);
	if (rc) {
		vigil_log_warn("exec watcher: joining the daemon's loop: %s; no container-shell detection",
			   strerror(-rc));
		vigil_audit_exec_watch_stop(ew);
		return NULL;
	}
	vigil_log(VIGIL_LOG_NOTICE, "exec watcher: proc connector subscribed, container-shell detection on "
		   "(%d execs/s examined at most)", cfg->audit_exec_rate);
	return ew;
}

void vigil_audit_exec_watch_stop(struct vigil_audit_exec_watch *ew)
{
	struct vigil_audit_exec_counters c;

	if (!ew)
		return;
	if (ew->tick)
		vigil_loop_timer_free(ew->tick);
	if (ew->registered)
		vigil_loop_del(ew->loop, vigil_audit_exec_fd(ew->x));
	vigil_audit_exec_tick(ew->x); /* what is left to say */
	vigil_audit_exec_counters(ew->x, &c);
	vigil_log(VIGIL_LOG_NOTICE, "exec watcher: %" PRIu64 " execs, %" PRIu64 " examined (%" PRIu64 " in containers, "
		   "%" PRIu64 " shells), %" PRIu64 " over the rate, %" PRIu64 " gone, %" PRIu64
		   " superseded, %" PRIu64 " socket overflows, %" PRIu64 " malformed", c.execs,
		   c.examined, c.container, c.shells, c.suppressed, c.gone, c.superseded, c.overflows,
		   c.bad);
	vigil_audit_exec_close(ew->x);
	free(ew);
}
