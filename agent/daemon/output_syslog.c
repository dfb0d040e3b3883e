/* output_syslog.c - syslog's side of the outputs: the RFC 5424 header and
 * the remote collector over TCP (RFC 6587 octet counting; connect without
 * blocking, back off 1 s doubling up to 60 s).  See output.h. */
#include "config.h"

#include "output_priv.h"

size_t vigil_output_syslog_header(char *buf, size_t size, int facility, int severity,
				  const char *host, const char *msgid, int64_t time_ns, int pid)
{
	/* vigil severity -> syslog: critical=crit(2) high=err(3) medium=warning(4)
	 * low=notice(5), none=info(6). */
	static const int map[] = { 6, 5, 4, 3, 2 };
	int sev = severity >= 0 && severity <= 4 ? map[severity] : 6;
	time_t secs = (time_t)(time_ns / 1000000000);
	struct tm tm;
	char ts[40], mid[33];
	size_t i;
	int n;

	if (!gmtime_r(&secs, &tm) || !strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	/* MSGID: 1 to 32 printable US-ASCII characters, no space. */
	for (i = 0; msgid && msgid[i] && i < 32; i++)
		mid[i] = msgid[i] > 32 && msgid[i] < 127 ? msgid[i] : '_';
	mid[i] = '\0';
	n = snprintf(buf, size, "<%d>1 %s.%06ldZ %s vigil %d %s - ", (facility & 23) * 8 + sev, ts,
		     (long)(time_ns % 1000000000 / 1000), host && host[0] ? host : "-", pid,
		     i ? mid : "-");
	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

static void tcp_schedule(struct sink *s)
{
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : 1000;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	vigil_loop_timer_arm(s->timer, s->backoff_ms, 0);
}

void output_tcp_disconnect(struct sink *s)
{
	if (s->fd >= 0) {
		vigil_loop_del(s->set->loop, s->fd);
		close(s->fd);
	}
	s->fd = -1;
	s->connected = s->connecting = 0;
	s->epoll_events = 0;
	s->off = 0; /* a half-sent frame is sent whole on the next connection */
	tcp_schedule(s);
}

void output_tcp_ready(struct vigil_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct sink *s = ctx;

	if (s->connecting) {
		int e = 0;
		socklen_t l = sizeof(e);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0 || e) {
			output_tcp_disconnect(s);
			return;
		}
		s->connecting = 0;
		s->connected = 1;
		s->backoff_ms = 0;
		output_set_epoll(s, EPOLLIN | EPOLLRDHUP);
		output_drain(s);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		char buf[512];
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		/* A collector says nothing; end of stream or an error means it went. */
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || (events & (EPOLLHUP | EPOLLERR))) {
			output_tcp_disconnect(s);
			return;
		}
	}
	if (events & EPOLLOUT)
		output_drain(s);
}

void output_tcp_connect(struct sink *s)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *ai = NULL;
	int fd = -1;

	if (s->fd >= 0)
		return;
	if (getaddrinfo(s->host, s->port, &hints, &ai) != 0 || !ai) {
		tcp_schedule(s);
		return;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
		goto fail;
	if (vigil_loop_add(s->set->loop, fd, EPOLLOUT | EPOLLIN | EPOLLRDHUP, output_tcp_ready, s))
		goto fail;
	s->fd = fd;
	s->epoll_events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
	s->connecting = 1;
	freeaddrinfo(ai);
	return;
fail:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	tcp_schedule(s);
}

/* "tcp://host:port", "tcp://[v6]:port". */
int output_parse_tcp(const char *t, char **host, char **port)
{
	const char *h, *e, *p;

	if (strncmp(t, "tcp://", 6))
		return -EINVAL;
	h = t + 6;
	if (*h == '[') {
		e = strchr(h, ']');
		if (!e || e[1] != ':')
			return -EINVAL;
		p = e + 2;
		h++;
	} else {
		e = strrchr(h, ':');
		if (!e)
			return -EINVAL;
		p = e + 1;
	}
	if (e == h || !*p || strspn(p, "0123456789") != strlen(p) || atoi(p) < 1 || atoi(p) > 65535)
		return -EINVAL;
	*host = strndup(h, (size_t)(e - h));
	*port = strdup(p);
	return *host && *port ? 0 : -ENOMEM;
}
