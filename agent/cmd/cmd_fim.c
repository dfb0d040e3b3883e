/* cmd_fim.c - the foundation commands: baseline, check, accept, show, keygen.
 * Options and printing only: what they compute is agent/core/run.c, which the
 * daemon calls too. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vigil/cli.h"
#include "vigil/config.h"
#include "vigil/docker.h"
#include "vigil/dpkg.h"
#include "vigil/event.h"
#include "vigil/record.h"
#include "vigil/run.h"
#include "vigil/sign.h"
#include "vigil/store.h"

/* --- progress on a terminal ------------------------------------------------ */

struct progress {
	int on;
	struct timespec start;
	int printed;
};

static double elapsed_s(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void human_bytes(double b, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (b >= 1024 && u < 4) {
		b /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f %s", b, unit[u]);
}

static void progress_cb(void *arg, const struct vigil_walk_stats *st, uint64_t planned)
{
	struct progress *p = arg;
	double t = elapsed_s(&p->start), rate = t > 0 ? (double)st->bytes / t : 0;
	char done[32], r[32], left[32] = "?";

	human_bytes((double)st->bytes, done, sizeof(done));
	human_bytes(rate, r, sizeof(r));
	/* planned counts bytes of files found so far; the walk runs ahead of the
	 * hashing, so this is the time left for what is known, a lower bound. */
	if (rate > 0 && planned >= st->bytes)
		snprintf(left, sizeof(left), "%.0fs", (double)(planned - st->bytes) / rate);
	fprintf(stderr, "\r\033[K%" PRIu64 " files, %s, %s/s, %s left", st->files + st->dirs + st->others, done,
		r, left);
	p->printed = 1;
}

static void progress_start(struct progress *p, struct vigil_run_opts *o)
{
	if (!p->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	o->progress = progress_cb;
	o->progress_arg = p;
}

static void progress_end(struct progress *p)
{
	if (p->printed)
		fprintf(stderr, "\r\033[K");
}

/* --- shared helpers -------------------------------------------------------- */

/* One event as one JSON line on stdout. */
static int print_event(const struct vigil_event *ev)
{
	char *line = vigil_event_json(ev, NULL);

	if (!line)
		return -ENOMEM;
	puts(line);
	free(line);
	return 0;
}

static void print_time(int64_t t, char *buf, size_t size)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&s, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, size, "%" PRId64, t);
}

/* Warnings and notes of the engine, on stderr. */
static void say(void *arg, int level, const char *msg)
{
	vigil_log(level, "%s", msg);
}

/* Fills the auto scopes; *loc: Docker terms, or NULL.  An exit code. */
static int prepare(struct vigil_cli *cli, struct vigil_docker_locator **loc)
{
	if (vigil_run_prepare(cli->cfg, cli->root, loc, say, NULL)) {
		vigil_log_err("out of memory");
		return VIGIL_EXIT_FAIL;
	}
	return VIGIL_EXIT_OK;
}

/* --- baseline -------------------------------------------------------------- */

int vigil_cmd_baseline(struct vigil_cli *cli, int argc, char **argv)
{
	struct progress prog = { .on = cli->progress };
	struct vigil_run_opts o = {
		.cfg = cli->cfg, .root = cli->root, .state_dir = vigil_cli_state_dir(cli), .kind = "baseline",
		.flags = VIGIL_RUN_CREATE_KEY, .say = say,
	};
	struct vigil_docker_locator *loc = NULL;
	struct vigil_run_result res;
	struct vigil_err err = { "" };
	char digest[65];
	int ret;

	if (argc > 1) {
		vigil_log_err("baseline takes no arguments (scopes come from the config)");
		return VIGIL_EXIT_USAGE;
	}
	ret = prepare(cli, &loc);
	if (ret)
		return ret;
	o.loc = loc;
	progress_start(&prog, &o);
	ret = vigil_run_baseline(&o, &res, &err);
	progress_end(&prog);
	vigil_docker_locator_free(loc);
	if (ret) {
		vigil_log_err("%s", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	vigil_hex(res.gen.digest, 16, digest);
	if (!cli->quiet)
		printf("baseline generation %" PRId64 ": %" PRIu64 " records (%" PRIu64 " files, %" PRIu64
		       " directories, %" PRIu64 " other), %" PRIu64 " bytes hashed, %" PRIu64
		       " unreadable; digest %s..., signed\n",
		       res.gen.id, res.gen.n_records, res.stats.files, res.stats.dirs, res.stats.others,
		       res.stats.bytes, res.unreadable, digest);
	if (res.unreadable) {
		vigil_log_warn("%" PRIu64 " paths could not be read fully; they are recorded as unreadable",
			   res.unreadable);
		return VIGIL_EXIT_PARTIAL;
	}
	return VIGIL_EXIT_OK;
}

/* --- check ----------------------------------------------------------------- */

struct check {
	struct vigil_cli *cli;
	int json;
	int64_t gen;
};

static void print_docker(const struct vigil_docker_where *w)
{
	if (!w)
		return;
	if (w->kind == VIGIL_DOCKER_IN_LAYER)
		printf("  image layer: %s (images: %s), path in the image: %s\n", w->id,
		       w->images ? w->images : "none", w->inner);
	else if (w->kind == VIGIL_DOCKER_IN_CONTAINER)
		printf("  container: %.12s %s (image %s), path in the container: %s\n", w->id,
		       w->name ? w->name : "?", w->image ? w->image : "?", w->inner);
}

/* Shared with `vigil diff` (cmd_diff.c): a difference as check prints it. */
void vigil_cli_print_diff(const struct vigil_run_diff *d)
{
	/* from the records, not the action: an explainer may have renamed it */
	const char *what = !strcmp(d->action, VIGIL_ACTION_UNREADABLE) ? "unreadable" :
			   !d->old ? "added" : !d->cur ? "removed" : "changed";
	const struct vigil_record *cur = d->cur;
	char *p, a[1024], b[1024];

	if (!d->path) { /* a Docker object */
		printf("%s: %s\n  %s\n", d->action, d->object, d->message);
		return;
	}
	p = vigil_path_escape(d->path, d->path_len);
	printf("%s: %s\n", what, p ? p : "?");
	free(p);
	if (d->message) /* explained (packages) */
		printf("  %s: %s\n", d->action, d->message);
	for (int i = 0; i < VIGIL_ATTR_COUNT; i++) {
		unsigned bit = 1u << i;

		if (!(d->changed & bit))
			continue;
		vigil_record_attr_str(d->old, bit, a, sizeof(a));
		vigil_record_attr_str(cur, bit, b, sizeof(b));
		printf("  %s: %s -> %s\n", vigil_attr_name(bit), a, b);
	}
	if (cur && (cur->status & VIGIL_REC_UNREADABLE))
		printf("  unreadable: %s\n", strerror(cur->err ? cur->err : EIO));
	if (cur && (cur->status & VIGIL_REC_CHANGED))
		printf("  note: changed while it was being read\n");
	print_docker(d->docker);
}

static int check_diff(void *arg, const struct vigil_run_diff *d)
{
	struct check *c = arg;
	struct vigil_event ev = {
		.action = d->action, .severity = d->severity, .scope = d->scope, .message = d->message,
		.old = d->old, .cur = d->cur, .changed = d->changed, .source = "check",
		.extra_json = d->extra_json, .docker = d->docker,
	};

	if (!d->path) /* a Docker object: an alert when it is serious */
		ev.kind = d->severity >= VIGIL_SEV_HIGH ? "alert" : "event";
	if (c->json) {
		ev.generation = c->gen;
		return print_event(&ev);
	}
	/* -q drops the header and summary, never the differences themselves */
	vigil_cli_print_diff(d);
	return 0;
}

static void check_started(void *arg, const struct vigil_generation *gen)
{
	struct check *c = arg;
	char when[64];

	c->gen = gen->id;
	print_time(gen->created, when, sizeof(when));
	if (!c->json && !c->cli->quiet)
		printf("vigil check against baseline generation %" PRId64 " (%s, host %s)\n", gen->id, when,
		       gen->host);
	fflush(stdout);
}

/* check does not wait for a running dpkg, but a package verdict reached
 * while dpkg's lock is held says so: the file may be half-upgraded. */
struct lock_note {
	const struct vigil_explainer *px;
	const char *root;
};

static int explain_noting_lock(void *arg, int64_t since, const char *path, size_t len,
			       const struct vigil_record *old, const struct vigil_record *cur,
			       struct vigil_decision *d)
{
	const struct lock_note *ln = arg;
	const char *plain = d->action;
	int rc = ln->px->explain(ln->px->arg, since, path, len, old, cur, d);

	if (!rc && (d->action != plain || d->explain_json) && vigil_dpkg_lock_held(ln->root) == 1)
		vigil_dpkg_note(d, "dpkg's lock was held when this was judged: an upgrade may be half done");
	return rc;
}

int vigil_cmd_check(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
	struct check c = { .cli = cli };
	struct progress prog = { .on = cli->progress };
	struct vigil_run_opts o = {
		.cfg = cli->cfg, .root = cli->root, .state_dir = vigil_cli_state_dir(cli), .say = say,
		.diff = check_diff, .diff_arg = &c, .started = check_started, .started_arg = &c,
	};
	struct vigil_docker_locator *loc = NULL;
	struct vigil_dpkg_explain *px = NULL;
	struct lock_note ln = { .root = cli->root };
	struct vigil_explainer lx = { .explain = explain_noting_lock, .arg = &ln };
	struct vigil_run_result res;
	struct vigil_err err = { "" };
	int ret, o_;

	while ((o_ = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (o_ != 'j')
			return VIGIL_EXIT_USAGE;
		c.json = 1;
	}
	if (optind < argc) {
		vigil_log_err("check takes no arguments besides --json");
		return VIGIL_EXIT_USAGE;
	}
	ret = prepare(cli, &loc);
	if (ret)
		return ret;
	o.loc = loc;
	/* packages: dpkg's records explain differences, read at the first one
	 * (none without a dpkg database; an unchanged tree costs nothing) */
	if (cli->cfg->packages_explain &&
	    !(px = vigil_dpkg_explain_lazy(cli->root, cli->cfg->packages_auto_accept))) {
		vigil_docker_locator_free(loc);
		vigil_log_err("out of memory");
		return VIGIL_EXIT_FAIL;
	}
	if ((ln.px = vigil_dpkg_explainer(px))) {
		lx.algos = ln.px->algos;
		o.explain = &lx;
	}
	progress_start(&prog, &o);
	ret = vigil_run_check(&o, &res, &err);
	progress_end(&prog);
	vigil_docker_locator_free(loc);
	vigil_dpkg_explain_free(px);
	if (ret) {
		vigil_log_err("%s", err.msg);
		return VIGIL_EXIT_FAIL; /* also VIGIL_EXIT_TAMPERED: a refused baseline */
	}
	if (!cli->quiet) {
		FILE *f = c.json ? stderr : stdout;

		fprintf(f, "summary: %" PRIu64 " added, %" PRIu64 " removed, %" PRIu64 " changed, %" PRIu64
			   " unreadable; %" PRIu64 " entries checked\n",
			res.t.added, res.t.removed, res.t.changed, res.t.unreadable, res.t.seen);
	}
	ret = vigil_tally_diffs(&res.t) ? VIGIL_EXIT_DIFF : VIGIL_EXIT_OK;
	if (ret == VIGIL_EXIT_OK && res.unreadable) {
		/* Nothing differs in what could be read, but not everything could. */
		vigil_log_warn("%" PRIu64 " paths could not be read; they were not checked", res.unreadable);
		ret = VIGIL_EXIT_PARTIAL;
	}
	return ret;
}

/* --- accept ---------------------------------------------------------------- */

int vigil_cmd_accept(struct vigil_cli *cli, int argc, char **argv)
{
	struct progress prog = { .on = cli->progress };
	struct vigil_run_opts o = {
		.cfg = cli->cfg, .root = cli->root, .state_dir = vigil_cli_state_dir(cli), .say = say,
	};
	struct vigil_docker_locator *loc = NULL;
	struct vigil_run_result res;
	struct vigil_err err = { "" };
	char **paths = NULL;
	int ret, n = argc - 1;

	if (n < 1) {
		vigil_log_err("usage: vigil accept PATH...");
		return VIGIL_EXIT_USAGE;
	}
	paths = calloc((size_t)n + 1, sizeof(*paths));
	if (!paths)
		return VIGIL_EXIT_FAIL;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(argv[i + 1]);

		if (argv[i + 1][0] != '/') {
			vigil_log_err("accept: '%s' is not an absolute path", argv[i + 1]);
			free(paths);
			return VIGIL_EXIT_USAGE;
		}
		while (l > 1 && argv[i + 1][l - 1] == '/')
			argv[i + 1][--l] = '\0';
		paths[i] = argv[i + 1];
	}
	ret = prepare(cli, &loc);
	if (!ret) {
		o.loc = loc;
		progress_start(&prog, &o);
		ret = vigil_run_accept(&o, (const char *const *)paths, (size_t)n, &res, &err) ? VIGIL_EXIT_FAIL : 0;
		progress_end(&prog);
		if (ret)
			vigil_log_err("%s", err.msg);
	}
	vigil_docker_locator_free(loc);
	free(paths);
	if (!ret && !cli->quiet)
		printf("accepted %" PRIu64 " current records under %d path%s into generation %" PRId64
		       " (%" PRIu64 " records)\n",
		       res.stats.files + res.stats.dirs + res.stats.others, n, n == 1 ? "" : "s", res.gen.id,
		       res.gen.n_records);
	return ret;
}

/* --- show ------------------------------------------------------------------ */

int vigil_cmd_show(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
	struct vigil_store *st = NULL;
	struct vigil_generation gen;
	struct vigil_record rec;
	struct vigil_err err = { "" };
	int json = 0, ret, rc, o;

	while ((o = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (o != 'j')
			return VIGIL_EXIT_USAGE;
		json = 1;
	}
	if (optind >= argc) {
		vigil_log_err("usage: vigil show [--json] PATH...");
		return VIGIL_EXIT_USAGE;
	}
	if (vigil_run_open_verified(vigil_cli_state_dir(cli), VIGIL_STORE_RDONLY, &st, &gen, &err)) {
		vigil_log_err("%s", err.msg);
		return VIGIL_EXIT_TAMPERED;
	}
	ret = VIGIL_EXIT_OK;
	vigil_record_init(&rec);
	for (int i = optind; i < argc; i++) {
		rc = vigil_store_get(st, gen.id, argv[i], strlen(argv[i]), &rec, &err);
		if (rc == -ENOENT) {
			vigil_log_err("'%s' is not in baseline generation %" PRId64, argv[i], gen.id);
			ret = VIGIL_EXIT_DIFF;
			continue;
		} else if (rc) {
			vigil_log_err("%s", err.msg);
			ret = VIGIL_EXIT_FAIL;
			break;
		}
		if (json) {
			struct vigil_event ev = { .action = VIGIL_ACTION_BASELINE_RECORD, .kind = "state", .scope = rec.scope,
						  .generation = gen.id, .cur = &rec, .source = "baseline" };
			char *line = vigil_event_json(&ev, NULL);

			if (line)
				puts(line);
			free(line);
		} else {
			char *p = vigil_path_escape(rec.path, rec.path_len), buf[2048];

			printf("%s (generation %" PRId64 ", scope %s)\n", p ? p : "?", gen.id, rec.scope);
			free(p);
			for (int a = 0; a < VIGIL_ATTR_COUNT; a++) {
				unsigned bit = 1u << a;

				if (bit == VIGIL_ATTR_HASH) {
					for (int k = 0; k < VIGIL_ALGO_COUNT; k++) {
						char hex[2 * VIGIL_DIGEST_MAX + 1];

						if (!(rec.algos & VIGIL_ALGO_BIT(k)))
							continue;
						vigil_hex(rec.digest[k], vigil_algo_len(k), hex);
						printf("  %-7s %s\n", vigil_algo_name(k), hex);
					}
					continue;
				}
				vigil_record_attr_str(&rec, bit, buf, sizeof(buf));
				printf("  %-7s %s\n", vigil_attr_name(bit), buf);
			}
			if (rec.status & VIGIL_REC_UNREADABLE)
				printf("  status  unreadable: %s\n", strerror(rec.err ? rec.err : EIO));
		}
		vigil_record_clear(&rec);
	}
	vigil_store_close(st);
	return ret;
}

/* --- keygen ---------------------------------------------------------------- */

int vigil_cmd_keygen(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
	const char *dir = vigil_cli_state_dir(cli);
	struct vigil_err err = { "" };
	int force = 0, o, rc;

	while ((o = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (o != 'f')
			return VIGIL_EXIT_USAGE;
		force = 1;
	}
	rc = vigil_sign_keygen(dir, force, &err);
	if (rc == -EEXIST) {
		vigil_log_err("%s (use --force to replace it; baselines signed with the old key will then be refused)",
			  err.msg);
		return VIGIL_EXIT_FAIL;
	} else if (rc) {
		vigil_log_err("%s", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	if (!cli->quiet)
		printf("signing key written to %s/%s, public key %s/%s\n", dir, VIGIL_SECKEY_FILE, dir,
		       VIGIL_PUBKEY_FILE);
	return VIGIL_EXIT_OK;
}
