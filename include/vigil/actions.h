/* actions.h - every event.action vigil emits, in one place (README's "Event
 * actions" table lists them with their severities).  A new event gets its
 * name here, never as a string literal where it is emitted.
 */
#ifndef VIGIL_ACTIONS_H
#define VIGIL_ACTIONS_H

/* A file against the baseline: check, the daemon's inotify, rescans. */
#define VIGIL_ACTION_ADDED "file-added"
#define VIGIL_ACTION_REMOVED "file-removed"
#define VIGIL_ACTION_CHANGED "file-changed"
#define VIGIL_ACTION_UNREADABLE "file-unreadable"
#define VIGIL_ACTION_RESTORED "file-restored"       /* back to its baseline state (daemon) */
#define VIGIL_ACTION_CHECK_SUMMARY "check-summary"
#define VIGIL_ACTION_BASELINE_RECORD "baseline-record" /* `baseline --json`: one per record */

/* Docker image layers (check, layers verify). */
#define VIGIL_ACTION_LAYER_CHANGED "layer-changed"
#define VIGIL_ACTION_LAYER_ADDED "layer-added"
#define VIGIL_ACTION_LAYER_UNVERIFIABLE "layer-unverifiable"
#define VIGIL_ACTION_LAYER_RETIRED "layer-retired"
#define VIGIL_ACTION_IMAGE_CHANGED "image-changed"   /* an image's config rewritten */
#define VIGIL_ACTION_GEN_PRUNED "generation-pruned"   /* `vigil prune`: retention deleted a generation */
#define VIGIL_ACTION_CIS_CHANGED "cis-result-changed" /* `vigil diff`: a CIS verdict changed, appeared or went */
/* `vigil diff`: a stored Docker object (agent/core/gendiff.c) in one generation and not the
 * other, or stored differently (a layer's verification status, digest or images; an
 * image's config check, layers or tags) */
#define VIGIL_ACTION_DIFF_LAYER_ADDED "layer-added-since"
#define VIGIL_ACTION_DIFF_LAYER_REMOVED "layer-removed-since"
#define VIGIL_ACTION_DIFF_LAYER_CHANGED "layer-changed-since"
#define VIGIL_ACTION_DIFF_IMAGE_ADDED "image-added-since"
#define VIGIL_ACTION_DIFF_IMAGE_REMOVED "image-removed-since"
#define VIGIL_ACTION_DIFF_IMAGE_CHANGED "image-changed-since"

/* Packages: files against dpkg's records (`packages verify`, check, daemon). */
#define VIGIL_ACTION_PKG_UPGRADE "package-upgrade"             /* explained by dpkg.log: low */
#define VIGIL_ACTION_PKG_TAMPERED "package-file-tampered"      /* matches no sum it ships: critical */
#define VIGIL_ACTION_CONFFILE_MODIFIED "conffile-modified"     /* a conffile edited: medium */
#define VIGIL_ACTION_UNPACKAGED "unpackaged-file"              /* new file in /usr/bin...: high */
#define VIGIL_ACTION_PKG_MISSING "package-file-missing"        /* verify: gone: high */
#define VIGIL_ACTION_PKG_SHARED "package-file-shared-changed"  /* verify: differs, path shared
								  or diverted: high */
#define VIGIL_ACTION_PKG_UNVERIFIABLE "package-file-unverifiable" /* verify: not a regular file,
								     unreadable: medium */
#define VIGIL_ACTION_PKG_SUMMARY "packages-verify-summary"
#define VIGIL_ACTION_CT_PKG_INSTALLED "container-package-installed" /* drift: dpkg or apt ran in a
								       container (its status or logs
								       in the upper layer): high */
#define VIGIL_ACTION_CT_PKG_REMOVED "container-package-removed" /* drift: a package of the image
								   removed in a container: high */

/* The watch daemon itself. */
#define VIGIL_ACTION_STARTED "watch-started"
#define VIGIL_ACTION_STOPPED "watch-stopped"
#define VIGIL_ACTION_STARTUP_CHECK "startup-check"   /* summary: what changed while it was down */
#define VIGIL_ACTION_OVERFLOW "watch-overflow"       /* inotify queue overflow: rescanned */
#define VIGIL_ACTION_LIMIT "watch-limit"             /* fs.inotify.max_user_watches reached */
#define VIGIL_ACTION_UNMOUNTED "watch-unmounted"
#define VIGIL_ACTION_ROOT_GONE "watch-root-gone"
#define VIGIL_ACTION_RELOAD "config-reloaded"
#define VIGIL_ACTION_RELOAD_FAILED "config-reload-failed"
#define VIGIL_ACTION_BASELINE "baseline-generation"  /* a generation stored or taken up */
#define VIGIL_ACTION_BASELINE_FAILED "baseline-failed"
#define VIGIL_ACTION_BASELINE_TAMPERED "baseline-tampered" /* does not verify: critical */
#define VIGIL_ACTION_BASELINE_VERIFIED "baseline-verified" /* verifies again after that */
#define VIGIL_ACTION_OUTPUT_DROPPED "output-dropped"       /* events an output lost */
#define VIGIL_ACTION_OUTPUT_UNAVAILABLE "output-unavailable" /* e.g. nobody at /dev/log */

/* Linux audit: detections and the audit link's health. */
#define VIGIL_ACTION_CONTAINER_SHELL "container-shell"
#define VIGIL_ACTION_DOCKER_SOCKET "docker-socket-write"
#define VIGIL_ACTION_DOCKER_BINARY "docker-binary-changed"
#define VIGIL_ACTION_DOCKER_CONFIG "docker-config-changed"
#define VIGIL_ACTION_CONTAINER_EXEC "container-exec"
#define VIGIL_ACTION_HOST_EXEC "process-exec"
#define VIGIL_ACTION_AUDIT_LOST "audit-records-lost"
#define VIGIL_ACTION_AUDIT_RATE "audit-exec-rate-limited"
#define VIGIL_ACTION_AUDIT_FILE "audit-file-access"
#define VIGIL_ACTION_EXEC_UNEXAMINED "exec-unexamined" /* exited or exec'd again first */

/* Evidence capture started by a trigger in the daemon (agent/capture/trigger.c). */
#define VIGIL_ACTION_CAPTURE_TRIGGERED "capture-triggered" /* a rule matched an event */
#define VIGIL_ACTION_CAPTURE_STARTED "capture-started"
#define VIGIL_ACTION_CAPTURE_DONE "capture-completed"     /* archive path and digest */
#define VIGIL_ACTION_CAPTURE_FAILED "capture-failed"
#define VIGIL_ACTION_CAPTURE_SKIPPED "capture-skipped"     /* cooldown, quota, too many at once */

/* Processes: code in memory against its files (`vigil procs --verify`, the
 * daemon's `action: procs`). */
#define VIGIL_ACTION_PROC_CODE_MODIFIED "process-code-modified" /* a code page differs from its file: critical */
#define VIGIL_ACTION_PROC_TEXTREL "process-code-relocated"     /* differs, but the object has DT_TEXTREL: low */
#define VIGIL_ACTION_PROC_DELETED_MAP "process-deleted-mapping" /* code mapped from a deleted file: high */
#define VIGIL_ACTION_PROC_MEMFD_EXEC "process-memfd-exec"       /* code mapped from a memfd: high */
#define VIGIL_ACTION_PROC_ANON_EXEC "process-anon-exec"         /* anonymous code (JITs): low */
#define VIGIL_ACTION_PROC_EXE_DELETED "process-exe-deleted"     /* runs a deleted executable: high */
#define VIGIL_ACTION_PROC_EXE_CHANGED "process-exe-changed"     /* exe hash != baseline's: critical */
#define VIGIL_ACTION_PROCS_FAILED "procs-failed"                /* the daemon's scheduled run failed */

#endif
