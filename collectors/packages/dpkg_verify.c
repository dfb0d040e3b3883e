/* dpkg_verify.c - packaged files against dpkg's MD5s, without a baseline
 * (vigil_dpkg_verify, see dpkg.h): the same files and the same verdicts as
 * `debsums -a -c`, hashed on the walk's pool.
 * Cost: one sort of the (path, sum) pairs, one MD5 pass over each distinct
 * path, memory ~50 bytes per pair on top of the database. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/crypto.h"
#include "vigil/rootfs.h"
#include "vigil/walk.h"

#include "dpkg_priv.h"

struct check {
	const char *path; /* real path */
	size_t sum;
	size_t slot;      /* index in uniq */
};

struct seen {
	const char *path;
	int ftype, err;
	unsigned status;
	unsigned char md5[16];
};

struct verify {
	const struct vigil_dpkg_verify_opts *o;
	const struct vigil_dpkg *db;
	struct check *c;
	size_t n;
	struct seen *uniq;
	size_t n_uniq, next;
	unsigned char *want; /* per package: selected */
};

static int by_path(const void *a, const void *b)
{
	const struct check *x = a, *y = b;
	int r = strcmp(x->path, y->path);

	return r ? r : (x->sum > y->sum) - (x->sum < y->sum);
}

static const char *next_path(void *arg, size_t *len)
{
	struct verify *v = arg;

	if (v->next == v->n_uniq)
		return NULL;
	*len = strlen(v->uniq[v->next].path);
	return v->uniq[v->next++].path;
}

static int by_seen(const void *key, const void *elem)
{
	return strcmp(key, ((const struct seen *)elem)->path);
}

static int on_record(void *arg, const struct vigil_record *rec, const struct vigil_scope *sc)
{
	struct verify *v = arg;
	struct seen *s;

	(void)sc;
	s = bsearch(rec->path, v->uniq, v->n_uniq, sizeof(*v->uniq), by_seen);
	if (!s)
		return 0;
	s->ftype = rec->ftype;
	s->status = rec->status;
	s->err = rec->err;
	if (rec->algos & VIGIL_ALGO_BIT(VIGIL_ALGO_MD5))
		memcpy(s->md5, rec->digest[VIGIL_ALGO_MD5], 16);
	return 0;
}

/* A packaged path that is a symlink now: debsums follows it (within the
 * root), so vigil does too, here, off the pool (rare). */
static void follow(int rootfd, struct seen *s)
{
	struct vigil_digest *d = vigil_digest_new(VIGIL_ALGO_BIT(VIGIL_ALGO_MD5));
	unsigned char buf[65536];
	struct stat st;
	int fd = vigil_rootfs_reopen_regular(vigil_rootfs_open(rootfd, s->path, O_PATH), &st);
	ssize_t r;

	if (fd < 0 || !d) {
		s->ftype = fd == -ENOENT || fd == -ELOOP ? VIGIL_FT_NONE : fd == -EINVAL ? VIGIL_FT_LNK : s->ftype;
		s->status = fd == -EINVAL || fd == -ENOENT ? 0 : VIGIL_REC_UNREADABLE;
		s->err = fd < 0 ? -fd : ENOMEM;
		goto out;
	}
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		vigil_digest_write(d, buf, (size_t)r);
	s->ftype = r < 0 ? s->ftype : VIGIL_FT_REG;
	s->status = r < 0 ? VIGIL_REC_UNREADABLE : 0;
	s->err = r < 0 ? errno : 0;
	vigil_digest_read(d, VIGIL_ALGO_MD5, s->md5);
out:
	if (fd >= 0)
		close(fd);
	vigil_digest_free(d);
}

/* The verdict on one (package, path) pair, as debsums' check() gives it. */
static int judge(const struct verify *v, const struct check *c, const struct seen *s)
{
	const struct vigil_dpkg_sum *sum = &v->db->sums[c->sum];
	struct vigil_dpkg_owner o;

	if (s->ftype == VIGIL_FT_NONE)
		return VIGIL_DPKG_MISSING;
	if (s->ftype != VIGIL_FT_REG)
		return VIGIL_DPKG_NOT_REGULAR;
	if (s->status & VIGIL_REC_UNREADABLE)
		return VIGIL_DPKG_UNREADABLE;
	if (!memcmp(s->md5, sum->md5, 16))
		return VIGIL_DPKG_OK;
	/* debsums then asks `dpkg -S` who owns the path and stays silent unless
	 * it is exactly this package with no diversion in play */
	if (!vigil_dpkg_lookup(v->db, c->path, &o))
		return VIGIL_DPKG_SHARED;
	for (size_t i = 0; i < o.n_sums; i++) {
		const struct vigil_dpkg_sum *other = &v->db->sums[o.sums[i]];

		if (other->pkg != sum->pkg && !memcmp(other->md5, s->md5, 16))
			return VIGIL_DPKG_REPLACED;
	}
	if (o.n_owners != 1 || o.owner != sum->pkg || o.diverted_to || strcmp(c->path, sum->path))
		return VIGIL_DPKG_SHARED;
	return VIGIL_DPKG_CHANGED;
}

/* Which pairs to check: debsums -a's choice (see dpkg.h). */
static int select_checks(struct verify *v, struct vigil_err *err)
{
	const struct vigil_dpkg *db = v->db;

	v->want = calloc(db->n_pkgs + 1, 1);
	if (!v->want)
		return -ENOMEM;
	for (size_t i = 0; i < v->o->n_pkgs; i++) {
		int64_t k = vigil_dpkg_find_pkg(db, v->o->pkgs[i]);

		if (k < 0 || !db->pkgs[k].installed)
			return vigil_err_set(err, -ENOENT, "package '%s' is not installed", v->o->pkgs[i]);
		v->want[k] = 1;
	}
	v->c = calloc(db->n_sums + 1, sizeof(*v->c));
	if (!v->c)
		return -ENOMEM;
	for (size_t i = 0; i < db->n_sums; i++) {
		const struct vigil_dpkg_sum *s = &db->sums[i];
		const struct vigil_dpkg_pkg *p = &db->pkgs[s->pkg];
		struct vigil_dpkg_owner o;
		int conf = 0;

		if (!p->installed || !p->has_md5sums || (v->o->n_pkgs && !v->want[s->pkg]))
			continue;
		/* a .md5sums line for one of the package's own conffiles: the
		 * conffile's sum from the status file is the one checked */
		if (!s->conffile && vigil_dpkg_lookup(db, s->path, &o))
			for (size_t k = 0; k < o.n_sums && !conf; k++)
				conf = db->sums[o.sums[k]].conffile && db->sums[o.sums[k]].pkg == s->pkg &&
				       !strcmp(db->sums[o.sums[k]].path, s->path);
		if (conf)
			continue;
		v->c[v->n].path = vigil_dpkg_real_path(db, s->path, s->pkg);
		v->c[v->n++].sum = i;
	}
	qsort(v->c, v->n, sizeof(*v->c), by_path);
	v->uniq = calloc(v->n + 1, sizeof(*v->uniq));
	if (!v->uniq)
		return -ENOMEM;
	for (size_t i = 0; i < v->n; i++) {
		if (!v->n_uniq || strcmp(v->uniq[v->n_uniq - 1].path, v->c[i].path)) {
			v->uniq[v->n_uniq].path = v->c[i].path;
			v->uniq[v->n_uniq++].ftype = -1;
		}
		v->c[i].slot = v->n_uniq - 1;
	}
	for (size_t i = 0; i < db->n_pkgs; i++)
		v->want[i] = 0;
	return 0;
}

int vigil_dpkg_verify(const struct vigil_dpkg_verify_opts *o, struct vigil_dpkg_verify_stats *st,
		      struct vigil_err *err)
{
	struct verify v = { .o = o, .db = o->db };
	struct vigil_walk_files_opts wo = { .root = o->root, .algos = VIGIL_ALGO_BIT(VIGIL_ALGO_MD5),
					    .threads = o->threads, .next = next_path, .cb = on_record };
	struct vigil_walk_stats ws;
	int rc, rootfd = -1, confined;

	memset(st, 0, sizeof(*st));
	rc = select_checks(&v, err);
	if (rc)
		goto out;
	wo.next_arg = &v;
	wo.arg = &v;
	rc = vigil_walk_files(&wo, &ws, err);
	if (rc)
		goto out;
	st->bytes = ws.bytes;
	rootfd = vigil_rootfs_open_root(o->root, &confined);
	if (rootfd < 0) {
		rc = vigil_err_set(err, rootfd, "cannot open root '%s'", o->root ? o->root : "/");
		goto out;
	}
	for (size_t i = 0; i < v.n_uniq; i++)
		if (v.uniq[i].ftype == VIGIL_FT_LNK)
			follow(rootfd, &v.uniq[i]);
	for (size_t i = 0; i < v.n && !rc; i++) {
		const struct seen *s = &v.uniq[v.c[i].slot];
		struct vigil_dpkg_result r = { .sum = &v.db->sums[v.c[i].sum], .real_path = v.c[i].path };

		r.pkg = &v.db->pkgs[r.sum->pkg];
		r.verdict = judge(&v, &v.c[i], s);
		memcpy(r.md5, s->md5, 16);
		r.err = s->err;
		st->files++;
		st->n[r.verdict]++;
		if (!v.want[r.sum->pkg]) {
			v.want[r.sum->pkg] = 1;
			st->packages++;
		}
		if ((r.verdict != VIGIL_DPKG_OK || o->all) && o->cb)
			rc = o->cb(o->arg, &r);
	}
out:
	if (rootfd >= 0)
		close(rootfd);
	free(v.want);
	free(v.c);
	free(v.uniq);
	return rc;
}

const char *vigil_dpkg_verdict_name(int verdict)
{
	static const char *const names[] = { "ok", "changed", "shared", "replaced", "missing", "not-regular",
					     "unreadable" };

	return verdict >= 0 && verdict <= VIGIL_DPKG_UNREADABLE ? names[verdict] : "?";
}
