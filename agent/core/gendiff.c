/* gendiff.c - two generations' records merged in path order (memcmp order,
 * the store's), each pair judged by vigil_compare().  Memory: one record of
 * each side at a time. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "vigil/gendiff.h"
#include "vigil/scope.h"

/* memcmp order of two paths, shorter first on a common prefix. */
static int path_cmp(const struct vigil_record *x, const struct vigil_record *y)
{
	size_t n = x->path_len < y->path_len ? x->path_len : y->path_len;
	int c = memcmp(x->path, y->path, n);

	return c ? c : (x->path_len > y->path_len) - (x->path_len < y->path_len);
}

static int emit(const struct vigil_config *cfg, const struct vigil_record *old, const struct vigil_record *cur,
		vigil_run_diff_cb cb, void *arg, struct vigil_tally *t)
{
	const struct vigil_record *any = old ? old : cur;
	const struct vigil_scope *sc = vigil_scope_for(cfg, any->path, any->path_len);
	struct vigil_decision d;
	struct vigil_run_diff rd;

	t->seen++;
	if (!vigil_compare(sc, old, cur, &d))
		return 0;
	vigil_tally_add(t, d.action);
	memset(&rd, 0, sizeof(rd));
	rd.action = d.action;
	rd.severity = d.severity;
	rd.scope = sc ? sc->name : any->scope;
	rd.sc = sc;
	rd.mask = d.mask;
	rd.path = any->path;
	rd.path_len = any->path_len;
	rd.old = old;
	rd.cur = cur;
	rd.changed = d.changed;
	return cb(arg, &rd);
}

int vigil_gendiff_records(struct vigil_store *st, int64_t a, int64_t b, const struct vigil_config *cfg,
			  vigil_run_diff_cb cb, void *arg, struct vigil_tally *t, struct vigil_err *err)
{
	struct vigil_store_iter *ia = NULL, *ib = NULL;
	struct vigil_record ra, rb, ka;
	int rc, ha, hb;

	memset(t, 0, sizeof(*t));
	vigil_record_init(&ka);
	rc = vigil_store_iter_new(st, a, &ia, err);
	if (!rc)
		rc = vigil_store_iter_new(st, b, &ib, err);
	if (rc)
		goto out;
	ha = vigil_store_iter_next(ia, &ra, err);
	hb = vigil_store_iter_next(ib, &rb, err);
	while (ha > 0 || hb > 0) {
		int c = ha <= 0 ? 1 : hb <= 0 ? -1 : path_cmp(&ra, &rb);

		/* a's record must outlive b's next step when both advance: copy it */
		if (ha > 0 && (rc = vigil_record_copy(&ka, &ra))) {
			rc = vigil_err_set(err, rc, "out of memory");
			goto out;
		}
		rc = emit(cfg, c <= 0 ? &ka : NULL, c >= 0 ? &rb : NULL, cb, arg, t);
		vigil_record_clear(&ka);
		if (rc)
			goto out;
		if (c <= 0)
			ha = vigil_store_iter_next(ia, &ra, err);
		if (c >= 0)
			hb = vigil_store_iter_next(ib, &rb, err);
	}
	rc = ha < 0 ? ha : hb < 0 ? hb : 0;
out:
	vigil_record_clear(&ka);
	vigil_store_iter_free(ia);
	vigil_store_iter_free(ib);
	return rc;
}
