/* docker_capture.c - a container's directories for evidence capture. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "docker_model.h"
#include "docker_priv.h"
#include "vigil/docker_capture.h"

int vigil_docker_rootfd(const struct vigil_docker *d)
{
	return d->rootfd;
}

#define OVERLAYFS_MAGIC 0x794c7630

static int is_overlay_mount(int fd)
{
	struct statfs sf;

	return !fstatfs(fd, &sf) && (unsigned long)sf.f_type == OVERLAYFS_MAGIC;
}

int vigil_docker_container_dirs(const struct vigil_docker *d, const struct vigil_docker_container *c,
				struct vigil_docker_container_dirs *out, struct vigil_err *err)
{
	char rel[512];
	int fd;

	memset(out, 0, sizeof(*out));
	out->dirfd = out->upperfd = out->mergedfd = -1;
	snprintf(rel, sizeof(rel), "containers/%s", c->id);
	fd = docker_open_beneath(d->datafd, rel, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return vigil_err_set(err, fd, "container %.12s: %s/%s: %s", c->id, d->data_root, rel, strerror(-fd));
	out->dirfd = fd;
	if (asprintf(&out->dir, "%s/%s", d->data_root, rel) < 0)
		out->dir = NULL;
	if (!c->mount_id || !docker_safe_component(c->mount_id)) {
		out->upper_error = docker_errf("no overlay2 mount id");
	} else {
		snprintf(rel, sizeof(rel), "overlay2/%s/diff", c->mount_id);
		fd = docker_open_beneath(d->datafd, rel, O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			out->upper_error = docker_errf("%s/%s: %s", d->data_root, rel, strerror(-fd));
		else
			out->upperfd = fd;
		if (asprintf(&out->upper, "%s/%s", d->data_root, rel) < 0)
			out->upper = NULL;
		snprintf(rel, sizeof(rel), "overlay2/%s/merged", c->mount_id);
		fd = docker_open_beneath(d->datafd, rel, O_RDONLY | O_DIRECTORY);
		if (fd >= 0 && !is_overlay_mount(fd)) {
			close(fd); /* an empty dir left behind: walking it would show nothing */
			fd = -1;
		}
		if (fd >= 0 && asprintf(&out->merged, "%s/%s", d->data_root, rel) >= 0)
			out->mergedfd = fd;
		else if (fd >= 0)
			close(fd);
	}
	if (!out->dir || (c->mount_id && !out->upper)) {
		vigil_docker_container_dirs_clear(out);
		return vigil_err_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

void vigil_docker_container_dirs_clear(struct vigil_docker_container_dirs *dirs)
{
	if (dirs->dirfd >= 0)
		close(dirs->dirfd);
	if (dirs->upperfd >= 0)
		close(dirs->upperfd);
	if (dirs->mergedfd >= 0)
		close(dirs->mergedfd);
	free(dirs->dir);
	free(dirs->upper);
	free(dirs->merged);
	free(dirs->upper_error);
	memset(dirs, 0, sizeof(*dirs));
	dirs->dirfd = dirs->upperfd = dirs->mergedfd = -1;
}

static int push_layer(const struct vigil_docker *d, struct vigil_docker_layer_dirs *out, const char *dir,
		      struct vigil_err *err)
{
	char rel[600];
	int fd;

	if (out->n >= VIGIL_DOCKER_MAX_LAYER_DIRS)
		return vigil_err_set(err, -E2BIG, "more than %d layers", VIGIL_DOCKER_MAX_LAYER_DIRS);
	if (!docker_safe_component(dir))
		return vigil_err_set(err, -EINVAL, "bad overlay2 dir name '%s'", dir);
	snprintf(rel, sizeof(rel), "%s/diff", dir);
	fd = docker_open_beneath(d->o2fd, rel, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return vigil_err_set(err, fd, "%s/overlay2/%s: %s", d->data_root, rel, strerror(-fd));
	out->fds[out->n] = fd;
	if (asprintf(&out->paths[out->n], "%s/overlay2/%s", d->data_root, rel) < 0) {
		close(fd);
		return vigil_err_set(err, -ENOMEM, "out of memory");
	}
	out->n++;
	return 0;
}

int vigil_docker_container_layers(const struct vigil_docker *d, const struct vigil_docker_container *c,
				  struct vigil_docker_layer_dirs *out, struct vigil_err *err)
{
	const char *chain = c->parent;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!c->mount_id)
		return vigil_err_set(err, -ENOENT, "container %.12s: no layer mount (%s)", c->id,
				     c->error ? c->error : "layerdb/mounts entry missing");
	if (d->o2fd < 0)
		return vigil_err_set(err, -ENOENT, "%s/overlay2: missing", d->data_root);
	rc = push_layer(d, out, c->mount_id, err);
	if (!rc && c->init_id)
		rc = push_layer(d, out, c->init_id, err);
	out->n_own = out->n;
	while (!rc && chain && chain[0]) {
		const struct vigil_docker_layer *l = docker_layer_by_chain(d, chain);

		if (!l || !l->cache_id)
			rc = vigil_err_set(err, -ENOENT, "image layer %s: %s", chain,
					   !l ? "not in the layer store" : "no cache-id");
		else
			rc = push_layer(d, out, l->cache_id, err);
		chain = l ? l->parent : NULL;
	}
	if (rc)
		vigil_docker_layer_dirs_clear(out);
	return rc;
}

void vigil_docker_layer_dirs_clear(struct vigil_docker_layer_dirs *l)
{
	for (size_t i = 0; i < l->n; i++) {
		close(l->fds[i]);
		free(l->paths[i]);
	}
	l->n = 0;
}
