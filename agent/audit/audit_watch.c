/* audit_watch.c - the audit module plugged into the watch daemon
 * (include/vigil/watch.h): rules installed at start when audit.install_rules
 * says so and removed at stop, the multicast socket on the daemon's loop, a
 * one-second timer for aging events and the lost counter, the who-hook that
 * names who made each inotify change, and detections through the daemon's
 * outputs.
 *
 * Faults keep the daemon running on inotify alone: no CAP_AUDIT_CONTROL (no
 * rules, maybe someone else's), no CAP_AUDIT_READ or no audit in the kernel
 * (no who-data), audit disabled or immutable (said once, at start).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/audit.h"
#include "vigil/audit_exec.h"
#include "vigil/loop.h"
#include "vigil/watch.h"

/* Kernel status poll and event aging, once a second: the lost counter is
 * read with one netlink round trip, about 20 µs. */
#define TICK_MS 1000

struct audit_daemon {
	struct vigil_watch *w;
	struct vigil_audit_link *link;
	struct vigil_audit_engine *eng;
	struct vigil_audit_ruleset *rules;
	struct vigil_loop_timer *tick;
	int installed;
	uint64_t dropped;
};

/* The watch contract hands vigil_audit_detach() only the daemon, so the
 * module's state for the one daemon of the process is kept here.  Set and
 * cleared on the loop thread only. */
static struct audit_daemon *the_daemon;
/* container-shell detection (audit_exec_watch.c): runs whether or not the
 * audit socket could be opened, so it has its own slot */
static struct vigil_audit_exec_watch *the_exec;

static void emit(const struct vigil_event *ev, void *ctx)
{
	struct audit_daemon *d = ctx;

	vigil_watch_emit(d->w, ev);
}

static void on_readable(struct vigil_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct audit_daemon *d = ctx;
	int rc = vigil_audit_link_read(d->link, vigil_audit_engine_parser(d->eng), &d->dropped);

	if (rc < 0) {
		vigil_log_warn("audit: reading records: %s; who-data stops here", strerror(-rc));
		vigil_loop_del(loop, fd);
	}
}

static void on_tick(struct vigil_loop_timer *t, uint64_t expirations, void *ctx)
{
	struct audit_daemon *d = ctx;
	struct vigil_audit_kstatus ks;
	struct vigil_err err = { "" };

	vigil_audit_engine_tick(d->eng, vigil_audit_kstatus(&ks, &err) ? NULL : &ks, d->dropped);
}

static int who_hook(void *ctx, const struct vigil_change *ch, struct vigil_who *who)
{
	struct audit_daemon *d = ctx;
	const struct vigil_record *r = ch->cur ? ch->cur : ch->old;

	/* the records of the window may still sit in the socket */
	vigil_audit_link_read(d->link, vigil_audit_engine_parser(d->eng), &d->dropped);
	vigil_audit_parser_age(vigil_audit_engine_parser(d->eng));
	/* the window is around the change, not around now: the daemon
	 * held the change for the window before asking */
	return vigil_audit_engine_who(d->eng, ch->path, r ? r->ino : 0, ch->time_ns, who);
}

static void daemon_free(struct audit_daemon *d)
{
	if (!d)
		return;
	if (d->tick)
		vigil_loop_timer_free(d->tick);
	if (d->link) {
		vigil_loop_del(vigil_watch_loop(d->w), vigil_audit_link_fd(d->link));
		vigil_audit_link_close(d->link);
	}
	vigil_audit_engine_free(d->eng);
	vigil_audit_rules_free(d->rules);
	free(d);
}

int vigil_audit_attach(struct vigil_watch *w, struct vigil_err *err)
{
	const struct vigil_config *cfg = vigil_watch_config(w);
	struct vigil_audit_engine_opts eo = { 0 };
	struct vigil_audit_rules_opts ro = { .execve = -1 };
	struct vigil_audit_kstatus ks;
	struct audit_daemon *d;
	int rc;

	if (the_daemon)
		return vigil_err_set(err, -EBUSY, "audit: already attached");
	if (cfg->audit_execve && !cfg->audit_execve_rules && !the_exec)
		the_exec = vigil_audit_exec_watch_start(w);
	d = calloc(1, sizeof(*d));
	if (!d)
		return vigil_err_set(err, -ENOMEM, "audit: out of memory");
	d->w = w;
	if (!vigil_audit_kstatus(&ks, err)) {
		if (ks.enabled == 0)
			vigil_log_warn("audit: disabled in the kernel (enabled 0): no who-data until "
				   "`auditctl -e 1`; vigil does not change it");
		else if (ks.enabled == 2)
			vigil_log_warn("audit: rules are immutable (enabled 2): vigil's rules can be "
				   "neither loaded nor removed");
	} else {
		vigil_log_warn("%s", err->msg);
	}
	if (cfg->audit_install_rules) {
		struct vigil_audit_report rep = { 0 };

		ro.cfg = cfg;
		rc = vigil_audit_rules_build(&ro, &d->rules, err);
		if (!rc)
			rc = vigil_audit_rules_install(d->rules, 0, &rep, err);
		for (size_t i = 0; i < rep.n_msgs; i++)
			vigil_log_warn("audit: %s", rep.msgs[i]);
		if (rc)
			vigil_log_warn("%s; carrying on without vigil's audit rules", err->msg);
		else
			d->installed = 1;
		vigil_log_info("audit: %zu rules loaded, %zu already there, %zu failed", rep.added,
			   rep.present, rep.failed);
		vigil_audit_report_clear(&rep);
	}
	eo.window_ms = cfg->audit_window_ms;
	eo.exec_rate = cfg->audit_exec_rate;
	eo.rules = d->rules;
	d->eng = vigil_audit_engine_new(&eo, emit, d);
	if (!d->eng) {
		rc = vigil_err_set(err, -ENOMEM, "audit: out of memory");
		goto fail;
	}
	rc = vigil_audit_link_open(&d->link, err);
	if (rc) {
		vigil_err_prefix(err, rc, "no who-data, file changes are still reported");
		goto fail;
	}
	rc = vigil_loop_add(vigil_watch_loop(w), vigil_audit_link_fd(d->link), EPOLLIN, on_readable,
			    d);
	if (!rc)
		rc = vigil_loop_timer_new(vigil_watch_loop(w), CLOCK_MONOTONIC, on_tick, d, &d->tick);
	if (!rc)
		rc = vigil_loop_timer_arm(d->tick, TICK_MS, TICK_MS);
	if (!rc)
		rc = vigil_watch_set_who(w, who_hook, d,
					 cfg->audit_window_ms > 0 ? cfg->audit_window_ms : 2000);
	if (rc) {
		vigil_err_set(err, rc, "audit: joining the daemon's loop: %s", strerror(-rc));
		goto fail;
	}
	the_daemon = d;
	return 0;
fail:
	if (d->installed) {
		struct vigil_audit_report rep = { 0 };
		struct vigil_err e2 = { "" };

		vigil_audit_rules_remove(&rep, &e2);
		vigil_audit_report_clear(&rep);
	}
	daemon_free(d);
	return rc;
}

void vigil_audit_detach(struct vigil_watch *w)
{
	struct audit_daemon *d = the_daemon;

	vigil_audit_exec_watch_stop(the_exec);
	the_exec = NULL;
	if (!d || d->w != w)
		return;
	vigil_watch_set_who(w, NULL, NULL, 0);
	if (d->installed) {
		struct vigil_audit_report rep = { 0 };
		struct vigil_err err = { "" };

		if (vigil_audit_rules_remove(&rep, &err))
			vigil_log_warn("%s", err.msg);
		vigil_audit_report_clear(&rep);
	}
	daemon_free(d);
	the_daemon = NULL;
}
