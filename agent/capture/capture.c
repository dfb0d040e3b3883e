/* capture.c - what `vigil capture` reads: containers, the engine, the host.
 *
 * Files come through the rootfs door (host and engine files) or through the
 * Docker collector's directory fds (a container's dir and upper layer); live
 * state (processes, network tables, freezer) only on the running host: with
 * --root the manifest says what was not possible.  A frozen cgroup is thawed
 * on every way out of vigil_capture_run(), cancel (SIGTERM) included.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "vigil/capture.h"
#include "vigil/docker.h"
#include "vigil/docker_capture.h"
#include "vigil/hostproc.h"
#include "vigil/record.h"
#include "vigil/rootfs.h"
#include "capture_priv.h"

static void thaw(struct cctx *x)
{
	if (x->frozen) {
		vigil_proc_freeze(x->freezer, x->freezer_v2, 0);
		x->frozen = 0;
	}
	capture_crash_disarm(x->crash_slot);
	x->crash_slot = -1;
}

int capture_add_json(struct cctx *x, const char *member, const char *source, char *text)
{
	int rc;

	if (!text)
		return vigil_evw_add_missing(x->w, source ? source : member, "not collected: out of memory or vanished");
	rc = vigil_evw_add_buf(x->w, member, source, text, strlen(text), NULL);
	free(text);
	return rc;
}

static char *err_json(const char *msg)
{
	json_t *j = json_pack("{s:s}", "error", msg);
	char *s = j ? json_dumps(j, JSON_INDENT(1)) : NULL;

	json_decref(j);
	return s;
}

static char *drift_json(struct cctx *x, const struct vigil_docker_container *c)
{
	struct vigil_docker_change *ch = NULL;
	struct vigil_err err = { "" };
	json_t *list = json_array();
	size_t n = 0;
	char *s;

	/* the upper layer's files are members already, hashed as they were written:
	 * each drift entry names its member rather than hashing the file twice */
	if (vigil_docker_drift_flags(x->d, c, VIGIL_DOCKER_DRIFT_NO_HASH, &ch, &n, &err)) {
		json_decref(list);
		return err_json(err.msg);
	}
	for (size_t i = 0; i < n; i++) {
		char k[2] = { ch[i].kind, 0 };
		json_t *o = json_pack("{s:s,s:s,s:I,s:b,s:b}", "kind", k, "path", ch[i].path, "size",
				      (json_int_t)ch[i].size, "executable", !!(ch[i].flags & VIGIL_DOCKER_CH_EXEC),
				      "sensitive", !!(ch[i].flags & VIGIL_DOCKER_CH_SENSITIVE));

		if (ch[i].kind != 'D' && ch[i].ftype == VIGIL_FT_REG) {
			char m[4300];

			snprintf(m, sizeof(m), "containers/%s/upper%s", c->id, ch[i].path);
			json_object_set_new(o, "member", json_string(m));
		}
		json_array_append_new(list, o);
	}
	vigil_docker_drift_free(ch, n);
	s = json_dumps(list, JSON_INDENT(1));
	json_decref(list);
	return s;
}

static char *layers_json(struct cctx *x, const struct vigil_docker_container *c)
{
	static const char *const st[] = { "ok", "modified", "error" };
	struct vigil_docker_verify *v = NULL;
	struct vigil_err err = { "" };
	const char *ref = c->image_id;
	json_t *list = json_array();
	size_t n = 0;
	char *s;

	if (!ref || vigil_docker_verify(x->d, &ref, 1, x->r->threads, &v, &n, &err)) {
		json_decref(list);
		return err_json(ref ? err.msg : "no image");
	}
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:I}", "chain_id", v[i].layer->chain_id, "status",
				      st[v[i].status > 2 ? 2 : v[i].status], "digest", v[i].digest, "findings",
				      (json_int_t)v[i].n_findings);

		if (v[i].first_bad)
			json_object_set_new(o, "first_bad", json_string(v[i].first_bad));
		if (v[i].error)
			json_object_set_new(o, "error", json_string(v[i].error));
		json_array_append_new(list, o);
	}
	vigil_docker_verify_free(v, n);
	s = json_dumps(list, JSON_INDENT(1));
	json_decref(list);
	return s;
}

static int proc_member(struct cctx *x, const char *prefix, pid_t pid, const char *what)
{
	char path[128], member[512];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	snprintf(member, sizeof(member), "%s/%d/%s", prefix, (int)pid, what);
	return vigil_evw_add_procfile(x->w, path, member, PROC_MAX);
}

/* Each process of the container's cgroup, and the network tables of its netns. */
static int container_live(struct cctx *x, const struct vigil_docker_container *c, const char *prefix)
{
	static const char *const files[] = { "status", "cmdline", "environ", "maps", "limits", "mountinfo", NULL };
	static const char *const nets[] = { "tcp", "tcp6", "udp", "udp6", "unix", "packet", NULL };
	char pp[256], member[512], path[128], hex[65];
	pid_t *pids = NULL;
	size_t n = 0;
	int rc = 0;

	if (vigil_proc_cgroup_pids(c->pid, &pids, &n) || !n) {
		free(pids);
		pids = malloc(sizeof(*pids));
		if (!pids)
			return -ENOMEM;
		pids[0] = c->pid;
		n = 1;
		vigil_evw_note(x->w, "container %.12s: cgroup not found, only its init process %d read", c->id, c->pid);
	}
	snprintf(pp, sizeof(pp), "%s/proc", prefix);
	for (size_t i = 0; i < n && !rc; i++) {
		for (const char *const *f = files; *f && !rc; f++)
			rc = proc_member(x, pp, pids[i], *f);
		snprintf(member, sizeof(member), "%s/%d/fds.json", pp, (int)pids[i]);
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pids[i]);
		if (!rc)
			rc = capture_add_json(x, member, path, vigil_proc_fds_json(pids[i]));
		snprintf(member, sizeof(member), "%s/%d/ns.json", pp, (int)pids[i]);
		snprintf(path, sizeof(path), "/proc/%d/ns", (int)pids[i]);
		if (!rc)
			rc = capture_add_json(x, member, path, vigil_proc_ns_json(pids[i]));
		snprintf(member, sizeof(member), "%s/%d/exe.sha256", pp, (int)pids[i]);
		snprintf(path, sizeof(path), "/proc/%d/exe", (int)pids[i]);
		if (!rc && !vigil_proc_exe_sha256(pids[i], hex)) {
			char line[80];

			snprintf(line, sizeof(line), "%s\n", hex);
			rc = vigil_evw_add_buf(x->w, member, path, line, strlen(line), NULL);
		} else if (!rc) {
			rc = vigil_evw_add_missing(x->w, path, "vanished");
		}
	}
	free(pids);
	snprintf(pp, sizeof(pp), "%s/net", prefix);
	for (const char *const *f = nets; *f && !rc; f++) {
		snprintf(path, sizeof(path), "/proc/%d/net/%s", c->pid, *f);
		snprintf(member, sizeof(member), "%s/%s", pp, *f);
		rc = vigil_evw_add_procfile(x->w, path, member, PROC_MAX);
	}
	return rc;
}

static int container_freeze(struct cctx *x, const struct vigil_docker_container *c)
{
	int rc = vigil_proc_freezer(c->pid, x->freezer, sizeof(x->freezer), &x->freezer_v2);

	/* armed before freezing: a crash from here on thaws */
	if (!rc && (x->crash_slot = capture_crash_arm(x->freezer, x->freezer_v2)) < 0)
		rc = x->crash_slot;
	if (!rc)
		rc = vigil_proc_freeze(x->freezer, x->freezer_v2, 1);
	if (rc) {
		/* frozen or half-frozen: thaw in any case */
		if (x->freezer[0])
			vigil_proc_freeze(x->freezer, x->freezer_v2, 0);
		capture_crash_disarm(x->crash_slot);
		x->crash_slot = -1;
		return vigil_evw_note(x->w, "container %.12s: not frozen: %s", c->id, strerror(-rc));
	}
	x->frozen = 1;
	capture_crash_test_hook();
	return vigil_evw_note(x->w, "container %.12s: frozen (%s) while captured", c->id, x->freezer);
}

/* The mounted overlay when there is one (live host), else the union of the
 * container's layers computed from disk (stopped, --root). */
static int container_merged(struct cctx *x, const struct vigil_docker_container *c,
			    const struct vigil_docker_container_dirs *dirs, const char *prefix)
{
	struct vigil_docker_layer_dirs l;
	struct vigil_err err = { "" };
	char member[160];
	int rc;

	snprintf(member, sizeof(member), "%s/merged", prefix);
	if (dirs->mergedfd >= 0 && x->live)
		return vigil_evw_add_tree(x->w, dirs->mergedfd, dirs->merged, member, 0, NULL);
	if (vigil_docker_container_layers(x->d, c, &l, &err))
		return vigil_evw_note(x->w, "container %.12s: merged view not captured: %s", c->id, err.msg);
	rc = vigil_evw_note(x->w, "container %.12s: merged view computed from its %zu layers (%s)", c->id, l.n,
			    x->live ? "its overlay is not mounted" : "not the live host");
	if (!rc)
		rc = vigil_evw_add_union(x->w, l.fds, (const char *const *)l.paths, l.n, l.n_own, member);
	vigil_docker_layer_dirs_clear(&l);
	return rc;
}

static int container(struct cctx *x, const struct vigil_docker_container *c)
{
	static const char *const skip[] = { "mounts", NULL }; /* shm and secrets mounts: not the container's files */
	struct vigil_docker_container_dirs dirs;
	struct vigil_err err = { "" };
	char prefix[128], member[160], *t;
	json_t *tj;
	int running = c->state && !strcmp(c->state, "running") && c->pid > 0, rc;

	snprintf(prefix, sizeof(prefix), "containers/%s", c->id);
	tj = json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:i}", "type", "container", "id", c->id, "name", c->name, "image",
		       c->image_ref, "state", c->state, "pid", c->pid);
	t = tj ? json_dumps(tj, JSON_COMPACT) : NULL;
	json_decref(tj);
	if (t) {
		vigil_evw_target(x->w, t);
		free(t);
	}
	if ((rc = vigil_docker_container_dirs(x->d, c, &dirs, &err))) {
		/* removed between the listing and now (docker rm while capturing) */
		char why[sizeof(err.msg) + 16];

		snprintf(why, sizeof(why), "%s%s", rc == -ENOENT ? "vanished: " : "", err.msg);
		return vigil_evw_add_missing(x->w, prefix, why);
	}
	if (x->r->freeze && running && x->live && (rc = container_freeze(x, c)))
		goto out;
	rc = vigil_evw_add_tree(x->w, dirs.dirfd, dirs.dir, prefix, 0, skip);
	snprintf(member, sizeof(member), "%s/upper", prefix);
	if (!rc)
		rc = dirs.upperfd >= 0 ? vigil_evw_add_tree(x->w, dirs.upperfd, dirs.upper, member, 1, NULL)
				       : vigil_evw_add_missing(x->w, member, dirs.upper_error);
	if (!rc && x->r->merged)
		rc = container_merged(x, c, &dirs, prefix);
	snprintf(member, sizeof(member), "%s/drift.json", prefix);
	if (!rc)
		rc = capture_add_json(x, member, NULL, drift_json(x, c));
	snprintf(member, sizeof(member), "%s/layers.json", prefix);
	if (!rc)
		rc = capture_add_json(x, member, NULL, layers_json(x, c));
	if (!rc && running && x->live)
		rc = container_live(x, c, prefix);
	else if (!rc && running)
		rc = vigil_evw_note(x->w, "container %.12s: processes and network not captured: not the live host",
				    c->id);
out:
	thaw(x);
	vigil_docker_container_dirs_clear(&dirs);
	return rc;
}

static int load_docker(struct cctx *x, struct vigil_err *err)
{
	if (x->d)
		return 0;
	return vigil_docker_load(x->r->ev.root, x->r->data_root, &x->d, err);
}

/* Every name resolved before the archive is started: a typo is a usage error. */
static int resolve(struct cctx *x, struct vigil_err *err)
{
	size_t n;
	int rc;

	if (!x->r->all_containers && !x->r->n_containers)
		return 0;
	if ((rc = load_docker(x, err)))
		return rc;
	n = x->r->all_containers ? vigil_docker_n_containers(x->d) : x->r->n_containers;
	x->list = calloc(n + 1, sizeof(*x->list));
	if (!x->list)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		x->list[i] = x->r->all_containers ? vigil_docker_container(x->d, i)
						  : vigil_docker_find_container(x->d, x->r->containers[i], err);
		if (!x->list[i])
			return -ENOENT;
	}
	x->n_list = n;
	return 0;
}

/* vigil_rootfs_glob callback: one host file into host/<path>. */
struct globarg {
	struct cctx *x;
	const char *prefix;
	int mode;
};

static int glob_cb(void *arg, const char *path)
{
	struct globarg *g = arg;
	char member[4200];

	snprintf(member, sizeof(member), "%s%s", g->prefix, path);
	return vigil_evw_add_path(g->x->w, g->x->rootfd, path, member, g->mode);
}

int capture_globs(struct cctx *x, const char *const *pats, const char *prefix, int mode)
{
	struct globarg g = { x, prefix, mode };
	int rc = 0;

	for (; *pats && !rc; pats++)
		rc = vigil_rootfs_glob(x->rootfd, *pats, glob_cb, &g);
	return rc;
}


int vigil_capture_run(const struct vigil_capture_req *r, struct vigil_evw_result *res, struct vigil_err *err)
{
	struct cctx x = { .r = r, .rootfd = -1, .crash_slot = -1 };
	int rc, confined;

	x.live = vigil_rootfs_is_host(r->ev.root);
	x.rootfd = vigil_rootfs_open_root(r->ev.root, &confined);
	if (x.rootfd < 0)
		return vigil_err_set(err, x.rootfd, "root '%s': %s", r->ev.root ? r->ev.root : "/",
				     strerror(-x.rootfd));
	if ((rc = resolve(&x, err)))
		goto out;
	if ((rc = vigil_evw_open(&r->ev, &x.w, err)))
		goto out;
	if (!x.live)
		vigil_evw_note(x.w, "not the live host (--root %s): no processes, network tables, freezer or "
			       "kernel state captured", r->ev.root);
	rc = r->memory ? capture_memory(&x) : 0;
	for (size_t i = 0; i < x.n_list && !rc; i++)
		rc = container(&x, x.list[i]);
	if (!rc && r->engine)
		rc = capture_engine(&x);
	if (!rc && r->host)
		rc = capture_host(&x);
	thaw(&x);
	/* finish says why the writer stopped (disk full, cancelled) and seals otherwise */
	rc = vigil_evw_finish(x.w, res, err);
out:
	thaw(&x);
	vigil_evw_free(x.w);
	vigil_docker_free(x.d);
	free(x.list);
	close(x.rootfd);
	return rc;
}
