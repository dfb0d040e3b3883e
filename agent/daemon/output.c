/* output.c - the event sinks: files, syslog (local datagram, remote TCP),
 * stdout, each with a bounded queue for when it cannot take an event.  The
 * RFC 5424 header and the TCP collector are output_syslog.c. */
#include "config.h"

#include "output_priv.h"

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

void output_set_epoll(struct sink *s, uint32_t ev)
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
int output_drain(struct sink *s)
{
	if (s->unreported && !s->notice_at_head && !s->off && (s->kind != S_TCP || s->connected)) {
		size_t len, off = 0;
		char *note = dropped_notice(s, &len);
		int r = note ? put(s, note, len, &off) : 1;

		if (r < 0) {
			free(note);
			output_tcp_disconnect(s);
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
			output_tcp_disconnect(s);
			return 0;
		}
		if (r == 0) {
			if (s->kind == S_TCP)
				output_set_epoll(s, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
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
		output_set_epoll(s, EPOLLIN | EPOLLRDHUP);
	if (s->timer && s->kind != S_TCP)
		vigil_loop_timer_disarm(s->timer);
	return 1;
}

static void retry_timer(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	struct sink *s = ctx;

	if (s->kind == S_TCP) {
		output_tcp_connect(s);
		return;
	}
	output_drain(s);
}

static int open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
}

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
		rc = output_parse_tcp(o->target, &s->host, &s->port);
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
		output_tcp_connect(s);
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
				output_tcp_disconnect(s);
				off = 0;
			}
			/* A partly sent TCP frame stays first in the queue, with its offset. */
			q_push(s, buf, flen);
			s->off = off;
			if (s->kind == S_TCP && s->connected)
				output_set_epoll(s, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
			arm_retry(s);
		} else {
			q_push(s, buf, flen);
			output_drain(s);
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
			output_drain(s);
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
				output_drain(s);
			left += s->qn;
			continue;
		}
		while ((s->head || s->unreported) && vigil_loop_now_ns() < end) {
			struct pollfd p = { s->fd, POLLOUT, 0 };
			int ms = (int)((end - vigil_loop_now_ns()) / 1000000);

			if (s->fd < 0) {
				output_tcp_connect(s);
				if (s->fd < 0)
					break;
			}
			if (poll(&p, 1, ms > 0 ? ms : 0) <= 0)
				break;
			if (s->connecting)
				output_tcp_ready(set->loop, s->fd, EPOLLOUT, s);
			else if (output_drain(s) == 0 && !s->connected)
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
