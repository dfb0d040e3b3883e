/* audit_kernel.c - vigil's audit rules in the kernel, through libaudit:
 * loading (appended, never prepended, so a host's own earlier rules keep
 * their meaning), removing exactly the rules keyed "vigil-" by sending back
 * the kernel's own copy of each (nothing is ever flushed), and the status:
 * which of ours are loaded, which vigil rules are stale or another
 * configuration's, which rules of others silence ours.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libaudit.h>

#include "vigil/audit.h"

#include "audit_rules_priv.h"

/* Reply wait for one netlink answer: the kernel answers at once, so a
 * second means something is wrong with the socket, not a slow kernel. */
#define REPLY_TIMEOUT_MS 2000
/* Below this backlog a burst (a package upgrade rewriting /usr/bin) loses
 * records; 8192 is what auditd's own default rules set. */
#define MIN_BACKLOG 8192


struct krules {
	struct audit_rule_data **v;
	size_t n;
};

static void krules_free(struct krules *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	k->v = NULL;
	k->n = 0;
}

static int kopen(struct vigil_err *err)
{
	int fd;

	/* libaudit prints its own errors to stderr unless told not to; we
	 * return ours instead. */
	set_aumessage_mode(MSG_QUIET, DBG_NO);
	fd = audit_open();
	if (fd < 0) {
		int e = errno ? errno : EPROTONOSUPPORT;

		if (e == EPROTONOSUPPORT || e == EINVAL || e == EAFNOSUPPORT)
			return vigil_err_set(err, -EPROTONOSUPPORT,
					     "audit: the kernel has no audit support (CONFIG_AUDIT)");
		return vigil_err_set(err, -e, "audit: cannot open the audit netlink socket: %s",
				     strerror(e));
	}
	return fd;
}

/* Waits for and returns the next reply of the given types; -errno on error,
 * including the kernel's NLMSG_ERROR with a non-zero code. */
static int kreply(int fd, struct audit_reply *rep, struct vigil_err *err, const char *what)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int rc = poll(&pfd, 1, REPLY_TIMEOUT_MS);

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return vigil_err_set(err, rc ? -errno : -ETIMEDOUT,
					     "audit: no reply from the kernel to %s", what);
		rc = audit_get_reply(fd, rep, GET_REPLY_NONBLOCKING, 0);
		if (rc == -EAGAIN || rc == 0)
			continue;
		if (rc < 0)
			return vigil_err_set(err, rc, "audit: reading the reply to %s: %s", what,
					     strerror(-rc));
		if (rep->type == NLMSG_ERROR) {
			if (rep->error->error == 0)
				continue; /* an ACK */
			return vigil_err_set(err, rep->error->error,
					     "audit: the kernel refused %s: %s", what,
					     strerror(-rep->error->error));
		}
		return 0;
	}
}

static int kstatus_fd(int fd, struct vigil_audit_kstatus *st, struct vigil_err *err)
{
	struct audit_reply rep;
	int rc;

	rc = audit_request_status(fd);
	if (rc < 0)
		return vigil_err_set(err, rc == -EPERM || rc == -EACCES ? -EPERM : rc,
				     "audit: status request: %s%s", strerror(-rc),
				     rc == -EPERM || rc == -EACCES ?
					     " (needs root or CAP_AUDIT_CONTROL)" : "");
	for (;;) {
		rc = kreply(fd, &rep, err, "the status request");
		if (rc) {
			if (rc == -EPERM || rc == -EACCES)
				return vigil_err_set(err, -EPERM,
						     "audit: status request refused: needs root or "
						     "CAP_AUDIT_CONTROL");
			return rc;
		}
		if (rep.type == AUDIT_GET)
			break;
	}
	st->enabled = rep.status->enabled;
	st->failure = rep.status->failure;
	st->pid = rep.status->pid;
	st->rate_limit = rep.status->rate_limit;
	st->backlog_limit = rep.status->backlog_limit;
	st->lost = rep.status->lost;
	st->backlog = rep.status->backlog;
	return 0;
}

int vigil_audit_kstatus(struct vigil_audit_kstatus *st, struct vigil_err *err)
{
	int fd = kopen(err), rc;

	if (fd < 0)
		return fd;
	rc = kstatus_fd(fd, st, err);
	audit_close(fd);
	return rc;
}

static int klist(int fd, struct krules *out, struct vigil_err *err)
{
	struct audit_reply rep;
	int rc;

	rc = audit_request_rules_list_data(fd);
	if (rc < 0)
		return vigil_err_set(err, rc == -EACCES ? -EPERM : rc,
				     "audit: listing the kernel's rules: %s", strerror(-rc));
	for (;;) {
		struct audit_rule_data **nv, *copy;
		size_t sz;

		rc = kreply(fd, &rep, err, "the rule list request");
		if (rc) {
			krules_free(out);
			return rc == -EACCES ? -EPERM : rc;
		}
		if (rep.type == NLMSG_DONE)
			return 0;
		if (rep.type != AUDIT_LIST_RULES)
			continue;
		sz = sizeof(*rep.ruledata) + rep.ruledata->buflen;
		if ((size_t)rep.len < sz) {
			krules_free(out);
			return vigil_err_set(err, -EPROTO, "audit: short rule in the kernel's list");
		}
		copy = malloc(sz);
		nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
		if (!copy || !nv) {
			free(copy);
			if (nv)
				out->v = nv;
			krules_free(out);
			return vigil_err_set(err, -ENOMEM, "audit: out of memory");
		}
		memcpy(copy, rep.ruledata, sz);
		out->v = nv;
		out->v[out->n++] = copy;
	}
}

/* Every rule the kernel holds, as auditctl -l writes it (compliance 1.1.x). */
int vigil_audit_rules_list(char ***lines, size_t *n, struct vigil_err *err)
{
	struct krules kr = { 0 };
	char buf[8192];
	int fd = kopen(err), rc;

	*lines = NULL;
	*n = 0;
	if (fd < 0)
		return fd;
	rc = klist(fd, &kr, err);
	audit_close(fd);
	for (size_t i = 0; !rc && i < kr.n; i++) {
		audit_kdescribe(kr.v[i], buf, sizeof(buf));
		if (audit_strv_push(lines, n, "%s", buf))
			rc = vigil_err_set(err, -ENOMEM, "audit: out of memory");
	}
	krules_free(&kr);
	return rc;
}

void vigil_audit_report_clear(struct vigil_audit_report *rep)
{
	if (!rep)
		return;
	audit_strv_free(rep->msgs, rep->n_msgs);
	memset(rep, 0, sizeof(*rep));
}

int vigil_audit_rules_install(const struct vigil_audit_ruleset *set, int flags,
			      struct vigil_audit_report *rep, struct vigil_err *err)
{
	struct vigil_audit_kstatus st;
	int fd, rc;

	/* Status on a socket of its own: libaudit takes the first answer
	 * after a request as its acknowledgement, so an ACK left behind by
	 * one request would be taken for the next one's. */
	rc = vigil_audit_kstatus(&st, err);
	if (rc)
		return rc;
	fd = kopen(err);
	if (fd < 0)
		return fd;
	if (st.enabled == 2) {
		rc = vigil_err_set(err, -EPERM,
				   "audit: rules are immutable (enabled 2, set by `auditctl -e 2`): "
				   "no rule can be added or removed until reboot");
		goto out;
	}
	if (st.enabled == 0) {
		if (flags & VIGIL_AUDIT_INSTALL_ENABLE) {
			rc = audit_set_enabled(fd, 1);
			if (rc < 0) {
				rc = vigil_err_set(err, rc, "audit: enabling audit: %s", strerror(-rc));
				goto out;
			}
			audit_strv_push(&rep->msgs, &rep->n_msgs,
				  "audit was disabled: enabled it (--enable); `auditctl -e 0` undoes it");
		} else {
			audit_strv_push(&rep->msgs, &rep->n_msgs,
				  "audit is disabled (enabled 0): the rules are loaded but the kernel "
				  "writes no record until `auditctl -e 1` (or `vigil rules install "
				  "--enable`)");
		}
	}
	for (size_t i = 0; i < set->n; i++) {
		struct audit_rule_data *d;
		struct vigil_err e2 = { "" };
		char line[PATH_MAX + 512];

		vigil_audit_rule_text(&set->v[i], line, sizeof(line));
		if (audit_build_kernel_rule(&set->v[i], &d, &e2)) {
			rep->failed++;
			audit_strv_push(&rep->msgs, &rep->n_msgs, "%s", e2.msg);
			continue;
		}
		/* libaudit waits for the kernel's ACK or error itself. */
		rc = audit_add_rule_data(fd, d, AUDIT_FILTER_EXIT, AUDIT_ALWAYS);
		audit_rule_free_data(d);
		if (rc == -EEXIST) {
			rep->present++;
		} else if (rc < 0) {
			rep->failed++;
			audit_strv_push(&rep->msgs, &rep->n_msgs, "cannot load '%s': %s", line,
				  strerror(-rc));
			if (rc == -EPERM) {
				rc = vigil_err_set(err, -EPERM,
						   "audit: loading rules needs root or CAP_AUDIT_CONTROL");
				goto out;
			}
		} else {
			rep->added++;
		}
	}
	rc = 0;
out:
	audit_close(fd);
	return rc;
}

int vigil_audit_rules_remove(struct vigil_audit_report *rep, struct vigil_err *err)
{
	struct krules k = { 0 };
	struct vigil_audit_kstatus st;
	int fd, rc;

	rc = vigil_audit_kstatus(&st, err);
	if (rc)
		return rc;
	if (st.enabled == 2)
		return vigil_err_set(err, -EPERM,
				     "audit: rules are immutable (enabled 2): vigil's rules stay "
				     "loaded until reboot");
	fd = kopen(err);
	if (fd < 0)
		return fd;
	rc = klist(fd, &k, err);
	audit_close(fd);
	/* A fresh socket for the deletions, for the reason install gives. */
	fd = rc ? -1 : kopen(err);
	if (rc || fd < 0) {
		rc = rc ? rc : fd;
		fd = -1;
		goto out;
	}
	for (size_t i = 0; i < k.n; i++) {
		struct audit_rule_data *r = k.v[i];
		char line[PATH_MAX + 512];

		if (!audit_kis_vigil(r)) {
			rep->foreign_kept++;
			continue;
		}
		audit_kdescribe(r, line, sizeof(line));
		/* The kernel's own copy identifies the rule exactly. */
		rc = audit_delete_rule_data(fd, r, (int)r->flags, (int)r->action);
		if (rc < 0) {
			rep->failed++;
			audit_strv_push(&rep->msgs, &rep->n_msgs, "cannot remove '%s': %s", line,
				  strerror(-rc));
		} else {
			rep->removed++;
		}
	}
	rc = 0;
out:
	krules_free(&k);
	if (fd >= 0)
		audit_close(fd);
	return rc;
}

void vigil_audit_status_clear(struct vigil_audit_status *st)
{
	if (!st)
		return;
	free(st->rules);
	audit_strv_free(st->warnings, st->n_warnings);
	audit_strv_free(st->stale, st->n_stale);
	audit_strv_free(st->other, st->n_other);
	memset(st, 0, sizeof(*st));
}

/* Record types an exclude rule must not drop for vigil to see its events. */
static int excludes_ours(const struct audit_rule_data *r)
{
	static const uint32_t ours[] = { AUDIT_SYSCALL, AUDIT_PATH, AUDIT_CWD, AUDIT_EXECVE,
					 AUDIT_PROCTITLE, AUDIT_EOE, AUDIT_SOCKADDR };
	int i = audit_kfind(r, AUDIT_MSGTYPE);

	if (i < 0)
		return 1; /* drops whatever else it matches, of every type */
	if (r->fieldflags[i] != AUDIT_EQUAL)
		return 1;
	for (size_t k = 0; k < sizeof(ours) / sizeof(ours[0]); k++)
		if (r->values[i] == ours[k])
			return 1;
	return 0;
}

/* Which of ours the kernel holds; the other vigil rules (stale, or
 * another configuration's); how many rules of others.  Returns the index
 * of our first rule in the kernel's list ((size_t)-1: none). */
static size_t status_match(const struct vigil_audit_ruleset *set, struct audit_rule_data **ours,
			   const struct krules *kr, struct vigil_audit_status *st)
{
	size_t first_ours = (size_t)-1;

	for (size_t i = 0; i < set->n; i++) {
		struct vigil_err e2 = { "" };

		if (audit_build_kernel_rule(&set->v[i], &ours[i], &e2))
			audit_strv_push(&st->warnings, &st->n_warnings, "%s", e2.msg);
	}
	for (size_t j = 0; j < kr->n; j++) {
		int mine = 0;

		for (size_t i = 0; i < set->n; i++)
			if (ours[i] && audit_krule_equal(ours[i], kr->v[j])) {
				st->rules[i].loaded = 1;
				mine = 1;
			}
		if (mine && first_ours == (size_t)-1)
			first_ours = j;
		if (!mine && audit_kis_vigil(kr->v[j])) {
			char line[PATH_MAX + 512];

			audit_kdescribe(kr->v[j], line, sizeof(line));
			if (audit_kis_vigil(kr->v[j]) == 2)
				audit_strv_push(&st->other, &st->n_other, "%s", line);
			else
				audit_strv_push(&st->stale, &st->n_stale, "%s", line);
		} else if (!mine) {
			st->n_foreign++;
		}
	}
	for (size_t i = 0; i < set->n; i++) {
		if (st->rules[i].loaded)
			st->n_loaded++;
		else
			st->n_missing++;
	}
	return first_ours;
}

/* The kernel's own state that makes vigil lose records. */
static void status_kernel(struct vigil_audit_status *st)
{
	switch (st->k.enabled) {
	case 0:
		audit_strv_push(&st->warnings, &st->n_warnings,
			  "audit is disabled (enabled 0): the kernel writes no record at all");
		break;
	case 2:
		audit_strv_push(&st->warnings, &st->n_warnings,
			  "audit rules are immutable (enabled 2): vigil can neither load nor "
			  "remove rules until reboot");
		break;
	}
	if (st->k.backlog_limit && st->k.backlog_limit < MIN_BACKLOG)
		audit_strv_push(&st->warnings, &st->n_warnings,
			  "backlog_limit %u is small: a burst of records is lost "
			  "(auditctl -b %d raises it)", st->k.backlog_limit, MIN_BACKLOG);
	if (st->k.rate_limit)
		audit_strv_push(&st->warnings, &st->n_warnings,
			  "rate_limit %u records/s: records beyond it are lost", st->k.rate_limit);
}

/* Rules of others that silence ours: never,task, exclude, an earlier
 * never,exit, never,filesystem. */
static void status_silencers(const struct krules *kr, size_t first_ours, struct vigil_audit_status *st)
{
	for (size_t j = 0; j < kr->n; j++) {
		const struct audit_rule_data *r = kr->v[j];
		unsigned list = r->flags & AUDIT_FILTER_MASK;
		char line[PATH_MAX + 512];

		if (audit_kis_vigil(r))
			continue;
		audit_kdescribe(r, line, sizeof(line));
		if (list == AUDIT_FILTER_TASK && r->action == AUDIT_NEVER)
			audit_strv_push(&st->warnings, &st->n_warnings,
				  "'%s' silences every syscall record of the processes it matches%s",
				  line, r->field_count ? "" : " (all of them)");
		else if (list == AUDIT_FILTER_EXCLUDE && excludes_ours(r))
			audit_strv_push(&st->warnings, &st->n_warnings,
				  "'%s' drops records vigil reads (exclude list)", line);
		else if (list == AUDIT_FILTER_EXIT && r->action == AUDIT_NEVER &&
			 (first_ours == (size_t)-1 || j < first_ours))
			audit_strv_push(&st->warnings, &st->n_warnings,
				  "'%s' comes before vigil's rules and silences the syscalls it "
				  "matches (first match wins)", line);
		else if (list == AUDIT_FILTER_FS && r->action == AUDIT_NEVER)
			audit_strv_push(&st->warnings, &st->n_warnings,
				  "'%s' drops file records on the filesystems it matches", line);
	}
}

int vigil_audit_rules_status(const struct vigil_audit_ruleset *set,
			     struct vigil_audit_status *st, struct vigil_err *err)
{
	struct audit_rule_data **ours = NULL;
	struct krules k = { 0 };
	size_t first_ours;
	int fd, rc;

	memset(st, 0, sizeof(*st));
	rc = vigil_audit_kstatus(&st->k, err);
	if (rc)
		return rc;
	fd = kopen(err);
	if (fd < 0)
		return fd;
	rc = klist(fd, &k, err);
	if (rc)
		goto out;
	st->rules = calloc(set->n + 1, sizeof(*st->rules));
	ours = calloc(set->n + 1, sizeof(*ours));
	if (!st->rules || !ours) {
		rc = vigil_err_set(err, -ENOMEM, "audit: out of memory");
		goto out;
	}
	first_ours = status_match(set, ours, &k, st);
	status_kernel(st);
	status_silencers(&k, first_ours, st);
	rc = 0;
out:
	if (ours)
		for (size_t i = 0; i < set->n; i++)
			audit_rule_free_data(ours[i]);
	free(ours);
	krules_free(&k);
	audit_close(fd);
	if (rc) {
		vigil_audit_status_clear(st);
		memset(st, 0, sizeof(*st));
	}
	return rc;
}
