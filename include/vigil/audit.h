/* audit.h - Linux audit: vigil's rules, the record reader, who-data and detections.
 *
 * inotify says what changed; audit says who changed it.  This module owns
 * everything audit-side and is used by `vigil rules`, `vigil audit-plugin`,
 * `vigil audit-tail` and the watch daemon.
 *
 * Rules (agent/audit/audit_rules.c):
 *   vigil_audit_rules_build(&opts, &set, err) -> vigil_audit_rules_print(set, f)
 *   | _install(set, flags, &rep, err) | _remove(&rep, err) | _status(set, &st, err)
 *   -> vigil_audit_rules_free(set).  Every rule carries a key starting "vigil-";
 *   remove deletes only kernel rules with such a key, never anyone else's.
 * Parser (agent/audit/audit_parse.c): vigil_audit_parser_new(fn, ctx) ->
 *   _feed(text) ... _age() on a timer ... _flush() -> _free().  Groups raw
 *   "type=... msg=audit(...): ..." records into events with libauparse.
 * Link (agent/audit/audit_link.c): vigil_audit_link_open() -> fd for epoll ->
 *   _read(link, parser) when readable -> _close().  Reads the kernel's
 *   AUDIT_NLGRP_READLOG multicast group: works with or without auditd and
 *   never takes auditd's place.  vigil_audit_kstatus() polls lost/backlog.
 * Who (agent/audit/audit_who.c): container attribution from /proc/PID/cgroup and a
 *   short window of recent file events, to name who made an inotify change.
 * Engine (agent/audit/audit_engine.c): parser + who + detections + counters, one
 *   object the daemon or a command drives; emits struct vigil_event.
 */
#ifndef VIGIL_AUDIT_H
#define VIGIL_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "vigil/config.h"
#include "vigil/err.h"
#include "vigil/event.h"

#define VIGIL_AUDIT_KEY_PREFIX "vigil-"

/* event.action values produced here: vigil/actions.h (through event.h) */

/* ------------------------------------------------------------------ rules */

enum vigil_audit_role {
	VIGIL_AUDIT_ROLE_ENGINE = 1, /* Docker engine binaries: replaced / attributes */
	VIGIL_AUDIT_ROLE_CONFIG,     /* daemon.json, /etc/docker, unit files, ... */
	VIGIL_AUDIT_ROLE_DATA,       /* /var/lib/docker (write/attr only) */
	VIGIL_AUDIT_ROLE_RUNTIME,    /* /run/containerd */
	VIGIL_AUDIT_ROLE_SOCKET,     /* docker.sock / containerd.sock */
	VIGIL_AUDIT_ROLE_EXEC,       /* execve, to see processes started in containers */
	VIGIL_AUDIT_ROLE_SCOPE,      /* a watched scope marked critical */
};

struct vigil_audit_rule {
	int role;           /* enum vigil_audit_role */
	char *path;         /* path= or dir= value (host path); NULL for pure syscall rules */
	int is_dir;         /* dir= : the directory and everything below it */
	const char *perm;   /* "wa", ...; NULL with explicit syscalls */
	const char *arch;   /* "b64" / "b32" with syscalls, else NULL */
	const char *syscalls; /* "execve,execveat", comma separated, or NULL (all) */
	const char *filter; /* one more "-F" pair ("auid=unset") or NULL */
	char *key;          /* starts with VIGIL_AUDIT_KEY_PREFIX */
	char *why;          /* comment printed above it */
};

struct vigil_audit_ruleset {
	struct vigil_audit_rule *v;
	size_t n;
	char **skipped;     /* paths left out, with the reason ("PATH: why") */
	size_t n_skipped;
};

struct vigil_audit_rules_opts {
	const struct vigil_config *cfg; /* critical scopes, audit_execve; may be NULL */
	const char *root;   /* NULL or "/": this host; else look paths up below it */
	const char *const *sockets; /* extra docker/containerd socket paths, NULL-terminated */
	int execve;         /* -1: from cfg (default on); 0 off; 1 on */
	const char *const *paths; /* extra paths, audited like a critical scope "cli" */
	int b32;            /* also b32 syscall rules (default 1 on x86_64) */
};

/* Builds the rule set for the paths that exist.  Paths with blanks or
 * control characters cannot be written in a rules.d file: they are skipped
 * and listed in set->skipped. */
int vigil_audit_rules_build(const struct vigil_audit_rules_opts *opts,
			    struct vigil_audit_ruleset **out, struct vigil_err *err);
void vigil_audit_rules_free(struct vigil_audit_ruleset *set);
/* The auditctl text of one rule (no newline), into buf. */
int vigil_audit_rule_text(const struct vigil_audit_rule *r, char *buf, size_t len);
/* An auditd rules.d file (auditctl -R / augenrules read it). */
int vigil_audit_rules_print(const struct vigil_audit_ruleset *set, FILE *f);

/* Kernel audit state (AUDIT_GET). */
struct vigil_audit_kstatus {
	uint32_t enabled;   /* 0 off, 1 on, 2 locked (immutable, -e 2) */
	uint32_t failure, pid, rate_limit, backlog_limit, lost, backlog;
};
/* -EPERM without CAP_AUDIT_CONTROL, -EPROTONOSUPPORT without audit in the kernel. */
int vigil_audit_kstatus(struct vigil_audit_kstatus *st, struct vigil_err *err);

/* Every rule the kernel holds, as auditctl -l writes it, malloc'd (free
 * each line and the array).  -EPERM without CAP_AUDIT_CONTROL. */
int vigil_audit_rules_list(char ***lines, size_t *n, struct vigil_err *err);

struct vigil_audit_report {
	size_t added, present, failed, removed, foreign_kept;
	char **msgs;        /* one line per warning or failure */
	size_t n_msgs;
};
void vigil_audit_report_clear(struct vigil_audit_report *rep);

enum {
	VIGIL_AUDIT_INSTALL_ENABLE = 1, /* set enabled=1 when it is 0 (said in rep) */
};
/* Loads every rule of set (rules already loaded count as present).  Fails
 * with -EPERM when rules are immutable.  Never changes the enabled flag
 * unless VIGIL_AUDIT_INSTALL_ENABLE; warns when audit is disabled. */
int vigil_audit_rules_install(const struct vigil_audit_ruleset *set, int flags,
			      struct vigil_audit_report *rep, struct vigil_err *err);
/* Deletes the kernel rules whose key starts with "vigil-", and only those. */
int vigil_audit_rules_remove(struct vigil_audit_report *rep, struct vigil_err *err);

struct vigil_audit_rule_state {
	int loaded;         /* the kernel holds exactly this rule */
};
struct vigil_audit_status {
	struct vigil_audit_kstatus k;
	struct vigil_audit_rule_state *rules; /* parallel to set->v */
	size_t n_loaded, n_missing, n_stale; /* stale: vigil- rules not in set */
	size_t n_foreign;
	char **warnings;    /* silencing rules, disabled, immutable, small backlog */
	size_t n_warnings;
	char **stale;       /* text of stale vigil rules */
	/* vigil rules of a kind this vigil makes (exec, docker-*, scope-*) that
	 * this set does not hold: another configuration's, e.g. the daemon's
	 * execve rules seen by a `rules status` run without --execve. */
	char **other;
	size_t n_other;
};
int vigil_audit_rules_status(const struct vigil_audit_ruleset *set,
			     struct vigil_audit_status *st, struct vigil_err *err);
void vigil_audit_status_clear(struct vigil_audit_status *st);

/* ----------------------------------------------------------------- parser */

#define VIGIL_AUDIT_MAX_PATHS 16
#define VIGIL_AUDIT_MAX_ARGS 256

struct vigil_audit_path {
	char *name;         /* decoded (hex form undone); may be relative */
	char nametype[16];  /* NORMAL, PARENT, CREATE, DELETE, UNKNOWN */
	uint64_t inode;     /* 0 unknown */
	unsigned dev_major, dev_minor;
	unsigned mode;
};

struct vigil_audit_event {
	uint64_t serial;
	int64_t time_ns;
	int type;           /* first record's type (AUDIT_SYSCALL, ...) */
	unsigned n_records;
	int has_syscall;
	uint32_t arch;
	int syscall;        /* -1 unknown */
	int success;        /* 1 yes, 0 no, -1 unknown */
	int64_t exit;
	pid_t pid, ppid;    /* 0 unknown */
	int64_t uid, euid, auid, gid; /* -1 unknown */
	char *comm, *exe, *key, *cwd;
	char **argv;        /* from EXECVE, else from PROCTITLE */
	size_t argc;
	int argv_truncated;
	char *cmdline;      /* argv joined by blanks */
	struct vigil_audit_path paths[VIGIL_AUDIT_MAX_PATHS];
	size_t n_paths;
	int malformed;      /* a record lacked what its type requires */
};

typedef void (*vigil_audit_event_fn)(const struct vigil_audit_event *ev, void *ctx);

struct vigil_audit_parser;
struct vigil_audit_parser *vigil_audit_parser_new(vigil_audit_event_fn fn, void *ctx);
/* Feeds raw text (whole or partial lines); complete events reach fn. */
int vigil_audit_parser_feed(struct vigil_audit_parser *p, const char *text, size_t len);
/* Completes events whose end-of-event record never came (auditd plugins get
 * no EOE); call from a timer. */
void vigil_audit_parser_age(struct vigil_audit_parser *p);
void vigil_audit_parser_flush(struct vigil_audit_parser *p);
uint64_t vigil_audit_parser_events(const struct vigil_audit_parser *p);
uint64_t vigil_audit_parser_malformed(const struct vigil_audit_parser *p);
void vigil_audit_parser_free(struct vigil_audit_parser *p);

/* Hex-decodes an audit value (unquoted hex) or unquotes it; NULL for "(null)"
 * or on ENOMEM.  *lenp (may be NULL) gets the decoded length (NULs kept). */
char *vigil_audit_decode_value(const char *v, size_t *lenp);

/* ------------------------------------------------------------------- link */

struct vigil_audit_link;
/* -EPERM: no CAP_AUDIT_READ; -EPROTONOSUPPORT: kernel without audit. */
int vigil_audit_link_open(struct vigil_audit_link **out, struct vigil_err *err);
int vigil_audit_link_fd(const struct vigil_audit_link *l);
/* Drains what is queued (non-blocking) into p.  Returns the number of
 * records read, or -errno.  A socket overflow (ENOBUFS) is counted in
 * *dropped, never fatal. */
int vigil_audit_link_read(struct vigil_audit_link *l, struct vigil_audit_parser *p,
			  uint64_t *dropped);
void vigil_audit_link_close(struct vigil_audit_link *l);

/* -------------------------------------------------------------------- who */

/* The container id (64 hex digits, NUL-terminated, into id[65]) named in the
 * text of a /proc/PID/cgroup file: docker-<id>.scope (systemd driver, v1 or
 * v2), /docker/<id> (cgroupfs driver), cri-containerd-<id>.scope.
 * Returns 1 when found, 0 when not. */
int vigil_audit_cgroup_container(const char *text, size_t len, char id[65]);
/* Reads PROC/PID/cgroup (proc NULL: "/proc").  1 found, 0 not in a
 * container, -errno when the process is gone or unreadable. */
int vigil_audit_pid_container(const char *proc, pid_t pid, char id[65]);
/* Reads PROC/PID/NAME (proc NULL: "/proc"), at most size - 1 bytes,
 * NUL-terminated; the length read (0 when the process died after the
 * open), or -errno when it cannot be opened. */
long vigil_audit_proc_read(const char *proc, pid_t pid, const char *name, char *buf, size_t size);
/* The container a containerd shim (PROC/PID/exe named containerd-shim*)
 * serves, from its "-id <id>" argument: the parent of a container's first
 * process and of every `docker exec`, so a process gone before its cgroup
 * was read is still attributed.  1 found, 0 not a shim, -errno. */
int vigil_audit_shim_container(const char *proc, pid_t pid, char id[65]);
/* A container's name and image: vigil_docker_container_lookup() (docker.h). */

/* Shell detection: exe basename or comm in {sh bash dash ash zsh ksh mksh},
 * or busybox run as one of them (argv[0] or `busybox sh`). */
int vigil_audit_is_shell(const char *exe, const char *comm, char *const *argv, size_t argc);

/* ----------------------------------------------------------------- engine */

struct vigil_audit_engine_opts {
	int window_ms;               /* who-data match window (cfg audit_window_ms) */
	int exec_rate;               /* execve events per second at most; 0 = no limit */
	const char *proc;            /* NULL: "/proc" */
	const char *const *data_roots; /* docker data roots, NULL-terminated; NULL: discovered
					* by the Docker collector (daemon.json, units, DOCKER_OPTS) */
	const struct vigil_audit_ruleset *rules; /* roles of watched paths; may be NULL */
	const char *const *sockets;  /* docker/containerd socket paths to watch connects to */
	int all_execs;               /* also emit host (non-container) execs */
	int all_files;               /* emit every vigil-keyed file record (audit-tail) */
};

typedef void (*vigil_audit_emit_fn)(const struct vigil_event *ev, void *ctx);

struct vigil_audit_engine;
struct vigil_audit_engine *vigil_audit_engine_new(const struct vigil_audit_engine_opts *o,
						  vigil_audit_emit_fn emit, void *ctx);
/* Raw record text from the netlink reader, the plugin's stdin or a file. */
int vigil_audit_engine_feed(struct vigil_audit_engine *e, const char *text, size_t len);
/* The parser the netlink link feeds into. */
struct vigil_audit_parser *vigil_audit_engine_parser(struct vigil_audit_engine *e);
/* Timer work: ages incomplete events; turns the kernel's lost counter growth
 * (when kst is not NULL) and local drops into an audit-records-lost event;
 * reports execve events suppressed by the rate limit. */
void vigil_audit_engine_tick(struct vigil_audit_engine *e, const struct vigil_audit_kstatus *kst,
			     uint64_t local_dropped);
/* Who-data for an inotify change of path (inode 0: unknown) seen at at_ns
 * (0: now).  Fills *who (strings owned by the engine, valid until its next
 * feed/tick) and returns 1 when an audit record of the window matched, else
 * sets who->known = 0 and returns 0. */
int vigil_audit_engine_who(struct vigil_audit_engine *e, const char *path, uint64_t inode,
			   int64_t at_ns, struct vigil_who *who);
struct vigil_audit_counters {
	uint64_t events, malformed, execs, execs_suppressed, lost_kernel, lost_local,
		detections;
};
void vigil_audit_engine_counters(const struct vigil_audit_engine *e,
				 struct vigil_audit_counters *c);
void vigil_audit_engine_free(struct vigil_audit_engine *e);

#endif
