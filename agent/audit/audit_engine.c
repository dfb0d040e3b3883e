/* audit_engine.c - audit events turned into vigil's: who-data for inotify
 * changes, container attribution and the detections.
 * Long because (~610 lines) the three share one per-event pass over the same
 * attributed record and the engine's state (who-data ring, pid cache,
 * counters); split, each part would need the whole struct anyway.
 *
 * One engine per daemon (or per `vigil audit-plugin` / `audit-tail`).  Each
 * audit event is attributed once (process, user, container), kept for the
 * who-data window when it names files, and checked against the detections:
 *   container-shell       a shell started inside a container        (high)
 *   docker-socket-write   a container process talks to docker.sock or
 *                         containerd.sock, or changes the socket       (critical)
 *   docker-binary-changed an engine binary written, replaced, chmod'ed (critical)
 *   docker-config-changed daemon.json, /etc/docker, unit files changed  (high)
 *   audit-records-lost    the kernel or our socket dropped records     (high)
 *   audit-exec-rate-limited execs beyond audit.exec_rate, counted      (medium)
 * Detections are recognised by the rule key (vigil-docker-engine, ...), so a
 * host's own rule with another key on the same path does not trigger them.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libaudit.h>

#include "vigil/audit.h"
#include "vigil/clock.h"
#include "vigil/docker.h"
#include "vigil/record.h"

/* Recent file events kept for who-data: a ring, newest wins.  At a few
 * hundred bytes each this is about 1 MiB at most, and covers bursts of 4096
 * writes inside the window. */
#define RING 4096
#define PID_CACHE 256
#define META_CACHE 64

struct who_entry {
	int used;
	int64_t t_ns;
	uint64_t inode;
	char *path;
	struct vigil_who who;
	char *exe, *comm, *cmdline, *key, *cid, *cname, *cimage;
};

struct pid_entry {
	pid_t pid;
	char id[65];
};

struct meta_entry {
	char id[65];
	char *name, *image;
};

struct vigil_audit_engine {
	struct vigil_audit_engine_opts o;
	vigil_audit_emit_fn emit;
	void *ctx;
	struct vigil_audit_parser *parser;
	struct who_entry ring[RING];
	size_t head;
	struct pid_entry pids[PID_CACHE];
	size_t pid_next;
	struct meta_entry meta[META_CACHE];
	size_t meta_next;
	/* exec rate limits, a window of one second each: shells (the
	 * detection) and other execs have separate budgets, so a flood of
	 * ordinary execs cannot hide a shell */
	int64_t rate_start_ns[2];
	uint64_t rate_count[2], suppressed_reported;
	/* lost-record accounting */
	int have_lost;
	uint32_t last_lost;
	uint64_t local_reported;
	struct vigil_audit_counters c;
	/* who-data handed out by vigil_audit_engine_who */
	struct who_entry last;
	/* the data root the Docker collector found (no data_roots given) */
	char *found_root;
	int64_t found_ns;
};

static void entry_clear(struct who_entry *e)
{
	free(e->path);
	free(e->exe);
	free(e->comm);
	free(e->cmdline);
	free(e->key);
	free(e->cid);
	free(e->cname);
	free(e->cimage);
	memset(e, 0, sizeof(*e));
}

static char *dup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Fills the entry's owned strings and its struct vigil_who from ev. */
static void entry_fill(struct who_entry *e, const struct vigil_audit_event *ev, const char *cid,
		       const char *cname, const char *cimage)
{
	e->exe = dup0(ev->exe);
	e->comm = dup0(ev->comm);
	e->cmdline = dup0(ev->cmdline);
	e->key = dup0(ev->key);
	e->cid = dup0(cid);
	e->cname = dup0(cname);
	e->cimage = dup0(cimage);
	e->t_ns = ev->time_ns;
	e->who.known = 1;
	e->who.pid = ev->pid;
	e->who.ppid = ev->ppid;
	e->who.uid = ev->uid;
	e->who.euid = ev->euid;
	e->who.auid = ev->auid;
	e->who.gid = ev->gid;
	e->who.exe = e->exe;
	e->who.comm = e->comm;
	e->who.cmdline = e->cmdline;
	e->who.container_id = e->cid;
	e->who.container_name = e->cname;
	e->who.container_image = e->cimage;
	e->who.audit_key = e->key;
	e->who.audit_serial = ev->serial;
}

static const char *pid_cache_get(struct vigil_audit_engine *e, pid_t pid)
{
	for (size_t i = 0; i < PID_CACHE; i++)
		if (e->pids[i].pid == pid && pid > 0)
			return e->pids[i].id;
	return NULL;
}

static void pid_cache_put(struct vigil_audit_engine *e, pid_t pid, const char *id)
{
	struct pid_entry *p;

	for (size_t i = 0; i < PID_CACHE; i++)
		if (e->pids[i].pid == pid) {
			snprintf(e->pids[i].id, sizeof(e->pids[i].id), "%s", id);
			return;
		}
	p = &e->pids[e->pid_next++ % PID_CACHE];
	p->pid = pid;
	snprintf(p->id, sizeof(p->id), "%s", id);
}

/* The container of the event's process: its cgroup while it lives; when it
 * is gone, what an earlier event of the same pid said, then its parent's
 * cgroup (a container's processes have container parents), then, when the
 * parent is a containerd shim (parent of a container's first process and of
 * every `docker exec`), the shim's -id.  "" = host, NULL = unknown. */
static const char *container_of(struct vigil_audit_engine *e, const struct vigil_audit_event *ev,
				char id[65])
{
	const char *cached;
	int rc;

	if (ev->pid <= 0)
		return NULL;
	rc = vigil_audit_pid_container(e->o.proc, ev->pid, id);
	if (rc >= 0) {
		pid_cache_put(e, ev->pid, rc ? id : "");
		return id;
	}
	if ((cached = pid_cache_get(e, ev->pid))) {
		snprintf(id, 65, "%s", cached);
		return id;
	}
	if (ev->ppid > 0 && vigil_audit_pid_container(e->o.proc, ev->ppid, id) > 0)
		return id;
	/* parent is the container's shim: the shim says which container */
	if (ev->ppid > 0 && vigil_audit_shim_container(e->o.proc, ev->ppid, id) > 0) {
		pid_cache_put(e, ev->pid, id);
		return id;
	}
	return NULL;
}

/* The Docker data root as dockerd would use it (daemon.json, units and
 * drop-ins, DOCKER_OPTS), asked of the Docker collector at most every
 * FOUND_AGE: a container unknown under it (not Docker's, or being created)
 * costs one lookup, not a discovery per exec. */
#define FOUND_AGE (10 * 1000000000LL)
static const char *found_root(struct vigil_audit_engine *e)
{
	struct vigil_docker_engine eng;
	struct vigil_err err = { "" };
	int64_t now = vigil_clock_mono_ns();

	if (e->found_root && now - e->found_ns < FOUND_AGE)
		return e->found_root;
	e->found_ns = now;
	if (vigil_docker_discover(NULL, &eng, &err))
		return e->found_root;
	free(e->found_root);
	e->found_root = eng.data_root;
	eng.data_root = NULL;
	vigil_docker_engine_clear(&eng);
	return e->found_root;
}

/* Name and image of container id, from the Docker collector (the one reader
 * of Docker's files): under the data_roots given, else the one it finds. */
static void container_meta(struct vigil_audit_engine *e, const char *id, const char **name,
			   const char **image)
{
	const char *one[2] = { NULL, NULL };
	const char *const *roots = e->o.data_roots;
	struct meta_entry *m;

	*name = *image = NULL;
	for (size_t i = 0; i < META_CACHE; i++)
		if (!strcmp(e->meta[i].id, id) && e->meta[i].name) {
			*name = e->meta[i].name;
			*image = e->meta[i].image;
			return;
		}
	if (!roots) {
		one[0] = found_root(e);
		roots = one;
	}
	m = &e->meta[e->meta_next++ % META_CACHE];
	free(m->name);
	free(m->image);
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; roots[i]; i++) {
		struct vigil_err err = { "" };

		if (!vigil_docker_container_lookup(NULL, roots[i], id, &m->name, &m->image, &err))
			break;
	}
	if (!m->name)
		return; /* not cached: the container may be written a moment later */
	snprintf(m->id, sizeof(m->id), "%s", id);
	*name = m->name;
	*image = m->image;
}

static int key_is(const struct vigil_audit_event *ev, const char *suffix)
{
	size_t pl = strlen(VIGIL_AUDIT_KEY_PREFIX);

	return ev->key && !strncmp(ev->key, VIGIL_AUDIT_KEY_PREFIX, pl) &&
	       !strcmp(ev->key + pl, suffix);
}

/* The absolute path of item i: as logged when absolute, else against cwd
 * (an *at() call relative to another directory fd cannot be resolved from
 * the record; the PARENT item then names the directory). */
static char *item_path(const struct vigil_audit_event *ev, size_t i)
{
	const char *n = ev->paths[i].name;
	char *out = NULL;

	if (!n || !*n)
		return NULL;
	if (n[0] == '/')
		return strdup(n);
	if (!ev->cwd || asprintf(&out, "%s/%s", ev->cwd, n) < 0)
		return NULL;
	return out;
}

/* The item that names what changed: CREATE / DELETE first, else the last
 * NORMAL item (the first items of a rename are the parent dirs). */
static size_t main_item(const struct vigil_audit_event *ev)
{
	size_t best = 0;
	int found = 0;

	for (size_t i = 0; i < ev->n_paths; i++) {
		const char *t = ev->paths[i].nametype;

		if (!strcmp(t, "CREATE") || !strcmp(t, "DELETE"))
			return i;
		if (strcmp(t, "PARENT")) {
			best = i;
			found = 1;
		}
	}
	return found ? best : 0;
}

static void emit(struct vigil_audit_engine *e, const char *action, int sev, const char *msg,
		 const char *path, const struct vigil_who *who, const char *extra, int64_t t)
{
	struct vigil_record rec;
	struct vigil_event ev = { 0 };

	vigil_record_init(&rec);
	ev.action = action;
	ev.kind = "alert";
	ev.severity = sev;
	ev.message = msg;
	ev.who = who;
	ev.source = "audit";
	ev.extra_json = extra;
	ev.time_ns = t;
	if (path) {
		rec.path = (char *)path;
		rec.path_len = strlen(path);
		rec.ftype = VIGIL_FT_NONE;
		ev.cur = &rec;
	}
	if (sev)
		e->c.detections++;
	e->emit(&ev, e->ctx);
}

/* The window runs on the records' own clock, so a replay or a backlog
 * read late is limited the same way as live records. */
static int rate_ok(struct vigil_audit_engine *e, int bucket, int64_t t)
{
	if (e->o.exec_rate <= 0)
		return 1;
	if (t - e->rate_start_ns[bucket] >= 1000000000LL || t < e->rate_start_ns[bucket]) {
		e->rate_start_ns[bucket] = t;
		e->rate_count[bucket] = 0;
	}
	if (e->rate_count[bucket] >= (uint64_t)e->o.exec_rate) {
		e->c.execs_suppressed++;
		return 0;
	}
	e->rate_count[bucket]++;
	return 1;
}

static int is_exec(const struct vigil_audit_event *ev)
{
	return key_is(ev, "exec") && ev->argc > 0;
}

/* An exec: a shell in a container, else a container (or, with all_execs,
 * host) exec. */
static void on_exec(struct vigil_audit_engine *e, const struct vigil_audit_event *ev)
{
	struct who_entry tmp = { 0 };
	const char *cid, *cname = NULL, *cimage = NULL;
	char idbuf[65], msg[512];

	e->c.execs++;
	/* the /proc read below is the cost a flood would multiply; the shell
	 * test costs nothing and picks the bucket */
	if (!rate_ok(e, vigil_audit_is_shell(ev->exe, ev->comm, ev->argv, ev->argc),
		     ev->time_ns ? ev->time_ns : vigil_clock_real_ns()))
		return;
	cid = container_of(e, ev, idbuf);
	if (!cid || !*cid) {
		if (!e->o.all_execs)
			return;
		cid = NULL;
	}
	if (cid)
		container_meta(e, cid, &cname, &cimage);
	entry_fill(&tmp, ev, cid, cname, cimage);
	if (cid && vigil_audit_is_shell(ev->exe, ev->comm, ev->argv, ev->argc)) {
		snprintf(msg, sizeof(msg), "shell '%s' started in container %s (%.12s)",
			 ev->exe ? ev->exe : ev->comm ? ev->comm : "?", cname ? cname : "?", cid);
		emit(e, VIGIL_ACTION_CONTAINER_SHELL, VIGIL_SEV_HIGH, msg, NULL, &tmp.who, NULL, ev->time_ns);
	} else {
		snprintf(msg, sizeof(msg), "'%s' started%s%s", ev->exe ? ev->exe : "?",
			 cid ? " in container " : " on the host", cid ? (cname ? cname : cid) : "");
		emit(e, cid ? VIGIL_ACTION_CONTAINER_EXEC : VIGIL_ACTION_HOST_EXEC, 0, msg, NULL, &tmp.who, NULL,
		     ev->time_ns);
	}
	entry_clear(&tmp);
}

/* What a change under a vigil key is: engine binary, config, socket reached
 * from a container, or (audit-tail) any file access. */
static void file_detection(struct vigil_audit_engine *e, const struct vigil_audit_event *ev, const char *path,
			   const char *cid, const char *cname, const struct vigil_who *who)
{
	char msg[512];

	if (key_is(ev, "docker-engine")) {
		snprintf(msg, sizeof(msg), "Docker engine binary '%s' changed by %s (pid %d)",
			 path ? path : "?", ev->exe ? ev->exe : "?", (int)ev->pid);
		emit(e, VIGIL_ACTION_DOCKER_BINARY, VIGIL_SEV_CRITICAL, msg, path, who, NULL, ev->time_ns);
	} else if (key_is(ev, "docker-config")) {
		snprintf(msg, sizeof(msg), "Docker configuration '%s' changed by %s (pid %d)",
			 path ? path : "?", ev->exe ? ev->exe : "?", (int)ev->pid);
		emit(e, VIGIL_ACTION_DOCKER_CONFIG, VIGIL_SEV_HIGH, msg, path, who, NULL, ev->time_ns);
	} else if (key_is(ev, "docker-sock") && cid) {
		snprintf(msg, sizeof(msg), "container %s (%.12s) reached the engine API socket '%s'",
			 cname ? cname : "?", cid, path ? path : "?");
		emit(e, VIGIL_ACTION_DOCKER_SOCKET, VIGIL_SEV_CRITICAL, msg, path, who, NULL, ev->time_ns);
	} else if (e->o.all_files) {
		const char *sc = ev->syscall >= 0 ? audit_syscall_to_name(ev->syscall, audit_detect_machine()) : NULL;

		snprintf(msg, sizeof(msg), "'%s' %s by %s (pid %d)", path ? path : "?", sc ? sc : "accessed",
			 ev->exe ? ev->exe : "?", (int)ev->pid);
		emit(e, VIGIL_ACTION_AUDIT_FILE, 0, msg, path, who, NULL, ev->time_ns);
	}
}

/* A file record: kept for who-data, and a detection when its key says so. */
static void on_file(struct vigil_audit_engine *e, const struct vigil_audit_event *ev)
{
	struct who_entry tmp = { 0 };
	const char *cid, *cname = NULL, *cimage = NULL;
	char idbuf[65], *path;

	if (!ev->n_paths)
		return;
	path = item_path(ev, main_item(ev));
	cid = container_of(e, ev, idbuf);
	if (cid && !*cid)
		cid = NULL;
	if (cid)
		container_meta(e, cid, &cname, &cimage);
	/* every item, so a rename's old and new names both find it */
	for (size_t i = 0; i < ev->n_paths; i++) {
		struct who_entry *w;
		char *p;

		if (!strcmp(ev->paths[i].nametype, "PARENT") && ev->n_paths > 1)
			continue;
		p = item_path(ev, i);
		if (!p)
			continue;
		w = &e->ring[e->head++ % RING];
		entry_clear(w);
		w->used = 1;
		w->path = p;
		w->inode = ev->paths[i].inode;
		entry_fill(w, ev, cid, cname, cimage);
	}
	entry_fill(&tmp, ev, cid, cname, cimage);
	if (ev->success != 0) /* a refused attempt changed nothing */
		file_detection(e, ev, path, cid, cname, &tmp.who);
	entry_clear(&tmp);
	free(path);
}

static void on_event(const struct vigil_audit_event *ev, void *data)
{
	struct vigil_audit_engine *e = data;

	e->c.events++;
	if (ev->malformed)
		e->c.malformed++;
	if (!ev->has_syscall || ev->pid <= 0 || !ev->key ||
	    strncmp(ev->key, VIGIL_AUDIT_KEY_PREFIX, strlen(VIGIL_AUDIT_KEY_PREFIX)))
		return;
	if (is_exec(ev))
		on_exec(e, ev);
	else
		on_file(e, ev);
}

struct vigil_audit_engine *vigil_audit_engine_new(const struct vigil_audit_engine_opts *o,
						  vigil_audit_emit_fn fn, void *ctx)
{
	struct vigil_audit_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	if (o)
		e->o = *o;
	if (e->o.window_ms <= 0)
		e->o.window_ms = 2000;
	e->emit = fn;
	e->ctx = ctx;
	e->parser = vigil_audit_parser_new(on_event, e);
	if (!e->parser) {
		free(e);
		return NULL;
	}
	return e;
}

int vigil_audit_engine_feed(struct vigil_audit_engine *e, const char *text, size_t len)
{
	return vigil_audit_parser_feed(e->parser, text, len);
}

struct vigil_audit_parser *vigil_audit_engine_parser(struct vigil_audit_engine *e)
{
	return e->parser;
}

void vigil_audit_engine_tick(struct vigil_audit_engine *e, const struct vigil_audit_kstatus *kst,
			     uint64_t local_dropped)
{
	char msg[256], extra[256];

	vigil_audit_parser_age(e->parser);
	if (kst) {
		/* the counter only grows (until `auditctl --reset-lost`); the
		 * first reading is the baseline, not a loss of ours */
		if (e->have_lost && kst->lost > e->last_lost) {
			uint32_t d = kst->lost - e->last_lost;

			e->c.lost_kernel += d;
			snprintf(msg, sizeof(msg),
				 "the kernel lost %" PRIu32 " audit records (backlog %" PRIu32 " of %" PRIu32
				 "): who-data and detections may be missing for them", d, kst->backlog,
				 kst->backlog_limit);
			snprintf(extra, sizeof(extra),
				 "{\"audit\":{\"lost\":%" PRIu32 ",\"lost_total\":%" PRIu32
				 ",\"backlog\":%" PRIu32 ",\"backlog_limit\":%" PRIu32 "}}",
				 d, kst->lost, kst->backlog, kst->backlog_limit);
			emit(e, VIGIL_ACTION_AUDIT_LOST, VIGIL_SEV_HIGH, msg, NULL, NULL, extra, 0);
		}
		e->have_lost = 1;
		e->last_lost = kst->lost;
	}
	if (local_dropped > e->local_reported) {
		uint64_t d = local_dropped - e->local_reported;

		e->c.lost_local += d;
		e->local_reported = local_dropped;
		snprintf(msg, sizeof(msg),
			 "vigil's audit socket overflowed %" PRIu64 " times: records were dropped", d);
		snprintf(extra, sizeof(extra), "{\"audit\":{\"socket_overflows\":%" PRIu64 "}}", d);
		emit(e, VIGIL_ACTION_AUDIT_LOST, VIGIL_SEV_HIGH, msg, NULL, NULL, extra, 0);
	}
	if (e->c.execs_suppressed > e->suppressed_reported) {
		uint64_t d = e->c.execs_suppressed - e->suppressed_reported;

		e->suppressed_reported = e->c.execs_suppressed;
		snprintf(msg, sizeof(msg),
			 "%" PRIu64 " execve events beyond %d/s were not examined", d, e->o.exec_rate);
		snprintf(extra, sizeof(extra), "{\"audit\":{\"execs_suppressed\":%" PRIu64 "}}", d);
		emit(e, VIGIL_ACTION_AUDIT_RATE, VIGIL_SEV_MEDIUM, msg, NULL, NULL, extra, 0);
	}
}

int vigil_audit_engine_who(struct vigil_audit_engine *e, const char *path, uint64_t inode,
			   int64_t at_ns, struct vigil_who *who)
{
	int64_t win = (int64_t)e->o.window_ms * 1000000LL;
	struct who_entry *best = NULL;

	memset(who, 0, sizeof(*who));
	who->uid = who->euid = who->auid = who->gid = -1;
	if (!at_ns)
		at_ns = vigil_clock_real_ns();
	/* newest first: the last writer before the change was seen is the one
	 * to name.  A record stamped after at_ns cannot have caused it, but
	 * audit stamps are in milliseconds: allow 2 ms. */
	for (size_t k = 1; k <= RING; k++) {
		struct who_entry *w = &e->ring[(e->head - k) % RING];
		int64_t d;

		if (!w->used)
			break;
		d = at_ns - w->t_ns;
		if (d > win || d < -2000000LL)
			continue;
		if ((path && w->path && !strcmp(w->path, path)) || (inode && w->inode == inode)) {
			best = w;
			break;
		}
	}
	if (!best)
		return 0;
	entry_clear(&e->last);
	e->last.path = dup0(best->path);
	{
		struct vigil_audit_event ev = { 0 };

		ev.exe = best->exe;
		ev.comm = best->comm;
		ev.cmdline = best->cmdline;
		ev.key = best->key;
		ev.pid = best->who.pid;
		ev.ppid = best->who.ppid;
		ev.uid = best->who.uid;
		ev.euid = best->who.euid;
		ev.auid = best->who.auid;
		ev.gid = best->who.gid;
		ev.serial = best->who.audit_serial;
		ev.time_ns = best->t_ns;
		entry_fill(&e->last, &ev, best->cid, best->cname, best->cimage);
	}
	*who = e->last.who;
	return 1;
}

void vigil_audit_engine_counters(const struct vigil_audit_engine *e,
				 struct vigil_audit_counters *c)
{
	*c = e->c;
	c->malformed = vigil_audit_parser_malformed(e->parser);
}

void vigil_audit_engine_free(struct vigil_audit_engine *e)
{
	if (!e)
		return;
	vigil_audit_parser_free(e->parser);
	for (size_t i = 0; i < RING; i++)
		entry_clear(&e->ring[i]);
	for (size_t i = 0; i < META_CACHE; i++) {
		free(e->meta[i].name);
		free(e->meta[i].image);
	}
	entry_clear(&e->last);
	free(e->found_root);
	free(e);
}
