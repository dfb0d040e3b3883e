/* output.c - the event sinks: files, syslog (local datagram, remote TCP),
 * stdout, each with a bounded queue for when it cannot take an event. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "vigil/clock.h"
#include "vigil/event.h"
#include "vigil/output.h"

#define RETRY_MS 5000
#define BACKOFF_MAX_MS 60000
#define SYSLOG_PATH "/dev/log"

enum { S_FILE = 1, S_STDOUT, S_LOCAL, S_TCP };

struct qent {
	struct qent *next;
	size_t len;
	char data[];
};

struct sink {
	struct vigil_output_set *set;
	int kind;
	char *name; /* for messages: the file, or the target */
	int fd;
	int facility;
	/* tcp */
	char *host, *port;
	int connected;
	int connecting;
	unsigned backoff_ms;
	uint32_t epoll_events;
	/* queue */
	struct qent *head, *tail;
	size_t qn, qmax, off;
	int notice_at_head;
	uint64_t written, dropped, unreported;
	struct vigil_loop_timer *timer;
};

struct vigil_output_set {
	struct vigil_loop *loop;
	struct sink *s;
	size_t n;
	uint64_t emitted;
	char host[256];
	int pid;
};

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

/* ---- queue ---- */

static void q_push(struct sink *s, const char *data, size_t len)
{
	struct qent *e;

	if (s->qn >= s->qmax) {
		/* Drop the oldest, but never a frame already partly on the wire (the
		 * stream would be corrupt) nor the loss notice. */
		struct qent **vp = &s->head;

		if (*vp && (s->off || s->notice_at_head))
			vp = &(*vp)->next;
		s->dropped++;
		s->unreported++;
		if (!*vp)
			return; /* nothing droppable queued: the new event goes */
		e = *vp;
		*vp = e->next;
		if (s->tail == e) /* at most the second entry: a short walk */
			for (s->tail = s->head; s->tail && s->tail->next; s->tail = s->tail->next)
				;
		free(e);
		s->qn--;
	}
	e = malloc(sizeof(*e) + len);
	if (!e) {
		s->dropped++;
		s->unreported++;
		return;
	}
	e->next = NULL;
	e->len = len;
	memcpy(e->data, data, len);
	if (s->tail)
		s->tail->next = e;
	else
		s->head = e;
	s->tail = e;
	s->qn++;
}

static void q_pop(struct sink *s)
{
	struct qent *e = s->head;

	s->notice_at_head = 0;
	s->head = e->next;
	if (!s->head)
		s->tail = NULL;
	free(e);
	s->qn--;
	s->off = 0;
}

static void q_push_front(struct sink *s, const char *data, size_t len)
{
	struct qent *e = malloc(sizeof(*e) + len);

	if (!e)
		return;
	e->len = len;
	memcpy(e->data, data, len);
	e->next = s->head;
	s->head = e;
	if (!s->tail)
		s->tail = e;
	s->notice_at_head = 1; /* not an event: not counted in qn */
}

/* ---- framing ---- */

/* The bytes one event takes on sink s; malloc'd. */
static char *frame(struct sink *s, const char *line, size_t len, int severity, const char *msgid,
		   size_t *out_len)
{
	char hdr[512], pre[32];
	size_t hl = 0, pl = 0;
	char *buf;

	if (s->kind == S_LOCAL || s->kind == S_TCP) {
		hl = vigil_output_syslog_header(hdr, sizeof(hdr), s->facility, severity, s->set->host,
						msgid, vigil_clock_real_ns(), s->set->pid);
		if (s->kind == S_TCP) {
			int n = snprintf(pre, sizeof(pre), "%zu ", hl + len);

			if (n < 0 || (size_t)n >= sizeof(pre))
				return NULL;
			pl = (size_t)n;
		}
	}
	buf = malloc(pl + hl + len + 1);
	if (!buf)
		return NULL;
	memcpy(buf, pre, pl);
	memcpy(buf + pl, hdr, hl);
	memcpy(buf + pl + hl, line, len);
	*out_len = pl + hl + len;
	if (s->kind == S_FILE || s->kind == S_STDOUT)
		buf[(*out_len)++] = '\n';
	return buf;
}

/* The notice written first when a sink works again after losing events:
 * an event like any other (event.c renders it). */
static char *dropped_notice(struct sink *s, size_t *len)
{
	struct vigil_event ev = { 0 };
	char msg[512], *extra = NULL, *line, *buf = NULL;
	json_t *o = json_pack("{s:s,s:I}", "output", s->name, "dropped", (json_int_t)s->unreported);

	if (!o)
		return NULL;
	extra = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!extra)
		return NULL;
	snprintf(msg, sizeof(msg), "%llu events could not be written to %s and were dropped",
		 (unsigned long long)s->unreported, s->name);
	ev.action = VIGIL_ACTION_OUTPUT_DROPPED;
	ev.kind = "event";
	ev.severity = VIGIL_SEV_HIGH;
	ev.message = msg;
	ev.source = "output";
	ev.extra_json = extra;
	line = vigil_event_json(&ev, s->set->host);
	if (line)
		buf = frame(s, line, strlen(line), VIGIL_SEV_HIGH, VIGIL_ACTION_OUTPUT_DROPPED, len);
	free(line);
	free(extra);
	return buf;
}

/* ---- writing ---- */

static void tcp_disconnect(struct sink *s);
static void tcp_connect(struct sink *s);

/* Connects a local sink to /dev/log: 0, or -errno. */
static int local_connect(struct sink *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), rc;

	memcpy(sa.sun_path, SYSLOG_PATH, sizeof(SYSLOG_PATH));
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	s->fd = fd;
	return 0;
}

static void set_epoll(struct sink *s, uint32_t ev)
{
	if (s->fd < 0 || ev == s->epoll_events)
		return;
	if (vigil_loop_mod(s->set->loop, s->fd, ev) == 0)
		s->epoll_events = ev;
}

/* Writes one frame; 1 when all of it went, 0 when the sink cannot take it now
 * (the caller queues), 2 when it never can (dropped), -1 for a sink that must
 * be reset (tcp). */
static int put(struct sink *s, const char *buf, size_t len, size_t *off)
{
	ssize_t n;

	switch (s->kind) {
	case S_FILE:
	case S_STDOUT:
		if (s->fd < 0)
			return 0;
		n = write(s->fd, buf, len);
		if (n == (ssize_t)len)
			return 1;
		if (n > 0 && s->kind == S_FILE) {
			/* Disk full mid-line: cut the torn line off again so the file
			 * stays one JSON object per line. */
			off_t end = lseek(s->fd, 0, SEEK_END);

			if (end >= n && ftruncate(s->fd, end - n) < 0)
				(void)0;
		}
		return 0;
	case S_LOCAL:
		if (s->fd < 0 && local_connect(s))
			return 0;
		n = send(s->fd, buf, len, MSG_NOSIGNAL);
		if (n == (ssize_t)len)
			return 1;
		if (n < 0 && errno == EMSGSIZE)
			return 2; /* larger than the socket's limit: it never fits */
		if (n < 0 && (errno == ECONNREFUSED || errno == ENOTCONN || errno == ENOENT)) {
			close(s->fd); /* syslogd restarted: reconnect next time */
			s->fd = -1;
		}
		return 0;
	case S_TCP:
		if (!s->connected)
			return 0;
		n = send(s->fd, buf + *off, len - *off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		*off += (size_t)n;
		return *off == len;
	}
	return 0;
}

static void retry_timer(struct vigil_loop_timer *t, uint64_t n, void *ctx);

static void arm_retry(struct sink *s)
{
	if (s->kind == S_TCP || !s->timer || vigil_loop_timer_armed(s->timer))
		return;
	vigil_loop_timer_arm(s->timer, RETRY_MS, 0);
}

/* Writes what is queued, in order, after the loss notice when events were
 * dropped.  Returns 1 when the queue is empty. */
static int drain(struct sink *s)
{
	if (s->unreported && !s->notice_at_head && !s->off && (s->kind != S_TCP || s->connected)) {
		size_t len, off = 0;
		char *note = dropped_notice(s, &len);
		int r = note ? put(s, note, len, &off) : 1;

		if (r < 0) {
			free(note);
			tcp_disconnect(s);
			return 0;
		}
		if (r == 0 && off) { /* partly sent: the rest goes first */
			q_push_front(s, note, len);
			s->off = off;
		}
		free(note);
		if (r == 0 && !off) {
			arm_retry(s);
			return 0;
		}
		s->unreported = 0;
	}
	while (s->head) {
		int notice = s->notice_at_head;
		int r = put(s, s->head->data, s->head->len, &s->off);

		if (r < 0) {
			tcp_disconnect(s);
			return 0;
		}
		if (r == 0) {
			if (s->kind == S_TCP)
				set_epoll(s, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
			arm_retry(s);
			return 0;
		}
		if (notice) {
			s->qn++; /* the notice is not counted in qn; q_pop takes one off */
		} else if (r == 2) {
			s->dropped++;
		} else {
			s->written++;
		}
		q_pop(s);
	}
	if (s->kind == S_TCP && s->connected)
		set_epoll(s, EPOLLIN | EPOLLRDHUP);
	if (s->timer && s->kind != S_TCP)
		vigil_loop_timer_disarm(s->timer);
	return 1;
}

static void retry_timer(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	struct sink *s = ctx;

	if (s->kind == S_TCP) {
		tcp_connect(s);
		return;
	}
	drain(s);
}

/* ---- tcp ---- */

static void tcp_schedule(struct sink *s)
{
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : 1000;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	vigil_loop_timer_arm(s->timer, s->backoff_ms, 0);
}

static void tcp_disconnect(struct sink *s)
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

static void tcp_ready(struct vigil_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct sink *s = ctx;

	if (s->connecting) {
		int e = 0;
		socklen_t l = sizeof(e);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0 || e) {
			tcp_disconnect(s);
			return;
		}
		s->connecting = 0;
		s->connected = 1;
		s->backoff_ms = 0;
		set_epoll(s, EPOLLIN | EPOLLRDHUP);
		drain(s);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		char buf[512];
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		/* A collector says nothing; end of stream or an error means it went. */
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || (events & (EPOLLHUP | EPOLLERR))) {
			tcp_disconnect(s);
			return;
		}
	}
	if (events & EPOLLOUT)
		drain(s);
}

static void tcp_connect(struct sink *s)
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
	if (vigil_loop_add(s->set->loop, fd, EPOLLOUT | EPOLLIN | EPOLLRDHUP, tcp_ready, s))
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
static int parse_tcp(const char *t, char **host, char **port)
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

/* ---- files ---- */

static int open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/* ---- public ---- */

static int sink_init(struct vigil_output_set *set, struct sink *s, const struct vigil_output *o,
		     struct vigil_err *err)
{
	int rc;

	s->set = set;
	s->fd = -1;
	s->qmax = o->backlog > 0 ? (size_t)o->backlog : VIGIL_OUTPUT_BACKLOG_DEFAULT;
	s->facility = o->facility ? o->facility : 3; /* daemon */
	switch (o->type) {
	case VIGIL_OUT_JSONL:
		if (!o->path || o->path[0] != '/')
			return vigil_err_set(err, -EINVAL, "output jsonl: path '%s' is not absolute",
					     o->path ? o->path : "");
		s->kind = S_FILE;
		s->name = strdup(o->path);
		s->fd = open_file(o->path);
		if (s->fd < 0)
			return vigil_err_set(err, -errno, "output '%s': %s", o->path, strerror(errno));
		break;
	case VIGIL_OUT_STDOUT:
		s->kind = S_STDOUT;
		s->name = strdup("stdout");
		s->fd = STDOUT_FILENO;
		break;
	case VIGIL_OUT_SYSLOG:
		if (!o->target || !strcmp(o->target, "local")) {
			s->kind = S_LOCAL;
			s->name = strdup("syslog " SYSLOG_PATH);
			break;
		}
		s->kind = S_TCP;
		s->name = strdup(o->target);
		rc = parse_tcp(o->target, &s->host, &s->port);
		if (rc)
			return vigil_err_set(err, rc, "output syslog: target '%s': expected local, "
					     "tcp://HOST:PORT or tcp://[V6ADDR]:PORT", o->target);
		break;
	default:
		return vigil_err_set(err, -EINVAL, "output: unknown type %d", o->type);
	}
	if (!s->name)
		return vigil_err_set(err, -ENOMEM, "output: out of memory");
	rc = vigil_loop_timer_new(set->loop, CLOCK_MONOTONIC, retry_timer, s, &s->timer);
	if (rc)
		return vigil_err_set(err, rc, "output '%s': timer: %s", s->name, strerror(-rc));
	if (s->kind == S_TCP)
		tcp_connect(s);
	return 0;
}

int vigil_output_new(struct vigil_loop *loop, const struct vigil_output *outs, size_t n,
		     struct vigil_output_set **out, struct vigil_err *err)
{
	struct vigil_output_set *set;
	int rc = 0;

	*out = NULL;
	set = calloc(1, sizeof(*set));
	if (!set || !(set->s = calloc(n ? n : 1, sizeof(*set->s)))) {
		free(set);
		return vigil_err_set(err, -ENOMEM, "outputs: out of memory");
	}
	set->loop = loop;
	set->pid = (int)getpid();
	if (gethostname(set->host, sizeof(set->host) - 1) < 0)
		strcpy(set->host, "-");
	for (size_t i = 0; i < n; i++) {
		set->n++;
		rc = sink_init(set, &set->s[i], &outs[i], err);
		if (rc)
			goto out;
	}
out:
	if (rc) {
		vigil_output_free(set);
		return rc;
	}
	*out = set;
	return 0;
}

void vigil_output_emit(struct vigil_output_set *set, const char *line, size_t len, int severity,
		       const char *msgid)
{
	set->emitted++;
	for (size_t i = 0; i < set->n; i++) {
		struct sink *s = &set->s[i];
		size_t flen, off = 0;
		char *buf = frame(s, line, len, severity, msgid, &flen);
		int r;

		if (!buf) {
			s->dropped++;
			continue;
		}
		if (!s->head && !s->unreported) {
			r = put(s, buf, flen, &off);
			if (r == 2)
				s->dropped++;
			if (r == 1 || r == 2) {
				s->written += r == 1;
				free(buf);
				continue;
			}
			if (r < 0) {
				tcp_disconnect(s);
				off = 0;
			}
			/* A partly sent TCP frame stays first in the queue, with its offset. */
			q_push(s, buf, flen);
			s->off = off;
			if (s->kind == S_TCP && s->connected)
				set_epoll(s, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
			arm_retry(s);
		} else {
			q_push(s, buf, flen);
			drain(s);
		}
		free(buf);
	}
}

int vigil_output_reopen(struct vigil_output_set *set, struct vigil_err *err)
{
	int rc = 0;

	for (size_t i = 0; i < set->n; i++) {
		struct sink *s = &set->s[i];
		int fd;

		if (s->kind != S_FILE)
			continue;
		fd = open_file(s->name);
		if (fd < 0) {
			if (!rc)
				rc = vigil_err_set(err, -errno, "reopening '%s': %s", s->name, strerror(errno));
			continue;
		}
		if (s->fd >= 0)
			close(s->fd);
		s->fd = fd;
		if (s->head || s->unreported)
			drain(s);
	}
	return rc;
}

size_t vigil_output_flush(struct vigil_output_set *set, int timeout_ms)
{
	int64_t end = vigil_loop_now_ns() + (int64_t)timeout_ms * 1000000;
	size_t left = 0;

	for (size_t i = 0; i < set->n; i++) {
		struct sink *s = &set->s[i];

		if (s->kind != S_TCP) {
			if (s->head || s->unreported)
				drain(s);
			left += s->qn;
			continue;
		}
		while ((s->head || s->unreported) && vigil_loop_now_ns() < end) {
			struct pollfd p = { s->fd, POLLOUT, 0 };
			int ms = (int)((end - vigil_loop_now_ns()) / 1000000);

			if (s->fd < 0) {
				tcp_connect(s);
				if (s->fd < 0)
					break;
			}
			if (poll(&p, 1, ms > 0 ? ms : 0) <= 0)
				break;
			if (s->connecting)
				tcp_ready(set->loop, s->fd, EPOLLOUT, s);
			else if (drain(s) == 0 && !s->connected)
				break;
		}
		left += s->qn;
	}
	return left;
}

uint64_t vigil_output_give_up(struct vigil_output_set *set, vigil_output_loss_fn fn, void *ctx)
{
	uint64_t total = 0;

	for (size_t i = 0; i < set->n; i++) {
		struct sink *s = &set->s[i];
		uint64_t queued = s->qn, unreported = s->unreported;

		while (s->head)
			q_pop(s); /* the loss notice at the head is not counted in qn */
		s->qn = 0;
		s->dropped += queued;
		s->unreported = 0;
		if (s->timer && s->kind != S_TCP)
			vigil_loop_timer_disarm(s->timer);
		if ((queued || unreported) && fn)
			fn(ctx, s->name, queued, unreported);
		total += queued + unreported;
	}
	return total;
}

void vigil_output_probe(struct vigil_output_set *set, vigil_output_problem_fn fn, void *ctx)
{
	char msg[256];

	for (size_t i = 0; set && i < set->n; i++) {
		struct sink *s = &set->s[i];
		int rc;

		if (s->kind != S_LOCAL || s->fd >= 0 || !(rc = local_connect(s)))
			continue;
		snprintf(msg, sizeof(msg), "no syslog daemon listens at " SYSLOG_PATH " (%s): its events "
			 "are queued (at most %zu), retried every %d s and dropped at stop", strerror(-rc),
			 s->qmax, RETRY_MS / 1000);
		fn(ctx, s->name, msg);
	}
}

void vigil_output_stats(const struct vigil_output_set *set, struct vigil_output_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->emitted = set->emitted;
	for (size_t i = 0; i < set->n; i++) {
		st->written += set->s[i].written;
		st->dropped += set->s[i].dropped;
		st->queued += set->s[i].qn;
	}
}

void vigil_output_free(struct vigil_output_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++) {
		struct sink *s = &set->s[i];

		vigil_loop_timer_free(s->timer);
		if (s->kind == S_TCP && s->fd >= 0)
			vigil_loop_del(set->loop, s->fd);
		if (s->fd >= 0 && s->kind != S_STDOUT)
			close(s->fd);
		while (s->head)
			q_pop(s);
		free(s->name);
		free(s->host);
		free(s->port);
	}
	free(set->s);
	free(set);
}
