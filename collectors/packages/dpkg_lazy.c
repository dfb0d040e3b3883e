/* dpkg_lazy.c - a lazy database (vigil_dpkg_open_lazy): the status file and
 * the diversions as in a whole one, and instead of every package's .list and
 * .md5sums a compact owner index, one (32-bit hash of the canonical path,
 * package) pair per .list line in one sorted uint64 (8 bytes; .list files
 * streamed on a real root, the index sorted in place).  vigil_dpkg_need()
 * reads in, whole, the packages whose .list names a path (a hash match is
 * only a candidate: the package's own .list then says), so that afterwards
 * vigil_dpkg_lookup() answers for that path as a whole database would.
 * Cost: every .list read once at open (170,847 lines here: 1.4 MB of
 * index), then only the packages of the paths looked up. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/rootfs.h"

#include "dpkg_priv.h"

static int add_own(struct vigil_dpkg *db, uint64_t hash, uint32_t pkg)
{
	if (db->n_own == db->cap_own) {
		size_t cap = db->cap_own ? db->cap_own * 2 : 8192;
		uint64_t *t = realloc(db->own, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		db->own = t;
		db->cap_own = cap;
	}
	db->own[db->n_own++] = (hash & 0xffffffff00000000ull) | pkg;
	return 0;
}

static void sift(uint64_t *a, size_t i, size_t n)
{
	uint64_t v = a[i];

	for (size_t c; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && a[c + 1] > a[c])
			c++;
		if (a[c] <= v)
			break;
		a[i] = a[c];
		a[c] = v;
	}
}

/* In place (qsort would take a copy of the index as scratch). */
static void heap_sort(uint64_t *a, size_t n)
{
	for (size_t k = n / 2; k-- > 0;)
		sift(a, k, n);
	for (size_t m = n; m > 1; m--) {
		uint64_t t = a[0];

		a[0] = a[m - 1];
		a[m - 1] = t;
		sift(a, 0, m - 1);
	}
}

/* The lines of buf[0..len) into the index; the length used (a last line
 * without its newline is left unless at_end). */
static size_t index_lines(struct vigil_dpkg *db, uint32_t pkg, const char *buf, size_t len, int at_end, int *rc)
{
	size_t pos = 0;

	while (pos < len && !*rc) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - buf - pos) : len - pos;

		if (!nl && !at_end)
			break;
		if (n && buf[pos] == '/')
			*rc = add_own(db, dpkg_path_hash(db, buf + pos, n), pkg);
		pos += n + (nl != NULL);
	}
	return pos;
}

/* One .list on the real root, streamed: the largest (4 MB here) is never
 * held whole. */
static int index_stream(struct vigil_dpkg *db, int rootfd, const char *path, uint32_t pkg)
{
	static const size_t cap = 2 * VIGIL_DPKG_MAX_LINE;
	struct stat st;
	int fd = vigil_rootfs_reopen_regular(vigil_rootfs_open(rootfd, path, O_PATH), &st), rc = 0;
	char *buf;
	size_t have = 0;
	ssize_t r = 0;

	if (fd < 0)
		return fd;
	if (!(buf = malloc(cap))) {
		close(fd);
		return -ENOMEM;
	}
	while (!rc && (r = read(fd, buf + have, cap - have)) > 0) {
		size_t used = index_lines(db, pkg, buf, have + (size_t)r, 0, &rc);

		have += (size_t)r - used;
		memmove(buf, buf + used, have);
		if (have == cap)
			rc = -EBADMSG; /* a line longer than dpkg writes */
	}
	if (!rc && r == 0)
		index_lines(db, pkg, buf, have, 1, &rc);
	if (!rc && r < 0)
		rc = -errno;
	free(buf);
	close(fd);
	return rc;
}

/* One package's .list into the index; a broken one is a warning (the
 * lines before the error are indexed: dpkg_load_pkg says it again). */
static int index_pkg(struct vigil_dpkg *db, int rootfd, uint32_t i)
{
	const struct vigil_dpkg_pkg *p = &db->pkgs[i];
	char names[2][600];
	int n = dpkg_info_names(p, NULL, "list", names), rc = -ENOENT, k;

	for (k = 0; k < n && rc == -ENOENT; k++) {
		char *buf = NULL;
		size_t len;

		if (!db->rd) {
			rc = index_stream(db, rootfd, names[k], i);
			continue;
		}
		rc = dpkg_read(db, rootfd, names[k], &buf, &len);
		if (!rc)
			index_lines(db, i, buf, len, 1, &rc);
		free(buf);
	}
	if (rc == -ENOENT || !n)
		return 0; /* config-files only, or none: dpkg_load_pkg warns if it matters */
	if (rc == -ENOMEM)
		return rc;
	return rc ? dpkg_warn(db, "package '%s': cannot read %s: %s", p->id, names[k - 1], strerror(-rc)) : 0;
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
		uint64_t *t = realloc(db->own, db->n_own * sizeof(*t)); /* no slack kept */

		if (t) {
			db->own = t;
			db->cap_own = db->n_own;
		}
		heap_sort(db->own, db->n_own);
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

/* The first entry of path's hash in the index (n_own when none). */
static size_t first_own(const struct vigil_dpkg *db, const char *path, uint64_t *hash)
{
	uint64_t key = dpkg_path_hash(db, path, strlen(path)) & 0xffffffff00000000ull;
	size_t lo = 0, hi = db->n_own;

	*hash = key;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (db->own[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < db->n_own && (db->own[lo] & 0xffffffff00000000ull) == key ? lo : db->n_own;
}

#define OWN_HASH(v) ((v) & 0xffffffff00000000ull)
#define OWN_PKG(v) ((uint32_t)((v) & 0xffffffffu))

unsigned vigil_dpkg_listed(const struct vigil_dpkg *db, const char *path)
{
	struct vigil_dpkg_owner o;
	uint64_t hash;
	unsigned n = 0;

	if (!db->loaded)
		return vigil_dpkg_lookup(db, path, &o) ? o.n_owners : 0;
	for (size_t i = first_own(db, path, &hash); i < db->n_own && OWN_HASH(db->own[i]) == hash; i++)
		n += !i || db->own[i - 1] != db->own[i];
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
	for (; lo < db->n_own && OWN_HASH(db->own[lo]) == hash; lo++)
		if ((rc = vigil_dpkg_need_pkg(db, rootfd, OWN_PKG(db->own[lo]))))
			return rc;
	return 0;
}
