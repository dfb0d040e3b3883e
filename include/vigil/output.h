/* output.h - where the daemon's events go: JSON-lines files, syslog in
 * RFC 5424 (the local /dev/log, or a remote collector over TCP with RFC 6587
 * octet-counted framing), stdout.  Several at once.
 *
 * Lifecycle:
 *   vigil_output_new(loop, cfg->outputs, cfg->n_outputs, &set, err)
 *   vigil_output_emit(set, json_line, len, severity, msgid) for each event
 *   vigil_output_reopen(set) on SIGHUP (logrotate moved the files away)
 *   vigil_output_flush(set, timeout_ms) before stopping, then
 *   vigil_output_give_up(set, fn, ctx) to count and report what is left
 *   vigil_output_free(set)
 *
 * Nothing here blocks the loop for long and nothing is fatal: a sink that
 * cannot take an event (disk full, collector down, /dev/log gone) keeps it in
 * a bounded queue (the output's `backlog`, default 1000 events) and retries
 * on a timer that is armed only while something is queued, so a healthy idle
 * daemon has no timer running.  When the queue is full the oldest event is
 * dropped and counted; once the sink works again it first writes one notice
 * saying how many events it lost.  The TCP sink reconnects with a backoff of
 * 1 s doubling up to 60 s.  Host names in tcp:// targets are resolved with
 * getaddrinfo() at each connection attempt, which can block on DNS: use an
 * address where that matters.
 */
#ifndef VIGIL_OUTPUT_H
#define VIGIL_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/config.h"
#include "vigil/err.h"
#include "vigil/loop.h"

#define VIGIL_OUTPUT_BACKLOG_DEFAULT 1000

struct vigil_output_set;

struct vigil_output_stats {
	uint64_t emitted; /* events handed to emit (counted once, whatever the sinks) */
	uint64_t written; /* events written, summed over sinks */
	uint64_t dropped; /* events lost, summed over sinks */
	uint64_t queued;  /* events waiting now, summed over sinks */
};

/* Opens every sink.  A file that cannot be opened or a syslog target that
 * does not parse is an error (-errno, err names the output); a collector that
 * is down is not (it is retried). */
int vigil_output_new(struct vigil_loop *loop, const struct vigil_output *outs, size_t n,
		     struct vigil_output_set **out, struct vigil_err *err);
/* line: one JSON object without newline.  severity: enum vigil_severity
 * (0 = informational), mapped to the syslog severity.  msgid: the RFC 5424
 * MSGID (the event action), NULL for "-". */
void vigil_output_emit(struct vigil_output_set *set, const char *line, size_t len, int severity,
		       const char *msgid);
/* Reopens the files; 0, or the first -errno (err says which file; the old
 * descriptor is kept then). */
int vigil_output_reopen(struct vigil_output_set *set, struct vigil_err *err);
/* Tries to write everything queued, waiting at most timeout_ms for a TCP
 * collector (a file gets one attempt: a full disk does not wait).  Returns
 * the number of events still queued. */
size_t vigil_output_flush(struct vigil_output_set *set, int timeout_ms);
/* After the last flush: what is still queued is dropped and counted, and fn
 * is called for each output that lost events it could not report in its own
 * stream (queued: dropped now; unreported: dropped earlier, its
 * output-dropped notice never written).  Returns the total. */
typedef void (*vigil_output_loss_fn)(void *ctx, const char *name, uint64_t queued, uint64_t unreported);
uint64_t vigil_output_give_up(struct vigil_output_set *set, vigil_output_loss_fn fn, void *ctx);
/* Tries every sink that can be tried now without waiting (a local syslog
 * socket) and calls fn for each that cannot take events, with what is wrong
 * and what happens to its events.  For the daemon to say so at start. */
typedef void (*vigil_output_problem_fn)(void *ctx, const char *name, const char *problem);
void vigil_output_probe(struct vigil_output_set *set, vigil_output_problem_fn fn, void *ctx);
void vigil_output_stats(const struct vigil_output_set *set, struct vigil_output_stats *st);
void vigil_output_free(struct vigil_output_set *set);

/* The RFC 5424 header for one message into buf: "<PRI>1 TIMESTAMP HOST vigil
 * PID MSGID - ".  Returns its length, or 0 when buf is too small. */
size_t vigil_output_syslog_header(char *buf, size_t size, int facility, int severity,
				  const char *host, const char *msgid, int64_t time_ns, int pid);

#endif
