/* fuzz_audit_link.c - the netlink reader (agent/audit/audit_link.c): kernel
 * datagrams turned into "type=NAME msg=..." lines for the audit engine.
 * The socket calls are wrapped at link time (-Wl,--wrap=socket,bind,
 * setsockopt,recv; Makefile.am), so no kernel socket is opened and recv()
 * hands out datagrams cut from the input:
 *
 *   2 bytes little-endian length L, then L bytes (one datagram: the netlink
 *   header as given, then the payload), repeated.  L 0xffff makes recv fail
 *   with ENOBUFS (records lost), 0xfffe with EINTR; the end of the input is
 *   EAGAIN.
 *
 * One engine for the whole run (see fuzz_audit.c).  Dictionary:
 * fuzz_audit.dict serves both. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vigil/audit.h"

#include "fuzz_common.h"

int __wrap_socket(int domain, int type, int proto);
int __real_socket(int domain, int type, int proto);
int __wrap_bind(int fd, const struct sockaddr *sa, socklen_t len);
int __real_bind(int fd, const struct sockaddr *sa, socklen_t len);
int __wrap_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int __real_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags);
ssize_t __real_recv(int fd, void *buf, size_t len, int flags);

static int fake_fd = -1;
static const uint8_t *in;
static size_t in_left;

int __wrap_socket(int domain, int type, int proto)
{
	if (domain != AF_NETLINK)
		return __real_socket(domain, type, proto);
	fake_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fake_fd;
}

int __wrap_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	return fd == fake_fd ? 0 : __real_bind(fd, sa, len);
}

int __wrap_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	return fd == fake_fd ? 0 : __real_setsockopt(fd, level, name, val, len);
}

ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags)
{
	size_t dl;

	if (fd != fake_fd)
		return __real_recv(fd, buf, len, flags);
	if (in_left < 2) {
		errno = EAGAIN;
		return -1;
	}
	dl = (size_t)in[0] | (size_t)in[1] << 8;
	in += 2;
	in_left -= 2;
	if (dl == 0xffff || dl == 0xfffe) {
		errno = dl == 0xffff ? ENOBUFS : EINTR;
		return -1;
	}
	if (dl > in_left)
		dl = in_left;
	memcpy(buf, in, dl < len ? dl : len); /* a datagram longer than buf is truncated, as by the kernel */
	in += dl;
	in_left -= dl;
	return (ssize_t)(dl < len ? dl : len);
}

static void sink(const struct vigil_event *ev, void *ctx)
{
	(*(size_t *)ctx) += ev->action ? strlen(ev->action) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vigil_audit_engine_opts o = { .window_ms = 1000, .proc = "/nonexistent",
							  .all_execs = 1, .all_files = 1, .exec_rate = 100 };
	static struct vigil_audit_engine *engine;
	static struct vigil_audit_link *link;
	static size_t sunk;
	struct vigil_err err;
	uint64_t dropped = 0;
	struct vigil_who who;

	if (!engine) {
		engine = vigil_audit_engine_new(&o, sink, &sunk);
		if (!engine || vigil_audit_link_open(&link, &err))
			abort();
	}
	in = data;
	in_left = size;
	/* the daemon reads until EAGAIN; the reader stops after a batch */
	while (vigil_audit_link_read(link, vigil_audit_engine_parser(engine), &dropped) > 0)
		;
	vigil_audit_engine_tick(engine, NULL, dropped);
	vigil_audit_parser_flush(vigil_audit_engine_parser(engine));
	vigil_audit_engine_who(engine, "/etc/docker/daemon.json", 0, 0, &who);
	return 0;
}
