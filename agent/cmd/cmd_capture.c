/* cmd_capture.c - `vigil capture`, `vigil verify`, `vigil cases`: options in,
 * agent/capture/ does the work, results out. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "vigil/capture.h"
#include "vigil/cli.h"
#include "vigil/memdump.h"
#include "vigil/sign.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

/* "10M", "1G", "4096": bytes, or -1. */
static long long parse_size(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || v < 0 || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	return *end ? -1 : v;
}

static char *trigger_json(int argc, char **argv)
{
	json_t *a = json_array();
	json_t *o;
	char *s;

	for (int i = 0; i < argc; i++)
		json_array_append_new(a, json_stringn_nocheck(argv[i], strlen(argv[i])));
	o = json_pack("{s:s,s:o}", "source", "cli", "argv", a);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

static const char capture_usage[] =
	"usage: vigil [--root DIR] capture [--container ID|NAME]... [--all-containers] [--engine] [--host]\n"
	"       [--case ID] [--examiner NAME] [--note TEXT] [-o DIR] [--max-file-size SIZE] [--min-free SIZE]\n"
	"       [--compress zstd|gzip|none] [--freeze] [--merged] [--engine-binaries] [--data-root DIR]\n"
	"       [--threads N] [--memory [--method auto|lime|kcore] [--max-bytes SIZE] [--module LIME.ko]\n"
	"       [--lime-mode tcp|file] [--mem-timeout SECONDS]]\n"
	"--memory streams a memory dump into memory/mem.lime (--max-bytes: kcore only, tests);\n"
	"--lime-mode file: LiME writes a spool in the output dir, read back into the archive, removed\n"
	"for tests: --kcore FILE --iomem FILE --lockdown FILE --modules-root DIR\n";

static struct vigil_memdump_opts mem_opts = { .timeout_ms = 600 * 1000 };

/* --memory and its options; 1 when c was one of them, -1 on a bad value. */
static int parse_memory(int c, struct vigil_capture_req *r)
{
	long long v;

	switch (c) {
	case 'Y': r->memory = &mem_opts; return 1;
	case 'K': mem_opts.kcore_path = optarg; return 1;
	case 'I': mem_opts.iomem_path = optarg; return 1;
	case 'L': mem_opts.lockdown_path = optarg; return 1;
	case 'R': mem_opts.modules_root = optarg; return 1;
	case 'D': mem_opts.module = optarg; return 1;
	case 'P':
		if (strcmp(optarg, "tcp") && strcmp(optarg, "file")) {
			fprintf(stderr, "vigil capture: --lime-mode tcp or file\n");
			return -1;
		}
		/* non-NULL: file mode; capture_mem.c makes the spool's path */
		mem_opts.lime_file = strcmp(optarg, "file") ? NULL : "";
		return 1;
	case 'T': mem_opts.timeout_ms = atoi(optarg) > 0 ? atoi(optarg) * 1000 : 1000; return 1;
	case 'W':
		if ((mem_opts.method = vigil_memdump_method_parse(optarg)) < 0) {
			fprintf(stderr, "vigil capture: --method auto, lime or kcore\n");
			return -1;
		}
		return 1;
	case 'X':
		if ((v = parse_size(optarg)) <= 0) {
			fprintf(stderr, "vigil capture: bad size '%s'\n", optarg);
			return -1;
		}
		mem_opts.max_bytes = (uint64_t)v;
		return 1;
	}
	return 0;
}

static int parse_capture(int argc, char **argv, struct vigil_capture_req *r, const char **containers, size_t *n)
{
	static const struct option opts[] = {
		{ "container", required_argument, NULL, 'c' }, { "all-containers", no_argument, NULL, 'A' },
		{ "engine", no_argument, NULL, 'E' },          { "host", no_argument, NULL, 'H' },
		{ "case", required_argument, NULL, 'k' },      { "examiner", required_argument, NULL, 'x' },
		{ "note", required_argument, NULL, 'N' },      { "output", required_argument, NULL, 'o' },
		{ "max-file-size", required_argument, NULL, 'm' }, { "min-free", required_argument, NULL, 'f' },
		{ "compress", required_argument, NULL, 'z' },  { "freeze", no_argument, NULL, 'F' },
		{ "engine-binaries", no_argument, NULL, 'B' }, { "data-root", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },   { "help", no_argument, NULL, 'h' },
		{ "merged", no_argument, NULL, 'M' },
		{ "memory", no_argument, NULL, 'Y' },         { "method", required_argument, NULL, 'W' },
		{ "max-bytes", required_argument, NULL, 'X' }, { "module", required_argument, NULL, 'D' },
		{ "mem-timeout", required_argument, NULL, 'T' }, { "kcore", required_argument, NULL, 'K' },
		{ "iomem", required_argument, NULL, 'I' },    { "lockdown", required_argument, NULL, 'L' },
		{ "modules-root", required_argument, NULL, 'R' }, { "lime-mode", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	long long v;
	int c;

	while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
		if ((v = parse_memory(c, r)) < 0)
			return -1;
		if (v)
			continue;
		switch (c) {
		case 'c': containers[(*n)++] = optarg; break;
		case 'A': r->all_containers = 1; break;
		case 'E': r->engine = 1; break;
		case 'H': r->host = 1; break;
		case 'k': r->ev.case_id = optarg; break;
		case 'x': r->ev.examiner = optarg; break;
		case 'N': r->ev.note = optarg; break;
		case 'o': r->ev.out_dir = optarg; break;
		case 'F': r->freeze = 1; break;
		case 'M': r->merged = 1; break;
		case 'B': r->engine_binaries = 1; break;
		case 'd': r->data_root = optarg; break;
		case 't': r->threads = atoi(optarg); break;
		case 'm':
		case 'f':
			if ((v = parse_size(optarg)) < 0) {
				fprintf(stderr, "vigil capture: bad size '%s'\n", optarg);
				return -1;
			}
			*(c == 'm' ? &r->ev.max_file_size : &r->ev.min_free) = (uint64_t)v;
			break;
		case 'z':
			if (!strcmp(optarg, "zstd")) r->ev.compress = VIGIL_EVW_ZSTD;
			else if (!strcmp(optarg, "gzip")) r->ev.compress = VIGIL_EVW_GZIP;
			else if (!strcmp(optarg, "none")) r->ev.compress = VIGIL_EVW_NONE;
			else {
				fprintf(stderr, "vigil capture: --compress zstd, gzip or none\n");
				return -1;
			}
			break;
		case 'h': fputs(capture_usage, stdout); return 1;
		default: fputs(capture_usage, stderr); return -1;
		}
	}
	if (optind < argc || (!*n && !r->all_containers && !r->engine && !r->host && !r->memory)) {
		fputs(capture_usage, stderr);
		return -1;
	}
	if (mem_opts.lime_file && mem_opts.method == VIGIL_MEMDUMP_KCORE) {
		fprintf(stderr, "vigil capture: --lime-mode is LiME's: not with --method kcore\n");
		return -1;
	}
	if (mem_opts.max_bytes && mem_opts.method != VIGIL_MEMDUMP_KCORE) {
		fprintf(stderr, "vigil capture: --max-bytes bounds a kcore dump only: add --method kcore\n");
		return -1;
	}
	return 0;
}

int vigil_cmd_capture(struct vigil_cli *cli, int argc, char **argv)
{
	struct vigil_capture_req r = { 0 };
	struct vigil_evw_result res;
	struct vigil_err err = { "" };
	struct sigaction sa = { .sa_handler = on_signal };
	const char **containers = calloc((size_t)argc + 1, sizeof(char *));
	char outdir[PATH_MAX], *trig = trigger_json(argc, argv);
	size_t n = 0;
	int rc;

	if (!containers || !trig) {
		free(containers);
		free(trig);
		return VIGIL_EXIT_FAIL;
	}
	r.ev.state_dir = vigil_cli_state_dir(cli);
	r.ev.root = cli->root;
	r.ev.min_free = 64u << 20;
	r.ev.cancel = &stop;
	r.ev.trigger_json = trig;
	rc = parse_capture(argc, argv, &r, containers, &n);
	if (rc) {
		rc = rc > 0 ? VIGIL_EXIT_OK : VIGIL_EXIT_USAGE;
		goto out;
	}
	if (!r.ev.out_dir) {
		snprintf(outdir, sizeof(outdir), "%s/evidence", r.ev.state_dir);
		r.ev.out_dir = outdir;
	}
	r.containers = containers;
	r.n_containers = n;
	/* no SA_RESTART: a blocked read returns and the capture stops, thaws, cleans up */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	rc = vigil_capture_run(&r, &res, &err);
	if (rc) {
		vigil_log_err("capture: %s", err.msg);
		rc = rc == -ENOENT && !stop ? VIGIL_EXIT_USAGE : VIGIL_EXIT_FAIL;
		goto out;
	}
	printf("%s\nsha256 %s\nseal %s\nmembers %llu, entries %llu, with notes %llu, %llu bytes\n", res.path,
	       res.sha256, res.seal, (unsigned long long)res.members, (unsigned long long)res.entries,
	       (unsigned long long)res.problems, (unsigned long long)res.bytes);
	rc = VIGIL_EXIT_OK;
out:
	free(containers);
	free(trig);
	return rc;
}

/* A `verified` record in this host's ledger, when there is one we may write:
 * verifying someone else's archive elsewhere needs no state dir. */
static void record_verified(const char *state_dir, const char *file, const char *sha256)
{
	struct vigil_err err = { "" };
	char ledger[PATH_MAX], *fields;
	json_t *o;

	snprintf(ledger, sizeof(ledger), "%s/%s", state_dir, VIGIL_CUSTODY_FILE);
	if (access(ledger, W_OK))
		return;
	o = json_pack("{s:s,s:s,s:s}", "action", "verified", "archive", file, "sha256", sha256);
	fields = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (fields && vigil_custody_append(state_dir, fields, NULL, &err))
		vigil_log_warn("verified, but not recorded in the ledger: %s", err.msg);
	free(fields);
}

int vigil_cmd_verify(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pubkey", required_argument, NULL, 'p' }, { "ledger", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	static const char usage[] = "usage: vigil verify [-p PUBKEY] ARCHIVE | vigil verify --ledger\n";
	const char *sd = vigil_cli_state_dir(cli), *pub = NULL;
	struct vigil_evverify v;
	struct vigil_err err = { "" };
	char pubbuf[PATH_MAX];
	uint64_t n = 0;
	int c, ledger = 0, rc;

	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pub = optarg; break;
		case 'l': ledger = 1; break;
		case 'h': fputs(usage, stdout); return VIGIL_EXIT_OK;
		default: fputs(usage, stderr); return VIGIL_EXIT_USAGE;
		}
	}
	if (ledger ? optind != argc : optind + 1 != argc) {
		fputs(usage, stderr);
		return VIGIL_EXIT_USAGE;
	}
	if (ledger) {
		rc = vigil_custody_verify(sd, &n, &err);
		if (rc < 0) {
			vigil_log_err("%s", err.msg);
			return VIGIL_EXIT_FAIL;
		}
		if (rc) {
			printf("NOT VERIFIED: %s\n", err.msg);
			return VIGIL_EXIT_DIFF;
		}
		printf("ledger verified: %llu records chained\n", (unsigned long long)n);
		/* the chain is sound; captures started and never finished are said too */
		if (!vigil_custody_interrupted(sd, &n, &err) && n)
			printf("%llu capture%s interrupted: no seal or failure recorded (see `vigil cases`)\n",
			       (unsigned long long)n, n == 1 ? "" : "s");
		return VIGIL_EXIT_OK;
	}
	if (!pub) {
		snprintf(pubbuf, sizeof(pubbuf), "%s/%s", sd, VIGIL_PUBKEY_FILE);
		pub = pubbuf;
	}
	rc = vigil_evidence_verify(argv[optind], pub, &v, &err);
	if (rc < 0) {
		vigil_log_err("verify: %s", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	if (rc) {
		printf("NOT VERIFIED: %s: %s\n", argv[optind], v.fault);
		return VIGIL_EXIT_DIFF;
	}
	printf("verified: %s: %llu members match the manifest, seal and custody chain intact, "
	       "signed with key %s\n", argv[optind], (unsigned long long)v.members, v.key_id);
	record_verified(sd, argv[optind], v.sha256);
	return VIGIL_EXIT_OK;
}

/* `cases --close SEQ --why TEXT` */
static int close_case(const char *sd, const char *seq, const char *why)
{
	struct vigil_err err = { "" };
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(seq, &end, 10);
	if (errno || end == seq || *end || !why[0]) {
		vigil_log_err("cases --close: '%s' is not a capture's acquired_seq, or --why is empty", seq);
		return VIGIL_EXIT_USAGE;
	}
	if (vigil_evw_close(sd, n, why, &err)) {
		vigil_log_err("cases --close: %s", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	printf("closed: capture %llu: failed, closed by hand: %s\n", n, why);
	return VIGIL_EXIT_OK;
}

int vigil_cmd_cases(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "sweep", no_argument, NULL, 's' },
		{ "close", required_argument, NULL, 'c' }, { "why", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	static const char usage[] = "usage: vigil cases [--sweep] [--json] | vigil cases --close SEQ --why TEXT\n";
	const char *close_seq = NULL, *why = NULL;
	const char *sd = vigil_cli_state_dir(cli);
	struct vigil_evw_sweep_counts n;
	struct vigil_err err = { "" };
	char dir[PATH_MAX];
	int c, json = 0, sweep = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 's': sweep = 1; break;
		case 'c': close_seq = optarg; break;
		case 'w': why = optarg; break;
		case 'h': fputs(usage, stdout); return VIGIL_EXIT_OK;
		default: fputs(usage, stderr); return VIGIL_EXIT_USAGE;
		}
	}
	if (optind != argc || !close_seq != !why || (close_seq && (sweep || json))) {
		fputs(usage, stderr);
		return VIGIL_EXIT_USAGE;
	}
	if (close_seq)
		return close_case(sd, close_seq, why);
	/* first the sweep: the default evidence dir and every dir the ledger's
	 * open captures name; archives renamed but not recorded are checked.
	 * Each outcome is logged (stderr); the list is stdout's. */
	snprintf(dir, sizeof(dir), "%s/evidence", sd);
	if (sweep && vigil_evw_sweep_ledger(sd, dir, VIGIL_EVW_SWEEP_ARCHIVES, NULL, NULL, &n, &err)) {
		vigil_log_err("sweep: %s", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	if (sweep && vigil_log_get_level() >= VIGIL_LOG_WARNING)
		fprintf(stderr, "sweep: %u dir%s swept, %u temporary archive%s removed, %u archive%s recorded, "
			"%u capture%s failed, %u left open\n", n.dirs, n.dirs == 1 ? "" : "s", n.removed,
			n.removed == 1 ? "" : "s", n.archived, n.archived == 1 ? "" : "s", n.failed,
			n.failed == 1 ? "" : "s", n.skipped);
	if (vigil_custody_cases(sd, stdout, json, &err)) {
		vigil_log_err("%s", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	return VIGIL_EXIT_OK;
}
