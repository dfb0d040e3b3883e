/* event.h - one structured event, rendered as one line of ECS-style JSON.
 *
 * Field names follow the Elastic Common Schema where one exists (@timestamp,
 * event.action, event.severity, file.path, file.hash.sha256, file.mode,
 * process.pid, process.executable, user.id, container.id, container.name,
 * host.name); everything else lives under "vigil" (changed attributes with old
 * and new values, scope, baseline generation).  A path that is not valid UTF-8
 * is given in file.path with vigil_path_escape() and, losslessly, as base64 in
 * vigil.path_base64.
 *
 * Lifecycle: fill a struct vigil_event on the stack (zero it first), then
 * vigil_event_json() -> malloc'd line without the trailing newline -> free().
 */
#ifndef VIGIL_EVENT_H
#define VIGIL_EVENT_H

#include <stdint.h>
#include <sys/types.h>

#include "vigil/actions.h" /* event.action names */
#include "vigil/record.h"

struct vigil_docker_where;

/* Who made a change, from audit (or /proc); every field optional. */
struct vigil_who {
	int known;            /* 0: no audit record matched ("unknown" is said, not guessed) */
	pid_t pid, ppid;
	int64_t uid, euid, auid, gid; /* -1 when unknown */
	const char *exe, *comm, *cmdline;
	const char *container_id, *container_name, *container_image;
	const char *audit_key;
	uint64_t audit_serial;
};

struct vigil_event {
	const char *action;        /* event.action */
	const char *kind;          /* event.kind: "alert" (default for file events) or "event" */
	int severity;              /* enum vigil_severity; 0 = none */
	const char *scope;         /* vigil.scope */
	const char *message;       /* message */
	int64_t generation;        /* vigil.generation; 0 = none */
	const struct vigil_record *old; /* baseline record, NULL for added */
	const struct vigil_record *cur; /* current record, NULL for removed */
	unsigned changed;          /* attrs that differ (vigil.changes) */
	const struct vigil_who *who;
	const char *source;        /* vigil.source: "check", "inotify", "audit", "rescan", ... */
	const char *extra_json;    /* NULL or a JSON object text merged into "vigil" */
	/* NULL, or the path in Docker's terms: container.* (unless who names a
	 * container) and vigil.layer/image_path/container_path */
	const struct vigil_docker_where *docker;
	int64_t time_ns;           /* @timestamp; 0 = now */
};

/* Renders ev as one JSON line (no newline).  host NULL = gethostname(). 
 * Returns NULL on ENOMEM. */
char *vigil_event_json(const struct vigil_event *ev, const char *host);

#endif
