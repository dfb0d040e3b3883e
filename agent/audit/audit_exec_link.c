/* audit_exec_link.c - the kernel's proc connector: the socket, the
 * subscription to exec events and the parser of its messages
 * (include/vigil/audit_exec.h).  Everything read here comes from the
 * kernel, but is parsed as if it did not: lengths are checked before any
 * field is used.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include "vigil/audit_exec.h"

/* 4 MiB asked, 8 MiB given (the kernel doubles it): at about 600 bytes
 * per queued exec message (skb overhead included, measured with
 * /proc/net/netlink) over 10,000 messages, a few seconds of an exec storm
 * while the loop is busy. */
#define RCVBUF (4 << 20)

/* struct proc_input of Linux 6.6+ (older headers lack it): subscribe and
 * filter by event type in one message.  Older kernels ignore a message of
 * this size, so the plain LISTEN goes first. */
struct exec_proc_input {
	uint32_t mcast_op;
	uint32_t event_type;
};


static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ------------------------------------------------------------------ parse */

size_t vigil_audit_exec_parse(const void *buf, size_t len, struct vigil_audit_exec_msg *out,
			      size_t max, uint64_t *bad)
{
	const unsigned char *p = buf;
	size_t n = 0;

	while (len >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr h;
		struct cn_msg cn;
		struct proc_event ev;
		size_t ml, body;

		memcpy(&h, p, sizeof(h));
		ml = h.nlmsg_len;
		if (ml < sizeof(h) || ml > len) {
			(*bad)++; /* the rest cannot be framed */
			return n;
		}
		body = ml - sizeof(h);
		if (h.nlmsg_type != NLMSG_DONE || body < sizeof(cn)) {
			(*bad)++;
			goto next;
		}
		memcpy(&cn, p + NLMSG_HDRLEN, sizeof(cn));
		if (cn.id.idx != CN_IDX_PROC || cn.id.val != CN_VAL_PROC ||
		    cn.len > body - sizeof(cn) || cn.len < offsetof(struct proc_event, event_data)) {
			(*bad)++;
			goto next;
		}
		memset(&ev, 0, sizeof(ev));
		memcpy(&ev, p + NLMSG_HDRLEN + sizeof(cn), cn.len < sizeof(ev) ? cn.len : sizeof(ev));
		if ((ev.what == PROC_EVENT_EXEC &&
		     cn.len < offsetof(struct proc_event, event_data) + sizeof(ev.event_data.exec)) ||
		    (ev.what == PROC_EVENT_NONE &&
		     cn.len < offsetof(struct proc_event, event_data) + sizeof(ev.event_data.ack))) {
			(*bad)++;
			goto next;
		}
		if (n < max) {
			struct vigil_audit_exec_msg *m = &out[n++];

			memset(m, 0, sizeof(*m));
			m->what = ev.what;
			m->cpu = ev.cpu;
			m->ts_ns = ev.timestamp_ns;
			if (ev.what == PROC_EVENT_EXEC) {
				m->pid = ev.event_data.exec.process_pid;
				m->tgid = ev.event_data.exec.process_tgid;
			} else if (ev.what == PROC_EVENT_NONE) {
				m->ack_err = ev.event_data.ack.err;
			}
		}
next:
		ml = NLMSG_ALIGN(ml);
		if (ml >= len)
			break;
		p += ml;
		len -= ml;
	}
	return n;
}

/* ------------------------------------------------------------ socket */

static int send_op(int fd, uint32_t seq, const void *data, uint16_t len)
{
	unsigned char req[NLMSG_HDRLEN + sizeof(struct cn_msg) + sizeof(struct exec_proc_input)]
		__attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr h = { 0 };
	struct cn_msg cn = { 0 };

	if (len > sizeof(struct exec_proc_input))
		return -EINVAL;
	h.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + sizeof(cn) + len);
	h.nlmsg_type = NLMSG_DONE;
	cn.id.idx = CN_IDX_PROC;
	cn.id.val = CN_VAL_PROC;
	cn.seq = seq;
	cn.len = len;
	memset(req, 0, sizeof(req));
	memcpy(req, &h, sizeof(h));
	memcpy(req + NLMSG_HDRLEN, &cn, sizeof(cn));
	memcpy(req + NLMSG_HDRLEN + sizeof(cn), data, len);
	return send(fd, req, h.nlmsg_len, 0) < 0 ? -errno : 0;
}

/* Waits up to a second for the kernel's answer to LISTEN: 0, -errno it
 * sent, or -ETIMEDOUT (the caller carries on: events may come anyway). */
static int wait_ack(int fd)
{
	int64_t end = mono_ns() + 1000000000LL;
	char buf[1024] __attribute__((aligned(NLMSG_ALIGNTO)));

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		struct vigil_audit_exec_msg m[4];
		uint64_t bad = 0;
		int64_t left = (end - mono_ns()) / 1000000;
		ssize_t r;
		size_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -ETIMEDOUT;
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ENOBUFS)
				continue;
			return -errno;
		}
		n = vigil_audit_exec_parse(buf, (size_t)r, m, 4, &bad);
		for (size_t i = 0; i < n; i++)
			if (m[i].what == PROC_EVENT_NONE)
				return -(int)m[i].ack_err;
	}
}
int vigil_audit_exec_socket(struct vigil_err *err)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
	struct exec_proc_input in = { PROC_CN_MCAST_LISTEN, PROC_EVENT_EXEC };
	uint32_t op = PROC_CN_MCAST_LISTEN;
	int sz = RCVBUF, rc, fd;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
	if (fd < 0)
		return vigil_err_set(err, -errno, "exec watcher: proc connector socket: %s%s",
				     strerror(errno), errno == EPROTONOSUPPORT ?
				     " (kernel without CONFIG_PROC_EVENTS)" : "");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = vigil_err_set(err, -errno, "exec watcher: joining the proc connector group: %s",
				   strerror(errno));
		goto fail;
	}
	/* plain LISTEN (every kernel), its answer, then the 6.6+ filter to
	 * exec events only (older kernels ignore it: then fork and exit
	 * events come too and are skipped) */
	rc = send_op(fd, 1, &op, sizeof(op));
	if (!rc) {
		rc = wait_ack(fd);
		if (rc == -ETIMEDOUT)
			rc = 0;
	}
	if (!rc)
		rc = send_op(fd, 2, &in, sizeof(in));
	if (rc) {
		vigil_err_set(err, rc, "exec watcher: subscribing to the proc connector: %s%s",
			      strerror(-rc), rc == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return rc;
}
