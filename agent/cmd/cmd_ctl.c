/* cmd_ctl.c - `vigil ctl`: asks the running daemon through its control socket
 * (agent/daemon/ctl.c) and prints its answer. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vigil/capture_trigger.h"
#include "vigil/cli.h"
#include "vigil/ctl.h"
#include "vigil/err.h"

/* `vigil ctl [--socket PATH] [--timeout S] status|rescan|reload|check`: prints
 * the daemon's answer.  Exit 0 when ok (check: 1 when it found differences),
 * 3 when the daemon could not be asked or said no. */
int vigil_cmd_ctl(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = cli->cfg && cli->cfg->control_socket ? cli->cfg->control_socket : "/run/vigil/control.sock";
	struct vigil_err err = { "" };
	int timeout_s = 0, o, rc;
	char *reply = NULL, *capture = NULL;
	json_t *j;

	/* `capture` takes options of its own (capture_trigger.h): cut them off first */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "capture")) {
			capture = vigil_capture_ctl_request(argc - i - 1, argv + i + 1);
			if (!capture)
				return VIGIL_EXIT_USAGE;
			argc = i + 1;
			break;
		}
	}

	while ((o = getopt_long(argc, argv, "S:t:", opts, NULL)) != -1) {
		switch (o) {
		case 'S': path = optarg; break;
		case 't': timeout_s = atoi(optarg); break;
		default: return VIGIL_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || (strcmp(argv[optind], "status") && strcmp(argv[optind], "rescan") &&
				   strcmp(argv[optind], "reload") && strcmp(argv[optind], "check") && !capture)) {
		vigil_log_err("usage: vigil ctl [--socket PATH] [--timeout SECONDS] status|rescan|reload|check|capture");
		free(capture);
		return VIGIL_EXIT_USAGE;
	}
	if (timeout_s <= 0) /* a check hashes every scope: give it time */
		timeout_s = strcmp(argv[optind], "check") ? 10 : 3600;
	rc = vigil_ctl_request(path, capture ? capture : argv[optind], timeout_s * 1000, &reply, &err);
	free(capture);
	if (rc) {
		vigil_log_err("%s", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	j = json_loads(reply, 0, NULL);
	if (j) {
		char *pretty = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		puts(pretty ? pretty : reply);
		free(pretty);
	} else {
		puts(reply);
	}
	rc = VIGIL_EXIT_OK;
	if (!j || !json_is_true(json_object_get(j, "ok"))) {
		rc = VIGIL_EXIT_FAIL;
	} else if (!strcmp(argv[optind], "check")) {
		json_t *d = json_object_get(j, "differences");

		if (json_integer_value(d) > 0)
			rc = VIGIL_EXIT_DIFF;
	}
	json_decref(j);
	free(reply);
	return rc;
}
