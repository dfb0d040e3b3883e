/* cmd_audit.c - `vigil rules print|install|remove|status`, `vigil audit-plugin`
 * (auditd plugin: records on stdin) and `vigil audit-tail` (the kernel's
 * multicast records, in the foreground).  Both event commands print one
 * ECS JSON line per event on stdout.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "vigil/audit.h"
#include "vigil/cli.h"
#include "vigil/err.h"

#define MAX_LIST 16

struct list {
	const char *v[MAX_LIST + 1];
	size_t n;
};

static int list_add(struct list *l, const char *s)
{
	if (l->n >= MAX_LIST) {
		vigil_log_err("too many values (at most %d)", MAX_LIST);
		return -1;
	}
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
	return 0;
}

static void print_msgs(char **m, size_t n, const char *prefix)
{
	for (size_t i = 0; i < n; i++)
		vigil_log_warn("%s%s", prefix, m[i]);
}

static int rules_usage(void)
{
	fprintf(stderr,
		"usage: vigil rules print|install|status [--socket PATH]... [--path PATH]...\n"
		"                                   [--execve|--no-execve] [--enable (install)]\n"
		"       vigil rules remove\n"
		"  --socket  a Docker/containerd API socket to watch connects to (default\n"
		"            /run/docker.sock and /run/containerd/containerd.sock)\n"
		"  --path    one more path audited like a critical scope (key vigil-scope-cli)\n"
		"  --execve  the execve rule whatever audit.execve says (--no-execve: without)\n"
		"  --enable  turn audit on (auditctl -e 1) when it is off; never done otherwise\n");
	return VIGIL_EXIT_USAGE;
}

static int fail_code(int rc)
{
	return rc == -EINVAL ? VIGIL_EXIT_USAGE : VIGIL_EXIT_FAIL;
}

int vigil_cmd_rules(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "no-execve", no_argument, NULL, 'X' },
		{ "execve", no_argument, NULL, 'x' },
		{ "path", required_argument, NULL, 'P' },
		{ "enable", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vigil_audit_rules_opts ro = { .execve = -1 };
	struct vigil_audit_ruleset *set = NULL;
	struct vigil_audit_report rep = { 0 };
	struct vigil_audit_status st = { 0 };
	struct vigil_err err = { "" };
	struct list socks = { 0 }, paths = { 0 };
	const char *sub;
	int c, rc, enable = 0, ret = VIGIL_EXIT_OK;

	if (argc < 2)
		return rules_usage();
	sub = argv[1];
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "s:XxeP:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (list_add(&socks, optarg))
				return VIGIL_EXIT_USAGE;
			break;
		case 'P':
			if (list_add(&paths, optarg))
				return VIGIL_EXIT_USAGE;
			break;
		case 'X': ro.execve = 0; break;
		case 'x': ro.execve = 1; break;
		case 'e': enable = 1; break;
		case 'h': rules_usage(); return VIGIL_EXIT_OK;
		default: return rules_usage();
		}
	}
	if (optind < argc)
		return rules_usage();
	if (strcmp(sub, "print") && strcmp(sub, "install") && strcmp(sub, "remove") &&
	    strcmp(sub, "status"))
		return rules_usage();
	if (strcmp(sub, "print") && cli->root && strcmp(cli->root, "/")) {
		vigil_log_err("rules %s: --root applies to `rules print` only: the kernel's rules "
			  "belong to the running host", sub);
		return VIGIL_EXIT_USAGE;
	}
	ro.cfg = cli->cfg;
	ro.root = cli->root;
	ro.sockets = socks.n ? socks.v : NULL;
	ro.paths = paths.n ? paths.v : NULL;
	if (!strcmp(sub, "remove")) {
		rc = vigil_audit_rules_remove(&rep, &err);
		if (rc) {
			vigil_log_err("%s", err.msg);
			ret = fail_code(rc);
			goto out;
		}
		print_msgs(rep.msgs, rep.n_msgs, "");
		if (!cli->quiet)
			printf("removed %zu vigil rules; %zu rules of others left as they were%s\n",
			       rep.removed, rep.foreign_kept,
			       rep.failed ? " (some could not be removed, see above)" : "");
		ret = rep.failed ? VIGIL_EXIT_FAIL : VIGIL_EXIT_OK;
		goto out;
	}
	rc = vigil_audit_rules_build(&ro, &set, &err);
	if (rc) {
		vigil_log_err("%s", err.msg);
		ret = fail_code(rc);
		goto out;
	}
	if (!strcmp(sub, "print")) {
		if (vigil_audit_rules_print(set, stdout) || fflush(stdout)) {
			vigil_log_err("rules print: cannot write to stdout");
			ret = VIGIL_EXIT_FAIL;
		}
	} else if (!strcmp(sub, "install")) {
		print_msgs(set->skipped, set->n_skipped, "skipped ");
		rc = vigil_audit_rules_install(set, enable ? VIGIL_AUDIT_INSTALL_ENABLE : 0, &rep, &err);
		print_msgs(rep.msgs, rep.n_msgs, "");
		if (rc) {
			vigil_log_err("%s", err.msg);
			ret = fail_code(rc);
			goto out;
		}
		if (!cli->quiet)
			printf("loaded %zu vigil rules, %zu already loaded, %zu failed\n", rep.added,
			       rep.present, rep.failed);
		ret = rep.failed ? VIGIL_EXIT_FAIL : VIGIL_EXIT_OK;
	} else {
		char line[4608];

		rc = vigil_audit_rules_status(set, &st, &err);
		if (rc) {
			vigil_log_err("%s", err.msg);
			ret = fail_code(rc);
			goto out;
		}
		printf("audit: enabled %u, pid %u%s, backlog %u of %u, lost %u, rate_limit %u\n",
		       st.k.enabled, st.k.pid, st.k.pid ? " (auditd or another reader holds it)" : "",
		       st.k.backlog, st.k.backlog_limit, st.k.lost, st.k.rate_limit);
		for (size_t i = 0; i < set->n; i++) {
			vigil_audit_rule_text(&set->v[i], line, sizeof(line));
			printf("%-8s %s\n", st.rules[i].loaded ? "loaded" : "missing", line);
		}
		for (size_t i = 0; i < st.n_stale; i++)
			printf("%-8s %s\n", "stale", st.stale[i]);
		for (size_t i = 0; i < st.n_other; i++)
			printf("%-8s %s (not in this configuration)\n", "other", st.other[i]);
		for (size_t i = 0; i < set->n_skipped; i++)
			printf("skipped  %s\n", set->skipped[i]);
		for (size_t i = 0; i < st.n_warnings; i++)
			printf("warning: %s\n", st.warnings[i]);
		printf("%zu of %zu vigil rules loaded, %zu stale, %zu rules of others\n", st.n_loaded,
		       set->n, st.n_stale, st.n_foreign);
		ret = st.n_missing || st.n_warnings ? VIGIL_EXIT_DIFF : VIGIL_EXIT_OK;
	}
out:
	vigil_audit_status_clear(&st);
	vigil_audit_report_clear(&rep);
	vigil_audit_rules_free(set);
	return ret;
}

/* ------------------------------------------------------- event commands */

struct printer {
	const char *only; /* event.action to print, or NULL for all */
	long max;         /* stop after this many printed; 0 = no limit */
	long printed;
};

static void print_event(const struct vigil_event *ev, void *ctx)
{
	struct printer *p = ctx;
	char *line;

	if (p->only && (!ev->action || strcmp(p->only, ev->action)))
		return;
	line = vigil_event_json(ev, NULL);
	if (!line)
		return;
	printf("%s\n", line);
	fflush(stdout);
	free(line);
	p->printed++;
}

struct ev_opts {
	struct vigil_audit_engine_opts eo;
	struct list roots, socks;
	struct printer pr;
	double timeout_s;
};

static int ev_usage(const char *cmd)
{
	fprintf(stderr,
		"usage: vigil %s [--data-root DIR]... [--proc DIR] [--all-execs] [--all-files]\n"
		"       [--action NAME] [--count N]%s\n",
		cmd, strcmp(cmd, "audit-tail") ? "" : " [--timeout SECONDS]");
	return VIGIL_EXIT_USAGE;
}

static int ev_parse(const char *cmd, struct vigil_cli *cli, int argc, char **argv,
		    struct ev_opts *o)
{
	static const struct option opts[] = {
		{ "data-root", required_argument, NULL, 'd' },
		{ "proc", required_argument, NULL, 'p' },
		{ "all-execs", no_argument, NULL, 'a' },
		{ "all-files", no_argument, NULL, 'F' },
		{ "action", required_argument, NULL, 'A' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	if (cli->cfg) {
		o->eo.window_ms = cli->cfg->audit_window_ms;
		o->eo.exec_rate = cli->cfg->audit_exec_rate;
	}
	while ((c = getopt_long(argc, argv, "d:p:aFA:n:t:", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (list_add(&o->roots, optarg))
				return -1;
			break;
		case 'p': o->eo.proc = optarg; break;
		case 'a': o->eo.all_execs = 1; break;
		case 'F': o->eo.all_files = 1; break;
		case 'A': o->pr.only = optarg; break;
		case 'n': o->pr.max = strtol(optarg, NULL, 10); break;
		case 't': o->timeout_s = strtod(optarg, NULL); break;
		default: ev_usage(cmd); return -1;
		}
	}
	if (optind < argc) {
		ev_usage(cmd);
		return -1;
	}
	o->eo.data_roots = o->roots.n ? o->roots.v : NULL;
	return 0;
}

static void print_counters(struct vigil_audit_engine *e)
{
	struct vigil_audit_counters c;

	vigil_audit_engine_counters(e, &c);
	vigil_log_info("audit: %llu events (%llu malformed), %llu execs (%llu over the rate limit), "
		   "%llu lost by the kernel, %llu socket overflows, %llu detections",
		   (unsigned long long)c.events, (unsigned long long)c.malformed,
		   (unsigned long long)c.execs, (unsigned long long)c.execs_suppressed,
		   (unsigned long long)c.lost_kernel, (unsigned long long)c.lost_local,
		   (unsigned long long)c.detections);
}

int vigil_cmd_audit_plugin(struct vigil_cli *cli, int argc, char **argv)
{
	struct vigil_audit_engine *e;
	struct ev_opts o;
	char buf[65536];
	ssize_t n;

	if (ev_parse("audit-plugin", cli, argc, argv, &o))
		return VIGIL_EXIT_USAGE;
	e = vigil_audit_engine_new(&o.eo, print_event, &o.pr);
	if (!e) {
		vigil_log_err("audit-plugin: out of memory");
		return VIGIL_EXIT_FAIL;
	}
	/* auditd writes records as text lines, one event's records together
	 * but with no EOE: auparse completes each event when the next begins,
	 * and the rest at end of input (auditd closes the pipe on stop). */
	for (;;) {
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		vigil_audit_engine_feed(e, buf, (size_t)n);
		vigil_audit_engine_tick(e, NULL, 0);
		if (o.pr.max && o.pr.printed >= o.pr.max)
			break;
	}
	vigil_audit_parser_flush(vigil_audit_engine_parser(e));
	print_counters(e);
	vigil_audit_engine_free(e);
	return n < 0 ? VIGIL_EXIT_FAIL : VIGIL_EXIT_OK;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vigil_cmd_audit_tail(struct vigil_cli *cli, int argc, char **argv)
{
	struct vigil_audit_link *link = NULL;
	struct vigil_audit_engine *e = NULL;
	struct vigil_err err = { "" };
	struct ev_opts o;
	struct pollfd pfd[2];
	sigset_t mask;
	uint64_t dropped = 0;
	int64_t start, last_tick = 0;
	int rc, ret = VIGIL_EXIT_OK, sfd = -1;

	if (ev_parse("audit-tail", cli, argc, argv, &o))
		return VIGIL_EXIT_USAGE;
	rc = vigil_audit_link_open(&link, &err);
	if (rc) {
		vigil_log_err("%s", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	e = vigil_audit_engine_new(&o.eo, print_event, &o.pr);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (!e || sfd < 0) {
		vigil_log_err("audit-tail: %s", e ? strerror(errno) : "out of memory");
		ret = VIGIL_EXIT_FAIL;
		goto out;
	}
	/* readiness for tests and scripts: records from here on are seen */
	vigil_log(VIGIL_LOG_NOTICE, "audit-tail: reading the audit multicast group");
	start = mono_ms();
	for (;;) {
		int64_t now = mono_ms();

		pfd[0] = (struct pollfd){ .fd = vigil_audit_link_fd(link), .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		rc = poll(pfd, 2, 250);
		if (rc < 0 && errno != EINTR) {
			vigil_log_err("audit-tail: poll: %s", strerror(errno));
			ret = VIGIL_EXIT_FAIL;
			break;
		}
		if (rc > 0 && (pfd[1].revents & POLLIN))
			break;
		if (rc > 0 && (pfd[0].revents & POLLIN)) {
			rc = vigil_audit_link_read(link, vigil_audit_engine_parser(e), &dropped);
			if (rc < 0) {
				vigil_log_err("audit-tail: reading audit records: %s", strerror(-rc));
				ret = VIGIL_EXIT_FAIL;
				break;
			}
		}
		now = mono_ms();
		if (now - last_tick >= 1000) {
			struct vigil_audit_kstatus ks;
			struct vigil_err e2 = { "" };

			last_tick = now;
			vigil_audit_engine_tick(e, vigil_audit_kstatus(&ks, &e2) ? NULL : &ks, dropped);
		}
		if (o.pr.max && o.pr.printed >= o.pr.max)
			break;
		if (o.timeout_s > 0 && now - start >= (int64_t)(o.timeout_s * 1000))
			break;
	}
	vigil_audit_parser_flush(vigil_audit_engine_parser(e));
	print_counters(e);
out:
	if (sfd >= 0)
		close(sfd);
	vigil_audit_engine_free(e);
	vigil_audit_link_close(link);
	return ret;
}
