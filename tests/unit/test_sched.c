/* test_sched.c - schedule arithmetic, timers firing through the loop, and
 * sd_notify datagrams to a socket of ours. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/notify.h"
#include "vigil/sched.h"

static void test_next_at(void **state)
{
	static const struct {
		int at_min;
		int64_t now, want;
	} cases[] = {
		/* 2023-11-14T22:13:20Z */
		{ 90, 1700000000, 1700011800 },       /* 01:30 next day */
		{ 22 * 60 + 14, 1700000000, 1700000040 }, /* 22:14 same day */
		{ 22 * 60 + 13, 1700000000, 1700086380 }, /* 22:13 has passed: next day */
		{ 0, 1699920000, 1700006400 },        /* exactly midnight: the next one */
	};

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(vigil_sched_next_at(cases[i].at_min, cases[i].now), cases[i].want);
}

struct hits {
	int check, baseline;
};

static void on_due(void *ctx, int action, size_t index)
{
	struct hits *h = ctx;

	if (action == VIGIL_SCHED_CHECK)
		h->check++;
	else
		h->baseline++;
}

static void test_timers(void **state)
{
	struct vigil_schedule sch[2] = { { VIGIL_SCHED_CHECK, 1, -1 }, { VIGIL_SCHED_BASELINE, 0, 0 } };
	struct vigil_sched *s;
	struct vigil_loop *loop;
	struct vigil_err err;
	struct hits h = { 0, 0 };
	int64_t end;
	time_t now = time(NULL);
	struct tm tm;

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	gmtime_r(&now, &tm);
	/* The wall-clock entry is set for the minute after this one. */
	sch[1].at_min = (tm.tm_hour * 60 + tm.tm_min + 1) % (24 * 60);
	assert_int_equal(vigil_loop_new(&loop, &err), 0);
	assert_int_equal(vigil_sched_new(loop, sch, 2, on_due, &h, &s, &err), 0);
	assert_int_equal(vigil_sched_count(s), 2);
	assert_true(vigil_sched_next_due(s, 0) >= (int64_t)now + 1);
	assert_true(vigil_sched_next_due(s, 1) > (int64_t)now && vigil_sched_next_due(s, 1) <= (int64_t)now + 60);
	end = vigil_loop_now_ns() + 2600000000LL;
	while (vigil_loop_now_ns() < end)
		vigil_loop_once(loop, 100);
	assert_true(h.check >= 1); /* 1 s interval over 2.6 s; late loops coalesce expirations */
	vigil_sched_free(s);

	sch[0].every_s = 0;
	sch[0].at_min = 24 * 60;
	assert_int_equal(vigil_sched_new(loop, sch, 1, on_due, &h, &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "schedule[0]"));
	vigil_loop_free(loop);
}

static void test_notify(void **state)
{
	char path[] = "/tmp/vigil-notify-XXXXXX", sock[64], buf[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;
	ssize_t n;

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(vigil_notify("READY=1"), 0);
	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/notify", path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", sock, 1);
	assert_int_equal(vigil_notify("READY=1"), 1);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_int_equal(n, 7);
	buf[n] = '\0';
	assert_string_equal(buf, "READY=1");
	setenv("NOTIFY_SOCKET", "relative", 1);
	assert_int_equal(vigil_notify("READY=1"), -EINVAL);
	unsetenv("NOTIFY_SOCKET");

	setenv("WATCHDOG_USEC", "30000000", 1);
	unsetenv("WATCHDOG_PID");
	assert_int_equal(vigil_notify_watchdog_ms(), 30000);
	setenv("WATCHDOG_PID", "1", 1);
	assert_int_equal(vigil_notify_watchdog_ms(), 0);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	close(fd);
	unlink(sock);
	rmdir(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_at),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_notify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
