/* capture_host.c - the host's and the Docker engine's evidence.
 *
 * Files through the rootfs door (works with --root); kernel and process state
 * from /proc only on the live host.  shadow: metadata only, its content is
 * never read.  Lists of paths are globs inside the root.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "capture_priv.h"
#include "vigil/docker.h"
#include "vigil/hostproc.h"

static const char *const host_files[] = {
	"/var/log/syslog*", "/var/log/messages*", "/var/log/auth.log*", "/var/log/secure*",
	"/var/log/kern.log*", "/var/log/audit/audit.log*", "/etc/passwd", "/etc/group", "/etc/crontab",
	"/etc/cron.d/*", "/etc/cron.hourly/*", "/etc/cron.daily/*", "/var/spool/cron/crontabs/*",
	"/var/spool/cron/*", "/etc/sudoers", "/etc/sudoers.d/*", "/root/.ssh/authorized_keys*",
	"/home/*/.ssh/authorized_keys*", "/etc/hostname", "/etc/hosts", "/etc/fstab", "/etc/os-release",
	"/etc/modules", "/etc/modules-load.d/*", "/etc/ld.so.preload", NULL,
};
static const char *const host_meta[] = { "/etc/shadow", "/etc/gshadow", NULL };
static const char *const host_proc[] = {
	"/proc/modules", "/proc/version", "/proc/cmdline", "/proc/sys/kernel/random/boot_id", "/proc/uptime",
	"/proc/self/mountinfo", "/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6",
	"/proc/net/unix", "/proc/net/packet", NULL,
};

int capture_host(struct cctx *x)
{
	char member[256];
	int rc;

	vigil_evw_target(x->w, "{\"type\":\"host\"}");
	rc = capture_globs(x, host_files, "host", 0);
	if (!rc) /* journald's files: the host's logs where no syslog daemon runs (Debian 12's default) */
		rc = capture_globs(x, capture_journal_globs, "host", 0);
	if (!rc)
		rc = capture_globs(x, host_meta, "host", VIGIL_EVW_META_ONLY);
	if (!x->live)
		return rc;
	for (const char *const *p = host_proc; *p && !rc; p++) {
		snprintf(member, sizeof(member), "host%s", *p);
		rc = vigil_evw_add_procfile(x->w, *p, member, PROC_MAX);
	}
	if (!rc)
		rc = capture_add_json(x, "host/processes.json", "/proc", vigil_proc_list_json());
	return rc;
}

static const char *const engine_logs[] = {
	"/var/log/docker.log*", "/var/log/containerd.log*", "/var/log/upstart/docker.log*",
	"/var/log/daemon.log*", NULL,
};

static json_t *strv_json(const struct vigil_strv *sv)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

/* What `vigil images --json` and `containers --json` would say, from the model. */
static int engine_lists(struct cctx *x)
{
	json_t *imgs = json_array(), *cts = json_array();
	char *a, *b;
	int rc;

	for (size_t i = 0; imgs && i < vigil_docker_n_images(x->d); i++) {
		const struct vigil_docker_image *im = vigil_docker_image(x->d, i);

		json_array_append_new(imgs, json_pack("{s:s,s:o,s:s?,s:o,s:I,s:b,s:s?}", "id", im->id, "tags",
						      strv_json(&im->tags), "created", im->created, "diff_ids",
						      strv_json(&im->diff_ids), "size", (json_int_t)im->size,
						      "id_ok", im->id_ok, "error", im->error));
	}
	for (size_t i = 0; cts && i < vigil_docker_n_containers(x->d); i++) {
		const struct vigil_docker_container *c = vigil_docker_container(x->d, i);

		json_array_append_new(cts, json_pack("{s:s,s:s?,s:s?,s:s?,s:s?,s:i,s:s?,s:s?,s:b,s:s?}", "id", c->id,
						     "name", c->name, "image", c->image_ref, "image_id", c->image_id,
						     "state", c->state, "pid", c->pid, "created", c->created, "command",
						     c->command, "privileged", c->privileged, "error", c->error));
	}
	a = imgs ? json_dumps(imgs, JSON_INDENT(1)) : NULL;
	b = cts ? json_dumps(cts, JSON_INDENT(1)) : NULL;
	json_decref(imgs);
	json_decref(cts);
	rc = capture_add_json(x, "docker/engine/images.json", NULL, a);
	if (!rc)
		rc = capture_add_json(x, "docker/engine/containers.json", NULL, b);
	else
		free(b);
	return rc;
}

int capture_engine(struct cctx *x)
{
	struct vigil_docker_engine eng = { 0 };
	struct vigil_err err = { "" };
	char member[4200];
	int rc = 0;

	vigil_evw_target(x->w, "{\"type\":\"engine\"}");
	if (vigil_docker_discover(x->r->ev.root, &eng, &err))
		return vigil_evw_add_missing(x->w, "docker engine", err.msg);
	for (size_t i = 0; i < eng.configs.n && !rc; i++) {
		snprintf(member, sizeof(member), "docker/engine%s", eng.configs.v[i]);
		rc = vigil_evw_add_path(x->w, x->rootfd, eng.configs.v[i], member, 0);
	}
	for (size_t i = 0; i < eng.binaries.n && !rc; i++) {
		snprintf(member, sizeof(member), "docker/engine%s", eng.binaries.v[i]);
		rc = vigil_evw_add_path(x->w, x->rootfd, eng.binaries.v[i], member,
					x->r->engine_binaries ? 0 : VIGIL_EVW_HASH_ONLY);
	}
	for (size_t i = 0; i < eng.warnings.n && !rc; i++)
		rc = vigil_evw_note(x->w, "engine: %s", eng.warnings.v[i]);
	if (!rc)
		rc = capture_globs(x, engine_logs, "docker/engine", 0);
	if (!rc && !x->d && vigil_docker_load(x->r->ev.root, x->r->data_root, &x->d, &err))
		rc = vigil_evw_note(x->w, "engine: no image or container listing: %s", err.msg);
	else if (!rc)
		rc = engine_lists(x);
	if (!rc)
		rc = capture_engine_journal(x);
	vigil_docker_engine_clear(&eng);
	return rc;
}
