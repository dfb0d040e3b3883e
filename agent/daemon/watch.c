/* watch.c - `vigil watch`: the always-on FIM daemon.  One epoll loop owns
 * every fd (inotify, signalfd, timers, control socket, outputs, and whatever
 * a plugged-in module adds); two worker threads do everything that touches
 * the disk: the "fast" one evaluates single paths, the "slow" one runs
 * rescans, checks and scheduled baselines.  See watch.h for the flow. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "watch_priv.h"

uint64_t watch_hash_bytes(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

int watch_under(const char *path, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 1 && prefix[0] == '/')
		return 1;
	return len >= n && !memcmp(path, prefix, n) && (len == n || path[n] == '/');
}

uint64_t watch_rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	unsigned long size = 0, res = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

/* {"key":"escaped path"} for extra_json. */
char *watch_path_json(const char *key, const char *path, size_t len)
{
	char *e = vigil_path_escape(path, len), *s = NULL;
	json_t *o;

	if (!e)
		return NULL;
	o = json_pack("{s:s}", key, e);
	if (o)
		s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(e);
	return s;
}

struct vigil_loop *vigil_watch_loop(struct vigil_watch *w)
{
	return w->loop;
}

const struct vigil_config *vigil_watch_config(const struct vigil_watch *w)
{
	return w->cr->cfg;
}

int vigil_watch_set_who(struct vigil_watch *w, vigil_watch_who_fn fn, void *ctx, int hold_ms)
{
	if (hold_ms < 0 || hold_ms > 60000)
		return -EINVAL;
	w->who_fn = fn;
	w->who_ctx = ctx;
	w->hold_ms = hold_ms;
	return 0;
}

/* Loads the newest generation and checks its digest and signature.
 * Returns an exit code. */
static int load_baseline(struct vigil_watch *w)
{
	struct vigil_store *st = NULL;
	struct vigil_pubkey *pub = NULL;
	struct vigil_generation gen;
	struct vigil_err err = { "" };
	int rc, ret = VIGIL_EXIT_FAIL;

	rc = vigil_store_open(w->state_dir, VIGIL_STORE_RDONLY, &st, &err);
	if (rc) {
		vigil_log_err("%s", err.msg);
		goto out;
	}
	rc = vigil_store_latest(st, &gen, &err);
	if (rc == -ENOENT) {
		vigil_log_err("no baseline in '%s': run 'vigil baseline' first (%s)", w->state_dir, err.msg);
		goto out;
	}
	if (!rc)
		rc = vigil_pubkey_load(w->state_dir, &pub, &err);
	if (!rc)
		rc = vigil_store_verify(st, &gen, pub, &err);
	if (rc) {
		vigil_log_err("refusing baseline in '%s': %s", w->state_dir, err.msg);
		goto out;
	}
	w->gen = gen.id;
	ret = VIGIL_EXIT_OK;
out:
	vigil_pubkey_free(pub);
	vigil_store_close(st);
	return ret;
}

/* The directory of path, made when missing (0755, like mkdir -p): a unit's
 * RuntimeDirectory= makes /run/vigil, a `vigil watch` by hand has nobody to
 * make it.  0 or -errno. */
static int make_parent_dir(const char *what, const char *path, struct vigil_err *err)
{
	char dir[PATH_MAX];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return vigil_err_set(err, -ENAMETOOLONG, "%s '%s': path too long", what, path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return vigil_err_set(err, -errno, "%s '%s': cannot make directory '%s': %s", what, path, dir,
					     strerror(errno));
		*p = c;
		if (!c)
			return 0;
	}
}

/* Locked, holding our pid: the fd, or -1 with err saying why. */
static int pidfile_open(const char *path, struct vigil_err *err)
{
	char buf[32];
	int fd, n;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		vigil_err_set(err, -errno, "pid file '%s': %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t r = read(fd, buf, sizeof(buf) - 1);

		buf[r > 0 ? r : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		vigil_err_set(err, -EBUSY, "pid file '%s' is locked: vigil watch is already running (pid %s)", path,
			      buf);
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)n) != n) {
		vigil_err_set(err, -errno, "pid file '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void watch_release(struct vigil_watch *w)
{
	struct change *c, *next;

	watch_workers_stop(w);
	watch_dpkg_drop(w);
	vigil_statewatch_free(w->sd);
	watch_docker_stop(w);
	vigil_ctl_free(w->ctl);
	vigil_sched_free(w->sched);
	if (w->ino) {
		vigil_loop_del(w->loop, vigil_inotify_fd(w->ino));
		vigil_inotify_free(w->ino);
	}
	if (w->sigfd >= 0) {
		vigil_loop_del(w->loop, w->sigfd);
		close(w->sigfd);
	}
	vigil_loop_timer_free(w->debounce);
	vigil_loop_timer_free(w->hold);
	vigil_loop_timer_free(w->periodic);
	vigil_loop_timer_free(w->dpkg_timer);
	vigil_loop_timer_free(w->watchdog);
	vigil_loop_async_free(w->wake);
	vigil_output_free(w->out);
	vigil_loop_free(w->loop);
	for (c = w->res_head; c; c = next) {
		next = c->next;
		watch_change_free(c);
	}
	for (c = w->held_head; c; c = next) {
		next = c->next;
		watch_change_free(c);
	}
	watch_pend_drop_all(w);
	free(w->phash);
	for (size_t i = 0; i < w->nprefixes; i++)
		free(w->prefixes[i]);
	vigil_reported_free(w->rep);
	json_decref(w->procs_seen);
	free(w->scopes_sig);
	pthread_mutex_destroy(&w->res_mu);
	pthread_mutex_destroy(&w->dw_mu);
	watch_cfgref_put(w->cr);
	free(w->state_dir);
	free(w);
}

/* At stop: what inotify already saw is evaluated and emitted (bounded wait). */
static void drain_at_stop(struct vigil_watch *w)
{
	int64_t end = vigil_loop_now_ns() + (int64_t)STOP_WAIT_MS * 1000000;

	w->stopping = 1;
	vigil_inotify_process(w->ino);
	vigil_inotify_flush(w->ino);
	watch_debounce_fire(w->debounce, 1, w);
	while (vigil_loop_now_ns() < end && watch_jobq_len(&w->fast)) {
		vigil_loop_once(w->loop, 20);
	}
	watch_on_results(w->wake, w);
	watch_hold_fire(w->hold, 1, w);
}

/* Everything after SIGTERM, bounded whatever the disks, collectors and
 * workers do: STOP_WAIT_MS for the changes already seen, the workers told to
 * give up, STOP_WAIT_MS for the outputs; what is left is counted and said. */
static void stop_all(struct vigil_watch *w)
{
	drain_at_stop(w);
	watch_workers_stop(w);
	watch_dpkg_drop(w);
	watch_on_results(w->wake, w); /* what the workers finished meanwhile */
	watch_hold_fire(w->hold, 1, w);
	if (w->not_evaluated)
		vigil_log_warn("%" PRIu64 " changed paths were not evaluated before stopping (vigil check "
			   "compares everything)", w->not_evaluated);
	watch_emit_info(w, VIGIL_ACTION_STOPPED, 0, NULL, "stopped");
	vigil_output_flush(w->out, STOP_WAIT_MS);
	vigil_output_give_up(w->out, watch_log_loss, "before stopping");
}

/* lifecycle: daemon.c calls new, adds its modules, run, free              */

/* The daemon's state, with its own copy of the pid file's path (the config
 * holding the path is the daemon's and reloads free it).  An exit code. */
static int watch_alloc(struct vigil_cli *cli, const char *pid_opt, struct vigil_watch **out)
{
	struct vigil_watch *w = calloc(1, sizeof(*w));

	*out = w;
	if (!w) {
		vigil_log_err("out of memory");
		return VIGIL_EXIT_FAIL;
	}
	w->cli = cli;
	w->sigfd = -1;
	w->docker_fd = -1;
	w->pidfd = -1;
	/* A copy: the config it may point into is freed by the first reload. */
	w->state_dir = strdup(vigil_cli_state_dir(cli));
	w->started_ns = vigil_loop_now_ns();
	w->started_real = vigil_clock_real_ns();
	if (gethostname(w->host, sizeof(w->host) - 1) < 0)
		strcpy(w->host, "localhost");
	pthread_mutex_init(&w->res_mu, NULL);
	pthread_mutex_init(&w->dw_mu, NULL);
	watch_jobq_init(&w->fast);
	watch_jobq_init(&w->slow);
	w->pbuckets = 1024;
	w->phash = calloc(w->pbuckets, sizeof(*w->phash));
	w->rep = vigil_reported_new(REPORTED_MAX);
	if (!pid_opt)
		pid_opt = cli->cfg->pid_file;
	if (pid_opt && pid_opt[0])
		w->pid_file = strdup(pid_opt);
	/* The config now belongs to the daemon (reloads replace it). */
	w->cr = watch_cfgref_new(cli->cfg);
	if (!w->phash || !w->rep || !w->cr || !w->state_dir || (pid_opt && pid_opt[0] && !w->pid_file)) {
		vigil_log_err("out of memory");
		return VIGIL_EXIT_FAIL;
	}
	cli->cfg = NULL;
	if (w->cr->cfg->debounce_ms < 0)
		w->cr->cfg->debounce_ms = 0;
	return VIGIL_EXIT_OK;
}

/* Signals through a signalfd, the loop and its timers.  0 or -errno. */
static int loop_setup(struct vigil_watch *w, struct vigil_err *err)
{
	sigset_t mask;
	int rc;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	/* Blocked before any thread starts, so they all inherit the mask. */
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	w->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	rc = w->sigfd < 0 ? -errno : 0;
	if (!rc)
		rc = vigil_loop_new(&w->loop, err);
	if (!rc)
		rc = vigil_loop_add(w->loop, w->sigfd, EPOLLIN, watch_on_signal, w);
	if (!rc)
		rc = vigil_loop_timer_new(w->loop, CLOCK_MONOTONIC, watch_debounce_fire, w, &w->debounce);
	if (!rc)
		rc = vigil_loop_timer_new(w->loop, CLOCK_MONOTONIC, watch_hold_fire, w, &w->hold);
	if (!rc)
		rc = vigil_loop_timer_new(w->loop, CLOCK_MONOTONIC, watch_periodic_fire, w, &w->periodic);
	if (!rc)
		rc = vigil_loop_timer_new(w->loop, CLOCK_MONOTONIC, watch_dpkg_fire, w, &w->dpkg_timer);
	if (!rc)
		rc = vigil_loop_async_new(w->loop, watch_on_results, w, &w->wake);
	if (rc && !err->msg[0])
		vigil_err_set(err, rc, "event loop: %s", strerror(-rc));
	return rc;
}

/* The two workers, the watches, Docker's state, the control socket, the
 * schedules and the state dir's watch.  0 or -errno. */
static int parts_setup(struct vigil_watch *w, struct vigil_err *err)
{
	const struct vigil_config *cfg = w->cr->cfg;
	int rc = watch_worker_start(w, &w->fast, &w->fast_th, err);

	if (!rc) {
		rc = watch_worker_start(w, &w->slow, &w->slow_th, err);
		w->threads_started = 1;
		if (rc) /* the fast one runs: stop it through the normal path */
			w->slow_th = w->fast_th;
	}
	if (rc)
		return rc;
	w->scopes_sig = watch_scopes_signature(cfg);
	rc = watch_build(w, &w->ino, err);
	if (!rc)
		rc = vigil_loop_add(w->loop, vigil_inotify_fd(w->ino), EPOLLIN, watch_on_inotify, w);
	if (rc)
		return rc;
	watch_docker_start(w);
	if (cfg->control_socket && cfg->control_socket[0]) {
		rc = make_parent_dir("control socket", cfg->control_socket, err);
		if (!rc)
			rc = vigil_ctl_listen(w->loop, cfg->control_socket, watch_on_ctl, w, &w->ctl, err);
		if (rc)
			return rc;
	}
	rc = vigil_sched_new(w->loop, cfg->schedules, cfg->n_schedules, watch_on_sched, w, &w->sched, err);
	if (rc)
		return rc;
	if (vigil_statewatch_new(w->loop, w->state_dir, STATE_QUIET_MS, watch_on_state_changed, w, &w->sd, err))
		vigil_log_warn("%s: a baseline changed behind the daemon's back is found by checks only", err->msg);
	return 0;
}

int vigil_watch_new(struct vigil_cli *cli, const char *pid_file, struct vigil_watch **out)
{
	struct vigil_watch *w;
	struct vigil_err err = { "" };
	int ret, rc;

	/* Few threads, low contention: one malloc arena keeps RSS small. */
	mallopt(M_ARENA_MAX, 1);
	sqlite3_soft_heap_limit64(4 << 20);
	ret = watch_alloc(cli, pid_file, &w);
	*out = w;
	if (!ret)
		ret = load_baseline(w);
	if (ret)
		return ret;
	if (w->pid_file) {
		rc = make_parent_dir("pid file", w->pid_file, &err);
		w->pidfd = rc ? -1 : pidfile_open(w->pid_file, &err);
		if (w->pidfd < 0)
			goto fail;
	}
	rc = loop_setup(w, &err);
	if (!rc) {
		rc = vigil_output_new(w->loop, w->cr->cfg->outputs, w->cr->cfg->n_outputs, &w->out, &err);
		if (rc == -EINVAL) {
			vigil_log_err("%s", err.msg);
			return VIGIL_EXIT_USAGE;
		}
	}
	if (!rc)
		rc = parts_setup(w, &err);
	if (!rc)
		return VIGIL_EXIT_OK;
fail:
	vigil_log_err("%s", err.msg);
	return VIGIL_EXIT_FAIL;
}

int vigil_watch_add_module(struct vigil_watch *w, const struct vigil_watch_module *m, void *ctx)
{
	if (w->nmodules == MODULES_MAX)
		return -ENOSPC;
	w->modules[w->nmodules].ops = m;
	w->modules[w->nmodules].ctx = ctx;
	w->nmodules++;
	return 0;
}

/* A module that fails is said and left out: file changes are still reported. */
static void modules_start(struct vigil_watch *w)
{
	for (size_t i = 0; i < w->nmodules; i++) {
		struct vigil_err err = { "" };

		if (w->modules[i].ops->start(w->modules[i].ctx, w, w->cr->cfg, &err))
			vigil_log_warn("%s: %s", w->modules[i].ops->name, err.msg);
	}
}

void watch_modules_reload(struct vigil_watch *w)
{
	for (size_t i = 0; i < w->nmodules; i++) {
		struct vigil_err err = { "" };

		if (w->modules[i].ops->reload(w->modules[i].ctx, w, w->cr->cfg, &err))
			vigil_log_warn("%s: reload: %s", w->modules[i].ops->name, err.msg);
	}
}

static void modules_stop(struct vigil_watch *w)
{
	for (size_t i = w->nmodules; i-- > 0;)
		w->modules[i].ops->stop(w->modules[i].ctx, w);
}

static void say_started(struct vigil_watch *w)
{
	struct vigil_inotify_stats st;
	/* which config: a --config file, the installed one, or the embedded default */
	json_t *src = json_string(w->cr->cfg->source);
	char extra[320], *js = src ? json_dumps(src, JSON_ENCODE_ANY) : NULL;

	vigil_inotify_stats(w->ino, &st);
	snprintf(extra, sizeof(extra), "{\"watches\":%" PRIu64 ",\"unwatched\":%" PRIu64 ",\"ready_ms\":%" PRId64
		 ",\"config\":%.200s}", st.watches, st.unwatched, (vigil_loop_now_ns() - w->started_ns) / 1000000,
		 js && strlen(js) <= 200 ? js : "null");
	free(js);
	json_decref(src);
	watch_emit_info(w, VIGIL_ACTION_STARTED, 0, extra,
		  "watching %" PRIu64 " directories against baseline generation %" PRId64 " (config %s)", st.watches,
		  w->gen, w->cr->cfg->source);
	vigil_log(VIGIL_LOG_NOTICE, "watching %" PRIu64 " directories in %zu scopes against baseline "
		  "generation %" PRId64 " (state dir '%s')", st.watches, w->cr->watched.n_scopes, w->gen,
		  w->state_dir);
}

int vigil_watch_run(struct vigil_watch *w)
{
	int rc;

	modules_start(w);
	if (vigil_notify_watchdog_ms()) {
		uint64_t ms = vigil_notify_watchdog_ms() / 2;

		if (!vigil_loop_timer_new(w->loop, CLOCK_MONOTONIC, watch_watchdog_fire, w, &w->watchdog))
			vigil_loop_timer_arm(w->watchdog, ms ? ms : 1, ms ? ms : 1);
	}
	watch_periodic_arm(w);
	say_started(w);
	vigil_output_probe(w->out, watch_output_problem, w);
	watch_queue_startup_check(w);
	malloc_trim(0);
	vigil_notify("READY=1");
	rc = vigil_loop_run(w->loop);
	vigil_notify("STOPPING=1");
	if (rc)
		vigil_log_err("event loop: %s", strerror(-rc));
	stop_all(w);
	modules_stop(w);
	return rc ? VIGIL_EXIT_FAIL : VIGIL_EXIT_OK;
}

void vigil_watch_free(struct vigil_watch *w)
{
	int pidfd;
	char *pid_file;

	if (!w)
		return;
	pidfd = w->pidfd;
	pid_file = w->pid_file;
	watch_release(w);
	/* Last: while the pid file exists the process is there to be signalled. */
	if (pidfd >= 0) {
		unlink(pid_file);
		close(pidfd);
	}
	free(pid_file);
}
