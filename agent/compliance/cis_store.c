/* cis_store.c - a CIS run kept in the baseline store: its results as
 * objects of the generation being written (covered by that generation's
 * signed digest), and the runs read back for trends and listings. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vigil/store.h"

#include "cis_priv.h"

int vigil_cis_store(const struct vigil_cis_report *r, struct vigil_store *st, struct vigil_err *err)
{
	char key[64], *sum = NULL;
	int rc = 0;

	for (size_t i = 0; i < r->n && !rc; i++) {
		char *line = cis_result_json(r, &r->v[i]);

		if (!line)
			return vigil_err_set(err, -ENOMEM, "out of memory");
		snprintf(key, sizeof(key), "%06zu %s", i, r->v[i].check->id);
		rc = vigil_store_put_object(st, "cis", key, line, strlen(line), err);
		free(line);
	}
	if (rc)
		return rc;
	if (asprintf(&sum, "{\"pass\":%zu,\"fail\":%zu,\"info\":%zu,\"not-applicable\":%zu,\"error\":%zu}",
		     r->counts[VIGIL_CIS_PASS], r->counts[VIGIL_CIS_FAIL], r->counts[VIGIL_CIS_INFO],
		     r->counts[VIGIL_CIS_NA], r->counts[VIGIL_CIS_ERROR]) < 0)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	rc = vigil_store_put_object(st, "cis-summary", "counts", sum, strlen(sum), err);
	free(sum);
	return rc;
}

int vigil_cis_history_one(struct vigil_store *st, int64_t gen, struct vigil_cis_run *run, struct vigil_err *err)
{
	struct vigil_generation g;
	json_t *j;
	void *data = NULL;
	size_t len = 0;
	int rc;

	memset(run, 0, sizeof(*run));
	rc = vigil_store_generation(st, gen, &g, err);
	if (rc)
		return rc;
	rc = vigil_store_get_object(st, gen, "cis-summary", "counts", &data, &len, err);
	if (rc)
		return rc;
	j = json_loadb(data, len, 0, NULL);
	free(data);
	if (!json_is_object(j)) {
		json_decref(j);
		return vigil_err_set(err, -EBADMSG, "generation %lld: cis-summary is not a JSON object", (long long)gen);
	}
	run->gen = gen;
	run->created = g.created;
	for (int v = 0; v < VIGIL_CIS_N; v++)
		run->counts[v] = (size_t)json_integer_value(json_object_get(j, vigil_cis_verdict_name(v)));
	json_decref(j);
	return 0;
}

int vigil_cis_history(struct vigil_store *st, size_t max, struct vigil_cis_run **out, size_t *n,
		      struct vigil_err *err)
{
	struct vigil_generation latest;
	struct vigil_cis_run *v = NULL;
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rc = vigil_store_latest(st, &latest, err);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	v = calloc(max ? max : 1, sizeof(*v));
	if (!v)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	for (int64_t id = latest.id; id >= 1 && k < max; id--) {
		rc = vigil_cis_history_one(st, id, &v[k], err);
		if (rc == -ENOENT)
			continue;
		if (rc) {
			free(v);
			return rc;
		}
		k++;
	}
	/* oldest first */
	for (size_t i = 0; i < k / 2; i++) {
		struct vigil_cis_run t = v[i];

		v[i] = v[k - 1 - i];
		v[k - 1 - i] = t;
	}
	*out = v;
	*n = k;
	return 0;
}

/* ---- the CIS results of two generations compared ---- */
struct cis_side {
	json_t *map; /* match key -> the result's JSON object */
};

/* "ID|container or image|file" : a result's identity across runs. */
static char *match_key(json_t *o)
{
	const char *id = json_string_value(json_object_get(json_object_get(o, "rule"), "id"));
	json_t *vg = json_object_get(o, "vigil");
	const char *who = json_string_value(json_object_get(json_object_get(o, "container"), "id"));
	const char *file = json_string_value(json_object_get(json_object_get(vg, "evidence"), "file"));
	char *k = NULL;

	if (!who)
		who = json_string_value(json_object_get(vg, "image_id"));
	if (asprintf(&k, "%s|%s|%s", id ? id : "?", who ? who : "", who ? "" : file ? file : "") < 0)
		return NULL;
	return k;
}

static int collect(void *arg, const char *kind, const char *key, const void *data, size_t len)
{
	struct cis_side *s = arg;
	json_t *o = json_loadb(data, len, 0, NULL);
	char *k;

	(void)kind;
	(void)key;
	if (!json_is_object(o)) {
		json_decref(o);
		return 0;
	}
	k = match_key(o);
	if (!k) {
		json_decref(o);
		return -ENOMEM;
	}
	json_object_set_new(s->map, k, o);
	free(k);
	return 0;
}

static const char *verdict_of(json_t *o)
{
	const char *v = json_string_value(json_object_get(json_object_get(o, "vigil"), "verdict"));

	return v ? v : "?";
}

int vigil_cis_diff(struct vigil_store *st, int64_t a, int64_t b, vigil_cis_change_cb cb, void *arg, size_t *n,
		   struct vigil_err *err)
{
	struct cis_side sa = { json_object() }, sb = { json_object() };
	const char *k;
	json_t *oa, *ob;
	int rc;

	*n = 0;
	if (!sa.map || !sb.map) {
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = vigil_store_objects(st, a, "cis", collect, &sa, err);
	if (!rc)
		rc = vigil_store_objects(st, b, "cis", collect, &sb, err);
	if (rc)
		goto out;
	/* changed or gone, then new (each in key order) */
	json_object_foreach(sa.map, k, oa) {
		ob = json_object_get(sb.map, k);
		if (ob && !strcmp(verdict_of(oa), verdict_of(ob)))
			continue;
		(*n)++;
		if ((rc = cb(arg, oa, ob)))
			goto out;
	}
	json_object_foreach(sb.map, k, ob) {
		if (json_object_get(sa.map, k))
			continue;
		(*n)++;
		if ((rc = cb(arg, NULL, ob)))
			goto out;
	}
out:
	json_decref(sa.map);
	json_decref(sb.map);
	return rc;
}
