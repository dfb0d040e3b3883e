/* debounce.c - inotify says a path may have changed: it waits debounce_ms
 * (pushed back by later writes, up to 10x) before one job evaluates it;
 * subtrees to rescan are collected, and too many of either becomes one full
 * rescan.  Loop thread only. */
#include "config.h"

#include <sys/inotify.h>

#include "watch_priv.h"

/* debouncing (loop thread)                                                */

void watch_queue_full_rescan(struct vigil_watch *w, uint64_t client)
{
	struct job *j;

	if (!client && __atomic_load_n(&w->rescan_queued, __ATOMIC_RELAXED))
		return;
	j = watch_job_new(w, J_RESCAN, NULL, 0, "rescan");
	if (!j)
		return;
	j->client = client;
	__atomic_store_n(&w->rescan_queued, 1, __ATOMIC_RELAXED);
	watch_jobq_push(&w->slow, j);
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

void watch_pend_drop_all(struct vigil_watch *w)
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
	struct pend **pp = &w->phash[watch_hash_bytes(path, len) & (w->pbuckets - 1)];

	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->len == len && !memcmp((*pp)->path, path, len))
			break;
	return pp;
}

void watch_debounce_arm(struct vigil_watch *w)
{
	int64_t when = 0;

	if (w->phead)
		when = w->phead->deadline;
	if ((w->nprefixes || w->full_rescan_wanted) && (!when || when > vigil_loop_now_ns()))
		when = vigil_loop_now_ns() + (int64_t)w->cr->cfg->debounce_ms * 1000000;
	if (when)
		vigil_loop_timer_arm_abs(w->debounce, when);
}

void watch_pend_add(struct vigil_watch *w, const char *path, size_t len, uint32_t mask, const char *from)
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
			watch_pend_drop_all(w);
			w->full_rescan_wanted = 1;
			watch_debounce_arm(w);
			return;
		}
		if (w->npend + 1 > w->pbuckets) {
			size_t nb = w->pbuckets * 2;
			struct pend **h = calloc(nb, sizeof(*h));

			if (h) {
				for (struct pend *q = w->phead; q; q = q->next) {
					size_t s = watch_hash_bytes(q->path, q->len) & (nb - 1);

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
		p->time_ns = vigil_clock_real_ns();
		p->deadline = now + d;
		p->mask = mask;
		*pp = p;
		w->npend++;
		pend_append(w, p);
	}
	if (from) {
		free(p->from);
		p->from = strdup(from);
	} else if (mask & (IN_MOVED_FROM | IN_DELETE)) {
		/* Renamed or deleted away after it was renamed into: no longer the
		 * file that came from p->from. */
		free(p->from);
		p->from = NULL;
	}
	if (p == w->phead || !vigil_loop_timer_armed(w->debounce))
		watch_debounce_arm(w);
}

void watch_debounce_fire(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	struct vigil_watch *w = ctx;
	int64_t now = vigil_loop_now_ns();

	vigil_inotify_flush(w->ino);
	if (w->full_rescan_wanted) {
		w->full_rescan_wanted = 0;
		for (size_t i = 0; i < w->nprefixes; i++)
			free(w->prefixes[i]);
		w->nprefixes = 0;
		watch_queue_full_rescan(w, 0);
	} else if (w->nprefixes) {
		struct job *j = watch_job_new(w, J_RESCAN, NULL, 0, "rescan");

		if (j && (j->prefixes = calloc(w->nprefixes + 1, sizeof(char *)))) {
			memcpy(j->prefixes, w->prefixes, w->nprefixes * sizeof(char *));
			j->nprefixes = w->nprefixes;
			watch_jobq_push(&w->slow, j);
		} else {
			for (size_t i = 0; i < w->nprefixes; i++)
				free(w->prefixes[i]);
			watch_job_free(j);
		}
		w->nprefixes = 0;
	}
	while (w->phead && (w->phead->deadline <= now || w->stopping)) {
		struct pend *p = w->phead;
		struct job *j;

		pend_unlink(w, p);
		*pend_slot(w, p->path, p->len) = p->hnext;
		w->npend--;
		if (watch_jobq_len(&w->fast) >= JOBS_MAX) {
			/* The worker cannot keep up: compare everything once instead. */
			free(p->from);
			free(p);
			watch_pend_drop_all(w);
			watch_queue_full_rescan(w, 0);
			break;
		}
		j = watch_job_new(w, J_PATH, p->path, p->len, "inotify");
		if (j) {
			j->mask = p->mask;
			j->first_ns = p->first_ns;
			j->time_ns = p->time_ns;
			j->from = p->from;
			p->from = NULL;
			watch_jobq_push(&w->fast, j);
		}
		free(p->from);
		free(p);
	}
	watch_debounce_arm(w);
}

void watch_prefix_add(struct vigil_watch *w, const char *path)
{
	for (size_t i = 0; i < w->nprefixes; i++)
		if (watch_under(path, strlen(path), w->prefixes[i]))
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
	watch_debounce_arm(w);
}
