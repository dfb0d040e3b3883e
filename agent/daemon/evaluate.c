/* evaluate.c - the daemon's layer over the engine (agent/core/run.c,
 * compare.c): one path evaluated, rescans and checks run, scheduled
 * baselines stored, and every difference claimed in the reported map so
 * that one state gives one event. */
#include "config.h"

#include <errno.h>
#include <malloc.h>

#include "watch_priv.h"

void watch_say_log(void *arg, int level, const char *msg)
{
	vigil_log(level, "%s", msg);
}

/* A digest of the attributes in mask only (an attribute the scope does not
 * compare must not make a second event). */
static void fingerprint(const struct vigil_record *rec, unsigned mask, unsigned char fp[VIGIL_REPORTED_FP_LEN])
{
	struct vigil_record m;
	unsigned char *enc, d[32];
	size_t len;

	memset(fp, 0, VIGIL_REPORTED_FP_LEN);
	if (!rec) {
		fp[0] = 1;
		return;
	}
	m = *rec; /* shallow: only read by vigil_record_encode */
	if (!(mask & VIGIL_ATTR_MODE)) m.mode = 0;
	if (!(mask & VIGIL_ATTR_UID)) m.uid = 0;
	if (!(mask & VIGIL_ATTR_GID)) m.gid = 0;
	if (!(mask & VIGIL_ATTR_SIZE)) m.size = 0;
	if (!(mask & VIGIL_ATTR_MTIME)) m.mtime_ns = 0;
	if (!(mask & VIGIL_ATTR_CTIME)) m.ctime_ns = 0;
	if (!(mask & VIGIL_ATTR_INODE)) m.ino = 0;
	if (!(mask & VIGIL_ATTR_DEV)) m.dev = m.rdev = 0;
	if (!(mask & VIGIL_ATTR_NLINK)) m.nlink = 0;
	if (!(mask & VIGIL_ATTR_TARGET)) { m.target = NULL; m.target_len = 0; }
	if (!(mask & VIGIL_ATTR_XATTRS)) { m.xattrs = NULL; m.xattrs_len = 0; }
	if (!(mask & VIGIL_ATTR_FLAGS)) { m.flags = 0; m.has_flags = 0; }
	if (!(mask & VIGIL_ATTR_HASH)) { m.algos = 0; memset(m.digest, 0, sizeof(m.digest)); }
	m.status &= VIGIL_REC_UNREADABLE;
	memset(m.scope, 0, sizeof(m.scope));
	enc = vigil_record_encode(&m, &len);
	if (!enc) {
		fp[0] = 2; /* unknown: compares unequal to anything reported */
		fp[1] = (unsigned char)rand();
		return;
	}
	vigil_sha256(enc, len, d);
	free(enc);
	memcpy(fp, d, VIGIL_REPORTED_FP_LEN);
}

/* One decided change, built and queued for the loop only once the reported
 * map has said it is news (under the map's lock, so the queue keeps the
 * order in which states were recorded). */
struct emission {
	struct vigil_watch *w;
	const struct vigil_run_diff *d;
	const struct vigil_docker_locator *loc;
	const char *path; /* the path the event is about (a layer's: the change seen in it) */
	size_t len;
	const struct job *j;
	const char *action;
};

static int emission_push(void *arg)
{
	struct emission *em = arg;
	const struct vigil_run_diff *d = em->d;
	struct change *c = calloc(1, sizeof(*c));
	const struct job *j = em->j;

	if (!c)
		return -ENOMEM;
	c->type = C_FILE;
	if (d->old && vigil_record_copy(&c->old, d->old) == 0)
		c->has_old = 1;
	if (d->cur && vigil_record_copy(&c->cur, d->cur) == 0)
		c->has_cur = 1;
	if (!c->has_old && !c->has_cur && em->path) {
		/* Gone and never in the baseline, or a change seen in an image
		 * layer: the record carries the path only. */
		vigil_record_set_path(&c->old, em->path, em->len);
		c->has_old = 1;
	}
	snprintf(c->scope, sizeof(c->scope), "%s", d->scope ? d->scope : "");
	c->severity = d->severity;
	c->gen = __atomic_load_n(&em->w->gen, __ATOMIC_RELAXED);
	c->source = j->source;
	/* Only what is there now was renamed from somewhere: a path renamed into
	 * and away again before it was evaluated is gone, not renamed. */
	if (j->from && d->cur)
		c->extra = watch_path_json("renamed_from", j->from, strlen(j->from));
	else if (d->extra_json)
		c->extra = strdup(d->extra_json);
	if (d->message)
		c->message = strdup(d->message);
	if (em->path && vigil_docker_locate(em->loc, em->path, em->len, &c->where) < 0)
		memset(&c->where, 0, sizeof(c->where));
	c->pub.action = em->action;
	c->pub.changed = d->changed;
	c->pub.inotify_mask = j->mask;
	c->pub.first_seen_ns = j->first_ns;
	c->pub.time_ns = j->time_ns ? j->time_ns : vigil_clock_real_ns();
	return watch_result_push(em->w, c);
}

/* The daemon's layer over the engine's decision (compare.c, run.c): one
 * event per state, compared with what was last reported.  stamp:
 * vigil_reported_stamp() taken before cur was read, so that an observation
 * older than one already reported is not reported over it.  force (checks):
 * report every difference, even one already reported.  A Docker object is
 * claimed under "layer:<chain id>" / "image:<id>", its state being its
 * details. */
static void decide(struct vigil_watch *w, const struct job *j, const struct vigil_run_diff *d, uint64_t stamp,
		   int force, struct vigil_tally *t)
{
	struct emission em = { .w = w, .d = d, .loc = j->cr->loc, .path = d->path, .len = d->path_len, .j = j,
			       .action = d->action };
	unsigned char fp[VIGIL_REPORTED_FP_LEN], md[32];
	char key[VIGIL_DOCKER_DIGEST_LEN + 16];
	const char *kp = d->path;
	size_t kl = d->path_len;
	int matches = !d->action, news = 0;

	if (!d->path) {
		snprintf(key, sizeof(key), "%s:%s", strncmp(d->action, "image", 5) ? "layer" : "image", d->object);
		kp = key;
		kl = strlen(key);
		vigil_sha256(d->extra_json ? d->extra_json : "", d->extra_json ? strlen(d->extra_json) : 0, md);
		memcpy(fp, md, sizeof(fp));
		/* After changes seen in the layer's diff dir: one event per changed
		 * path (the path in the image), claimed under that path. */
		for (size_t i = 1; j->type == J_LAYER && i < j->nprefixes; i++) {
			em.path = j->prefixes[i];
			em.len = strlen(em.path);
			news |= vigil_reported_claim(w->rep, em.path, em.len, stamp, fp, force, emission_push, &em) == 1;
		}
		if (j->type == J_LAYER) {
			if (news)
				vigil_tally_add(t, em.action);
			return;
		}
	} else if (matches) {
		/* Back to the baseline state: emitted only after a reported change. */
		em.action = d->old || d->cur ? VIGIL_ACTION_RESTORED : VIGIL_ACTION_REMOVED;
	} else {
		fingerprint(d->cur, d->mask, fp);
	}
	if (vigil_reported_claim(w->rep, kp, kl, stamp, matches ? NULL : fp, force, emission_push, &em) != 1)
		return;
	if (!matches)
		vigil_tally_add(t, em.action);
}

/* Adds path to a J_LAYER job's changed paths (prefixes[1..]); 0 or -ENOMEM. */
static int layer_job_add(struct job *j, const char *path, size_t len)
{
	char **v;

	for (size_t i = 1; i < j->nprefixes; i++)
		if (strlen(j->prefixes[i]) == len && !memcmp(j->prefixes[i], path, len))
			return 0;
	if (j->nprefixes > LAYER_PATHS_MAX)
		return 0; /* the layer's events name the first ones; its findings say the rest */
	v = realloc(j->prefixes, (j->nprefixes + 2) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	j->prefixes = v;
	v[j->nprefixes] = strndup(path, len);
	if (!v[j->nprefixes])
		return -ENOMEM;
	v[++j->nprefixes] = NULL;
	return 0;
}

/* A change in an image layer's diff dir: the layer is verified whole, on the
 * slow worker (a layer can be large), once for every change queued meanwhile;
 * each changed path gets its event.  prefixes[0]: the chain id. */
static void queue_layer(struct vigil_watch *w, const struct job *pj)
{
	struct vigil_docker_where where;
	struct job *j = NULL, *q;
	int merged = 0;

	if (vigil_docker_locate(pj->cr->loc, pj->path, pj->len, &where) != VIGIL_DOCKER_IN_LAYER)
		return;
	pthread_mutex_lock(&w->slow.mu);
	for (q = w->slow.head; q && !merged; q = q->next)
		if (q->type == J_LAYER && !strcmp(q->prefixes[0], where.id))
			merged = !layer_job_add(q, pj->path, pj->len);
	pthread_mutex_unlock(&w->slow.mu);
	if (!merged)
		j = watch_job_new(w, J_LAYER, pj->path, pj->len, "inotify");
	if (j && (j->prefixes = calloc(2, sizeof(char *))) && (j->prefixes[0] = strdup(where.id))) {
		j->nprefixes = 1;
		j->mask = pj->mask;
		j->first_ns = pj->first_ns;
		j->time_ns = pj->time_ns;
		if (!layer_job_add(j, pj->path, pj->len)) {
			watch_jobq_push(&w->slow, j);
			j = NULL;
		}
	}
	watch_job_free(j);
	vigil_docker_where_clear(&where);
}

/* dec concerns a package: 1 when j waits for dpkg (dpkgwait.c); past
 * packages.dpkg_wait the event says that dpkg's lock was held too long. */
static int dpkg_wait(struct vigil_watch *w, const struct job *j, struct vigil_decision *dec)
{
	char note[128];
	size_t n;

	if (!j->dpkg_overdue)
		return vigil_dpkg_lock_held(NULL) == 1 && watch_dpkg_hold(w, j);
	snprintf(note, sizeof(note), "dpkg's lock was held for longer than %ds (packages.dpkg_wait): judged anyway",
		 j->cr->cfg->packages_dpkg_wait_s);
	if (dec->message && dec->message != dec->msg_buf)
		snprintf(dec->msg_buf, sizeof(dec->msg_buf), "%s", dec->message);
	else if (!dec->message)
		dec->msg_buf[0] = '\0';
	n = strlen(dec->msg_buf);
	snprintf(dec->msg_buf + n, sizeof(dec->msg_buf) - n, "%s%s", n ? "; " : "", note);
	dec->message = dec->msg_buf;
	return 0;
}

void watch_eval_path(struct vigil_watch *w, struct vigil_store *st, struct job *j)
{
	const struct vigil_config *cfg = j->cr->cfg;
	const struct vigil_scope *sc = vigil_walk_scope_for(&j->cr->watched, j->path, j->len);
	const struct vigil_explainer *px = vigil_dpkg_explainer(j->cr->pkg);
	struct vigil_record old, cur;
	struct vigil_decision dec;
	struct vigil_run_diff d = { 0 };
	struct vigil_err err = { "" };
	struct vigil_tally t = { 0 };
	uint64_t stamp;
	int rc, has_old;

	if (!sc && j->dpkg_since) /* held for dpkg by a check: any scope judges it */
		sc = vigil_walk_scope_for(cfg, j->path, j->len);
	if (!sc)
		return;
	if (sc->auto_kind == VIGIL_AUTO_DOCKER_LAYERS || vigil_docker_in_layer(j->cr->loc, j->path, j->len)) {
		queue_layer(w, j); /* never a record, as in run.c */
		return;
	}
	vigil_record_init(&old);
	vigil_record_init(&cur);
	stamp = vigil_reported_stamp(w->rep);
	rc = vigil_walk_one(NULL, j->path, j->len,
			    (cfg->algos ? cfg->algos : VIGIL_ALGOS_DEFAULT) | (px ? px->algos : 0), cfg->max_file_size,
			    &cur, &err);
	if (rc) {
		vigil_log_debug("%s", err.msg);
		goto out;
	}
	rc = vigil_store_get(st, __atomic_load_n(&w->gen, __ATOMIC_RELAXED), j->path, j->len, &old, &err);
	if (rc && rc != -ENOENT) {
		vigil_log_debug("%s", err.msg);
		goto out;
	}
	has_old = rc == 0;
	/* The record's scope is the one that selects the path now. */
	d.old = has_old ? &old : NULL;
	d.cur = cur.ftype != VIGIL_FT_NONE ? &cur : NULL;
	vigil_compare(sc, d.old, d.cur, &dec);
	if (dec.action && px) { /* packages: the generation's time is "since" */
		struct vigil_generation g;
		const char *plain = dec.action;

		if (!vigil_store_generation(st, __atomic_load_n(&w->gen, __ATOMIC_RELAXED), &g, NULL) &&
		    px->explain(px->arg, g.created, j->path, j->len, d.old, d.cur, &dec))
			goto out;
		/* a package's path while dpkg runs: judged once it is done */
		if ((dec.action != plain || dec.explain_json) && dpkg_wait(w, j, &dec))
			goto out;
	}
	d.message = dec.message;
	d.extra_json = dec.explain_json;
	d.action = dec.action;
	d.severity = dec.severity;
	d.changed = dec.changed;
	d.mask = dec.mask;
	d.sc = sc;
	d.scope = sc->name;
	d.path = j->path;
	d.path_len = j->len;
	decide(w, j, &d, stamp, 0, &t);
out:
	vigil_record_clear(&old);
	vigil_record_clear(&cur);
}

struct rescan {
	struct vigil_watch *w;
	struct job *j;
	uint64_t stamp; /* taken before the walk: every record is at least that new */
	int force;
	struct vigil_tally t;
	struct watch_dpkg_run dr; /* package verdicts while dpkg runs: held */
};

/* A walk of a large tree can take minutes: at stop it gives up at the next
 * record (in-flight files are still hashed to the end, one per walk thread). */
static int walk_cancelled(void *arg)
{
	struct rescan *r = arg;

	return __atomic_load_n(&r->w->cancel, __ATOMIC_RELAXED);
}

static int rescan_diff(void *arg, const struct vigil_run_diff *d)
{
	struct rescan *r = arg;

	if (!watch_dpkg_run_hold(r->w, &r->dr, r->j, d))
		decide(r->w, r->j, d, r->stamp, r->force, &r->t);
	return 0;
}

/* The image layers a rescan verifies: those whose diff dir is below one of
 * its prefixes or holds one (all for a full rescan).  NULL-free array. */
static const char **rescan_layers(const struct job *j, size_t *n)
{
	const struct vigil_docker_locator *loc = j->cr->loc;
	size_t nl = vigil_docker_locator_n_layers(loc);
	const char **v = calloc(nl + 1, sizeof(*v));

	*n = 0;
	for (size_t i = 0; v && i < nl; i++) {
		const char *dir = vigil_docker_locator_layer_dir(loc, i);
		int in = !j->nprefixes;

		for (size_t k = 0; k < j->nprefixes && !in; k++)
			in = watch_under(dir, strlen(dir), j->prefixes[k]) ||
			     watch_under(j->prefixes[k], strlen(j->prefixes[k]), dir);
		if (in)
			v[(*n)++] = vigil_docker_locator_layer_id(loc, i);
	}
	return v;
}

/* Rescans (watched scopes, optionally only below prefixes; image layers
 * there verified), layer verifications after a change in a diff dir, and
 * checks (everything, every difference reported, exactly as `vigil check`:
 * the same engine, agent/core/run.c). */
void watch_run_compare(struct vigil_watch *w, struct vigil_store *st, struct job *j)
{
	struct rescan r = { .w = w, .j = j, .force = j->type == J_CHECK && !j->startup };
	struct vigil_run_opts o = {
		.loc = j->cr->loc, .state_dir = w->state_dir, .st = st,
		.gen = __atomic_load_n(&w->gen, __ATOMIC_RELAXED),
		.diff = rescan_diff, .diff_arg = &r, .say = watch_say_log, .explain = watch_dpkg_run_init(&r.dr, j),
		.cancelled = walk_cancelled, .cancel_arg = &r,
	};
	struct vigil_run_result res;
	struct vigil_err err = { "" };
	const char **layers = NULL;
	int rc;

	if (j->type == J_CHECK) {
		o.cfg = j->cr->cfg;
	} else {
		o.cfg = &j->cr->watched;
		o.flags = VIGIL_RUN_NO_VERIFY | VIGIL_RUN_COVERED_ONLY | VIGIL_RUN_ALL_PATHS;
		if (j->type == J_LAYER) {
			o.flags |= VIGIL_RUN_NO_FILES; /* no file of a diff dir is a record */
			o.layers = (const char *const *)j->prefixes; /* [0]: the chain id */
			o.n_layers = 1;
		} else {
			o.only = (const char *const *)j->prefixes;
			layers = rescan_layers(j, &o.n_layers);
			o.layers = layers;
			if (!layers)
				o.flags |= VIGIL_RUN_NO_DOCKER;
		}
	}
	/* The walk takes long before the merge compares: a path reported by the
	 * path worker meanwhile is newer than what the walk read. */
	r.stamp = vigil_reported_stamp(w->rep);
	rc = vigil_run_check(&o, &res, &err);
	if (rc == -ENOENT && j->type == J_LAYER)
		rc = 0; /* the layer went away with its image meanwhile */
	free(layers);
	/* A check reports every difference; what it counts is what `vigil check` counts. */
	watch_done_push(w, j, rc, rc ? err.msg : NULL, j->type == J_CHECK ? &res.t : &r.t, 0);
	malloc_trim(0);
}

static int compliance_objects(void *arg, struct vigil_store *st, struct vigil_err *err)
{
	struct vigil_watch *w = arg;

	return w->compliance_fn ? w->compliance_fn(w->compliance_ctx, st, err) : 0;
}

/* `retention:` after a scheduled generation: what was pruned, for the
 * generation-pruned event (note stays empty when nothing was). */
static void retain(struct vigil_watch *w, const struct vigil_config *cfg, char *note, size_t len)
{
	struct vigil_store *st = NULL;
	struct vigil_err err = { "" };
	int64_t *pruned = NULL;
	size_t n = 0, o;
	int rc = vigil_store_open(w->state_dir, 0, &st, &err);

	if (!rc)
		rc = vigil_store_retain_policy(st, w->state_dir, (unsigned)cfg->retention_keep,
					       cfg->retention_max_age_s, &pruned, &n, &err);
	vigil_store_close(st);
	if (rc) {
		snprintf(note, len, "retention failed: %s", err.msg);
		return;
	}
	o = n ? (size_t)snprintf(note, len, "retention pruned generation%s", n > 1 ? "s" : "") : 0;
	for (size_t i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(note + o, len - o, "%s %" PRId64, i ? "," : "", pruned[i]);
	free(pruned);
}

void watch_run_baseline(struct vigil_watch *w, struct job *j)
{
	struct rescan r = { .w = w, .j = j };
	int compliance = j->source && !strcmp(j->source, "compliance");
	struct vigil_run_opts o = {
		.cfg = j->cr->cfg, .loc = j->cr->loc, .state_dir = w->state_dir,
		.kind = compliance ? "compliance" : "scheduled", .say = watch_say_log,
		.cancelled = walk_cancelled, .cancel_arg = &r,
		.objects = compliance ? compliance_objects : NULL, .objects_arg = w,
	};
	struct vigil_run_result res;
	struct vigil_err err = { "" };
	char note[512] = "";
	int rc = vigil_run_baseline(&o, &res, &err);

	if (!rc && (o.cfg->retention_keep || o.cfg->retention_max_age_s))
		retain(w, o.cfg, note, sizeof(note));
	watch_done_push(w, j, rc, rc ? err.msg : note[0] ? note : NULL, NULL, rc ? 0 : res.gen.id);
	malloc_trim(0);
}
