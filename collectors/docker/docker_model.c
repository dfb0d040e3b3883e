/* docker_model.c - the overlay2 data root read from its files (FORMATS.md):
 * repositories.json, imagedb, layerdb, containers/.
 *
 * Each image config, layer and container is read on its own: a malformed one
 * gets an error message and the others are still loaded.  JSON files are
 * bounded (DOCKER_JSON_MAX), ids are validated before they are used as path
 * components, and every open is confined beneath the data root.
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

static char *errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *errf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s ? s : strdup("out of memory");
}

static char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

/* A cache or mount id is used as a path component: it must be one. */
static int safe_component(const char *s)
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

static int dir_entries(int dirfd, const char *rel, struct vigil_strv *names)
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
	l->error = errf("%s/%s: %s", d->data_root, rel, rc && rc != -ENOENT ? strerror(-rc) : what);
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
	if (rc || !safe_component(s)) {
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
	int rc = dir_entries(d->datafd, "image/overlay2/layerdb/sha256", &names);

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
			char *w = errf("%s/image/overlay2/layerdb/sha256/%s: not a layer (name is not a sha256)",
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
			char *w = errf("%s/image/overlay2/repositories.json: %s", d->data_root, strerror(-rc));

			docker_strv_push(&d->warnings, w);
			free(w);
		}
		return NULL;
	}
	j = json_loadb(buf, len, 0, &jerr);
	free(buf);
	if (!j || !json_is_object(r = json_object_get(j, "Repositories"))) {
		char *w = errf("%s/image/overlay2/repositories.json: line %d: %s", d->data_root,
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
	where = errf("%s/%s", d->data_root, rel);
	rc = docker_read_file(d->datafd, rel, DOCKER_JSON_MAX, &buf, &len);
	if (rc) {
		im->error = errf("%s: %s", where, strerror(-rc));
		goto out;
	}
	vigil_sha256(buf, len, md);
	vigil_hex(md, 32, hexmd);
	im->id_checked = 1;
	im->id_ok = !strcmp(hexmd, hex);
	j = json_loadb(buf, len, 0, &jerr);
	if (!j || !json_is_object(j)) {
		im->error = errf("%s: line %d: %s", where, j ? 1 : jerr.line, j ? "not a JSON object" : jerr.text);
		goto out;
	}
	im->created = jstr(j, "created");
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
		im->error = errf("%s: no rootfs.diff_ids array", where);
		goto out;
	}
	im->size = 0;
	for (i = 0; i < json_array_size(ids); i++) {
		const char *s = json_string_value(json_array_get(ids, i));
		char chain[VIGIL_DOCKER_DIGEST_LEN + 1];
		const struct vigil_docker_layer *l;

		if (!s || !docker_is_digest(s)) {
			im->error = errf("%s: rootfs.diff_ids[%zu] is not a sha256 digest", where, i);
			im->size = -1;
			goto out;
		}
		docker_strv_push(&im->diff_ids, s);
		docker_chain_id(i ? im->chain_ids.v[i - 1] : NULL, s, chain);
		docker_strv_push(&im->chain_ids, chain);
		l = docker_layer_by_chain(d, chain);
		if (!l) {
			if (!im->error)
				im->error = errf("%s: layer %s (diff %s) is not in the layer store", where, chain, s);
			im->size = -1;
		} else if (im->size >= 0) {
			im->size = l->size >= 0 ? im->size + l->size : -1;
		}
	}
	if (!im->id_ok && !im->error)
		im->error = errf("%s: content digest sha256:%s differs from its name", where, hexmd);
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
	int rc = dir_entries(d->datafd, "image/overlay2/imagedb/content/sha256", &names);

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

static void strv_from_json(json_t *a, struct vigil_strv *sv)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a))
		return;
	json_array_foreach(a, i, v)
		if (json_is_string(v))
			docker_strv_push(sv, json_string_value(v));
}

static char *load_json(struct vigil_docker *d, const char *rel, json_t **out)
{
	char *buf = NULL;
	size_t len;
	json_error_t jerr;
	int rc = docker_read_file(d->datafd, rel, DOCKER_JSON_MAX, &buf, &len);

	*out = NULL;
	if (rc)
		return errf("%s/%s: %s", d->data_root, rel, strerror(-rc));
	*out = json_loadb(buf, len, 0, &jerr);
	free(buf);
	if (!*out)
		return errf("%s/%s: line %d: %s", d->data_root, rel, jerr.line, jerr.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return errf("%s/%s: not a JSON object", d->data_root, rel);
	}
	return NULL;
}

static void load_container(struct vigil_docker *d, const char *id, struct vigil_docker_container *c)
{
	char rel[512], *s = NULL;
	json_t *j = NULL, *h = NULL, *st, *cfg, *mp, *v;
	const char *key;
	int rc;

	snprintf(c->id, sizeof(c->id), "%s", id);
	c->pid = 0;
	snprintf(rel, sizeof(rel), "containers/%s/config.v2.json", id);
	c->error = load_json(d, rel, &j);
	if (c->error)
		goto mounts;
	c->name = jstr(j, "Name");
	if (c->name && c->name[0] == '/')
		memmove(c->name, c->name + 1, strlen(c->name));
	c->image_id = jstr(j, "Image");
	c->created = jstr(j, "Created");
	cfg = json_object_get(j, "Config");
	c->image_ref = jstr(cfg, "Image");
	{
		char *path = jstr(j, "Path");
		json_t *args = json_object_get(j, "Args");
		size_t i, total = path ? strlen(path) + 1 : 1;

		json_array_foreach(args, i, v)
			if (json_is_string(v))
				total += json_string_length(v) + 1;
		c->command = calloc(1, total + 1);
		if (c->command) {
			if (path)
				strcat(c->command, path);
			json_array_foreach(args, i, v)
				if (json_is_string(v)) {
					strcat(c->command, " ");
					strcat(c->command, json_string_value(v));
				}
		}
		free(path);
	}
	st = json_object_get(j, "State");
	if (json_is_object(st)) {
		c->started_at = jstr(st, "StartedAt");
		c->finished_at = jstr(st, "FinishedAt");
		c->pid = (int)json_integer_value(json_object_get(st, "Pid"));
		c->exit_code = (int)json_integer_value(json_object_get(st, "ExitCode"));
		if (json_is_true(json_object_get(st, "RemovalInProgress")))
			c->state = strdup("removing");
		else if (json_is_true(json_object_get(st, "Running")))
			c->state = strdup(json_is_true(json_object_get(st, "Paused")) ? "paused" :
					  json_is_true(json_object_get(st, "Restarting")) ? "restarting" :
											     "running");
		else if (json_is_true(json_object_get(st, "Dead")))
			c->state = strdup("dead");
		else if (!c->started_at || !strncmp(c->started_at, "0001-01-01", 10))
			c->state = strdup("created");
		else
			c->state = strdup("exited");
	}
	mp = json_object_get(j, "MountPoints");
	if (json_is_object(mp) && json_object_size(mp)) {
		c->mounts = calloc(json_object_size(mp), sizeof(*c->mounts));
		json_object_foreach(mp, key, v) {
			struct vigil_docker_mount *m;

			if (!c->mounts || !json_is_object(v))
				continue;
			m = &c->mounts[c->n_mounts++];
			m->source = jstr(v, "Source");
			m->destination = jstr(v, "Destination");
			if (!m->destination)
				m->destination = strdup(key);
			m->type = jstr(v, "Type");
			m->rw = json_is_true(json_object_get(v, "RW"));
		}
	}
	snprintf(rel, sizeof(rel), "containers/%s/hostconfig.json", id);
	c->error = load_json(d, rel, &h);
	if (h) {
		c->privileged = json_is_true(json_object_get(h, "Privileged"));
		c->readonly_rootfs = json_is_true(json_object_get(h, "ReadonlyRootfs"));
		strv_from_json(json_object_get(h, "Binds"), &c->binds);
		strv_from_json(json_object_get(h, "CapAdd"), &c->cap_add);
		strv_from_json(json_object_get(h, "SecurityOpt"), &c->security_opt);
		c->pid_mode = jstr(h, "PidMode");
		c->ipc_mode = jstr(h, "IpcMode");
		c->network_mode = jstr(h, "NetworkMode");
	}
mounts:
#define MPATH(f) (snprintf(rel, sizeof(rel), "image/overlay2/layerdb/mounts/%s/%s", id, f), rel)
	rc = docker_read_id(d->datafd, MPATH("mount-id"), &s);
	if (rc || !safe_component(s)) {
		if (!c->error)
			c->error = errf("%s/%s: %s", d->data_root, rel,
					rc ? strerror(-rc) : "not a valid mount id");
		free(s);
	} else {
		c->mount_id = s;
	}
	s = NULL;
	rc = docker_read_id(d->datafd, MPATH("init-id"), &s);
	if (!rc && safe_component(s))
		c->init_id = s;
	else
		free(s);
	s = NULL;
	rc = docker_read_id(d->datafd, MPATH("parent"), &s);
	if (!rc && docker_is_digest(s))
		snprintf(c->parent, sizeof(c->parent), "%s", s);
	else if (rc != -ENOENT && !c->error)
		c->error = errf("%s/%s: %s", d->data_root, rel, rc ? strerror(-rc) : "not a sha256 digest");
	free(s);
#undef MPATH
	json_decref(j);
	json_decref(h);
}

static int cmp_container(const void *a, const void *b)
{
	const struct vigil_docker_container *x = a, *y = b;
	int c = strcmp(y->created ? y->created : "", x->created ? x->created : "");

	return c ? c : strcmp(x->id, y->id);
}

static int load_containers(struct vigil_docker *d, struct vigil_err *err)
{
	struct vigil_strv names = { 0 };
	int rc = dir_entries(d->datafd, "containers", &names);

	if (rc == -ENOENT)
		rc = 0;
	if (rc) {
		vigil_err_set(err, rc, "%s/containers: %s", d->data_root, strerror(-rc));
		goto out;
	}
	d->containers = calloc(names.n ? names.n : 1, sizeof(*d->containers));
	if (!d->containers) {
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < names.n; i++)
		if (docker_is_hex64(names.v[i]))
			load_container(d, names.v[i], &d->containers[d->n_containers++]);
	qsort(d->containers, d->n_containers, sizeof(*d->containers), cmp_container);
out:
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
	d->rootfd = open(d->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d->rootfd < 0) {
		rc = vigil_err_set(err, -errno, "root '%s': %s", d->root, strerror(errno));
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
		rc = load_containers(d, err);
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
	for (size_t i = 0; i < d->n_containers; i++) {
		struct vigil_docker_container *c = &d->containers[i];

		free(c->name);
		free(c->image_id);
		free(c->image_ref);
		free(c->state);
		free(c->created);
		free(c->started_at);
		free(c->finished_at);
		free(c->command);
		for (size_t k = 0; k < c->n_mounts; k++) {
			free(c->mounts[k].source);
			free(c->mounts[k].destination);
			free(c->mounts[k].type);
		}
		free(c->mounts);
		docker_strv_clear(&c->binds);
		docker_strv_clear(&c->cap_add);
		docker_strv_clear(&c->security_opt);
		free(c->pid_mode);
		free(c->ipc_mode);
		free(c->network_mode);
		free(c->mount_id);
		free(c->init_id);
		free(c->error);
	}
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
static const char *hex_prefix(const char *ref)
{
	size_t n;

	if (!strncmp(ref, "sha256:", 7))
		ref += 7;
	n = strlen(ref);
	if (n < 4 || n > 64 || strspn(ref, "0123456789abcdef") != n)
		return NULL;
	return ref;
}

const struct vigil_docker_image *vigil_docker_find_image(const struct vigil_docker *d, const char *ref,
							 struct vigil_err *err)
{
	const struct vigil_docker_image *hit = NULL;
	const char *hp = hex_prefix(ref);
	char *withtag = NULL;
	size_t i, k;

	if (!strchr(ref, ':') || strrchr(ref, ':') < strrchr(ref, '/')) {
		if (asprintf(&withtag, "%s:latest", ref) < 0)
			withtag = NULL;
	}
	for (i = 0; i < d->n_images; i++)
		for (k = 0; k < d->images[i].tags.n; k++)
			if (!strcmp(d->images[i].tags.v[k], ref) ||
			    (withtag && !strcmp(d->images[i].tags.v[k], withtag))) {
				free(withtag);
				return &d->images[i];
			}
	free(withtag);
	if (hp) {
		for (i = 0; i < d->n_images; i++) {
			if (strncmp(d->images[i].id + 7, hp, strlen(hp)))
				continue;
			if (hit) {
				vigil_err_set(err, -EINVAL, "image '%s': ambiguous id prefix", ref);
				return NULL;
			}
			hit = &d->images[i];
		}
	}
	if (!hit)
		vigil_err_set(err, -ENOENT, "image '%s': not found in %s", ref, d->data_root);
	return hit;
}

const struct vigil_docker_layer *vigil_docker_find_layer(const struct vigil_docker *d, const char *ref,
							 struct vigil_err *err)
{
	const struct vigil_docker_layer *hit = NULL;
	const char *hp = hex_prefix(ref);
	size_t n = hp ? strlen(hp) : 0;

	for (size_t i = 0; i < d->n_layers; i++) {
		const struct vigil_docker_layer *l = &d->layers[i];
		int m = (l->cache_id && !strcmp(l->cache_id, ref)) ||
			(hp && (!strncmp(l->chain_id + 7, hp, n) ||
				(l->diff_id[0] && !strncmp(l->diff_id + 7, hp, n)) ||
				(l->cache_id && !strncmp(l->cache_id, hp, n))));

		if (!m)
			continue;
		if (hit && hit != l) {
			vigil_err_set(err, -EINVAL, "layer '%s': ambiguous (matches %s and %s)", ref,
				      hit->chain_id, l->chain_id);
			return NULL;
		}
		hit = l;
	}
	if (!hit)
		vigil_err_set(err, -ENOENT, "layer '%s': not found in %s", ref, d->data_root);
	return hit;
}

const struct vigil_docker_container *vigil_docker_find_container(const struct vigil_docker *d,
								 const char *ref, struct vigil_err *err)
{
	const struct vigil_docker_container *hit = NULL;
	const char *r = ref[0] == '/' ? ref + 1 : ref;
	size_t i, n = strlen(r);

	for (i = 0; i < d->n_containers; i++)
		if (d->containers[i].name && !strcmp(d->containers[i].name, r))
			return &d->containers[i];
	if (n >= 1 && strspn(r, "0123456789abcdef") == n)
		for (i = 0; i < d->n_containers; i++) {
			if (strncmp(d->containers[i].id, r, n))
				continue;
			if (hit) {
				vigil_err_set(err, -EINVAL, "container '%s': ambiguous id prefix", ref);
				return NULL;
			}
			hit = &d->containers[i];
		}
	if (!hit)
		vigil_err_set(err, -ENOENT, "container '%s': not found in %s", ref, d->data_root);
	return hit;
}

char *vigil_docker_layer_users(const struct vigil_docker *d, const struct vigil_docker_layer *l)
{
	char *s = NULL;
	size_t len = 0;

	for (size_t i = 0; i < d->n_images; i++) {
		const struct vigil_docker_image *im = &d->images[i];
		const char *name = im->tags.n ? im->tags.v[0] : im->id;
		int uses = 0;

		if (!im->tags.n && im->has_children)
			continue; /* an intermediate build image: its child is named instead */

		for (size_t k = 0; k < im->chain_ids.n && !uses; k++)
			uses = !strcmp(im->chain_ids.v[k], l->chain_id);
		if (uses) {
			size_t add = strlen(name) + 2;
			char *n = realloc(s, len + add + 13);

			if (!n)
				break;
			s = n;
			if (len)
				len += (size_t)sprintf(s + len, ", ");
			len += (size_t)sprintf(s + len, "%s", im->tags.n ? name : "");
			if (!im->tags.n)
				len += (size_t)sprintf(s + len, "%.19s", im->id);
		}
	}
	return s;
}
