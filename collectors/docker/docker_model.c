/* docker_model.c - the overlay2 data root read from its files (FORMATS.md):
 * repositories.json, imagedb, layerdb, containers/.
 *
 * Each image config, layer and container is read on its own: a malformed one
 * gets an error message and the others are still loaded.  JSON files are
 * bounded (DOCKER_JSON_MAX), ids are validated before they are used as path
 * components, and every open is confined beneath the data root.
 * Containers are read in docker_containers.c, lookups are docker_find.c.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "vigil/crypto.h"

#include "docker_priv.h"
#include "docker_model.h"

char *docker_errf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s ? s : strdup("out of memory");
}

char *docker_jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

/* A cache or mount id is used as a path component: it must be one. */
int docker_safe_component(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 256 && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

void docker_chain_id(const char *parent, const char *diff_id, char out[VIGIL_DOCKER_DIGEST_LEN + 1])
{
	unsigned char md[32];
	char buf[2 * (VIGIL_DOCKER_DIGEST_LEN + 1)];

	if (!parent || !parent[0]) {
		snprintf(out, VIGIL_DOCKER_DIGEST_LEN + 1, "%s", diff_id);
		return;
	}
	snprintf(buf, sizeof(buf), "%s %s", parent, diff_id);
	vigil_sha256(buf, strlen(buf), md);
	memcpy(out, "sha256:", 7);
	vigil_hex(md, 32, out + 7);
}

int docker_dir_entries(int dirfd, const char *rel, struct vigil_strv *names)
{
	int fd = docker_open_beneath(dirfd, rel, O_RDONLY | O_DIRECTORY);
	DIR *dir;
	struct dirent *de;
	int rc = 0;

	if (fd < 0)
		return fd;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		rc = docker_strv_push(names, de->d_name);
		if (rc)
			break;
	}
	closedir(dir);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A layerdb file that is missing or holds garbage was tampered with (a
 * finding); one that cannot be read (EACCES, EIO) makes the layer unverifiable. */
static void layer_bad(struct vigil_docker *d, struct vigil_docker_layer *l, const char *rel, int rc,
		      const char *what)
{
	free(l->error);
	l->error = docker_errf("%s/%s: %s", d->data_root, rel, rc && rc != -ENOENT ? strerror(-rc) : what);
	l->meta_bad = !rc || rc == -ENOENT;
}

static void load_layer(struct vigil_docker *d, const char *hex, struct vigil_docker_layer *l)
{
	char rel[512], *s = NULL, want[VIGIL_DOCKER_DIGEST_LEN + 1];
	int rc;

	snprintf(l->chain_id, sizeof(l->chain_id), "sha256:%s", hex);
	l->size = -1;
#define LPATH(f) (snprintf(rel, sizeof(rel), "image/overlay2/layerdb/sha256/%s/%s", hex, f), rel)
	rc = docker_read_id(d->datafd, LPATH("diff"), &s);
	if (rc || !docker_is_digest(s)) {
		layer_bad(d, l, rel, rc, rc ? "missing" : "not a sha256 digest");
		goto out;
	}
	snprintf(l->diff_id, sizeof(l->diff_id), "%s", s);
	free(s);
	s = NULL;
	rc = docker_read_id(d->datafd, LPATH("parent"), &s);
	if (rc == 0) {
		if (!docker_is_digest(s)) {
			layer_bad(d, l, rel, 0, "not a sha256 digest");
			goto out;
		}
		snprintf(l->parent, sizeof(l->parent), "%s", s);
	} else if (rc != -ENOENT) {
		layer_bad(d, l, rel, rc, "");
		goto out;
	}
	free(s);
	s = NULL;
	rc = docker_read_id(d->datafd, LPATH("size"), &s);
	if (rc == 0) {
		char *end;
		long long v = strtoll(s, &end, 10);

		if (*end || v < 0)
			layer_bad(d, l, rel, 0, "not a size");
		else
			l->size = v;
	}
	free(s);
	s = NULL;
	docker_chain_id(l->parent, l->diff_id, want);
	l->chain_ok = !strcmp(want, l->chain_id);
	if (!l->chain_ok && !l->error) {
		char what[256];

		snprintf(what, sizeof(what), "chain id does not match diff %s and parent %s", l->diff_id,
			 l->parent[0] ? l->parent : "(none)");
		layer_bad(d, l, LPATH("diff"), 0, what);
	}
	rc = docker_read_id(d->datafd, LPATH("cache-id"), &s);
	if (rc || !docker_safe_component(s)) {
		layer_bad(d, l, rel, rc, rc ? "missing cache-id" : "not a valid cache id");
		goto out;
	}
	l->cache_id = s;
	s = NULL;
#undef LPATH
out:
	free(s);
}

static int cmp_layer(const void *a, const void *b)
{
	return strcmp(((const struct vigil_docker_layer *)a)->chain_id,
		      ((const struct vigil_docker_layer *)b)->chain_id);
}

static int load_layers(struct vigil_docker *d, struct vigil_err *err)
{
	struct vigil_strv names = { 0 };
	int rc = docker_dir_entries(d->datafd, "image/overlay2/layerdb/sha256", &names);

	if (rc == -ENOENT)
		rc = 0;
	if (rc) {
		vigil_err_set(err, rc, "%s/image/overlay2/layerdb/sha256: %s", d->data_root, strerror(-rc));
		goto out;
	}
	d->layers = calloc(names.n ? names.n : 1, sizeof(*d->layers));
	if (!d->layers) {
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < names.n; i++) {
		if (!docker_is_hex64(names.v[i])) {
			char *w = docker_errf("%s/image/overlay2/layerdb/sha256/%s: not a layer (name is not a sha256)",
				       d->data_root, names.v[i]);

			docker_strv_push(&d->warnings, w);
			free(w);
			continue;
		}
		load_layer(d, names.v[i], &d->layers[d->n_layers++]);
	}
	qsort(d->layers, d->n_layers, sizeof(*d->layers), cmp_layer);
out:
	docker_strv_clear(&names);
	return rc;
}

const struct vigil_docker_layer *docker_layer_by_chain(const struct vigil_docker *d, const char *chain)
{
	struct vigil_docker_layer key;

	if (!chain || strlen(chain) > VIGIL_DOCKER_DIGEST_LEN)
		return NULL;
	snprintf(key.chain_id, sizeof(key.chain_id), "%s", chain);
	return bsearch(&key, d->layers, d->n_layers, sizeof(*d->layers), cmp_layer);
}

/* repositories.json: {"Repositories":{"repo":{"repo:tag":"sha256:id", "repo@sha256:..":..}}} */
static json_t *load_repos(struct vigil_docker *d)
{
	char *buf = NULL;
	size_t len;
	json_error_t jerr;
	json_t *j = NULL, *r;
	int rc = docker_read_file(d->datafd, "image/overlay2/repositories.json", DOCKER_JSON_MAX, &buf, &len);

	if (rc) {
		if (rc != -ENOENT) {
			char *w = docker_errf("%s/image/overlay2/repositories.json: %s", d->data_root, strerror(-rc));

			docker_strv_push(&d->warnings, w);
			free(w);
		}
		return NULL;
	}
	j = json_loadb(buf, len, 0, &jerr);
	free(buf);
	if (!j || !json_is_object(r = json_object_get(j, "Repositories"))) {
		char *w = docker_errf("%s/image/overlay2/repositories.json: line %d: %s", d->data_root,
			       j ? 1 : jerr.line, j ? "no \"Repositories\" object" : jerr.text);

		docker_strv_push(&d->warnings, w);
		free(w);
		json_decref(j);
		return NULL;
	}
	json_incref(r);
	json_decref(j);
	return r;
}

static void image_tags(json_t *repos, struct vigil_docker_image *im)
{
	const char *repo, *ref;
	json_t *tags, *id;

	json_object_foreach(repos, repo, tags) {
		if (!json_is_object(tags))
			continue;
		json_object_foreach(tags, ref, id) {
			if (json_is_string(id) && !strcmp(json_string_value(id), im->id) && !strchr(ref, '@'))
				docker_strv_push(&im->tags, ref);
		}
	}
	if (im->tags.n > 1)
		qsort(im->tags.v, im->tags.n, sizeof(char *), cmp_str);
}

static void load_image(struct vigil_docker *d, const char *hex, json_t *repos, struct vigil_docker_image *im)
{
	char rel[512], *buf = NULL, *where;
	size_t len;
	unsigned char md[32];
	char hexmd[65];
	json_error_t jerr;
	json_t *j = NULL, *rootfs, *ids, *cfg, *v;
	size_t i;
	int rc;

	snprintf(im->id, sizeof(im->id), "sha256:%s", hex);
	im->size = -1;
	if (repos)
		image_tags(repos, im);
	snprintf(rel, sizeof(rel), "image/overlay2/imagedb/content/sha256/%s", hex);
	where = docker_errf("%s/%s", d->data_root, rel);
	rc = docker_read_file(d->datafd, rel, DOCKER_JSON_MAX, &buf, &len);
	if (rc) {
		im->error = docker_errf("%s: %s", where, strerror(-rc));
		goto out;
	}
	vigil_sha256(buf, len, md);
	vigil_hex(md, 32, hexmd);
	im->id_checked = 1;
	im->id_ok = !strcmp(hexmd, hex);
	j = json_loadb(buf, len, 0, &jerr);
	if (!j || !json_is_object(j)) {
		im->error = docker_errf("%s: line %d: %s", where, j ? 1 : jerr.line, j ? "not a JSON object" : jerr.text);
		goto out;
	}
	im->created = docker_jstr(j, "created");
	cfg = json_object_get(j, "config");
	if (json_is_object(cfg)) {
		v = json_object_get(cfg, "Entrypoint");
		if (v && !json_is_null(v))
			im->entrypoint = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		v = json_object_get(cfg, "Cmd");
		if (v && !json_is_null(v))
			im->cmd = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	}
	rootfs = json_object_get(j, "rootfs");
	ids = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(ids)) {
		im->error = docker_errf("%s: no rootfs.diff_ids array", where);
		goto out;
	}
	im->size = 0;
	for (i = 0; i < json_array_size(ids); i++) {
		const char *s = json_string_value(json_array_get(ids, i));
		char chain[VIGIL_DOCKER_DIGEST_LEN + 1];
		const struct vigil_docker_layer *l;

		if (!s || !docker_is_digest(s)) {
			im->error = docker_errf("%s: rootfs.diff_ids[%zu] is not a sha256 digest", where, i);
			im->size = -1;
			goto out;
		}
		docker_strv_push(&im->diff_ids, s);
		docker_chain_id(i ? im->chain_ids.v[i - 1] : NULL, s, chain);
		docker_strv_push(&im->chain_ids, chain);
		l = docker_layer_by_chain(d, chain);
		if (!l) {
			if (!im->error)
				im->error = docker_errf("%s: layer %s (diff %s) is not in the layer store", where, chain, s);
			im->size = -1;
		} else if (im->size >= 0) {
			im->size = l->size >= 0 ? im->size + l->size : -1;
		}
	}
	if (!im->id_ok && !im->error)
		im->error = docker_errf("%s: content digest sha256:%s differs from its name", where, hexmd);
out:
	json_decref(j);
	free(buf);
	free(where);
}

static int cmp_image(const void *a, const void *b)
{
	const struct vigil_docker_image *x = a, *y = b;
	int c = strcmp(y->created ? y->created : "", x->created ? x->created : "");

	return c ? c : strcmp(x->id, y->id);
}

static int load_images(struct vigil_docker *d, struct vigil_err *err)
{
	struct vigil_strv names = { 0 };
	json_t *repos = load_repos(d);
	int rc = docker_dir_entries(d->datafd, "image/overlay2/imagedb/content/sha256", &names);

	if (rc == -ENOENT)
		rc = 0;
	if (rc) {
		vigil_err_set(err, rc, "%s/image/overlay2/imagedb/content/sha256: %s", d->data_root,
			      strerror(-rc));
		goto out;
	}
	d->images = calloc(names.n ? names.n : 1, sizeof(*d->images));
	if (!d->images) {
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < names.n; i++) {
		if (!docker_is_hex64(names.v[i]))
			continue;
		load_image(d, names.v[i], repos, &d->images[d->n_images++]);
	}
	for (size_t i = 0; i < d->n_images; i++) {
		char rel[256], *s = NULL;

		snprintf(rel, sizeof(rel), "image/overlay2/imagedb/metadata/sha256/%s/parent", d->images[i].id + 7);
		if (!docker_read_id(d->datafd, rel, &s) && docker_is_digest(s))
			snprintf(d->images[i].parent, sizeof(d->images[i].parent), "%s", s);
		free(s);
	}
	for (size_t i = 0; i < d->n_images; i++)
		for (size_t k = 0; k < d->n_images && d->images[i].parent[0]; k++)
			if (!strcmp(d->images[k].id, d->images[i].parent))
				d->images[k].has_children = 1;
	qsort(d->images, d->n_images, sizeof(*d->images), cmp_image);
out:
	json_decref(repos);
	docker_strv_clear(&names);
	return rc;
}

int vigil_docker_load(const char *root, const char *data_root, struct vigil_docker **out,
		      struct vigil_err *err)
{
	struct vigil_docker *d = calloc(1, sizeof(*d));
	struct vigil_docker_engine eng = { 0 };
	int rc, fd;

	*out = NULL;
	if (!d)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	d->rootfd = d->datafd = d->o2fd = -1;
	d->root = strdup(root && root[0] ? root : "/");
	d->rootfd = d->root ? vigil_rootfs_open_root(d->root, NULL) : -ENOMEM;
	if (d->rootfd < 0) {
		rc = vigil_err_set(err, d->rootfd, "root '%s': %s", d->root ? d->root : "?", strerror(-d->rootfd));
		goto out;
	}
	if (!data_root) {
		rc = vigil_docker_discover(root, &eng, err);
		if (rc)
			goto out;
		data_root = eng.data_root;
		for (size_t i = 0; i < eng.warnings.n; i++)
			docker_strv_push(&d->warnings, eng.warnings.v[i]);
	}
	d->data_root = strdup(data_root);
	if (!d->root || !d->data_root) {
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	d->datafd = docker_open_in_root(d->rootfd, data_root, O_PATH | O_DIRECTORY);
	if (d->datafd < 0) {
		rc = vigil_err_set(err, d->datafd, "docker data root '%s': %s", data_root, strerror(-d->datafd));
		goto out;
	}
	fd = docker_open_beneath(d->datafd, "image/overlay2", O_PATH | O_DIRECTORY);
	if (fd < 0) {
		rc = vigil_err_set(err, fd, "docker data root '%s': no image/overlay2 (%s): not an overlay2 data root",
				   data_root, strerror(-fd));
		goto out;
	}
	close(fd);
	d->o2fd = docker_open_beneath(d->datafd, "overlay2", O_PATH | O_DIRECTORY);
	rc = load_layers(d, err);
	if (!rc)
		rc = load_images(d, err);
	if (!rc)
		rc = docker_load_containers(d, err);
out:
	vigil_docker_engine_clear(&eng);
	if (rc) {
		vigil_docker_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void vigil_docker_free(struct vigil_docker *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_layers; i++) {
		free(d->layers[i].cache_id);
		free(d->layers[i].error);
	}
	free(d->layers);
	for (size_t i = 0; i < d->n_images; i++) {
		struct vigil_docker_image *im = &d->images[i];

		docker_strv_clear(&im->tags);
		docker_strv_clear(&im->diff_ids);
		docker_strv_clear(&im->chain_ids);
		free(im->created);
		free(im->entrypoint);
		free(im->cmd);
		free(im->error);
	}
	free(d->images);
	for (size_t i = 0; i < d->n_containers; i++)
		docker_container_clear(&d->containers[i]);
	free(d->containers);
	docker_strv_clear(&d->warnings);
	if (d->o2fd >= 0)
		close(d->o2fd);
	if (d->datafd >= 0)
		close(d->datafd);
	if (d->rootfd >= 0)
		close(d->rootfd);
	free(d->root);
	free(d->data_root);
	free(d);
}

const char *vigil_docker_data_root(const struct vigil_docker *d)
{
	return d->data_root;
}

const struct vigil_strv *vigil_docker_warnings(const struct vigil_docker *d)
{
	return &d->warnings;
}

size_t vigil_docker_n_images(const struct vigil_docker *d)
{
	return d->n_images;
}

const struct vigil_docker_image *vigil_docker_image(const struct vigil_docker *d, size_t i)
{
	return i < d->n_images ? &d->images[i] : NULL;
}

size_t vigil_docker_n_layers(const struct vigil_docker *d)
{
	return d->n_layers;
}

const struct vigil_docker_layer *vigil_docker_layer(const struct vigil_docker *d, size_t i)
{
	return i < d->n_layers ? &d->layers[i] : NULL;
}

size_t vigil_docker_n_containers(const struct vigil_docker *d)
{
	return d->n_containers;
}

const struct vigil_docker_container *vigil_docker_container(const struct vigil_docker *d, size_t i)
{
	return i < d->n_containers ? &d->containers[i] : NULL;
}

/* Strips "sha256:" and checks that ref is a hex prefix of at least 4 digits. */
