/* dpkg_open.c - the database read from a root through rootfs.h: whole, or
 * lazily (dpkg_lazy.c reads a package's .list and .md5sums at need). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/rootfs.h"

#include "dpkg_priv.h"

static unsigned usrmerge_of(int rootfd)
{
	static const char *const dirs[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };
	unsigned mask = 0;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char path[16], want[16], got[64];
		ssize_t n;

		snprintf(path, sizeof(path), "/%s", dirs[i]);
		snprintf(want, sizeof(want), "usr/%s", dirs[i]);
		n = vigil_rootfs_readlink(rootfd, path, got, sizeof(got));
		if (n > 0 && (!strcmp(got, want) || (got[0] == '/' && !strcmp(got + 1, want))))
			mask |= 1u << i;
	}
	return mask;
}

/* info/STEM.EXT of package p into *buf, its name into path.  Without a
 * stem, the id is tried first, then the other form (name, or name:arch):
 * debsums does the same. */
int dpkg_read(const struct vigil_dpkg *db, int rootfd, const char *path, char **buf, size_t *len)
{
	if (db->rd)
		return db->rd(db->rd_arg, path, VIGIL_DPKG_MAX_FILE, buf, len);
	return vigil_rootfs_read(rootfd, path, VIGIL_DPKG_MAX_FILE, buf, len);
}

int dpkg_info_names(const struct vigil_dpkg_pkg *p, const char *stem, const char *ext, char names[2][600])
{
	const char *alt[2] = { stem ? stem : p->id, NULL };
	char other[512];
	int n = 0;

	if (!stem) {
		if (strcmp(p->id, p->name))
			alt[1] = p->name;
		else if (p->arch && snprintf(other, sizeof(other), "%s:%s", p->name, p->arch) < (int)sizeof(other))
			alt[1] = other;
	}
	for (int i = 0; i < 2 && alt[i]; i++)
		if (snprintf(names[n], 600, "%s/%s.%s", VIGIL_DPKG_INFO, alt[i], ext) < 600)
			n++;
	return n;
}

int dpkg_read_info(const struct vigil_dpkg *db, int rootfd, const struct vigil_dpkg_pkg *p, const char *stem,
		   const char *ext, char **buf, size_t *len, char *path, size_t size)
{
	char names[2][600];
	int n = dpkg_info_names(p, stem, ext, names), rc = -ENAMETOOLONG;

	for (int i = 0; i < n; i++) {
		snprintf(path, size, "%s", names[i]);
		rc = dpkg_read(db, rootfd, names[i], buf, len);
		if (rc != -ENOENT)
			break;
	}
	return rc;
}

int dpkg_load_pkg(struct vigil_dpkg *db, int rootfd, uint32_t i)
{
	struct vigil_dpkg_pkg *p = &db->pkgs[i];
	char path[600], stem[512];
	struct vigil_err e;
	char *buf = NULL;
	size_t len;
	int rc;

	rc = dpkg_read_info(db, rootfd, p, NULL, "list", &buf, &len, path, sizeof(path));
	if (rc == -ENOENT) /* e.g. config-files only: nothing on disk is its */
		return p->installed ? dpkg_warn(db, "package '%s': no %s.list", p->id, p->id) : 0;
	if (rc < 0)
		return dpkg_warn(db, "package '%s': cannot read %s: %s", p->id, path, strerror(-rc));
	/* the stem that worked, taken from the path read */
	snprintf(stem, sizeof(stem), "%.*s", (int)(strlen(path) - strlen(VIGIL_DPKG_INFO) - 6),
		 path + strlen(VIGIL_DPKG_INFO) + 1);
	p->has_list = 1;
	rc = vigil_dpkg_load_list(db, i, buf, len, path, &e);
	free(buf);
	buf = NULL;
	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		p->bad = 1;
		return dpkg_warn(db, "%s", e.msg);
	}
	if (!p->installed)
		return 0;
	rc = dpkg_read_info(db, rootfd, p, stem, "md5sums", &buf, &len, path, sizeof(path));
	if (rc == -ENOENT)
		return 0; /* debsums: "no md5sums for PKG"; nothing of it is checked */
	if (rc < 0)
		return dpkg_warn(db, "package '%s': cannot read %s: %s", p->id, path, strerror(-rc));
	p->has_md5sums = 1;
	rc = vigil_dpkg_load_md5sums(db, i, buf, len, path, &e);
	free(buf);
	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		p->bad = 1;
		return dpkg_warn(db, "%s", e.msg);
	}
	return 0;
}

/* Everything (lazy: status and diversions, and the owner index instead of
 * every package's .list and .md5sums). */
static int open_db(struct vigil_dpkg *db, int rootfd, int lazy, struct vigil_dpkg **out, struct vigil_err *err)
{
	char *buf = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if (!db)
		return vigil_err_set(err, -ENOMEM, "dpkg: out of memory");
	if (!db->rd)
		vigil_dpkg_set_usrmerge(db, usrmerge_of(rootfd));
	rc = dpkg_read(db, rootfd, VIGIL_DPKG_STATUS, &buf, &len);
	if (rc < 0) {
		vigil_err_set(err, rc, "cannot read %s: %s", VIGIL_DPKG_STATUS, strerror(-rc));
		goto out;
	}
	rc = vigil_dpkg_load_status(db, buf, len, VIGIL_DPKG_STATUS, err);
	free(buf);
	buf = NULL;
	if (rc)
		goto out;
	if (lazy)
		rc = dpkg_index_owners(db, rootfd);
	for (size_t i = 0; !lazy && !rc && i < db->n_pkgs; i++)
		rc = dpkg_load_pkg(db, rootfd, (uint32_t)i);
	if (rc)
		goto out;
	rc = dpkg_read(db, rootfd, VIGIL_DPKG_DIVERSIONS, &buf, &len);
	if (rc == -ENOENT) {
		rc = 0;
	} else if (rc < 0) {
		vigil_err_set(err, rc, "cannot read %s: %s", VIGIL_DPKG_DIVERSIONS, strerror(-rc));
	} else {
		rc = vigil_dpkg_load_diversions(db, buf, len, VIGIL_DPKG_DIVERSIONS, err);
	}
out:
	free(buf);
	if (rc == -ENOMEM)
		vigil_err_set(err, rc, "dpkg: out of memory");
	if (rc) {
		vigil_dpkg_free(db);
		return rc;
	}
	*out = db;
	return 0;
}

int vigil_dpkg_open(int rootfd, struct vigil_dpkg **out, struct vigil_err *err)
{
	return open_db(vigil_dpkg_new(), rootfd, 0, out, err);
}

int vigil_dpkg_open_lazy(int rootfd, struct vigil_dpkg **out, struct vigil_err *err)
{
	return open_db(vigil_dpkg_new(), rootfd, 1, out, err);
}

int vigil_dpkg_open_reader(vigil_dpkg_read_fn rd, void *arg, struct vigil_dpkg **out, struct vigil_err *err)
{
	struct vigil_dpkg *db = vigil_dpkg_new();

	if (db) {
		db->rd = rd;
		db->rd_arg = arg;
	}
	return open_db(db, -1, 0, out, err);
}
