/* docker_containers.c - Docker's containers read from their files:
 * containers/<id>/config.v2.json and hostconfig.json, and the layer store's
 * mounts/<id> (the container's own layers).  Also the lookup of one
 * container by id that audit makes per event, without loading the model.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "docker_priv.h"
#include "docker_model.h"

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
		return docker_errf("%s/%s: %s", d->data_root, rel, strerror(-rc));
	*out = json_loadb(buf, len, 0, &jerr);
	free(buf);
	if (!*out)
		return docker_errf("%s/%s: line %d: %s", d->data_root, rel, jerr.line, jerr.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return docker_errf("%s/%s: not a JSON object", d->data_root, rel);
	}
	return NULL;
}

/* "Path Args...", space separated: malloc'd, or NULL. */
static char *command_line(json_t *j)
{
	char *path = docker_jstr(j, "Path"), *cmd;
	json_t *args = json_object_get(j, "Args"), *v;
	size_t i, total = path ? strlen(path) + 1 : 1;

	json_array_foreach(args, i, v)
		if (json_is_string(v))
			total += json_string_length(v) + 1;
	cmd = calloc(1, total + 1);
	if (cmd) {
		if (path)
			strcat(cmd, path);
		json_array_foreach(args, i, v)
			if (json_is_string(v)) {
				strcat(cmd, " ");
				strcat(cmd, json_string_value(v));
			}
	}
	free(path);
	return cmd;
}

/* State: its words as `docker ps` says them. */
static void load_state(json_t *st, struct vigil_docker_container *c)
{
	if (!json_is_object(st))
		return;
	c->started_at = docker_jstr(st, "StartedAt");
	c->finished_at = docker_jstr(st, "FinishedAt");
	c->pid = (int)json_integer_value(json_object_get(st, "Pid"));
	c->exit_code = (int)json_integer_value(json_object_get(st, "ExitCode"));
	if (json_is_true(json_object_get(st, "RemovalInProgress")))
		c->state = strdup("removing");
	else if (json_is_true(json_object_get(st, "Running")))
		c->state = strdup(json_is_true(json_object_get(st, "Paused")) ? "paused" :
				  json_is_true(json_object_get(st, "Restarting")) ? "restarting" : "running");
	else if (json_is_true(json_object_get(st, "Dead")))
		c->state = strdup("dead");
	else if (!c->started_at || !strncmp(c->started_at, "0001-01-01", 10))
		c->state = strdup("created");
	else
		c->state = strdup("exited");
}

static void load_mount_points(json_t *mp, struct vigil_docker_container *c)
{
	const char *key;
	json_t *v;

	if (!json_is_object(mp) || !json_object_size(mp))
		return;
	c->mounts = calloc(json_object_size(mp), sizeof(*c->mounts));
	json_object_foreach(mp, key, v) {
		struct vigil_docker_mount *m;

		if (!c->mounts || !json_is_object(v))
			continue;
		m = &c->mounts[c->n_mounts++];
		m->source = docker_jstr(v, "Source");
		m->destination = docker_jstr(v, "Destination");
		if (!m->destination)
			m->destination = strdup(key);
		m->type = docker_jstr(v, "Type");
		m->rw = json_is_true(json_object_get(v, "RW"));
	}
}

/* config.v2.json: 0, or -1 with c->error set. */
static int load_config(struct vigil_docker *d, const char *id, struct vigil_docker_container *c)
{
	char rel[512];
	json_t *j = NULL;

	snprintf(rel, sizeof(rel), "containers/%s/config.v2.json", id);
	c->error = load_json(d, rel, &j);
	if (c->error)
		return -1;
	c->name = docker_jstr(j, "Name");
	if (c->name && c->name[0] == '/')
		memmove(c->name, c->name + 1, strlen(c->name));
	c->image_id = docker_jstr(j, "Image");
	c->created = docker_jstr(j, "Created");
	c->image_ref = docker_jstr(json_object_get(j, "Config"), "Image");
	c->command = command_line(j);
	load_state(json_object_get(j, "State"), c);
	load_mount_points(json_object_get(j, "MountPoints"), c);
	json_decref(j);
	return 0;
}

static void load_hostconfig(struct vigil_docker *d, const char *id, struct vigil_docker_container *c)
{
	char rel[512];
	json_t *h = NULL;

	snprintf(rel, sizeof(rel), "containers/%s/hostconfig.json", id);
	c->error = load_json(d, rel, &h);
	if (h) {
		c->privileged = json_is_true(json_object_get(h, "Privileged"));
		c->readonly_rootfs = json_is_true(json_object_get(h, "ReadonlyRootfs"));
		strv_from_json(json_object_get(h, "Binds"), &c->binds);
		strv_from_json(json_object_get(h, "CapAdd"), &c->cap_add);
		strv_from_json(json_object_get(h, "SecurityOpt"), &c->security_opt);
		c->pid_mode = docker_jstr(h, "PidMode");
		c->ipc_mode = docker_jstr(h, "IpcMode");
		c->network_mode = docker_jstr(h, "NetworkMode");
	}
	json_decref(h);
}

/* The layer store's mounts/<id>: the container's own layers. */
static void load_layer_mount(struct vigil_docker *d, const char *id, struct vigil_docker_container *c)
{
	char rel[512], *s = NULL;
	int rc;

#define MPATH(f) (snprintf(rel, sizeof(rel), "image/overlay2/layerdb/mounts/%s/%s", id, f), rel)
	rc = docker_read_id(d->datafd, MPATH("mount-id"), &s);
	if (rc || !docker_safe_component(s)) {
		if (!c->error)
			c->error = docker_errf("%s/%s: %s", d->data_root, rel,
					rc ? strerror(-rc) : "not a valid mount id");
		free(s);
	} else {
		c->mount_id = s;
	}
	s = NULL;
	rc = docker_read_id(d->datafd, MPATH("init-id"), &s);
	if (!rc && docker_safe_component(s))
		c->init_id = s;
	else
		free(s);
	s = NULL;
	rc = docker_read_id(d->datafd, MPATH("parent"), &s);
	if (!rc && docker_is_digest(s))
		snprintf(c->parent, sizeof(c->parent), "%s", s);
	else if (rc != -ENOENT && !c->error)
		c->error = docker_errf("%s/%s: %s", d->data_root, rel, rc ? strerror(-rc) : "not a sha256 digest");
	free(s);
#undef MPATH
}

void docker_load_container(struct vigil_docker *d, const char *id, struct vigil_docker_container *c)
{
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->pid = 0;
	if (!load_config(d, id, c))
		load_hostconfig(d, id, c);
	load_layer_mount(d, id, c);
}

static int cmp_container(const void *a, const void *b)
{
	const struct vigil_docker_container *x = a, *y = b;
	int c = strcmp(y->created ? y->created : "", x->created ? x->created : "");

	return c ? c : strcmp(x->id, y->id);
}

int docker_load_containers(struct vigil_docker *d, struct vigil_err *err)
{
	struct vigil_strv names = { 0 };
	int rc = docker_dir_entries(d->datafd, "containers", &names);

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
			docker_load_container(d, names.v[i], &d->containers[d->n_containers++]);
	qsort(d->containers, d->n_containers, sizeof(*d->containers), cmp_container);
out:
	docker_strv_clear(&names);
	return rc;
}

void docker_container_clear(struct vigil_docker_container *c)
{
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
	memset(c, 0, sizeof(*c));
}

int vigil_docker_container_lookup(const char *root, const char *data_root, const char *id, char **name,
				  char **image, struct vigil_err *err)
{
	struct vigil_docker d = { .rootfd = -1, .datafd = -1, .o2fd = -1 };
	struct vigil_docker_container c = { 0 };
	struct vigil_docker_engine eng = { 0 };
	char rel[128];
	int rc = 0, fd;

	*name = *image = NULL;
	if (!id || !docker_is_hex64(id))
		return vigil_err_set(err, -EINVAL, "container id '%s': not 64 hex digits", id ? id : "");
	d.rootfd = vigil_rootfs_open_root(root, NULL);
	if (d.rootfd < 0)
		return vigil_err_set(err, d.rootfd, "root '%s': %s", root ? root : "/", strerror(-d.rootfd));
	if (!data_root) {
		rc = vigil_docker_discover(root, &eng, err);
		if (rc)
			goto out;
		data_root = eng.data_root;
	}
	d.data_root = (char *)data_root;
	d.datafd = docker_open_in_root(d.rootfd, data_root, O_PATH | O_DIRECTORY);
	if (d.datafd < 0) {
		rc = vigil_err_set(err, d.datafd, "docker data root '%s': %s", data_root, strerror(-d.datafd));
		goto out;
	}
	snprintf(rel, sizeof(rel), "containers/%s", id);
	fd = docker_open_beneath(d.datafd, rel, O_PATH | O_DIRECTORY);
	if (fd < 0) {
		rc = vigil_err_set(err, fd, "%s/%s: %s", data_root, rel, strerror(-fd));
		goto out;
	}
	close(fd);
	if (load_config(&d, id, &c)) {
		rc = vigil_err_set(err, -EINVAL, "%s", c.error);
		goto out;
	}
	*name = c.name;
	*image = c.image_ref ? c.image_ref : c.image_id;
	if (*image == c.image_ref)
		c.image_ref = NULL;
	else
		c.image_id = NULL;
	c.name = NULL;
out:
	docker_container_clear(&c);
	vigil_docker_engine_clear(&eng);
	if (d.datafd >= 0)
		close(d.datafd);
	close(d.rootfd);
	return rc;
}
