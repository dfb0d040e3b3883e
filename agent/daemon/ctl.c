/* ctl.c - the control socket: the server side on the daemon's loop, and the
 * client request vigil_ctl_request() (the `vigil ctl` command is
 * agent/cmd/cmd_ctl.c). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vigil/cli.h"
#include "vigil/capture_trigger.h"
#include "vigil/ctl.h"
#include "vigil/record.h"

struct client {
	struct vigil_ctl *ctl;
	uint64_t id;
	int fd;
	int busy;   /* a request is being answered: read no more meanwhile */
	int errors;
	int closing;  /* answered for the last time: input is discarded until EOF */
	int shut;
	int64_t last_ns;
	char in[VIGIL_CTL_MAX_LINE + 1];
	size_t nin;
	char *out;
	size_t nout;
	struct client *next;
};

struct vigil_ctl {
	struct vigil_loop *loop;
	char *path;
	int fd;
	vigil_ctl_fn fn;
	void *ctx;
	struct client *clients;
	unsigned nclients;
	uint64_t next_id;
	struct vigil_loop_timer *idle;
	/* An answer given later leaves the client's next pipelined request in
	 * c->in with nothing left to read on the socket: kick runs it. */
	struct vigil_loop_async *kick;
};

static void client_close(struct client *c)
{
	struct vigil_ctl *ctl = c->ctl;
	struct client **pp;

	for (pp = &ctl->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	vigil_loop_del(ctl->loop, c->fd);
	close(c->fd);
	free(c->out);
	free(c);
	ctl->nclients--;
	if (!ctl->nclients)
		vigil_loop_timer_disarm(ctl->idle);
}

static void client_events(struct client *c)
{
	uint32_t ev = EPOLLRDHUP;

	if (!c->busy)
		ev |= EPOLLIN;
	if (c->nout)
		ev |= EPOLLOUT;
	vigil_loop_mod(c->ctl->loop, c->fd, ev);
}

/* 0, or -1 when the client was closed. */
static int client_flush(struct client *c)
{
	while (c->nout) {
		ssize_t n = send(c->fd, c->out, c->nout, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			client_close(c);
			return -1;
		}
		memmove(c->out, c->out + n, c->nout - (size_t)n);
		c->nout -= (size_t)n;
	}
	if (!c->nout && c->closing && !c->shut) {
		/* Closing with unread input would send a reset that can destroy the
		 * answer before the client reads it: half-close, then drain. */
		shutdown(c->fd, SHUT_WR);
		c->shut = 1;
	}
	client_events(c);
	return 0;
}

static int client_write(struct client *c, const char *line)
{
	size_t len = strlen(line);
	char *p;

	if (c->nout + len + 1 > VIGIL_CTL_MAX_OUT) {
		/* It does not read what it asked for. */
		client_close(c);
		return -EPIPE;
	}
	p = realloc(c->out, c->nout + len + 1);
	if (!p) {
		client_close(c);
		return -ENOMEM;
	}
	c->out = p;
	memcpy(c->out + c->nout, line, len);
	c->out[c->nout + len] = '\n';
	c->nout += len + 1;
	return client_flush(c) < 0 ? -EPIPE : 0;
}

static struct client *client_find(struct vigil_ctl *ctl, uint64_t id)
{
	for (struct client *c = ctl->clients; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

int vigil_ctl_reply(struct vigil_ctl *ctl, uint64_t id, const char *line)
{
	struct client *c = client_find(ctl, id);

	if (!c)
		return -ENOENT;
	c->busy = 0;
	c->last_ns = vigil_loop_now_ns();
	if (c->nin && memchr(c->in, '\n', c->nin))
		vigil_loop_async_send(ctl->kick);
	return client_write(c, line);
}

int vigil_ctl_reply_error(struct vigil_ctl *ctl, uint64_t id, const char *msg)
{
	/* errors name paths, whose bytes need not be UTF-8: escaped (\xNN), so the
	 * reply is still sent (json_pack refuses such a string) */
	char *esc = vigil_utf8_valid(msg, strlen(msg)) ? NULL : vigil_path_escape(msg, strlen(msg));
	json_t *o = json_pack("{s:b,s:s}", "ok", 0, "error", esc ? esc : msg);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int rc = s ? vigil_ctl_reply(ctl, id, s) : -ENOMEM;

	free(s);
	free(esc);
	json_decref(o);
	return rc;
}

/* A bad request: answered, counted, and the client closed after too many. */
static int client_bad(struct client *c, const char *msg, int fatal)
{
	uint64_t id = c->id;
	struct vigil_ctl *ctl = c->ctl;

	if (fatal || ++c->errors >= VIGIL_CTL_MAX_ERRORS)
		c->closing = 1;
	return vigil_ctl_reply_error(ctl, id, msg) == 0 && client_find(ctl, id) ? 0 : -1;
}

int vigil_ctl_reply_bad(struct vigil_ctl *ctl, uint64_t id, const char *msg)
{
	struct client *c = client_find(ctl, id);

	if (!c)
		return -ENOENT;
	return client_bad(c, msg, 0);
}

/* Handles one complete line; -1 when the client was closed. */
static int client_line(struct client *c, char *line, size_t len)
{
	struct vigil_ctl *ctl = c->ctl;
	json_error_t jerr;
	json_t *req, *cmd;
	uint64_t id = c->id;
	int rc = 0;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		line[--len] = '\0';
	if (!len)
		return 0;
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req || !json_is_object(req)) {
		char msg[300];

		snprintf(msg, sizeof(msg), "request is not a JSON object: %s",
			 req ? "not an object" : jerr.text);
		json_decref(req);
		return client_bad(c, msg, 0);
	}
	cmd = json_object_get(req, "cmd");
	if (!json_is_string(cmd)) {
		json_decref(req);
		return client_bad(c, "request has no \"cmd\" string", 0);
	}
	c->busy = 1;
	client_events(c);
	ctl->fn(ctl->ctx, id, json_string_value(cmd), req);
	json_decref(req);
	if (!client_find(ctl, id))
		rc = -1;
	return rc;
}

/* Runs the complete request lines waiting in c->in, one at a time; -1 when
 * the client was closed. */
static int client_drain(struct client *c)
{
	char *nl;

	while (!c->busy && !c->closing && (nl = memchr(c->in, '\n', c->nin))) {
		size_t len = (size_t)(nl - c->in);
		char line[VIGIL_CTL_MAX_LINE + 1];

		*nl = '\0';
		memcpy(line, c->in, len + 1);
		memmove(c->in, nl + 1, c->nin - len - 1);
		c->nin -= len + 1;
		if (client_line(c, line, len) < 0)
			return -1;
	}
	return 0;
}

static void on_kick(struct vigil_loop_async *a, void *arg)
{
	struct vigil_ctl *ctl = arg;
	uint64_t last = 0;

	/* by id, in order: a request may close or answer any client */
	for (;;) {
		struct client *c, *next = NULL;

		for (c = ctl->clients; c; c = c->next)
			if (c->id > last && (!next || c->id < next->id))
				next = c;
		if (!next)
			break;
		last = next->id;
		client_drain(next);
	}
}

static void client_ready(struct vigil_loop *loop, int fd, uint32_t events, void *arg)
{
	struct client *c = arg;

	if (events & EPOLLOUT) {
		if (client_flush(c) < 0)
			return;
	}
	if (c->closing) {
		char sink[4096];
		ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || (events & (EPOLLHUP | EPOLLERR)))
			client_close(c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !c->busy) {
		ssize_t n = recv(fd, c->in + c->nin, VIGIL_CTL_MAX_LINE - c->nin, MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			client_close(c);
			return;
		}
		if (n < 0)
			return;
		c->nin += (size_t)n;
		c->last_ns = vigil_loop_now_ns();
		/* One request at a time: the rest waits in c->in until answered. */
		if (client_drain(c) < 0)
			return;
		if (c->nin >= VIGIL_CTL_MAX_LINE) {
			c->nin = 0;
			client_bad(c, "request line too long", 1);
			return;
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		client_close(c);
	}
}

static void idle_sweep(struct vigil_loop_timer *t, uint64_t n, void *arg)
{
	struct vigil_ctl *ctl = arg;
	int64_t now = vigil_loop_now_ns();
	struct client *c = ctl->clients, *next;

	for (; c; c = next) {
		next = c->next;
		if (!c->busy && now - c->last_ns > (int64_t)VIGIL_CTL_IDLE_MS * 1000000)
			client_close(c);
	}
}

static void on_accept(struct vigil_loop *loop, int fd, uint32_t events, void *arg)
{
	struct vigil_ctl *ctl = arg;

	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		struct client *c;

		if (cfd < 0)
			return;
		if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
		    (cred.uid != 0 && cred.uid != geteuid())) {
			static const char no[] = "{\"ok\":false,\"error\":\"permission denied\"}\n";

			if (send(cfd, no, sizeof(no) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				(void)0;
			close(cfd);
			continue;
		}
		if (ctl->nclients >= VIGIL_CTL_MAX_CLIENTS) {
			static const char busy[] = "{\"ok\":false,\"error\":\"too many control clients\"}\n";

			if (send(cfd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				(void)0;
			close(cfd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c || vigil_loop_add(loop, cfd, EPOLLIN | EPOLLRDHUP, client_ready, c)) {
			free(c);
			close(cfd);
			continue;
		}
		c->ctl = ctl;
		c->fd = cfd;
		c->id = ++ctl->next_id;
		c->last_ns = vigil_loop_now_ns();
		c->next = ctl->clients;
		ctl->clients = c;
		if (!ctl->nclients++)
			vigil_loop_timer_arm(ctl->idle, 1000, 1000);
	}
}

static int fill_addr(struct sockaddr_un *sa, const char *path, struct vigil_err *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!path || path[0] != '/' || strlen(path) >= sizeof(sa->sun_path))
		return vigil_err_set(err, -EINVAL, "control socket '%s': not an absolute path shorter than %zu bytes",
				     path ? path : "", sizeof(sa->sun_path));
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

int vigil_ctl_listen(struct vigil_loop *loop, const char *path, vigil_ctl_fn fn, void *ctx,
		     struct vigil_ctl **out, struct vigil_err *err)
{
	struct vigil_ctl *ctl = NULL;
	struct sockaddr_un sa;
	char dir[sizeof(sa.sun_path)], *slash;
	mode_t old;
	int rc, fd = -1;

	*out = NULL;
	rc = fill_addr(&sa, path, err);
	if (rc)
		return rc;
	/* The directory: created private when missing (/run/vigil). */
	memcpy(dir, path, strlen(path) + 1);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return vigil_err_set(err, -errno, "control socket directory '%s': %s", dir, strerror(errno));
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vigil_err_set(err, -errno, "control socket: %s", strerror(errno));
	/* A socket file left by a daemon that died: remove it only if nobody
	 * answers on it, so a second daemon cannot steal a live one's socket. */
	{
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			close(fd);
			return vigil_err_set(err, -EADDRINUSE, "control socket '%s': another daemon is listening on it", path);
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
		rc = vigil_err_set(err, -errno, "control socket '%s': %s", path, strerror(errno));
		goto fail;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl || !(ctl->path = strdup(path))) {
		rc = vigil_err_set(err, -ENOMEM, "control socket: out of memory");
		goto fail;
	}
	ctl->loop = loop;
	ctl->fd = fd;
	ctl->fn = fn;
	ctl->ctx = ctx;
	rc = vigil_loop_timer_new(loop, CLOCK_MONOTONIC, idle_sweep, ctl, &ctl->idle);
	if (!rc)
		rc = vigil_loop_async_new(loop, on_kick, ctl, &ctl->kick);
	if (!rc)
		rc = vigil_loop_add(loop, fd, EPOLLIN, on_accept, ctl);
	if (rc) {
		vigil_err_set(err, rc, "control socket '%s': %s", path, strerror(-rc));
		vigil_loop_async_free(ctl->kick);
		vigil_loop_timer_free(ctl->idle);
		goto fail;
	}
	*out = ctl;
	return 0;
fail:
	if (ctl)
		free(ctl->path);
	free(ctl);
	close(fd);
	unlink(path);
	return rc;
}

unsigned vigil_ctl_clients(const struct vigil_ctl *ctl)
{
	return ctl ? ctl->nclients : 0;
}

void vigil_ctl_free(struct vigil_ctl *ctl)
{
	if (!ctl)
		return;
	while (ctl->clients)
		client_close(ctl->clients);
	vigil_loop_timer_free(ctl->idle);
	vigil_loop_async_free(ctl->kick);
	vigil_loop_del(ctl->loop, ctl->fd);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}

/* ---- client ---- */

int vigil_ctl_request(const char *path, const char *cmd, int timeout_ms, char **reply,
		      struct vigil_err *err)
{
	struct sockaddr_un sa;
	char *buf = NULL, *line = NULL;
	size_t n = 0, cap = 0;
	int64_t end;
	int fd, rc;

	*reply = NULL;
	rc = fill_addr(&sa, path, err);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vigil_err_set(err, -errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = vigil_err_set(err, -errno, "control socket '%s': %s%s", path, strerror(errno),
				   errno == ENOENT || errno == ECONNREFUSED ? " (is `vigil watch` running?)" : "");
		goto out;
	}
	{
		/* "{...}": a whole request object (ctl capture's arguments) */
		json_t *o = cmd[0] == '{' ? json_loads(cmd, 0, NULL) : json_pack("{s:s}", "cmd", cmd);

		line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
	}
	if (!line) {
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	{
		size_t len = strlen(line);

		line[len] = '\n'; /* json_dumps' terminator becomes the newline */
		if (send(fd, line, len + 1, MSG_NOSIGNAL) != (ssize_t)(len + 1)) {
			rc = vigil_err_set(err, -errno, "control socket '%s': %s", path, strerror(errno));
			goto out;
		}
	}
	end = vigil_loop_now_ns() + (int64_t)timeout_ms * 1000000;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = (end - vigil_loop_now_ns()) / 1000000;
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			rc = vigil_err_set(err, -ETIMEDOUT, "control socket '%s': no answer within %d ms", path, timeout_ms);
			goto out;
		}
		if (n + 4096 > cap) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb) {
				rc = vigil_err_set(err, -ENOMEM, "out of memory");
				goto out;
			}
			buf = nb;
			cap += 65536;
		}
		r = recv(fd, buf + n, cap - n - 1, 0);
		if (r <= 0) {
			rc = vigil_err_set(err, r ? -errno : -ECONNRESET, "control socket '%s': connection closed before an answer",
					   path);
			goto out;
		}
		n += (size_t)r;
		buf[n] = '\0';
		if (memchr(buf, '\n', n)) {
			*strchr(buf, '\n') = '\0';
			*reply = buf;
			buf = NULL;
			rc = 0;
			goto out;
		}
		if (n > 1 << 20) {
			rc = vigil_err_set(err, -E2BIG, "control socket '%s': answer too long", path);
			goto out;
		}
	}
out:
	free(line);
	free(buf);
	close(fd);
	return rc;
}
