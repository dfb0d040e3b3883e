/* cis_priv.h - shared by the files of agent/compliance/ only (not an API):
 * the run's context and the helpers every evaluator uses. */
#ifndef VIGIL_CIS_PRIV_H
#define VIGIL_CIS_PRIV_H

#include <stdio.h>

#include <jansson.h>

#include "vigil/compliance.h"
#include "vigil/docker.h"
#include "vigil/docker_cis.h"

/* One setting of the effective daemon configuration.  Entries from
 * daemon.json come first and the command line's after, so the last entry of
 * a key is the one dockerd uses (it refuses to start when both set one,
 * which check 2.0 reports). */
struct cis_opt {
	char *key;    /* daemon.json's name ("icc", "insecure-registries") */
	char *value;  /* "false", "info", one element of a list */
	char *src;    /* the file, or "/proc/PID/cmdline", or the unit */
	int from_flag;
};

struct cis_ctx {
	const char *root;
	int rootfd;
	int host;                      /* root is the running host */
	struct vigil_cis_report *rep;
	/* the daemon */
	struct vigil_docker_args args;
	char *json_path;               /* daemon.json inside root */
	json_t *json;                  /* NULL when absent or bad */
	char *json_error;              /* why dockerd would refuse it */
	struct cis_opt *opts;
	size_t n_opts;
	char *data_root;
	/* Docker's state */
	struct vigil_docker *d;
	char *docker_error;
	int no_data_root;              /* the data root does not exist */
	/* the audit rules (auditctl -l text, or rules files' lines) */
	struct vigil_strv audit;
	char *audit_source;
	char *audit_error;
	/* group names by gid for 3.x (from etc/group) */
	char *group_text;
	/* per container (the model's order): its config.v2.json and hostconfig.json */
	struct cis_cjson {
		json_t *cfg, *hc;
		char *why;      /* why one of them is missing or bad */
	} *cj;
	size_t n_cj;
	struct vigil_strv sshd;        /* ids of containers running sshd (live only) */
	int apparmor, selinux;         /* enabled on the host (1), not (0), unknown (-1) */
};

/* Appends a result; detail is printf-like (may be NULL).  ct: a container
 * (its id and name) or NULL; image: an image id for 4.x or NULL. */
void cis_add(struct cis_ctx *c, const struct vigil_cis_check *chk, int verdict, const char *file,
	     const char *key, const char *value, const struct vigil_docker_container *ct,
	     const char *image, const char *fmt, ...) __attribute__((format(printf, 9, 10)));

/* The last value of key (NULL when unset); src gets where it came from. */
const struct cis_opt *cis_opt_last(const struct cis_ctx *c, const char *key);
/* 1 when key's effective value is "true" (bool options), 0 false, def unset. */
int cis_opt_bool(const struct cis_ctx *c, const char *key, int def, const struct cis_opt **o);

/* cis_daemon.c: reads daemon.json and dockerd's arguments into c->opts. */
int cis_daemon_load(struct cis_ctx *c, pid_t pid, struct vigil_err *err);
void cis_daemon_free(struct cis_ctx *c);
/* The unix sockets dockerd listens on (inside root): "/run/docker.sock" by default. */
int cis_daemon_sockets(const struct cis_ctx *c, struct vigil_strv *out);

/* cis_audit.c: the rules (kernel when live, rules files with --root). */
void cis_audit_load(struct cis_ctx *c);
/* 1 when a rule names path exactly (-w PATH, path=PATH, dir=PATH); the rule text in *rule. */
int cis_audit_covers(const struct cis_ctx *c, const char *path, const char **rule);

/* cis_report.c: one result as its JSON line (malloc'd, NULL on ENOMEM). */
char *cis_result_json(const struct vigil_cis_report *r, const struct vigil_cis_result *x);
/* cis_report.c: XML/HTML-escaped text. */
void cis_xml(FILE *f, const char *s);
/* A growable list of malloc'd strings (cis_run.c). */
int cis_strv_push(struct vigil_strv *sv, const char *s);
void cis_strv_clear(struct vigil_strv *sv);

/* Evaluators (named in cis_table.c). */
void cis_eval_partition(struct cis_ctx *c, const struct vigil_cis_check *chk);
void cis_eval_group(struct cis_ctx *c, const struct vigil_cis_check *chk);
void cis_eval_audit(struct cis_ctx *c, const struct vigil_cis_check *chk);
void cis_eval_daemon(struct cis_ctx *c, const struct vigil_cis_check *chk);
void cis_eval_file(struct cis_ctx *c, const struct vigil_cis_check *chk);
void cis_eval_image(struct cis_ctx *c, const struct vigil_cis_check *chk);
void cis_eval_container(struct cis_ctx *c, const struct vigil_cis_check *chk);
void cis_eval_swarm(struct cis_ctx *c, const struct vigil_cis_check *chk);
/* cis_trust.c: 4.5, DOCKER_CONTENT_TRUST in the login environment. */
void cis_eval_trust(struct cis_ctx *c, const struct vigil_cis_check *chk);
/* cis_container.c: the per-container JSON, sshd, LSMs (before the checks). */
void cis_containers_load(struct cis_ctx *c);
void cis_containers_free(struct cis_ctx *c);

#endif
