/* test_ctl.c - the control socket protocol (agent/daemon/ctl.c): framing
 * (pipelined, split and CRLF lines, blank lines), bad JSON and missing
 * "cmd", the error budget, oversized requests, answers given later, the
 * client limit, a peer of another uid (SO_PEERCRED cannot be faked with a
 * real peer: getsockopt is wrapped at link time, -Wl,--wrap=getsockopt), and
 * the `vigil ctl` client against a scripted server.
 *
 * Server and client share this thread: the tests write, then turn the loop
 * (pump) until the answer is there. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/ctl.h"
#include "vigil/loop.h"

int __wrap_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int __real_getsockopt(int fd, int level, int name, void *val, socklen_t *len);

static uid_t fake_peer_uid = (uid_t)-1; /* -1: the real credentials */

int __wrap_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int rc = __real_getsockopt(fd, level, name, val, len);

	if (rc == 0 && level == SOL_SOCKET && name == SO_PEERCRED && fake_peer_uid != (uid_t)-1)
		((struct ucred *)val)->uid = fake_peer_uid;
	return rc;
}

struct fx {
	char dir[64], path[128];
	struct vigil_loop *loop;
	struct vigil_ctl *ctl;
	uint64_t deferred; /* client of the last "later" request */
	int calls;
};

static void handler(void *ctx, uint64_t client, const char *cmd, json_t *req)
{
	struct fx *f = ctx;

	f->calls++;
	if (!strcmp(cmd, "status"))
		vigil_ctl_reply(f->ctl, client, "{\"ok\":true}");
	else if (!strcmp(cmd, "echo"))
		vigil_ctl_reply(f->ctl, client, json_string_value(json_object_get(req, "text")));
	else if (!strcmp(cmd, "later"))
		f->deferred = client;
	else
		vigil_ctl_reply_bad(f->ctl, client, "unknown command");
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vigil_err err;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-test-ctl.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/run/control.sock", f->dir);
	assert_int_equal(vigil_loop_new(&f->loop, &err), 0);
	assert_int_equal(vigil_ctl_listen(f->loop, f->path, handler, f, &f->ctl, &err), 0);
	fake_peer_uid = (uid_t)-1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	vigil_ctl_free(f->ctl);
	assert_int_equal(access(f->path, F_OK), -1); /* the socket file is removed */
	vigil_loop_free(f->loop);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void pump(struct fx *f)
{
	for (int i = 0; i < 20; i++)
		if (vigil_loop_once(f->loop, i < 2 ? 20 : 0) <= 0 && i >= 2)
			break;
}

static int client(struct fx *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	pump(f); /* accepted */
	return fd;
}

static void say(struct fx *f, int fd, const char *text)
{
	assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
	pump(f);
}

/* What the server sent so far ("" when nothing); EOF appends "<EOF>". */
static const char *heard(int fd)
{
	static char buf[16384];
	size_t n = 0;

	for (;;) {
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, MSG_DONTWAIT);

		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		if (r == 0 && n + 5 < sizeof(buf)) {
			memcpy(buf + n, "<EOF>", 5);
			n += 5;
		}
		break;
	}
	buf[n] = '\0';
	return buf;
}

static void test_framing_table(void **state)
{
	static const struct {
		const char *what;
		const char *writes[4];
		const char *answer;
	} t[] = {
		{ "one request", { "{\"cmd\":\"status\"}\n" }, "{\"ok\":true}\n" },
		{ "pipelined, answered in order",
		  { "{\"cmd\":\"echo\",\"text\":\"1\"}\n{\"cmd\":\"echo\",\"text\":\"2\"}\n" }, "1\n2\n" },
		{ "split over writes", { "{\"cm", "d\":\"sta", "tus\"}\n" }, "{\"ok\":true}\n" },
		{ "CRLF and trailing spaces", { "{\"cmd\":\"status\"}  \r\n" }, "{\"ok\":true}\n" },
		{ "blank lines ignored", { "\n\r\n  \n{\"cmd\":\"status\"}\n" }, "{\"ok\":true}\n" },
		{ "no newline yet: no answer", { "{\"cmd\":\"status\"}" }, "" },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int fd = client(f);

		for (int k = 0; k < 4 && t[i].writes[k]; k++)
			say(f, fd, t[i].writes[k]);
		if (strcmp(heard(fd), t[i].answer))
			fail_msg("%s: heard '%s'", t[i].what, heard(fd));
		close(fd);
		pump(f);
		assert_int_equal(vigil_ctl_clients(f->ctl), 0);
	}
}

static void test_bad_requests_table(void **state)
{
	static const struct {
		const char *req, *error;
	} t[] = {
		{ "nope\n", "request is not a JSON object: " },
		{ "[1,2]\n", "request is not a JSON object: not an object" },
		{ "{\"x\":1}\n", "request has no \\\"cmd\\\" string" },
		{ "{\"cmd\":7}\n", "request has no \\\"cmd\\\" string" },
		{ "{\"cmd\":\"a\",\"cmd\":\"b\"}\n", "request is not a JSON object: " },
		{ "{\"cmd\":\"frobnicate\"}\n", "unknown command" },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int fd = client(f);
		const char *a;

		say(f, fd, t[i].req);
		a = heard(fd);
		if (strncmp(a, "{\"ok\": false", 12) && strncmp(a, "{\"ok\":false", 11))
			fail_msg("'%s': answer '%s'", t[i].req, a);
		if (!strstr(a, t[i].error))
			fail_msg("'%s': answer '%s' lacks '%s'", t[i].req, a, t[i].error);
		/* one bad request does not close the connection */
		say(f, fd, "{\"cmd\":\"status\"}\n");
		assert_string_equal(heard(fd), "{\"ok\":true}\n");
		close(fd);
		pump(f);
	}
	assert_int_equal(f->calls, 7); /* 6 good status + frobnicate */
}

/* VIGIL_CTL_MAX_ERRORS bad requests close the connection after the answer. */
static void test_error_budget(void **state)
{
	struct fx *f = *state;
	int fd = client(f);
	const char *a;

	for (int i = 1; i < VIGIL_CTL_MAX_ERRORS; i++) {
		say(f, fd, "garbage\n");
		assert_null(strstr(heard(fd), "<EOF>"));
	}
	say(f, fd, "garbage\n{\"cmd\":\"status\"}\n");
	a = heard(fd);
	assert_non_null(strstr(a, "\"ok\":false"));
	assert_null(strstr(a, "\"ok\":true")); /* the request after the last straw is not run */
	pump(f);
	assert_non_null(strstr(heard(fd), "<EOF>"));
	close(fd);
	pump(f);
	assert_int_equal(vigil_ctl_clients(f->ctl), 0);
}

/* A line of VIGIL_CTL_MAX_LINE bytes without a newline: answered, closed. */
static void test_oversized(void **state)
{
	struct fx *f = *state;
	int fd = client(f);
	char *big = malloc(VIGIL_CTL_MAX_LINE + 100);
	const char *a;

	assert_non_null(big);
	memset(big, 'x', VIGIL_CTL_MAX_LINE + 99);
	big[VIGIL_CTL_MAX_LINE + 99] = '\0';
	say(f, fd, big);
	pump(f);
	a = heard(fd);
	assert_non_null(strstr(a, "request line too long"));
	assert_non_null(strstr(a, "<EOF>"));
	assert_int_equal(f->calls, 0);
	free(big);
	close(fd);
	pump(f);
	assert_int_equal(vigil_ctl_clients(f->ctl), 0);
}

/* An answer given later; one request at a time; a reply to a client that
 * left is -ENOENT. */
static void test_deferred(void **state)
{
	struct fx *f = *state;
	int fd = client(f);
	uint64_t id;

	say(f, fd, "{\"cmd\":\"later\"}\n{\"cmd\":\"status\"}\n");
	assert_string_equal(heard(fd), "");
	assert_int_equal(f->calls, 1); /* the second waits for the first's answer */
	id = f->deferred;
	assert_int_equal(vigil_ctl_reply(f->ctl, id, "{\"ok\":true,\"differences\":0}"), 0);
	pump(f);
	assert_string_equal(heard(fd), "{\"ok\":true,\"differences\":0}\n{\"ok\":true}\n");
	say(f, fd, "{\"cmd\":\"later\"}\n");
	id = f->deferred;
	close(fd);
	pump(f);
	assert_int_equal(vigil_ctl_reply(f->ctl, id, "{}"), -ENOENT);
	assert_int_equal(vigil_ctl_reply_error(f->ctl, 999999, "x"), -ENOENT);
}

/* An error naming a path whose bytes are not UTF-8 is still answered,
 * the bytes escaped (before, json_pack refused it and no reply was sent). */
static void test_error_not_utf8(void **state)
{
	struct fx *f = *state;
	int fd = client(f);

	say(f, fd, "{\"cmd\":\"later\"}\n");
	assert_int_equal(vigil_ctl_reply_error(f->ctl, f->deferred, "cannot read '/tmp/\xff\xfe.yaml'"), 0);
	pump(f);
	assert_string_equal(heard(fd), "{\"ok\":false,\"error\":\"cannot read '/tmp/\\\\xff\\\\xfe.yaml'\"}\n");
	close(fd);
}

static void test_peer_uid_refused(void **state)
{
	struct fx *f = *state;
	int fd;

	fake_peer_uid = 4242;
	fd = client(f);
	assert_string_equal(heard(fd), "{\"ok\":false,\"error\":\"permission denied\"}\n<EOF>");
	assert_int_equal(vigil_ctl_clients(f->ctl), 0);
	close(fd);
	fake_peer_uid = (uid_t)-1;
}

static void test_client_limit(void **state)
{
	struct fx *f = *state;
	int fds[VIGIL_CTL_MAX_CLIENTS + 1];

	for (int i = 0; i < VIGIL_CTL_MAX_CLIENTS; i++)
		fds[i] = client(f);
	assert_int_equal(vigil_ctl_clients(f->ctl), VIGIL_CTL_MAX_CLIENTS);
	fds[VIGIL_CTL_MAX_CLIENTS] = client(f);
	assert_string_equal(heard(fds[VIGIL_CTL_MAX_CLIENTS]),
			    "{\"ok\":false,\"error\":\"too many control clients\"}\n<EOF>");
	for (int i = 0; i <= VIGIL_CTL_MAX_CLIENTS; i++)
		close(fds[i]);
	pump(f);
	assert_int_equal(vigil_ctl_clients(f->ctl), 0);
}

/* A second daemon cannot take a live socket; a bad path is refused. */
static void test_listen_errors(void **state)
{
	struct fx *f = *state;
	struct vigil_ctl *c2 = NULL;
	struct vigil_err err;

	assert_int_equal(vigil_ctl_listen(f->loop, f->path, handler, f, &c2, &err), -EADDRINUSE);
	assert_non_null(strstr(err.msg, "another daemon"));
	assert_int_equal(vigil_ctl_listen(f->loop, "relative.sock", handler, f, &c2, &err), -EINVAL);
	assert_null(c2);
}

/* ---- the client, against a scripted server in a thread ---- */
struct script {
	int lfd;
	const char *parts[4]; /* written in turn, 20 ms apart; then closed */
	int hold_ms;          /* before closing */
};

static void *serve(void *arg)
{
	struct script *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	char req[256];

	if (fd < 0)
		return NULL;
	if (recv(fd, req, sizeof(req), 0) <= 0)
		(void)0;
	for (int i = 0; i < 4 && s->parts[i]; i++) {
		if (send(fd, s->parts[i], strlen(s->parts[i]), MSG_NOSIGNAL) < 0)
			break;
		poll(NULL, 0, 20);
	}
	poll(NULL, 0, s->hold_ms);
	close(fd);
	return NULL;
}

static void test_client_table(void **state)
{
	static const struct {
		const char *parts[4];
		int hold_ms, timeout_ms, rc;
		const char *reply;
	} t[] = {
		{ { "{\"ok\":true}\n" }, 0, 2000, 0, "{\"ok\":true}" },
		{ { "{\"ok\":", "true,\"n\":", "1}\nextra" }, 0, 2000, 0, "{\"ok\":true,\"n\":1}" },
		{ { "{\"ok\":tr" }, 0, 2000, -ECONNRESET, NULL },
		{ { NULL }, 500, 100, -ETIMEDOUT, NULL },
	};
	struct fx *f = *state;
	char path[160];

	snprintf(path, sizeof(path), "%s/scripted.sock", f->dir);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		struct script s = { .hold_ms = t[i].hold_ms };
		struct vigil_err err;
		pthread_t th;
		char *reply = NULL;

		memcpy(s.parts, t[i].parts, sizeof(s.parts));
		unlink(path);
		memcpy(sa.sun_path, path, strlen(path) + 1);
		s.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(bind(s.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(listen(s.lfd, 1), 0);
		assert_int_equal(pthread_create(&th, NULL, serve, &s), 0);
		assert_int_equal(vigil_ctl_request(path, "status", t[i].timeout_ms, &reply, &err), t[i].rc);
		if (t[i].reply)
			assert_string_equal(reply, t[i].reply);
		else
			assert_null(reply);
		pthread_join(th, NULL);
		close(s.lfd);
		free(reply);
	}
	{
		struct vigil_err err;
		char *reply = NULL;

		assert_int_equal(vigil_ctl_request(path, "status", 100, &reply, &err), -ECONNREFUSED);
		assert_non_null(strstr(err.msg, "is `vigil watch` running?"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_framing_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_not_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_uid_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_table, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
