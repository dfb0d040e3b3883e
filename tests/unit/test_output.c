/* test_output.c - event sinks: RFC 5424 headers, JSON-lines files (reopen,
 * disk full on a small tmpfs), TCP with octet counting, reconnect and a
 * bounded backlog that counts its losses. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/actions.h"
#include "vigil/output.h"

static void test_syslog_header(void **state)
{
	static const struct {
		int facility, severity;
		const char *msgid;
		const char *want;
	} cases[] = {
		{ 3, VIGIL_SEV_CRITICAL, "file-changed", "<26>1 2023-11-14T22:13:20.123456Z h vigil 42 file-changed - " },
		{ 3, 0, NULL, "<30>1 2023-11-14T22:13:20.123456Z h vigil 42 - - " },
		{ 16, VIGIL_SEV_LOW, "a b", "<133>1 2023-11-14T22:13:20.123456Z h vigil 42 a_b - " },
		{ 23, VIGIL_SEV_MEDIUM, "0123456789012345678901234567890123456789",
		  "<188>1 2023-11-14T22:13:20.123456Z h vigil 42 01234567890123456789012345678901 - " },
	};
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = vigil_output_syslog_header(buf, sizeof(buf), cases[i].facility, cases[i].severity,
						      "h", cases[i].msgid, 1700000000123456789LL, 42);

		assert_int_equal(n, strlen(cases[i].want));
		assert_string_equal(buf, cases[i].want);
	}
	assert_int_equal(vigil_output_syslog_header(buf, 10, 3, 0, "h", NULL, 0, 1), 0);
}

static size_t count_lines(const char *path, int *torn)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	size_t n = 0;

	*torn = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		size_t l = strlen(line);

		if (l < 2 || line[l - 1] != '\n' || line[l - 2] != '}' || line[0] != '{')
			(*torn)++;
		n++;
	}
	fclose(f);
	return n;
}

static void test_jsonl_reopen(void **state)
{
	char dir[] = "/tmp/vigil-output-XXXXXX", file[64], moved[64];
	struct vigil_output o = { .type = VIGIL_OUT_JSONL };
	struct vigil_output_set *set;
	struct vigil_output_stats st;
	struct vigil_loop *loop;
	struct vigil_err err;
	int torn;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/events.jsonl", dir);
	snprintf(moved, sizeof(moved), "%s/events.jsonl.1", dir);
	o.path = file;
	assert_int_equal(vigil_loop_new(&loop, &err), 0);
	assert_int_equal(vigil_output_new(loop, &o, 1, &set, &err), 0);
	vigil_output_emit(set, "{\"a\":1}", 7, 0, "x");
	vigil_output_emit(set, "{\"a\":2}", 7, 0, "x");
	assert_int_equal(rename(file, moved), 0);
	vigil_output_emit(set, "{\"a\":3}", 7, 0, "x");
	assert_int_equal(vigil_output_reopen(set, &err), 0);
	vigil_output_emit(set, "{\"a\":4}", 7, 0, "x");
	assert_int_equal(count_lines(moved, &torn), 3);
	assert_int_equal(count_lines(file, &torn), 1);
	vigil_output_stats(set, &st);
	assert_int_equal(st.emitted, 4);
	assert_int_equal(st.written, 4);
	assert_int_equal(st.dropped, 0);
	{
		struct stat sb;

		assert_int_equal(stat(file, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	vigil_output_free(set);
	/* A relative path and a bad syslog target are config errors naming them. */
	o.path = "rel.jsonl";
	assert_int_equal(vigil_output_new(loop, &o, 1, &set, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "rel.jsonl"));
	assert_null(set);
	{
		struct vigil_output t = { .type = VIGIL_OUT_SYSLOG, .target = "udp://x:1" };

		assert_int_equal(vigil_output_new(loop, &t, 1, &set, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "udp://x:1"));
	}
	vigil_loop_free(loop);
	unlink(file);
	unlink(moved);
	rmdir(dir);
}

/* A 64 KiB tmpfs on dir (mkdtemp template) with file and filler named in
 * it (64 bytes each), filler holding n lines of 200 bytes (-1: until the
 * disk is full).  -1 when it cannot be mounted (not root). */
static int mount_small(char *dir, char *file, char *filler, int n)
{
	char line[200];
	int fd;

	assert_non_null(mkdtemp(dir));
	if (mount("tmpfs", dir, "tmpfs", 0, "size=64k")) {
		rmdir(dir);
		return -1;
	}
	snprintf(file, 64, "%s/events.jsonl", dir);
	snprintf(filler, 64, "%s/filler", dir);
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	memset(line, 'f', sizeof(line));
	for (int i = 0; n < 0 || i < n; i++) {
		ssize_t w = write(fd, line, sizeof(line));

		if (n < 0 && w != (ssize_t)sizeof(line))
			break;
		assert_int_equal(w, sizeof(line));
	}
	close(fd);
	return 0;
}

static void test_disk_full(void **state)
{
	char dir[] = "/tmp/vigil-full-XXXXXX", file[64], filler[64], line[200];
	struct vigil_output o = { .type = VIGIL_OUT_JSONL, .backlog = 50 };
	struct vigil_output_set *set;
	struct vigil_output_stats st;
	struct vigil_loop *loop;
	struct vigil_err err;
	int torn;
	size_t lines;

	(void)state;
	if (mount_small(dir, file, filler, 100))
		skip(); /* needs root (CI runs as root) */
	o.path = file;
	assert_int_equal(vigil_loop_new(&loop, &err), 0);
	assert_int_equal(vigil_output_new(loop, &o, 1, &set, &err), 0);
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(line, sizeof(line), "{\"n\":%d,\"pad\":\"%080d\"}", i, 0);

		vigil_output_emit(set, line, (size_t)n, 0, NULL);
	}
	vigil_output_stats(set, &st);
	assert_int_equal(st.emitted, 1000);
	assert_int_equal(st.queued, 50);
	assert_true(st.dropped > 0);
	assert_int_equal(st.written + st.queued + st.dropped, 1000);
	lines = count_lines(file, &torn);
	assert_int_equal(lines, st.written);
	assert_int_equal(torn, 0);

	/* Space comes back: the loss is written first, then the queue in order. */
	assert_int_equal(unlink(filler), 0);
	assert_int_equal(vigil_output_flush(set, 0), 0);
	vigil_output_stats(set, &st);
	assert_int_equal(st.queued, 0);
	assert_int_equal(count_lines(file, &torn), lines + 51);
	assert_int_equal(torn, 0);
	{
		char cmd[256], out[64] = "";
		FILE *p;

		snprintf(cmd, sizeof(cmd), "grep -c '\"action\":\"output-dropped\".*\"dropped\":%llu}' %s",
			 (unsigned long long)st.dropped, file);
		p = popen(cmd, "r");
		assert_non_null(fgets(out, sizeof(out), p));
		pclose(p);
		assert_int_equal(atoi(out), 1);
	}
	vigil_output_free(set);
	vigil_loop_free(loop);
	assert_int_equal(umount(dir), 0);
	rmdir(dir);
}

struct loss {
	int calls;
	char name[128];
	uint64_t queued, unreported;
};

static void on_loss(void *ctx, const char *name, uint64_t queued, uint64_t unreported)
{
	struct loss *l = ctx;

	l->calls++;
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->queued = queued;
	l->unreported = unreported;
}

/* Stopping while the disk is still full: the flush gives up at once, and
 * what is queued or was lost unreported is counted and handed to the caller
 * to say. */
static void test_give_up_full(void **state)
{
	char dir[] = "/tmp/vigil-full-XXXXXX", file[64], filler[64], line[200];
	struct vigil_output o = { .type = VIGIL_OUT_JSONL, .backlog = 20 };
	struct vigil_output_set *set;
	struct vigil_output_stats st;
	struct vigil_loop *loop;
	struct vigil_err err;
	struct loss l = { 0 };
	int64_t t0;

	(void)state;
	if (mount_small(dir, file, filler, -1))
		skip(); /* needs root (CI runs as root) */
	o.path = file;
	assert_int_equal(vigil_loop_new(&loop, &err), 0);
	assert_int_equal(vigil_output_new(loop, &o, 1, &set, &err), 0);
	for (int i = 0; i < 100; i++) {
		int n = snprintf(line, sizeof(line), "{\"n\":%d}", i);

		vigil_output_emit(set, line, (size_t)n, 0, NULL);
	}
	t0 = vigil_loop_now_ns();
	assert_int_equal(vigil_output_flush(set, 60000), 20);
	/* a file does not wait for space (generous bound: a loaded machine) */
	assert_true(vigil_loop_now_ns() - t0 < 30 * 1000000000LL);
	assert_int_equal(vigil_output_give_up(set, on_loss, &l), 100);
	assert_int_equal(l.calls, 1);
	assert_string_equal(l.name, file);
	assert_int_equal(l.queued, 20);
	assert_int_equal(l.unreported, 80);
	vigil_output_stats(set, &st);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.dropped, 100);
	assert_int_equal(st.written, 0);
	/* Nothing left: a second call reports nothing. */
	l.calls = 0;
	assert_int_equal(vigil_output_give_up(set, on_loss, &l), 0);
	assert_int_equal(l.calls, 0);
	vigil_output_free(set);
	vigil_loop_free(loop);
	assert_int_equal(umount(dir), 0);
	rmdir(dir);
}

static int listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Runs the loop until an accept on lfd succeeds (or 20 s). */
static int accept_with_loop(struct vigil_loop *loop, int lfd)
{
	int64_t end = vigil_loop_now_ns() + 20000000000LL;
	int c;

	fcntl(lfd, F_SETFL, O_NONBLOCK);
	while ((c = accept(lfd, NULL, NULL)) < 0 && vigil_loop_now_ns() < end)
		vigil_loop_once(loop, 50);
	return c;
}

/* Reads octet-counted frames until want have come (running the loop). */
static size_t read_frames(struct vigil_loop *loop, int fd, char frames[][512], size_t want)
{
	static char buf[1 << 16];
	size_t have = 0, n = 0;
	int64_t end = vigil_loop_now_ns() + 10000000000LL;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (n < want && vigil_loop_now_ns() < end) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - have);
		char *sp;

		if (r > 0)
			have += (size_t)r;
		else
			vigil_loop_once(loop, 20);
		while (n < want && (sp = memchr(buf, ' ', have))) {
			size_t len = (size_t)atol(buf), hl = (size_t)(sp + 1 - buf);

			if (have < hl + len)
				break;
			snprintf(frames[n++], 512, "%.*s", (int)len, sp + 1);
			memmove(buf, buf + hl + len, have - hl - len);
			have -= hl + len;
		}
	}
	return n;
}

static void test_tcp_backlog(void **state)
{
	struct vigil_output o = { .type = VIGIL_OUT_SYSLOG, .backlog = 5, .facility = 16 };
	static char frames[16][512];
	struct vigil_output_set *set;
	struct vigil_output_stats st;
	struct vigil_loop *loop;
	struct vigil_err err;
	char target[64], line[64];
	int lfd = -1, c, port = 0;

	(void)state;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (int i = 0; i < 20 && lfd < 0; i++) {
		port = 20000 + rand() % 20000;
		lfd = listen_on(port);
	}
	assert_true(lfd >= 0);
	snprintf(target, sizeof(target), "tcp://127.0.0.1:%d", port);
	o.target = target;
	assert_int_equal(vigil_loop_new(&loop, &err), 0);
	assert_int_equal(vigil_output_new(loop, &o, 1, &set, &err), 0);
	vigil_output_emit(set, "{\"n\":0}", 7, VIGIL_SEV_HIGH, "file-changed");
	c = accept_with_loop(loop, lfd);
	assert_true(c >= 0);
	assert_int_equal(read_frames(loop, c, frames, 1), 1);
	assert_non_null(strstr(frames[0], "<131>1 "));
	assert_non_null(strstr(frames[0], " vigil "));
	assert_non_null(strstr(frames[0], " file-changed - {\"n\":0}"));

	/* The collector goes away: events wait, the oldest beyond 5 are dropped. */
	close(c);
	close(lfd);
	for (int i = 0; i < 50; i++)
		vigil_loop_once(loop, 10);
	for (int i = 1; i <= 12; i++) {
		int n = snprintf(line, sizeof(line), "{\"n\":%d}", i);

		vigil_output_emit(set, line, (size_t)n, 0, NULL);
		vigil_loop_once(loop, 0);
	}
	vigil_output_stats(set, &st);
	assert_int_equal(st.queued, 5);
	assert_int_equal(st.dropped, 7);

	lfd = listen_on(port);
	assert_true(lfd >= 0);
	c = accept_with_loop(loop, lfd);
	assert_true(c >= 0);
	assert_int_equal(read_frames(loop, c, frames, 6), 6);
	assert_non_null(strstr(frames[0], "\"action\":\"output-dropped\""));
	assert_non_null(strstr(frames[0], "\"dropped\":7}"));
	/* Rendered by event.c like every event: ECS severity 73 for high,
	 * microsecond timestamps, the RFC 5424 MSGID from actions.h. */
	assert_non_null(strstr(frames[0], "\"severity\":73"));
	assert_non_null(strstr(frames[0], " " VIGIL_ACTION_OUTPUT_DROPPED " - {"));
	{
		const char *ts = strstr(frames[0], "\"@timestamp\":\"");

		assert_non_null(ts);
		assert_true(strlen(ts) > 42);
		assert_int_equal(ts[14 + 26], 'Z'); /* 2026-12-01T12:00:00.123456Z */
	}
	for (int i = 0; i < 5; i++) {
		snprintf(line, sizeof(line), "{\"n\":%d}", 8 + i);
		assert_non_null(strstr(frames[1 + i], line));
	}
	vigil_output_stats(set, &st);
	assert_int_equal(st.queued, 0);
	assert_int_equal(vigil_output_flush(set, 100), 0);
	vigil_output_free(set);
	vigil_loop_free(loop);
	close(c);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syslog_header),
		cmocka_unit_test(test_jsonl_reopen),
		cmocka_unit_test(test_disk_full),
		cmocka_unit_test(test_give_up_full),
		cmocka_unit_test(test_tcp_backlog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
