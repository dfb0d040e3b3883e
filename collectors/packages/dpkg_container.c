/* dpkg_container.c - an image's own dpkg database explains a container's
 * drift (see dpkg.h, "containers").  Two whole databases read through the
 * Docker collector's views (vigil_docker_view_read, never Docker's state
 * directly): the image's (its layers) and the container's (its upper layer
 * above them).  A package whose stanza the container's status file has and
 * the image's has not, or with another version, was installed or upgraded
 * in the container.  Cost: both databases in memory for one drift (a
 * container image holds a few hundred packages at most). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/actions.h"
#include "vigil/config.h"
#include "vigil/record.h"

#include "dpkg_priv.h"

struct vigil_dpkg_container {
	struct vigil_dpkg *img, *ct;
	struct vigil_dpkg_installed *inst;
	size_t n_inst;
};

void vigil_dpkg_container_free(struct vigil_dpkg_container *x)
{
	if (!x)
		return;
	vigil_dpkg_free(x->img);
	vigil_dpkg_free(x->ct);
	free(x->inst);
	free(x);
}

static int add_inst(struct vigil_dpkg_container *x, struct vigil_dpkg_installed in)
{
	void *t = realloc(x->inst, (x->n_inst + 1) * sizeof(*x->inst));

	if (!t)
		return -ENOMEM;
	x->inst = t;
	x->inst[x->n_inst++] = in;
	return 0;
}

/* The container's installed packages the image does not have installed,
 * or has in another version; then the image's installed packages the
 * container no longer has installed. */
static int find_installed(struct vigil_dpkg_container *x)
{
	for (size_t i = 0; i < vigil_dpkg_n_pkgs(x->ct); i++) {
		const struct vigil_dpkg_pkg *p = vigil_dpkg_pkg(x->ct, (uint32_t)i), *q = NULL;
		int64_t k = vigil_dpkg_find_pkg(x->img, p->id);

		if (k >= 0)
			q = vigil_dpkg_pkg(x->img, (uint32_t)k);
		if (!p->installed || (q && q->installed && q->version && p->version && !strcmp(q->version, p->version)))
			continue;
		if (add_inst(x, (struct vigil_dpkg_installed){ .pkg = p, .old_version = q && q->installed ? q->version : NULL,
							       .index = (uint32_t)i }))
			return -ENOMEM;
	}
	for (size_t i = 0; i < vigil_dpkg_n_pkgs(x->img); i++) {
		const struct vigil_dpkg_pkg *q = vigil_dpkg_pkg(x->img, (uint32_t)i);
		int64_t k = vigil_dpkg_find_pkg(x->ct, q->id);

		if (!q->installed || (k >= 0 && vigil_dpkg_pkg(x->ct, (uint32_t)k)->installed))
			continue;
		if (add_inst(x, (struct vigil_dpkg_installed){ .pkg = q, .old_version = q->version, .index = (uint32_t)i,
							       .removed = 1 }))
			return -ENOMEM;
	}
	return 0;
}

int vigil_dpkg_container_open(vigil_dpkg_read_fn rd, void *image_view, void *container_view,
			      struct vigil_dpkg_container **out, struct vigil_err *err)
{
	struct vigil_dpkg_container *x = calloc(1, sizeof(*x));
	int rc;

	*out = NULL;
	if (!x)
		return vigil_err_set(err, -ENOMEM, "packages: out of memory");
	rc = vigil_dpkg_open_reader(rd, container_view, &x->ct, err);
	if (!rc) {
		rc = vigil_dpkg_open_reader(rd, image_view, &x->img, err);
		if (rc == -ENOENT) { /* dpkg came into the container: an empty image database */
			x->img = vigil_dpkg_new();
			rc = x->img ? 0 : vigil_err_set(err, -ENOMEM, "packages: out of memory");
		} else if (rc) {
			vigil_err_prefix(err, rc, "the image's dpkg database");
		}
	}
	if (!rc && (rc = find_installed(x)))
		vigil_err_set(err, rc, "packages: out of memory");
	if (rc) {
		vigil_dpkg_container_free(x);
		return rc;
	}
	*out = x;
	return 0;
}

size_t vigil_dpkg_container_n_installed(const struct vigil_dpkg_container *x)
{
	return x->n_inst;
}

const struct vigil_dpkg_installed *vigil_dpkg_container_installed(const struct vigil_dpkg_container *x, size_t i)
{
	return i < x->n_inst ? &x->inst[i] : NULL;
}

/* path as dpkg lists it too: "/usr/bin/x" is "/bin/x" in a database of a
 * merged-/usr image (no root to look at: both forms are tried) */
static int lookup(const struct vigil_dpkg *db, const char *path, struct vigil_dpkg_owner *o)
{
	static const char *const merged[] = { "/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/lib32/", "/usr/lib64/",
					      "/usr/libx32/" };

	if (vigil_dpkg_lookup(db, path, o) && (o->n_owners || o->n_sums))
		return 1;
	for (size_t i = 0; i < sizeof(merged) / sizeof(merged[0]); i++)
		if (!strncmp(path, merged[i], strlen(merged[i])))
			return vigil_dpkg_lookup(db, path + 4, o) && (o->n_owners || o->n_sums);
	return 0;
}

static void set(struct vigil_dpkg_judgement *j, const char *action, int sev, const struct vigil_dpkg_pkg *p,
		const struct vigil_dpkg_sum *s, const char *why)
{
	j->action = action;
	j->severity = sev;
	j->pkg = p;
	j->sum = s;
	snprintf(j->message, sizeof(j->message), "%s of %s %s %s", s->conffile ? "conffile" : "packaged file",
		 p->name, p->version ? p->version : "?", why);
}

/* A deleted file of a package removed in the container: said, not judged
 * (the removal is its own finding). */
static int removed_with(const struct vigil_dpkg_container *x, const char *path, struct vigil_dpkg_judgement *j)
{
	struct vigil_dpkg_owner o;

	if (!lookup(x->img, path, &o) || !o.n_owners)
		return 0;
	for (size_t i = 0; i < x->n_inst; i++) {
		const struct vigil_dpkg_pkg *p = x->inst[i].pkg;

		if (!x->inst[i].removed || x->inst[i].index != o.owner)
			continue;
		j->pkg = p;
		snprintf(j->message, sizeof(j->message), "a file of %s %s, removed with it in the container", p->name,
			 p->version ? p->version : "?");
		return 1;
	}
	return 0;
}

int vigil_dpkg_container_judge(const struct vigil_dpkg_container *x, const char *path, char kind, int ftype,
			       const unsigned char *md5, struct vigil_dpkg_judgement *j)
{
	const struct vigil_dpkg_sum *mine = NULL, *match = NULL;
	struct vigil_dpkg_owner o;
	int known = lookup(x->ct, path, &o);

	memset(j, 0, sizeof(*j));
	for (size_t i = 0; known && i < o.n_sums; i++) {
		const struct vigil_dpkg_sum *s = vigil_dpkg_sum(x->ct, o.sums[i]);

		if (!vigil_dpkg_pkg(x->ct, s->pkg)->installed)
			continue;
		if (!mine)
			mine = s;
		if (md5 && !match && !memcmp(md5, s->md5, 16))
			match = s;
	}
	if (!mine && kind == 'D' && removed_with(x, path, j))
		return 1;
	if (!mine) {
		/* nobody's file: new ones where only packages write are suspect */
		if (kind == 'A' && ftype != VIGIL_FT_DIR && (!known || !o.n_owners) && dpkg_system_dir(path)) {
			j->action = VIGIL_ACTION_UNPACKAGED;
			j->severity = VIGIL_SEV_HIGH;
			snprintf(j->message, sizeof(j->message), "a new file no package owns, where only packages write");
			return 1;
		}
		return 0;
	}
	if (kind == 'D') {
		set(j, VIGIL_ACTION_PKG_TAMPERED, VIGIL_SEV_CRITICAL, vigil_dpkg_pkg(x->ct, mine->pkg), mine, "removed");
	} else if (ftype != VIGIL_FT_REG) {
		set(j, VIGIL_ACTION_PKG_TAMPERED, VIGIL_SEV_CRITICAL, vigil_dpkg_pkg(x->ct, mine->pkg), mine,
		    "is no longer a regular file");
	} else if (!md5) {
		return 0; /* not read: nothing to judge by */
	} else if (!match && mine->conffile) {
		set(j, VIGIL_ACTION_CONFFILE_MODIFIED, VIGIL_SEV_MEDIUM, vigil_dpkg_pkg(x->ct, mine->pkg), mine,
		    "differs from the one the package ships");
	} else if (!match) {
		set(j, VIGIL_ACTION_PKG_TAMPERED, VIGIL_SEV_CRITICAL, vigil_dpkg_pkg(x->ct, mine->pkg), mine,
		    "matches no MD5 its package ships");
	} else {
		const struct vigil_dpkg_pkg *p = vigil_dpkg_pkg(x->ct, match->pkg);
		const struct vigil_dpkg_installed *in = NULL;

		for (size_t i = 0; i < x->n_inst && !in; i++)
			if (!x->inst[i].removed && x->inst[i].index == match->pkg)
				in = &x->inst[i];
		j->pkg = p;
		j->sum = match;
		if (!in) { /* dpkg's content (its mode or mtime changed): plain */
			snprintf(j->message, sizeof(j->message), "content is dpkg's for %s %s", p->name,
				 p->version ? p->version : "?");
			return 1;
		}
		j->action = VIGIL_ACTION_PKG_UPGRADE;
		j->severity = VIGIL_SEV_LOW;
		j->installed = in;
		snprintf(j->message, sizeof(j->message), "%s %s in the container: %s -> %s", p->name,
			 in->old_version ? "upgraded" : "installed", in->old_version ? in->old_version : "none",
			 p->version ? p->version : "?");
	}
	return 1;
}

int vigil_dpkg_container_log(const char *path)
{
	static const char *const logs[] = { "/var/log/dpkg.log", "/var/log/apt/history.log", "/var/log/apt/term.log" };

	for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++)
		if (!strcmp(path, logs[i]))
			return 1;
	return 0;
}
