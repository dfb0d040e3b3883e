/* cmd_cis.c - `vigil cis`: the CIS Docker Benchmark v1.6.0 (sections 1-5)
 * judged from files; the judging is agent/compliance/.
 *
 *   vigil cis [--json] [--junit FILE] [--html FILE] [--dockerd-pid PID] [--all]
 *
 * Exit codes: 0 every check passes (or is info / not applicable), 1 a check
 * fails or could not be judged (an `error` result: a daemon.json dockerd
 * refuses, a container's files missing), 2 usage, 3 the run failed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/cli.h"
#include "vigil/compliance.h"

static const char usage[] = "usage: vigil cis [--json] [--junit FILE] [--html FILE] [--dockerd-pid PID] [--all]";

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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vigil_cis_opts o = { .root = cli->root };
	struct vigil_cis_report *r = NULL;
	struct vigil_err err = { "" };
	const char *junit = NULL, *html = NULL;
	int ch, json = 0, all = cli->verbose, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "ju:H:p:ah", lo, NULL)) != -1) {
		switch (ch) {
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
	rc = json ? vigil_cis_write_json(r, stdout) : vigil_cis_write_text(r, stdout, all);
	if (!rc && junit && (rc = write_file(junit, r, vigil_cis_write_junit)))
		vigil_log_err("cis: '%s': %s", junit, strerror(-rc));
	if (!rc && html && (rc = write_file(html, r, vigil_cis_write_html)))
		vigil_log_err("cis: '%s': %s", html, strerror(-rc));
	if (fflush(stdout) && !rc)
		rc = -EIO;
	if (!rc)
		rc = r->counts[VIGIL_CIS_FAIL] || r->counts[VIGIL_CIS_ERROR] ? VIGIL_EXIT_DIFF : VIGIL_EXIT_OK;
	else
		rc = VIGIL_EXIT_FAIL;
	vigil_cis_report_free(r);
	return rc;
}
