/* events.c - what the loop thread emits: file changes (held for the
 * who-hook's window when one is set), the daemon's own events, the answers
 * to finished jobs (checks, verifications, scheduled baselines). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>

#include "watch_priv.h"

/* emitting (loop thread)                                                  */

void vigil_watch_emit(struct vigil_watch *w, const struct vigil_event *ev)
{
	char *line = vigil_event_json(ev, w->host);

	if (!line) {
		w->internal_dropped++;
		return;
	}
	vigil_output_emit(w->out, line, strlen(line), ev->severity, ev->action);
	w->events++;
	if (w->observe_fn && !w->observing) {
		w->observing = 1;
		w->observe_fn(w->observe_ctx, ev, line);
		w->observing = 0;
	}
	free(line);
}

void vigil_watch_set_compliance(struct vigil_watch *w, vigil_watch_objects_fn fn, void *ctx)
{
	w->compliance_fn = fn;
	w->compliance_ctx = ctx;
}

void vigil_watch_set_observer(struct vigil_watch *w, vigil_watch_observe_fn fn, void *ctx)
{
	w->observe_fn = fn;
	w->observe_ctx = ctx;
}

void watch_emit_info(struct vigil_watch *w, const char *action, int severity, const char *extra,
		      const char *fmt, ...)
{
	struct vigil_event ev = { 0 };
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ev.action = action;
	ev.kind = "event";
	ev.severity = severity;
	ev.message = msg;
	ev.generation = w->gen;
	ev.source = "watch";
	ev.extra_json = extra;
	vigil_watch_emit(w, &ev);
}

void watch_change_free(struct change *c)
{
	vigil_record_clear(&c->old);
	vigil_record_clear(&c->cur);
	free(c->extra);
	free(c->message);
	vigil_docker_where_clear(&c->where);
	free(c);
}

static void emit_change(struct vigil_watch *w, struct change *c)
{
	struct vigil_who who = { 0 };
	struct vigil_event ev = { 0 };

	c->pub.old = c->has_old && c->old.ftype != VIGIL_FT_NONE ? &c->old : NULL;
	c->pub.cur = c->has_cur ? &c->cur : NULL;
	c->pub.path = c->has_cur ? c->cur.path : c->old.path;
	c->pub.path_len = c->has_cur ? c->cur.path_len : c->old.path_len;
	c->pub.scope = c->scope;
	if (w->who_fn) {
		who.pid = who.ppid = 0;
		who.uid = who.euid = who.auid = who.gid = -1;
		who.known = w->who_fn(w->who_ctx, &c->pub, &who) == 1;
		ev.who = &who;
	}
	ev.action = c->pub.action;
	ev.severity = c->severity;
	ev.scope = c->scope;
	ev.generation = c->gen;
	/* A removed path never in the baseline: its record holds only the path. */
	ev.old = c->has_old ? &c->old : NULL;
	ev.cur = c->pub.cur;
	ev.changed = c->pub.changed;
	ev.source = c->source;
	ev.extra_json = c->extra;
	ev.message = c->message;
	ev.docker = c->where.kind ? &c->where : NULL;
	ev.time_ns = c->pub.time_ns;
	vigil_watch_emit(w, &ev);
}

static void hold_arm(struct vigil_watch *w)
{
	if (w->held_head)
		vigil_loop_timer_arm_abs(w->hold, w->held_head->hold_until);
	else
		vigil_loop_timer_disarm(w->hold);
}

void watch_hold_fire(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	struct vigil_watch *w = ctx;
	int64_t now = vigil_loop_now_ns();

	while (w->held_head && (w->held_head->hold_until <= now || w->stopping)) {
		struct change *c = w->held_head;

		w->held_head = c->next;
		if (!w->held_head)
			w->held_tail = NULL;
		w->nheld--;
		emit_change(w, c);
		watch_change_free(c);
	}
	hold_arm(w);
}

/* A verification failed: said as a critical event each time it fails. */
void watch_baseline_untrusted(struct vigil_watch *w, const char *why)
{
	char *extra = NULL;
	json_t *o = json_pack("{s:s,s:s}", "state_dir", w->state_dir, "error", why);

	if (o)
		extra = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	w->tampered = 1;
	vigil_log_err("the baseline in '%s' does not verify: %s", w->state_dir, why);
	watch_emit_info(w, VIGIL_ACTION_BASELINE_TAMPERED, VIGIL_SEV_CRITICAL, extra,
		  "the baseline in '%s' was changed outside vigil and does not verify: %s; checks are "
		  "refused until it does (run 'vigil check' to see what it hides, 'vigil baseline' to "
		  "make a new one)", w->state_dir, why);
	free(extra);
}

static void on_verified(struct vigil_watch *w, struct change *c)
{
	w->verify_queued = 0;
	if (c->rc == -EBUSY || c->rc == -EAGAIN) {
		vigil_log_info("state dir changed; verifying the baseline again later: %s", c->msg);
		return;
	}
	if (c->rc) {
		watch_baseline_untrusted(w, c->msg);
		return;
	}
	if (w->tampered) {
		w->tampered = 0;
		watch_emit_info(w, VIGIL_ACTION_BASELINE_VERIFIED, VIGIL_SEV_MEDIUM, NULL,
			  "the baseline in '%s' verifies again (generation %" PRId64 ")", w->state_dir, c->new_gen);
	}
	if (c->new_gen > w->gen) {
		/* `vigil baseline` or `accept` by hand: a newer signed generation. */
		__atomic_store_n(&w->gen, c->new_gen, __ATOMIC_RELAXED);
		vigil_reported_clear(w->rep);
		watch_emit_info(w, VIGIL_ACTION_BASELINE, 0, NULL, "baseline generation %" PRId64 " (made outside the "
			  "daemon) verified and in use", c->new_gen);
	}
}

static void start_job_check_reply(struct vigil_watch *w, struct change *c)
{
	struct vigil_event ev = { 0 };
	uint64_t diffs = c->added + c->removed + c->changed + c->unreadable;
	char msg[256], *extra = NULL;
	json_t *o;

	if (c->rc) {
		vigil_log_warn("check failed: %s", c->msg);
		if (c->client)
			vigil_ctl_reply_error(w->ctl, c->client, c->msg);
		return;
	}
	w->have_check = 1;
	w->last_check_real = vigil_clock_real_ns();
	w->last_check = (struct vigil_tally){ c->added, c->removed, c->changed, c->unreadable, c->seen };
	o = json_pack("{s:{s:I,s:I,s:I,s:I,s:I}}", "summary", "added", (json_int_t)c->added, "removed",
		      (json_int_t)c->removed, "changed", (json_int_t)c->changed, "unreadable",
		      (json_int_t)c->unreadable, "entries", (json_int_t)c->seen);
	if (o)
		extra = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	snprintf(msg, sizeof(msg), "%s: %" PRIu64 " added, %" PRIu64 " removed, %" PRIu64 " changed, %" PRIu64
		 " unreadable; %" PRIu64 " entries checked", c->startup ? "changed while vigil was not running" :
		 "check", c->added, c->removed, c->changed, c->unreadable, c->seen);
	ev.action = c->startup ? VIGIL_ACTION_STARTUP_CHECK : VIGIL_ACTION_CHECK_SUMMARY;
	ev.kind = "event";
	ev.severity = diffs ? VIGIL_SEV_MEDIUM : 0;
	ev.message = msg;
	ev.generation = w->gen;
	ev.source = c->startup ? "startup" : "check";
	ev.extra_json = extra;
	/* After the differences it sums up (those may still be held). */
	if (w->held_head)
		watch_hold_fire(w->hold, 1, w);
	vigil_watch_emit(w, &ev);
	free(extra);
	if (c->client) {
		char reply[512];

		snprintf(reply, sizeof(reply),
			 "{\"ok\":true,\"differences\":%" PRIu64 ",\"added\":%" PRIu64 ",\"removed\":%" PRIu64
			 ",\"changed\":%" PRIu64 ",\"unreadable\":%" PRIu64 ",\"entries\":%" PRIu64 "}",
			 diffs, c->added, c->removed, c->changed, c->unreadable, c->seen);
		vigil_ctl_reply(w->ctl, c->client, reply);
	}
}

/* What a procs finding is, across runs: the process (pid and start time: a
 * pid is reused, the pair is not), the finding's kind and its address (a
 * page, a mapping; none for the process's own findings). */
static void procs_key(json_t *f, char *key, size_t len)
{
	const char *addr = json_string_value(json_object_get(f, "address"));

	snprintf(key, len, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT "/%s/%s",
		 json_integer_value(json_object_get(f, "pid")), json_integer_value(json_object_get(f, "start_time")),
		 json_string_value(json_object_get(f, "action")) ? json_string_value(json_object_get(f, "action")) : "",
		 addr ? addr : "");
}

/* One finding as one event. */
static void procs_emit(struct vigil_watch *w, json_t *f)
{
	struct vigil_who who = { .known = 1, .uid = -1, .euid = -1, .auid = -1, .gid = -1 };
	struct vigil_event ev = { 0 };
	const char *sev = json_string_value(json_object_get(f, "severity"));
	json_t *x = json_pack("{s:O}", "procs", f);
	char *extra = x ? json_dumps(x, JSON_COMPACT) : NULL;

	who.pid = (pid_t)json_integer_value(json_object_get(f, "pid"));
	if (json_object_get(f, "uid"))
		who.uid = json_integer_value(json_object_get(f, "uid"));
	who.exe = json_string_value(json_object_get(f, "exe"));
	who.comm = json_string_value(json_object_get(f, "comm"));
	who.container_id = json_string_value(json_object_get(f, "container_id"));
	who.container_name = json_string_value(json_object_get(f, "container_name"));
	ev.action = json_string_value(json_object_get(f, "action"));
	ev.kind = "alert";
	for (int s = VIGIL_SEV_LOW; s <= VIGIL_SEV_CRITICAL; s++)
		if (sev && !strcmp(sev, vigil_severity_name(s)))
			ev.severity = s;
	ev.message = json_string_value(json_object_get(f, "detail"));
	ev.source = "procs";
	ev.who = &who;
	ev.extra_json = extra;
	ev.generation = w->gen;
	vigil_watch_emit(w, &ev);
	free(extra);
	json_decref(x);
}

/* `action: procs`: one event per finding, the process in process.* and
 * container.*, the rest (mapping, address, file offset...) in vigil.procs.
 * A finding is reported once while it persists: a run emits only what the
 * previous run did not find, and its keys replace the previous run's, so a
 * finding that went away and came back is reported again.  (Not the
 * reported.c map: that one keeps a state per path across observations from
 * several threads, with restores; here one thread compares two whole runs,
 * and what vanished must be forgotten, which a set per run does by itself.)
 * A failed run keeps the previous set. */
static void on_procs(struct vigil_watch *w, struct change *c)
{
	json_t *all = c->extra ? json_loads(c->extra, 0, NULL) : NULL, *f, *now = json_object();
	size_t i, fresh = 0;
	char key[256];

	if (c->rc || !all || !now) {
		watch_emit_info(w, VIGIL_ACTION_PROCS_FAILED, VIGIL_SEV_HIGH, NULL, "scheduled procs failed: %s",
				c->rc ? c->msg : "out of memory");
		json_decref(all);
		json_decref(now);
		return;
	}
	json_array_foreach (all, i, f) {
		procs_key(f, key, sizeof(key));
		json_object_set_new(now, key, json_true());
		if (w->procs_seen && json_object_get(w->procs_seen, key))
			continue;
		fresh++;
		procs_emit(w, f);
	}
	vigil_log(VIGIL_LOG_NOTICE, "scheduled procs: %zu findings (%zu new, reported) over %" PRIu64 " processes",
		  json_array_size(all), fresh, c->seen);
	json_decref(w->procs_seen);
	w->procs_seen = now;
	json_decref(all);
}

static void on_done(struct vigil_watch *w, struct change *c)
{
	switch (c->job) {
	case J_RESCAN:
	case J_LAYER:
		if (c->rc)
			vigil_log_warn("%s failed: %s", c->job == J_LAYER ? "layer verification" : "rescan", c->msg);
		break;
	case J_CHECK:
		if (c->untrusted)
			watch_baseline_untrusted(w, c->msg);
		start_job_check_reply(w, c);
		break;
	case J_VERIFY:
		on_verified(w, c);
		break;
	case J_PROCS:
		on_procs(w, c);
		break;
	case J_BASELINE:
		if (c->rc) {
			watch_emit_info(w, VIGIL_ACTION_BASELINE_FAILED, VIGIL_SEV_HIGH, NULL,
				  "scheduled baseline failed: %s", c->msg);
			break;
		}
		/* Differences were against the old generation: start afresh. */
		__atomic_store_n(&w->gen, c->new_gen, __ATOMIC_RELAXED);
		vigil_reported_clear(w->rep);
		{
			/* the new signed head: a SIEM that sees its counter go down has seen a rollback */
			struct vigil_store_head h;
			char head[192];
			int ok = !vigil_store_head_read(w->state_dir, NULL, &h, NULL) &&
				 !vigil_store_head_json(&h, head, sizeof(head));

			watch_emit_info(w, VIGIL_ACTION_BASELINE, 0, ok ? head : NULL, "baseline generation %" PRId64
				  " stored (head counter %" PRIu64 ")", c->new_gen, ok ? h.counter : 0);
		}
		if (c->msg[0]) /* retention ran after it (evaluate.c) */
			watch_emit_info(w, VIGIL_ACTION_GEN_PRUNED, 0, NULL, "%s", c->msg);
		break;
	}
}

void watch_on_results(struct vigil_loop_async *a, void *ctx)
{
	struct vigil_watch *w = ctx;
	struct change *c, *next;

	pthread_mutex_lock(&w->res_mu);
	c = w->res_head;
	w->res_head = w->res_tail = NULL;
	w->nres = 0;
	pthread_mutex_unlock(&w->res_mu);
	watch_dpkg_arm(w); /* paths held for dpkg: the lock is polled */
	for (; c; c = next) {
		next = c->next;
		c->next = NULL;
		if (c->type == C_DONE) {
			on_done(w, c);
			free(c->extra);
			free(c);
			continue;
		}
		if (w->who_fn && w->hold_ms > 0 && !w->stopping) {
			int64_t base = c->pub.first_seen_ns ? c->pub.first_seen_ns : vigil_loop_now_ns();

			c->hold_until = base + (int64_t)w->hold_ms * 1000000;
			if (w->held_tail)
				w->held_tail->next = c;
			else
				w->held_head = c;
			w->held_tail = c;
			w->nheld++;
			if (!vigil_loop_timer_armed(w->hold))
				hold_arm(w);
			continue;
		}
		emit_change(w, c);
		watch_change_free(c);
	}
}

void watch_output_problem(void *ctx, const char *name, const char *problem)
{
	struct vigil_watch *w = ctx;
	char *extra = watch_path_json("output", name, strlen(name));

	vigil_log_warn("output '%s': %s", name, problem);
	watch_emit_info(w, VIGIL_ACTION_OUTPUT_UNAVAILABLE, VIGIL_SEV_HIGH, extra, "output '%s': %s", name, problem);
	free(extra);
}

/* vigil_output_give_up's report; ctx: when ("before stopping"). */
void watch_log_loss(void *ctx, const char *name, uint64_t queued, uint64_t unreported)
{
	vigil_log_warn("%" PRIu64 " events could not be written to '%s' %s and are dropped (%" PRIu64
		   " still queued, %" PRIu64 " lost earlier and not yet reported there)",
		   queued + unreported, name, (const char *)ctx, queued, unreported);
}

