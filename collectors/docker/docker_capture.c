/* docker_capture.c - a container's directories for evidence capture. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker_model.h"
#include "docker_priv.h"
#include "vigil/docker_capture.h"

int vigil_docker_rootfd(const struct vigil_docker *d)
{
	return d->rootfd;
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
