/* test_audit_link.c - the netlink reader (agent/audit/audit_link.c) without
 * a kernel: socket, bind, setsockopt and recv are wrapped at link time
 * (-Wl,--wrap=..., as tpm2-tools does), recv hands out scripted datagrams
 * and errors, and the parser's feed is wrapped to capture the lines the
 * reader builds.  Covers: open's error messages, one line per record, the
 * type names (known and unknown), control messages and runts skipped,
 * NUL/newline handling, an over-long record, ENOBUFS counted, EINTR retried,
 * a hard error returned, and the per-call batch limit. */
#include "config.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <libaudit.h>

#include "vigil/audit.h"

int __wrap_socket(int domain, int type, int proto);
int __real_socket(int domain, int type, int proto);
int __wrap_bind(int fd, const struct sockaddr *sa, socklen_t len);
int __wrap_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags);
ssize_t __real_recv(int fd, void *buf, size_t len, int flags);
int __wrap_vigil_audit_parser_feed(struct vigil_audit_parser *p, const char *text, size_t len);

#define FAKE_FD 1000

static int socket_errno, bind_errno;
static unsigned bound_groups;

/* scripted datagrams: bytes, or an errno when err != 0 */
struct dgram {
	int err;
	unsigned char *data;
	size_t len;
};
static struct dgram script[1024];
static size_t n_script, next_script;

static char fed[1 << 16];
static size_t n_fed;

int __wrap_socket(int domain, int type, int proto)
{
	if (domain != AF_NETLINK)
		return __real_socket(domain, type, proto);
	assert_int_equal(proto, NETLINK_AUDIT);
	if (socket_errno) {
		errno = socket_errno;
		return -1;
	}
	return dup2(0, FAKE_FD) < 0 ? -1 : FAKE_FD;
}

int __wrap_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	assert_int_equal(fd, FAKE_FD);
	bound_groups = ((const struct sockaddr_nl *)sa)->nl_groups;
	(void)len;
	if (bind_errno) {
		errno = bind_errno;
		return -1;
	}
	return 0;
}

int __wrap_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	(void)fd, (void)level, (void)name, (void)val, (void)len;
	return 0;
}

ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags)
{
	const struct dgram *d;

	if (fd != FAKE_FD)
		return __real_recv(fd, buf, len, flags);
	if (next_script == n_script) {
		errno = EAGAIN;
		return -1;
	}
	d = &script[next_script++];
	if (d->err) {
		errno = d->err;
		return -1;
	}
	memcpy(buf, d->data, d->len < len ? d->len : len);
	return (ssize_t)(d->len < len ? d->len : len);
}

int __wrap_vigil_audit_parser_feed(struct vigil_audit_parser *p, const char *text, size_t len)
{
	(void)p;
	assert_true(n_fed + len < sizeof(fed));
	memcpy(fed + n_fed, text, len);
	n_fed += len;
	fed[n_fed] = '\0';
	return 0;
}

static void add(uint16_t type, const void *payload, size_t plen, size_t hdr_len_field)
{
	struct dgram *d = &script[n_script++];
	struct nlmsghdr nh = { .nlmsg_len = (uint32_t)hdr_len_field, .nlmsg_type = type };

	d->len = NLMSG_HDRLEN + plen;
	d->data = calloc(1, d->len);
	assert_non_null(d->data);
	memcpy(d->data, &nh, sizeof(nh));
	memcpy(d->data + NLMSG_HDRLEN, payload, plen);
}

static void add_raw(const void *bytes, size_t len)
{
	struct dgram *d = &script[n_script++];

	d->data = malloc(len + 1);
	memcpy(d->data, bytes, len);
	d->len = len;
}

static void add_err(int e)
{
	script[n_script++].err = e;
}

static int reset(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_script; i++)
		free(script[i].data);
	memset(script, 0, sizeof(script));
	n_script = next_script = 0;
	n_fed = 0;
	fed[0] = '\0';
	socket_errno = bind_errno = 0;
	return 0;
}

static struct vigil_audit_link *open_link(void)
{
	struct vigil_audit_link *l = NULL;
	struct vigil_err err;

	assert_int_equal(vigil_audit_link_open(&l, &err), 0);
	assert_int_equal(vigil_audit_link_fd(l), FAKE_FD);
	assert_int_equal(bound_groups, 1U << (AUDIT_NLGRP_READLOG - 1));
	return l;
}

static void test_open_errors_table(void **state)
{
	static const struct {
		int sock_e, bind_e, rc;
		const char *msg;
	} t[] = {
		{ EAFNOSUPPORT, 0, -EPROTONOSUPPORT, "no audit support (CONFIG_AUDIT)" },
		{ EPROTONOSUPPORT, 0, -EPROTONOSUPPORT, "no audit support" },
		{ EMFILE, 0, -EMFILE, "netlink socket: Too many open files" },
		{ 0, EPERM, -EPERM, "needs root or CAP_AUDIT_READ" },
		{ 0, EACCES, -EPERM, "needs root or CAP_AUDIT_READ" },
		{ 0, ENOENT, -EPROTONOSUPPORT, "(Linux 3.16 or later)" },
		{ 0, EADDRINUSE, -EADDRINUSE, "bind to the audit log group" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct vigil_audit_link *l = (void *)1;
		struct vigil_err err;

		socket_errno = t[i].sock_e;
		bind_errno = t[i].bind_e;
		assert_int_equal(vigil_audit_link_open(&l, &err), t[i].rc);
		assert_null(l);
		if (!strstr(err.msg, t[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, t[i].msg);
	}
	vigil_audit_link_close(NULL);
}

/* One datagram -> one line "type=NAME msg=PAYLOAD\n". */
static void test_records_table(void **state)
{
	static const struct {
		uint16_t type;
		const char *payload;
		size_t plen;
		const char *line; /* NULL: skipped */
	} t[] = {
		{ AUDIT_SYSCALL, "audit(1.2:3): arch=c000003e syscall=59", 38,
		  "type=SYSCALL msg=audit(1.2:3): arch=c000003e syscall=59\n" },
		{ AUDIT_PATH, "audit(1.2:3): item=0 name=\"/x\"\n\n\0\0", 35,
		  "type=PATH msg=audit(1.2:3): item=0 name=\"/x\"\n" },
		{ AUDIT_EXECVE, "audit(1.2:3): a0=\"sh\"\na1=\"-c\"", 30,
		  "type=EXECVE msg=audit(1.2:3): a0=\"sh\" a1=\"-c\"\n" },
		{ AUDIT_CWD, "audit(1.2:3): cwd=\"/\"\0hidden", 28, "type=CWD msg=audit(1.2:3): cwd=\"/\"\n" },
		{ 4242, "audit(1.2:3): x=1", 17, "type=UNKNOWN[4242] msg=audit(1.2:3): x=1\n" },
		{ AUDIT_EOE, "audit(1.2:3): ", 14, "type=EOE msg=audit(1.2:3): \n" },
		{ NLMSG_DONE, "audit(1.2:3): x", 15, NULL },
		{ NLMSG_ERROR, "audit(1.2:3): x", 15, NULL },
		{ NLMSG_NOOP, "", 0, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct vigil_audit_link *l;
		uint64_t dropped = 0;

		reset(NULL);
		l = open_link();
		/* nlmsg_len as the kernel sets it for audit: the payload's length */
		add(t[i].type, t[i].payload, t[i].plen, t[i].plen);
		assert_int_equal(vigil_audit_link_read(l, NULL, &dropped), t[i].line ? 1 : 0);
		assert_string_equal(fed, t[i].line ? t[i].line : "");
		assert_int_equal(dropped, 0);
		vigil_audit_link_close(l);
	}
}

/* Runts, a header claiming more than the datagram, overflow, EINTR, EAGAIN. */
static void test_errors_and_runts(void **state)
{
	struct vigil_audit_link *l = open_link();
	uint64_t dropped = 0;

	(void)state;
	add_raw("short", 5);
	add(AUDIT_SYSCALL, "audit(9.9:9): lie", 17, 1u << 30);
	add_err(ENOBUFS);
	add_err(EINTR);
	add_err(ENOBUFS);
	add(AUDIT_EOE, "audit(9.9:9): ", 14, 14);
	assert_int_equal(vigil_audit_link_read(l, NULL, &dropped), 2);
	assert_int_equal(dropped, 2);
	assert_string_equal(fed, "type=SYSCALL msg=audit(9.9:9): lie\ntype=EOE msg=audit(9.9:9): \n");
	/* NULL dropped pointer is allowed */
	add_err(ENOBUFS);
	assert_int_equal(vigil_audit_link_read(l, NULL, NULL), 0);
	/* a hard error is returned */
	add_err(EBADF);
	assert_int_equal(vigil_audit_link_read(l, NULL, &dropped), -EBADF);
	vigil_audit_link_close(l);
}

/* A record longer than the buffer is cut, still one line ending in '\n'. */
static void test_long_record(void **state)
{
	struct vigil_audit_link *l = open_link();
	size_t plen = 3 * MAX_AUDIT_MESSAGE_LENGTH;
	char *p = malloc(plen);

	(void)state;
	memset(p, 'a', plen);
	memcpy(p, "audit(1.1:1): ", 14);
	add(AUDIT_PROCTITLE, p, plen, plen);
	assert_int_equal(vigil_audit_link_read(l, NULL, NULL), 1);
	assert_true(n_fed > MAX_AUDIT_MESSAGE_LENGTH && n_fed < MAX_AUDIT_MESSAGE_LENGTH + 256);
	assert_int_equal(fed[n_fed - 1], '\n');
	assert_null(memchr(fed, '\n', n_fed - 1));
	assert_int_equal(strncmp(fed, "type=PROCTITLE msg=audit(1.1:1): aaa", 36), 0);
	free(p);
	vigil_audit_link_close(l);
}

/* At most 512 records per call, so one busy source cannot starve the loop. */
static void test_batch_limit(void **state)
{
	struct vigil_audit_link *l = open_link();

	(void)state;
	for (int i = 0; i < 600; i++)
		add(AUDIT_EOE, "audit(1.1:1): ", 14, 14);
	assert_int_equal(vigil_audit_link_read(l, NULL, NULL), 512);
	assert_int_equal(vigil_audit_link_read(l, NULL, NULL), 88);
	assert_int_equal(vigil_audit_link_read(l, NULL, NULL), 0);
	vigil_audit_link_close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_errors_table, reset, reset),
		cmocka_unit_test_setup_teardown(test_records_table, reset, reset),
		cmocka_unit_test_setup_teardown(test_errors_and_runts, reset, reset),
		cmocka_unit_test_setup_teardown(test_long_record, reset, reset),
		cmocka_unit_test_setup_teardown(test_batch_limit, reset, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
