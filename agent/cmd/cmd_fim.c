/* cmd_fim.c - the foundation commands: baseline, check, accept, show, keygen. */
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
#include "vigil/event.h"
#include "vigil/record.h"
#include "vigil/sign.h"
#include "vigil/store.h"
#include "vigil/walk.h"

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

static const struct vigil_scope *scope_by_name(const struct vigil_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_scopes; i++)
		if (!strcmp(cfg->scopes[i].name, name))
			return &cfg->scopes[i];
	return NULL;
}

static void print_time(int64_t t, char *buf, size_t size)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&s, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, size, "%" PRId64, t);
}

/* Checks that gen is still the newest generation and that its digest and
 * signature verify; an exit code. */
static int reverify(struct vigil_cli *cli, struct vigil_store *st, struct vigil_generation *gen)
{
	const char *dir = vigil_cli_state_dir(cli);
	struct vigil_pubkey *pub = NULL;
	struct vigil_generation now;
	struct vigil_err err = { "" };
	int rc;

	rc = vigil_store_latest(st, &now, &err);
	if (rc == -ENOENT) {
		vigil_log_err("no baseline in '%s': run 'vigil baseline' first", dir);
		return VIGIL_EXIT_TAMPERED;
	} else if (rc) {
		vigil_log_err("%s", err.msg);
		return VIGIL_EXIT_TAMPERED;
	}
	if (gen->id && now.id != gen->id) {
		vigil_log_err("baseline '%s' changed while checking: generation %" PRId64 " is now the newest, "
			  "run check again", vigil_store_path(st), now.id);
		return VIGIL_EXIT_FAIL;
	}
	rc = vigil_pubkey_load(dir, &pub, &err);
	if (!rc)
		rc = vigil_store_verify(st, &now, pub, &err);
	vigil_pubkey_free(pub);
	if (rc) {
		vigil_log_err("refusing baseline '%s': %s", vigil_store_path(st), err.msg);
		return VIGIL_EXIT_TAMPERED;
	}
	*gen = now;
	return VIGIL_EXIT_OK;
}

/* Opens the store and checks the newest generation's digest and signature.
 * Returns an exit code; on success *st, *gen are set. */
static int open_verified(struct vigil_cli *cli, unsigned flags, struct vigil_store **st,
			 struct vigil_generation *gen)
{
	struct vigil_err err = { "" };
	int ret;

	*st = NULL;
	if (vigil_store_open(vigil_cli_state_dir(cli), flags, st, &err)) {
		vigil_log_err("%s", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	gen->id = 0;
	ret = reverify(cli, *st, gen);
	if (ret) {
		vigil_store_close(*st);
		*st = NULL;
	}
	return ret;
}

/* The signing key: created on first use when the state dir has none and no
 * baseline exists yet; a key that vanished later is an error, since a new key
 * could otherwise re-sign a forged baseline without anyone noticing. */
static int load_or_create_key(const char *dir, struct vigil_store *st, struct vigil_seckey **key)
{
	struct vigil_generation gen;
	struct vigil_err err = { "" };
	int rc;

	rc = vigil_seckey_load(dir, key, &err);
	if (rc != -ENOENT)
		goto out;
	if (vigil_store_latest(st, &gen, NULL) != -ENOENT) {
		vigil_log_err("signing key '%s/%s' is missing but baselines exist: restore it, or run "
			  "'vigil keygen' deliberately", dir, VIGIL_SECKEY_FILE);
		return VIGIL_EXIT_FAIL;
	}
	rc = vigil_sign_keygen(dir, 0, &err);
	if (rc)
		goto out;
	vigil_log(VIGIL_LOG_NOTICE, "created signing key '%s/%s' (public key: %s/%s)", dir,
		  VIGIL_SECKEY_FILE, dir, VIGIL_PUBKEY_FILE);
	rc = vigil_seckey_load(dir, key, &err);
out:
	if (rc) {
		vigil_log_err("%s", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	return VIGIL_EXIT_OK;
}

struct scan {
	struct vigil_store *st;
	int scratch;
	uint64_t unreadable;
	struct vigil_err err;
};

static int scan_cb(void *arg, const struct vigil_record *rec, const struct vigil_scope *scope)
{
	struct scan *s = arg;

	/* Gone between the directory listing and the open: as if never seen, so a
	 * file deleted during the walk is reported once, as removed, not as a
	 * half-record that differs from everything. */
	if (rec->status & VIGIL_REC_VANISHED)
		return 0;
	if (rec->status & (VIGIL_REC_UNREADABLE | VIGIL_REC_XATTR_ERR)) {
		char *p = vigil_path_escape(rec->path, rec->path_len);

		s->unreadable++;
		vigil_log_warn("cannot read '%s': %s", p ? p : "?", strerror(rec->err ? rec->err : EIO));
		free(p);
	}
	if (s->scratch)
		return vigil_store_scratch_put(s->st, rec, &s->err);
	return vigil_store_put(s->st, rec, &s->err);
}

/* Walks the config's scopes (or only the given paths) into the store. */
static int scan(struct vigil_cli *cli, struct scan *s, const char *const *only, struct vigil_walk_stats *stats)
{
	struct progress prog = { .on = cli->progress };
	struct vigil_walk_opts o = {
		.cfg = cli->cfg,
		.root = cli->root,
		.only = only,
		.cb = scan_cb,
		.arg = s,
	};
	struct vigil_err err = { "" };
	int rc;

	if (prog.on) {
		clock_gettime(CLOCK_MONOTONIC, &prog.start);
		o.progress = progress_cb;
		o.progress_arg = &prog;
	}
	rc = vigil_walk_run(&o, stats, &err);
	progress_end(&prog);
	if (rc) {
		vigil_log_err("%s", s->err.msg[0] ? s->err.msg : err.msg);
		return rc;
	}
	return 0;
}

/* --- docker collector: auto scopes and image layers (collectors/docker*.c) --- */

/* The scope of the given auto kind, or NULL when the config has none. */
static const struct vigil_scope *docker_scope(const struct vigil_config *cfg, int kind)
{
	for (size_t i = 0; i < cfg->n_scopes; i++)
		if (cfg->scopes[i].auto_kind == kind)
			return &cfg->scopes[i];
	return NULL;
}

/* Fills docker-binaries / docker-configs with what the engine's files say.
 * A failure is a warning: the other scopes are still worth scanning. */
static void docker_fill(struct vigil_cli *cli)
{
	struct vigil_err err = { "" };

	if (!docker_scope(cli->cfg, VIGIL_AUTO_DOCKER_BINARIES) && !docker_scope(cli->cfg, VIGIL_AUTO_DOCKER_CONFIGS))
		return;
	if (vigil_docker_fill_scopes(cli->cfg, cli->root, &err))
		vigil_log_warn("docker engine discovery: %s", err.msg);
}

/* One "layer" object per image layer in the generation being written.
 * Returns 0, or -1 after printing why. */
static int docker_layers_baseline(struct vigil_cli *cli, struct vigil_store *st)
{
	struct vigil_err err = { "" };
	char *why;
	int rc;

	if (!docker_scope(cli->cfg, VIGIL_AUTO_DOCKER_LAYERS))
		return 0;
	if ((why = vigil_docker_layers_warning(cli->root)))
		vigil_log_warn("docker layers: %s", why);
	free(why);
	rc = vigil_docker_layers_baseline(cli->root, st, cli->cfg->threads, &err);
	if (rc < 0) {
		vigil_log_err("docker layers: %s", err.msg);
		return -1;
	}
	if (rc > 0)
		vigil_log_warn("some image layers do not verify now (run 'vigil layers verify'); "
			   "they are recorded as they are");
	return 0;
}

struct docker_check {
	struct vigil_cli *cli;
	int json;
	int64_t gen;
	const char *scope;
	uint64_t changed, added;
};

static int docker_layer_event(void *arg, const char *action, int severity, const char *chain_id,
			      const char *message, const char *extra_json)
{
	struct docker_check *c = arg;
	struct vigil_event ev = {
		.action = action, .kind = severity >= VIGIL_SEV_HIGH ? "alert" : "event",
		.severity = severity, .scope = c->scope, .message = message,
		.generation = c->gen, .source = "check", .extra_json = extra_json,
	};

	if (!strcmp(action, "layer-added"))
		c->added++;
	else
		c->changed++;
	if (c->json) {
		if (print_event(&ev))
			return -ENOMEM;
	} else {
		printf("%s: %s\n  %s\n", action, chain_id, message);
	}
	return 0;
}

/* Re-verifies every image layer against the generation's layer objects.
 * Returns 0, or -1 after printing why. */
static int docker_layers_check(struct vigil_cli *cli, struct vigil_store *st, int64_t gen, int json,
			       uint64_t *changed, uint64_t *added)
{
	const struct vigil_scope *sc = docker_scope(cli->cfg, VIGIL_AUTO_DOCKER_LAYERS);
	struct docker_check c = { .cli = cli, .json = json, .gen = gen };
	struct vigil_err err = { "" };
	int rc;

	if (!sc)
		return 0;
	c.scope = sc->name;
	rc = vigil_docker_layers_check(cli->root, st, gen, cli->cfg->threads, 0, docker_layer_event, &c, &err);
	if (rc < 0) {
		vigil_log_err("docker layers: %s", err.msg);
		return -1;
	}
	*changed += c.changed;
	*added += c.added;
	return 0;
}

/* --- baseline -------------------------------------------------------------- */

int vigil_cmd_baseline(struct vigil_cli *cli, int argc, char **argv)
{
	const char *dir = vigil_cli_state_dir(cli);
	struct vigil_seckey *key = NULL;
	struct vigil_generation gen;
	struct vigil_walk_stats stats = { 0 };
	struct scan s = { 0 };
	struct vigil_err err = { "" };
	char digest[65];
	int rc, ret = VIGIL_EXIT_FAIL;

	if (argc > 1) {
		vigil_log_err("baseline takes no arguments (scopes come from the config)");
		return VIGIL_EXIT_USAGE;
	}
	rc = vigil_store_open(dir, VIGIL_STORE_CREATE, &s.st, &err);
	if (rc) {
		vigil_log_err("%s", err.msg);
		return VIGIL_EXIT_FAIL;
	}
	ret = load_or_create_key(dir, s.st, &key);
	if (ret)
		goto out;
	ret = VIGIL_EXIT_FAIL;
	if (vigil_store_begin(s.st, "baseline", &err)) {
		vigil_log_err("%s", err.msg);
		goto out;
	}
	docker_fill(cli);
	if (scan(cli, &s, NULL, &stats) || docker_layers_baseline(cli, s.st)) {
		vigil_store_rollback(s.st);
		goto out;
	}
	if (vigil_store_commit(s.st, key, &gen, &err)) {
		vigil_log_err("%s", err.msg);
		goto out;
	}
	vigil_hex(gen.digest, 16, digest);
	if (!cli->quiet)
		printf("baseline generation %" PRId64 ": %" PRIu64 " records (%" PRIu64 " files, %" PRIu64
		       " directories, %" PRIu64 " other), %" PRIu64 " bytes hashed, %" PRIu64
		       " unreadable; digest %s..., signed\n",
		       gen.id, gen.n_records, stats.files, stats.dirs, stats.others, stats.bytes, s.unreadable,
		       digest);
	ret = VIGIL_EXIT_OK;
	if (s.unreadable) {
		vigil_log_warn("%" PRIu64 " paths could not be read fully; they are recorded as unreadable",
			   s.unreadable);
		ret = VIGIL_EXIT_PARTIAL;
	}
out:
	vigil_seckey_free(key);
	vigil_store_close(s.st);
	return ret;
}

/* --- check ----------------------------------------------------------------- */

struct check {
	struct vigil_cli *cli;
	int json;
	int64_t gen;
	uint64_t added, removed, changed, unreadable, seen;
};

static void print_diff(const char *what, const struct vigil_record *old, const struct vigil_record *cur,
		       unsigned changed)
{
	const struct vigil_record *r = cur ? cur : old;
	char *p = vigil_path_escape(r->path, r->path_len);
	char a[1024], b[1024];

	printf("%s: %s\n", what, p ? p : "?");
	free(p);
	for (int i = 0; i < VIGIL_ATTR_COUNT; i++) {
		unsigned bit = 1u << i;

		if (!(changed & bit))
			continue;
		vigil_record_attr_str(old, bit, a, sizeof(a));
		vigil_record_attr_str(cur, bit, b, sizeof(b));
		printf("  %s: %s -> %s\n", vigil_attr_name(bit), a, b);
	}
	if (cur && (cur->status & VIGIL_REC_UNREADABLE))
		printf("  unreadable: %s\n", strerror(cur->err ? cur->err : EIO));
	if (cur && (cur->status & VIGIL_REC_CHANGED))
		printf("  note: changed while it was being read\n");
}

static int merge_cb(void *arg, const struct vigil_record *old, const struct vigil_record *cur)
{
	struct check *c = arg;
	const struct vigil_record *r = cur ? cur : old;
	const struct vigil_scope *sc = scope_by_name(c->cli->cfg, r->scope);
	unsigned mask = sc ? sc->attrs : VIGIL_ATTR_DEFAULT, d = 0;
	struct vigil_event ev = {
		.severity = sc ? sc->severity : VIGIL_SEV_MEDIUM,
		.scope = r->scope,
		.generation = c->gen,
		.old = old,
		.cur = cur,
		.source = "check",
	};
	const char *what;

	if (cur)
		c->seen++;
	if (!old) {
		what = "added";
		ev.action = VIGIL_ACTION_ADDED;
		c->added++;
	} else if (!cur) {
		what = "removed";
		ev.action = VIGIL_ACTION_REMOVED;
		c->removed++;
	} else {
		int unread_now = cur->status & VIGIL_REC_UNREADABLE, unread_then = old->status & VIGIL_REC_UNREADABLE;

		d = vigil_record_diff(old, cur, mask);
		if (unread_now && !unread_then) {
			what = "unreadable";
			ev.action = VIGIL_ACTION_UNREADABLE;
			c->unreadable++;
		} else if (d || unread_now != unread_then) {
			what = "changed";
			ev.action = VIGIL_ACTION_CHANGED;
			c->changed++;
		} else {
			return 0;
		}
		ev.changed = d;
	}
	if (c->json) {
		if (print_event(&ev))
			return -ENOMEM;
	} else {
		/* -q drops the header and summary, never the differences themselves */
		print_diff(what, old, cur, d);
	}
	return 0;
}

int vigil_cmd_check(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
	struct check c = { .cli = cli };
	struct vigil_generation gen;
	struct vigil_walk_stats stats = { 0 };
	struct scan s = { .scratch = 1 };
	struct vigil_err err = { "" };
	char when[64];
	int ret, o;

	while ((o = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (o != 'j')
			return VIGIL_EXIT_USAGE;
		c.json = 1;
	}
	if (optind < argc) {
		vigil_log_err("check takes no arguments besides --json");
		return VIGIL_EXIT_USAGE;
	}
	ret = open_verified(cli, VIGIL_STORE_RDONLY, &s.st, &gen);
	if (ret)
		return ret;
	c.gen = gen.id;
	ret = VIGIL_EXIT_TAMPERED;
	if (vigil_store_scratch_begin(s.st, &err)) {
		vigil_log_err("%s", err.msg);
		goto out;
	}
	ret = VIGIL_EXIT_FAIL;
	docker_fill(cli);
	if (scan(cli, &s, NULL, &stats))
		goto out;
	ret = VIGIL_EXIT_TAMPERED;
	/* The scan took a while: verify again, now, so the generation merged below
	 * is the one whose digest and signature were just checked (the store reads
	 * both in one snapshot). */
	if (reverify(cli, s.st, &gen))
		goto out;
	print_time(gen.created, when, sizeof(when));
	if (!c.json && !cli->quiet)
		printf("vigil check against baseline generation %" PRId64 " (%s, host %s)\n", gen.id, when,
		       gen.host);
	fflush(stdout);
	ret = VIGIL_EXIT_FAIL;
	if (vigil_store_scratch_merge(s.st, gen.id, merge_cb, &c, &err)) {
		vigil_log_err("%s", err.msg);
		goto out;
	}
	if (docker_layers_check(cli, s.st, gen.id, c.json, &c.changed, &c.added))
		goto out;
	if (!cli->quiet) {
		FILE *f = c.json ? stderr : stdout;

		fprintf(f, "summary: %" PRIu64 " added, %" PRIu64 " removed, %" PRIu64 " changed, %" PRIu64
			   " unreadable; %" PRIu64 " entries checked\n",
			c.added, c.removed, c.changed, c.unreadable, c.seen);
	}
	ret = c.added + c.removed + c.changed + c.unreadable ? VIGIL_EXIT_DIFF : VIGIL_EXIT_OK;
	if (ret == VIGIL_EXIT_OK && s.unreadable) {
		/* Nothing differs in what could be read, but not everything could. */
		vigil_log_warn("%" PRIu64 " paths could not be read; they were not checked", s.unreadable);
		ret = VIGIL_EXIT_PARTIAL;
	}
out:
	vigil_store_scratch_end(s.st);
	vigil_store_close(s.st);
	return ret;
}

/* --- accept ---------------------------------------------------------------- */

/* 1 when path equals prefix or lies below it. */
static int under(const char *path, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 1 && prefix[0] == '/')
		return 1;
	return len >= n && !memcmp(path, prefix, n) && (len == n || path[n] == '/');
}

static int copy_object(void *arg, const char *kind, const char *key, const void *data, size_t len)
{
	return vigil_store_put_object(arg, kind, key, data, len, NULL);
}

int vigil_cmd_accept(struct vigil_cli *cli, int argc, char **argv)
{
	const char *dir = vigil_cli_state_dir(cli);
	struct vigil_seckey *key = NULL;
	struct vigil_store_iter *it = NULL;
	struct vigil_generation gen, ngen;
	struct vigil_walk_stats stats = { 0 };
	struct vigil_record rec;
	struct scan s = { 0 };
	struct vigil_err err = { "" };
	char **paths = NULL;
	int ret, rc, n = argc - 1;

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
	vigil_record_init(&rec);
	ret = open_verified(cli, 0, &s.st, &gen);
	if (ret)
		goto out;
	ret = VIGIL_EXIT_FAIL;
	if (vigil_seckey_load(dir, &key, &err) || vigil_store_begin(s.st, "accept", &err)) {
		vigil_log_err("%s", err.msg);
		goto out;
	}
	/* Keep every record of the current generation outside the accepted paths... */
	if (vigil_store_iter_new(s.st, gen.id, &it, &err))
		goto fail;
	while ((rc = vigil_store_iter_next(it, &rec, &err)) > 0) {
		int skip = 0;

		for (int i = 0; i < n && !skip; i++)
			skip = under(rec.path, rec.path_len, paths[i]);
		if (!skip && vigil_store_put(s.st, &rec, &err))
			goto fail;
	}
	if (rc < 0)
		goto fail;
	vigil_store_iter_free(it);
	it = NULL;
	/* Objects (Docker layers) are not paths: they go along unchanged. */
	if (vigil_store_objects(s.st, gen.id, NULL, copy_object, s.st, &err))
		goto fail;
	/* ...and take the accepted paths as they are now. */
	docker_fill(cli);
	if (scan(cli, &s, (const char *const *)paths, &stats)) {
		vigil_store_rollback(s.st);
		goto out;
	}
	if (vigil_store_commit(s.st, key, &ngen, &err))
		goto fail;
	if (!cli->quiet)
		printf("accepted %" PRIu64 " current records under %d path%s into generation %" PRId64
		       " (%" PRIu64 " records)\n",
		       stats.files + stats.dirs + stats.others, n, n == 1 ? "" : "s", ngen.id, ngen.n_records);
	ret = VIGIL_EXIT_OK;
	goto out;
fail:
	vigil_log_err("%s", err.msg);
	vigil_store_iter_free(it);
	it = NULL;
	vigil_store_rollback(s.st);
out:
	vigil_store_iter_free(it);
	vigil_record_clear(&rec);
	vigil_seckey_free(key);
	vigil_store_close(s.st);
	free(paths);
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
	ret = open_verified(cli, VIGIL_STORE_RDONLY, &st, &gen);
	if (ret)
		return ret;
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
			struct vigil_event ev = { .action = "baseline-record", .kind = "state", .scope = rec.scope,
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
