/* cmd_watch.c - `vigil watch [--pid-file FILE] [--foreground] [--check-config]`:
 * the options; the daemon is agent/daemon/daemon.c. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "vigil/cli.h"
#include "vigil/daemon.h"
#include "vigil/err.h"

int vigil_cmd_watch(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid-file", required_argument, NULL, 'p' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pid_file = NULL;
	int check_only = 0, o;

	while ((o = getopt_long(argc, argv, "p:fn", opts, NULL)) != -1) {
		switch (o) {
		case 'p': pid_file = optarg; break;
		case 'f': break; /* the daemon always runs in the foreground */
		case 'n': check_only = 1; break;
		default: return VIGIL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		vigil_log_err("watch takes no arguments (see --pid-file, --check-config)");
		return VIGIL_EXIT_USAGE;
	}
	if (cli->root && strcmp(cli->root, "/")) {
		vigil_log_err("watch runs on the live host: --root '%s' is for baseline and check", cli->root);
		return VIGIL_EXIT_USAGE;
	}
	if (check_only) {
		printf("%s: configuration ok\n", cli->cfg->source);
		return VIGIL_EXIT_OK;
	}
	return vigil_daemon_run(cli, pid_file);
}
