/* test_loop.c - the daemon's event loop (agent/daemon/loop.c): fd callbacks
 * with their context, -EEXIST / -ENOENT, a callback removing another entry
 * of the same batch (the stale event is skipped, never dispatched to freed
 * memory: ASan would see it), mod, timers (relative, periodic with missed
 * expirations counted, absolute, disarmed), async wake-ups from another
 * thread (coalesced), run/stop, and free with an fd still registered. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/loop.h"

struct pipe_cb {
	int fds[2];
	int calls;
	uint32_t events;
	int del_other; /* fd to remove from within the callback, or -1 */
	int stop;
};

static void on_pipe(struct vigil_loop *l, int fd, uint32_t events, void *ctx)
{
	struct pipe_cb *p = ctx;
	char buf[64];

	assert_int_equal(fd, p->fds[0]);
	p->calls++;
	p->events = events;
	if (read(fd, buf, sizeof(buf)) < 0)
		(void)0;
	if (p->del_other >= 0) {
		assert_int_equal(vigil_loop_del(l, p->del_other), 0);
		p->del_other = -1;
	}
	if (p->stop)
		vigil_loop_stop(l);
}

static void mkpipe(struct pipe_cb *p)
{
	memset(p, 0, sizeof(*p));
	assert_int_equal(pipe(p->fds), 0);
	p->del_other = -1;
}

static void test_fd_callbacks(void **state)
{
	struct vigil_loop *l;
	struct vigil_err err;
	struct pipe_cb a;

	(void)state;
	assert_int_equal(vigil_loop_new(&l, &err), 0);
	mkpipe(&a);
	assert_int_equal(vigil_loop_add(l, a.fds[0], EPOLLIN, on_pipe, &a), 0);
	assert_int_equal(vigil_loop_add(l, a.fds[0], EPOLLIN, on_pipe, &a), -EEXIST);
	assert_int_equal(vigil_loop_once(l, 0), 0); /* nothing ready */
	assert_int_equal(write(a.fds[1], "x", 1), 1);
	assert_int_equal(vigil_loop_once(l, 1000), 1);
	assert_int_equal(a.calls, 1);
	assert_true(a.events & EPOLLIN);
	/* mod to no events: a ready fd is not dispatched */
	assert_int_equal(vigil_loop_mod(l, a.fds[0], 0), 0);
	assert_int_equal(write(a.fds[1], "x", 1), 1);
	assert_int_equal(vigil_loop_once(l, 0), 0);
	assert_int_equal(vigil_loop_mod(l, a.fds[0], EPOLLIN), 0);
	assert_int_equal(vigil_loop_once(l, 0), 1);
	assert_int_equal(vigil_loop_del(l, a.fds[0]), 0);
	assert_int_equal(vigil_loop_del(l, a.fds[0]), -ENOENT);
	assert_int_equal(vigil_loop_mod(l, a.fds[0], EPOLLIN), -ENOENT);
	/* an fd that epoll refuses (a regular file) */
	{
		FILE *f = tmpfile();

		assert_int_equal(vigil_loop_add(l, fileno(f), EPOLLIN, on_pipe, &a), -EPERM);
		fclose(f);
	}
	/* free with an entry still registered: the caller's fd stays open */
	assert_int_equal(vigil_loop_add(l, a.fds[0], EPOLLIN, on_pipe, &a), 0);
	vigil_loop_free(l);
	assert_int_equal(write(a.fds[1], "x", 1), 1);
	close(a.fds[0]);
	close(a.fds[1]);
	vigil_loop_free(NULL);
}

/* Two fds ready in one batch; whichever runs first removes the other: the
 * other's event of the same batch must be skipped. */
static void test_delete_in_batch(void **state)
{
	struct vigil_loop *l;
	struct vigil_err err;
	struct pipe_cb a, b;

	(void)state;
	assert_int_equal(vigil_loop_new(&l, &err), 0);
	mkpipe(&a);
	mkpipe(&b);
	a.del_other = b.fds[0];
	b.del_other = a.fds[0];
	assert_int_equal(vigil_loop_add(l, a.fds[0], EPOLLIN, on_pipe, &a), 0);
	assert_int_equal(vigil_loop_add(l, b.fds[0], EPOLLIN, on_pipe, &b), 0);
	assert_int_equal(write(a.fds[1], "x", 1), 1);
	assert_int_equal(write(b.fds[1], "x", 1), 1);
	assert_int_equal(vigil_loop_once(l, 1000), 1);
	assert_int_equal(a.calls + b.calls, 1);
	vigil_loop_free(l);
	close(a.fds[0]), close(a.fds[1]), close(b.fds[0]), close(b.fds[1]);
}

struct tcb {
	int calls;
	uint64_t expirations;
	int stop_at;
	struct vigil_loop *l;
};

static void on_timer(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	struct tcb *c = ctx;

	(void)t;
	c->calls++;
	c->expirations += n;
	if (c->stop_at && c->calls == c->stop_at)
		vigil_loop_stop(c->l);
}

static void test_timers(void **state)
{
	struct vigil_loop *l;
	struct vigil_loop_timer *t, *abs_t;
	struct vigil_err err;
	struct tcb c = { 0 }, d = { 0 };
	struct timespec now;

	(void)state;
	assert_int_equal(vigil_loop_new(&l, &err), 0);
	c.l = l;
	assert_int_equal(vigil_loop_timer_new(l, CLOCK_MONOTONIC, on_timer, &c, &t), 0);
	assert_int_equal(vigil_loop_timer_armed(t), 0);
	/* once, after 10 ms */
	assert_int_equal(vigil_loop_timer_arm(t, 10, 0), 0);
	assert_int_equal(vigil_loop_timer_armed(t), 1);
	assert_int_equal(vigil_loop_once(l, 1000), 1);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.expirations, 1);
	assert_int_equal(vigil_loop_timer_armed(t), 0);
	/* periodic, the loop late: missed expirations are counted */
	assert_int_equal(vigil_loop_timer_arm(t, 5, 5), 0);
	usleep(60 * 1000);
	assert_int_equal(vigil_loop_once(l, 1000), 1);
	assert_true(c.expirations >= 1 + 5);
	/* disarmed: nothing more */
	assert_int_equal(vigil_loop_timer_disarm(t), 0);
	assert_int_equal(vigil_loop_timer_armed(t), 0);
	assert_int_equal(vigil_loop_once(l, 30), 0);
	/* run until a callback stops the loop */
	c.calls = 0;
	c.stop_at = 3;
	assert_int_equal(vigil_loop_timer_arm(t, 1, 1), 0);
	assert_int_equal(vigil_loop_run(l), 0);
	assert_int_equal(c.calls, 3);
	/* absolute, on the wall clock */
	assert_int_equal(vigil_loop_timer_new(l, CLOCK_REALTIME, on_timer, &d, &abs_t), 0);
	clock_gettime(CLOCK_REALTIME, &now);
	assert_int_equal(vigil_loop_timer_arm_abs(abs_t, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec +
							      20 * 1000000), 0);
	vigil_loop_timer_disarm(t);
	assert_int_equal(vigil_loop_once(l, 1000), 1);
	assert_int_equal(d.calls, 1);
	vigil_loop_timer_free(abs_t);
	vigil_loop_timer_free(NULL);
	/* A timer (or async) is its owner's to free: vigil_loop_free() frees
	 * only the loop's own registrations, not the timer object or its fd. */
	vigil_loop_timer_free(t);
	vigil_loop_free(l);
}

struct acb {
	int calls;
};

static void on_async(struct vigil_loop_async *a, void *ctx)
{
	(void)a;
	((struct acb *)ctx)->calls++;
}

static void *sender(void *arg)
{
	for (int i = 0; i < 100; i++)
		vigil_loop_async_send(arg);
	return NULL;
}

static void test_async(void **state)
{
	struct vigil_loop *l;
	struct vigil_loop_async *a;
	struct vigil_err err;
	struct acb c = { 0 };
	pthread_t th;

	(void)state;
	assert_int_equal(vigil_loop_new(&l, &err), 0);
	assert_int_equal(vigil_loop_async_new(l, on_async, &c, &a), 0);
	assert_int_equal(vigil_loop_once(l, 0), 0);
	assert_int_equal(pthread_create(&th, NULL, sender, a), 0);
	pthread_join(th, NULL);
	/* a hundred sends before the loop turned: one callback */
	assert_int_equal(vigil_loop_once(l, 1000), 1);
	assert_int_equal(c.calls, 1);
	assert_int_equal(vigil_loop_once(l, 0), 0);
	vigil_loop_async_send(a);
	assert_int_equal(vigil_loop_once(l, 1000), 1);
	assert_int_equal(c.calls, 2);
	vigil_loop_async_free(a);
	vigil_loop_async_free(NULL);
	vigil_loop_free(l);
}

static void test_now_monotonic(void **state)
{
	int64_t a = vigil_loop_now_ns(), b;

	(void)state;
	usleep(2000);
	b = vigil_loop_now_ns();
	assert_true(a > 0 && b - a >= 2000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_callbacks),
		cmocka_unit_test(test_delete_in_batch),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_async),
		cmocka_unit_test(test_now_monotonic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
