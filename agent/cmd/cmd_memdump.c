/* cmd_memdump.c - `vigil memdump --method lime|kcore|auto -o FILE`: parse
 * options, run the acquisition into FILE (written as FILE.part, linked to
 * FILE only when complete and valid), write FILE.sha256 (sha256sum's format)
 * and FILE.json (the record: method, why the other did not run, kernel,
 * boot id, ranges, gaps).  Everything else is collectors/memory/memdump.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "vigil/cli.h"
#include "vigil/err.h"
#include "vigil/memdump.h"
#include "vigil/procs.h"
#include "vigil/statedir.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: vigil memdump [--method auto|lime|kcore] -o FILE [--max-bytes N[K|M|G]]\n"
		   "                     [--module LIME.ko] [--lime-mode tcp|file] [--timeout SECONDS]\n"
		   "                     [--json] [--no-procs] [--data-root DIR]\n"
		   "writes FILE (LiME format), FILE.sha256 and FILE.json (method, why the other did not\n"
		   "run, kernel, boot id, ranges, gaps), and FILE.procs.json (`vigil procs --verify`'s\n"
		   "report) unless --no-procs; --max-bytes bounds a kcore dump (tests).\n"
		   "--lime-mode file: LiME writes FILE itself (path=FILE) and vigil reads it back\n"
		   "(default tcp: LiME streams to vigil over 127.0.0.1)\n"
		   "for tests: --kcore FILE --iomem FILE --lockdown FILE --modules-root DIR\n"
		   "       vigil memdump --validate FILE [--iomem FILE [--max-bytes N]]\n"
		   "checks a LiME file (headers, order, truncation; the ranges against iomem's System RAM\n"
		   "when --iomem is given) and lists its zero-page runs\n");
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	switch (*end) {
	case 'K': v <<= 10; end++; break;
	case 'M': v <<= 20; end++; break;
	case 'G': v <<= 30; end++; break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int write_side(const char *file, const char *suffix, const char *text, struct vigil_err *err)
{
	char p[4096];

	if ((size_t)snprintf(p, sizeof(p), "%s%s", file, suffix) >= sizeof(p))
		return vigil_err_set(err, -ENAMETOOLONG, "%s%s: name too long", file, suffix);
	return vigil_statedir_replace(p, text, strlen(text), 0600, err);
}

/* FILE.procs.json: `vigil procs --verify`'s report, after the dump (reading
 * other processes' code faults pages in); its failure does not fail the dump. */
static void procs_sidecar(const char *file, const char *data_root)
{
	struct vigil_procs_opts po = { .verify = 1, .data_root = data_root };
	struct vigil_err e = { "" };
	json_t *rep = NULL;
	char *text = NULL;

	if (!vigil_procs_run(&po, &rep, &e)) {
		text = json_dumps(rep, JSON_INDENT(1));
		json_decref(rep);
		if (!text || write_side(file, ".procs.json", text, &e))
			vigil_log_warn("memdump: %s.procs.json not written: %s", file, text ? e.msg : "out of memory");
		free(text);
		return;
	}
	vigil_log_warn("memdump: process integrity not recorded: %s", e.msg);
}

/* FILE.sha256 and FILE.json; the dump itself is already in place. */
static int write_sidecars(const char *file, const struct vigil_memdump_result *res, int with_sum, int print,
			  struct vigil_err *err)
{
	json_t *j = vigil_memdump_result_json(res);
	char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL, sum[4200];
	const char *base = strrchr(file, '/');
	int rc;

	json_decref(j);
	if (!text)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	snprintf(sum, sizeof(sum), "%s  %s\n", res->sha256, base ? base + 1 : file);
	rc = with_sum ? write_side(file, ".sha256", sum, err) : 0;
	if (!rc) {
		size_t l = strlen(text);

		text[l] = '\0';
		rc = write_side(file, ".json", text, err);
	}
	if (print)
		printf("%s\n", text);
	free(text);
	return rc;
}

/* --validate FILE: the validator over a written file. */
static int validate(const char *file, const char *iomem, uint64_t max_bytes)
{
	struct vigil_lime_check *c = vigil_lime_check_new();
	struct vigil_lime_range *ram = NULL;
	struct vigil_err err = { "" };
	size_t n = 0;
	int rc = 0;

	if (!c)
		return VIGIL_EXIT_FAIL;
	if (iomem && !(rc = vigil_iomem_read(iomem, &ram, &n, &err))) {
		vigil_iomem_limit(ram, &n, max_bytes);
		rc = vigil_lime_check_expect(c, ram, n);
	}
	if (!rc)
		rc = vigil_lime_check_file(file, c, &err);
	if (rc) {
		vigil_log_err("%s: %s", file, err.msg);
	} else {
		printf("%s: valid, %zu ranges, %llu bytes, %llu zero-page runs (%llu bytes)\n", file,
		       vigil_lime_check_n_ranges(c), (unsigned long long)vigil_lime_check_bytes(c),
		       (unsigned long long)vigil_lime_check_n_gaps(c),
		       (unsigned long long)vigil_lime_check_zero_bytes(c));
		for (size_t i = 0; i < vigil_lime_check_n_ranges(c); i++)
			printf("range 0x%llx-0x%llx\n", (unsigned long long)vigil_lime_check_ranges(c)[i].start,
			       (unsigned long long)vigil_lime_check_ranges(c)[i].end);
		for (size_t i = 0; i < vigil_lime_check_gaps_listed(c); i++)
			printf("gap 0x%llx-0x%llx\n", (unsigned long long)vigil_lime_check_gaps(c)[i].start,
			       (unsigned long long)vigil_lime_check_gaps(c)[i].end);
	}
	free(ram);
	vigil_lime_check_free(c);
	return rc == -EINVAL ? VIGIL_EXIT_TAMPERED : rc ? VIGIL_EXIT_FAIL : VIGIL_EXIT_OK;
}

/* The dump into FILE.part, linked to FILE when complete and valid, then the
 * sidecars (FILE.json even when the dump failed: it says why). */
static int acquire(const char *file, struct vigil_memdump_opts *o, int json, int procs, const char *data_root)
{
	struct vigil_memdump_result res;
	struct vigil_err err = { "" }, serr = { "" };
	char part[4096], cwd[4096] = "";
	int fd, rc;

	/* LiME's file mode: the module opens the path itself, so it is absolute */
	if (o->lime_file && file[0] != '/' && !getcwd(cwd, sizeof(cwd) - 1)) {
		vigil_log_err("getcwd: %s", strerror(errno));
		return VIGIL_EXIT_FAIL;
	}
	if ((size_t)snprintf(part, sizeof(part), "%s%s%s.part", cwd, cwd[0] ? "/" : "", file) >= sizeof(part)) {
		vigil_log_err("'%s': name too long", file);
		return VIGIL_EXIT_USAGE;
	}
	if (o->lime_file)
		o->lime_file = part;
	/* never over an existing dump: FILE appears only when complete */
	if (!access(file, F_OK)) {
		vigil_log_err("'%s' exists: not overwritten", file);
		return VIGIL_EXIT_USAGE;
	}
	fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		vigil_log_err("create '%s': %s", part, strerror(errno));
		return VIGIL_EXIT_FAIL;
	}
	rc = vigil_memdump_run(o, vigil_lime_sink_fd, &fd, &res, &err);
	if (!rc && fsync(fd))
		rc = vigil_err_set(&err, -errno, "fsync '%s': %s", part, strerror(errno));
	close(fd);
	if (!rc && link(part, file))
		rc = vigil_err_set(&err, -errno, "link '%s': %s", file, strerror(errno));
	unlink(part);
	if (!rc)
		vigil_statedir_sync_dir(file);
	if (write_sidecars(file, &res, rc == 0, json, &serr) && !rc)
		rc = vigil_err_set(&err, -EIO, "%s", serr.msg);
	if (!rc && procs)
		procs_sidecar(file, data_root);
	if (rc)
		vigil_log_err("memdump: %s", err.msg);
	else if (!json)
		printf("%s: %s, %llu bytes, %zu ranges, %llu zero-page runs, sha256 %s\n", file,
		       vigil_memdump_method_name(res.method), (unsigned long long)res.bytes, res.n_ranges,
		       (unsigned long long)res.n_gaps, res.sha256);
	vigil_memdump_result_free(&res);
	return rc == -EINVAL || rc == -EBADMSG ? VIGIL_EXIT_TAMPERED : rc ? VIGIL_EXIT_FAIL : VIGIL_EXIT_OK;
}

int vigil_cmd_memdump(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "method", required_argument, NULL, 'm' }, { "output", required_argument, NULL, 'o' },
		{ "max-bytes", required_argument, NULL, 'b' }, { "module", required_argument, NULL, 'M' },
		{ "timeout", required_argument, NULL, 't' }, { "json", no_argument, NULL, 'j' },
		{ "kcore", required_argument, NULL, 'K' }, { "iomem", required_argument, NULL, 'I' },
		{ "lockdown", required_argument, NULL, 'L' }, { "modules-root", required_argument, NULL, 'R' },
		{ "validate", required_argument, NULL, 'V' },
		{ "no-procs", no_argument, NULL, 'P' }, { "data-root", required_argument, NULL, 'd' },
		{ "lime-mode", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct vigil_memdump_opts o = { .timeout_ms = 600 * 1000 };
	const char *file = NULL, *check = NULL, *data_root = NULL;
	int c, json = 0, procs = 1;

	(void)cli;
	while ((c = getopt_long(argc, argv, "m:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o.method = vigil_memdump_method_parse(optarg);
			if (o.method < 0) {
				vigil_log_err("--method: '%s' is not auto, lime or kcore", optarg);
				return VIGIL_EXIT_USAGE;
			}
			break;
		case 'o': file = optarg; break;
		case 'b':
			if (parse_size(optarg, &o.max_bytes)) {
				vigil_log_err("--max-bytes: '%s' is not a size", optarg);
				return VIGIL_EXIT_USAGE;
			}
			break;
		case 'M': o.module = optarg; break;
		case 't': o.timeout_ms = atoi(optarg) > 0 ? atoi(optarg) * 1000 : 1000; break;
		case 'j': json = 1; break;
		case 'K': o.kcore_path = optarg; break;
		case 'I': o.iomem_path = optarg; break;
		case 'L': o.lockdown_path = optarg; break;
		case 'R': o.modules_root = optarg; break;
		case 'V': check = optarg; break;
		case 'P': procs = 0; break;
		case 'F':
			if (strcmp(optarg, "tcp") && strcmp(optarg, "file")) {
				vigil_log_err("--lime-mode: '%s' is not tcp or file", optarg);
				return VIGIL_EXIT_USAGE;
			}
			o.lime_file = strcmp(optarg, "file") ? NULL : "";
			break;
		case 'd': data_root = optarg; break;
		case 'h': usage(stdout); return VIGIL_EXIT_OK;
		default: usage(stderr); return VIGIL_EXIT_USAGE;
		}
	}
	if (check && !file && optind == argc)
		return validate(check, o.iomem_path, o.max_bytes);
	if (!file || check || optind != argc) {
		usage(stderr);
		return VIGIL_EXIT_USAGE;
	}
	return acquire(file, &o, json, procs, data_root);
}
