/* run.c - baseline, check and accept (see run.h): one implementation for the
 * commands and the daemon. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/docker.h"
#include "vigil/event.h"
#include "vigil/run.h"
#include "vigil/sign.h"

static void say(const struct vigil_run_opts *o, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(const struct vigil_run_opts *o, int level, const char *fmt, ...)
{
	char msg[VIGIL_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->say)
		o->say(o->say_arg, level, msg);
	else
		vigil_log_debug("%s", msg);
}

static const struct vigil_scope *auto_scope(const struct vigil_config *cfg, int kind)
{
	for (size_t i = 0; i < cfg->n_scopes; i++)
		if (cfg->scopes[i].auto_kind == kind)
			return &cfg->scopes[i];
	return NULL;
}

static const struct vigil_scope *scope_by_name(const struct vigil_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_scopes; i++)
		if (!strcmp(cfg->scopes[i].name, name))
			return &cfg->scopes[i];
	return NULL;
}

/* --- preparing a config: the `auto:` scopes ---------------------------------- */

int vigil_run_prepare(struct vigil_config *cfg, const char *root, struct vigil_docker_locator **loc,
		      vigil_run_say_cb say_cb, void *say_arg)
{
	struct vigil_run_opts o = { .say = say_cb, .say_arg = say_arg };
	struct vigil_err err = { "" };
	int rc;

	*loc = NULL;
	if (!auto_scope(cfg, VIGIL_AUTO_DOCKER_BINARIES) && !auto_scope(cfg, VIGIL_AUTO_DOCKER_CONFIGS) &&
	    !auto_scope(cfg, VIGIL_AUTO_DOCKER_LAYERS))
		return 0;
	if (vigil_docker_fill_scopes(cfg, root, &err))
		say(&o, VIGIL_LOG_WARNING, "docker engine discovery: %s", err.msg);
	rc = vigil_docker_locator_new(root, loc, &err);
	if (rc == -ENOENT || rc == -ENOTDIR)
		return 0; /* no overlay2 data root: no layers, no containers */
	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		say(&o, VIGIL_LOG_WARNING, "docker data root: %s", err.msg);
		return 0;
	}
	if (vigil_docker_fill_layer_scope(cfg, *loc)) {
		vigil_docker_locator_free(*loc);
		*loc = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* --- scanning ----------------------------------------------------------------- */

/* The config the walker sees: every scope but docker-layers, whose diff dirs
 * are verified whole, layer by layer (a shallow copy: free only .scopes). */
static int walk_config(const struct vigil_config *cfg, struct vigil_config *copy)
{
	size_t n = 0;

	*copy = *cfg;
	copy->scopes = calloc(cfg->n_scopes ? cfg->n_scopes : 1, sizeof(*cfg->scopes));
	if (!copy->scopes)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_scopes; i++)
		if (cfg->scopes[i].auto_kind != VIGIL_AUTO_DOCKER_LAYERS)
			copy->scopes[n++] = cfg->scopes[i];
	copy->n_scopes = n;
	return 0;
}

struct scan {
	const struct vigil_run_opts *o;
	struct vigil_store *st;
	int scratch;
	uint64_t unreadable;
	struct vigil_err err;
};

static int scan_cb(void *arg, const struct vigil_record *rec, const struct vigil_scope *scope)
{
	struct scan *s = arg;

	if (s->o->cancelled && s->o->cancelled(s->o->cancel_arg))
		return vigil_err_set(&s->err, -ECANCELED, "cancelled");
	/* Gone between the directory listing and the open: as if never seen, so a
	 * file deleted during the walk is reported once, as removed, not as a
	 * half-record that differs from everything. */
	if (rec->status & VIGIL_REC_VANISHED)
		return 0;
	/* An image layer's files are never records, whatever scope walked into
	 * them (one on the whole data root, say): layers are verified whole. */
	if (vigil_docker_in_layer(s->o->loc, rec->path, rec->path_len))
		return 0;
	if (rec->status & (VIGIL_REC_UNREADABLE | VIGIL_REC_XATTR_ERR)) {
		char *p = vigil_path_escape(rec->path, rec->path_len);

		s->unreadable++;
		say(s->o, VIGIL_LOG_WARNING, "cannot read '%s': %s", p ? p : "?",
		    strerror(rec->err ? rec->err : EIO));
		free(p);
	}
	if (s->scratch)
		return vigil_store_scratch_put(s->st, rec, &s->err);
	return vigil_store_put(s->st, rec, &s->err);
}

/* Walks the config's scopes (or only o->only) into the store. */
static int scan(const struct vigil_run_opts *o, struct scan *s, struct vigil_walk_stats *stats,
		struct vigil_err *err)
{
	struct vigil_config wc;
	struct vigil_walk_opts w = {
		.cfg = &wc,
		.root = o->root,
		.only = o->only,
		.cb = scan_cb,
		.arg = s,
		.progress = o->progress,
		.progress_arg = o->progress_arg,
	};
	int rc;

	s->o = o;
	if (walk_config(o->cfg, &wc))
		return vigil_err_set(err, -ENOMEM, "out of memory");
	/* the explainer's digests (packages: MD5) in the same read pass */
	if (o->explain && o->explain->algos)
		wc.algos = (wc.algos ? wc.algos : VIGIL_ALGOS_DEFAULT) | o->explain->algos;
	rc = vigil_walk_run(&w, stats, err);
	free(wc.scopes);
	if (rc && s->err.msg[0])
		*err = s->err;
	return rc;
}

/* --- the signed generation ------------------------------------------------------ */

/* Checks that the newest generation is *gen (any when gen->id is 0) and
 * that its digest and signature verify; fills *gen. */
static int verify_newest(const char *dir, struct vigil_store *st, struct vigil_generation *gen,
			 struct vigil_err *err)
{
	struct vigil_pubkey *pub = NULL;
	struct vigil_generation now;
	struct vigil_err e = { "" };
	int rc;

	rc = vigil_store_latest(st, &now, &e);
	if (rc == -ENOENT)
		return vigil_err_set(err, rc, "no baseline in '%s': run 'vigil baseline' first", dir);
	if (rc)
		return vigil_err_set(err, rc, "%s", e.msg);
	if (gen->id && now.id != gen->id)
		return vigil_err_set(err, -ESTALE, "baseline '%s' changed while checking: generation %" PRId64
				     " is now the newest, run check again", vigil_store_path(st), now.id);
	rc = vigil_pubkey_load(dir, &pub, &e);
	if (!rc)
		rc = vigil_store_verify(st, &now, pub, &e);
	vigil_pubkey_free(pub);
	if (rc)
		return vigil_err_set(err, rc, "refusing baseline '%s': %s", vigil_store_path(st), e.msg);
	*gen = now;
	return 0;
}

int vigil_run_open_verified(const char *dir, unsigned flags, struct vigil_store **st, struct vigil_generation *gen,
			    struct vigil_err *err)
{
	int rc = vigil_store_open(dir, flags, st, err);

	if (rc)
		return rc;
	gen->id = 0;
	rc = verify_newest(dir, *st, gen, err);
	if (rc) {
		vigil_store_close(*st);
		*st = NULL;
	}
	return rc;
}

/* The signing key: created on first use (when asked) while no baseline
 * exists; a key that vanished later is an error, since a new key could
 * otherwise re-sign a forged baseline without anyone noticing. */
static int signing_key(const struct vigil_run_opts *o, struct vigil_store *st, struct vigil_seckey **key,
		       struct vigil_err *err)
{
	struct vigil_generation gen;
	int rc = vigil_seckey_load(o->state_dir, key, err);

	if (rc != -ENOENT || !(o->flags & VIGIL_RUN_CREATE_KEY))
		return rc;
	if (vigil_store_latest(st, &gen, NULL) != -ENOENT)
		return vigil_err_set(err, rc, "signing key '%s/%s' is missing but baselines exist: restore it, "
				     "or run 'vigil keygen' deliberately", o->state_dir, VIGIL_SECKEY_FILE);
	rc = vigil_sign_keygen(o->state_dir, 0, err);
	if (rc)
		return rc;
	say(o, VIGIL_LOG_NOTICE, "created signing key '%s/%s' (public key: %s/%s)", o->state_dir,
	    VIGIL_SECKEY_FILE, o->state_dir, VIGIL_PUBKEY_FILE);
	return vigil_seckey_load(o->state_dir, key, err);
}

/* --- baseline --------------------------------------------------------------------- */

/* One object per image layer and image, when the config has docker-layers. */
static int docker_objects(const struct vigil_run_opts *o, struct vigil_store *st, struct vigil_run_result *res,
			  struct vigil_err *err)
{
	char *why;
	int rc;

	if (!auto_scope(o->cfg, VIGIL_AUTO_DOCKER_LAYERS))
		return 0;
	if ((why = vigil_docker_layers_warning(o->root)))
		say(o, VIGIL_LOG_WARNING, "docker layers: %s", why);
	free(why);
	rc = vigil_docker_layers_baseline(o->root, st, o->cfg->threads, err);
	if (rc < 0)
		return vigil_err_prefix(err, rc, "docker layers");
	if (rc > 0) {
		res->docker_bad = 1;
		say(o, VIGIL_LOG_WARNING, "some image layers or configs do not verify now (run 'vigil layers "
		    "verify'); they are recorded as they are");
	}
	return 0;
}

int vigil_run_baseline(const struct vigil_run_opts *o, struct vigil_run_result *res, struct vigil_err *err)
{
	struct vigil_seckey *key = NULL;
	struct scan s = { 0 };
	int rc, begun = 0;

	memset(res, 0, sizeof(*res));
	rc = vigil_store_open(o->state_dir, VIGIL_STORE_CREATE, &s.st, err);
	if (rc)
		return rc;
	rc = signing_key(o, s.st, &key, err);
	if (!rc)
		rc = vigil_store_begin(s.st, o->kind ? o->kind : "baseline", err);
	begun = !rc;
	if (!rc)
		rc = scan(o, &s, &res->stats, err);
	if (!rc)
		rc = docker_objects(o, s.st, res, err);
	if (!rc && o->objects)
		rc = o->objects(o->objects_arg, s.st, err);
	if (!rc)
		rc = vigil_store_commit(s.st, key, &res->gen, err);
	if (rc && begun)
		vigil_store_rollback(s.st);
	res->unreadable = s.unreadable;
	vigil_seckey_free(key);
	vigil_store_close(s.st);
	return rc;
}

/* --- accept ------------------------------------------------------------------------ */

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

/* Every record of gen outside paths, and gen's objects (Docker layers and
 * images are not paths: they go along unchanged). */
static int keep_others(struct vigil_store *st, int64_t gen, const char *const *paths, size_t n,
		       struct vigil_err *err)
{
	struct vigil_store_iter *it = NULL;
	struct vigil_record rec;
	int rc;

	vigil_record_init(&rec);
	rc = vigil_store_iter_new(st, gen, &it, err);
	while (!rc && (rc = vigil_store_iter_next(it, &rec, err)) > 0) {
		int skip = 0;

		for (size_t i = 0; i < n && !skip; i++)
			skip = under(rec.path, rec.path_len, paths[i]);
		rc = skip ? 0 : vigil_store_put(st, &rec, err);
	}
	vigil_store_iter_free(it);
	if (!rc)
		rc = vigil_store_objects(st, gen, NULL, copy_object, st, err);
	return rc;
}

int vigil_run_accept(const struct vigil_run_opts *o, const char *const *paths, size_t n,
		     struct vigil_run_result *res, struct vigil_err *err)
{
	struct vigil_run_opts scan_o = *o;
	struct vigil_seckey *key = NULL;
	struct vigil_generation gen;
	struct vigil_store *st = NULL;
	struct scan s = { 0 };
	int rc, begun;

	memset(res, 0, sizeof(*res));
	rc = vigil_run_open_verified(o->state_dir, 0, &st, &gen, err);
	if (rc)
		return rc;
	rc = vigil_seckey_load(o->state_dir, &key, err);
	if (!rc)
		rc = vigil_store_begin(st, "accept", err);
	begun = !rc;
	if (!rc)
		rc = keep_others(st, gen.id, paths, n, err);
	/* ...and take the accepted paths as they are now. */
	scan_o.only = paths;
	s.st = st;
	if (!rc)
		rc = scan(&scan_o, &s, &res->stats, err);
	if (!rc)
		rc = vigil_store_commit(st, key, &res->gen, err);
	if (rc && begun)
		vigil_store_rollback(st);
	res->unreadable = s.unreadable;
	vigil_seckey_free(key);
	vigil_store_close(st);
	return rc;
}

/* --- check --------------------------------------------------------------------------- */

struct check {
	const struct vigil_run_opts *o;
	struct vigil_run_result *res;
	const struct vigil_scope *layers; /* the docker-layers scope, or NULL */
	char **accept;                    /* paths the explainer's policy accepts */
	size_t n_accept;
};

/* Remembers a path to accept after the check; 0 or -ENOMEM. */
static int accept_later(struct check *c, const char *path, size_t len)
{
	char **t = realloc(c->accept, (c->n_accept + 2) * sizeof(*t));

	if (!t)
		return -ENOMEM;
	c->accept = t;
	if (!(t[c->n_accept] = strndup(path, len)))
		return -ENOMEM;
	t[++c->n_accept] = NULL;
	return 0;
}

/* The decided difference, with the path in Docker's terms, to the caller. */
static int report(struct check *c, const struct vigil_run_diff *d)
{
	struct vigil_docker_where where;
	struct vigil_run_diff dd = *d;
	int rc, located = 0;

	if (d->path && c->o->loc && d->action) {
		rc = vigil_docker_locate(c->o->loc, d->path, d->path_len, &where);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			dd.docker = &where;
			located = 1;
		}
	}
	rc = c->o->diff ? c->o->diff(c->o->diff_arg, &dd) : 0;
	if (located)
		vigil_docker_where_clear(&where);
	if (!rc && d->action)
		vigil_tally_add(&c->res->t, d->action);
	return rc;
}

static int merge_cb(void *arg, const struct vigil_record *old, const struct vigil_record *cur)
{
	struct check *c = arg;
	const struct vigil_config *cfg = c->o->cfg;
	const struct vigil_record *r = cur ? cur : old;
	const struct vigil_scope *sc;
	struct vigil_decision dec;
	struct vigil_run_diff d = { 0 };
	int in = !c->o->only, rc;

	for (size_t i = 0; c->o->only && c->o->only[i] && !in; i++)
		in = under(r->path, r->path_len, c->o->only[i]);
	if (!in)
		return 0;
	/* The scope that selects the path now; a baseline record that none
	 * selects any more is removed, with the settings of the scope it had. */
	sc = cur ? scope_by_name(cfg, cur->scope) : vigil_walk_scope_for(cfg, r->path, r->path_len);
	if (!sc && !cur) {
		if (c->o->flags & VIGIL_RUN_COVERED_ONLY)
			return 0;
		sc = scope_by_name(cfg, old->scope);
	}
	if (cur)
		c->res->t.seen++;
	if (!vigil_compare(sc, old, cur, &dec) && !(c->o->flags & VIGIL_RUN_ALL_PATHS))
		return 0;
	if (dec.action && c->o->explain &&
	    (rc = c->o->explain->explain(c->o->explain->arg, c->res->gen.created, r->path, r->path_len, old, cur, &dec)))
		return rc;
	if (dec.accept && (rc = accept_later(c, r->path, r->path_len)))
		return rc;
	d.message = dec.message;
	d.extra_json = dec.explain_json;
	d.action = dec.action;
	d.severity = dec.severity;
	d.scope = sc ? sc->name : r->scope;
	d.sc = sc;
	d.mask = dec.mask;
	d.path = r->path;
	d.path_len = r->path_len;
	d.old = old;
	d.cur = cur;
	d.changed = dec.changed;
	return report(c, &d);
}

static int layer_cb(void *arg, const char *action, int severity, const char *object, const char *message,
		    const char *extra_json)
{
	struct check *c = arg;
	struct vigil_run_diff d = {
		.action = action, .severity = severity, .scope = c->layers->name, .sc = c->layers,
		.mask = c->layers->attrs, .object = object, .message = message, .extra_json = extra_json,
	};

	return report(c, &d);
}

/* Every image layer re-verified against the generation's layer objects, and
 * every image config against its id (or only o->layers). */
static int check_docker(struct check *c, struct vigil_store *st, struct vigil_err *err)
{
	const struct vigil_run_opts *o = c->o;
	int rc;

	c->layers = auto_scope(o->cfg, VIGIL_AUTO_DOCKER_LAYERS);
	if (!c->layers || (o->flags & VIGIL_RUN_NO_DOCKER))
		return 0;
	if (o->layers)
		rc = vigil_docker_layers_check_some(o->root, st, c->res->gen.id, o->cfg->threads, o->layers,
						    o->n_layers, layer_cb, c, err);
	else
		rc = vigil_docker_layers_check(o->root, st, c->res->gen.id, o->cfg->threads, 0, layer_cb, c, err);
	return rc < 0 ? vigil_err_prefix(err, rc, "docker layers") : 0;
}

/* The differences the explainer's policy accepts (packages: auto_accept:
 * upgrades), reported above once each, go into a new signed generation:
 * the next check no longer sees them.  The paths are read again for it. */
static int accept_explained(const struct vigil_run_opts *o, struct check *c, struct vigil_run_result *res,
			    struct vigil_err *err)
{
	struct vigil_run_opts ao = *o;
	struct vigil_run_result ares;
	int rc;

	ao.explain = NULL;
	ao.only = NULL;
	rc = vigil_run_accept(&ao, (const char *const *)c->accept, c->n_accept, &ares, err);
	if (rc)
		return vigil_err_prefix(err, rc, "accepting %zu explained changes", c->n_accept);
	res->accepted = c->n_accept;
	res->accepted_gen = ares.gen.id;
	say(o, VIGIL_LOG_NOTICE, "accepted %zu explained changes into generation %" PRId64, c->n_accept,
	    ares.gen.id);
	return 0;
}

int vigil_run_check(const struct vigil_run_opts *o, struct vigil_run_result *res, struct vigil_err *err)
{
	struct check c = { .o = o, .res = res };
	struct vigil_store *st = o->st;
	struct scan s = { .scratch = 1 };
	int rc, verify = !(o->flags & VIGIL_RUN_NO_VERIFY), scratch = 0;

	memset(res, 0, sizeof(*res));
	res->gen.id = o->gen;
	rc = st ? 0 : vigil_store_open(o->state_dir, VIGIL_STORE_RDONLY, &st, err);
	if (!rc && verify)
		rc = verify_newest(o->state_dir, st, &res->gen, err);
	if (!rc && !(o->flags & VIGIL_RUN_NO_FILES)) {
		rc = vigil_store_scratch_begin(st, err);
		scratch = !rc;
	}
	s.st = st;
	if (!rc && scratch)
		rc = scan(o, &s, &res->stats, err);
	/* The scan took a while: verify again, now, so the generation merged
	 * below is the one whose digest and signature were just checked (the
	 * store reads both in one snapshot). */
	if (!rc && verify)
		rc = verify_newest(o->state_dir, st, &res->gen, err);
	if (!rc && o->started)
		o->started(o->started_arg, &res->gen);
	if (!rc && scratch)
		rc = vigil_store_scratch_merge(st, res->gen.id, merge_cb, &c, err);
	if (!rc)
		rc = check_docker(&c, st, err);
	if (scratch)
		vigil_store_scratch_end(st);
	res->unreadable = s.unreadable;
	if (st != o->st)
		vigil_store_close(st);
	if (!rc && c.n_accept)
		rc = accept_explained(o, &c, res, err);
	for (size_t i = 0; i < c.n_accept; i++)
		free(c.accept[i]);
	free(c.accept);
	return rc;
}
