/* cmd_procs.c - `vigil procs [--container ID|NAME] [--json] [--verify]`:
 * options, then the report of collectors/host/procs.c as JSON or as text
 * (one line per process, then one per finding and per note).
 * Exit: 0 no findings, 1 findings, 2 usage, 3 failure. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vigil/cli.h"
#include "vigil/err.h"
#include "vigil/procs.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: vigil procs [--container ID|NAME] [--data-root DIR] [--json] [--verify] [--no-baseline]\n"
		   "lists processes (pid, ppid, uid, comm, exe, container); --verify compares the code\n"
		   "each one runs with its files and reports modified code pages, code of deleted files,\n"
		   "memfds or anonymous memory, deleted executables, and executables whose hash is not the\n"
		   "baseline's (unless --no-baseline).  Exit: 0 no findings, 1 findings, 2 usage, 3 failure\n");
}

static const char *s(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "-";
}

static void print_text(json_t *r, int verify)
{
	json_t *v, *sum = json_object_get(r, "summary");
	size_t i;

	printf("%7s %7s %6s %-16s %-14s %s\n", "PID", "PPID", "UID", "COMM", "CONTAINER", "EXE");
	json_array_foreach (json_object_get(r, "processes"), i, v) {
		const char *cname = s(v, "container_name"), *cid = s(v, "container_id");

		printf("%7lld %7lld %6lld %-16s %-14.14s %s\n", json_integer_value(json_object_get(v, "pid")),
		       json_integer_value(json_object_get(v, "ppid")), json_integer_value(json_object_get(v, "uid")),
		       s(v, "comm"), strcmp(cname, "-") ? cname : cid, s(v, "exe"));
	}
	if (!verify)
		return;
	json_array_foreach (json_object_get(r, "findings"), i, v)
		printf("%s %s pid %lld (%s): %s\n", s(v, "severity"), s(v, "action"),
		       json_integer_value(json_object_get(v, "pid")), s(v, "comm"), s(v, "detail"));
	json_array_foreach (json_object_get(r, "notes"), i, v) {
		if (json_object_get(v, "pid"))
			printf("note: pid %lld (%s): %s\n", json_integer_value(json_object_get(v, "pid")), s(v, "comm"),
			       s(v, "note"));
		else
			printf("note: %s\n", s(v, "note"));
	}
	printf("%lld processes, %lld verified, %lld mappings and %lld pages compared, %lld findings\n",
	       json_integer_value(json_object_get(sum, "processes")),
	       json_integer_value(json_object_get(sum, "processes_verified")),
	       json_integer_value(json_object_get(sum, "mappings_compared")),
	       json_integer_value(json_object_get(sum, "pages_compared")),
	       json_integer_value(json_object_get(sum, "findings")));
}

int vigil_cmd_procs(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "container", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "verify", no_argument, NULL, 'v' },
		{ "no-baseline", no_argument, NULL, 'B' },
		{ "data-root", required_argument, NULL, 'd' },
		{ "proc", required_argument, NULL, 'P' }, /* tests */
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vigil_procs_opts o = { 0 };
	struct vigil_err err = { "" };
	json_t *r = NULL;
	int c, json = 0, no_base = 0, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:jvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o.container = optarg; break;
		case 'j': json = 1; break;
		case 'v': o.verify = 1; break;
		case 'B': no_base = 1; break;
		case 'd': o.data_root = optarg; break;
		case 'P': o.proc = optarg; break;
		case 'h': usage(stdout); return VIGIL_EXIT_OK;
		default: usage(stderr); return VIGIL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return VIGIL_EXIT_USAGE;
	}
	if (cli->root) {
		fprintf(stderr, "vigil procs: the running host only (not --root)\n");
		return VIGIL_EXIT_USAGE;
	}
	if (!no_base)
		o.state_dir = vigil_cli_state_dir(cli);
	rc = vigil_procs_run(&o, &r, &err);
	if (rc) {
		fprintf(stderr, "vigil procs: %s\n", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	if (json) {
		char *text = json_dumps(r, JSON_INDENT(1));

		if (!text) {
			json_decref(r);
			return VIGIL_EXIT_FAIL;
		}
		puts(text);
		free(text);
	} else {
		print_text(r, o.verify);
	}
	rc = json_array_size(json_object_get(r, "findings")) ? VIGIL_EXIT_DIFF : VIGIL_EXIT_OK;
	json_decref(r);
	if (fflush(stdout))
		return VIGIL_EXIT_FAIL;
	return rc;
}
