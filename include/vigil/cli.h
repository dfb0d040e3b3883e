/* cli.h - what main() hands to each command: global options and the loaded
 * config.  Commands return the process exit code (DESIGN.md: 0 nothing
 * differs, 1 differences, 2 usage/config error, 3+ runtime failure). */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

#include "vigil/config.h"

enum vigil_exit {
	VIGIL_EXIT_OK = 0,
	VIGIL_EXIT_DIFF = 1,
	VIGIL_EXIT_USAGE = 2,
	VIGIL_EXIT_FAIL = 3,
	VIGIL_EXIT_TAMPERED = 3, /* baseline digest/signature does not verify */
	/* a baseline that completed but could not read some files (they are
	 * recorded as unreadable and reported by every later check) */
	VIGIL_EXIT_PARTIAL = 4,
};

struct vigil_cli {
	const char *config_file; /* NULL: embedded default */
	const char *state_dir;   /* overrides cfg->state_dir when set */
	const char *root;        /* NULL or a mounted image */
	int quiet, verbose;
	int progress;            /* stderr is a terminal and not quiet */
	struct vigil_config *cfg;
};

/* The effective state dir: --state-dir, else the config's. */
const char *vigil_cli_state_dir(const struct vigil_cli *cli);
/* Loads cli->config_file (NULL: the installed config, else the embedded
 * default) with --state-dir, when given, replacing its state_dir: at start and
 * at every reload, so the daemon never drifts to the config's state dir. */
int vigil_cli_config_load(const struct vigil_cli *cli, struct vigil_config **out, struct vigil_err *err);

typedef int (*vigil_cmd_fn)(struct vigil_cli *cli, int argc, char **argv);

/* foundation (agent/cmd/cmd_fim.c) */
int vigil_cmd_baseline(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_check(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_accept(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_show(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_keygen(struct vigil_cli *cli, int argc, char **argv);
/* agent/cmd/cmd_config.c: "config OK: SOURCE, N scopes", or --print-default */
int vigil_cmd_check_config(struct vigil_cli *cli, int argc, char **argv);

/* check's text form of one difference (agent/cmd/cmd_fim.c), for `diff` too */
struct vigil_run_diff;
void vigil_cli_print_diff(const struct vigil_run_diff *d);
int vigil_cmd_diff(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_prune(struct vigil_cli *cli, int argc, char **argv);

/* docker collector (agent/cmd/cmd_docker.c) */
int vigil_cmd_images(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_containers(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_layers(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_drift(struct vigil_cli *cli, int argc, char **argv);

/* compliance (agent/compliance/, agent/cmd/cmd_cis.c) */
int vigil_cmd_cis(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_generations(struct vigil_cli *cli, int argc, char **argv);

/* packages (agent/cmd/cmd_packages.c, collectors/packages/) */
int vigil_cmd_packages(struct vigil_cli *cli, int argc, char **argv);

/* watch daemon (agent/daemon/, agent/daemon/ctl.c) */
int vigil_cmd_watch(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_ctl(struct vigil_cli *cli, int argc, char **argv);

/* audit (agent/audit/, agent/cmd/cmd_audit.c) */
int vigil_cmd_rules(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_audit_plugin(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_audit_tail(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_memdump(struct vigil_cli *cli, int argc, char **argv); /* agent/cmd/cmd_memdump.c */
int vigil_cmd_procs(struct vigil_cli *cli, int argc, char **argv);   /* agent/cmd/cmd_procs.c */

/* evidence capture (agent/cmd/cmd_capture.c) */
int vigil_cmd_capture(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_verify(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_cases(struct vigil_cli *cli, int argc, char **argv);
int vigil_cmd_export(struct vigil_cli *cli, int argc, char **argv);

#endif
