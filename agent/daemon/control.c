/* control.c - reload (SIGHUP, `ctl reload`), the control socket's commands,
 * the schedules, signals and the systemd watchdog.  Loop thread only. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>

#include "watch_priv.h"

static int outputs_equal(const struct vigil_config *a, const struct vigil_config *b)
{
	if (a->n_outputs != b->n_outputs)
		return 0;
	for (size_t i = 0; i < a->n_outputs; i++) {
		const struct vigil_output *x = &a->outputs[i], *y = &b->outputs[i];

		if (x->type != y->type || x->facility != y->facility || x->backlog != y->backlog ||
		    strcmp(x->path ? x->path : "", y->path ? y->path : "") ||
		    strcmp(x->target ? x->target : "", y->target ? y->target : ""))
			return 0;
	}
	return 1;
}

/* 0, or -errno with err saying why the old config stays. */
static int reload(struct vigil_watch *w, struct vigil_err *err)
{
	struct vigil_config *cfg = NULL;
	struct cfgref *cr, *old = w->cr;
	struct vigil_output_set *out = NULL;
	struct vigil_sched *sched = NULL;
	int rc;

	vigil_notify("RELOADING=1");
	{
		struct vigil_generation g;

		rc = watch_verify_latest(w, &g, err);
		if (rc) {
			watch_baseline_untrusted(w, err->msg);
			vigil_err_prefix(err, rc, "refusing to reload against baseline");
			goto fail;
		}
	}
	rc = vigil_cli_config_load(w->cli, &cfg, err);
	if (rc)
		goto fail;
	cr = watch_cfgref_new(cfg);
	if (!cr) {
		vigil_config_free(cfg);
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if (!outputs_equal(old->cfg, cfg)) {
		rc = vigil_output_new(w->loop, cfg->outputs, cfg->n_outputs, &out, err);
		if (rc)
			goto fail_cr;
	}
	rc = vigil_sched_new(w->loop, cfg->schedules, cfg->n_schedules, watch_on_sched, w, &sched, err);
	if (rc)
		goto fail_cr;
	w->cr = cr; /* from here the new config is in force */
	rc = watch_rebuild(w, 1, err);
	if (rc) {
		w->cr = old;
		goto fail_cr;
	}
	/* The engine is discovered again (cfgref_new): watch its state anew. */
	watch_docker_stop(w);
	watch_docker_start(w);
	if (out) {
		vigil_output_flush(w->out, 0);
		vigil_output_give_up(w->out, watch_log_loss, "when the outputs were replaced");
		vigil_output_free(w->out);
		w->out = out;
		vigil_output_probe(w->out, watch_output_problem, w);
	} else if (vigil_output_reopen(w->out, err)) {
		vigil_log_warn("%s", err->msg);
	}
	vigil_sched_free(w->sched);
	w->sched = sched;
	watch_cfgref_put(old);
	watch_periodic_arm(w);
	watch_modules_reload(w);
	vigil_notify("READY=1");
	return 0;
fail_cr:
	vigil_sched_free(sched);
	vigil_output_free(out);
	watch_cfgref_put(cr);
fail:
	/* SIGHUP also comes from logrotate: the files are reopened whatever happened. */
	vigil_output_reopen(w->out, NULL);
	vigil_notify("READY=1");
	return rc;
}

static void do_reload(struct vigil_watch *w, uint64_t client)
{
	struct vigil_err err = { "" };
	int rc = reload(w, &err);

	if (rc) {
		char *extra = NULL;
		json_t *o = json_pack("{s:s}", "error", err.msg);

		if (o)
			extra = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		vigil_log_err("reload failed, the running configuration is kept: %s", err.msg);
		watch_emit_info(w, VIGIL_ACTION_RELOAD_FAILED, VIGIL_SEV_HIGH, extra,
			  "configuration reload failed, the running configuration is kept: %s", err.msg);
		free(extra);
		if (client)
			vigil_ctl_reply_error(w->ctl, client, err.msg);
		return;
	}
	vigil_log(VIGIL_LOG_NOTICE, "configuration reloaded from %s", w->cr->cfg->source);
	watch_emit_info(w, VIGIL_ACTION_RELOAD, 0, NULL, "configuration reloaded from %s", w->cr->cfg->source);
	if (client)
		vigil_ctl_reply(w->ctl, client, "{\"ok\":true,\"reloaded\":true}");
}

static void queue_slow(struct vigil_watch *w, int type, uint64_t client, const char *source)
{
	struct job *j = watch_job_new(w, type, NULL, 0, source);

	if (!j) {
		if (client)
			vigil_ctl_reply_error(w->ctl, client, "out of memory");
		return;
	}
	j->client = client;
	watch_jobq_push(&w->slow, j);
}

void watch_on_state_changed(void *ctx)
{
	struct vigil_watch *w = ctx;

	if (w->verify_queued)
		return;
	w->verify_queued = 1;
	queue_slow(w, J_VERIFY, 0, "verify");
}

/* Samhain-like: what changed while the daemon was not running is found by
 * one comparison of every scope with the baseline, on the slow worker (low
 * priority), reported like a rescan's findings (once each), then summed up. */
void watch_queue_startup_check(struct vigil_watch *w)
{
	struct job *j = watch_job_new(w, J_CHECK, NULL, 0, "startup");

	if (!j) {
		vigil_log_warn("out of memory: no comparison at start ('vigil ctl check' does it)");
		return;
	}
	j->startup = 1;
	watch_jobq_push(&w->slow, j);
}

void watch_on_sched(void *ctx, int action, size_t index)
{
	struct vigil_watch *w = ctx;

	vigil_log_info("scheduled %s (schedule[%zu])", vigil_sched_action_name(action), index);
	if (action == VIGIL_SCHED_PROCS) {
		queue_slow(w, J_PROCS, 0, "procs");
		return;
	}
	queue_slow(w, action == VIGIL_SCHED_CHECK ? J_CHECK : J_BASELINE, 0,
		   action == VIGIL_SCHED_COMPLIANCE ? "compliance" : action == VIGIL_SCHED_BASELINE ? "schedule" : "check");
}

static void iso_time(int64_t ns, char *buf, size_t size)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!gmtime_r(&s, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "?");
}

static void reply_status(struct vigil_watch *w, uint64_t client)
{
	struct vigil_inotify_stats is;
	struct vigil_output_stats os;
	json_t *o, *sch;
	char *s, t[40];
	size_t nres;

	vigil_inotify_stats(w->ino, &is);
	vigil_output_stats(w->out, &os);
	pthread_mutex_lock(&w->res_mu);
	nres = w->nres;
	pthread_mutex_unlock(&w->res_mu);
	o = json_pack("{s:b,s:s,s:i,s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I},"
		      "s:{s:I,s:I,s:I,s:I},s:I,s:I}",
		      "ok", 1, "version", PACKAGE_VERSION, "pid", (int)getpid(),
		      "uptime_s", (json_int_t)((vigil_loop_now_ns() - w->started_ns) / 1000000000),
		      "config", w->cr->cfg->source ? w->cr->cfg->source : "",
		      "generation", (json_int_t)w->gen,
		      "watches", (json_int_t)is.watches, "unwatched", (json_int_t)is.unwatched,
		      "missing_roots", (json_int_t)is.missing_roots,
		      "watch_limit_hits", (json_int_t)is.limit_hits, "overflows", (json_int_t)is.overflows,
		      "inotify_events", (json_int_t)is.events,
		      "queue", "depth", (json_int_t)(w->npend + watch_jobq_len(&w->fast) + watch_jobq_len(&w->slow) + nres + w->nheld),
		      "pending", (json_int_t)w->npend, "jobs", (json_int_t)watch_jobq_len(&w->fast),
		      "slow_jobs", (json_int_t)watch_jobq_len(&w->slow), "results", (json_int_t)nres,
		      "held", (json_int_t)w->nheld,
		      "events", "emitted", (json_int_t)w->events,
		      "dropped", (json_int_t)(os.dropped + w->internal_dropped + w->res_dropped),
		      "written", (json_int_t)os.written, "queued", (json_int_t)os.queued,
		      "rss_kb", (json_int_t)watch_rss_kb(), "watch_table_bytes", (json_int_t)vigil_inotify_mem(w->ino));
	if (!o) {
		vigil_ctl_reply_error(w->ctl, client, "out of memory");
		return;
	}
	if (w->have_check) {
		iso_time(w->last_check_real, t, sizeof(t));
		json_object_set_new(o, "last_check",
				    json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "time", t, "added",
					      (json_int_t)w->last_check.added, "removed", (json_int_t)w->last_check.removed,
					      "changed", (json_int_t)w->last_check.changed, "unreadable",
					      (json_int_t)w->last_check.unreadable, "entries", (json_int_t)w->last_check.seen));
	} else {
		json_object_set_new(o, "last_check", json_null());
	}
	sch = json_array();
	for (size_t i = 0; sch && i < vigil_sched_count(w->sched); i++) {
		iso_time(vigil_sched_next_due(w->sched, i) * 1000000000, t, sizeof(t));
		json_array_append_new(sch, json_pack("{s:s,s:s}", "action",
						     vigil_sched_action_name(w->cr->cfg->schedules[i].action), "next", t));
	}
	json_object_set_new(o, "schedules", sch ? sch : json_null());
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s)
		vigil_ctl_reply(w->ctl, client, s);
	else
		vigil_ctl_reply_error(w->ctl, client, "out of memory");
	free(s);
}

void vigil_watch_set_ctl(struct vigil_watch *w, vigil_watch_ctl_fn fn, void *ctx)
{
	w->ctl_fn = fn;
	w->ctl_ctx = ctx;
}

int vigil_watch_ctl_reply(struct vigil_watch *w, uint64_t client, const char *line)
{
	return w->ctl ? vigil_ctl_reply(w->ctl, client, line) : -ENOENT;
}

void watch_on_ctl(void *ctx, uint64_t client, const char *cmd, json_t *req)
{
	struct vigil_watch *w = ctx;

	if (!strcmp(cmd, "status")) {
		reply_status(w, client);
	} else if (!strcmp(cmd, "rescan")) {
		watch_queue_full_rescan(w, 0);
		vigil_ctl_reply(w->ctl, client, "{\"ok\":true,\"queued\":\"rescan\"}");
	} else if (!strcmp(cmd, "reload")) {
		do_reload(w, client);
	} else if (!strcmp(cmd, "check")) {
		queue_slow(w, J_CHECK, client, "check");
	} else if (w->ctl_fn && w->ctl_fn(w->ctl_ctx, client, cmd, req)) {
		/* a module's command, answered by it */
	} else {
		char msg[160];

		snprintf(msg, sizeof(msg), "unknown command '%.64s' (status, rescan, reload, check)", cmd);
		vigil_ctl_reply_bad(w->ctl, client, msg);
	}
}

void watch_on_signal(struct vigil_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct vigil_watch *w = ctx;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			vigil_log(VIGIL_LOG_NOTICE, "signal %u: stopping", si.ssi_signo);
			vigil_loop_stop(loop);
			break;
		case SIGHUP:
			do_reload(w, 0);
			break;
		}
	}
}

void watch_watchdog_fire(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	vigil_notify("WATCHDOG=1");
}
