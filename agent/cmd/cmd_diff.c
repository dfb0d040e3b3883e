/* cmd_diff.c - `vigil diff GEN_A GEN_B`: what changed between two stored
 * generations, files (as `check` prints them, or its JSON events), Docker
 * layer and image objects (added, removed, stored differently; as check
 * prints a Docker object) and CIS results (a verdict that changed, appeared
 * or went).  Both generations are
 * verified first: a tampered one is refused.
 *
 * Exit codes: 0 nothing differs, 1 differences, 2 usage, 3 a generation does
 * not verify (or the store cannot be read).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vigil/actions.h"
#include "vigil/cli.h"
#include "vigil/compliance.h"
#include "vigil/event.h"
#include "vigil/gendiff.h"
#include "vigil/sign.h"

struct diff {
	int json;
	int64_t a, b;
};

static int file_diff(void *arg, const struct vigil_run_diff *d)
{
	struct diff *x = arg;
	struct vigil_event ev = {
		.action = d->action, .severity = d->severity, .scope = d->scope, .old = d->old, .cur = d->cur,
		.changed = d->changed, .source = "diff", .generation = x->b, .message = d->message,
		.extra_json = d->extra_json,
	};
	char *line;

	if (!d->path) /* a Docker object, as check shows one */
		ev.kind = d->severity >= VIGIL_SEV_HIGH ? "alert" : "event";

	if (!x->json) {
		vigil_cli_print_diff(d);
		return 0;
	}
	line = vigil_event_json(&ev, NULL);
	if (!line)
		return -ENOMEM;
	puts(line);
	free(line);
	return 0;
}

static const char *field(json_t *o, const char *a, const char *b)
{
	const char *s = json_string_value(json_object_get(json_object_get(o, a), b));

	return s ? s : "";
}

static int cis_change(void *arg, json_t *old, json_t *cur)
{
	struct diff *x = arg;
	json_t *any = cur ? cur : old;
	const char *ov = old ? field(old, "vigil", "verdict") : "(none)";
	const char *nv = cur ? field(cur, "vigil", "verdict") : "(none)";

	if (x->json) {
		json_t *o = json_deep_copy(any), *vg;
		char *line;

		if (!o)
			return -ENOMEM;
		json_object_set_new(json_object_get(o, "event"), "action", json_string(VIGIL_ACTION_CIS_CHANGED));
		vg = json_object_get(o, "vigil");
		json_object_set_new(vg, "old_verdict", json_string(ov));
		json_object_set_new(vg, "new_verdict", json_string(nv));
		json_object_set_new(vg, "generation", json_pack("{sIsI}", "from", (json_int_t)x->a, "to", (json_int_t)x->b));
		line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(o);
		if (!line)
			return -ENOMEM;
		puts(line);
		free(line);
		return 0;
	}
	printf("cis %s: %s -> %s", field(any, "rule", "id"), ov, nv);
	if (json_object_get(any, "container"))
		printf(" [%s]", field(any, "container", "name"));
	printf("\n  %s\n", field(any, "rule", "name"));
	if (cur && json_object_get(json_object_get(cur, "vigil"), "evidence")) {
		json_t *e = json_object_get(json_object_get(cur, "vigil"), "evidence");
		const char *f = json_string_value(json_object_get(e, "file")), *k = json_string_value(json_object_get(e, "key"));
		const char *v = json_string_value(json_object_get(e, "value"));

		if (f || k)
			printf("  %s%s%s = %s\n", f ? f : "", f && k ? ": " : "", k ? k : "", v ? v : "");
	}
	return 0;
}

static int parse_gen(const char *s, int64_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*end || v <= 0)
		return -1;
	*out = v;
	return 0;
}

/* Both generations exist and verify: 0, else an exit code. */
static int verify_both(struct vigil_store *st, const char *dir, const struct diff *x)
{
	struct vigil_pubkey *pub = NULL;
	struct vigil_generation g;
	struct vigil_err err = { "" };
	int64_t ids[2] = { x->a, x->b };
	int rc = vigil_pubkey_load(dir, &pub, &err);

	for (int i = 0; i < 2 && !rc; i++) {
		rc = vigil_store_generation(st, ids[i], &g, &err);
		if (!rc)
			rc = vigil_store_verify(st, &g, pub, &err);
	}
	vigil_pubkey_free(pub);
	if (!rc)
		return 0;
	vigil_log_err("diff: %s", err.msg);
	return rc == -ENOENT ? VIGIL_EXIT_USAGE : VIGIL_EXIT_TAMPERED;
}

int vigil_cmd_diff(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = { { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
	static const char usage[] = "usage: vigil diff [--json] GEN_A GEN_B";
	struct diff x = { 0 };
	struct vigil_store *st = NULL;
	struct vigil_tally t;
	struct vigil_err err = { "" };
	size_t n_cis = 0, n_obj = 0;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "j", lo, NULL)) != -1) {
		if (ch != 'j') {
			fprintf(stderr, "%s\n", usage);
			return VIGIL_EXIT_USAGE;
		}
		x.json = 1;
	}
	if (argc - optind != 2 || parse_gen(argv[optind], &x.a) || parse_gen(argv[optind + 1], &x.b)) {
		fprintf(stderr, "%s\n", usage);
		return VIGIL_EXIT_USAGE;
	}
	rc = vigil_store_open(vigil_cli_state_dir(cli), VIGIL_STORE_RDONLY, &st, &err);
	if (rc) {
		vigil_log_err("diff: %s", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	rc = verify_both(st, vigil_cli_state_dir(cli), &x);
	if (rc)
		goto out;
	if (!x.json && !cli->quiet)
		printf("vigil diff: generation %" PRId64 " -> %" PRId64 "\n", x.a, x.b);
	rc = vigil_gendiff_records(st, x.a, x.b, cli->cfg, file_diff, &x, &t, &err);
	if (!rc)
		rc = vigil_gendiff_objects(st, x.a, x.b, file_diff, &x, &n_obj, &err);
	if (!rc)
		rc = vigil_cis_diff(st, x.a, x.b, cis_change, &x, &n_cis, &err);
	if (rc) {
		vigil_log_err("diff: %s", err.msg);
		rc = VIGIL_EXIT_FAIL;
		goto out;
	}
	if (!x.json && !cli->quiet)
		printf("%" PRIu64 " added, %" PRIu64 " removed, %" PRIu64 " changed, %zu Docker objects changed,"
		       " %zu CIS results changed\n", t.added, t.removed, t.changed, n_obj, n_cis);
	rc = vigil_tally_diffs(&t) || n_cis || n_obj ? VIGIL_EXIT_DIFF : VIGIL_EXIT_OK;
out:
	vigil_store_close(st);
	return rc;
}
