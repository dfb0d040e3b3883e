/* audit_watch.c - Linux audit inside a long-running process (see
 * audit_watch.h): rules installed at start when audit.install_rules says so
 * and removed at stop, the multicast socket on the caller's loop, a
 * one-second timer for aging events and the lost counter, who-data for file
 * changes, detections through the caller's emit callback, and the exec
 * watcher (audit_exec_watch.c).  It knows a loop and a config, never the
 * watch daemon.
 *
 * Faults keep the caller running without the part at fault: no
 * CAP_AUDIT_CONTROL (no rules, maybe someone else's), no CAP_AUDIT_READ or no
 * audit in the kernel (no who-data), audit disabled or immutable (said once,
 * at start), no proc connector (no container-shell detection).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/audit.h"
#include "vigil/audit_exec.h"
#include "vigil/audit_watch.h"
#include "vigil/loop.h"

/* Kernel status poll and event aging, once a second: the lost counter is
 * read with one netlink round trip, about 20 µs. */
#define TICK_MS 1000

struct vigil_audit_watch {
	struct vigil_loop *loop;
	vigil_audit_emit_fn emit;
	void *ctx;
	struct vigil_audit_link *link;
	struct vigil_audit_engine *eng;
	struct vigil_audit_ruleset *rules;
	struct vigil_loop_timer *tick;
	struct vigil_audit_exec_watch *exec; /* runs whether or not the socket opened */
	int installed;
	int hold_ms;
	uint64_t dropped;
	char *settings; /* what a reload compares: the audit keys and the rules' text */
};

static void on_readable(struct vigil_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct vigil_audit_watch *aw = ctx;
	int rc = vigil_audit_link_read(aw->link, vigil_audit_engine_parser(aw->eng), &aw->dropped);

	if (rc < 0) {
		vigil_log_warn("audit: reading records: %s; who-data stops here", strerror(-rc));
		vigil_loop_del(loop, fd);
		aw->hold_ms = 0;
	}
}

static void on_tick(struct vigil_loop_timer *t, uint64_t expirations, void *ctx)
{
	struct vigil_audit_watch *aw = ctx;
	struct vigil_audit_kstatus ks;
	struct vigil_err err = { "" };

	vigil_audit_engine_tick(aw->eng, vigil_audit_kstatus(&ks, &err) ? NULL : &ks, aw->dropped);
}

int vigil_audit_watch_hold_ms(const struct vigil_audit_watch *aw)
{
	return aw ? aw->hold_ms : 0;
}

int vigil_audit_watch_who(struct vigil_audit_watch *aw, const char *path, uint64_t inode, int64_t time_ns,
			  struct vigil_who *who)
{
	if (!aw || !aw->link)
		return 0;
	/* the records of the window may still sit in the socket */
	vigil_audit_link_read(aw->link, vigil_audit_engine_parser(aw->eng), &aw->dropped);
	vigil_audit_parser_age(vigil_audit_engine_parser(aw->eng));
	/* the window is around the change, not around now: the caller held
	 * the change for the window before asking */
	return vigil_audit_engine_who(aw->eng, path, inode, time_ns, who);
}

/* The rule set cfg gives (NULL without install_rules), and the text a reload
 * compares.  *settings NULL on ENOMEM. */
static int build(const struct vigil_config *cfg, struct vigil_audit_ruleset **rules, char **settings,
		 struct vigil_err *err)
{
	struct vigil_audit_rules_opts ro = { .cfg = cfg, .execve = -1 };
	char *s = NULL, line[4096];
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	int rc = 0;

	*rules = NULL;
	*settings = NULL;
	if (!f)
		return vigil_err_set(err, -ENOMEM, "audit: out of memory");
	fprintf(f, "enabled=%d install=%d execve=%d execve_rules=%d window=%d rate=%d\n", cfg->audit_enabled,
		cfg->audit_install_rules, cfg->audit_execve, cfg->audit_execve_rules, cfg->audit_window_ms,
		cfg->audit_exec_rate);
	if (cfg->audit_enabled && cfg->audit_install_rules) {
		rc = vigil_audit_rules_build(&ro, rules, err);
		for (size_t i = 0; !rc && i < (*rules)->n; i++)
			if (!vigil_audit_rule_text(&(*rules)->v[i], line, sizeof(line)))
				fprintf(f, "%s\n", line);
	}
	if (fclose(f) || rc) {
		free(s);
		vigil_audit_rules_free(*rules);
		*rules = NULL;
		return rc ? rc : vigil_err_set(err, -ENOMEM, "audit: out of memory");
	}
	*settings = s;
	return 0;
}

static void kernel_state_said(void)
{
	struct vigil_audit_kstatus ks;
	struct vigil_err err = { "" };

	if (vigil_audit_kstatus(&ks, &err)) {
		vigil_log_warn("%s", err.msg);
		return;
	}
	if (ks.enabled == 0)
		vigil_log_warn("audit: disabled in the kernel (enabled 0): no who-data until `auditctl -e 1`; "
			       "vigil does not change it");
	else if (ks.enabled == 2)
		vigil_log_warn("audit: rules are immutable (enabled 2): vigil's rules can be neither loaded "
			       "nor removed");
}

static void install(struct vigil_audit_watch *aw)
{
	struct vigil_audit_report rep = { 0 };
	struct vigil_err err = { "" };
	int rc = vigil_audit_rules_install(aw->rules, 0, &rep, &err);

	for (size_t i = 0; i < rep.n_msgs; i++)
		vigil_log_warn("audit: %s", rep.msgs[i]);
	if (rc)
		vigil_log_warn("%s; carrying on without vigil's audit rules", err.msg);
	else
		aw->installed = 1;
	vigil_log_info("audit: %zu rules loaded, %zu already there, %zu failed", rep.added, rep.present,
		       rep.failed);
	vigil_audit_report_clear(&rep);
}

/* The socket and the timer; who-data only when both work. */
static void join_loop(struct vigil_audit_watch *aw, const struct vigil_config *cfg)
{
	struct vigil_err err = { "" };
	int rc = vigil_audit_link_open(&aw->link, &err);

	if (rc) {
		vigil_log_warn("%s; no who-data, file changes are still reported", err.msg);
		return;
	}
	rc = vigil_loop_add(aw->loop, vigil_audit_link_fd(aw->link), EPOLLIN, on_readable, aw);
	if (rc) {
		vigil_audit_link_close(aw->link);
		aw->link = NULL;
	}
	if (!rc)
		rc = vigil_loop_timer_new(aw->loop, CLOCK_MONOTONIC, on_tick, aw, &aw->tick);
	if (!rc)
		rc = vigil_loop_timer_arm(aw->tick, TICK_MS, TICK_MS);
	if (rc) {
		vigil_log_warn("audit: joining the loop: %s; no who-data", strerror(-rc));
		return;
	}
	aw->hold_ms = cfg->audit_window_ms > 0 ? cfg->audit_window_ms : 2000;
}

int vigil_audit_watch_start(struct vigil_loop *loop, const struct vigil_config *cfg, vigil_audit_emit_fn emit,
			    void *ctx, struct vigil_audit_watch **out, struct vigil_err *err)
{
	struct vigil_audit_engine_opts eo = { 0 };
	struct vigil_audit_watch *aw = calloc(1, sizeof(*aw));
	struct vigil_err e = { "" };
	int rc;

	*out = NULL;
	if (!aw)
		return vigil_err_set(err, -ENOMEM, "audit: out of memory");
	aw->loop = loop;
	aw->emit = emit;
	aw->ctx = ctx;
	rc = build(cfg, &aw->rules, &aw->settings, &e);
	if (rc == -ENOMEM) {
		free(aw);
		return vigil_err_set(err, rc, "%s", e.msg);
	}
	if (rc)
		vigil_log_warn("%s; carrying on without vigil's audit rules", e.msg);
	if (!cfg->audit_enabled)
		goto done; /* nothing else: a reload may turn it on */
	if (cfg->audit_execve && !cfg->audit_execve_rules)
		aw->exec = vigil_audit_exec_watch_start(loop, cfg, emit, ctx);
	kernel_state_said();
	if (aw->rules)
		install(aw);
	eo.window_ms = cfg->audit_window_ms;
	eo.exec_rate = cfg->audit_exec_rate;
	eo.rules = aw->rules;
	aw->eng = vigil_audit_engine_new(&eo, emit, ctx);
	if (!aw->eng) {
		vigil_audit_watch_stop(aw);
		return vigil_err_set(err, -ENOMEM, "audit: out of memory");
	}
	join_loop(aw, cfg);
done:
	*out = aw;
	return 0;
}

int vigil_audit_watch_reload(struct vigil_audit_watch **aw, const struct vigil_config *cfg, struct vigil_err *err)
{
	struct vigil_audit_ruleset *rules = NULL;
	struct vigil_loop *loop = (*aw)->loop;
	vigil_audit_emit_fn emit = (*aw)->emit;
	void *ctx = (*aw)->ctx;
	char *settings = NULL;
	int rc = build(cfg, &rules, &settings, err), same;

	vigil_audit_rules_free(rules);
	if (rc == -ENOMEM)
		return rc;
	same = settings && (*aw)->settings && !strcmp(settings, (*aw)->settings);
	free(settings);
	if (same)
		return 0;
	/* Stopped first: vigil's rules are removed by their key, so the new
	 * ones would go with the old ones otherwise.  The gap is a few ms. */
	vigil_audit_watch_stop(*aw);
	*aw = NULL;
	rc = vigil_audit_watch_start(loop, cfg, emit, ctx, aw, err);
	return rc ? rc : 1;
}

void vigil_audit_watch_stop(struct vigil_audit_watch *aw)
{
	if (!aw)
		return;
	vigil_audit_exec_watch_stop(aw->exec);
	if (aw->tick)
		vigil_loop_timer_free(aw->tick);
	if (aw->link) {
		vigil_loop_del(aw->loop, vigil_audit_link_fd(aw->link));
		vigil_audit_link_close(aw->link);
	}
	if (aw->installed) {
		struct vigil_audit_report rep = { 0 };
		struct vigil_err err = { "" };

		if (vigil_audit_rules_remove(&rep, &err))
			vigil_log_warn("%s", err.msg);
		vigil_audit_report_clear(&rep);
	}
	vigil_audit_engine_free(aw->eng);
	vigil_audit_rules_free(aw->rules);
	free(aw->settings);
	free(aw);
}
