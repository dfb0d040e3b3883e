/* fuzz_ctl.c - the control socket's server (agent/daemon/ctl.c) against a
 * hostile client: framing (partial lines, several requests in one write,
 * lines over VIGIL_CTL_MAX_LINE, CR/space trimming), JSON (not an object, no
 * "cmd", duplicate keys) and the answer paths (now, later, an error counted
 * towards VIGIL_CTL_MAX_ERRORS, the client leaving mid-answer).
 *
 * One loop and one listening socket for the whole run; each input is one
 * client connection.  The input is split into writes (fuzz_common.h): each
 * part is sent, then the loop runs until it has nothing left to do.  The
 * handler answers "status" at once, "check" one loop turn later (as the
 * daemon answers after its check), "bad" as a client error and anything else
 * as an unknown command.  Dictionary: fuzz_ctl.dict. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vigil/ctl.h"
#include "vigil/loop.h"

#include "fuzz_common.h"

static struct vigil_loop *loop;
static struct vigil_ctl *ctl;
static struct sockaddr_un sa;
static uint64_t later[16];
static size_t n_later;

static void handler(void *ctx, uint64_t client, const char *cmd, json_t *req)
{
	(void)ctx;
	(void)req;
	if (!strcmp(cmd, "status"))
		vigil_ctl_reply(ctl, client, "{\"ok\":true,\"status\":\"watching\"}");
	else if (!strcmp(cmd, "check") && n_later < 16)
		later[n_later++] = client;
	else if (!strcmp(cmd, "bad"))
		vigil_ctl_reply_bad(ctl, client, "bad request");
	else if (!strcmp(cmd, "reload"))
		vigil_ctl_reply_error(ctl, client, "reload failed");
	else
		vigil_ctl_reply_bad(ctl, client, "unknown command");
}

/* Runs the loop until it is idle, answering deferred requests between
 * turns, and reads (and drops) what the server sent to fd. */
static void pump(int fd)
{
	char sink[8192];

	for (int i = 0; i < 64; i++) {
		int ran = vigil_loop_once(loop, 0);

		for (size_t k = 0; k < n_later; k++)
			vigil_ctl_reply(ctl, later[k], "{\"ok\":true,\"differences\":0}");
		n_later = 0;
		while (fd >= 0 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
		if (ran <= 0)
			break;
	}
}

static void init(void)
{
	const char *dir = fz_dir("ctl");
	struct vigil_err err;
	char path[128];

	snprintf(path, sizeof(path), "%s/control.sock", dir);
	if (vigil_loop_new(&loop, &err) || vigil_ctl_listen(loop, path, handler, NULL, &ctl, &err))
		abort();
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[32];
	size_t len[32], n;
	int fd;

	if (!loop)
		init();
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	pump(fd);
	n = fz_split(data, size, part, len, 32);
	for (size_t i = 0; i < n; i++) {
		size_t off = 0;

		while (off < len[i]) {
			ssize_t w = send(fd, part[i] + off, len[i] - off, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (w <= 0)
				break; /* closed by the server, or its buffer is full */
			off += (size_t)w;
			pump(fd);
		}
		pump(fd);
	}
	/* the last byte of the input decides how the client leaves */
	if (size && (data[size - 1] & 1))
		shutdown(fd, SHUT_WR);
	pump(fd);
	close(fd);
	pump(-1);
	if (vigil_ctl_clients(ctl))
		pump(-1);
	return 0;
}
