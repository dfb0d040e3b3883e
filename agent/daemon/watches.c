/* watches.c - the inotify watches the config asks for, what inotify
 * reports (paths, renames, subtrees, overflows, the watch limit, unmounts),
 * and the periodic scan of what could not be watched.  Loop thread only. */
#include "config.h"

#include <errno.h>
#include <sys/inotify.h>

#include "watch_priv.h"

static uint64_t max_user_watches(void)
{
	FILE *f = fopen("/proc/sys/fs/inotify/max_user_watches", "re");
	unsigned long long v = 0;

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

void watch_periodic_arm(struct vigil_watch *w)
{
	struct vigil_inotify_stats st;
	int s = w->cr->cfg->rescan_interval_s > 0 ? w->cr->cfg->rescan_interval_s : 300;

	vigil_inotify_stats(w->ino, &st);
	/* Only while something cannot be watched: a healthy daemon never polls. */
	if ((st.unwatched || st.missing_roots) && !vigil_loop_timer_armed(w->periodic))
		vigil_loop_timer_arm(w->periodic, (uint64_t)s * 1000, 0);
}

/* A high-severity event about a watched path: "WHAT 'PATH' THEN", the path
 * also as vigil.KEY. */
static void say_path(struct vigil_watch *w, const char *action, const char *key, const struct vigil_inotify_ev *ev,
		     const char *what, const char *then)
{
	char *extra = watch_path_json(key, ev->path, ev->path_len);
	char *p = vigil_path_escape(ev->path, ev->path_len);

	watch_emit_info(w, action, VIGIL_SEV_HIGH, extra, "%s '%s' %s", what, p ? p : "?", then);
	free(p);
	free(extra);
}

static void on_inotify_ev(void *ctx, const struct vigil_inotify_ev *ev)
{
	struct vigil_watch *w = ctx;

	switch (ev->kind) {
	case VIGIL_INOTIFY_PATH:
		if (vigil_walk_scope_for(&w->cr->watched, ev->path, ev->path_len))
			watch_pend_add(w, ev->path, ev->path_len, ev->mask, NULL);
		break;
	case VIGIL_INOTIFY_RENAME:
		if (vigil_walk_scope_for(&w->cr->watched, ev->path, ev->path_len))
			watch_pend_add(w, ev->path, ev->path_len, ev->mask, ev->from);
		break;
	case VIGIL_INOTIFY_SUBTREE:
		watch_prefix_add(w, ev->path);
		break;
	case VIGIL_INOTIFY_OVERFLOW:
		w->overflows++;
		w->full_rescan_wanted = 1;
		watch_pend_drop_all(w);
		watch_debounce_arm(w);
		break;
	case VIGIL_INOTIFY_LIMIT: {
		int64_t now = vigil_loop_now_ns();

		if (ev->err != -ENOSPC && ev->err != -ENOMEM) {
			char *p = vigil_path_escape(ev->path, ev->path_len);

			vigil_log_warn("cannot watch '%s': %s", p ? p : "?", strerror(-ev->err));
			free(p);
			break;
		}
		w->limit_events++;
		if (!w->last_limit_event || now - w->last_limit_event > (int64_t)LIMIT_EVENT_EVERY_S * 1000000000) {
			uint64_t max = max_user_watches();
			char *extra = watch_path_json("unwatched", ev->path, ev->path_len);

			w->last_limit_event = now;
			watch_emit_info(w, VIGIL_ACTION_LIMIT, VIGIL_SEV_HIGH, extra,
				  "inotify watch limit reached (fs.inotify.max_user_watches = %" PRIu64 "): what "
				  "could not be watched is scanned every %d s instead; raise it, e.g. "
				  "'sysctl fs.inotify.max_user_watches=%" PRIu64 "' and a file in /etc/sysctl.d/",
				  max, w->cr->cfg->rescan_interval_s > 0 ? w->cr->cfg->rescan_interval_s : 300,
				  max ? max * 4 : 524288);
			free(extra);
		}
		break;
	}
	case VIGIL_INOTIFY_UNMOUNT:
		say_path(w, VIGIL_ACTION_UNMOUNTED, "mount_point", ev, "the file system mounted at",
			 "was unmounted: what it held is compared again");
		break;
	case VIGIL_INOTIFY_ROOT_GONE:
		say_path(w, VIGIL_ACTION_ROOT_GONE, "root", ev, "watched directory",
			 "is gone; it is watched again if it comes back");
		break;
	}
}

void watch_on_inotify(struct vigil_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct vigil_watch *w = ctx;
	int overflowed = (int)w->overflows;

	vigil_inotify_process(w->ino);
	if ((int)w->overflows != overflowed) {
		/* Directories made while events were lost have no watch yet. */
		vigil_inotify_resync(w->ino);
		watch_emit_info(w, VIGIL_ACTION_OVERFLOW, VIGIL_SEV_MEDIUM, NULL,
			  "inotify queue overflow (fs.inotify.max_queued_events): the watched scopes are "
			  "rescanned against the baseline so that no change is lost");
	}
	watch_periodic_arm(w);
}

static int watch_dir_filter(void *ctx, const char *path, size_t len)
{
	struct vigil_watch *w = ctx;

	return vigil_walk_scope_for(&w->cr->watched, path, len) != NULL;
}

static void unwatched_scan(void *ctx, const char *path, size_t len)
{
	watch_prefix_add(ctx, path);
}

void watch_periodic_fire(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	struct vigil_watch *w = ctx;

	vigil_inotify_retry(w->ino, unwatched_scan, w);
	watch_periodic_arm(w);
}

/* What the watches depend on, to tell whether a reload must rebuild them. */
char *watch_scopes_signature(const struct vigil_config *cfg)
{
	json_t *a = json_array();
	char *s;

	for (size_t i = 0; a && i < cfg->n_scopes; i++) {
		const struct vigil_scope *sc = &cfg->scopes[i];
		json_t *o = json_pack("{s:s,s:i,s:i,s:i,s:[],s:[],s:[]}", "n", sc->name, "w", sc->watch,
				      "d", sc->depth, "f", sc->one_filesystem, "p", "i", "e");

		for (size_t k = 0; o && k < sc->paths.n; k++)
			json_array_append_new(json_object_get(o, "p"), json_string(sc->paths.v[k]));
		for (size_t k = 0; o && k < sc->include.n; k++)
			json_array_append_new(json_object_get(o, "i"), json_string(sc->include.v[k]));
		for (size_t k = 0; o && k < sc->exclude.n; k++)
			json_array_append_new(json_object_get(o, "e"), json_string(sc->exclude.v[k]));
		json_array_append_new(a, o);
	}
	s = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return s;
}

int watch_build(struct vigil_watch *w, struct vigil_inotify **out, struct vigil_err *err)
{
	const struct vigil_config *cfg = &w->cr->watched;
	struct vigil_inotify *ino;
	int rc;

	rc = vigil_inotify_new(on_inotify_ev, watch_dir_filter, w, &ino, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < cfg->n_scopes; i++)
		for (size_t k = 0; k < cfg->scopes[i].paths.n; k++) {
			rc = vigil_inotify_add_root(ino, cfg->scopes[i].paths.v[k], cfg->scopes[i].one_filesystem, err);
			if (rc) {
				vigil_inotify_free(ino);
				return rc;
			}
		}
	*out = ino;
	return 0;
}

/* Rebuilds the watches when what they depend on changed under the config
 * now in force (w->cr): the new watches exist before the old ones go, no gap.
 * rescan: compare the watched scopes once afterwards (new scopes).  */
int watch_rebuild(struct vigil_watch *w, int rescan, struct vigil_err *err)
{
	struct vigil_inotify *ino = NULL;
	char *sig = watch_scopes_signature(w->cr->cfg);
	int rc;

	if (sig && w->scopes_sig && !strcmp(sig, w->scopes_sig)) {
		free(sig);
		return 0;
	}
	rc = watch_build(w, &ino, err);
	if (rc) {
		free(sig);
		return rc;
	}
	vigil_loop_del(w->loop, vigil_inotify_fd(w->ino));
	vigil_inotify_free(w->ino);
	w->ino = ino;
	vigil_loop_add(w->loop, vigil_inotify_fd(ino), EPOLLIN, watch_on_inotify, w);
	free(w->scopes_sig);
	w->scopes_sig = sig;
	if (rescan) {
		vigil_reported_clear(w->rep);
		watch_pend_drop_all(w);
		/* Scopes changed: compare them all once against the baseline. */
		watch_queue_full_rescan(w, 0);
	}
	return 0;
}
