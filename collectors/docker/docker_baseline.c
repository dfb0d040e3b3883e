/* docker_baseline.c - image layers in the signed baseline: one object per
 * layer (kind "layer", key chain id), and the check that re-verifies every
 * layer on disk against them.
 *
 * Layers are immutable by design, so check re-verifies each one completely
 * (tar stream rebuilt and hashed, headers compared) rather than trusting a
 * cached digest: the baseline says which layers existed and that they were
 * intact then; the check proves they still are.  A layer shared by many
 * images is one object and is verified once.  Containers' upper layers are
 * never baselined (they change by design: see `vigil drift`).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vigil/event.h"
#include "vigil/record.h"
#include "vigil/store.h"

#include "docker_model.h"
#include "docker_priv.h"

#define LAYER_KIND "layer"
#define IMAGE_KIND "image"

static const char *vstatus(int s)
{
	return s == VIGIL_DOCKER_LAYER_OK ? "ok" : s == VIGIL_DOCKER_LAYER_MODIFIED ? "modified" : "error";
}

/* Loads the data root inside root; a host without Docker data has no layers. */
static int load_all(const char *root, struct vigil_docker **d, struct vigil_docker_verify **v, size_t *n,
		    int threads, struct vigil_err *err)
{
	int rc;

	*d = NULL;
	*v = NULL;
	*n = 0;
	rc = vigil_docker_load(root, NULL, d, err);
	if (rc == -ENOENT || rc == -ENOTDIR)
		return 1; /* no overlay2 data root: nothing to do */
	if (rc)
		return rc;
	rc = vigil_docker_verify(*d, NULL, 0, threads, v, n, err);
	if (rc) {
		vigil_docker_free(*d);
		*d = NULL;
	}
	return rc;
}

static json_t *layer_json(const struct vigil_docker *d, const struct vigil_docker_verify *v)
{
	char *users = vigil_docker_layer_users(d, v->layer);
	json_t *j = json_pack("{s:s,s:o,s:I,s:s,s:o,s:o,s:o}", "diff_id", v->layer->diff_id, "cache_id",
			      v->layer->cache_id ? json_string(v->layer->cache_id) : json_null(), "size",
			      (json_int_t)v->layer->size, "status", vstatus(v->status), "digest",
			      v->digest[0] ? json_string(v->digest) : json_null(), "images",
			      users ? json_string(users) : json_null(), "first_bad",
			      v->first_bad ? json_string(v->first_bad) : json_null());

	free(users);
	return j;
}

static json_t *image_json(const struct vigil_docker_image *im)
{
	json_t *j = json_pack("{s:b,s:[],s:[]}", "config_ok", im->id_checked && im->id_ok, "layers", "tags");

	for (size_t i = 0; j && i < im->chain_ids.n; i++)
		json_array_append_new(json_object_get(j, "layers"), json_string(im->chain_ids.v[i]));
	for (size_t i = 0; j && i < im->tags.n; i++)
		json_array_append_new(json_object_get(j, "tags"), json_string(im->tags.v[i]));
	return j;
}

static int put_json(struct vigil_store *st, const char *kind, const char *key, json_t *j, struct vigil_err *err)
{
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	int rc;

	if (!text)
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
	else
		rc = vigil_store_put_object(st, kind, key, text, strlen(text), err);
	free(text);
	json_decref(j);
	return rc;
}

int vigil_docker_layers_baseline(const char *root, struct vigil_store *st, int threads, struct vigil_err *err)
{
	struct vigil_docker *d;
	struct vigil_docker_verify *v;
	size_t n;
	int rc = load_all(root, &d, &v, &n, threads, err), bad = 0;

	if (rc == 1)
		return 0;
	if (rc)
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		rc = put_json(st, LAYER_KIND, v[i].layer->chain_id, layer_json(d, &v[i]), err);
		bad |= v[i].status != VIGIL_DOCKER_LAYER_OK;
	}
	/* Image configs too: a rewritten config (other entrypoint, other layers)
	 * is caught by its id no longer matching its digest. */
	for (size_t i = 0; i < vigil_docker_n_images(d) && !rc; i++) {
		const struct vigil_docker_image *im = vigil_docker_image(d, i);

		rc = put_json(st, IMAGE_KIND, im->id, image_json(im), err);
		bad |= !(im->id_checked && im->id_ok);
	}
	vigil_docker_verify_free(v, n);
	vigil_docker_free(d);
	return rc ? rc : bad;
}

static long known_find(const struct vigil_store_objlist *k, const char *key)
{
	for (size_t i = 0; i < k->n; i++) /* objects come in key order; n is small (layers) */
		if (k->key[i] && !strcmp(k->key[i], key))
			return (long)i;
	return -1;
}

static char *extra(const struct vigil_docker *d, const struct vigil_docker_verify *v, const char *old)
{
	json_t *j = layer_json(d, v), *f = json_array();
	char *s;

	json_object_set_new(j, "chain_id", json_string(v->layer->chain_id));
	for (size_t i = 0; i < v->n_findings && i < 20; i++) {
		char *p = vigil_path_escape(v->findings[i].path, strlen(v->findings[i].path));

		json_array_append_new(f, json_pack("{s:s,s:s}", "path", p ? p : "?", "detail",
						   v->findings[i].detail ? v->findings[i].detail : ""));
		free(p);
	}
	json_object_set_new(j, "findings", f);
	if (v->error)
		json_object_set_new(j, "error", json_string(v->error));
	if (old)
		json_object_set_new(j, "baseline", json_loads(old, 0, NULL));
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

struct check {
	const char *root;
	struct vigil_store *st;
	int64_t gen;
	int threads;
	const char *const *refs; /* NULL: every layer, images, new layers reported */
	size_t nrefs;
	int report_retired;
	vigil_docker_layer_cb cb;
	void *arg;
};

/* One layer's verification, reported; *critical counts layer-changed. */
static int report_layer(const struct check *c, const struct vigil_docker *d, const struct vigil_docker_verify *x,
			struct vigil_store_objlist *k, int *critical)
{
	long at = known_find(k, x->layer->chain_id);
	char msg[1024], *ex = extra(d, x, at >= 0 ? k->data[at] : NULL), *users;
	int rc = 0;

	users = vigil_docker_layer_users(d, x->layer);
	if (x->status == VIGIL_DOCKER_LAYER_MODIFIED) {
		snprintf(msg, sizeof(msg), "image layer %s differs from its digest or headers%s%s (images: %s)",
			 x->layer->chain_id, x->first_bad ? "; first differing file " : "",
			 x->first_bad ? x->first_bad : "", users ? users : "none");
		rc = c->cb(c->arg, VIGIL_ACTION_LAYER_CHANGED, VIGIL_SEV_CRITICAL, x->layer->chain_id, msg, ex);
		(*critical)++;
	} else if (x->status == VIGIL_DOCKER_LAYER_ERROR) {
		snprintf(msg, sizeof(msg), "image layer %s cannot be verified: %s", x->layer->chain_id,
			 x->error ? x->error : "unknown error");
		rc = c->cb(c->arg, VIGIL_ACTION_LAYER_UNVERIFIABLE, VIGIL_SEV_HIGH, x->layer->chain_id, msg, ex);
	} else if (at < 0 && !c->refs) {
		snprintf(msg, sizeof(msg), "new image layer %s (images: %s), verified", x->layer->chain_id,
			 users ? users : "none");
		rc = c->cb(c->arg, VIGIL_ACTION_LAYER_ADDED, VIGIL_SEV_LOW, x->layer->chain_id, msg, ex);
	}
	if (at >= 0) {
		free(k->key[at]);
		k->key[at] = NULL;
	}
	free(users);
	free(ex);
	return rc;
}

/* 1 when the baseline's image object names other layers than ids. */
static int layers_differ(const char *old, const struct vigil_strv *ids)
{
	json_t *j = json_loads(old, 0, NULL), *a = json_object_get(j, "layers");
	int differ = !json_is_array(a) || json_array_size(a) != ids->n;

	for (size_t i = 0; !differ && i < ids->n; i++) {
		const char *s = json_string_value(json_array_get(a, i));

		differ = !s || strcmp(s, ids->v[i]);
	}
	json_decref(j);
	return differ;
}

/* Image configs: one that no longer matches its id was rewritten; one that
 * names other layers than at baseline time was replaced.  A new image is
 * said by its new layers; a removed one is quiet, like its layers. */
static int check_images(const struct check *c, const struct vigil_docker *d, int *critical, struct vigil_err *err)
{
	struct vigil_store_objlist k = { 0 };
	int rc = vigil_store_objects(c->st, c->gen, IMAGE_KIND, vigil_store_objlist_add, &k, err);

	for (size_t i = 0; i < vigil_docker_n_images(d) && !rc; i++) {
		const struct vigil_docker_image *im = vigil_docker_image(d, i);
		long at = known_find(&k, im->id);
		char msg[1024], *ex;
		json_t *j;

		if (im->id_checked && im->id_ok && (at < 0 || !layers_differ(k.data[at], &im->chain_ids)))
			continue;
		if (!im->id_checked && at < 0)
			continue; /* never seen whole: nothing to compare with */
		if (im->id_checked && !im->id_ok)
			snprintf(msg, sizeof(msg), "image %s: its config no longer matches its id (rewritten)%s%s",
				 im->id, im->tags.n ? "; tags " : "", im->tags.n ? im->tags.v[0] : "");
		else if (!im->id_checked)
			snprintf(msg, sizeof(msg), "image %s: its config cannot be read: %s", im->id,
				 im->error ? im->error : "unknown error");
		else
			snprintf(msg, sizeof(msg), "image %s names other layers than at baseline time", im->id);
		j = image_json(im);
		if (j) {
			json_object_set_new(j, "image_id", json_string(im->id));
			if (im->error)
				json_object_set_new(j, "error", json_string(im->error));
			if (at >= 0)
				json_object_set_new(j, "baseline", json_loads(k.data[at], 0, NULL));
		}
		ex = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		rc = c->cb(c->arg, VIGIL_ACTION_IMAGE_CHANGED, VIGIL_SEV_CRITICAL, im->id, msg, ex);
		free(ex);
		(*critical)++;
	}
	vigil_store_objlist_free(&k);
	return rc;
}

static int check_run(const struct check *c, struct vigil_err *err)
{
	struct vigil_store_objlist k = { 0 };
	struct vigil_docker *d = NULL;
	struct vigil_docker_verify *v = NULL;
	size_t n = 0;
	int rc, critical = 0;

	rc = vigil_store_objects(c->st, c->gen, LAYER_KIND, vigil_store_objlist_add, &k, err);
	if (rc)
		goto out;
	rc = vigil_docker_load(c->root, NULL, &d, err);
	if (rc == -ENOENT || rc == -ENOTDIR) {
		rc = 0; /* no overlay2 data root: nothing to verify */
		goto out;
	}
	if (!rc)
		rc = vigil_docker_verify(d, c->refs, c->nrefs, c->threads, &v, &n, err);
	for (size_t i = 0; i < n && !rc; i++)
		rc = report_layer(c, d, &v[i], &k, &critical);
	for (size_t i = 0; i < k.n && !rc && c->report_retired; i++) {
		char msg[256];

		if (!k.key[i])
			continue;
		snprintf(msg, sizeof(msg), "image layer %s is gone (image removed)", k.key[i]);
		rc = c->cb(c->arg, VIGIL_ACTION_LAYER_RETIRED, VIGIL_SEV_LOW, k.key[i], msg, NULL);
	}
	if (!rc && !c->refs)
		rc = check_images(c, d, &critical, err);
out:
	vigil_store_objlist_free(&k);
	vigil_docker_verify_free(v, n);
	vigil_docker_free(d);
	return rc < 0 ? rc : critical;
}

int vigil_docker_layers_check(const char *root, struct vigil_store *st, int64_t gen, int threads,
			      int report_retired, vigil_docker_layer_cb cb, void *arg, struct vigil_err *err)
{
	struct check c = { .root = root, .st = st, .gen = gen, .threads = threads,
			   .report_retired = report_retired, .cb = cb, .arg = arg };

	return check_run(&c, err);
}

int vigil_docker_layers_check_some(const char *root, struct vigil_store *st, int64_t gen, int threads,
				   const char *const *chain_ids, size_t n, vigil_docker_layer_cb cb, void *arg,
				   struct vigil_err *err)
{
	struct check c = { .root = root, .st = st, .gen = gen, .threads = threads,
			   .refs = chain_ids, .nrefs = n, .cb = cb, .arg = arg };

	if (!n)
		return 0;
	return check_run(&c, err);
}
