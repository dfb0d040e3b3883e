/* audit_watch.h - Linux audit inside a long-running process, knowing nothing
 * of that process: it joins an epoll loop, sends its detections to an emit
 * callback, and answers "who made this change?" about a path.  The watch
 * daemon's wiring (agent/daemon/daemon.c) plugs it in through the daemon's
 * module and who hooks; neither side names the other.
 *
 * Lifecycle:
 *   vigil_audit_watch_start(loop, cfg, emit, ctx, &aw, err): vigil's rules
 *     installed when audit.install_rules says so, the multicast socket and a
 *     one-second timer on the loop, the exec watcher (proc connector) when
 *     audit.execve says so.  A part that cannot work (no CAP_AUDIT_READ, no
 *     proc connector) is said once and left out: only ENOMEM fails.
 *   vigil_audit_watch_who(aw, path, inode, time_ns, &who) for each change,
 *     held vigil_audit_watch_hold_ms(aw) first (0: no who-data to wait for)
 *   vigil_audit_watch_reload(&aw, cfg, err) on SIGHUP: when an audit
 *     setting or the rules the config gives differ, stopped and started
 *     again with the new config (the rules swapped); else nothing
 *   vigil_audit_watch_stop(aw): rules removed, everything closed (NULL ok)
 * Loop thread only.
 */
#ifndef VIGIL_AUDIT_WATCH_H
#define VIGIL_AUDIT_WATCH_H

#include <stdint.h>

#include "vigil/audit.h"
#include "vigil/config.h"
#include "vigil/err.h"
#include "vigil/event.h"
#include "vigil/loop.h"

struct vigil_audit_watch;

int vigil_audit_watch_start(struct vigil_loop *loop, const struct vigil_config *cfg, vigil_audit_emit_fn emit,
			    void *ctx, struct vigil_audit_watch **out, struct vigil_err *err);
/* How long each change waits for its audit records (audit.window_ms), 0
 * when no audit record can come (the socket could not be opened). */
int vigil_audit_watch_hold_ms(const struct vigil_audit_watch *aw);
/* Fills who and returns 1 when an audit record names the writer, else 0. */
int vigil_audit_watch_who(struct vigil_audit_watch *aw, const char *path, uint64_t inode, int64_t time_ns,
			  struct vigil_who *who);
/* 0 when nothing changed, 1 when audit was restarted with cfg, -ENOMEM when
 * the new one could not be made (*aw is NULL then: audit is off). */
int vigil_audit_watch_reload(struct vigil_audit_watch **aw, const struct vigil_config *cfg, struct vigil_err *err);
void vigil_audit_watch_stop(struct vigil_audit_watch *aw);

#endif
