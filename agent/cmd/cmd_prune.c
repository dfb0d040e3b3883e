/* cmd_prune.c - `vigil prune`: applies the config's `retention: {keep: N,
 * max_age: DURATION}` (or --keep N, --max-age DURATION) to the baseline
 * store.  Never the newest generation, never one a custody record names
 * ("generation": N in STATE_DIR/custody.jsonl); each generation pruned is
 * reported as a `generation-pruned` event (JSON with --json).  The store's
 * newest generation must verify first.
 *
 * Exit codes: 0 done (pruned or not), 2 usage or no retention set, 3 the
 * store does not verify or cannot be written.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/actions.h"
#include "vigil/cli.h"
#include "vigil/event.h"
#include "vigil/run.h"
#include "vigil/store.h"

/* "90", "90s", "15m", "12h", "30d": seconds, or -1. */
static long long duration(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	long long mul = !*end ? 1 : !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 :
			!strcmp(end, "d") ? 86400 : -1;

	return end == s || v < 0 || mul < 0 ? -1 : v * mul;
}

static void report(const struct vigil_cli *cli, int64_t id, int json)
{
	char msg[128];
	struct vigil_event ev = { .action = VIGIL_ACTION_GEN_PRUNED, .kind = "event", .message = msg,
				  .generation = id, .source = "prune" };
	char *line;

	snprintf(msg, sizeof(msg), "baseline generation %" PRId64 " pruned (retention)", id);
	if (!json) {
		if (!cli->quiet)
			printf("%s\n", msg);
		return;
	}
	line = vigil_event_json(&ev, NULL);
	if (line)
		puts(line);
	free(line);
}

int vigil_cmd_prune(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "keep", required_argument, NULL, 'k' }, { "max-age", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 },
	};
	static const char usage[] = "usage: vigil prune [--keep N] [--max-age DURATION] [--json]";
	long long keep = cli->cfg->retention_keep, age = (long long)cli->cfg->retention_max_age_s;
	struct vigil_store *st = NULL;
	struct vigil_generation gen;
	struct vigil_err err = { "" };
	int64_t *pruned = NULL;
	size_t n = 0;
	int ch, json = 0, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "k:a:j", lo, NULL)) != -1) {
		switch (ch) {
		case 'k': keep = strtoll(optarg, NULL, 10); if (keep < 1) keep = -1; break;
		case 'a': age = duration(optarg); break;
		case 'j': json = 1; break;
		default: fprintf(stderr, "%s\n", usage); return VIGIL_EXIT_USAGE;
		}
	}
	if (optind < argc || keep < 0 || age < 0 || keep > 1000000) {
		fprintf(stderr, "%s\n", usage);
		return VIGIL_EXIT_USAGE;
	}
	if (!keep && !age) {
		vigil_log_err("prune: no retention set (config retention: {keep: N, max_age: DURATION}, or --keep)");
		return VIGIL_EXIT_USAGE;
	}
	rc = vigil_run_open_verified(vigil_cli_state_dir(cli), 0, &st, &gen, &err);
	if (rc) {
		vigil_log_err("prune: %s", err.msg);
		return VIGIL_EXIT_TAMPERED;
	}
	rc = vigil_store_retain_policy(st, vigil_cli_state_dir(cli), (unsigned)keep, (uint64_t)age, &pruned, &n, &err);
	if (rc)
		vigil_log_err("prune: %s", err.msg);
	for (size_t i = 0; i < n; i++)
		report(cli, pruned[i], json);
	free(pruned);
	vigil_store_close(st);
	return rc ? VIGIL_EXIT_FAIL : VIGIL_EXIT_OK;
}
