/* docker_watch.c - Docker's own state watched (images pulled or removed,
 * containers made): the engine is discovered again once it settles, so that
 * auto: scopes follow it.  Loop thread only. */
#include "config.h"

#include <errno.h>
#include <sys/inotify.h>

#include "watch_priv.h"

/* ---- Docker: images pulled or removed, containers made, re-discovered ----
 * A second inotify instance on the layer store, the containers dir and the
 * image dir (repositories.json): a change there re-reads the engine (after
 * DOCKER_SETTLE_MS of quiet), so new layers' diff dirs are watched and events
 * name new containers. */
#define DOCKER_SETTLE_MS 1000

static void docker_say(const struct vigil_watch *w)
{
	const struct vigil_docker_locator *loc = w->cr->loc;
	const struct vigil_scope *sc = NULL;
	struct vigil_inotify_stats st;

	for (size_t i = 0; i < w->cr->cfg->n_scopes && !sc; i++)
		if (w->cr->cfg->scopes[i].auto_kind == VIGIL_AUTO_DOCKER_LAYERS)
			sc = &w->cr->cfg->scopes[i];
	if (!loc || !sc)
		return;
	vigil_inotify_stats(w->ino, &st);
	if (sc->watch)
		vigil_log(VIGIL_LOG_NOTICE, "docker: data root '%s', %zu image layers: their diff dirs are watched "
			  "(a change verifies the layer)%s", vigil_docker_locator_data_root(loc),
			  vigil_docker_locator_n_layers(loc), st.unwatched ? "; what the inotify limit leaves "
			  "unwatched is rescanned on the rescan schedule" : "");
	else
		vigil_log(VIGIL_LOG_NOTICE, "docker: data root '%s', %zu image layers: checked by 'vigil check' and "
			  "scheduled checks only (scope '%s' has watch: false)", vigil_docker_locator_data_root(loc),
			  vigil_docker_locator_n_layers(loc), sc->name);
}

static void docker_rediscover(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	struct vigil_watch *w = ctx;
	struct vigil_config *cfg = NULL;
	struct cfgref *cr, *old = w->cr;
	struct vigil_err err = { "" };

	/* The config is read again (it holds the filled `auto:` scopes); only
	 * the scopes take effect: outputs and schedules wait for a reload. */
	if (vigil_cli_config_load(w->cli, &cfg, &err)) {
		vigil_log_warn("docker: re-discovery skipped, the config does not load: %s", err.msg);
		return;
	}
	cr = watch_cfgref_new(cfg);
	if (!cr) {
		vigil_config_free(cfg);
		return;
	}
	w->cr = cr;
	if (watch_rebuild(w, 0, &err)) {
		w->cr = old;
		watch_cfgref_put(cr);
		vigil_log_warn("docker: images changed, the watches are kept: %s", err.msg);
		return;
	}
	watch_cfgref_put(old);
	docker_say(w);
	watch_periodic_arm(w);
}

static void docker_changed(struct vigil_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct vigil_watch *w = ctx;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	vigil_loop_timer_arm(w->docker_timer, DOCKER_SETTLE_MS, 0);
}

/* Starts watching the engine's state; a failure only costs re-discovery. */
void watch_docker_start(struct vigil_watch *w)
{
	static const char *const sub[] = { "image/overlay2/layerdb/sha256", "containers", "image/overlay2" };
	const char *dr = w->cr->loc ? vigil_docker_locator_data_root(w->cr->loc) : NULL;
	int added = 0;

	w->docker_fd = -1;
	docker_say(w);
	if (!dr)
		return;
	w->docker_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->docker_fd < 0 || vigil_loop_timer_new(w->loop, CLOCK_MONOTONIC, docker_rediscover, w, &w->docker_timer))
		goto fail;
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dr, sub[i]);
		added += inotify_add_watch(w->docker_fd, path, IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
					   IN_ONLYDIR) >= 0;
	}
	if (added && !vigil_loop_add(w->loop, w->docker_fd, EPOLLIN, docker_changed, w))
		return;
fail:
	vigil_log_warn("docker: cannot watch '%s' for images and containers: %s; they are re-discovered at "
		   "reload only", dr, strerror(errno));
	watch_docker_stop(w);
}

void watch_docker_stop(struct vigil_watch *w)
{
	if (w->docker_fd >= 0) {
		vigil_loop_del(w->loop, w->docker_fd);
		close(w->docker_fd);
	}
	w->docker_fd = -1;
	vigil_loop_timer_free(w->docker_timer);
	w->docker_timer = NULL;
}
