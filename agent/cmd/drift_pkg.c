/* drift_pkg.c - `vigil drift` explained by the image's own dpkg database:
 * see drift_pkg.h.  The records are read through the Docker collector's
 * views (vigil_docker_view_read) by the package collector
 * (vigil_dpkg_container_open); this file only asks and prints. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/actions.h"
#include "vigil/cli.h"
#include "vigil/config.h"
#include "vigil/crypto.h"
#include "vigil/dpkg.h"

#include "drift_pkg.h"

struct drift_pkg {
	struct vigil_dpkg_container *x;   /* NULL: no dpkg records in the container */
	struct vigil_dpkg_judgement *j;   /* one per change */
	int *judged;
	const struct vigil_docker_change *ch;
	size_t n;
};

struct drift_pkg *drift_pkg_new(struct vigil_docker *d, const struct vigil_docker_container *c,
				const struct vigil_docker_change *ch, size_t n)
{
	struct drift_pkg *dp = calloc(1, sizeof(*dp));
	struct vigil_docker_view *img = NULL, *cv = NULL;
	struct vigil_err err = { "" };
	int rc;

	if (!dp || !(dp->j = calloc(n + 1, sizeof(*dp->j))) || !(dp->judged = calloc(n + 1, sizeof(int)))) {
		drift_pkg_free(dp);
		return NULL;
	}
	dp->ch = ch;
	dp->n = n;
	rc = vigil_docker_view_open(d, c, VIGIL_DOCKER_VIEW_IMAGE, &img, &err);
	if (!rc)
		rc = vigil_docker_view_open(d, c, VIGIL_DOCKER_VIEW_CONTAINER, &cv, &err);
	if (!rc)
		rc = vigil_dpkg_container_open(vigil_docker_view_read, img, cv, &dp->x, &err);
	if (rc && rc != -ENOENT)
		vigil_log_warn("drift: packages: %s; changes are not explained", err.msg);
	for (size_t i = 0; dp->x && i < n; i++)
		dp->judged[i] = vigil_dpkg_container_judge(dp->x, ch[i].path, ch[i].kind, ch[i].ftype,
							   ch[i].has_md5 ? ch[i].md5 : NULL, &dp->j[i]);
	vigil_docker_view_free(img);
	vigil_docker_view_free(cv);
	return dp;
}

void drift_pkg_free(struct drift_pkg *dp)
{
	if (!dp)
		return;
	vigil_dpkg_container_free(dp->x);
	free(dp->j);
	free(dp->judged);
	free(dp);
}

static json_t *pkg_json(const struct vigil_dpkg_pkg *p)
{
	return json_pack("{s:s,s:s?,s:s?}", "name", p->name, "version", p->version, "architecture", p->arch);
}

void drift_pkg_change_json(const struct drift_pkg *dp, size_t i, json_t *j)
{
	const struct vigil_dpkg_judgement *g = &dp->j[i];
	char md5[33];

	if (!j || i >= dp->n || !dp->judged[i])
		return;
	if (g->action) {
		json_object_set_new(j, "action", json_string(g->action));
		json_object_set_new(j, "severity", json_string(vigil_severity_name(g->severity)));
	}
	json_object_set_new(j, "message", json_string(g->message));
	if (g->pkg) {
		json_t *p = pkg_json(g->pkg);

		if (p && g->installed)
			json_object_set_new(p, "old_version",
					    g->installed->old_version ? json_string(g->installed->old_version) : json_null());
		json_object_set_new(j, "package", p);
	}
	if (g->sum) {
		vigil_hex(g->sum->md5, 16, md5);
		json_object_set_new(j, "expected_md5", json_string(md5));
		json_object_set_new(j, "conffile", json_boolean(g->sum->conffile));
	}
	if (dp->ch[i].has_md5) {
		vigil_hex(dp->ch[i].md5, 16, md5);
		json_object_set_new(j, "md5", json_string(md5));
	}
}

void drift_pkg_change_text(const struct drift_pkg *dp, size_t i)
{
	const struct vigil_dpkg_judgement *g = &dp->j[i];

	if (i < dp->n && dp->judged[i])
		printf("  %s%s%s\n", g->action ? g->action : "", g->action ? ": " : "", g->message);
}

void drift_pkg_findings_json(const struct drift_pkg *dp, json_t *a)
{
	char msg[512];

	for (size_t i = 0; dp->x && i < vigil_dpkg_container_n_installed(dp->x); i++) {
		const struct vigil_dpkg_installed *in = vigil_dpkg_container_installed(dp->x, i);
		json_t *p = pkg_json(in->pkg);

		if (p)
			json_object_set_new(p, "old_version", in->old_version ? json_string(in->old_version) : json_null());
		if (p && in->removed)
			json_object_set_new(p, "version", json_null());
		snprintf(msg, sizeof(msg), "package %s %s in the container: %s -> %s", in->pkg->name,
			 in->removed ? "removed" : in->old_version ? "upgraded" : "installed",
			 in->old_version ? in->old_version : "none",
			 in->removed ? "none" : in->pkg->version ? in->pkg->version : "?");
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:o}", "kind", "P", "action",
						   in->removed ? VIGIL_ACTION_CT_PKG_REMOVED : VIGIL_ACTION_CT_PKG_INSTALLED,
						   "severity", "high", "message", msg, "package", p ? p : json_null()));
	}
	for (size_t i = 0; i < dp->n; i++) {
		if (dp->ch[i].kind == 'D' || !vigil_dpkg_container_log(dp->ch[i].path))
			continue;
		snprintf(msg, sizeof(msg), "%s written in the container: dpkg or apt ran in it", dp->ch[i].path);
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", "P", "action",
						   VIGIL_ACTION_CT_PKG_INSTALLED, "severity", "high", "message", msg,
						   "path", dp->ch[i].path));
	}
}

void drift_pkg_findings_text(const struct drift_pkg *dp)
{
	json_t *a = json_array();
	size_t i;
	json_t *f;

	drift_pkg_findings_json(dp, a);
	json_array_foreach(a, i, f)
		printf("P %s [%s]\n", json_string_value(json_object_get(f, "message")),
		       json_string_value(json_object_get(f, "action")));
	json_decref(a);
}
