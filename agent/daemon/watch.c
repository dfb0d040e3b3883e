/* watch.c - `vigil watch`: the always-on FIM daemon.  One epoll loop owns
 * every fd (inotify, signalfd, timers, control socket, outputs, and whatever
 * a plugged-in module adds); two worker threads do everything that touches
 * the disk: the "fast" one evaluates single paths, the "slow" one runs
 * rescans, checks and scheduled baselines.  See watch.h for the flow. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "vigil/cli.h"
#include "vigil/ctl.h"
#include "vigil/docker.h"
#include "vigil/err.h"
#include "vigil/event.h"
#include "vigil/inotify.h"
#include "vigil/notify.h"
#include "vigil/output.h"
#include "vigil/reported.h"
#include "vigil/run.h"
#include "vigil/sched.h"
#include "vigil/sign.h"
#include "vigil/store.h"
#include "vigil/walk.h"
#include "vigil/watch.h"

#define PENDING_MAX 65536   /* debounced paths; beyond: one full rescan instead */
#define JOBS_MAX 65536      /* queued path evaluations; beyond: one full rescan */
#define RESULTS_MAX 100000  /* changes waiting for the loop; beyond: dropped, counted */
#define REPORTED_MAX 65536  /* paths whose last reported state is remembered */
#define PREFIXES_MAX 256    /* subtrees waiting for a rescan; beyond: a full rescan */
#define STOP_WAIT_MS 2000   /* at stop: time for pending changes and outputs */
#define LIMIT_EVENT_EVERY_S 600

/* ---- config references: a reload swaps the config while jobs still use the old one ---- */

static void say_log(void *arg, int level, const char *msg)
{
	vigil_log(level, "%s", msg);
}

struct cfgref {
	struct vigil_config *cfg;
	struct vigil_docker_locator *loc; /* Docker terms; NULL without a data root */
	struct vigil_config watched; /* shallow copy holding only `watch: true` scopes */
	int refs;
};

static struct cfgref *cfgref_new(struct vigil_config *cfg)
{
	struct cfgref *r = calloc(1, sizeof(*r));
	size_t n = 0;

	if (!r)
		return NULL;
	/* The `auto:` scopes, as every command fills them (agent/core/run.c). */
	if (vigil_run_prepare(cfg, NULL, &r->loc, say_log, NULL)) {
		free(r);
		return NULL;
	}
	r->watched = *cfg;
	r->watched.scopes = calloc(cfg->n_scopes ? cfg->n_scopes : 1, sizeof(*cfg->scopes));
	if (!r->watched.scopes) {
		vigil_docker_locator_free(r->loc);
		free(r);
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_scopes; i++)
		if (cfg->scopes[i].watch)
			r->watched.scopes[n++] = cfg->scopes[i];
	r->watched.n_scopes = n;
	r->cfg = cfg;
	r->refs = 1;
	return r;
}

static struct cfgref *cfgref_get(struct cfgref *r)
{
	__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	return r;
}

static void cfgref_put(struct cfgref *r)
{
	if (!r || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL))
		return;
	free(r->watched.scopes);
	vigil_docker_locator_free(r->loc);
	vigil_config_free(r->cfg);
	free(r);
}

/* ---- jobs and results ---- */

enum { J_PATH = 1, J_RESCAN, J_CHECK, J_BASELINE, J_LAYER };

struct job {
	struct job *next;
	int type;
	struct cfgref *cr;
	uint64_t client;  /* control client waiting for the answer, 0 none */
	uint32_t mask;
	int64_t first_ns, time_ns;
	char *from;       /* J_PATH: renamed from */
	char **prefixes;  /* J_RESCAN: subtrees, NULL = every watched scope */
	size_t nprefixes;
	const char *source;
	size_t len;
	char path[];
};

struct jobq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, *tail;
	size_t n;
	int stop;
	int busy;
};

enum { C_FILE = 1, C_DONE };

struct change {
	struct change *next;
	int type;
	struct vigil_change pub;
	struct vigil_record old, cur;
	int has_old, has_cur;
	char scope[64];
	int severity;
	int64_t gen;
	const char *source;
	char *extra;
	char *message;
	struct vigil_docker_where where; /* the path in Docker's terms */
	int64_t hold_until;
	/* C_DONE */
	int job;
	uint64_t client;
	int rc;
	char msg[512];
	uint64_t added, removed, changed, unreadable, seen;
	int64_t new_gen;
};

/* ---- debounced paths (loop thread only) ---- */

struct pend {
	struct pend *hnext, *prev, *next;
	int64_t first_ns, time_ns, deadline;
	uint32_t mask;
	char *from;
	size_t len;
	char path[];
};

struct vigil_watch {
	struct vigil_cli *cli;
	struct cfgref *cr;
	const char *state_dir;
	int64_t gen;            /* baseline generation compared with (atomic) */
	int64_t started_ns, started_real;
	char host[256];

	struct vigil_loop *loop;
	struct vigil_inotify *ino;
	struct vigil_output_set *out;
	struct vigil_sched *sched;
	struct vigil_ctl *ctl;
	int sigfd;
	struct vigil_loop_timer *debounce, *hold, *periodic, *watchdog;
	struct vigil_loop_async *wake;
	char *scopes_sig;       /* what the watches were built from */
	int docker_fd;          /* inotify on Docker's layer store and containers, -1 none */
	struct vigil_loop_timer *docker_timer;

	/* debounce */
	struct pend **phash;
	size_t pbuckets, npend;
	struct pend *phead, *ptail;
	char *prefixes[PREFIXES_MAX];
	size_t nprefixes;
	int full_rescan_wanted;
	int rescan_queued;

	/* workers */
	struct jobq fast, slow;
	pthread_t fast_th, slow_th;
	int threads_started;
	int cancel;             /* atomic: stopping, running walks give up */
	uint64_t not_evaluated; /* path jobs dropped at stop */

	/* results */
	pthread_mutex_t res_mu;
	struct change *res_head, *res_tail;
	size_t nres;
	uint64_t res_dropped;
	struct change *held_head, *held_tail;
	size_t nheld;

	struct vigil_reported *rep;

	vigil_watch_who_fn who_fn;
	void *who_ctx;
	int hold_ms;

	/* status */
	uint64_t events, internal_dropped, overflows, limit_events;
	int64_t last_limit_event;
	int64_t last_check_real;
	struct vigil_tally last_check;
	int have_check;
	int stopping;
	int exit_code;
};

/* ======================================================================= */
/* small helpers                                                           */

static int64_t now_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t hash_bytes(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

static int under(const char *path, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 1 && prefix[0] == '/')
		return 1;
	return len >= n && !memcmp(path, prefix, n) && (len == n || path[n] == '/');
}

static uint64_t rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	unsigned long size = 0, res = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

/* {"key":"escaped path"} for extra_json. */
static char *path_json(const char *key, const char *path, size_t len)
{
	char *e = vigil_path_escape(path, len), *s = NULL;
	json_t *o;

	if (!e)
		return NULL;
	o = json_pack("{s:s}", key, e);
	if (o)
		s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(e);
	return s;
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

/* ======================================================================= */
/* results: workers -> loop                                                */

/* -ENOBUFS when the loop is that far behind (the change is freed, counted). */
static int result_push(struct vigil_watch *w, struct change *c)
{
	pthread_mutex_lock(&w->res_mu);
	if (c->type == C_FILE && w->nres >= RESULTS_MAX) {
		w->res_dropped++;
		pthread_mutex_unlock(&w->res_mu);
		vigil_record_clear(&c->old);
		vigil_record_clear(&c->cur);
		free(c->extra);
		free(c->message);
		vigil_docker_where_clear(&c->where);
		free(c);
		return -ENOBUFS;
	}
	if (w->res_tail)
		w->res_tail->next = c;
	else
		w->res_head = c;
	w->res_tail = c;
	w->nres++;
	pthread_mutex_unlock(&w->res_mu);
	vigil_loop_async_send(w->wake);
	return 0;
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
	if (j->from)
		c->extra = path_json("renamed_from", j->from, strlen(j->from));
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
	c->pub.time_ns = j->time_ns ? j->time_ns : now_real_ns();
	return result_push(em->w, c);
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

static void done_push(struct vigil_watch *w, const struct job *j, int rc, const char *msg,
		      const struct vigil_tally *t, int64_t new_gen)
{
	struct change *c = calloc(1, sizeof(*c));

	if (!c)
		return;
	c->type = C_DONE;
	c->job = j->type;
	c->client = j->client;
	c->rc = rc;
	snprintf(c->msg, sizeof(c->msg), "%s", msg ? msg : "");
	if (t) {
		c->added = t->added;
		c->removed = t->removed;
		c->changed = t->changed;
		c->unreadable = t->unreadable;
		c->seen = t->seen;
	}
	c->new_gen = new_gen;
	result_push(w, c);
}

/* ======================================================================= */
/* workers                                                                 */

static void jobq_init(struct jobq *q)
{
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	cfgref_put(j->cr);
	free(j->from);
	for (size_t i = 0; i < j->nprefixes; i++)
		free(j->prefixes[i]);
	free(j->prefixes);
	free(j);
}

static void jobq_push(struct jobq *q, struct job *j)
{
	pthread_mutex_lock(&q->mu);
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static size_t jobq_len(struct jobq *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->n + (size_t)q->busy;
	pthread_mutex_unlock(&q->mu);
	return n;
}

struct worker {
	struct vigil_watch *w;
	struct jobq *q;
	struct vigil_store *st;
};

static struct job *job_new(struct vigil_watch *w, int type, const char *path, size_t len, const char *source);

#define LAYER_PATHS_MAX 256 /* changed paths one layer verification names at most */

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
		j = job_new(w, J_LAYER, pj->path, pj->len, "inotify");
	if (j && (j->prefixes = calloc(2, sizeof(char *))) && (j->prefixes[0] = strdup(where.id))) {
		j->nprefixes = 1;
		j->mask = pj->mask;
		j->first_ns = pj->first_ns;
		j->time_ns = pj->time_ns;
		if (!layer_job_add(j, pj->path, pj->len)) {
			jobq_push(&w->slow, j);
			j = NULL;
		}
	}
	job_free(j);
	vigil_docker_where_clear(&where);
}

static void eval_path(struct vigil_watch *w, struct vigil_store *st, struct job *j)
{
	const struct vigil_config *cfg = j->cr->cfg;
	const struct vigil_scope *sc = vigil_walk_scope_for(&j->cr->watched, j->path, j->len);
	struct vigil_record old, cur;
	struct vigil_decision dec;
	struct vigil_run_diff d = { 0 };
	struct vigil_err err = { "" };
	struct vigil_tally t = { 0 };
	uint64_t stamp;
	int rc, has_old;

	if (!sc)
		return;
	if (sc->auto_kind == VIGIL_AUTO_DOCKER_LAYERS) {
		queue_layer(w, j);
		return;
	}
	vigil_record_init(&old);
	vigil_record_init(&cur);
	stamp = vigil_reported_stamp(w->rep);
	rc = vigil_walk_one(NULL, j->path, j->len, cfg->algos, cfg->max_file_size, &cur, &err);
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
			in = under(dir, strlen(dir), j->prefixes[k]) ||
			     under(j->prefixes[k], strlen(j->prefixes[k]), dir);
		if (in)
			v[(*n)++] = vigil_docker_locator_layer_id(loc, i);
	}
	return v;
}

/* Rescans (watched scopes, optionally only below prefixes; image layers
 * there verified), layer verifications after a change in a diff dir, and
 * checks (everything, every difference reported, exactly as `vigil check`:
 * the same engine, agent/core/run.c). */
static void run_compare(struct vigil_watch *w, struct vigil_store *st, struct job *j)
{
	struct rescan r = { .w = w, .j = j, .force = j->type == J_CHECK };
	struct vigil_run_opts o = {
		.loc = j->cr->loc, .state_dir = w->state_dir, .st = st,
		.gen = __atomic_load_n(&w->gen, __ATOMIC_RELAXED),
		.diff = rescan_diff, .diff_arg = &r, .say = say_log,
		.cancelled = walk_cancelled, .cancel_arg = &r,
	};
	struct vigil_run_result res;
	struct vigil_err err = { "" };
	const char **layers = NULL;
	const char *only[2] = { NULL, NULL };
	int rc;

	if (j->type == J_CHECK) {
		o.cfg = j->cr->cfg;
	} else {
		o.cfg = &j->cr->watched;
		o.flags = VIGIL_RUN_NO_VERIFY | VIGIL_RUN_COVERED_ONLY | VIGIL_RUN_ALL_PATHS;
		if (j->type == J_LAYER) {
			only[0] = j->path; /* no file of a diff dir is a record: nothing to walk */
			o.only = only;
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
	done_push(w, j, rc, rc ? err.msg : NULL, j->type == J_CHECK ? &res.t : &r.t, 0);
	malloc_trim(0);
}

static void run_baseline(struct vigil_watch *w, struct job *j)
{
	struct rescan r = { .w = w, .j = j };
	struct vigil_run_opts o = {
		.cfg = j->cr->cfg, .state_dir = w->state_dir, .kind = "scheduled", .say = say_log,
		.cancelled = walk_cancelled, .cancel_arg = &r,
	};
	struct vigil_run_result res;
	struct vigil_err err = { "" };
	int rc = vigil_run_baseline(&o, &res, &err);

	done_push(w, j, rc, rc ? err.msg : NULL, NULL, rc ? 0 : res.gen.id);
	malloc_trim(0);
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct jobq *q = wk->q;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&q->mu);
		while (!q->head && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		if (!q->head) {
			pthread_mutex_unlock(&q->mu);
			break;
		}
		j = q->head;
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
		q->n--;
		q->busy = 1;
		if (j->type == J_RESCAN && !j->nprefixes)
			__atomic_store_n(&wk->w->rescan_queued, 0, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&q->mu);
		switch (j->type) {
		case J_PATH: eval_path(wk->w, wk->st, j); break;
		case J_RESCAN:
		case J_LAYER:
		case J_CHECK: run_compare(wk->w, wk->st, j); break;
		case J_BASELINE: run_baseline(wk->w, j); break;
		}
		job_free(j);
		pthread_mutex_lock(&q->mu);
		q->busy = 0;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
	}
	vigil_store_close(wk->st);
	free(wk);
	return NULL;
}

static int worker_start(struct vigil_watch *w, struct jobq *q, pthread_t *th, struct vigil_err *err)
{
	struct worker *wk = calloc(1, sizeof(*wk));
	pthread_attr_t attr;
	int rc;

	if (!wk)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	wk->w = w;
	wk->q = q;
	rc = vigil_store_open(w->state_dir, VIGIL_STORE_RDONLY, &wk->st, err);
	if (rc) {
		free(wk);
		return rc;
	}
	pthread_attr_init(&attr);
	/* The walker and SQLite need little stack; 256 KiB keeps RSS honest. */
	pthread_attr_setstacksize(&attr, 512 * 1024);
	rc = -pthread_create(th, &attr, worker_main, wk);
	pthread_attr_destroy(&attr);
	if (rc) {
		vigil_store_close(wk->st);
		free(wk);
		return vigil_err_set(err, rc, "worker thread: %s", strerror(-rc));
	}
	return 0;
}

/* Stops both workers without waiting for their queues: what is queued is
 * dropped (path jobs counted in not_evaluated) and a running walk gives up,
 * so the wait is one job at most: one path, or the files a cancelled walk
 * is hashing.  A read that hangs (a dead NFS server) still hangs here. */
static void workers_stop(struct vigil_watch *w)
{
	struct jobq *qs[2] = { &w->fast, &w->slow };

	if (!w->threads_started)
		return;
	__atomic_store_n(&w->cancel, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++) {
		pthread_mutex_lock(&qs[i]->mu);
		qs[i]->stop = 1;
		while (qs[i]->head) {
			struct job *j = qs[i]->head;

			qs[i]->head = j->next;
			qs[i]->n--;
			w->not_evaluated += j->type == J_PATH;
			job_free(j);
		}
		qs[i]->tail = NULL;
		pthread_cond_broadcast(&qs[i]->cv);
		pthread_mutex_unlock(&qs[i]->mu);
	}
	pthread_join(w->fast_th, NULL);
	pthread_join(w->slow_th, NULL);
	w->threads_started = 0;
}

static struct job *job_new(struct vigil_watch *w, int type, const char *path, size_t len, const char *source)
{
	struct job *j = calloc(1, sizeof(*j) + len + 1);

	if (!j)
		return NULL;
	j->type = type;
	j->cr = cfgref_get(w->cr);
	j->source = source;
	j->len = len;
	if (path)
		memcpy(j->path, path, len);
	return j;
}

/* ======================================================================= */
/* emitting (loop thread)                                                  */

void vigil_watch_emit(struct vigil_watch *w, const struct vigil_event *ev)
{
	char *line = vigil_event_json(ev, w->host);

	if (!line) {
		w->internal_dropped++;
		return;
	}
	vigil_output_emit(w->out, line, strlen(line), ev->severity, ev->action);
	w->events++;
	free(line);
}

/* A daemon event: about the watching itself, not a file. */
static void emit_info(struct vigil_watch *w, const char *action, int severity, const char *extra,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void emit_info(struct vigil_watch *w, const char *action, int severity, const char *extra,
		      const char *fmt, ...)
{
	struct vigil_event ev = { 0 };
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ev.action = action;
	ev.kind = "event";
	ev.severity = severity;
	ev.message = msg;
	ev.generation = w->gen;
	ev.source = "watch";
	ev.extra_json = extra;
	vigil_watch_emit(w, &ev);
}

static void change_free(struct change *c)
{
	vigil_record_clear(&c->old);
	vigil_record_clear(&c->cur);
	free(c->extra);
	free(c->message);
	vigil_docker_where_clear(&c->where);
	free(c);
}

static void emit_change(struct vigil_watch *w, struct change *c)
{
	struct vigil_who who = { 0 };
	struct vigil_event ev = { 0 };

	c->pub.old = c->has_old && c->old.ftype != VIGIL_FT_NONE ? &c->old : NULL;
	c->pub.cur = c->has_cur ? &c->cur : NULL;
	c->pub.path = c->has_cur ? c->cur.path : c->old.path;
	c->pub.path_len = c->has_cur ? c->cur.path_len : c->old.path_len;
	c->pub.scope = c->scope;
	if (w->who_fn) {
		who.pid = who.ppid = 0;
		who.uid = who.euid = who.auid = who.gid = -1;
		who.known = w->who_fn(w->who_ctx, &c->pub, &who) == 1;
		ev.who = &who;
	}
	ev.action = c->pub.action;
	ev.severity = c->severity;
	ev.scope = c->scope;
	ev.generation = c->gen;
	/* A removed path never in the baseline: its record holds only the path. */
	ev.old = c->has_old ? &c->old : NULL;
	ev.cur = c->pub.cur;
	ev.changed = c->pub.changed;
	ev.source = c->source;
	ev.extra_json = c->extra;
	ev.message = c->message;
	ev.docker = c->where.kind ? &c->where : NULL;
	ev.time_ns = c->pub.time_ns;
	vigil_watch_emit(w, &ev);
}

static void hold_arm(struct vigil_watch *w)
{
	if (w->held_head)
		vigil_loop_timer_arm_abs(w->hold, w->held_head->hold_until);
	else
		vigil_loop_timer_disarm(w->hold);
}

static void hold_fire(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	struct vigil_watch *w = ctx;
	int64_t now = vigil_loop_now_ns();

	while (w->held_head && (w->held_head->hold_until <= now || w->stopping)) {
		struct change *c = w->held_head;

		w->held_head = c->next;
		if (!w->held_head)
			w->held_tail = NULL;
		w->nheld--;
		emit_change(w, c);
		change_free(c);
	}
	hold_arm(w);
}

static void start_job_check_reply(struct vigil_watch *w, struct change *c);

static void on_done(struct vigil_watch *w, struct change *c)
{
	switch (c->job) {
	case J_RESCAN:
	case J_LAYER:
		if (c->rc)
			vigil_log_warn("%s failed: %s", c->job == J_LAYER ? "layer verification" : "rescan", c->msg);
		break;
	case J_CHECK:
		start_job_check_reply(w, c);
		break;
	case J_BASELINE:
		if (c->rc) {
			emit_info(w, VIGIL_ACTION_BASELINE_FAILED, VIGIL_SEV_HIGH, NULL,
				  "scheduled baseline failed: %s", c->msg);
			break;
		}
		/* Differences were against the old generation: start afresh. */
		__atomic_store_n(&w->gen, c->new_gen, __ATOMIC_RELAXED);
		vigil_reported_clear(w->rep);
		{
			/* the new signed head: a SIEM that sees its counter go down has seen a rollback */
			struct vigil_store_head h;
			char head[192];
			int ok = !vigil_store_head_read(w->state_dir, NULL, &h, NULL) &&
				 !vigil_store_head_json(&h, head, sizeof(head));

			emit_info(w, VIGIL_ACTION_BASELINE, 0, ok ? head : NULL, "baseline generation %" PRId64
				  " stored (head counter %" PRIu64 ")", c->new_gen, ok ? h.counter : 0);
		}
		break;
	}
}

static void on_results(struct vigil_loop_async *a, void *ctx)
{
	struct vigil_watch *w = ctx;
	struct change *c, *next;

	pthread_mutex_lock(&w->res_mu);
	c = w->res_head;
	w->res_head = w->res_tail = NULL;
	w->nres = 0;
	pthread_mutex_unlock(&w->res_mu);
	for (; c; c = next) {
		next = c->next;
		c->next = NULL;
		if (c->type == C_DONE) {
			on_done(w, c);
			free(c);
			continue;
		}
		if (w->who_fn && w->hold_ms > 0 && !w->stopping) {
			int64_t base = c->pub.first_seen_ns ? c->pub.first_seen_ns : vigil_loop_now_ns();

			c->hold_until = base + (int64_t)w->hold_ms * 1000000;
			if (w->held_tail)
				w->held_tail->next = c;
			else
				w->held_head = c;
			w->held_tail = c;
			w->nheld++;
			if (!vigil_loop_timer_armed(w->hold))
				hold_arm(w);
			continue;
		}
		emit_change(w, c);
		change_free(c);
	}
}

/* ======================================================================= */
/* debouncing (loop thread)                                                */

static void queue_full_rescan(struct vigil_watch *w, uint64_t client)
{
	struct job *j;

	if (!client && __atomic_load_n(&w->rescan_queued, __ATOMIC_RELAXED))
		return;
	j = job_new(w, J_RESCAN, NULL, 0, "rescan");
	if (!j)
		return;
	j->client = client;
	__atomic_store_n(&w->rescan_queued, 1, __ATOMIC_RELAXED);
	jobq_push(&w->slow, j);
}

static void pend_unlink(struct vigil_watch *w, struct pend *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		w->phead = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		w->ptail = p->prev;
	p->prev = p->next = NULL;
}

static void pend_append(struct vigil_watch *w, struct pend *p)
{
	p->prev = w->ptail;
	p->next = NULL;
	if (w->ptail)
		w->ptail->next = p;
	else
		w->phead = p;
	w->ptail = p;
}

static void pend_drop_all(struct vigil_watch *w)
{
	struct pend *p = w->phead, *next;

	for (; p; p = next) {
		next = p->next;
		free(p->from);
		free(p);
	}
	w->phead = w->ptail = NULL;
	memset(w->phash, 0, w->pbuckets * sizeof(*w->phash));
	w->npend = 0;
}

static struct pend **pend_slot(struct vigil_watch *w, const char *path, size_t len)
{
	struct pend **pp = &w->phash[hash_bytes(path, len) & (w->pbuckets - 1)];

	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->len == len && !memcmp((*pp)->path, path, len))
			break;
	return pp;
}

static void debounce_arm(struct vigil_watch *w)
{
	int64_t when = 0;

	if (w->phead)
		when = w->phead->deadline;
	if ((w->nprefixes || w->full_rescan_wanted) && (!when || when > vigil_loop_now_ns()))
		when = vigil_loop_now_ns() + (int64_t)w->cr->cfg->debounce_ms * 1000000;
	if (when)
		vigil_loop_timer_arm_abs(w->debounce, when);
}

static void pend_add(struct vigil_watch *w, const char *path, size_t len, uint32_t mask, const char *from)
{
	int64_t now = vigil_loop_now_ns(), d = (int64_t)w->cr->cfg->debounce_ms * 1000000;
	struct pend **pp, *p;

	if (w->full_rescan_wanted)
		return; /* everything will be compared anyway */
	pp = pend_slot(w, path, len);
	p = *pp;
	if (p) {
		p->mask |= mask;
		/* Writes keep coming: wait for them to stop, but not forever
		 * (a file appended to all the time is reported every 10 windows). */
		if (now + d <= p->first_ns + 10 * d) {
			p->deadline = now + d;
			pend_unlink(w, p);
			pend_append(w, p);
		}
	} else {
		if (w->npend >= PENDING_MAX) {
			pend_drop_all(w);
			w->full_rescan_wanted = 1;
			debounce_arm(w);
			return;
		}
		if (w->npend + 1 > w->pbuckets) {
			size_t nb = w->pbuckets * 2;
			struct pend **h = calloc(nb, sizeof(*h));

			if (h) {
				for (struct pend *q = w->phead; q; q = q->next) {
					size_t s = hash_bytes(q->path, q->len) & (nb - 1);

					q->hnext = h[s];
					h[s] = q;
				}
				free(w->phash);
				w->phash = h;
				w->pbuckets = nb;
				pp = pend_slot(w, path, len);
			}
		}
		p = calloc(1, sizeof(*p) + len + 1);
		if (!p)
			return;
		memcpy(p->path, path, len);
		p->len = len;
		p->first_ns = now;
		p->time_ns = now_real_ns();
		p->deadline = now + d;
		p->mask = mask;
		*pp = p;
		w->npend++;
		pend_append(w, p);
	}
	if (from) {
		free(p->from);
		p->from = strdup(from);
	}
	if (p == w->phead || !vigil_loop_timer_armed(w->debounce))
		debounce_arm(w);
}

static void debounce_fire(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	struct vigil_watch *w = ctx;
	int64_t now = vigil_loop_now_ns();

	vigil_inotify_flush(w->ino);
	if (w->full_rescan_wanted) {
		w->full_rescan_wanted = 0;
		for (size_t i = 0; i < w->nprefixes; i++)
			free(w->prefixes[i]);
		w->nprefixes = 0;
		queue_full_rescan(w, 0);
	} else if (w->nprefixes) {
		struct job *j = job_new(w, J_RESCAN, NULL, 0, "rescan");

		if (j && (j->prefixes = calloc(w->nprefixes + 1, sizeof(char *)))) {
			memcpy(j->prefixes, w->prefixes, w->nprefixes * sizeof(char *));
			j->nprefixes = w->nprefixes;
			jobq_push(&w->slow, j);
		} else {
			for (size_t i = 0; i < w->nprefixes; i++)
				free(w->prefixes[i]);
			job_free(j);
		}
		w->nprefixes = 0;
	}
	while (w->phead && (w->phead->deadline <= now || w->stopping)) {
		struct pend *p = w->phead;
		struct job *j;

		pend_unlink(w, p);
		*pend_slot(w, p->path, p->len) = p->hnext;
		w->npend--;
		if (jobq_len(&w->fast) >= JOBS_MAX) {
			/* The worker cannot keep up: compare everything once instead. */
			free(p->from);
			free(p);
			pend_drop_all(w);
			queue_full_rescan(w, 0);
			break;
		}
		j = job_new(w, J_PATH, p->path, p->len, "inotify");
		if (j) {
			j->mask = p->mask;
			j->first_ns = p->first_ns;
			j->time_ns = p->time_ns;
			j->from = p->from;
			p->from = NULL;
			jobq_push(&w->fast, j);
		}
		free(p->from);
		free(p);
	}
	debounce_arm(w);
}

static void prefix_add(struct vigil_watch *w, const char *path)
{
	for (size_t i = 0; i < w->nprefixes; i++)
		if (under(path, strlen(path), w->prefixes[i]))
			return;
	if (w->nprefixes == PREFIXES_MAX) {
		w->full_rescan_wanted = 1;
	} else {
		char *p = strdup(path);

		if (p)
			w->prefixes[w->nprefixes++] = p;
		else
			w->full_rescan_wanted = 1;
	}
	debounce_arm(w);
}

static uint64_t max_user_watches(void)
{
	FILE *f = fopen("/proc/sys/fs/inotify/max_user_watches", "re");
	unsigned long long v = 0;

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static void periodic_arm(struct vigil_watch *w)
{
	struct vigil_inotify_stats st;
	int s = w->cr->cfg->rescan_interval_s > 0 ? w->cr->cfg->rescan_interval_s : 300;

	vigil_inotify_stats(w->ino, &st);
	/* Only while something cannot be watched: a healthy daemon never polls. */
	if ((st.unwatched || st.missing_roots) && !vigil_loop_timer_armed(w->periodic))
		vigil_loop_timer_arm(w->periodic, (uint64_t)s * 1000, 0);
}

static void on_inotify_ev(void *ctx, const struct vigil_inotify_ev *ev)
{
	struct vigil_watch *w = ctx;

	switch (ev->kind) {
	case VIGIL_INOTIFY_PATH:
		if (vigil_walk_scope_for(&w->cr->watched, ev->path, ev->path_len))
			pend_add(w, ev->path, ev->path_len, ev->mask, NULL);
		break;
	case VIGIL_INOTIFY_RENAME:
		if (vigil_walk_scope_for(&w->cr->watched, ev->path, ev->path_len))
			pend_add(w, ev->path, ev->path_len, ev->mask, ev->from);
		break;
	case VIGIL_INOTIFY_SUBTREE:
		prefix_add(w, ev->path);
		break;
	case VIGIL_INOTIFY_OVERFLOW:
		w->overflows++;
		w->full_rescan_wanted = 1;
		pend_drop_all(w);
		debounce_arm(w);
		break;
	case VIGIL_INOTIFY_LIMIT: {
		int64_t now = vigil_loop_now_ns();

		if (ev->err != -ENOSPC && ev->err != -ENOMEM) {
			char *p = vigil_path_escape(ev->path, ev->path_len);

			vigil_log_warn("cannot watch '%s': %s", p ? p : "?", strerror(-ev->err));
			free(p);
			break;
		}
		w->limit_events++;
		if (!w->last_limit_event || now - w->last_limit_event > (int64_t)LIMIT_EVENT_EVERY_S * 1000000000) {
			uint64_t max = max_user_watches();
			char *extra = path_json("unwatched", ev->path, ev->path_len);

			w->last_limit_event = now;
			emit_info(w, VIGIL_ACTION_LIMIT, VIGIL_SEV_HIGH, extra,
				  "inotify watch limit reached (fs.inotify.max_user_watches = %" PRIu64 "): what "
				  "could not be watched is scanned every %d s instead; raise it, e.g. "
				  "'sysctl fs.inotify.max_user_watches=%" PRIu64 "' and a file in /etc/sysctl.d/",
				  max, w->cr->cfg->rescan_interval_s > 0 ? w->cr->cfg->rescan_interval_s : 300,
				  max ? max * 4 : 524288);
			free(extra);
		}
		break;
	}
	case VIGIL_INOTIFY_UNMOUNT: {
		char *extra = path_json("mount_point", ev->path, ev->path_len);
		char *p = vigil_path_escape(ev->path, ev->path_len);

		emit_info(w, VIGIL_ACTION_UNMOUNTED, VIGIL_SEV_HIGH, extra,
			  "the file system mounted at '%s' was unmounted: what it held is compared again",
			  p ? p : "?");
		free(p);
		free(extra);
		break;
	}
	case VIGIL_INOTIFY_ROOT_GONE: {
		char *extra = path_json("root", ev->path, ev->path_len);
		char *p = vigil_path_escape(ev->path, ev->path_len);

		emit_info(w, VIGIL_ACTION_ROOT_GONE, VIGIL_SEV_HIGH, extra,
			  "watched directory '%s' is gone; it is watched again if it comes back", p ? p : "?");
		free(p);
		free(extra);
		break;
	}
	}
}

static void on_inotify(struct vigil_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct vigil_watch *w = ctx;
	int overflowed = (int)w->overflows;

	vigil_inotify_process(w->ino);
	if ((int)w->overflows != overflowed) {
		/* Directories made while events were lost have no watch yet. */
		vigil_inotify_resync(w->ino);
		emit_info(w, VIGIL_ACTION_OVERFLOW, VIGIL_SEV_MEDIUM, NULL,
			  "inotify queue overflow (fs.inotify.max_queued_events): the watched scopes are "
			  "rescanned against the baseline so that no change is lost");
	}
	periodic_arm(w);
}

static int watch_dir_filter(void *ctx, const char *path, size_t len)
{
	struct vigil_watch *w = ctx;

	return vigil_walk_scope_for(&w->cr->watched, path, len) != NULL;
}

static void unwatched_scan(void *ctx, const char *path, size_t len)
{
	prefix_add(ctx, path);
}

static void periodic_fire(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	struct vigil_watch *w = ctx;

	vigil_inotify_retry(w->ino, unwatched_scan, w);
	periodic_arm(w);
}

/* ======================================================================= */
/* watches from the config                                                 */

/* What the watches depend on, to tell whether a reload must rebuild them. */
static char *scopes_signature(const struct vigil_config *cfg)
{
	json_t *a = json_array();
	char *s;

	for (size_t i = 0; a && i < cfg->n_scopes; i++) {
		const struct vigil_scope *sc = &cfg->scopes[i];
		json_t *o = json_pack("{s:s,s:i,s:i,s:i,s:[],s:[],s:[]}", "n", sc->name, "w", sc->watch,
				      "d", sc->depth, "f", sc->one_filesystem, "p", "i", "e");

		for (size_t k = 0; o && k < sc->paths.n; k++)
			json_array_append_new(json_object_get(o, "p"), json_string(sc->paths.v[k]));
		for (size_t k = 0; o && k < sc->include.n; k++)
			json_array_append_new(json_object_get(o, "i"), json_string(sc->include.v[k]));
		for (size_t k = 0; o && k < sc->exclude.n; k++)
			json_array_append_new(json_object_get(o, "e"), json_string(sc->exclude.v[k]));
		json_array_append_new(a, o);
	}
	s = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return s;
}

static void docker_watch_stop(struct vigil_watch *w);
static void docker_watch_start(struct vigil_watch *w);
static void periodic_arm(struct vigil_watch *w);

static int build_watches(struct vigil_watch *w, struct vigil_inotify **out, struct vigil_err *err)
{
	const struct vigil_config *cfg = &w->cr->watched;
	struct vigil_inotify *ino;
	int rc;

	rc = vigil_inotify_new(on_inotify_ev, watch_dir_filter, w, &ino, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < cfg->n_scopes; i++)
		for (size_t k = 0; k < cfg->scopes[i].paths.n; k++) {
			rc = vigil_inotify_add_root(ino, cfg->scopes[i].paths.v[k], cfg->scopes[i].one_filesystem, err);
			if (rc) {
				vigil_inotify_free(ino);
				return rc;
			}
		}
	*out = ino;
	return 0;
}

/* Rebuilds the watches when what they depend on changed under the config
 * now in force (w->cr): the new watches exist before the old ones go, no gap.
 * rescan: compare the watched scopes once afterwards (new scopes).  */
static int rebuild_watches(struct vigil_watch *w, int rescan, struct vigil_err *err)
{
	struct vigil_inotify *ino = NULL;
	char *sig = scopes_signature(w->cr->cfg);
	int rc;

	if (sig && w->scopes_sig && !strcmp(sig, w->scopes_sig)) {
		free(sig);
		return 0;
	}
	rc = build_watches(w, &ino, err);
	if (rc) {
		free(sig);
		return rc;
	}
	vigil_loop_del(w->loop, vigil_inotify_fd(w->ino));
	vigil_inotify_free(w->ino);
	w->ino = ino;
	vigil_loop_add(w->loop, vigil_inotify_fd(ino), EPOLLIN, on_inotify, w);
	free(w->scopes_sig);
	w->scopes_sig = sig;
	if (rescan) {
		vigil_reported_clear(w->rep);
		pend_drop_all(w);
		/* Scopes changed: compare them all once against the baseline. */
		queue_full_rescan(w, 0);
	}
	return 0;
}

/* ---- Docker: images pulled or removed, containers made, re-discovered ----
 * A second inotify instance on the layer store, the containers dir and the
 * image dir (repositories.json): a change there re-reads the engine (after
 * DOCKER_SETTLE_MS of quiet), so new layers' diff dirs are watched and events
 * name new containers. */
#define DOCKER_SETTLE_MS 1000

static void docker_say(const struct vigil_watch *w)
{
	const struct vigil_docker_locator *loc = w->cr->loc;
	const struct vigil_scope *sc = NULL;
	struct vigil_inotify_stats st;

	for (size_t i = 0; i < w->cr->cfg->n_scopes && !sc; i++)
		if (w->cr->cfg->scopes[i].auto_kind == VIGIL_AUTO_DOCKER_LAYERS)
			sc = &w->cr->cfg->scopes[i];
	if (!loc || !sc)
		return;
	vigil_inotify_stats(w->ino, &st);
	if (sc->watch)
		vigil_log(VIGIL_LOG_NOTICE, "docker: data root '%s', %zu image layers: their diff dirs are watched "
			  "(a change verifies the layer)%s", vigil_docker_locator_data_root(loc),
			  vigil_docker_locator_n_layers(loc), st.unwatched ? "; what the inotify limit leaves "
			  "unwatched is rescanned on the rescan schedule" : "");
	else
		vigil_log(VIGIL_LOG_NOTICE, "docker: data root '%s', %zu image layers: checked by 'vigil check' and "
			  "scheduled checks only (scope '%s' has watch: false)", vigil_docker_locator_data_root(loc),
			  vigil_docker_locator_n_layers(loc), sc->name);
}

static void docker_rediscover(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	struct vigil_watch *w = ctx;
	struct vigil_config *cfg = NULL;
	struct cfgref *cr, *old = w->cr;
	struct vigil_err err = { "" };

	/* The config is read again (it holds the filled `auto:` scopes); only
	 * the scopes take effect: outputs and schedules wait for a reload. */
	if (vigil_config_load(w->cli->config_file, &cfg, &err)) {
		vigil_log_warn("docker: re-discovery skipped, the config does not load: %s", err.msg);
		return;
	}
	cr = cfgref_new(cfg);
	if (!cr) {
		vigil_config_free(cfg);
		return;
	}
	w->cr = cr;
	if (rebuild_watches(w, 0, &err)) {
		w->cr = old;
		cfgref_put(cr);
		vigil_log_warn("docker: images changed, the watches are kept: %s", err.msg);
		return;
	}
	cfgref_put(old);
	docker_say(w);
	periodic_arm(w);
}

static void docker_changed(struct vigil_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct vigil_watch *w = ctx;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	vigil_loop_timer_arm(w->docker_timer, DOCKER_SETTLE_MS, 0);
}

/* Starts watching the engine's state; a failure only costs re-discovery. */
static void docker_watch_start(struct vigil_watch *w)
{
	static const char *const sub[] = { "image/overlay2/layerdb/sha256", "containers", "image/overlay2" };
	const char *dr = w->cr->loc ? vigil_docker_locator_data_root(w->cr->loc) : NULL;
	int added = 0;

	w->docker_fd = -1;
	docker_say(w);
	if (!dr)
		return;
	w->docker_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->docker_fd < 0 || vigil_loop_timer_new(w->loop, CLOCK_MONOTONIC, docker_rediscover, w, &w->docker_timer))
		goto fail;
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dr, sub[i]);
		added += inotify_add_watch(w->docker_fd, path, IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
					   IN_ONLYDIR) >= 0;
	}
	if (added && !vigil_loop_add(w->loop, w->docker_fd, EPOLLIN, docker_changed, w))
		return;
fail:
	vigil_log_warn("docker: cannot watch '%s' for images and containers: %s; they are re-discovered at "
		   "reload only", dr, strerror(errno));
	docker_watch_stop(w);
}

static void docker_watch_stop(struct vigil_watch *w)
{
	if (w->docker_fd >= 0) {
		vigil_loop_del(w->loop, w->docker_fd);
		close(w->docker_fd);
	}
	w->docker_fd = -1;
	vigil_loop_timer_free(w->docker_timer);
	w->docker_timer = NULL;
}

/* ======================================================================= */
/* reload, control, signals                                                */

static int outputs_equal(const struct vigil_config *a, const struct vigil_config *b)
{
	if (a->n_outputs != b->n_outputs)
		return 0;
	for (size_t i = 0; i < a->n_outputs; i++) {
		const struct vigil_output *x = &a->outputs[i], *y = &b->outputs[i];

		if (x->type != y->type || x->facility != y->facility || x->backlog != y->backlog ||
		    strcmp(x->path ? x->path : "", y->path ? y->path : "") ||
		    strcmp(x->target ? x->target : "", y->target ? y->target : ""))
			return 0;
	}
	return 1;
}

static void on_sched(void *ctx, int action, size_t index);

/* vigil_output_give_up's report; ctx: when ("before stopping"). */
static void log_loss(void *ctx, const char *name, uint64_t queued, uint64_t unreported)
{
	vigil_log_warn("%" PRIu64 " events could not be written to '%s' %s and are dropped (%" PRIu64
		   " still queued, %" PRIu64 " lost earlier and not yet reported there)",
		   queued + unreported, name, (const char *)ctx, queued, unreported);
}

/* 0, or -errno with err saying why the old config stays. */
static int reload(struct vigil_watch *w, struct vigil_err *err)
{
	struct vigil_config *cfg = NULL;
	struct cfgref *cr, *old = w->cr;
	struct vigil_output_set *out = NULL;
	struct vigil_sched *sched = NULL;
	int rc;

	vigil_notify("RELOADING=1");
	rc = vigil_config_load(w->cli->config_file, &cfg, err);
	if (rc)
		goto fail;
	cr = cfgref_new(cfg);
	if (!cr) {
		vigil_config_free(cfg);
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if (!outputs_equal(old->cfg, cfg)) {
		rc = vigil_output_new(w->loop, cfg->outputs, cfg->n_outputs, &out, err);
		if (rc)
			goto fail_cr;
	}
	rc = vigil_sched_new(w->loop, cfg->schedules, cfg->n_schedules, on_sched, w, &sched, err);
	if (rc)
		goto fail_cr;
	w->cr = cr; /* from here the new config is in force */
	rc = rebuild_watches(w, 1, err);
	if (rc) {
		w->cr = old;
		goto fail_cr;
	}
	/* The engine is discovered again (cfgref_new): watch its state anew. */
	docker_watch_stop(w);
	docker_watch_start(w);
	if (out) {
		vigil_output_flush(w->out, 0);
		vigil_output_give_up(w->out, log_loss, "when the outputs were replaced");
		vigil_output_free(w->out);
		w->out = out;
	} else if (vigil_output_reopen(w->out, err)) {
		vigil_log_warn("%s", err->msg);
	}
	vigil_sched_free(w->sched);
	w->sched = sched;
	cfgref_put(old);
	periodic_arm(w);
	vigil_notify("READY=1");
	return 0;
fail_cr:
	vigil_sched_free(sched);
	vigil_output_free(out);
	cfgref_put(cr);
fail:
	/* SIGHUP also comes from logrotate: the files are reopened whatever happened. */
	vigil_output_reopen(w->out, NULL);
	vigil_notify("READY=1");
	return rc;
}

static void do_reload(struct vigil_watch *w, uint64_t client)
{
	struct vigil_err err = { "" };
	int rc = reload(w, &err);

	if (rc) {
		char *extra = NULL;
		json_t *o = json_pack("{s:s}", "error", err.msg);

		if (o)
			extra = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		vigil_log_err("reload failed, the running configuration is kept: %s", err.msg);
		emit_info(w, VIGIL_ACTION_RELOAD_FAILED, VIGIL_SEV_HIGH, extra,
			  "configuration reload failed, the running configuration is kept: %s", err.msg);
		free(extra);
		if (client)
			vigil_ctl_reply_error(w->ctl, client, err.msg);
		return;
	}
	vigil_log(VIGIL_LOG_NOTICE, "configuration reloaded from %s", w->cr->cfg->source);
	emit_info(w, VIGIL_ACTION_RELOAD, 0, NULL, "configuration reloaded from %s", w->cr->cfg->source);
	if (client)
		vigil_ctl_reply(w->ctl, client, "{\"ok\":true,\"reloaded\":true}");
}

static void start_job_check_reply(struct vigil_watch *w, struct change *c)
{
	struct vigil_event ev = { 0 };
	uint64_t diffs = c->added + c->removed + c->changed + c->unreadable;
	char msg[256], *extra = NULL;
	json_t *o;

	if (c->rc) {
		vigil_log_warn("check failed: %s", c->msg);
		if (c->client)
			vigil_ctl_reply_error(w->ctl, c->client, c->msg);
		return;
	}
	w->have_check = 1;
	w->last_check_real = now_real_ns();
	w->last_check = (struct vigil_tally){ c->added, c->removed, c->changed, c->unreadable, c->seen };
	o = json_pack("{s:{s:I,s:I,s:I,s:I,s:I}}", "summary", "added", (json_int_t)c->added, "removed",
		      (json_int_t)c->removed, "changed", (json_int_t)c->changed, "unreadable",
		      (json_int_t)c->unreadable, "entries", (json_int_t)c->seen);
	if (o)
		extra = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	snprintf(msg, sizeof(msg), "check: %" PRIu64 " added, %" PRIu64 " removed, %" PRIu64 " changed, %" PRIu64
		 " unreadable; %" PRIu64 " entries checked", c->added, c->removed, c->changed, c->unreadable, c->seen);
	ev.action = VIGIL_ACTION_CHECK_SUMMARY;
	ev.kind = "event";
	ev.severity = diffs ? VIGIL_SEV_MEDIUM : 0;
	ev.message = msg;
	ev.generation = w->gen;
	ev.source = "check";
	ev.extra_json = extra;
	/* After the differences it sums up (those may still be held). */
	if (w->held_head)
		hold_fire(w->hold, 1, w);
	vigil_watch_emit(w, &ev);
	free(extra);
	if (c->client) {
		char reply[512];

		snprintf(reply, sizeof(reply),
			 "{\"ok\":true,\"differences\":%" PRIu64 ",\"added\":%" PRIu64 ",\"removed\":%" PRIu64
			 ",\"changed\":%" PRIu64 ",\"unreadable\":%" PRIu64 ",\"entries\":%" PRIu64 "}",
			 diffs, c->added, c->removed, c->changed, c->unreadable, c->seen);
		vigil_ctl_reply(w->ctl, c->client, reply);
	}
}

static void queue_slow(struct vigil_watch *w, int type, uint64_t client, const char *source)
{
	struct job *j = job_new(w, type, NULL, 0, source);

	if (!j) {
		if (client)
			vigil_ctl_reply_error(w->ctl, client, "out of memory");
		return;
	}
	j->client = client;
	jobq_push(&w->slow, j);
}

static void on_sched(void *ctx, int action, size_t index)
{
	struct vigil_watch *w = ctx;

	vigil_log_info("scheduled %s (schedule[%zu])", vigil_sched_action_name(action), index);
	queue_slow(w, action == VIGIL_SCHED_BASELINE ? J_BASELINE : J_CHECK, 0,
		   action == VIGIL_SCHED_BASELINE ? "schedule" : "check");
}

static void iso_time(int64_t ns, char *buf, size_t size)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!gmtime_r(&s, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "?");
}

static void reply_status(struct vigil_watch *w, uint64_t client)
{
	struct vigil_inotify_stats is;
	struct vigil_output_stats os;
	json_t *o, *sch;
	char *s, t[40];
	size_t nres;

	vigil_inotify_stats(w->ino, &is);
	vigil_output_stats(w->out, &os);
	pthread_mutex_lock(&w->res_mu);
	nres = w->nres;
	pthread_mutex_unlock(&w->res_mu);
	o = json_pack("{s:b,s:s,s:i,s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I},"
		      "s:{s:I,s:I,s:I,s:I},s:I,s:I}",
		      "ok", 1, "version", PACKAGE_VERSION, "pid", (int)getpid(),
		      "uptime_s", (json_int_t)((vigil_loop_now_ns() - w->started_ns) / 1000000000),
		      "config", w->cr->cfg->source ? w->cr->cfg->source : "",
		      "generation", (json_int_t)w->gen,
		      "watches", (json_int_t)is.watches, "unwatched", (json_int_t)is.unwatched,
		      "missing_roots", (json_int_t)is.missing_roots,
		      "watch_limit_hits", (json_int_t)is.limit_hits, "overflows", (json_int_t)is.overflows,
		      "inotify_events", (json_int_t)is.events,
		      "queue", "depth", (json_int_t)(w->npend + jobq_len(&w->fast) + jobq_len(&w->slow) + nres + w->nheld),
		      "pending", (json_int_t)w->npend, "jobs", (json_int_t)jobq_len(&w->fast),
		      "slow_jobs", (json_int_t)jobq_len(&w->slow), "results", (json_int_t)nres,
		      "held", (json_int_t)w->nheld,
		      "events", "emitted", (json_int_t)w->events,
		      "dropped", (json_int_t)(os.dropped + w->internal_dropped + w->res_dropped),
		      "written", (json_int_t)os.written, "queued", (json_int_t)os.queued,
		      "rss_kb", (json_int_t)rss_kb(), "watch_table_bytes", (json_int_t)vigil_inotify_mem(w->ino));
	if (!o) {
		vigil_ctl_reply_error(w->ctl, client, "out of memory");
		return;
	}
	if (w->have_check) {
		iso_time(w->last_check_real, t, sizeof(t));
		json_object_set_new(o, "last_check",
				    json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "time", t, "added",
					      (json_int_t)w->last_check.added, "removed", (json_int_t)w->last_check.removed,
					      "changed", (json_int_t)w->last_check.changed, "unreadable",
					      (json_int_t)w->last_check.unreadable, "entries", (json_int_t)w->last_check.seen));
	} else {
		json_object_set_new(o, "last_check", json_null());
	}
	sch = json_array();
	for (size_t i = 0; sch && i < vigil_sched_count(w->sched); i++) {
		iso_time(vigil_sched_next_due(w->sched, i) * 1000000000, t, sizeof(t));
		json_array_append_new(sch, json_pack("{s:s,s:s}", "action",
						     vigil_sched_action_name(w->cr->cfg->schedules[i].action), "next", t));
	}
	json_object_set_new(o, "schedules", sch ? sch : json_null());
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s)
		vigil_ctl_reply(w->ctl, client, s);
	else
		vigil_ctl_reply_error(w->ctl, client, "out of memory");
	free(s);
}

static void on_ctl(void *ctx, uint64_t client, const char *cmd, json_t *req)
{
	struct vigil_watch *w = ctx;

	if (!strcmp(cmd, "status")) {
		reply_status(w, client);
	} else if (!strcmp(cmd, "rescan")) {
		queue_full_rescan(w, 0);
		vigil_ctl_reply(w->ctl, client, "{\"ok\":true,\"queued\":\"rescan\"}");
	} else if (!strcmp(cmd, "reload")) {
		do_reload(w, client);
	} else if (!strcmp(cmd, "check")) {
		queue_slow(w, J_CHECK, client, "check");
	} else {
		char msg[160];

		snprintf(msg, sizeof(msg), "unknown command '%.64s' (status, rescan, reload, check)", cmd);
		vigil_ctl_reply_bad(w->ctl, client, msg);
	}
}

static void on_signal(struct vigil_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct vigil_watch *w = ctx;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			vigil_log(VIGIL_LOG_NOTICE, "signal %u: stopping", si.ssi_signo);
			vigil_loop_stop(loop);
			break;
		case SIGHUP:
			do_reload(w, 0);
			break;
		}
	}
}

static void watchdog_fire(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	vigil_notify("WATCHDOG=1");
}

/* ======================================================================= */
/* the command                                                             */

struct vigil_loop *vigil_watch_loop(struct vigil_watch *w)
{
	return w->loop;
}

const struct vigil_config *vigil_watch_config(const struct vigil_watch *w)
{
	return w->cr->cfg;
}

int vigil_watch_set_who(struct vigil_watch *w, vigil_watch_who_fn fn, void *ctx, int hold_ms)
{
	if (hold_ms < 0 || hold_ms > 60000)
		return -EINVAL;
	w->who_fn = fn;
	w->who_ctx = ctx;
	w->hold_ms = hold_ms;
	return 0;
}

/* Loads the newest generation and checks its digest and signature.
 * Returns an exit code. */
static int load_baseline(struct vigil_watch *w)
{
	struct vigil_store *st = NULL;
	struct vigil_pubkey *pub = NULL;
	struct vigil_generation gen;
	struct vigil_err err = { "" };
	int rc, ret = VIGIL_EXIT_FAIL;

	rc = vigil_store_open(w->state_dir, VIGIL_STORE_RDONLY, &st, &err);
	if (rc) {
		vigil_log_err("%s", err.msg);
		goto out;
	}
	rc = vigil_store_latest(st, &gen, &err);
	if (rc == -ENOENT) {
		vigil_log_err("no baseline in '%s': run 'vigil baseline' first (%s)", w->state_dir, err.msg);
		goto out;
	}
	if (!rc)
		rc = vigil_pubkey_load(w->state_dir, &pub, &err);
	if (!rc)
		rc = vigil_store_verify(st, &gen, pub, &err);
	if (rc) {
		vigil_log_err("refusing baseline in '%s': %s", w->state_dir, err.msg);
		goto out;
	}
	w->gen = gen.id;
	ret = VIGIL_EXIT_OK;
out:
	vigil_pubkey_free(pub);
	vigil_store_close(st);
	return ret;
}

static int pidfile_open(const char *path)
{
	char buf[32];
	int fd, n;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		vigil_log_err("pid file '%s': %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t r = read(fd, buf, sizeof(buf) - 1);

		buf[r > 0 ? r : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		vigil_log_err("pid file '%s' is locked: vigil watch is already running (pid %s)", path, buf);
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)n) != n) {
		vigil_log_err("pid file '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void watch_free(struct vigil_watch *w)
{
	struct change *c, *next;

	workers_stop(w);
	docker_watch_stop(w);
	vigil_ctl_free(w->ctl);
	vigil_sched_free(w->sched);
	if (w->ino) {
		vigil_loop_del(w->loop, vigil_inotify_fd(w->ino));
		vigil_inotify_free(w->ino);
	}
	if (w->sigfd >= 0) {
		vigil_loop_del(w->loop, w->sigfd);
		close(w->sigfd);
	}
	vigil_loop_timer_free(w->debounce);
	vigil_loop_timer_free(w->hold);
	vigil_loop_timer_free(w->periodic);
	vigil_loop_timer_free(w->watchdog);
	vigil_loop_async_free(w->wake);
	vigil_output_free(w->out);
	vigil_loop_free(w->loop);
	for (c = w->res_head; c; c = next) {
		next = c->next;
		change_free(c);
	}
	for (c = w->held_head; c; c = next) {
		next = c->next;
		change_free(c);
	}
	pend_drop_all(w);
	free(w->phash);
	for (size_t i = 0; i < w->nprefixes; i++)
		free(w->prefixes[i]);
	vigil_reported_free(w->rep);
	free(w->scopes_sig);
	pthread_mutex_destroy(&w->res_mu);
	cfgref_put(w->cr);
	free((char *)w->state_dir);
	free(w);
}

/* At stop: what inotify already saw is evaluated and emitted (bounded wait). */
static void drain_at_stop(struct vigil_watch *w)
{
	int64_t end = vigil_loop_now_ns() + (int64_t)STOP_WAIT_MS * 1000000;

	w->stopping = 1;
	vigil_inotify_process(w->ino);
	vigil_inotify_flush(w->ino);
	debounce_fire(w->debounce, 1, w);
	while (vigil_loop_now_ns() < end && jobq_len(&w->fast)) {
		vigil_loop_once(w->loop, 20);
	}
	on_results(w->wake, w);
	hold_fire(w->hold, 1, w);
}

/* Everything after SIGTERM, bounded whatever the disks, collectors and
 * workers do: STOP_WAIT_MS for the changes already seen, the workers told to
 * give up, STOP_WAIT_MS for the outputs; what is left is counted and said. */
static void stop_all(struct vigil_watch *w)
{
	drain_at_stop(w);
	workers_stop(w);
	on_results(w->wake, w); /* what the workers finished meanwhile */
	hold_fire(w->hold, 1, w);
	if (w->not_evaluated)
		vigil_log_warn("%" PRIu64 " changed paths were not evaluated before stopping (vigil check "
			   "compares everything)", w->not_evaluated);
	emit_info(w, VIGIL_ACTION_STOPPED, 0, NULL, "stopped");
	vigil_output_flush(w->out, STOP_WAIT_MS);
	vigil_output_give_up(w->out, log_loss, "before stopping");
}

int vigil_cmd_watch(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid-file", required_argument, NULL, 'p' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct vigil_watch *w;
	struct vigil_err err = { "" };
	const char *pid_file = cli->cfg->pid_file;
	int check_only = 0, pidfd = -1, o, rc, ret = VIGIL_EXIT_FAIL;
	sigset_t mask;

	while ((o = getopt_long(argc, argv, "p:fn", opts, NULL)) != -1) {
		switch (o) {
		case 'p': pid_file = optarg; break;
		case 'f': break; /* the daemon always runs in the foreground */
		case 'n': check_only = 1; break;
		default: return VIGIL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		vigil_log_err("watch takes no arguments (see --pid-file, --check-config)");
		return VIGIL_EXIT_USAGE;
	}
	if (cli->root && strcmp(cli->root, "/")) {
		vigil_log_err("watch runs on the live host: --root '%s' is for baseline and check", cli->root);
		return VIGIL_EXIT_USAGE;
	}
	if (check_only) {
		printf("%s: configuration ok\n", cli->cfg->source);
		return VIGIL_EXIT_OK;
	}
	/* Few threads, low contention: one malloc arena keeps RSS small. */
	mallopt(M_ARENA_MAX, 1);
	sqlite3_soft_heap_limit64(4 << 20);
	w = calloc(1, sizeof(*w));
	if (!w) {
		vigil_log_err("out of memory");
		return VIGIL_EXIT_FAIL;
	}
	w->cli = cli;
	w->sigfd = -1;
	w->docker_fd = -1;
	/* A copy: the config it may point into is freed by the first reload. */
	w->state_dir = strdup(vigil_cli_state_dir(cli));
	w->started_ns = vigil_loop_now_ns();
	w->started_real = now_real_ns();
	if (gethostname(w->host, sizeof(w->host) - 1) < 0)
		strcpy(w->host, "localhost");
	pthread_mutex_init(&w->res_mu, NULL);
	jobq_init(&w->fast);
	jobq_init(&w->slow);
	w->pbuckets = 1024;
	w->phash = calloc(w->pbuckets, sizeof(*w->phash));
	w->rep = vigil_reported_new(REPORTED_MAX);
	if (!w->phash || !w->rep || !w->state_dir) {
		vigil_log_err("out of memory");
		goto out;
	}
	/* The config now belongs to the daemon (reloads replace it). */
	w->cr = cfgref_new(cli->cfg);
	if (!w->cr) {
		vigil_log_err("out of memory");
		goto out;
	}
	cli->cfg = NULL;
	if (w->cr->cfg->debounce_ms < 0)
		w->cr->cfg->debounce_ms = 0;

	ret = load_baseline(w);
	if (ret)
		goto out;
	ret = VIGIL_EXIT_FAIL;
	if (pid_file && pid_file[0]) {
		pidfd = pidfile_open(pid_file);
		if (pidfd < 0)
			goto out;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	/* Blocked before any thread starts, so they all inherit the mask. */
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	w->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	rc = w->sigfd < 0 ? -errno : 0;
	if (!rc)
		rc = vigil_loop_new(&w->loop, &err);
	if (!rc)
		rc = vigil_loop_add(w->loop, w->sigfd, EPOLLIN, on_signal, w);
	if (!rc)
		rc = vigil_loop_timer_new(w->loop, CLOCK_MONOTONIC, debounce_fire, w, &w->debounce);
	if (!rc)
		rc = vigil_loop_timer_new(w->loop, CLOCK_MONOTONIC, hold_fire, w, &w->hold);
	if (!rc)
		rc = vigil_loop_timer_new(w->loop, CLOCK_MONOTONIC, periodic_fire, w, &w->periodic);
	if (!rc)
		rc = vigil_loop_async_new(w->loop, on_results, w, &w->wake);
	if (rc) {
		vigil_log_err("event loop: %s", err.msg[0] ? err.msg : strerror(-rc));
		goto out;
	}
	rc = vigil_output_new(w->loop, w->cr->cfg->outputs, w->cr->cfg->n_outputs, &w->out, &err);
	if (rc) {
		vigil_log_err("%s", err.msg);
		ret = rc == -EINVAL ? VIGIL_EXIT_USAGE : VIGIL_EXIT_FAIL;
		goto out;
	}
	rc = worker_start(w, &w->fast, &w->fast_th, &err);
	if (!rc) {
		rc = worker_start(w, &w->slow, &w->slow_th, &err);
		if (rc) { /* the fast one runs: stop it through the normal path */
			w->threads_started = 1;
			w->slow_th = w->fast_th;
		}
	}
	if (rc) {
		vigil_log_err("%s", err.msg);
		goto out;
	}
	w->threads_started = 1;
	w->scopes_sig = scopes_signature(w->cr->cfg);
	rc = build_watches(w, &w->ino, &err);
	if (!rc)
		rc = vigil_loop_add(w->loop, vigil_inotify_fd(w->ino), EPOLLIN, on_inotify, w);
	if (rc) {
		vigil_log_err("%s", err.msg);
		goto out;
	}
	docker_watch_start(w);
	if (w->cr->cfg->control_socket && w->cr->cfg->control_socket[0]) {
		rc = vigil_ctl_listen(w->loop, w->cr->cfg->control_socket, on_ctl, w, &w->ctl, &err);
		if (rc) {
			vigil_log_err("%s", err.msg);
			goto out;
		}
	}
	rc = vigil_sched_new(w->loop, w->cr->cfg->schedules, w->cr->cfg->n_schedules, on_sched, w, &w->sched, &err);
	if (rc) {
		vigil_log_err("%s", err.msg);
		goto out;
	}
	if (w->cr->cfg->audit_enabled && vigil_audit_attach) {
		rc = vigil_audit_attach(w, &err);
		if (rc) /* file changes are still reported, without who made them */
			vigil_log_warn("audit: %s", err.msg);
	}
	if (vigil_notify_watchdog_ms()) {
		uint64_t ms = vigil_notify_watchdog_ms() / 2;

		if (!vigil_loop_timer_new(w->loop, CLOCK_MONOTONIC, watchdog_fire, w, &w->watchdog))
			vigil_loop_timer_arm(w->watchdog, ms ? ms : 1, ms ? ms : 1);
	}
	periodic_arm(w);
	{
		struct vigil_inotify_stats st;
		/* which config: a --config file, the installed one, or the embedded default */
		json_t *src = json_string(w->cr->cfg->source);
		char extra[320], *js = src ? json_dumps(src, JSON_ENCODE_ANY) : NULL;

		vigil_inotify_stats(w->ino, &st);
		snprintf(extra, sizeof(extra), "{\"watches\":%" PRIu64 ",\"unwatched\":%" PRIu64 ",\"ready_ms\":%" PRId64
			 ",\"config\":%.200s}", st.watches, st.unwatched, (vigil_loop_now_ns() - w->started_ns) / 1000000,
			 js && strlen(js) <= 200 ? js : "null");
		free(js);
		json_decref(src);
		emit_info(w, VIGIL_ACTION_STARTED, 0, extra,
			  "watching %" PRIu64 " directories against baseline generation %" PRId64 " (config %s)", st.watches,
			  w->gen, w->cr->cfg->source);
		vigil_log(VIGIL_LOG_NOTICE, "watching %" PRIu64 " directories in %zu scopes against baseline "
			  "generation %" PRId64 " (state dir '%s')", st.watches, w->cr->watched.n_scopes, w->gen,
			  w->state_dir);
	}
	malloc_trim(0);
	vigil_notify("READY=1");
	rc = vigil_loop_run(w->loop);
	vigil_notify("STOPPING=1");
	if (rc)
		vigil_log_err("event loop: %s", strerror(-rc));
	stop_all(w);
	if (w->cr->cfg->audit_enabled && vigil_audit_detach)
		vigil_audit_detach(w);
	ret = rc ? VIGIL_EXIT_FAIL : VIGIL_EXIT_OK;
out:
	watch_free(w);
	/* Last: while the pid file exists the process is there to be signalled. */
	if (pidfd >= 0) {
		unlink(pid_file);
		close(pidfd);
	}
	return ret;
}
