/* audit_link.c - the kernel's audit records, read from the netlink
 * multicast group AUDIT_NLGRP_READLOG.
 *
 * The group is a read-only copy of what the kernel sends to the audit daemon:
 * vigil needs no audit pid of its own, so auditd (if any) keeps its place and
 * its log, and vigil works the same without it.  Needs CAP_AUDIT_READ.  The
 * copy is best effort: when the socket buffer overflows the kernel drops
 * records for us only and recv says ENOBUFS; that is counted and becomes an
 * event (lost records are reported, never a silence).
 */
#include "config.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libaudit.h>

#include "vigil/audit.h"

/* A burst of records (a package upgrade, a container start) arrives faster
 * than one loop turn; 8 MiB holds some 20,000 records.  Root may go past
 * rmem_max with SO_RCVBUFFORCE; without it the default is what we get. */
#define RCVBUF (8 * 1024 * 1024)
/* Records read per call, so one busy source cannot starve the loop. */
#define MAX_PER_READ 512
#define MSG_MAX (MAX_AUDIT_MESSAGE_LENGTH + 64)

struct vigil_audit_link {
	int fd;
	char buf[MSG_MAX];
	char line[MSG_MAX + 64];
};

int vigil_audit_link_open(struct vigil_audit_link **out, struct vigil_err *err)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct vigil_audit_link *l;
	int fd, sz = RCVBUF, rc;

	*out = NULL;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_AUDIT);
	if (fd < 0) {
		rc = -errno;
		if (rc == -EPROTONOSUPPORT || rc == -EAFNOSUPPORT)
			return vigil_err_set(err, -EPROTONOSUPPORT,
					     "audit: the kernel has no audit support (CONFIG_AUDIT)");
		return vigil_err_set(err, rc, "audit: netlink socket: %s", strerror(-rc));
	}
	sa.nl_groups = 1U << (AUDIT_NLGRP_READLOG - 1);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		close(fd);
		if (rc == -EPERM || rc == -EACCES)
			return vigil_err_set(err, -EPERM,
					     "audit: joining the audit log multicast group needs root or "
					     "CAP_AUDIT_READ");
		if (rc == -ENOENT || rc == -EINVAL)
			return vigil_err_set(err, -EPROTONOSUPPORT,
					     "audit: the kernel has no audit multicast group "
					     "(Linux 3.16 or later)");
		return vigil_err_set(err, rc, "audit: bind to the audit log group: %s",
				     strerror(-rc));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	l = calloc(1, sizeof(*l));
	if (!l) {
		close(fd);
		return vigil_err_set(err, -ENOMEM, "audit: out of memory");
	}
	l->fd = fd;
	*out = l;
	return 0;
}

int vigil_audit_link_fd(const struct vigil_audit_link *l)
{
	return l ? l->fd : -1;
}

/* One netlink message -> one "type=NAME msg=audit(...): ..." line for auparse. */
static void feed_one(struct vigil_audit_link *l, const struct nlmsghdr *nh, size_t plen,
		     struct vigil_audit_parser *p)
{
	const char *payload = NLMSG_DATA(nh), *name;
	size_t o;
	char tbuf[32];
	int n;

	while (plen && (payload[plen - 1] == '\0' || payload[plen - 1] == '\n'))
		plen--;
	name = audit_msg_type_to_name(nh->nlmsg_type);
	if (!name) {
		snprintf(tbuf, sizeof(tbuf), "UNKNOWN[%u]", nh->nlmsg_type);
		name = tbuf;
	}
	n = snprintf(l->line, sizeof(l->line), "type=%s msg=", name);
	if (n < 0 || (size_t)n >= sizeof(l->line))
		return;
	o = (size_t)n;
	if (plen > sizeof(l->line) - o - 2)
		plen = sizeof(l->line) - o - 2;
	memcpy(l->line + o, payload, plen);
	o += plen;
	/* a NUL or newline inside a record would split it for auparse */
	for (size_t i = (size_t)n; i < o; i++)
		if (l->line[i] == '\0' || l->line[i] == '\n')
			l->line[i] = ' ';
	l->line[o++] = '\n';
	vigil_audit_parser_feed(p, l->line, o);
}

int vigil_audit_link_read(struct vigil_audit_link *l, struct vigil_audit_parser *p,
			  uint64_t *dropped)
{
	int records = 0;

	for (int i = 0; i < MAX_PER_READ; i++) {
		ssize_t n = recv(l->fd, l->buf, sizeof(l->buf), MSG_DONTWAIT);
		const struct nlmsghdr *nh;
		size_t len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				/* the kernel dropped records for this socket */
				if (dropped)
					(*dropped)++;
				continue;
			}
			return -errno;
		}
		/* One record per datagram.  The kernel has long set nlmsg_len
		 * of audit records to the payload length alone (auditd copes
		 * the same way), so the datagram's size bounds the payload and
		 * the header's length is trusted only when it fits. */
		len = (size_t)n;
		if (len < NLMSG_HDRLEN)
			continue;
		nh = (const struct nlmsghdr *)l->buf;
		if (nh->nlmsg_type == NLMSG_DONE || nh->nlmsg_type == NLMSG_ERROR ||
		    nh->nlmsg_type == NLMSG_NOOP)
			continue;
		len -= NLMSG_HDRLEN;
		len = strnlen((const char *)NLMSG_DATA(nh), len);
		feed_one(l, nh, len, p);
		records++;
	}
	return records;
}

void vigil_audit_link_close(struct vigil_audit_link *l)
{
	if (!l)
		return;
	close(l->fd);
	free(l);
}
