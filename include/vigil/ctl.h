/* ctl.h - the daemon's control socket and the `vigil ctl` client.
 *
 * Protocol: JSON lines over a unix stream socket.  A request is one object
 * with a "cmd" string ({"cmd":"status"}); the daemon answers each with one
 * object holding "ok" (true/false) and, on failure, "error".  Commands:
 * status, rescan, reload, check (answered when the check has run), and those
 * of modules (capture: agent/capture/trigger.c).
 *
 * Server lifecycle: vigil_ctl_listen(loop, path, fn, ctx, &ctl, err) -> fn(ctx,
 * client, cmd, req) for each valid request, on the loop thread; the handler
 * answers now or later with vigil_ctl_reply(ctl, client, line) (a client that
 * left meanwhile is skipped) -> vigil_ctl_free(ctl) (closes clients, removes
 * the socket file).
 *
 * Hostile clients: the socket is 0600 in a 0700 directory and a peer whose
 * uid is neither 0 nor the daemon's is refused (SO_PEERCRED); at most
 * VIGIL_CTL_MAX_CLIENTS at once; a request line longer than
 * VIGIL_CTL_MAX_LINE, more than VIGIL_CTL_MAX_ERRORS bad requests, or a
 * client idle for VIGIL_CTL_IDLE_MS without finishing a request closes the
 * connection.  A client that does not read its answers is dropped once
 * VIGIL_CTL_MAX_OUT bytes wait for it.  The idle timer runs only while
 * clients are connected.
 */
#ifndef VIGIL_CTL_H
#define VIGIL_CTL_H

#include <stdint.h>

#include <jansson.h>

#include "vigil/err.h"
#include "vigil/loop.h"

#define VIGIL_CTL_MAX_CLIENTS 16
#define VIGIL_CTL_MAX_LINE 4096
#define VIGIL_CTL_MAX_ERRORS 3
#define VIGIL_CTL_IDLE_MS 10000
#define VIGIL_CTL_MAX_OUT 65536

struct vigil_ctl;

/* req is the whole request object (borrowed for the call). */
typedef void (*vigil_ctl_fn)(void *ctx, uint64_t client, const char *cmd, json_t *req);

int vigil_ctl_listen(struct vigil_loop *loop, const char *path, vigil_ctl_fn fn, void *ctx,
		     struct vigil_ctl **out, struct vigil_err *err);
/* line: one JSON object, no newline.  -ENOENT when the client has gone. */
int vigil_ctl_reply(struct vigil_ctl *ctl, uint64_t client, const char *line);
/* Convenience: {"ok":false,"error":msg}. */
int vigil_ctl_reply_error(struct vigil_ctl *ctl, uint64_t client, const char *msg);
/* The same for a request that was the client's fault (an unknown command):
 * counted towards VIGIL_CTL_MAX_ERRORS. */
int vigil_ctl_reply_bad(struct vigil_ctl *ctl, uint64_t client, const char *msg);
unsigned vigil_ctl_clients(const struct vigil_ctl *ctl);
void vigil_ctl_free(struct vigil_ctl *ctl);

/* Client: sends {"cmd":cmd} (cmd "{...}": that request object), waits at most timeout_ms for the answer line
 * (malloc'd into *reply).  0 or -errno with err naming the socket. */
int vigil_ctl_request(const char *path, const char *cmd, int timeout_ms, char **reply,
		      struct vigil_err *err);

#endif
