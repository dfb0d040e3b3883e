/* watch_priv.h - what the files of the watch daemon share (agent/daemon/:
 * watch.c lifecycle and helpers, jobs.c workers, evaluate.c the engine's
 * results, events.c emitting, debounce.c, watches.c inotify, docker_watch.c,
 * control.c reload/control/signals).  Not a public header: watch.h is. */
#ifndef VIGIL_WATCH_PRIV_H
#define VIGIL_WATCH_PRIV_H

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "vigil/cli.h"
#include "vigil/dpkg.h"
#include "vigil/clock.h"
#include "vigil/ctl.h"
#include "vigil/docker.h"
#include "vigil/err.h"
#include "vigil/event.h"
#include "vigil/inotify.h"
#include "vigil/notify.h"
#include "vigil/output.h"
#include "vigil/reported.h"
#include "vigil/run.h"
#include "vigil/sched.h"
#include "vigil/sign.h"
#include "vigil/statewatch.h"
#include "vigil/store.h"
#include "vigil/walk.h"
#include "vigil/watch.h"

#define PENDING_MAX 65536   /* debounced paths; beyond: one full rescan instead */
#define JOBS_MAX 65536      /* queued path evaluations; beyond: one full rescan */
#define RESULTS_MAX 100000  /* changes waiting for the loop; beyond: dropped, counted */
#define REPORTED_MAX 65536  /* paths whose last reported state is remembered */
#define PREFIXES_MAX 256    /* subtrees waiting for a rescan; beyond: a full rescan */
#define STOP_WAIT_MS 2000   /* at stop: time for pending changes and outputs */
#define LIMIT_EVENT_EVERY_S 600
#define MODULES_MAX 4
#define STATE_QUIET_MS 500  /* the state dir changed: verified once quiet that long */

struct cfgref {
	struct vigil_config *cfg;
	struct vigil_docker_locator *loc; /* Docker terms; NULL without a data root */
	struct vigil_dpkg_explain *pkg;   /* dpkg explains differences; NULL: none */
	struct vigil_config watched; /* shallow copy holding only `watch: true` scopes */
	int refs;
};

enum { J_PATH = 1, J_RESCAN, J_CHECK, J_BASELINE, J_LAYER, J_VERIFY, J_PROCS };

struct job {
	struct job *next;
	int type;
	struct cfgref *cr;
	uint64_t client;  /* control client waiting for the answer, 0 none */
	uint32_t mask;
	int64_t first_ns, time_ns;
	char *from;       /* J_PATH: renamed from */
	char **prefixes;  /* J_RESCAN: subtrees, NULL = every watched scope */
	size_t nprefixes;
	const char *source;
	int startup;      /* J_CHECK: what changed while the daemon was down */
	int untrusted;    /* J_CHECK: refused, the baseline did not verify */
	int64_t dpkg_since; /* J_PATH: held for dpkg since (loop clock ns), 0 never */
	int dpkg_overdue; /* J_PATH: dpkg's lock held past packages.dpkg_wait */
	size_t len;
	char path[];
};

struct jobq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, *tail;
	size_t n;
	int stop;
	int busy;
};

enum { C_FILE = 1, C_DONE };

struct change {
	struct change *next;
	int type;
	struct vigil_change pub;
	struct vigil_record old, cur;
	int has_old, has_cur;
	char scope[64];
	int severity;
	int64_t gen;
	const char *source;
	char *extra;
	char *message;
	struct vigil_docker_where where; /* the path in Docker's terms */
	int64_t hold_until;
	/* C_DONE (J_PROCS: extra holds the findings, a JSON array) */
	int job;
	int startup, untrusted;
	uint64_t client;
	int rc;
	char msg[512];
	uint64_t added, removed, changed, unreadable, seen;
	int64_t new_gen;
};

struct pend {
	struct pend *hnext, *prev, *next;
	int64_t first_ns, time_ns, deadline;
	uint32_t mask;
	char *from;
	size_t len;
	char path[];
};

struct vigil_watch {
	struct vigil_cli *cli;
	struct cfgref *cr;
	char *state_dir;        /* own copy: the config it came from is freed by reloads */
	int64_t gen;            /* baseline generation compared with (atomic) */
	int64_t started_ns, started_real;
	char host[256];

	struct vigil_loop *loop;
	struct vigil_inotify *ino;
	struct vigil_output_set *out;
	struct vigil_sched *sched;
	struct vigil_ctl *ctl;
	int sigfd;
	struct vigil_loop_timer *debounce, *hold, *periodic, *watchdog;
	struct vigil_loop_async *wake;
	char *scopes_sig;       /* what the watches were built from */
	int docker_fd;          /* inotify on Docker's layer store and containers, -1 none */
	struct vigil_loop_timer *docker_timer;

	/* debounce */
	struct pend **phash;
	size_t pbuckets, npend;
	struct pend *phead, *ptail;
	char *prefixes[PREFIXES_MAX];
	size_t nprefixes;
	int full_rescan_wanted;
	int rescan_queued;

	/* workers */
	struct jobq fast, slow;
	pthread_t fast_th, slow_th;
	int threads_started;
	int cancel;             /* atomic: stopping, running walks give up */
	uint64_t not_evaluated; /* path jobs dropped at stop */

	/* results */
	pthread_mutex_t res_mu;
	struct change *res_head, *res_tail;
	size_t nres;
	uint64_t res_dropped;
	struct change *held_head, *held_tail;
	size_t nheld;

	/* paths waiting for dpkg to finish (dpkgwait.c) */
	pthread_mutex_t dw_mu;
	struct job *dw_head;
	size_t ndw;
	struct vigil_loop_timer *dpkg_timer;

	struct vigil_reported *rep;
	json_t *procs_seen;     /* `action: procs`: the last run's findings (keys), loop thread only */

	/* the state dir: changed by someone else -> verified again */
	struct vigil_statewatch *sd;
	unsigned store_epoch;   /* atomic: bumped when workers must reopen the store */
	int verify_queued;
	int tampered;           /* the last verification failed */

	vigil_watch_who_fn who_fn;
	void *who_ctx;
	vigil_watch_objects_fn compliance_fn; /* the CIS run of `action: compliance` */
	void *compliance_ctx;
	vigil_watch_observe_fn observe_fn; /* capture triggers */
	void *observe_ctx;
	int observing;                     /* an observer's own events are not observed */
	vigil_watch_ctl_fn ctl_fn;         /* a module's control commands */
	void *ctl_ctx;
	int hold_ms;

	/* status */
	uint64_t events, internal_dropped, overflows, limit_events;
	int64_t last_limit_event;
	int64_t last_check_real;
	struct vigil_tally last_check;
	int have_check;
	int stopping;
	int exit_code;

	/* modules plugged in by the wiring (daemon.c) */
	struct {
		const struct vigil_watch_module *ops;
		void *ctx;
	} modules[MODULES_MAX];
	size_t nmodules;
	char *pid_file;         /* own copy: removed last */
	int pidfd;
};
#define LAYER_PATHS_MAX 256 /* changed paths one layer verification names at most */

/* watch.c */
uint64_t watch_hash_bytes(const char *p, size_t len);
void watch_modules_reload(struct vigil_watch *w);
char *watch_path_json(const char *key, const char *path, size_t len);
uint64_t watch_rss_kb(void);
int watch_under(const char *path, size_t len, const char *prefix);

/* jobs.c */

struct cfgref *watch_cfgref_new(struct vigil_config *cfg);
void watch_cfgref_put(struct cfgref *r);
void watch_done_push(struct vigil_watch *w, const struct job *j, int rc, const char *msg,
		      const struct vigil_tally *t, int64_t new_gen);
void watch_job_free(struct job *j);
struct job *watch_job_new(struct vigil_watch *w, int type, const char *path, size_t len, const char *source);
struct job *watch_job_copy(const struct job *j);
struct job *watch_job_path_for(const struct job *j, const char *path, size_t len);
void watch_jobq_init(struct jobq *q);
size_t watch_jobq_len(struct jobq *q);
void watch_jobq_push(struct jobq *q, struct job *j);
int watch_result_push(struct vigil_watch *w, struct change *c);
int watch_verify_latest(struct vigil_watch *w, struct vigil_generation *g, struct vigil_err *err);
int watch_worker_start(struct vigil_watch *w, struct jobq *q, pthread_t *th, struct vigil_err *err);
void watch_workers_stop(struct vigil_watch *w);

/* evaluate.c */
void watch_eval_path(struct vigil_watch *w, struct vigil_store *st, struct job *j);
void watch_run_baseline(struct vigil_watch *w, struct job *j);
void watch_run_compare(struct vigil_watch *w, struct vigil_store *st, struct job *j);
void watch_say_log(void *arg, int level, const char *msg);

/* events.c */
void watch_baseline_untrusted(struct vigil_watch *w, const char *why);
void watch_change_free(struct change *c);
void watch_emit_info(struct vigil_watch *w, const char *action, int severity, const char *extra,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void watch_hold_fire(struct vigil_loop_timer *t, uint64_t n, void *ctx);
void watch_log_loss(void *ctx, const char *name, uint64_t queued, uint64_t unreported);
void watch_on_results(struct vigil_loop_async *a, void *ctx);
void watch_output_problem(void *ctx, const char *name, const char *problem);

/* debounce.c */
void watch_debounce_arm(struct vigil_watch *w);
void watch_debounce_fire(struct vigil_loop_timer *t, uint64_t n, void *ctx);
void watch_pend_add(struct vigil_watch *w, const char *path, size_t len, uint32_t mask, const char *from);
void watch_pend_drop_all(struct vigil_watch *w);
void watch_prefix_add(struct vigil_watch *w, const char *path);
void watch_queue_full_rescan(struct vigil_watch *w, uint64_t client);

/* watches.c */
int watch_build(struct vigil_watch *w, struct vigil_inotify **out, struct vigil_err *err);
void watch_on_inotify(struct vigil_loop *loop, int fd, uint32_t events, void *ctx);
void watch_periodic_arm(struct vigil_watch *w);
void watch_periodic_fire(struct vigil_loop_timer *t, uint64_t n, void *ctx);
int watch_rebuild(struct vigil_watch *w, int rescan, struct vigil_err *err);
char *watch_scopes_signature(const struct vigil_config *cfg);

/* dpkgwait.c */
int watch_dpkg_hold(struct vigil_watch *w, const struct job *j);
void watch_dpkg_arm(struct vigil_watch *w);
void watch_dpkg_fire(struct vigil_loop_timer *t, uint64_t n, void *ctx);
void watch_dpkg_drop(struct vigil_watch *w);
/* a run's (run.c) package verdicts while dpkg's lock is held: held too */
struct watch_dpkg_run {
	const struct vigil_explainer *px; /* the package explainer */
	struct vigil_explainer wrap;      /* what the run is given */
	int held;                         /* the last difference explained: hold it */
};
const struct vigil_explainer *watch_dpkg_run_init(struct watch_dpkg_run *dr, const struct job *j);
int watch_dpkg_run_hold(struct vigil_watch *w, struct watch_dpkg_run *dr, const struct job *j,
			const struct vigil_run_diff *d);

/* docker_watch.c */
void watch_docker_start(struct vigil_watch *w);
void watch_docker_stop(struct vigil_watch *w);

/* control.c */
void watch_on_ctl(void *ctx, uint64_t client, const char *cmd, json_t *req);
void watch_on_sched(void *ctx, int action, size_t index);
void watch_on_signal(struct vigil_loop *loop, int fd, uint32_t events, void *ctx);
void watch_on_state_changed(void *ctx);
void watch_queue_startup_check(struct vigil_watch *w);
void watch_watchdog_fire(struct vigil_loop_timer *t, uint64_t n, void *ctx);

#endif
