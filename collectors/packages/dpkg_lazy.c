/* dpkg_lazy.c - a lazy database (vigil_dpkg_open_lazy): the status file and
 * the diversions as in a whole one, and instead of every package's .list and
 * .md5sums a compact owner index, one (64-bit hash of the canonical path,
 * package) pair per .list line, 16 bytes, sorted by hash.  vigil_dpkg_need()
 * reads in, whole, the packages whose .list names a path (a hash match is
 * only a candidate: the package's own .list then says), so that afterwards
 * vigil_dpkg_lookup() answers for that path as a whole database would.
 * Cost: every .list read once at open (170,847 lines here: about 2.7 MB of
 * index), then only the packages of the paths looked up. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/rootfs.h"

#include "dpkg_priv.h"

static int add_own(struct vigil_dpkg *db, uint64_t hash, uint32_t pkg)
{
	if (db->n_own == db->cap_own) {
		size_t cap = db->cap_own ? db->cap_own * 2 : 8192;
		struct dpkg_own *t = realloc(db->own, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		db->own = t;
		db->cap_own = cap;
	}
	db->own[db->n_own++] = (struct dpkg_own){ hash, pkg };
	return 0;
}

static int by_own(const void *a, const void *b)
{
	const struct dpkg_own *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->pkg < y->pkg ? -1 : x->pkg > y->pkg;
}

/* One package's .list into the index; a broken one is a warning (the
 * lines before the error are indexed: dpkg_load_pkg says it again). */
static int index_pkg(struct vigil_dpkg *db, int rootfd, uint32_t i)
{
	const struct vigil_dpkg_pkg *p = &db->pkgs[i];
	char path[600];
	struct dpkg_lines l = { .file = path };
	struct vigil_err e;
	const char *line;
	char *buf = NULL;
	size_t len, n;
	int rc = dpkg_read_info(db, rootfd, p, NULL, "list", &buf, &len, path, sizeof(path));

	if (rc == -ENOENT)
		return 0; /* config-files only, or none: dpkg_load_pkg warns if it matters */
	if (rc < 0)
		return dpkg_warn(db, "package '%s': cannot read %s: %s", p->id, path, strerror(-rc));
	l.buf = buf;
	l.len = len;
	while ((rc = dpkg_lines_next(&l, &line, &n, &e)) > 0)
		if (n && line[0] == '/' && (rc = add_own(db, dpkg_path_hash(db, line, n), i)))
			break;
	free(buf);
	if (rc == -ENOMEM)
		return rc;
	return rc ? dpkg_warn(db, "%s", e.msg) : 0;
}

int dpkg_index_owners(struct vigil_dpkg *db, int rootfd)
{
	int rc;

	free(db->loaded);
	db->loaded = calloc(db->n_pkgs + 1, 1);
	if (!db->loaded)
		return -ENOMEM;
	for (size_t i = 0; i < db->n_pkgs; i++)
		if ((rc = index_pkg(db, rootfd, (uint32_t)i)))
			return rc;
	if (db->n_own) {
		struct dpkg_own *t = realloc(db->own, db->n_own * sizeof(*t)); /* no slack kept */

		if (t) {
			db->own = t;
			db->cap_own = db->n_own;
		}
		qsort(db->own, db->n_own, sizeof(*db->own), by_own);
	}
	return 0;
}

int vigil_dpkg_need_pkg(struct vigil_dpkg *db, int rootfd, uint32_t pkg)
{
	int rc;

	if (!db->loaded || pkg >= db->n_pkgs || db->loaded[pkg])
		return 0;
	db->loaded[pkg] = 1;
	rc = dpkg_load_pkg(db, rootfd, pkg);
	return rc == -ENOMEM ? rc : 0;
}

/* The first pair of path's hash in the index (n_own when none). */
static size_t first_own(const struct vigil_dpkg *db, const char *path, uint64_t *hash)
{
	struct dpkg_own key = { dpkg_path_hash(db, path, strlen(path)), 0 };
	size_t lo = 0, hi = db->n_own;

	*hash = key.hash;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (by_own(&db->own[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < db->n_own && db->own[lo].hash == key.hash ? lo : db->n_own;
}

unsigned vigil_dpkg_listed(const struct vigil_dpkg *db, const char *path)
{
	struct vigil_dpkg_owner o;
	uint64_t hash;
	unsigned n = 0;

	if (!db->loaded)
		return vigil_dpkg_lookup(db, path, &o) ? o.n_owners : 0;
	for (size_t i = first_own(db, path, &hash); i < db->n_own && db->own[i].hash == hash; i++)
		n += !i || db->own[i - 1].hash != hash || db->own[i - 1].pkg != db->own[i].pkg;
	return n;
}

int vigil_dpkg_need(struct vigil_dpkg *db, int rootfd, const char *path)
{
	uint64_t hash;
	size_t lo;
	int rc;

	if (!db->loaded)
		return 0;
	lo = first_own(db, path, &hash);
	for (; lo < db->n_own && db->own[lo].hash == hash; lo++)
		if ((rc = vigil_dpkg_need_pkg(db, rootfd, db->own[lo].pkg)))
			return rc;
	return 0;
}
