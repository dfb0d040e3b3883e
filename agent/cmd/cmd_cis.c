/* cmd_cis.c - `vigil cis`: the CIS Docker Benchmark v1.6.0 (sections 1-5)
 * judged from files; the judging is agent/compliance/.
 *
 *   vigil cis [--json] [--junit FILE] [--html FILE] [--dockerd-pid PID] [--all]
 *
 * --record keeps the run in the baseline store: a new generation (kind
 * "compliance") holding a fresh baseline of the scopes and the results,
 * under one signed digest.  --html draws the trend of the stored runs.
 *
 * Exit codes: 0 every check passes (or is info / not applicable), 1 a check
 * fails or could not be judged (an `error` result: a daemon.json dockerd
 * refuses, a container's files missing), 2 usage, 3 the run failed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/cli.h"
#include "vigil/compliance.h"
#include "vigil/docker.h"
#include "vigil/run.h"
#include "vigil/store.h"

static const char usage[] =
	"usage: vigil cis [--json] [--junit FILE] [--html FILE] [--dockerd-pid PID] [--all] [--record]";

static int put_results(void *arg, struct vigil_store *st, struct vigil_err *err)
{
	return vigil_cis_store(arg, st, err);
}

static void say(void *arg, int level, const char *msg)
{
	(void)arg;
	vigil_log(level, "%s", msg);
}

/* A baseline and this run in one signed generation (kind "compliance"). */
static int record(struct vigil_cli *cli, struct vigil_cis_report *r)
{
	struct vigil_run_opts o = {
		.cfg = cli->cfg, .root = cli->root, .state_dir = vigil_cli_state_dir(cli), .kind = "compliance",
		.flags = VIGIL_RUN_CREATE_KEY, .say = say, .objects = put_results, .objects_arg = r,
	};
	struct vigil_docker_locator *loc = NULL;
	struct vigil_run_result res;
	struct vigil_err err = { "" };
	int rc;

	if (vigil_run_prepare(cli->cfg, cli->root, &loc, say, NULL)) {
		vigil_log_err("out of memory");
		return -ENOMEM;
	}
	o.loc = loc;
	rc = vigil_run_baseline(&o, &res, &err);
	vigil_docker_locator_free(loc);
	if (rc) {
		vigil_log_err("cis: recording the run: %s", err.msg);
		return rc;
	}
	if (!cli->quiet)
		fprintf(stderr, "compliance generation %" PRId64 ": %" PRIu64 " records, %zu CIS results, signed\n",
			res.gen.id, res.gen.n_records, r->n);
	return 0;
}

/* The runs stored so far (for the HTML trend); none when there is no store. */
static void load_history(struct vigil_cli *cli, struct vigil_cis_run **hist, size_t *n)
{
	struct vigil_store *st = NULL;
	struct vigil_generation gen;
	struct vigil_err err = { "" };

	*hist = NULL;
	*n = 0;
	if (vigil_run_open_verified(vigil_cli_state_dir(cli), VIGIL_STORE_RDONLY, &st, &gen, &err)) {
		vigil_log_debug("cis: no verified store for the trend: %s", err.msg);
		return;
	}
	if (vigil_cis_history(st, 60, hist, n, &err))
		vigil_log_warn("cis: stored runs: %s", err.msg);
	vigil_store_close(st);
}

/* What the HTML writer gets besides the report: the stored runs. */
static const struct vigil_cis_run *html_hist;
static size_t html_n;

static int write_html(const struct vigil_cis_report *r, FILE *f)
{
	return vigil_cis_write_html(r, html_hist, html_n, f);
}

/* A report file, replaced whole (readable: reports are for people). */
static int write_file(const char *path, const struct vigil_cis_report *r,
		      int (*fn)(const struct vigil_cis_report *, FILE *))
{
	char tmp[4096];
	FILE *f;
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		unlink(tmp);
		return rc;
	}
	rc = fn(r, f);
	if (fflush(f) || fsync(fileno(f)))
		rc = rc ? rc : -errno;
	if (fclose(f))
		rc = rc ? rc : -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int vigil_cmd_cis(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "junit", required_argument, NULL, 'u' },
		{ "html", required_argument, NULL, 'H' },
		{ "dockerd-pid", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "record", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vigil_cis_opts o = { .root = cli->root };
	struct vigil_cis_report *r = NULL;
	struct vigil_err err = { "" };
	const char *junit = NULL, *html = NULL;
	struct vigil_cis_run *hist = NULL;
	size_t n_hist = 0;
	int ch, json = 0, all = cli->verbose, rec = 0, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "ju:H:p:aRh", lo, NULL)) != -1) {
		switch (ch) {
		case 'R': rec = 1; break;
		case 'j': json = 1; break;
		case 'u': junit = optarg; break;
		case 'H': html = optarg; break;
		case 'a': all = 1; break;
		case 'p': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v <= 0 || v > 1 << 22) {
				vigil_log_err("cis: --dockerd-pid '%s' is not a pid", optarg);
				return VIGIL_EXIT_USAGE;
			}
			o.dockerd_pid = (pid_t)v;
			break;
		}
		case 'h': puts(usage); return VIGIL_EXIT_OK;
		default: fprintf(stderr, "%s\n", usage); return VIGIL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		vigil_log_err("cis: unexpected argument '%s'", argv[optind]);
		return VIGIL_EXIT_USAGE;
	}
	rc = vigil_cis_run(&o, &r, &err);
	if (rc) {
		vigil_log_err("cis: %s", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	rc = rec ? record(cli, r) : 0;
	if (!rc)
		rc = json ? vigil_cis_write_json(r, stdout) : vigil_cis_write_text(r, stdout, all);
	if (!rc && junit && (rc = write_file(junit, r, vigil_cis_write_junit)))
		vigil_log_err("cis: '%s': %s", junit, strerror(-rc));
	if (!rc && html) {
		load_history(cli, &hist, &n_hist);
		html_hist = hist;
		html_n = n_hist;
		if ((rc = write_file(html, r, write_html)))
			vigil_log_err("cis: '%s': %s", html, strerror(-rc));
		free(hist);
	}
	if (fflush(stdout) && !rc)
		rc = -EIO;
	if (!rc)
		rc = r->counts[VIGIL_CIS_FAIL] || r->counts[VIGIL_CIS_ERROR] ? VIGIL_EXIT_DIFF : VIGIL_EXIT_OK;
	else
		rc = VIGIL_EXIT_FAIL;
	vigil_cis_report_free(r);
	return rc;
}
