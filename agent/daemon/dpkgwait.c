/* dpkgwait.c - a packaged path is not judged while dpkg runs.  dpkg puts a
 * package's files in place before its new .md5sums and status: a file judged
 * in between would be called package-file-tampered, a false critical alert
 * at every `apt-get upgrade`.  So while dpkg's lock is held (vigil_dpkg_lock_held)
 * the path evaluation that reached a package verdict holds its job here; the
 * loop asks about the lock every DPKG_POLL_MS and, once it is free, queues
 * the job again: the path is read again and judged with dpkg's records read
 * again (the explainer reads them when status or dpkg.log changed).  The wait
 * is bounded (packages.dpkg_wait: whoever holds the lock must not silence
 * the daemon): past it the path is judged anyway and its event says so.
 * Differences no package is concerned with are never held. */
#include "config.h"

#include "watch_priv.h"

#define DPKG_POLL_MS 1000

/* Worker thread: j reached a package verdict while dpkg's lock was held; a
 * copy waits here (a path changed twice meanwhile waits twice: the reported
 * map makes one event of one state).  1 when held, 0 when it could not be
 * (judge it now: out of memory, or JOBS_MAX paths wait already). */
int watch_dpkg_hold(struct vigil_watch *w, const struct job *j)
{
	struct job *c;

	pthread_mutex_lock(&w->dw_mu);
	if (w->ndw >= JOBS_MAX || !(c = watch_job_copy(j))) {
		pthread_mutex_unlock(&w->dw_mu);
		return 0;
	}
	c->dpkg_since = j->dpkg_since ? j->dpkg_since : vigil_loop_now_ns();
	c->next = w->dw_head;
	w->dw_head = c;
	w->ndw++;
	pthread_mutex_unlock(&w->dw_mu);
	vigil_log_debug("%s: dpkg runs (its lock is held): judged once it is done", j->path);
	vigil_loop_async_send(w->wake); /* the loop arms the poll */
	return 1;
}

/* Loop thread: the poll runs while anything is held. */
void watch_dpkg_arm(struct vigil_watch *w)
{
	int any;

	pthread_mutex_lock(&w->dw_mu);
	any = w->dw_head != NULL;
	pthread_mutex_unlock(&w->dw_mu);
	if (any && w->dpkg_timer && !vigil_loop_timer_armed(w->dpkg_timer))
		vigil_loop_timer_arm(w->dpkg_timer, DPKG_POLL_MS, 0);
}

/* Every job that waits, taken from the list. */
static struct job *take_all(struct vigil_watch *w)
{
	struct job *j;

	pthread_mutex_lock(&w->dw_mu);
	j = w->dw_head;
	w->dw_head = NULL;
	w->ndw = 0;
	pthread_mutex_unlock(&w->dw_mu);
	return j;
}

/* Loop thread: dpkg done (or waited for too long): the held paths are
 * evaluated again, on the path worker. */
void watch_dpkg_fire(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	struct vigil_watch *w = ctx;
	int64_t now = vigil_loop_now_ns();
	int held = vigil_dpkg_lock_held(NULL) == 1;
	struct job *j = take_all(w), *next, *keep = NULL;

	for (; j; j = next) {
		int64_t wait_ns = (int64_t)j->cr->cfg->packages_dpkg_wait_s * 1000000000;

		next = j->next;
		j->next = NULL;
		if (held && now - j->dpkg_since < wait_ns) {
			j->next = keep;
			keep = j;
			continue;
		}
		j->dpkg_overdue = held;
		watch_jobq_push(&w->fast, j);
	}
	pthread_mutex_lock(&w->dw_mu);
	for (; keep; keep = next) {
		next = keep->next;
		keep->next = w->dw_head;
		w->dw_head = keep;
		w->ndw++;
	}
	pthread_mutex_unlock(&w->dw_mu);
	watch_dpkg_arm(w);
}

/* At stop: what still waits for dpkg is not evaluated (counted). */
void watch_dpkg_drop(struct vigil_watch *w)
{
	struct job *j = take_all(w), *next;

	for (; j; j = next) {
		next = j->next;
		w->not_evaluated++;
		watch_job_free(j);
	}
}

/* --- the daemon's runs (run.c: startup check, rescans, ctl check) ----------
 * The explainer a run is given wraps the package explainer: a difference
 * whose verdict it changed while dpkg's lock is held is marked, and the
 * run's diff callback (watch_dpkg_run_hold) holds its path as above instead
 * of reporting it: evaluated as a single path once the lock is free. */
static int run_explain(void *arg, int64_t since, const char *path, size_t len, const struct vigil_record *old,
		       const struct vigil_record *cur, struct vigil_decision *d)
{
	struct watch_dpkg_run *dr = arg;
	const char *plain = d->action;
	int rc = dr->px->explain(dr->px->arg, since, path, len, old, cur, d);

	dr->held = !rc && (d->action != plain || d->explain_json) && vigil_dpkg_lock_held(NULL) == 1;
	return rc;
}

/* The explainer for a run of j's; NULL when there is none. */
const struct vigil_explainer *watch_dpkg_run_init(struct watch_dpkg_run *dr, const struct job *j)
{
	memset(dr, 0, sizeof(*dr));
	if (!(dr->px = vigil_dpkg_explainer(j->cr->pkg)))
		return NULL;
	dr->wrap.algos = dr->px->algos;
	dr->wrap.explain = run_explain;
	dr->wrap.arg = dr;
	return &dr->wrap;
}

/* The run of j reports d: 1 when its path is held for dpkg (not reported
 * now), 0 when it is reported now (no package verdict, the lock free, or
 * the path could not be held: no scope would judge it later, no memory). */
int watch_dpkg_run_hold(struct vigil_watch *w, struct watch_dpkg_run *dr, const struct job *j,
			const struct vigil_run_diff *d)
{
	struct job *pj;
	int held;

	if (!dr->held || !d->path)
		return 0;
	dr->held = 0;
	if (!vigil_walk_scope_for(j->cr->cfg, d->path, d->path_len) ||
	    !(pj = watch_job_path_for(j, d->path, d->path_len)))
		return 0;
	held = watch_dpkg_hold(w, pj);
	watch_job_free(pj);
	return held;
}
