/* watch.h - the always-on FIM daemon (`vigil watch`) and the hooks other
 * modules plug into it with.  The daemon names no other module: the wiring
 * (agent/daemon/daemon.c) adds them.
 *
 * Lifecycle (daemon.c):
 *   vigil_watch_new(cli, pid_file, &w): the newest baseline generation loaded
 *     and verified (a tampered one refused), pid file, signals, loop,
 *     outputs, workers, inotify watches for every `watch: true` scope,
 *     control socket, schedules, the state dir's watch
 *   vigil_watch_add_module(w, &module, ctx) for each module
 *   vigil_watch_run(w): modules started -> READY=1 -> a comparison of every
 *     scope with the baseline in the background (what changed while the
 *     daemon was down) -> one epoll loop until SIGTERM/SIGINT -> pending
 *     changes evaluated, outputs flushed -> modules stopped
 *   vigil_watch_free(w) (accepts NULL; the pid file removed last)
 * SIGHUP: the baseline verified, the config reloaded (a bad one is reported
 * and the old one kept), the output files reopened, every module reloaded.
 *
 * Per change: inotify says a path may have changed -> debounced (first
 * sighting + debounce_ms, pushed back by later writes up to 10x) -> a worker
 * thread takes a record, compares it with the baseline (agent/core/compare.c)
 * and with a bounded map of what was last reported (reported.h: so one
 * change gives one event, not one per write, and a rescan's older view of a
 * path is not reported over a newer one) -> a struct vigil_change goes back
 * to the loop -> held for the who-hook's window when one is set -> rendered
 * with vigil_event_json() -> every output.
 *
 * Hooks (all on the loop thread):
 *   - a module: start(ctx, w, cfg) once the loop, outputs and watches exist,
 *     reload(ctx, w, new cfg) after each good reload, stop(ctx, w) before the
 *     loop is freed.  It may add fds and timers to vigil_watch_loop(w) and
 *     send events with vigil_watch_emit(w, &ev).  A failed start or reload
 *     is said and the daemon carries on.
 *   - an observer: vigil_watch_set_observer(w, fn, ctx) sees every event.
 *   - "who did it": vigil_watch_set_who(w, fn, ctx, hold_ms): every file
 *     change is then held hold_ms after it was first seen, and fn fills in
 *     who made it just before the event is emitted.
 */
#ifndef VIGIL_WATCH_H
#define VIGIL_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/config.h"
#include "vigil/err.h"
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

/* Sees every event the daemon emits, after the outputs (loop thread; line is
 * the rendered JSON, both borrowed for the call).  Capture triggers use it. */
typedef void (*vigil_watch_observe_fn)(void *ctx, const struct vigil_event *ev, const char *line);

/* A module's control socket commands: returns 1 when cmd is its own (and
 * answers with vigil_watch_ctl_reply()), 0 to leave it to the daemon. */
struct json_t;
typedef int (*vigil_watch_ctl_fn)(void *ctx, uint64_t client, const char *cmd, struct json_t *req);

/* What a scheduled `compliance` generation holds besides its records (the
 * CIS results; daemon.c sets agent/compliance's): puts objects into the
 * generation st is writing.  Runs on a worker thread. */
struct vigil_store;
typedef int (*vigil_watch_objects_fn)(void *ctx, struct vigil_store *st, struct vigil_err *err);
void vigil_watch_set_compliance(struct vigil_watch *w, vigil_watch_objects_fn fn, void *ctx);

struct vigil_loop *vigil_watch_loop(struct vigil_watch *w);
/* One such hook; fn NULL removes it. */
void vigil_watch_set_ctl(struct vigil_watch *w, vigil_watch_ctl_fn fn, void *ctx);
int vigil_watch_ctl_reply(struct vigil_watch *w, uint64_t client, const char *line);
/* One observer; fn NULL removes it. */
void vigil_watch_set_observer(struct vigil_watch *w, vigil_watch_observe_fn fn, void *ctx);
const struct vigil_config *vigil_watch_config(const struct vigil_watch *w);
/* hold_ms: how long each change waits for its audit records (0..60000). */
int vigil_watch_set_who(struct vigil_watch *w, vigil_watch_who_fn fn, void *ctx, int hold_ms);
/* Renders ev and sends it to every output (loop thread only). */
void vigil_watch_emit(struct vigil_watch *w, const struct vigil_event *ev);

struct vigil_cli;

/* The module hook.  start and reload return 0 or -errno with err set. */
struct vigil_watch_module {
	const char *name; /* for messages */
	int (*start)(void *ctx, struct vigil_watch *w, const struct vigil_config *cfg, struct vigil_err *err);
	int (*reload)(void *ctx, struct vigil_watch *w, const struct vigil_config *cfg, struct vigil_err *err);
	void (*stop)(void *ctx, struct vigil_watch *w);
};

/* pid_file: NULL for the config's, "" for none.  Takes cli->cfg.  Returns
 * an exit code; *w is set either way (free it). */
int vigil_watch_new(struct vigil_cli *cli, const char *pid_file, struct vigil_watch **w);
/* -ENOSPC beyond 4 modules. */
int vigil_watch_add_module(struct vigil_watch *w, const struct vigil_watch_module *m, void *ctx);
/* Until SIGTERM/SIGINT; an exit code. */
int vigil_watch_run(struct vigil_watch *w);
void vigil_watch_free(struct vigil_watch *w);

#endif
