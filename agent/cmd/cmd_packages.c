/* cmd_packages.c - `vigil packages verify [PACKAGE...]`: parse, call
 * vigil_dpkg_verify() (collectors/packages/), print. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "vigil/cli.h"
#include "vigil/dpkg.h"
#include "vigil/event.h"
#include "vigil/rootfs.h"

struct popts {
	int json, changed_only, all, threads;
	const char *root;
};

static const char usage[] = "packages verify [--json] [--changed] [--all] [--threads N] [PACKAGE...]";

static const char *action_of(const struct vigil_dpkg_result *r, int *sev)
{
	switch (r->verdict) {
	case VIGIL_DPKG_CHANGED:
		*sev = r->sum->conffile ? VIGIL_SEV_MEDIUM : VIGIL_SEV_CRITICAL;
		return r->sum->conffile ? VIGIL_ACTION_CONFFILE_MODIFIED : VIGIL_ACTION_PKG_TAMPERED;
	case VIGIL_DPKG_SHARED:
		*sev = VIGIL_SEV_HIGH;
		return VIGIL_ACTION_PKG_SHARED;
	case VIGIL_DPKG_MISSING:
		*sev = VIGIL_SEV_HIGH;
		return VIGIL_ACTION_PKG_MISSING;
	case VIGIL_DPKG_NOT_REGULAR:
	case VIGIL_DPKG_UNREADABLE:
		*sev = VIGIL_SEV_MEDIUM;
		return VIGIL_ACTION_PKG_UNVERIFIABLE;
	default:
		*sev = 0;
		return "package-file-ok";
	}
}

static void print_json(const struct vigil_dpkg_result *r)
{
	struct vigil_record cur;
	struct vigil_event ev = { .kind = "alert", .source = "packages" };
	char want[33], *extra, *line;
	json_t *x;

	vigil_record_init(&cur);
	cur.path = (char *)r->real_path;
	cur.path_len = strlen(r->real_path);
	cur.ftype = r->verdict == VIGIL_DPKG_MISSING ? VIGIL_FT_NONE : VIGIL_FT_REG;
	if (r->verdict == VIGIL_DPKG_OK || r->verdict == VIGIL_DPKG_CHANGED || r->verdict == VIGIL_DPKG_SHARED ||
	    r->verdict == VIGIL_DPKG_REPLACED) {
		cur.algos = VIGIL_ALGO_BIT(VIGIL_ALGO_MD5);
		memcpy(cur.digest[VIGIL_ALGO_MD5], r->md5, 16);
	}
	vigil_hex(r->sum->md5, 16, want);
	x = json_pack("{s:{s:s,s:s?,s:s?,s:s},s:s,s:s,s:b,s:s}", "package", "name", r->pkg->name, "version",
		      r->pkg->version, "architecture", r->pkg->arch, "id", r->pkg->id, "dpkg_path", r->sum->path,
		      "expected_md5", want, "conffile", r->sum->conffile, "verdict", vigil_dpkg_verdict_name(r->verdict));
	extra = x ? json_dumps(x, JSON_COMPACT) : NULL;
	json_decref(x);
	ev.action = action_of(r, &ev.severity);
	ev.cur = r->verdict == VIGIL_DPKG_MISSING ? NULL : &cur;
	ev.extra_json = extra;
	ev.message = vigil_dpkg_verdict_name(r->verdict);
	line = vigil_event_json(&ev, NULL);
	if (line)
		printf("%s\n", line);
	free(line);
	free(extra);
}

static int on_result(void *arg, const struct vigil_dpkg_result *r)
{
	const struct popts *o = arg;
	char *p;

	if (o->json) {
		print_json(r);
		return 0;
	}
	p = vigil_path_escape(r->real_path, strlen(r->real_path));
	if (!p)
		return -ENOMEM;
	if (o->changed_only) {
		/* debsums -c: changed files on stdout, the rest on stderr */
		if (r->verdict == VIGIL_DPKG_CHANGED)
			printf("%s\n", p);
		else if (r->verdict == VIGIL_DPKG_MISSING)
			fprintf(stderr, "vigil: missing file %s (from %s package)\n", p, r->pkg->id);
		else if (r->verdict != VIGIL_DPKG_OK && r->verdict != VIGIL_DPKG_REPLACED)
			fprintf(stderr, "vigil: %s file %s (from %s package)\n", vigil_dpkg_verdict_name(r->verdict), p,
				r->pkg->id);
	} else {
		printf("%-11s %s  (%s %s%s)\n", vigil_dpkg_verdict_name(r->verdict), p, r->pkg->id,
		       r->pkg->version ? r->pkg->version : "?", r->sum->conffile ? ", conffile" : "");
	}
	free(p);
	return 0;
}

static int parse(int argc, char **argv, struct popts *o)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "changed", no_argument, NULL, 'c' },
		{ "all", no_argument, NULL, 'a' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "jcat:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'j': o->json = 1; break;
		case 'c': o->changed_only = 1; break;
		case 'a': o->all = 1; break;
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v < 1 || v > 64) {
				vigil_log_err("packages: --threads '%s': expected 1 to 64", optarg);
				return -1;
			}
			o->threads = (int)v;
			break;
		}
		case 'h':
			printf("usage: vigil [--root DIR] %s\n", usage);
			return 1;
		default:
			fprintf(stderr, "usage: vigil [--root DIR] %s\n", usage);
			return -1;
		}
	}
	return 0;
}

static void summary(const struct vigil_cli *cli, const struct popts *o, const struct vigil_dpkg_verify_stats *st)
{
	if (o->json) {
		char *line;
		json_t *x = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "packages", (json_int_t)st->packages, "files",
				      (json_int_t)st->files, "changed", (json_int_t)st->n[VIGIL_DPKG_CHANGED], "shared_changed",
				      (json_int_t)st->n[VIGIL_DPKG_SHARED], "replaced", (json_int_t)st->n[VIGIL_DPKG_REPLACED],
				      "missing", (json_int_t)st->n[VIGIL_DPKG_MISSING], "not_regular",
				      (json_int_t)st->n[VIGIL_DPKG_NOT_REGULAR], "unreadable",
				      (json_int_t)st->n[VIGIL_DPKG_UNREADABLE]);
		char *extra = x ? json_dumps(x, JSON_COMPACT) : NULL;
		struct vigil_event ev = { .action = VIGIL_ACTION_PKG_SUMMARY, .kind = "event", .source = "packages",
					  .extra_json = extra };

		json_decref(x);
		line = vigil_event_json(&ev, NULL);
		if (line)
			printf("%s\n", line);
		free(line);
		free(extra);
		return;
	}
	if (!cli->quiet)
		fprintf(stderr,
			"packages: %" PRIu64 " packages, %" PRIu64 " files: %" PRIu64 " changed, %" PRIu64
			" changed but shared, %" PRIu64 " missing, %" PRIu64 " not regular, %" PRIu64 " unreadable\n",
			st->packages, st->files, st->n[VIGIL_DPKG_CHANGED], st->n[VIGIL_DPKG_SHARED],
			st->n[VIGIL_DPKG_MISSING], st->n[VIGIL_DPKG_NOT_REGULAR], st->n[VIGIL_DPKG_UNREADABLE]);
}

int vigil_cmd_packages(struct vigil_cli *cli, int argc, char **argv)
{
	struct popts o = { 0 };
	struct vigil_dpkg_verify_stats st;
	struct vigil_dpkg_verify_opts vo = { 0 };
	struct vigil_err err = { "" };
	struct vigil_dpkg *db = NULL;
	const char *warn;
	int rootfd, confined, rc;
	uint64_t bad;

	if (argc < 2 || strcmp(argv[1], "verify")) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			printf("usage: vigil [--root DIR] %s\n", usage);
			return VIGIL_EXIT_OK;
		}
		fprintf(stderr, "usage: vigil [--root DIR] %s\n", usage);
		return VIGIL_EXIT_USAGE;
	}
	rc = parse(argc - 1, argv + 1, &o);
	if (rc)
		return rc > 0 ? VIGIL_EXIT_OK : VIGIL_EXIT_USAGE;
	rootfd = vigil_rootfs_open_root(cli->root, &confined);
	if (rootfd < 0) {
		vigil_log_err("packages: cannot open root '%s': %s", cli->root ? cli->root : "/", strerror(-rootfd));
		return VIGIL_EXIT_FAIL;
	}
	rc = vigil_dpkg_open(rootfd, &db, &err);
	close(rootfd);
	if (rc) {
		vigil_log_err("packages: %s", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	warn = vigil_dpkg_warnings(db);
	if (warn)
		fprintf(stderr, "%s", warn); /* one line each, file and line named */
	vo.root = cli->root;
	vo.db = db;
	vo.pkgs = (const char *const *)argv + 1 + optind;
	vo.n_pkgs = (size_t)(argc - 1 - optind);
	vo.threads = o.threads;
	vo.all = o.all;
	vo.cb = on_result;
	vo.arg = &o;
	rc = vigil_dpkg_verify(&vo, &st, &err);
	if (rc) {
		vigil_log_err("packages: %s", err.msg[0] ? err.msg : strerror(-rc));
		vigil_dpkg_free(db);
		return rc == -ENOENT ? VIGIL_EXIT_USAGE : VIGIL_EXIT_FAIL;
	}
	summary(cli, &o, &st);
	vigil_dpkg_free(db);
	bad = st.files - st.n[VIGIL_DPKG_OK] - st.n[VIGIL_DPKG_REPLACED];
	return bad || warn ? VIGIL_EXIT_DIFF : VIGIL_EXIT_OK;
}
