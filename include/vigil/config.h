/* config.h - vigil's configuration: YAML through libyaml, or the embedded default.
 *
 * Lifecycle: vigil_config_load(file or NULL, &cfg, err) -> use -> vigil_config_free(cfg).
 * With file == NULL the installed config ($(sysconfdir)/vigil/vigil.yaml, where
 * `make install` puts it) is read when it exists, else the embedded default
 * (etc/vigil.yaml's content) applies; cfg->source says which.
 * A reload parses into a fresh struct and swaps only when it validated.
 * Errors name file, line, column, the key and what was expected; unknown keys
 * are errors (a typo must never silently weaken monitoring).
 */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

enum vigil_severity {
	VIGIL_SEV_LOW = 1,
	VIGIL_SEV_MEDIUM,
	VIGIL_SEV_HIGH,
	VIGIL_SEV_CRITICAL,
};

/* Automatic scopes filled by collectors at run time (Docker issue). */
enum vigil_auto {
	VIGIL_AUTO_NONE = 0,
	VIGIL_AUTO_DOCKER_BINARIES,
	VIGIL_AUTO_DOCKER_CONFIGS,
	VIGIL_AUTO_DOCKER_LAYERS,
};

struct vigil_strv {
	char **v;
	size_t n;
};

struct vigil_scope {
	char *name;
	int auto_kind;           /* enum vigil_auto; paths filled by collectors */
	struct vigil_strv paths; /* absolute; may hold globs (fnmatch) in any component */
	struct vigil_strv include; /* fnmatch globs on the full path; empty = all */
	struct vigil_strv exclude; /* fnmatch globs on the full path */
	int depth;               /* -1 unlimited, 0 = the path itself only */
	int one_filesystem;      /* do not cross mount points below a path */
	unsigned attrs;          /* enum vigil_attr mask */
	int severity;            /* enum vigil_severity */
	int watch;               /* inotify in `vigil watch` */
	int critical;            /* audit rules for this scope */
};

enum vigil_output_type {
	VIGIL_OUT_JSONL = 1,
	VIGIL_OUT_SYSLOG,
	VIGIL_OUT_STDOUT,
};

struct vigil_output {
	int type;
	char *path;     /* jsonl: file */
	char *target;   /* syslog: NULL or "local" for /dev/log, "tcp://host:port" */
	int facility;   /* syslog facility number (LOG_DAEMON>>3 by default) */
	int backlog;    /* syslog tcp: events kept while disconnected */
};

enum vigil_sched_action {
	VIGIL_SCHED_CHECK = 1,
	VIGIL_SCHED_BASELINE,
	VIGIL_SCHED_COMPLIANCE,  /* a baseline and a CIS run in one generation */
	VIGIL_SCHED_PROCS,       /* `vigil procs --verify`: an event per finding */
};

struct vigil_schedule {
	int action;
	uint64_t every_s; /* 0 when `at` is used */
	int at_min;       /* minutes after midnight, local time; -1 when `every` */
};

/* A capture trigger (`triggers:`): an event matching every key given starts a
 * capture of the targets in the daemon (agent/capture/trigger.c). */
struct vigil_trigger {
	char *name;
	char *action;            /* event.action; NULL: any */
	int min_severity;        /* enum vigil_severity; 0: any */
	struct vigil_strv paths; /* fnmatch globs on file.path; empty: any */
	char *scope;             /* vigil.scope; NULL: any */
	struct vigil_strv containers; /* fnmatch globs on the event's container name or id; empty: any */
	int container;           /* capture the container the event names */
	int engine, host;        /* capture the engine, the host */
	int freeze;
	int memory;              /* physical memory first (capture.memory_method, .lime_mode) */
};

struct vigil_config {
	char *source;     /* file name, or "(embedded default)" */
	char *state_dir;
	unsigned algos;   /* VIGIL_ALGO_BIT mask */
	int threads;      /* 0 = one per core */
	uint64_t max_file_size; /* bytes hashed at most per file; 0 = no limit */

	struct vigil_scope *scopes;
	size_t n_scopes;

	/* watch: the daemon */
	int debounce_ms;
	int rescan_interval_s; /* periodic scan of what inotify could not watch */
	char *control_socket;
	char *pid_file;
	struct vigil_output *outputs;
	size_t n_outputs;
	struct vigil_schedule *schedules;
	size_t n_schedules;

	/* audit */
	int audit_enabled;
	int audit_install_rules;
	int audit_execve;        /* container-shell detection: the proc connector */
	int audit_execve_rules;  /* the older execve audit rules instead */
	int audit_window_ms;
	int audit_exec_rate; /* execve events per second at most; excess counted */

	/* packages: dpkg's records explain changes (collectors/packages/) */
	int packages_explain;     /* classify differences of packaged paths */
	int packages_auto_accept; /* enum vigil_pkg_accept */
	int packages_dpkg_wait_s; /* daemon: longest wait for dpkg's lock before judging */

	/* capture: the daemon's triggered captures (agent/capture/trigger.c) */
	char *evidence_dir;        /* NULL: STATE_DIR/evidence */
	char *capture_data_root;   /* Docker's data root; NULL: discovered */
	uint64_t capture_min_free; /* bytes that stay free on the evidence fs */
	uint64_t capture_quota;    /* total bytes in the evidence dir at most; 0: none */
	uint64_t capture_max_file_size;
	int capture_max_concurrent;
	int capture_cooldown_s;    /* per trigger and target */
	int capture_memory_method; /* enum vigil_memdump_method: auto, lime, kcore */
	int capture_lime_file;     /* 1: LiME's file mode (a spool in the evidence dir) */
	char *capture_lime_module; /* NULL: looked for under /lib/modules */
	int capture_memory_timeout_s; /* per LiME stage; 0: 600 s */
	struct vigil_trigger *triggers;
	size_t n_triggers;
	/* retention: (`vigil prune`): keep the newest N generations (0: all) and
	 * none older than max_age (0: any age); never the newest */
	int retention_keep;
	uint64_t retention_max_age_s;
};

enum vigil_pkg_accept {
	VIGIL_PKG_ACCEPT_NONE = 0,
	VIGIL_PKG_ACCEPT_UPGRADES, /* package-upgrade changes go into a new generation */
};

/* cfg->source of the embedded default. */
#define VIGIL_CONFIG_EMBEDDED "(embedded default)"

/* Loads file; NULL: the installed config when it exists (a file there that
 * cannot be read is an error), else the embedded default.  On failure *out is
 * NULL, the return is -EINVAL for a config error (exit 2) or -errno for I/O,
 * and err says "FILE:LINE:COL: key 'x': expected ...". */
int vigil_config_load(const char *file, struct vigil_config **out, struct vigil_err *err);
/* The embedded default, whatever is installed. */
int vigil_config_load_embedded(struct vigil_config **out, struct vigil_err *err);
/* $(sysconfdir)/vigil/vigil.yaml */
const char *vigil_config_installed_file(void);
/* Parses YAML text held in memory; name is used in messages. */
int vigil_config_parse(const char *name, const char *text, size_t len,
		       struct vigil_config **out, struct vigil_err *err);
void vigil_config_free(struct vigil_config *cfg);
/* The embedded default's text. */
const char *vigil_config_default_text(void);
const char *vigil_severity_name(int sev);

#endif
