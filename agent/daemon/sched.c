/* sched.c - schedules on timerfd: monotonic intervals and daily wall-clock
 * times. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/sched.h"

struct entry {
	struct vigil_sched *s;
	struct vigil_schedule cfg;
	size_t index;
	struct vigil_loop_timer *t;
	int64_t due; /* unix seconds */
};

struct vigil_sched {
	vigil_sched_fn fn;
	void *ctx;
	struct entry *e;
	size_t n;
};

const char *vigil_sched_action_name(int action)
{
	switch (action) {
	case VIGIL_SCHED_CHECK: return "check";
	case VIGIL_SCHED_BASELINE: return "baseline";
	case VIGIL_SCHED_COMPLIANCE: return "compliance";
	case VIGIL_SCHED_PROCS: return "procs";
	default: return "unknown";
	}
}

int64_t vigil_sched_next_at(int at_min, int64_t now)
{
	time_t t = (time_t)now, r;
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return now + 86400;
	for (int day = 0; day < 3; day++) {
		struct tm c = tm;

		c.tm_mday += day;
		c.tm_hour = at_min / 60;
		c.tm_min = at_min % 60;
		c.tm_sec = 0;
		c.tm_isdst = -1;
		r = mktime(&c);
		if (r != (time_t)-1 && (int64_t)r > now)
			return (int64_t)r;
	}
	return now + 86400;
}

static int arm(struct entry *e)
{
	int64_t now = (int64_t)time(NULL);

	if (e->cfg.every_s) {
		e->due = now + (int64_t)e->cfg.every_s;
		return 0; /* the interval timer re-arms itself */
	}
	e->due = vigil_sched_next_at(e->cfg.at_min, now);
	return vigil_loop_timer_arm_abs(e->t, e->due * 1000000000LL);
}

static void fired(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	struct entry *e = ctx;

	if (n == 0) { /* the wall clock was set: work the next time out again */
		arm(e);
		return;
	}
	arm(e);
	e->s->fn(e->s->ctx, e->cfg.action, e->index);
}

int vigil_sched_new(struct vigil_loop *loop, const struct vigil_schedule *sch, size_t n,
		    vigil_sched_fn fn, void *ctx, struct vigil_sched **out, struct vigil_err *err)
{
	struct vigil_sched *s;
	int rc = 0;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s || (n && !(s->e = calloc(n, sizeof(*s->e))))) {
		free(s);
		return vigil_err_set(err, -ENOMEM, "schedule: out of memory");
	}
	s->fn = fn;
	s->ctx = ctx;
	for (size_t i = 0; i < n; i++) {
		struct entry *e = &s->e[i];

		if (!sch[i].every_s && (sch[i].at_min < 0 || sch[i].at_min >= 24 * 60)) {
			rc = vigil_err_set(err, -EINVAL, "schedule[%zu]: neither an interval nor a time of day", i);
			goto out;
		}
		e->s = s;
		e->cfg = sch[i];
		e->index = i;
		rc = vigil_loop_timer_new(loop, sch[i].every_s ? CLOCK_MONOTONIC : CLOCK_REALTIME, fired, e, &e->t);
		if (rc) {
			rc = vigil_err_set(err, rc, "schedule[%zu]: timerfd: %s", i, strerror(-rc));
			goto out;
		}
		s->n++;
		if (sch[i].every_s)
			rc = vigil_loop_timer_arm(e->t, sch[i].every_s * 1000, sch[i].every_s * 1000);
		if (!rc)
			rc = arm(e);
		if (rc) {
			rc = vigil_err_set(err, rc, "schedule[%zu]: arming: %s", i, strerror(-rc));
			goto out;
		}
	}
out:
	if (rc) {
		vigil_sched_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void vigil_sched_free(struct vigil_sched *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		vigil_loop_timer_free(s->e[i].t);
	free(s->e);
	free(s);
}

size_t vigil_sched_count(const struct vigil_sched *s)
{
	return s ? s->n : 0;
}

int64_t vigil_sched_next_due(const struct vigil_sched *s, size_t i)
{
	return s && i < s->n ? s->e[i].due : 0;
}
