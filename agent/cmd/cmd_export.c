/* cmd_export.c - `vigil export`: hand a verified evidence archive over
 * (agent/capture/export.c), with an `exported` record in the custody ledger. */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "vigil/capture.h"
#include "vigil/cli.h"
#include "vigil/sign.h"

static const char usage[] =
	"usage: vigil export [-p PUBKEY] [--to RECIPIENT] [--examiner NAME] [--note TEXT] [--case ID]\n"
	"                    ARCHIVE DEST_DIR\n"
	"Verifies ARCHIVE (members, seal, custody chain, signature), copies it with its .sha256 and\n"
	".minisig into DEST_DIR (never replacing a file; the copy's SHA-256 checked against the\n"
	"verified one) and records `exported` in the custody ledger.\n"
	"Exit: 0 exported, 1 ARCHIVE does not verify (nothing copied), 2 usage, 3 failure.\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int vigil_cmd_export(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pubkey", required_argument, NULL, 'p' }, { "to", required_argument, NULL, 't' },
		{ "examiner", required_argument, NULL, 'e' }, { "note", required_argument, NULL, 'n' },
		{ "case", required_argument, NULL, 'c' },     { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vigil_export_opts o = { .state_dir = vigil_cli_state_dir(cli), .cancel = &stop };
	struct sigaction sa = { .sa_handler = on_signal };
	struct vigil_export_result r;
	struct vigil_err err = { "" };
	char pubbuf[PATH_MAX];
	int c, rc;

	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': o.pubkey = optarg; break;
		case 't': o.to = optarg; break;
		case 'e': o.examiner = optarg; break;
		case 'n': o.note = optarg; break;
		case 'c': o.case_id = optarg; break;
		case 'h': fputs(usage, stdout); return VIGIL_EXIT_OK;
		default: fputs(usage, stderr); return VIGIL_EXIT_USAGE;
		}
	}
	if (optind + 2 != argc) {
		fputs(usage, stderr);
		return VIGIL_EXIT_USAGE;
	}
	o.archive = argv[optind];
	o.dest_dir = argv[optind + 1];
	if (!o.pubkey) {
		snprintf(pubbuf, sizeof(pubbuf), "%s/%s", o.state_dir, VIGIL_PUBKEY_FILE);
		o.pubkey = pubbuf;
	}
	/* no SA_RESTART: a blocked read returns, the copies are removed */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	rc = vigil_evidence_export(&o, &r, &err);
	if (rc > 0) {
		printf("NOT EXPORTED: %s does not verify: %s\n", o.archive, r.fault);
		return VIGIL_EXIT_DIFF;
	}
	if (rc < 0) {
		if (r.copied)
			vigil_log_err("export: copied to %s (sha256 %s), but the custody record was not written: %s",
				      r.dest, r.sha256, err.msg);
		else
			vigil_log_err("export: %s: nothing exported", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	printf("exported: %s\nsha256 %s\n", r.dest, r.sha256);
	return VIGIL_EXIT_OK;
}
