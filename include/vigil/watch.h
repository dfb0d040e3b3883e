/* watch.h - the always-on FIM daemon (`vigil watch`) and the slot where
 * other modules plug into it (audit).
 *
 * Daemon lifecycle (agent/daemon/watch.c, vigil_cmd_watch in cli.h):
 *   load and verify the newest baseline generation (refuse a tampered one) ->
 *   open outputs -> add inotify watches for every `watch: true` scope ->
 *   control socket, schedules -> vigil_audit_attach() when audit is enabled ->
 *   READY=1 -> one epoll loop until SIGTERM/SIGINT -> pending changes
 *   evaluated, outputs flushed -> vigil_audit_detach() -> exit.
 * SIGHUP reloads the config (a bad one is reported and the old one kept)
 * and reopens the output files.
 *
 * Per change: inotify says a path may have changed -> debounced (first
 * sighting + debounce_ms, pushed back by later writes up to 10x) -> a worker
 * thread takes a record with vigil_walk_one(), looks the path up in the
 * baseline (vigil_store_get) and in a bounded map of what was last reported
 * (reported.h: so one change gives one event, not one per write, and a
 * rescan's older view of a path is not reported over a newer one) -> a struct
 * vigil_change goes back to the loop -> held for the audit window when a
 * who-hook is set -> rendered with vigil_event_json() -> every output.
 *
 * Plugging in (audit): vigil_audit_attach(w, err) is called on the loop
 * thread after the loop, outputs and watches exist.  It may
 *   - register its fds with vigil_loop_add(vigil_watch_loop(w), ...)
 *   - install a who-hook with vigil_watch_set_who(w, fn, ctx, hold_ms): every
 *     file change is then held hold_ms (audit.window_ms) after it was first
 *     seen, and fn fills in who made it just before the event is emitted
 *   - emit its own events with vigil_watch_emit(w, &ev).
 * vigil_audit_detach(w) is called before the loop is freed.  Both are weak
 * references, so the daemon links whether or not the audit module is there.
 */
#ifndef VIGIL_WATCH_H
#define VIGIL_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/config.h"
#include "vigil/event.h"
#include "vigil/loop.h"
#include "vigil/record.h"

struct vigil_watch;

/* A file change as the hook sees it.  Everything is borrowed for the call. */
struct vigil_change {
	const char *path;
	size_t path_len;
	const char *action;        /* VIGIL_ACTION_* */
	const char *scope;
	const struct vigil_record *old; /* baseline record or NULL */
	const struct vigil_record *cur; /* current record or NULL */
	unsigned changed;          /* vigil_record_diff() bits */
	uint32_t inotify_mask;     /* union of the inotify bits seen, 0 for rescans */
	int64_t first_seen_ns;     /* CLOCK_MONOTONIC of the first inotify event */
	int64_t time_ns;           /* CLOCK_REALTIME of the same */
};

/* Fills who (zeroed by the caller; strings must stay valid until the next
 * call of the hook) and returns 1 when it knows, 0 when it does not. */
typedef int (*vigil_watch_who_fn)(void *ctx, const struct vigil_change *ch, struct vigil_who *who);

struct vigil_loop *vigil_watch_loop(struct vigil_watch *w);
const struct vigil_config *vigil_watch_config(const struct vigil_watch *w);
/* hold_ms: how long each change waits for its audit records (0..60000). */
int vigil_watch_set_who(struct vigil_watch *w, vigil_watch_who_fn fn, void *ctx, int hold_ms);
/* Renders ev and sends it to every output (loop thread only). */
void vigil_watch_emit(struct vigil_watch *w, const struct vigil_event *ev);

/* Implemented by the audit module (agent/audit*.c). */
int vigil_audit_attach(struct vigil_watch *w, struct vigil_err *err) __attribute__((weak));
void vigil_audit_detach(struct vigil_watch *w) __attribute__((weak));

#endif
