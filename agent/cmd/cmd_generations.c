/* cmd_generations.c - `vigil generations`: every generation in the baseline
 * store, newest first: id, time, host, kind, record count, the CIS counts of
 * the run it holds (compliance generations), the signing key's id, and
 * whether its digest and signature verify.
 *
 * Exit codes: 0 every generation verifies, 3 one does not (tampered), 2 usage.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "vigil/cli.h"
#include "vigil/compliance.h"
#include "vigil/sign.h"
#include "vigil/store.h"

static void row(const struct vigil_generation *g, const struct vigil_cis_run *run, int has_run, int ok,
		const char *why, int json)
{
	char when[32], key[17];
	time_t t = (time_t)g->created;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	vigil_sign_key_id_str(g->key_id, key);
	if (json) {
		json_t *o = json_pack("{sIsssssssIsssb}", "generation", (json_int_t)g->id, "time", when, "host", g->host,
				      "kind", g->kind, "records", (json_int_t)g->n_records, "key", key, "verified", ok);
		char *line;

		if (has_run) {
			json_t *c = json_object();

			for (int v = 0; v < VIGIL_CIS_N; v++)
				json_object_set_new(c, vigil_cis_verdict_name(v), json_integer((json_int_t)run->counts[v]));
			json_object_set_new(o, "cis", c);
		}
		if (!ok)
			json_object_set_new(o, "error", json_string(why));
		line = json_dumps(o, JSON_COMPACT);
		if (line)
			puts(line);
		free(line);
		json_decref(o);
		return;
	}
	printf("%6" PRId64 "  %s  %-12s %-10s %9" PRIu64 "  ", g->id, when, g->host, g->kind, g->n_records);
	if (has_run)
		printf("cis %3zu pass %3zu fail  ", run->counts[VIGIL_CIS_PASS], run->counts[VIGIL_CIS_FAIL]);
	else
		printf("%-22s", "-");
	printf("key %s  %s\n", key, ok ? "verified" : "DOES NOT VERIFY");
	if (!ok)
		printf("        %s\n", why);
}

int vigil_cmd_generations(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vigil_store *st = NULL;
	struct vigil_pubkey *pub = NULL;
	struct vigil_generation latest;
	struct vigil_err err = { "" };
	int ch, json = 0, rc, bad = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
		switch (ch) {
		case 'j': json = 1; break;
		case 'h': puts("usage: vigil generations [--json]"); return VIGIL_EXIT_OK;
		default: fputs("usage: vigil generations [--json]\n", stderr); return VIGIL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		vigil_log_err("generations: unexpected argument '%s'", argv[optind]);
		return VIGIL_EXIT_USAGE;
	}
	rc = vigil_store_open(vigil_cli_state_dir(cli), VIGIL_STORE_RDONLY, &st, &err);
	if (!rc)
		rc = vigil_pubkey_load(vigil_cli_state_dir(cli), &pub, &err);
	if (!rc)
		rc = vigil_store_latest(st, &latest, &err);
	if (rc == -ENOENT && st && pub) {
		vigil_store_close(st);
		vigil_pubkey_free(pub);
		if (!cli->quiet && !json)
			puts("no generation yet");
		return VIGIL_EXIT_OK;
	}
	if (rc) {
		vigil_log_err("generations: %s", err.msg);
		vigil_store_close(st);
		vigil_pubkey_free(pub);
		return rc == -EBADMSG ? VIGIL_EXIT_TAMPERED : VIGIL_EXIT_FAIL;
	}
	for (int64_t id = latest.id; id >= 1; id--) {
		struct vigil_generation g;
		struct vigil_cis_run run;
		struct vigil_err verr = { "" };
		int ok, has_run;

		if (vigil_store_generation(st, id, &g, &err))
			continue; /* pruned */
		ok = !vigil_store_verify(st, &g, pub, &verr);
		has_run = !vigil_cis_history_one(st, id, &run, &err);
		bad |= !ok;
		row(&g, &run, has_run, ok, verr.msg, json);
	}
	vigil_store_close(st);
	vigil_pubkey_free(pub);
	return bad ? VIGIL_EXIT_TAMPERED : VIGIL_EXIT_OK;
}
