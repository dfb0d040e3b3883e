/* jobs.c - the daemon's two workers and their queues: the "fast" one evaluates
 * single paths, the "slow" one (nice 10, lowest best-effort I/O) runs rescans,
 * checks, verifications and scheduled baselines; results go back to the loop
 * through a queue and an eventfd.  Config references live here: a reload
 * swaps the config while jobs still use the old one. */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "vigil/procs.h"
#include "watch_priv.h"

struct cfgref *watch_cfgref_new(struct vigil_config *cfg)
{
	struct cfgref *r = calloc(1, sizeof(*r));
	size_t n = 0;

	if (!r)
		return NULL;
	/* The `auto:` scopes, as every command fills them (agent/core/run.c). */
	if (vigil_run_prepare(cfg, NULL, &r->loc, watch_say_log, NULL)) {
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
	/* packages: the host's dpkg records explain differences, read by the
	 * worker that first needs them (never auto-accepted here: only `vigil
	 * check` takes upgrades into a generation) */
	if (cfg->packages_explain)
		r->pkg = vigil_dpkg_explain_lazy(NULL, VIGIL_PKG_ACCEPT_NONE);
	r->cfg = cfg;
	r->refs = 1;
	return r;
}

static struct cfgref *cfgref_get(struct cfgref *r)
{
	__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	return r;
}

void watch_cfgref_put(struct cfgref *r)
{
	if (!r || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL))
		return;
	free(r->watched.scopes);
	vigil_docker_locator_free(r->loc);
	vigil_dpkg_explain_free(r->pkg);
	vigil_config_free(r->cfg);
	free(r);
}

/* -ENOBUFS when the loop is that far behind (the change is freed, counted). */
int watch_result_push(struct vigil_watch *w, struct change *c)
{
	pthread_mutex_lock(&w->res_mu);
	if (c->type == C_FILE && w->nres >= RESULTS_MAX) {
		w->res_dropped++;
		pthread_mutex_unlock(&w->res_mu);
		watch_change_free(c);
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

void watch_done_push(struct vigil_watch *w, const struct job *j, int rc, const char *msg,
		      const struct vigil_tally *t, int64_t new_gen)
{
	struct change *c = calloc(1, sizeof(*c));

	if (!c)
		return;
	c->type = C_DONE;
	c->job = j->type;
	c->startup = j->startup;
	c->untrusted = j->untrusted;
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
	watch_result_push(w, c);
}

void watch_jobq_init(struct jobq *q)
{
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
}

void watch_job_free(struct job *j)
{
	if (!j)
		return;
	watch_cfgref_put(j->cr);
	free(j->from);
	for (size_t i = 0; i < j->nprefixes; i++)
		free(j->prefixes[i]);
	free(j->prefixes);
	free(j);
}

void watch_jobq_push(struct jobq *q, struct job *j)
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

size_t watch_jobq_len(struct jobq *q)
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
	unsigned epoch;  /* w->store_epoch when st was opened */
	int low;         /* the slow worker: nice 10, lowest best-effort I/O class */
};

struct gone {
	const struct job *j;
	char **paths;
	size_t n, cap;
};

static int gone_collect(void *arg, const char *path, size_t len)
{
	struct gone *g = arg;
	struct stat sb;
	int in = !g->j->nprefixes;
	char *p;

	for (size_t i = 0; i < g->j->nprefixes && !in; i++)
		in = watch_under(path, len, g->j->prefixes[i]);
	if (!in || memchr(path, '\0', len))
		return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		char **v = realloc(g->paths, cap * sizeof(*v));

		if (!v)
			return 1;
		g->paths = v;
		g->cap = cap;
	}
	if (!(p = strndup(path, len)))
		return 1;
	/* Under the map's lock: an lstat, no hashing. */
	if (lstat(p, &sb) == 0 || errno != ENOENT) {
		free(p);
		return 0;
	}
	g->paths[g->n++] = p;
	return 0;
}

static struct job *job_alloc(struct cfgref *cr, int type, const char *path, size_t len, const char *source)
{
	struct job *j = calloc(1, sizeof(*j) + len + 1);

	if (!j)
		return NULL;
	j->type = type;
	j->cr = cfgref_get(cr);
	j->source = source;
	j->len = len;
	if (path)
		memcpy(j->path, path, len);
	return j;
}

/* A rescan compares the disk with the baseline, so a path reported as added
 * and gone again while inotify's events were lost (an overflow) is seen by
 * neither side: each such path is evaluated again, which reports it removed. */
static void recheck_gone(struct vigil_watch *w, struct vigil_store *st, const struct job *j)
{
	struct gone g = { .j = j };

	vigil_reported_changed(w->rep, gone_collect, &g);
	for (size_t i = 0; i < g.n; i++) {
		struct job *pj = job_alloc(j->cr, J_PATH, g.paths[i], strlen(g.paths[i]), "rescan");

		if (pj && !__atomic_load_n(&w->cancel, __ATOMIC_RELAXED))
			watch_eval_path(w, st, pj);
		watch_job_free(pj);
		free(g.paths[i]);
	}
	free(g.paths);
}

/* The newest generation, verified afresh; one older than the generation in
 * use means the database was rolled back.  Any thread. */
int watch_verify_latest(struct vigil_watch *w, struct vigil_generation *g, struct vigil_err *err)
{
	int64_t in_use = __atomic_load_n(&w->gen, __ATOMIC_RELAXED);
	struct vigil_store *st = NULL;
	int rc = vigil_run_open_verified(w->state_dir, VIGIL_STORE_RDONLY, &st, g, err);

	vigil_store_close(st);
	if (!rc && g->id < in_use)
		rc = vigil_err_set(err, -EBADMSG, "the newest baseline generation is %" PRId64 ", older than "
				   "generation %" PRId64 " in use: the database was rolled back", g->id, in_use);
	return rc;
}

/* Checks (asked, scheduled, at start) verify the baseline first and refuse a
 * tampered one: a row edited to hide a change must not hide it here too. */
static void run_check(struct vigil_watch *w, struct vigil_store *st, struct job *j)
{
	struct vigil_generation g;
	struct vigil_err err = { "" };
	char msg[sizeof(err.msg) + 64];
	int rc = watch_verify_latest(w, &g, &err);

	if (rc) {
		snprintf(msg, sizeof(msg), "refusing to check against baseline: %s", err.msg);
		j->untrusted = 1;
		watch_done_push(w, j, rc, msg, NULL, 0);
		return;
	}
	watch_run_compare(w, st, j);
	recheck_gone(w, st, j);
}

static void run_verify(struct vigil_watch *w, struct job *j)
{
	struct vigil_generation g;
	struct vigil_err err = { "" };
	int rc = watch_verify_latest(w, &g, &err);

	/* Whatever the outcome, connections opened before may have cached rows. */
	__atomic_add_fetch(&w->store_epoch, 1, __ATOMIC_RELAXED);
	watch_done_push(w, j, rc, rc ? err.msg : NULL, NULL, rc ? 0 : g.id);
}

/* `action: procs`: the findings go to the loop thread, which emits them (events.c). */
static void run_procs(struct vigil_watch *w, struct job *j)
{
	struct vigil_procs_opts o = { .verify = 1, .state_dir = w->state_dir,
				      .data_root = j->cr->cfg->capture_data_root };
	struct vigil_err err = { "" };
	struct change *c;
	json_t *rep = NULL;
	int rc = vigil_procs_run(&o, &rep, &err);

	c = calloc(1, sizeof(*c));
	if (!c) {
		json_decref(rep);
		return;
	}
	c->type = C_DONE;
	c->job = J_PROCS;
	c->rc = rc;
	snprintf(c->msg, sizeof(c->msg), "%s", rc ? err.msg : "");
	if (!rc) {
		c->extra = json_dumps(json_object_get(rep, "findings"), JSON_COMPACT);
		c->seen = (uint64_t)json_integer_value(json_object_get(json_object_get(rep, "summary"), "processes"));
	}
	json_decref(rep);
	watch_result_push(w, c);
}

static void worker_lower_priority(void)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);

	/* Per thread on Linux.  IOPRIO_WHO_PROCESS (1) with a thread id sets the
	 * thread's I/O priority: class best-effort (2), level 7 (lowest). */
	if (setpriority(PRIO_PROCESS, (id_t)tid, 10) < 0)
		vigil_log_debug("slow worker: nice: %s", strerror(errno));
	if (syscall(SYS_ioprio_set, 1, tid, (2 << 13) | 7) < 0)
		vigil_log_debug("slow worker: ioprio: %s", strerror(errno));
}

/* A connection opened before the state dir changed may have cached rows (or
 * be immutable, blind to the WAL): reopened then, and before every check. */
static void worker_reopen(struct worker *wk, int force)
{
	unsigned epoch = __atomic_load_n(&wk->w->store_epoch, __ATOMIC_RELAXED);
	struct vigil_store *st = NULL;
	struct vigil_err err = { "" };

	if (epoch == wk->epoch && !force)
		return;
	if (vigil_store_open(wk->w->state_dir, VIGIL_STORE_RDONLY, &st, &err)) {
		vigil_log_warn("reopening the baseline: %s", err.msg);
		return; /* the old connection stays, tried again at the next job */
	}
	vigil_store_close(wk->st);
	wk->st = st;
	wk->epoch = epoch;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct jobq *q = wk->q;

	if (wk->low)
		worker_lower_priority();

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
		worker_reopen(wk, j->type == J_CHECK);
		switch (j->type) {
		case J_PATH: watch_eval_path(wk->w, wk->st, j); break;
		case J_RESCAN:
			watch_run_compare(wk->w, wk->st, j);
			recheck_gone(wk->w, wk->st, j);
			break;
		case J_LAYER: watch_run_compare(wk->w, wk->st, j); break;
		case J_CHECK: run_check(wk->w, wk->st, j); break;
		case J_BASELINE: watch_run_baseline(wk->w, j); break;
		case J_VERIFY: run_verify(wk->w, j); break;
		case J_PROCS: run_procs(wk->w, j); break;
		}
		watch_job_free(j);
		pthread_mutex_lock(&q->mu);
		q->busy = 0;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
	}
	vigil_store_close(wk->st);
	free(wk);
	return NULL;
}

int watch_worker_start(struct vigil_watch *w, struct jobq *q, pthread_t *th, struct vigil_err *err)
{
	struct worker *wk = calloc(1, sizeof(*wk));
	pthread_attr_t attr;
	int rc;

	if (!wk)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	wk->w = w;
	wk->q = q;
	wk->low = q == &w->slow;
	wk->epoch = __atomic_load_n(&w->store_epoch, __ATOMIC_RELAXED);
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
void watch_workers_stop(struct vigil_watch *w)
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
			watch_job_free(j);
		}
		qs[i]->tail = NULL;
		pthread_cond_broadcast(&qs[i]->cv);
		pthread_mutex_unlock(&qs[i]->mu);
	}
	pthread_join(w->fast_th, NULL);
	pthread_join(w->slow_th, NULL);
	w->threads_started = 0;
}

struct job *watch_job_new(struct vigil_watch *w, int type, const char *path, size_t len, const char *source)
{
	return job_alloc(w->cr, type, path, len, source);
}

/* A J_PATH job again, with its config (any thread); NULL on ENOMEM. */
struct job *watch_job_copy(const struct job *j)
{
	struct job *c = job_alloc(j->cr, j->type, j->path, j->len, j->source);

	if (c && j->from && !(c->from = strdup(j->from))) {
		watch_job_free(c);
		return NULL;
	}
	if (c) {
		c->mask = j->mask;
		c->first_ns = j->first_ns;
		c->time_ns = j->time_ns;
		c->dpkg_since = j->dpkg_since;
	}
	return c;
}

/* A J_PATH job for path, with j's config and source; NULL on ENOMEM. */
struct job *watch_job_path_for(const struct job *j, const char *path, size_t len)
{
	return job_alloc(j->cr, J_PATH, path, len, j->source);
}
