/* daemon.c - the wiring of `vigil watch`: the daemon (watch.c) and Linux
 * audit (audit_watch.c) meet here and nowhere else.  The daemon knows a
 * module hook and a "who did it" hook; audit knows a loop, a config and an
 * emit callback.  This file sets one in terms of the other, as libarchive's
 * format registration does, so neither names the other and nothing needs a
 * weak symbol or a global.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "vigil/audit_watch.h"
#include "vigil/capture_trigger.h"
#include "vigil/compliance.h"
#include "vigil/daemon.h"
#include "vigil/watch.h"

struct audit_slot {
	struct vigil_audit_watch *aw;
	struct vigil_watch *w;
};

static void audit_emit(const struct vigil_event *ev, void *ctx)
{
	struct audit_slot *a = ctx;

	vigil_watch_emit(a->w, ev);
}

static int audit_who(void *ctx, const struct vigil_change *ch, struct vigil_who *who)
{
	struct audit_slot *a = ctx;
	const struct vigil_record *r = ch->cur ? ch->cur : ch->old;

	return vigil_audit_watch_who(a->aw, ch->path, r ? r->ino : 0, ch->time_ns, who);
}

/* Who-data only while audit can give it: otherwise changes are not held. */
static void audit_hook(struct audit_slot *a)
{
	int hold = vigil_audit_watch_hold_ms(a->aw);

	if (hold > 0)
		vigil_watch_set_who(a->w, audit_who, a, hold);
	else
		vigil_watch_set_who(a->w, NULL, NULL, 0);
}

static int audit_start(void *ctx, struct vigil_watch *w, const struct vigil_config *cfg, struct vigil_err *err)
{
	struct audit_slot *a = ctx;
	int rc;

	a->w = w;
	rc = vigil_audit_watch_start(vigil_watch_loop(w), cfg, audit_emit, a, &a->aw, err);
	audit_hook(a);
	return rc;
}

static int audit_reload(void *ctx, struct vigil_watch *w, const struct vigil_config *cfg, struct vigil_err *err)
{
	struct audit_slot *a = ctx;
	int rc;

	if (!a->aw)
		return audit_start(ctx, w, cfg, err);
	/* The hook goes first: the old audit's state is freed by the reload. */
	vigil_watch_set_who(w, NULL, NULL, 0);
	rc = vigil_audit_watch_reload(&a->aw, cfg, err);
	audit_hook(a);
	if (rc == 1)
		vigil_log(VIGIL_LOG_NOTICE, "audit: settings or rules changed: restarted with the new configuration");
	return rc < 0 ? rc : 0;
}

static void audit_stop(void *ctx, struct vigil_watch *w)
{
	struct audit_slot *a = ctx;

	vigil_watch_set_who(w, NULL, NULL, 0);
	vigil_audit_watch_stop(a->aw);
	a->aw = NULL;
}

static const struct vigil_watch_module audit_module = {
	.name = "audit", .start = audit_start, .reload = audit_reload, .stop = audit_stop,
};

/* Capture triggers: they observe every event and emit their own. */
struct capture_slot {
	struct vigil_capture_triggers *t;
	struct vigil_watch *w;
};

static void capture_emit(void *ctx, const struct vigil_event *ev)
{
	vigil_watch_emit(((struct capture_slot *)ctx)->w, ev);
}

static void capture_observe(void *ctx, const struct vigil_event *ev, const char *line)
{
	vigil_capture_triggers_observe(((struct capture_slot *)ctx)->t, ev, line);
}

static int capture_ctl(void *ctx, uint64_t client, const char *cmd, struct json_t *req)
{
	struct capture_slot *c = ctx;
	char *reply;

	if (strcmp(cmd, "capture"))
		return 0;
	reply = vigil_capture_triggers_request(c->t, req);
	vigil_watch_ctl_reply(c->w, client, reply ? reply : "{\"ok\":false,\"error\":\"out of memory\"}");
	free(reply);
	return 1;
}

static int capture_start(void *ctx, struct vigil_watch *w, const struct vigil_config *cfg, struct vigil_err *err)
{
	struct capture_slot *c = ctx;
	int rc;

	c->w = w;
	if ((rc = vigil_capture_triggers_new(vigil_watch_loop(w), capture_emit, c, &c->t, err)))
		return rc;
	vigil_capture_triggers_config(c->t, cfg);
	vigil_watch_set_observer(w, capture_observe, c);
	vigil_watch_set_ctl(w, capture_ctl, c);
	return 0;
}

static int capture_reload(void *ctx, struct vigil_watch *w, const struct vigil_config *cfg, struct vigil_err *err)
{
	struct capture_slot *c = ctx;

	if (!c->t)
		return capture_start(ctx, w, cfg, err);
	vigil_capture_triggers_config(c->t, cfg); /* running captures go on */
	return 0;
}

static void capture_stop(void *ctx, struct vigil_watch *w)
{
	struct capture_slot *c = ctx;

	vigil_watch_set_observer(w, NULL, NULL);
	vigil_watch_set_ctl(w, NULL, NULL);
	vigil_capture_triggers_free(c->t);
	c->t = NULL;
}

static const struct vigil_watch_module capture_module = {
	.name = "capture", .start = capture_start, .reload = capture_reload, .stop = capture_stop,
};

/* `action: compliance`: the CIS run's results in the scheduled generation. */
static int cis_objects(void *ctx, struct vigil_store *st, struct vigil_err *err)
{
	struct vigil_cis_opts o = { 0 };
	struct vigil_cis_report *r = NULL;
	int rc;

	(void)ctx;
	rc = vigil_cis_run(&o, &r, err);
	if (!rc)
		rc = vigil_cis_store(r, st, err);
	vigil_cis_report_free(r);
	return rc;
}

int vigil_daemon_run(struct vigil_cli *cli, const char *pid_file)
{
	struct capture_slot capture = { 0 };
	struct audit_slot audit = { 0 };
	struct vigil_watch *w = NULL;
	int ret = vigil_watch_new(cli, pid_file, &w);

	if (!ret)
		vigil_watch_add_module(w, &audit_module, &audit);
	if (!ret)
		vigil_watch_add_module(w, &capture_module, &capture);
	if (!ret)
		vigil_watch_set_compliance(w, cis_objects, NULL);
	if (!ret)
		ret = vigil_watch_run(w);
	vigil_watch_free(w);
	return ret;
}
