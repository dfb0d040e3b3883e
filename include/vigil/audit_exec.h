/* audit_exec.h - shells started in containers, seen through the kernel's
 * proc connector instead of execve audit rules.
 *
 * The proc connector (netlink NETLINK_CONNECTOR, group CN_IDX_PROC) sends one
 * small message per exec (PROC_EVENT_EXEC: pid, tgid, a timestamp) and costs
 * the exec'ing process a few microseconds; execve audit rules cost it an
 * audit record that waits in the kernel's backlog.  On each exec vigil reads
 * /proc/PID/cgroup (is it in a container?), and only for a container's
 * process /proc/PID/status, exe and cmdline (is it a shell?), then emits
 * `container-shell` with the same fields as the audit path.
 *
 * Lifecycle:
 *   vigil_audit_exec_open(&x, &opts, emit, ctx, err)  socket, subscribed (CAP_NET_ADMIN)
 *   vigil_loop_add(loop, vigil_audit_exec_fd(x), EPOLLIN, ...)
 *   vigil_audit_exec_read(x)          when readable: bounded work, never blocks
 *   vigil_audit_exec_tick(x)          once a second: what could not be examined, said
 *   vigil_audit_exec_counters(x, &c)
 *   vigil_audit_exec_close(x)         NULL is fine
 * vigil_audit_exec_handle() runs one message batch through the same code
 * without a socket (tests, fuzzing); vigil_audit_exec_parse() only parses.
 *
 * Limits, plainly: the connector names a pid, not a program.  A process
 * that exits (and is reaped) before vigil reads /proc, or that execs again
 * first (`sh -c 'cmd'` often execs cmd in place of the shell), cannot be
 * examined: it is counted and reported as `exec-unexamined`, never guessed
 * (and a pid read twice as the same program within a second is reported
 * once).
 * A zombie still shows its cgroup and name, so a shell that exited but was
 * not yet reaped is still reported (without executable or arguments).
 */
#ifndef VIGIL_AUDIT_EXEC_H
#define VIGIL_AUDIT_EXEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vigil/audit.h"
#include "vigil/err.h"

/* event.action names: vigil/actions.h (VIGIL_ACTION_EXEC_UNEXAMINED, ...) */

/* What one connector message says (struct proc_event, the fields used). */
struct vigil_audit_exec_msg {
	uint32_t what;      /* PROC_EVENT_* (EXEC = 2, NONE = 0 for an ack) */
	uint32_t cpu;
	uint64_t ts_ns;     /* kernel timestamp, CLOCK_MONOTONIC-like */
	pid_t pid, tgid;    /* exec: process_pid (thread), process_tgid */
	uint32_t ack_err;   /* what == NONE: the subscription's errno */
};

/* Parses one datagram of the connector: a sequence of netlink messages each
 * holding a struct cn_msg (id CN_IDX_PROC/CN_VAL_PROC) with a struct
 * proc_event.  Writes at most max messages into out and returns how many;
 * messages that are short, inconsistent (nlmsg_len, cn_msg.len), from
 * another connector or of a netlink type other than NLMSG_DONE are skipped
 * and counted in *bad; an NLMSG_ERROR / NLMSG_OVERRUN counts in *bad too. */
size_t vigil_audit_exec_parse(const void *buf, size_t len, struct vigil_audit_exec_msg *out,
			      size_t max, uint64_t *bad);

/* A NETLINK_CONNECTOR socket in the CN_IDX_PROC group, subscribed (and,
 * on 6.6+, filtered to exec events), non-blocking; or -errno (EPERM:
 * CAP_NET_ADMIN missing; EPROTONOSUPPORT: no CONFIG_PROC_EVENTS). */
int vigil_audit_exec_socket(struct vigil_err *err);

struct vigil_audit_exec_opts {
	const char *proc;             /* NULL: "/proc" */
	const char *const *data_roots; /* Docker data roots, NULL-terminated; NULL: found
				       * (engine discovery, running dockerd's --data-root,
				       * /var/lib/docker) */
	int exec_rate;                /* execs examined per second at most; 0: no limit */
	int all_execs;                /* also emit container-exec for other programs */
};

struct vigil_audit_exec_counters {
	uint64_t messages, bad, execs, examined, host, container, shells;
	uint64_t suppressed;          /* over exec_rate, not examined */
	uint64_t gone;                /* exited and reaped before /proc was read */
	uint64_t superseded;          /* exec'd again before /proc was read */
	uint64_t overflows;           /* ENOBUFS: the socket dropped messages */
};

struct vigil_audit_exec;

/* -EPERM without CAP_NET_ADMIN, -EPROTONOSUPPORT without the connector. */
int vigil_audit_exec_open(struct vigil_audit_exec **out, const struct vigil_audit_exec_opts *o,
			  vigil_audit_emit_fn emit, void *ctx, struct vigil_err *err);
/* The same object without a socket, for vigil_audit_exec_handle(). */
struct vigil_audit_exec *vigil_audit_exec_new(const struct vigil_audit_exec_opts *o,
					      vigil_audit_emit_fn emit, void *ctx);
int vigil_audit_exec_fd(const struct vigil_audit_exec *x);
/* Drains at most a bounded number of datagrams (the loop calls again while
 * more wait).  Returns the number read, or -errno on a fatal socket error;
 * ENOBUFS is counted and reported, never fatal. */
int vigil_audit_exec_read(struct vigil_audit_exec *x);
/* One datagram's worth of connector messages, as the socket would give. */
void vigil_audit_exec_handle(struct vigil_audit_exec *x, const void *buf, size_t len);
/* Once a second: emits exec-unexamined / audit-exec-rate-limited /
 * audit-records-lost for what happened since the last tick. */
void vigil_audit_exec_tick(struct vigil_audit_exec *x);
void vigil_audit_exec_counters(const struct vigil_audit_exec *x,
			       struct vigil_audit_exec_counters *c);
void vigil_audit_exec_close(struct vigil_audit_exec *x);

/* In a long-running process (agent/audit/audit_exec_watch.c, started by
 * audit_watch.c): the watcher on the caller's loop, events to emit.  Start
 * never fails the caller: it says why and returns NULL.  Stop accepts NULL. */
struct vigil_loop;
struct vigil_audit_exec_watch;
struct vigil_audit_exec_watch *vigil_audit_exec_watch_start(struct vigil_loop *loop, const struct vigil_config *cfg,
							      vigil_audit_emit_fn emit, void *ctx);
void vigil_audit_exec_watch_stop(struct vigil_audit_exec_watch *ew);

#endif
