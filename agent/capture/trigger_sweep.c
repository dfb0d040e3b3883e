/* trigger_sweep.c - the daemon's sweep of interrupted captures
 * (vigil_evw_sweep_ledger, archives checked) at start and reload, on a
 * thread of its own: an archive renamed but never recorded is read whole to
 * be checked, which must not hold up the loop (its events, systemd's start
 * timeout and watchdog).  What the sweep closes is queued and handed to the
 * loop thread (trigger_sweep_drain), which makes the events.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trigger_priv.h"
#include "vigil/capture.h"
#include "vigil/err.h"

struct report {
	int kind;
	char *case_id, *path, *msg;
	struct report *next;
};

struct trigger_sweeper {
	pthread_t th;
	pthread_mutex_t mu;
	int running, done, again;
	char *state_dir, *dir;         /* the running sweep's */
	char *next_state, *next_dir;   /* asked for while one ran (a reload) */
	struct report *head, **tail;
	void (*notify)(void *arg);
	void *arg;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void queue(void *arg, int kind, const char *case_id, const char *path, const char *msg)
{
	struct trigger_sweeper *s = arg;
	struct report *r = calloc(1, sizeof(*r));

	if (!r)
		return; /* logged by the sweep anyway */
	r->kind = kind;
	r->case_id = dup_or_null(case_id);
	r->path = dup_or_null(path);
	r->msg = dup_or_null(msg);
	pthread_mutex_lock(&s->mu);
	*s->tail = r;
	s->tail = &r->next;
	pthread_mutex_unlock(&s->mu);
	s->notify(s->arg);
}

static void *run(void *arg)
{
	struct trigger_sweeper *s = arg;
	struct vigil_err err = { "" };
	const char *delay = getenv("VIGIL_TEST_SWEEP_DELAY_MS"); /* tests: the loop goes on meanwhile */

	if (delay)
		usleep((useconds_t)atoi(delay) * 1000);
	if (vigil_evw_sweep_ledger(s->state_dir, s->dir, VIGIL_EVW_SWEEP_ARCHIVES, queue, s, NULL, &err))
		vigil_log_warn("the sweep of interrupted captures failed: %s", err.msg);
	pthread_mutex_lock(&s->mu);
	s->done = 1;
	pthread_mutex_unlock(&s->mu);
	s->notify(s->arg);
	return NULL;
}

static int start(struct trigger_sweeper *s, char *state_dir, char *dir)
{
	free(s->state_dir);
	free(s->dir);
	s->state_dir = state_dir;
	s->dir = dir;
	s->done = 0;
	s->running = !pthread_create(&s->th, NULL, run, s);
	if (!s->running)
		vigil_log_warn("the sweep of interrupted captures: cannot start its thread");
	return s->running ? 0 : -EAGAIN;
}

int trigger_sweep_start(struct trigger_sweeper **sp, const char *state_dir, const char *dir,
			void (*notify)(void *arg), void *arg)
{
	struct trigger_sweeper *s = *sp;
	char *sd = strdup(state_dir), *d = dup_or_null(dir);

	if (!sd || (dir && !d)) {
		free(sd);
		free(d);
		return -ENOMEM;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			free(sd);
			free(d);
			return -ENOMEM;
		}
		pthread_mutex_init(&s->mu, NULL);
		s->tail = &s->head;
		s->notify = notify;
		s->arg = arg;
		*sp = s;
	}
	if (s->running) { /* once more when this one is done (trigger_sweep_drain) */
		free(s->next_state);
		free(s->next_dir);
		s->next_state = sd;
		s->next_dir = d;
		s->again = 1;
		return 0;
	}
	return start(s, sd, d);
}

void trigger_sweep_drain(struct trigger_sweeper *s, vigil_evw_sweep_fn fn, void *arg)
{
	struct report *r;
	int done;

	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	r = s->head;
	s->head = NULL;
	s->tail = &s->head;
	done = s->running && s->done;
	pthread_mutex_unlock(&s->mu);
	while (r) {
		struct report *next = r->next;

		fn(arg, r->kind, r->case_id, r->path, r->msg ? r->msg : "");
		free(r->case_id), free(r->path), free(r->msg), free(r);
		r = next;
	}
	if (!done)
		return;
	pthread_join(s->th, NULL);
	s->running = 0;
	if (s->again) {
		s->again = 0;
		start(s, s->next_state, s->next_dir);
		s->next_state = s->next_dir = NULL;
	}
}

void trigger_sweep_free(struct trigger_sweeper *s, vigil_evw_sweep_fn fn, void *arg)
{
	if (!s)
		return;
	s->again = 0;
	if (s->running) { /* the sweep is safe to stop anywhere, but not from here: it ends */
		pthread_join(s->th, NULL);
		s->running = 0;
	}
	trigger_sweep_drain(s, fn, arg);
	free(s->next_state);
	free(s->next_dir);
	free(s->state_dir);
	free(s->dir);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
