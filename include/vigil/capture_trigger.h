/* capture_trigger.h - captures started by events in the daemon
 * (agent/capture/trigger.c), plugged into `vigil watch` by daemon.c.
 *
 * Lifecycle: vigil_capture_triggers_new(loop, emit, ctx, &t) ->
 *   vigil_capture_triggers_config(t, cfg) at start and after each reload (the
 *   config is borrowed until the next call; running captures keep copies of
 *   what they need, so a reload never stops them) ->
 *   vigil_capture_triggers_observe(t, ev, line) for every event (loop thread) ->
 *   vigil_capture_triggers_free(t): running captures cancelled (their temp
 *   files removed, frozen containers thawed, `failed` ledger records), waited for.
 *
 * A rule (config `triggers:`) that matches an event starts a capture of its
 * targets in a worker thread: the loop never waits for it.  Per rule and
 * target a cooldown (capture.cooldown), a quota on the evidence dir
 * (capture.quota, capture.min_free) and at most capture.max_concurrent at
 * once.  Every trigger, start, skip and outcome (archive path and SHA-256)
 * is an event (VIGIL_ACTION_CAPTURE_*).
 */
#ifndef VIGIL_CAPTURE_TRIGGER_H
#define VIGIL_CAPTURE_TRIGGER_H

#include "vigil/config.h"
#include "vigil/event.h"
#include "vigil/loop.h"

struct vigil_capture_triggers;

/* Sends an event (loop thread). */
typedef void (*vigil_capture_emit_fn)(void *ctx, const struct vigil_event *ev);

int vigil_capture_triggers_new(struct vigil_loop *loop, vigil_capture_emit_fn emit, void *ctx,
			       struct vigil_capture_triggers **out, struct vigil_err *err);
void vigil_capture_triggers_config(struct vigil_capture_triggers *t, const struct vigil_config *cfg);
/* line: ev rendered (it becomes the archive's trigger.json). */
void vigil_capture_triggers_observe(struct vigil_capture_triggers *t, const struct vigil_event *ev,
				    const char *line);
/* `vigil ctl capture` in the daemon: starts one (not subject to the cooldown)
 * and returns the reply line (malloc'd: {"ok":true,"case":...} or an error). */
struct json_t;
char *vigil_capture_triggers_request(struct vigil_capture_triggers *t, struct json_t *req);
/* The client side (here too, so the ctl client needs no command code): the request object of `vigil ctl
 * capture [--container ID|NAME] [--engine] [--host] [--memory] [--freeze] [--case ID]`
 * as JSON text (malloc'd), NULL after a usage message. */
char *vigil_capture_ctl_request(int argc, char **argv);

/* Captures running now. */
int vigil_capture_triggers_running(struct vigil_capture_triggers *t);
void vigil_capture_triggers_free(struct vigil_capture_triggers *t);

#endif
