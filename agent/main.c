/* main.c - option parsing and command dispatch; the only place that exits. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/cli.h"
#include "vigil/config.h"
#include "vigil/crypto.h"
#include "vigil/err.h"

/* Sanitizer builds only: libgcrypt's entropy pool lives in secure memory for
 * the whole process, where LeakSanitizer cannot see the pointers to it. */
#if defined(__SANITIZE_ADDRESS__)
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libgcrypt.so\n";
}
#endif

struct command {
	const char *name;
	vigil_cmd_fn fn;
	int needs_config;
	const char *help;
};

static const struct command commands[] = {
	{ "baseline", vigil_cmd_baseline, 1, "scan the scopes and store a new signed baseline generation" },
	{ "check", vigil_cmd_check, 1, "compare the scopes with the newest baseline [--json]" },
	{ "accept", vigil_cmd_accept, 1, "take the current state of PATH... into a new generation" },
	{ "show", vigil_cmd_show, 1, "print the stored record of PATH [--json]" },
	{ "keygen", vigil_cmd_keygen, 1, "create the signing key in the state dir [--force]" },
	{ "check-config", vigil_cmd_check_config, 1, "check the config and exit [--print-default]" },

	/* docker collector */
	{ "images", vigil_cmd_images, 0, "list the Docker images on disk (dockerd not needed) [--json]" },
	{ "containers", vigil_cmd_containers, 0, "list the Docker containers on disk [--json]" },
	{ "layers", vigil_cmd_layers, 0, "list | verify [IMAGE|LAYER...]: check image layers against their digests" },
	{ "drift", vigil_cmd_drift, 0, "list what CONTAINER changed against its image [--json]" },

	/* compliance */
	{ "cis", vigil_cmd_cis, 1, "judge the host against the CIS Docker Benchmark 1.6.0 [--json] [--junit F] [--html F] [--record]" },
	{ "diff", vigil_cmd_diff, 1, "what changed between generations GEN_A and GEN_B: files and CIS results [--json]" },
	{ "prune", vigil_cmd_prune, 1, "apply retention: {keep, max_age} to the generations [--keep N] [--max-age D] [--json]" },
	{ "generations", vigil_cmd_generations, 1, "list the baseline generations: time, host, records, CIS counts, key, verified [--json]" },

	/* packages */
	{ "packages", vigil_cmd_packages, 0, "verify [PACKAGE...]: packaged files against dpkg's MD5s [--json]" },

	/* watch daemon */
	{ "watch", vigil_cmd_watch, 1, "the FIM daemon: watch the scopes, report changes [--pid-file F]" },
	{ "ctl", vigil_cmd_ctl, 1, "ask the running daemon: status|rescan|reload|check [--socket P]" },

	/* audit */
	{ "rules", vigil_cmd_rules, 1, "audit rules: print|install|remove|status" },
	{ "audit-plugin", vigil_cmd_audit_plugin, 1, "auditd plugin: audit records on stdin, events on stdout" },
	{ "audit-tail", vigil_cmd_audit_tail, 1, "print audit events and detections as they happen" },
	{ "memdump", vigil_cmd_memdump, 0, "dump physical memory (LiME format) -o FILE [--method auto|lime|kcore]" },
	{ "procs", vigil_cmd_procs, 1, "processes and their containers; --verify: code in memory against its files" },

	/* evidence capture */
	{ "capture", vigil_cmd_capture, 1, "snapshot containers, the engine, the host into a signed archive" },
	{ "verify", vigil_cmd_verify, 1, "check an evidence ARCHIVE (members, seal, signature) | --ledger" },
	{ "export", vigil_cmd_export, 1, "verify an evidence ARCHIVE and copy it to DEST_DIR, with custody" },
	{ "cases", vigil_cmd_cases, 1, "list the captures in the custody ledger [--json] [--sweep: close interrupted ones]" },

	{ NULL, NULL, 0, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vigil [--config FILE] [--state-dir DIR] [--root DIR] [-q] [-v] COMMAND [ARGS]\n\n"
		   "commands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(f, "  %-12s %s\n", c->name, c->help);
	fprintf(f, "\n  -n, --check-config  load the config, report what is wrong, and exit\n"
		   "\nexit codes: 0 no difference, 1 differences found, 2 usage or config error,\n"
		   "3 and up runtime failure (3: baseline missing, tampered, rolled back or unreadable,\n"
		   "or a state dir, key or database that others can write;\n"
		   "4: done, but some paths could not be read and are reported as such)\n");
}

const char *vigil_cli_state_dir(const struct vigil_cli *cli)
{
	if (cli->state_dir)
		return cli->state_dir;
	return cli->cfg && cli->cfg->state_dir ? cli->cfg->state_dir : "/var/lib/vigil";
}

/* Global options, before the command.  -1 to go on, else an exit code. */
static int parse_globals(int argc, char **argv, struct vigil_cli *cli, int *check_only)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "root", required_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "check-config", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	/* '+' stops at the command so its own options are left for it. */
	while ((c = getopt_long(argc, argv, "+c:s:r:qvhVn", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cli->config_file = optarg; break;
		case 's': cli->state_dir = optarg; break;
		case 'r': cli->root = optarg; break;
		case 'q': cli->quiet = 1; break;
		case 'v': cli->verbose++; break;
		case 'h': usage(stdout); return VIGIL_EXIT_OK;
		case 'V': printf("vigil %s\n", PACKAGE_VERSION); return VIGIL_EXIT_OK;
		case 'n': *check_only = 1; break;
		default: usage(stderr); return VIGIL_EXIT_USAGE;
		}
	}
	if (optind >= argc && !*check_only) {
		usage(stderr);
		return VIGIL_EXIT_USAGE;
	}
	return -1;
}

/* The config (--config, else the installed one, else the embedded default);
 * --state-dir replaces its state_dir, so that what reads cfg (the walk, which
 * leaves the state dir out) sees the same one.  An exit code. */
static int load_config(struct vigil_cli *cli)
{
	struct vigil_err err = { "" };
	int rc = vigil_cli_config_load(cli, &cli->cfg, &err);

	if (rc) {
		vigil_log_err("%s", err.msg);
		/* a missing or unreadable --config file is the caller's error too */
		return rc == -ENOMEM ? VIGIL_EXIT_FAIL : VIGIL_EXIT_USAGE;
	}
	return VIGIL_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct vigil_cli cli = { 0 };
	struct vigil_err err = { "" };
	const struct command *cmd;
	int rc, check_only = 0;

	rc = parse_globals(argc, argv, &cli, &check_only);
	if (rc >= 0)
		return rc;
	for (cmd = commands; cmd->name; cmd++)
		if (!strcmp(cmd->name, check_only ? "check-config" : argv[optind]))
			break;
	if (!cmd->name) {
		vigil_log_err("unknown command '%s' (see vigil --help)", argv[optind]);
		return VIGIL_EXIT_USAGE;
	}
	vigil_log_set_level(cli.quiet ? VIGIL_LOG_ERR : VIGIL_LOG_NOTICE + cli.verbose);
	cli.progress = !cli.quiet && isatty(STDERR_FILENO);
	if (cli.root && (!cli.root[0] || access(cli.root, F_OK))) {
		vigil_log_err("--root '%s': %s", cli.root, cli.root[0] ? strerror(errno) : "empty path");
		return VIGIL_EXIT_USAGE;
	}
	if (vigil_crypto_init(&err)) {
		vigil_log_err("%s", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	if (cmd->needs_config && (rc = load_config(&cli))) {
		vigil_config_free(cli.cfg);
		return rc;
	}
	/* Commands parse their own options from argv[optind..]; reset getopt. */
	if (check_only) {
		/* -n ignores any command after it: only the config is looked at */
		static char *only[] = { "check-config", NULL };

		argc = 1;
		argv = only;
	} else {
		argc -= optind;
		argv += optind;
	}
	optind = 0;
	rc = cmd->fn(&cli, argc, argv);
	vigil_config_free(cli.cfg);
	return rc;
}
