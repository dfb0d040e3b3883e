/* docker_locate.c - a path under Docker's data root in Docker's terms: the
 * image layer whose diff dir holds it (chain id, the images using it, the path
 * inside the image) or the container whose upper dir holds it (id, name,
 * image, the path inside the container).
 *
 * A locator is a snapshot of the model taken once (at a check's start, at the
 * daemon's start, reload and when images come or go), then read by any
 * thread without locks.  Lookups are a binary search over the overlay2 dir
 * names: O(log n) per event.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vigil/record.h"

#include "docker_priv.h"

struct loc_dir {
	char *dir;      /* overlay2 dir name (cache id or mount id) */
	char *path;     /* <data root>/overlay2/<dir>/diff */
	int kind;
	char id[VIGIL_DOCKER_DIGEST_LEN + 1];
	char *images, *name, *image;
};

struct vigil_docker_locator {
	char *data_root;
	char *overlay;   /* <data root>/overlay2/ */
	size_t overlay_len;
	struct loc_dir *dirs;   /* sorted by dir */
	size_t n;
	size_t *layers;  /* indexes of layer dirs, sorted by path */
	size_t n_layers;
};

static int by_dir(const void *a, const void *b)
{
	return strcmp(((const struct loc_dir *)a)->dir, ((const struct loc_dir *)b)->dir);
}

static int push(struct vigil_docker_locator *l, size_t *cap, int kind, const char *dir, const char *id,
		const char *images, const char *name, const char *image)
{
	struct loc_dir *x;

	if (!dir || !dir[0] || strchr(dir, '/'))
		return 0;
	if (l->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct loc_dir *nd = realloc(l->dirs, nc * sizeof(*nd));

		if (!nd)
			return -ENOMEM;
		l->dirs = nd;
		*cap = nc;
	}
	x = &l->dirs[l->n];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	snprintf(x->id, sizeof(x->id), "%s", id);
	x->dir = strdup(dir);
	if (asprintf(&x->path, "%s%s/diff", l->overlay, dir) < 0)
		x->path = NULL;
	x->images = images ? strdup(images) : NULL;
	x->name = name ? strdup(name) : NULL;
	x->image = image ? strdup(image) : NULL;
	l->n++;
	if (!x->dir || !x->path || (images && !x->images) || (name && !x->name) || (image && !x->image))
		return -ENOMEM;
	return 0;
}

static int load(struct vigil_docker_locator *l, struct vigil_docker *d)
{
	size_t cap = 0;
	int rc = 0;

	for (size_t i = 0; i < vigil_docker_n_layers(d) && !rc; i++) {
		const struct vigil_docker_layer *ly = vigil_docker_layer(d, i);
		char *users = vigil_docker_layer_users(d, ly);

		rc = push(l, &cap, VIGIL_DOCKER_IN_LAYER, ly->cache_id, ly->chain_id, users, NULL, NULL);
		free(users);
	}
	for (size_t i = 0; i < vigil_docker_n_containers(d) && !rc; i++) {
		const struct vigil_docker_container *c = vigil_docker_container(d, i);
		const char *image = c->image_ref && c->image_ref[0] ? c->image_ref : c->image_id;

		rc = push(l, &cap, VIGIL_DOCKER_IN_CONTAINER, c->mount_id, c->id, NULL, c->name, image);
	}
	return rc;
}

static int layer_by_path(const void *a, const void *b, void *arg)
{
	const struct loc_dir *d = arg;

	return strcmp(d[*(const size_t *)a].path, d[*(const size_t *)b].path);
}

int vigil_docker_locator_new(const char *root, struct vigil_docker_locator **out, struct vigil_err *err)
{
	struct vigil_docker_locator *l;
	struct vigil_docker *d = NULL;
	int rc;

	*out = NULL;
	rc = vigil_docker_load(root, NULL, &d, err);
	if (rc)
		return rc;
	l = calloc(1, sizeof(*l));
	if (!l) {
		vigil_docker_free(d);
		return vigil_err_set(err, -ENOMEM, "out of memory");
	}
	l->data_root = strdup(vigil_docker_data_root(d));
	if (l->data_root && asprintf(&l->overlay, "%s/overlay2/", strcmp(l->data_root, "/") ? l->data_root : "") < 0)
		l->overlay = NULL;
	rc = l->data_root && l->overlay ? load(l, d) : -ENOMEM;
	vigil_docker_free(d);
	if (!rc) {
		l->overlay_len = strlen(l->overlay);
		qsort(l->dirs, l->n, sizeof(*l->dirs), by_dir);
		l->layers = calloc(l->n ? l->n : 1, sizeof(*l->layers));
		if (!l->layers)
			rc = -ENOMEM;
	}
	if (rc) {
		vigil_docker_locator_free(l);
		return vigil_err_set(err, rc, "docker locator: out of memory");
	}
	for (size_t i = 0; i < l->n; i++)
		if (l->dirs[i].kind == VIGIL_DOCKER_IN_LAYER)
			l->layers[l->n_layers++] = i;
	qsort_r(l->layers, l->n_layers, sizeof(*l->layers), layer_by_path, l->dirs);
	*out = l;
	return 0;
}

void vigil_docker_locator_free(struct vigil_docker_locator *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->dirs[i].dir);
		free(l->dirs[i].path);
		free(l->dirs[i].images);
		free(l->dirs[i].name);
		free(l->dirs[i].image);
	}
	free(l->dirs);
	free(l->layers);
	free(l->overlay);
	free(l->data_root);
	free(l);
}

const char *vigil_docker_locator_data_root(const struct vigil_docker_locator *l)
{
	return l->data_root;
}

size_t vigil_docker_locator_n_layers(const struct vigil_docker_locator *l)
{
	return l ? l->n_layers : 0;
}

const char *vigil_docker_locator_layer_dir(const struct vigil_docker_locator *l, size_t i)
{
	return l->dirs[l->layers[i]].path;
}

const char *vigil_docker_locator_layer_id(const struct vigil_docker_locator *l, size_t i)
{
	return l->dirs[l->layers[i]].id;
}

void vigil_docker_where_clear(struct vigil_docker_where *w)
{
	free(w->images);
	free(w->name);
	free(w->image);
	free(w->inner);
	free(w->json);
	memset(w, 0, sizeof(*w));
}

static char *where_json(const struct vigil_docker_where *w)
{
	json_t *o;
	char *s;

	if (w->kind == VIGIL_DOCKER_IN_LAYER)
		o = json_pack("{s:{s:s,s:s?},s:s}", "layer", "chain_id", w->id, "images", w->images, "image_path",
			      w->inner);
	else
		o = json_pack("{s:s}", "container_path", w->inner);
	s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return s;
}

int vigil_docker_locate(const struct vigil_docker_locator *l, const char *path, size_t len,
			struct vigil_docker_where *w)
{
	const struct loc_dir *x;
	struct loc_dir key;
	char name[256];
	const char *rest, *slash;
	size_t n;

	memset(w, 0, sizeof(*w));
	if (!l || len <= l->overlay_len || memcmp(path, l->overlay, l->overlay_len))
		return 0;
	rest = path + l->overlay_len;
	slash = memchr(rest, '/', len - l->overlay_len);
	n = slash ? (size_t)(slash - rest) : len - l->overlay_len;
	/* <dir>/diff, then the path inside */
	if (!slash || n >= sizeof(name) || len - (size_t)(slash - path) < 5 || memcmp(slash, "/diff", 5) ||
	    (len - (size_t)(slash - path) > 5 && slash[5] != '/'))
		return 0;
	memcpy(name, rest, n);
	name[n] = '\0';
	key.dir = name;
	x = bsearch(&key, l->dirs, l->n, sizeof(*l->dirs), by_dir);
	if (!x)
		return 0;
	rest = slash + 5;
	n = len - (size_t)(rest - path);
	w->kind = x->kind;
	snprintf(w->id, sizeof(w->id), "%s", x->id);
	w->inner = n ? vigil_path_escape(rest, n) : strdup("/");
	w->images = x->images ? strdup(x->images) : NULL;
	w->name = x->name ? strdup(x->name) : NULL;
	w->image = x->image ? strdup(x->image) : NULL;
	if (w->inner)
		w->json = where_json(w);
	if (!w->inner || !w->json || (x->images && !w->images) || (x->name && !w->name) || (x->image && !w->image)) {
		vigil_docker_where_clear(w);
		return -ENOMEM;
	}
	return w->kind;
}

int vigil_docker_fill_layer_scope(struct vigil_config *cfg, const struct vigil_docker_locator *l)
{
	for (size_t i = 0; i < cfg->n_scopes; i++) {
		struct vigil_scope *s = &cfg->scopes[i];

		if (s->auto_kind != VIGIL_AUTO_DOCKER_LAYERS)
			continue;
		for (size_t k = 0; k < vigil_docker_locator_n_layers(l); k++) {
			const char *p = vigil_docker_locator_layer_dir(l, k);
			int have = 0;

			for (size_t j = 0; j < s->paths.n && !have; j++)
				have = !strcmp(s->paths.v[j], p);
			if (!have && docker_strv_push(&s->paths, p))
				return -ENOMEM;
		}
	}
	return 0;
}

int vigil_docker_in_layer(const struct vigil_docker_locator *l, const char *path, size_t len)
{
	struct vigil_docker_where w;
	int kind = vigil_docker_locate(l, path, len, &w);

	vigil_docker_where_clear(&w);
	return kind == VIGIL_DOCKER_IN_LAYER;
}
