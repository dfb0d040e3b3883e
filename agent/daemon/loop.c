/* loop.c - one epoll loop for every fd of the daemon, timers on timerfd,
 * cross-thread wake-ups on eventfd.  Registered fds are few (tens), so the
 * fd -> entry lookup is a list walk; dispatch itself goes through
 * epoll_event.data.ptr and costs nothing per fd. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vigil/loop.h"

#ifndef TFD_TIMER_CANCEL_ON_SET
#define TFD_TIMER_CANCEL_ON_SET (1 << 1)
#endif

struct entry {
	int fd;
	int dead;
	vigil_loop_fn fn;
	void *ctx;
	struct entry *next;
};

struct vigil_loop {
	int epfd;
	int stop;
	struct entry *entries;
	struct entry *graveyard; /* removed during a batch, freed after it */
	int in_batch;
};

struct vigil_loop_timer {
	struct vigil_loop *loop;
	int fd;
	int clock;
	int armed;
	int abs_realtime;
	vigil_loop_timer_fn fn;
	void *ctx;
};

struct vigil_loop_async {
	struct vigil_loop *loop;
	int fd;
	vigil_loop_async_fn fn;
	void *ctx;
};

int64_t vigil_loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int vigil_loop_new(struct vigil_loop **out, struct vigil_err *err)
{
	struct vigil_loop *l;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return vigil_err_set(err, -ENOMEM, "event loop: out of memory");
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int rc = -errno;

		free(l);
		return vigil_err_set(err, rc, "epoll_create1: %s", strerror(-rc));
	}
	*out = l;
	return 0;
}

static void free_list(struct entry *e)
{
	while (e) {
		struct entry *n = e->next;

		free(e);
		e = n;
	}
}

void vigil_loop_free(struct vigil_loop *l)
{
	if (!l)
		return;
	free_list(l->entries);
	free_list(l->graveyard);
	close(l->epfd);
	free(l);
}

static struct entry *find(struct vigil_loop *l, int fd, struct entry ***link)
{
	struct entry **pp;

	for (pp = &l->entries; *pp; pp = &(*pp)->next)
		if ((*pp)->fd == fd) {
			if (link)
				*link = pp;
			return *pp;
		}
	return NULL;
}

int vigil_loop_add(struct vigil_loop *l, int fd, uint32_t events, vigil_loop_fn fn, void *ctx)
{
	struct epoll_event ev = { 0 };
	struct entry *e;

	if (find(l, fd, NULL))
		return -EEXIST;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->fd = fd;
	e->fn = fn;
	e->ctx = ctx;
	ev.events = events;
	ev.data.ptr = e;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int rc = -errno;

		free(e);
		return rc;
	}
	e->next = l->entries;
	l->entries = e;
	return 0;
}

int vigil_loop_mod(struct vigil_loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { 0 };
	struct entry *e = find(l, fd, NULL);

	if (!e)
		return -ENOENT;
	ev.events = events;
	ev.data.ptr = e;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int vigil_loop_del(struct vigil_loop *l, int fd)
{
	struct entry **pp = NULL, *e = find(l, fd, &pp);

	if (!e)
		return -ENOENT;
	/* The fd may already be closed by a confused caller: EBADF is harmless here. */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	*pp = e->next;
	if (l->in_batch) {
		e->dead = 1;
		e->next = l->graveyard;
		l->graveyard = e;
	} else {
		free(e);
	}
	return 0;
}

void vigil_loop_stop(struct vigil_loop *l)
{
	l->stop = 1;
}

int vigil_loop_once(struct vigil_loop *l, int timeout_ms)
{
	struct epoll_event evs[32];
	int n, ran = 0;

	n = epoll_wait(l->epfd, evs, 32, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	l->in_batch = 1;
	for (int i = 0; i < n; i++) {
		struct entry *e = evs[i].data.ptr;

		if (e->dead)
			continue;
		e->fn(l, e->fd, evs[i].events, e->ctx);
		ran++;
	}
	l->in_batch = 0;
	free_list(l->graveyard);
	l->graveyard = NULL;
	return ran;
}

int vigil_loop_run(struct vigil_loop *l)
{
	l->stop = 0;
	while (!l->stop) {
		int rc = vigil_loop_once(l, -1);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- timers ---- */

static void timer_ready(struct vigil_loop *l, int fd, uint32_t events, void *ctx)
{
	struct vigil_loop_timer *t = ctx;
	uint64_t n = 0;
	ssize_t r = read(fd, &n, sizeof(n));

	if (r < 0 && errno == ECANCELED) {
		/* The realtime clock was set: the absolute expiry means something else now. */
		t->armed = 0;
		t->fn(t, 0, t->ctx);
		return;
	}
	if (r != (ssize_t)sizeof(n) || !n)
		return;
	if (t->armed) {
		struct itimerspec cur;

		if (timerfd_gettime(fd, &cur) == 0 && !cur.it_value.tv_sec && !cur.it_value.tv_nsec)
			t->armed = 0;
	}
	t->fn(t, n, t->ctx);
}

int vigil_loop_timer_new(struct vigil_loop *l, int clock, vigil_loop_timer_fn fn, void *ctx,
			 struct vigil_loop_timer **out)
{
	struct vigil_loop_timer *t;
	int rc;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->loop = l;
	t->clock = clock;
	t->fn = fn;
	t->ctx = ctx;
	t->fd = timerfd_create(clock, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0) {
		rc = -errno;
		free(t);
		return rc;
	}
	rc = vigil_loop_add(l, t->fd, EPOLLIN, timer_ready, t);
	if (rc) {
		close(t->fd);
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

static struct timespec ms_ts(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	return ts;
}

int vigil_loop_timer_arm(struct vigil_loop_timer *t, uint64_t first_ms, uint64_t interval_ms)
{
	struct itimerspec its = { 0 };

	its.it_value = ms_ts(first_ms);
	its.it_interval = ms_ts(interval_ms);
	/* 0 would disarm: a timer asked to fire "now" fires after 1 ns. */
	if (!first_ms && interval_ms)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(t->fd, 0, &its, NULL) < 0)
		return -errno;
	t->armed = first_ms || interval_ms;
	return 0;
}

int vigil_loop_timer_arm_abs(struct vigil_loop_timer *t, int64_t when_ns)
{
	struct itimerspec its = { 0 };
	int flags = TFD_TIMER_ABSTIME;

	if (when_ns <= 0)
		when_ns = 1;
	its.it_value.tv_sec = (time_t)(when_ns / 1000000000);
	its.it_value.tv_nsec = (long)(when_ns % 1000000000);
	if (t->clock == CLOCK_REALTIME)
		flags |= TFD_TIMER_CANCEL_ON_SET;
	if (timerfd_settime(t->fd, flags, &its, NULL) < 0)
		return -errno;
	t->armed = 1;
	return 0;
}

int vigil_loop_timer_disarm(struct vigil_loop_timer *t)
{
	struct itimerspec its = { 0 };

	t->armed = 0;
	return timerfd_settime(t->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

int vigil_loop_timer_armed(const struct vigil_loop_timer *t)
{
	return t->armed;
}

void vigil_loop_timer_free(struct vigil_loop_timer *t)
{
	if (!t)
		return;
	vigil_loop_del(t->loop, t->fd);
	close(t->fd);
	free(t);
}

/* ---- async ---- */

static void async_ready(struct vigil_loop *l, int fd, uint32_t events, void *ctx)
{
	struct vigil_loop_async *a = ctx;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return;
	a->fn(a, a->ctx);
}

int vigil_loop_async_new(struct vigil_loop *l, vigil_loop_async_fn fn, void *ctx,
			 struct vigil_loop_async **out)
{
	struct vigil_loop_async *a;
	int rc;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->loop = l;
	a->fn = fn;
	a->ctx = ctx;
	a->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (a->fd < 0) {
		rc = -errno;
		free(a);
		return rc;
	}
	rc = vigil_loop_add(l, a->fd, EPOLLIN, async_ready, a);
	if (rc) {
		close(a->fd);
		free(a);
		return rc;
	}
	*out = a;
	return 0;
}

void vigil_loop_async_send(struct vigil_loop_async *a)
{
	uint64_t one = 1;
	int saved = errno;

	/* EAGAIN means the counter is saturated: a wake-up is pending anyway. */
	if (write(a->fd, &one, sizeof(one)) < 0)
		(void)0;
	errno = saved;
}

void vigil_loop_async_free(struct vigil_loop_async *a)
{
	if (!a)
		return;
	vigil_loop_del(a->loop, a->fd);
	close(a->fd);
	free(a);
}
