/* gendiff.c - two generations' records merged in path order (memcmp order,
 * the store's), each pair judged by vigil_compare().  Memory: one record of
 * each side at a time.  And their Docker layer and image objects merged by
 * key (both generations' objects of one kind in memory: hundreds, small). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vigil/actions.h"
#include "vigil/event.h"
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

/* --- Docker objects ------------------------------------------------------------------ */

/* The objects of one kind come from vigil_store_objects() in key order. */

/* The top-level fields of two stored objects that differ, "a, b", in
 * out; 1 when one that matters for integrity is among them (a layer no
 * longer "ok", an image config that no longer matches its id, other layers). */
static int fields_differ(const char *kind, json_t *old, json_t *cur, char *out, size_t size)
{
	const char *k;
	json_t *v;
	size_t o = 0;
	int serious = 0;

	out[0] = '\0';
	json_object_foreach(cur, k, v) {
		if (json_equal(v, json_object_get(old, k)))
			continue;
		o += (size_t)snprintf(out + o, o < size ? size - o : 0, "%s%s", o ? ", " : "", k);
		if (!strcmp(kind, "layer") && !strcmp(k, "status"))
			serious |= !json_is_string(v) || strcmp(json_string_value(v), "ok");
		if (!strcmp(kind, "image") && (!strcmp(k, "layers") || (!strcmp(k, "config_ok") && !json_is_true(v))))
			serious = 1;
	}
	json_object_foreach(old, k, v) {
		if (!json_object_get(cur, k))
			o += (size_t)snprintf(out + o, o < size ? size - o : 0, "%s%s", o ? ", " : "", k);
	}
	return serious;
}

/* One object of kind in a only (cur NULL), b only (old NULL) or both. */
static int emit_object(const char *kind, const char *key, const char *old, const char *cur, vigil_run_diff_cb cb,
		       void *arg, size_t *n)
{
	int layer = !strcmp(kind, "layer");
	json_t *jo = old ? json_loads(old, 0, NULL) : NULL, *jc = cur ? json_loads(cur, 0, NULL) : NULL, *ex;
	struct vigil_run_diff rd;
	char msg[1024], fields[512];
	char *extra;
	int rc;

	memset(&rd, 0, sizeof(rd));
	rd.object = key;
	rd.message = msg;
	rd.scope = "docker";
	rd.severity = VIGIL_SEV_LOW;
	if (!old) {
		rd.action = layer ? VIGIL_ACTION_DIFF_LAYER_ADDED : VIGIL_ACTION_DIFF_IMAGE_ADDED;
		snprintf(msg, sizeof(msg), "%s %s: not in the older generation", layer ? "image layer" : "image", key);
	} else if (!cur) {
		rd.action = layer ? VIGIL_ACTION_DIFF_LAYER_REMOVED : VIGIL_ACTION_DIFF_IMAGE_REMOVED;
		snprintf(msg, sizeof(msg), "%s %s: not in the newer generation", layer ? "image layer" : "image", key);
	} else {
		if (fields_differ(kind, jo, jc, fields, sizeof(fields)))
			rd.severity = VIGIL_SEV_CRITICAL;
		rd.action = layer ? VIGIL_ACTION_DIFF_LAYER_CHANGED : VIGIL_ACTION_DIFF_IMAGE_CHANGED;
		snprintf(msg, sizeof(msg), "%s %s: stored differently (%s)", layer ? "image layer" : "image", key,
			 fields[0] ? fields : "not JSON");
	}
	ex = json_pack("{s:s,s:o,s:o}", "kind", kind, "old", jo ? json_incref(jo) : json_null(), "new",
		       jc ? json_incref(jc) : json_null());
	extra = ex ? json_dumps(ex, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(ex);
	json_decref(jo);
	json_decref(jc);
	if (!extra)
		return -ENOMEM;
	rd.extra_json = extra;
	(*n)++;
	rc = cb(arg, &rd);
	free(extra);
	return rc;
}

static int diff_kind(struct vigil_store *st, int64_t a, int64_t b, const char *kind, vigil_run_diff_cb cb,
		     void *arg, size_t *n, struct vigil_err *err)
{
	struct vigil_store_objlist oa = { 0 }, ob = { 0 };
	size_t i = 0, j = 0;
	int rc = vigil_store_objects(st, a, kind, vigil_store_objlist_add, &oa, err);

	if (!rc)
		rc = vigil_store_objects(st, b, kind, vigil_store_objlist_add, &ob, err);
	if (rc == -ENOMEM)
		vigil_err_set(err, rc, "diff of %s objects: out of memory", kind);
	while (!rc && (i < oa.n || j < ob.n)) {
		int c = i == oa.n ? 1 : j == ob.n ? -1 : strcmp(oa.key[i], ob.key[j]);

		if (c == 0 && !strcmp(oa.data[i], ob.data[j])) {
			i++;
			j++;
			continue;
		}
		rc = emit_object(kind, c <= 0 ? oa.key[i] : ob.key[j], c <= 0 ? oa.data[i] : NULL,
				 c >= 0 ? ob.data[j] : NULL, cb, arg, n);
		if (rc == -ENOMEM)
			vigil_err_set(err, rc, "diff of %s objects: out of memory", kind);
		i += c <= 0;
		j += c >= 0;
	}
	vigil_store_objlist_free(&oa);
	vigil_store_objlist_free(&ob);
	return rc;
}

int vigil_gendiff_objects(struct vigil_store *st, int64_t a, int64_t b, vigil_run_diff_cb cb, void *arg,
			  size_t *n, struct vigil_err *err)
{
	int rc;

	*n = 0;
	rc = diff_kind(st, a, b, "layer", cb, arg, n, err);
	return rc ? rc : diff_kind(st, a, b, "image", cb, arg, n, err);
}
