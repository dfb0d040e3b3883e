/* trigger.c - rules on events start captures in worker threads.
 *
 * The loop thread matches, applies cooldown, quota and concurrency, and
 * starts a thread per capture; the thread runs vigil_capture_run() (the same
 * code as `vigil capture`) and signals the loop through an async handle; the
 * loop joins it and emits the outcome.  A job owns copies of everything it
 * reads, so a reload (a new config) never touches a running capture
 * (trigger_cfg.c: the copies, and a job's memory options).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "vigil/capture.h"
#include "vigil/capture_trigger.h"
#include "vigil/clock.h"
#include "vigil/docker.h"
#include "trigger_priv.h"

#define COOL_SLOTS 256

struct job {
	struct vigil_capture_triggers *t;
	pthread_t th;
	volatile sig_atomic_t cancel;
	int done, rc;
	char *rule, *line, *container, *out_dir, *state_dir, *case_id, *data_root;
	int engine, host, freeze, memory;
	struct trigger_mem mem; /* memory: true */
	uint64_t min_free, max_file_size;
	struct vigil_evw_result res;
	struct vigil_err err;
	struct job *next;
};

struct cool {
	char key[160];
	int64_t at; /* CLOCK_MONOTONIC ns of the last start */
};

struct vigil_capture_triggers {
	struct vigil_loop_async *async;
	vigil_capture_emit_fn emit;
	void *ctx;
	struct vigil_config *cfg; /* a copy of what triggers read: a reload frees the daemon's */
	pthread_mutex_t mu;
	struct job *jobs; /* running and done, not yet joined */
	int running;
	struct cool cool[COOL_SLOTS];
	size_t next_cool;
	unsigned long seq;
	struct trigger_sweeper *sweeper; /* the sweep at start and reload (trigger_sweep.c) */
};

static void emit(struct vigil_capture_triggers *t, const char *action, int severity, json_t *extra,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void emit(struct vigil_capture_triggers *t, const char *action, int severity, json_t *extra,
		 const char *fmt, ...)
{
	struct vigil_event ev = { 0 };
	json_t *wrap = json_pack("{s:o}", "capture", extra);
	char msg[1024], *text = wrap ? json_dumps(wrap, JSON_COMPACT) : NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ev.action = action;
	ev.kind = "event";
	ev.severity = severity;
	ev.message = msg;
	ev.source = "capture";
	ev.extra_json = text;
	t->emit(t->ctx, &ev);
	free(text);
	json_decref(wrap);
}

static void job_free(struct job *j)
{
	free(j->rule);
	free(j->line);
	free(j->container);
	free(j->out_dir);
	free(j->state_dir);
	free(j->case_id);
	free(j->data_root);
	trigger_mem_clear(&j->mem);
	free(j);
}

static void *job_run(void *arg)
{
	struct job *j = arg;
	struct vigil_capture_req r = { 0 };
	const char *c[1] = { j->container };

	r.ev.out_dir = j->out_dir;
	r.ev.state_dir = j->state_dir;
	r.ev.case_id = j->case_id;
	r.ev.examiner = "vigil watch";
	r.ev.trigger_json = j->line;
	r.ev.min_free = j->min_free;
	r.ev.max_file_size = j->max_file_size;
	r.ev.cancel = &j->cancel;
	r.containers = c;
	r.n_containers = j->container ? 1 : 0;
	r.engine = j->engine;
	r.host = j->host;
	r.freeze = j->freeze;
	r.data_root = j->data_root;
	r.memory = j->memory ? &j->mem.o : NULL;
	r.threads = 1; /* the daemon's hash workers keep the other cores */
	j->rc = vigil_capture_run(&r, &j->res, &j->err);
	pthread_mutex_lock(&j->t->mu);
	j->done = 1;
	pthread_mutex_unlock(&j->t->mu);
	vigil_loop_async_send(j->t->async);
	return NULL;
}

static void swept(void *arg, int kind, const char *case_id, const char *path, const char *msg);

/* Loop thread: says what the sweep closed, joins finished captures and says
 * how they ended. */
static void on_done(struct vigil_loop_async *a, void *ctx)
{
	struct vigil_capture_triggers *t = ctx;
	struct job **pp = &t->jobs, *j;

	(void)a;
	trigger_sweep_drain(t->sweeper, swept, t);
	for (;;) {
		pthread_mutex_lock(&t->mu);
		for (pp = &t->jobs; *pp && !(*pp)->done; pp = &(*pp)->next)
			;
		j = *pp;
		if (j) {
			*pp = j->next;
			t->running--;
		}
		pthread_mutex_unlock(&t->mu);
		if (!j)
			return;
		pthread_join(j->th, NULL);
		if (!j->rc)
			emit(t, VIGIL_ACTION_CAPTURE_DONE, VIGIL_SEV_LOW,
			     json_pack("{s:s,s:s,s:s,s:s,s:I}", "trigger", j->rule, "case", j->case_id, "archive",
				       j->res.path, "sha256", j->res.sha256, "members", (json_int_t)j->res.members),
			     "capture %s done: %s", j->case_id, j->res.path);
		else
			emit(t, VIGIL_ACTION_CAPTURE_FAILED, VIGIL_SEV_HIGH,
			     json_pack("{s:s,s:s,s:s}", "trigger", j->rule, "case", j->case_id, "error", j->err.msg),
			     "capture %s failed: %s", j->case_id, j->err.msg);
		job_free(j);
	}
}

int vigil_capture_triggers_new(struct vigil_loop *loop, vigil_capture_emit_fn fn, void *ctx,
			       struct vigil_capture_triggers **out, struct vigil_err *err)
{
	struct vigil_capture_triggers *t = calloc(1, sizeof(*t));
	int rc;

	*out = NULL;
	if (!t)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	t->emit = fn;
	t->ctx = ctx;
	pthread_mutex_init(&t->mu, NULL);
	if ((rc = vigil_loop_async_new(loop, on_done, t, &t->async))) {
		pthread_mutex_destroy(&t->mu);
		free(t);
		return vigil_err_set(err, rc, "capture triggers: %s", strerror(-rc));
	}
	*out = t;
	return 0;
}

#define DUP(dst, src) ((src) && !((dst) = strdup(src)))

/* The sweep at start and reload: each interrupted capture closed is an event
 * (an archive found complete: capture-completed, "recovered"). */
static void swept(void *arg, int kind, const char *case_id, const char *path, const char *msg)
{
	if (kind == VIGIL_EVW_SWEPT_ARCHIVED)
		emit(arg, VIGIL_ACTION_CAPTURE_DONE, VIGIL_SEV_LOW,
		     json_pack("{s:s?,s:s,s:s,s:b}", "case", case_id, "archive", path, "note", msg, "recovered", 1),
		     "%s", msg);
	else if (kind == VIGIL_EVW_SWEPT_FAILED)
		emit(arg, VIGIL_ACTION_CAPTURE_FAILED, VIGIL_SEV_HIGH,
		     json_pack("{s:s?,s:s,s:s}", "case", case_id, "tmp", path, "error", msg), "capture %s %s",
		     case_id ? case_id : "(no ledger record)", msg);
	/* left open (a dir not there, unmounted media): logged by the sweep */
}

static char *out_dir(const struct vigil_config *cfg);

static void sweep_notify(void *arg)
{
	vigil_loop_async_send(((struct vigil_capture_triggers *)arg)->async);
}

/* The evidence dir and every dir the ledger's open captures name, on the
 * sweep's thread: checking an archive reads it whole. */
static void sweep(struct vigil_capture_triggers *t, const struct vigil_config *cfg)
{
	char *dir = out_dir(cfg);

	if (trigger_sweep_start(&t->sweeper, cfg->state_dir ? cfg->state_dir : "/var/lib/vigil", dir,
				sweep_notify, t))
		vigil_log_warn("the sweep of interrupted captures: out of memory");
	free(dir);
}

void vigil_capture_triggers_config(struct vigil_capture_triggers *t, const struct vigil_config *cfg)
{
	struct vigil_config *c = trigger_cfg_copy(cfg);

	sweep(t, cfg); /* running captures hold their files' locks: left alone */

	if (!c && cfg->n_triggers) {
		emit(t, VIGIL_ACTION_CAPTURE_FAILED, VIGIL_SEV_HIGH, json_pack("{s:s}", "error", "out of memory"),
		     "capture triggers: out of memory: the previous rules are kept");
		return;
	}
	trigger_cfg_free(t->cfg);
	t->cfg = c;
}

int vigil_capture_triggers_running(struct vigil_capture_triggers *t)
{
	int n;

	pthread_mutex_lock(&t->mu);
	n = t->running;
	pthread_mutex_unlock(&t->mu);
	return n;
}

static const char *event_path(const struct vigil_event *ev)
{
	const struct vigil_record *r = ev->cur ? ev->cur : ev->old;

	return r ? r->path : NULL;
}

/* The container the event names (audit's who, or the path in Docker's terms). */
static const char *event_container(const struct vigil_event *ev)
{
	if (ev->who && ev->who->container_id && ev->who->container_id[0])
		return ev->who->container_id;
	if (ev->docker && ev->docker->kind == VIGIL_DOCKER_IN_CONTAINER && ev->docker->id[0])
		return ev->docker->id;
	return NULL;
}

/* The event's container name ("web", no leading '/') or id against the
 * rule's globs; an event naming no container matches none. */
static int container_matches(const struct vigil_trigger *r, const struct vigil_event *ev)
{
	const char *id = event_container(ev), *name = NULL;

	if (ev->who && ev->who->container_id && ev->who->container_id[0])
		name = ev->who->container_name;
	else if (ev->docker && ev->docker->kind == VIGIL_DOCKER_IN_CONTAINER)
		name = ev->docker->name;
	if (name && name[0] == '/')
		name++;
	for (size_t i = 0; id && i < r->containers.n; i++)
		if (!fnmatch(r->containers.v[i], id, 0) || (name && !fnmatch(r->containers.v[i], name, 0)))
			return 1;
	return 0;
}

static int matches(const struct vigil_trigger *r, const struct vigil_event *ev)
{
	const char *path = event_path(ev);
	size_t i;

	if (r->action && (!ev->action || strcmp(r->action, ev->action)))
		return 0;
	if (r->min_severity && ev->severity < r->min_severity)
		return 0;
	if (r->scope && (!ev->scope || strcmp(r->scope, ev->scope)))
		return 0;
	if (r->containers.n && !container_matches(r, ev))
		return 0;
	if (!r->paths.n)
		return 1;
	for (i = 0; path && i < r->paths.n; i++)
		if (!fnmatch(r->paths.v[i], path, 0))
			return 1;
	return 0;
}

/* 1 when key started less than cooldown seconds ago; else records now. */
static int cooling(struct vigil_capture_triggers *t, const char *key, int cooldown_s)
{
	int64_t now = vigil_clock_mono_ns();

	for (size_t i = 0; i < COOL_SLOTS; i++) {
		if (strcmp(t->cool[i].key, key))
			continue;
		if (cooldown_s && now - t->cool[i].at < (int64_t)cooldown_s * 1000000000)
			return 1;
		t->cool[i].at = now;
		return 0;
	}
	snprintf(t->cool[t->next_cool].key, sizeof(t->cool[0].key), "%s", key);
	t->cool[t->next_cool].at = now;
	t->next_cool = (t->next_cool + 1) % COOL_SLOTS;
	return 0;
}

/* Bytes of the regular files directly in dir (the archives and their companions). */
static uint64_t dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t sum = 0;
	struct stat st;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (!fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) && S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_size;
	closedir(d);
	return sum;
}

static char *out_dir(const struct vigil_config *cfg)
{
	char *s = NULL;

	if (cfg->evidence_dir)
		return strdup(cfg->evidence_dir);
	return asprintf(&s, "%s/evidence", cfg->state_dir ? cfg->state_dir : "/var/lib/vigil") < 0 ? NULL : s;
}

static struct job *job_new(struct vigil_capture_triggers *t, const struct vigil_trigger *r, const char *container,
			   const char *line)
{
	const struct vigil_config *cfg = t->cfg;
	struct job *j = calloc(1, sizeof(*j));
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!j)
		return NULL;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	j->t = t;
	j->rule = strdup(r->name);
	j->line = strdup(line);
	j->container = r->container && container ? strdup(container) : NULL;
	j->out_dir = out_dir(cfg);
	j->state_dir = strdup(cfg->state_dir ? cfg->state_dir : "/var/lib/vigil");
	if (asprintf(&j->case_id, "%s-%s-%lu", r->name, stamp, ++t->seq) < 0)
		j->case_id = NULL;
	j->engine = r->engine;
	j->host = r->host;
	j->freeze = r->freeze;
	j->memory = r->memory;
	if (r->memory && trigger_mem_init(&j->mem, cfg)) {
		job_free(j);
		return NULL;
	}
	j->min_free = cfg->capture_min_free ? cfg->capture_min_free : 64u << 20;
	j->max_file_size = cfg->capture_max_file_size;
	if (DUP(j->data_root, cfg->capture_data_root)) {
		job_free(j);
		return NULL;
	}
	if (!j->rule || !j->line || (r->container && container && !j->container) || !j->out_dir ||
	    !j->state_dir || !j->case_id) {
		job_free(j);
		return NULL;
	}
	return j;
}

/* Starts j's thread (j is freed when that fails: -1) and says so. */
static int start_job(struct vigil_capture_triggers *t, struct job *j)
{
	if (!j)
		return -1;
	pthread_mutex_lock(&t->mu);
	j->next = t->jobs;
	t->jobs = j;
	t->running++;
	if (pthread_create(&j->th, NULL, job_run, j)) {
		t->jobs = j->next;
		t->running--;
		pthread_mutex_unlock(&t->mu);
		job_free(j);
		return -1;
	}
	pthread_mutex_unlock(&t->mu);
	emit(t, VIGIL_ACTION_CAPTURE_STARTED, VIGIL_SEV_LOW,
	     json_pack("{s:s,s:s,s:s?}", "trigger", j->rule, "case", j->case_id, "container", j->container),
	     "capture %s started", j->case_id);
	return 0;
}

static void fire(struct vigil_capture_triggers *t, const struct vigil_trigger *r, const struct vigil_event *ev,
		 const char *line)
{
	const struct vigil_config *cfg = t->cfg;
	const char *container = r->container ? event_container(ev) : NULL;
	int max = cfg->capture_max_concurrent > 0 ? cfg->capture_max_concurrent : 1;
	char key[160], *dir;
	struct job *j;
	int running;

	if (r->container && !container && !r->engine && !r->host && !r->memory)
		return; /* nothing to capture: the event names no container */
	snprintf(key, sizeof(key), "%s/%s", r->name, container ? container : "-");
	emit(t, VIGIL_ACTION_CAPTURE_TRIGGERED, VIGIL_SEV_MEDIUM,
	     json_pack("{s:s,s:s?,s:s?}", "trigger", r->name, "event", ev->action, "container", container),
	     "trigger %s matched %s", r->name, ev->action ? ev->action : "an event");
	if (cooling(t, key, cfg->capture_cooldown_s)) {
		emit(t, VIGIL_ACTION_CAPTURE_SKIPPED, VIGIL_SEV_LOW, json_pack("{s:s,s:s}", "trigger", r->name, "why",
		     "cooldown"), "trigger %s: in its cooldown (%d s)", r->name, cfg->capture_cooldown_s);
		return;
	}
	dir = out_dir(cfg);
	if (dir && cfg->capture_quota && dir_bytes(dir) >= cfg->capture_quota) {
		emit(t, VIGIL_ACTION_CAPTURE_SKIPPED, VIGIL_SEV_HIGH, json_pack("{s:s,s:s}", "trigger", r->name, "why",
		     "quota"), "trigger %s: evidence dir %s holds its quota", r->name, dir);
		free(dir);
		return;
	}
	free(dir);
	running = vigil_capture_triggers_running(t);
	if (running >= max) {
		emit(t, VIGIL_ACTION_CAPTURE_SKIPPED, VIGIL_SEV_MEDIUM, json_pack("{s:s,s:s}", "trigger", r->name,
		     "why", "max_concurrent"), "trigger %s: %d captures running already", r->name, running);
		return;
	}
	j = job_new(t, r, container, line);
	if (!j || start_job(t, j))
		emit(t, VIGIL_ACTION_CAPTURE_FAILED, VIGIL_SEV_HIGH, json_pack("{s:s,s:s}", "trigger", r->name,
		     "error", "out of memory or no thread"), "trigger %s: cannot start a capture", r->name);
}

void vigil_capture_triggers_observe(struct vigil_capture_triggers *t, const struct vigil_event *ev,
				    const char *line)
{
	if (!t->cfg || !ev->action || !strncmp(ev->action, "capture-", 8))
		return;
	for (size_t i = 0; i < t->cfg->n_triggers; i++)
		if (matches(&t->cfg->triggers[i], ev))
			fire(t, &t->cfg->triggers[i], ev, line);
}

/* `vigil ctl capture`: {"cmd":"capture","container":S,"engine":B,"host":B,
 * "memory":B,"freeze":B,"case":S}.  Not subject to the cooldown (a person asked), only to
 * max_concurrent.  The reply says which case was started; its outcome is an event. */
char *vigil_capture_triggers_request(struct vigil_capture_triggers *t, json_t *req)
{
	struct vigil_trigger r = { 0 };
	const char *container = json_string_value(json_object_get(req, "container"));
	const char *case_id = json_string_value(json_object_get(req, "case"));
	int max = t->cfg && t->cfg->capture_max_concurrent > 0 ? t->cfg->capture_max_concurrent : 1;
	char *line = NULL, *reply;
	struct job *j;
	json_t *o;

	r.name = "ctl";
	r.container = container != NULL;
	r.engine = json_is_true(json_object_get(req, "engine"));
	r.host = json_is_true(json_object_get(req, "host"));
	r.freeze = json_is_true(json_object_get(req, "freeze"));
	r.memory = json_is_true(json_object_get(req, "memory"));
	if (!t->cfg || (!r.container && !r.engine && !r.host && !r.memory)) {
		o = json_pack("{s:b,s:s}", "ok", 0, "error", "nothing to capture: container, engine, host or memory");
		goto out;
	}
	if (vigil_capture_triggers_running(t) >= max) {
		o = json_pack("{s:b,s:s}", "ok", 0, "error", "as many captures as capture.max_concurrent run already");
		goto out;
	}
	line = json_dumps(req, JSON_COMPACT);
	emit(t, VIGIL_ACTION_CAPTURE_TRIGGERED, VIGIL_SEV_MEDIUM,
	     json_pack("{s:s,s:s,s:s?}", "trigger", "ctl", "event", "ctl capture", "container", container),
	     "capture asked for on the control socket");
	j = line ? job_new(t, &r, container, line) : NULL;
	if (j && case_id) {
		free(j->case_id);
		j->case_id = strdup(case_id);
		if (!j->case_id) {
			job_free(j);
			j = NULL;
		}
	}
	if (j && !start_job(t, j))
		o = json_pack("{s:b,s:s}", "ok", 1, "case", j->case_id);
	else
		o = json_pack("{s:b,s:s}", "ok", 0, "error", "cannot start a capture");
out:
	free(line);
	reply = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return reply;
}

void vigil_capture_triggers_free(struct vigil_capture_triggers *t)
{
	struct job *j, *next;

	if (!t)
		return;
	pthread_mutex_lock(&t->mu);
	for (j = t->jobs; j; j = j->next)
		j->cancel = 1;
	pthread_mutex_unlock(&t->mu);
	for (j = t->jobs; j; j = next) {
		next = j->next;
		pthread_join(j->th, NULL);
		job_free(j);
	}
	trigger_sweep_free(t->sweeper, swept, t); /* a sweep running ends first */
	vigil_loop_async_free(t->async);
	pthread_mutex_destroy(&t->mu);
	trigger_cfg_free(t->cfg);
	free(t);
}

/* The client's side of the request above (`vigil ctl capture ARGS`). */
char *vigil_capture_ctl_request(int argc, char **argv)
{
	json_t *o = json_pack("{s:s}", "cmd", "capture");
	char *s;

	for (int i = 0; o && i < argc; i++) {
		const char *a = argv[i];

		if ((!strcmp(a, "--container") || !strcmp(a, "--case")) && i + 1 < argc)
			json_object_set_new(o, a + 2, json_string(argv[++i]));
		else if (!strcmp(a, "--engine") || !strcmp(a, "--host") || !strcmp(a, "--freeze") ||
			 !strcmp(a, "--memory"))
			json_object_set_new(o, a + 2, json_true());
		else {
			fprintf(stderr, "usage: vigil ctl capture [--container ID|NAME] [--engine] [--host] "
					"[--memory] [--freeze] [--case ID]\n");
			json_decref(o);
			return NULL;
		}
	}
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}
