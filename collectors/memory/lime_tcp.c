/* lime_tcp.c - the client side of LiME's TCP protocol (path=tcp:PORT).
 *
 * LiME listens on PORT (127.0.0.1 with localhostonly=1), accepts one
 * connection, writes the whole stream and closes; with digest=sha256 it then
 * listens again on the same port, accepts one more connection and writes the
 * digest as 64 hex digits.  Its module init (so insmod) returns only after
 * both.  We retry connecting until the listener is up, read with poll()
 * timeouts so no stage can hang, and pass the stream through the output pipe
 * (our own SHA-256 and validation in the same pass). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vigil/limemod.h"

#define TCP_BUF (1u << 16)
#define RETRY_MS 50

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects to 127.0.0.1:port, retrying refusals until timeout_ms. */
static int connect_retry(const struct vigil_lime_tcp *t, const char *stage, struct vigil_err *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)t->port) };
	long long deadline = now_ms() + t->timeout_ms;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), e;

		if (fd < 0)
			return vigil_err_set(err, -errno, "socket: %s", strerror(errno));
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		e = errno;
		close(fd);
		if (e != ECONNREFUSED && e != EINTR)
			return vigil_err_set(err, -e, "%s: connect 127.0.0.1:%d: %s", stage, t->port, strerror(e));
		if (t->alive && t->alive(t->alive_ctx))
			return vigil_err_set(err, -ECONNREFUSED, "%s: the module load ended before LiME "
					     "listened on port %d", stage, t->port);
		if (now_ms() >= deadline)
			return vigil_err_set(err, -ETIMEDOUT, "%s: nothing listened on 127.0.0.1:%d within %d ms",
					     stage, t->port, t->timeout_ms);
		poll(NULL, 0, RETRY_MS);
	}
}

/* Reads up to len bytes; 0 at EOF; -ETIMEDOUT after timeout_ms of silence. */
static ssize_t read_some(int fd, void *buf, size_t len, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		int k = poll(&p, 1, timeout_ms);
		ssize_t n;

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ETIMEDOUT;
		n = read(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -errno : n;
	}
}

static int fetch_stream(const struct vigil_lime_tcp *t, struct vigil_lime_out *out, struct vigil_err *err)
{
	unsigned char *buf = malloc(TCP_BUF);
	int fd, rc = 0;

	if (!buf)
		return vigil_err_set(err, -ENOMEM, "stream: out of memory");
	fd = connect_retry(t, "stream", err);
	if (fd < 0) {
		free(buf);
		return fd;
	}
	for (;;) {
		ssize_t n = read_some(fd, buf, TCP_BUF, t->timeout_ms);

		if (n == 0)
			break;
		if (n < 0) {
			rc = vigil_err_set(err, (int)n, "stream: %s after %llu bytes",
					   n == -ETIMEDOUT ? "LiME sent nothing within the stage timeout" :
					   strerror((int)-n), (unsigned long long)vigil_lime_out_bytes(out));
			break;
		}
		rc = vigil_lime_out_raw(out, buf, (size_t)n, err);
		if (rc)
			break;
	}
	close(fd);
	free(buf);
	return rc;
}

static int fetch_digest(const struct vigil_lime_tcp *t, char hex[65], struct vigil_err *err)
{
	long long deadline = now_ms() + t->timeout_ms;
	char buf[65];
	size_t have = 0;
	int fd, rc = 0;

again:
	fd = connect_retry(t, "digest", err);
	if (fd < 0)
		return fd;
	for (;;) {
		ssize_t n = read_some(fd, buf + have, sizeof(buf) - have, t->timeout_ms);

		/* Connected to the dump's listener in the moment before it closed
		 * (its backlog is reset, or closed unread): LiME's digest listener
		 * is not up yet; connect again. */
		if (!have && (n == 0 || n == -ECONNRESET) && now_ms() < deadline) {
			close(fd);
			poll(NULL, 0, RETRY_MS);
			goto again;
		}
		if (n == 0)
			break;
		if (n < 0) {
			rc = vigil_err_set(err, (int)n, "digest: %s", strerror((int)-n));
			goto out;
		}
		have += (size_t)n;
		if (have == sizeof(buf)) {
			rc = vigil_err_set(err, -EPROTO, "digest: more than 64 bytes");
			goto out;
		}
	}
	while (have && (buf[have - 1] == '\n' || buf[have - 1] == '\0'))
		have--;
	buf[have] = '\0';
	if (have != 64 || strspn(buf, "0123456789abcdef") < 64) {
		rc = vigil_err_set(err, -EPROTO, "digest: %zu bytes, not 64 lower-case hex digits", have);
		goto out;
	}
	memcpy(hex, buf, 64);
	hex[64] = '\0';
out:
	close(fd);
	return rc;
}

int vigil_lime_tcp_fetch(const struct vigil_lime_tcp *t, struct vigil_lime_out *out, char digest_hex[65],
			 struct vigil_err *err)
{
	int rc = fetch_stream(t, out, err);

	digest_hex[0] = '\0';
	if (!rc && t->want_digest)
		rc = fetch_digest(t, digest_hex, err);
	return rc;
}
