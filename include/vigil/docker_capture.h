/* docker_capture.h - what capture reads of a container, in Docker's terms
 * (collectors/docker/docker_capture.c): the collector stays the only code that
 * knows Docker's on-disk layout.
 *
 * Lifecycle: vigil_docker_container_dirs(d, c, &dirs, err) -> read through
 * dirs.dirfd / dirs.upperfd (directory fds opened beneath the data root, no
 * symlink on the way) -> vigil_docker_container_dirs_clear(&dirs).
 */
#ifndef VIGIL_DOCKER_CAPTURE_H
#define VIGIL_DOCKER_CAPTURE_H

#include "vigil/docker.h"

struct vigil_docker_container_dirs {
	int dirfd;     /* DATA/containers/<id>: config.v2.json, hostconfig.json, hostname,
			  hosts, resolv.conf, <id>-json.log*, container-logs/ (local driver) */
	int upperfd;   /* DATA/overlay2/<mount id>/diff, -1 when missing (err in upper_error) */
	int mergedfd;  /* DATA/overlay2/<mount id>/merged while an overlay is mounted
			  there (statfs says so: the container runs), else -1 */
	char *dir, *upper, *merged; /* the same as user-visible paths */
	char *upper_error;
};

int vigil_docker_container_dirs(const struct vigil_docker *d, const struct vigil_docker_container *c,
				struct vigil_docker_container_dirs *out, struct vigil_err *err);
void vigil_docker_container_dirs_clear(struct vigil_docker_container_dirs *dirs);
/* A container's layers top first, as overlayfs stacks them: its upper dir
 * (overlay2/<mount id>/diff), its init layer, then its image's layers down to
 * the base (the layer store's parent chain, never overlay2/l/): directory fds
 * opened beneath the data root and their user-visible paths.  For the merged
 * view of a container whose overlay is not mounted (stopped, or --root). */
#define VIGIL_DOCKER_MAX_LAYER_DIRS 256
struct vigil_docker_layer_dirs {
	int fds[VIGIL_DOCKER_MAX_LAYER_DIRS];
	char *paths[VIGIL_DOCKER_MAX_LAYER_DIRS];
	size_t n;
	size_t n_own;  /* the container's own layers at the top (upper, init); the image's below */
};
int vigil_docker_container_layers(const struct vigil_docker *d, const struct vigil_docker_container *c,
				  struct vigil_docker_layer_dirs *out, struct vigil_err *err);
void vigil_docker_layer_dirs_clear(struct vigil_docker_layer_dirs *l);
/* The root dir fd the model reads through (for engine files). */
int vigil_docker_rootfd(const struct vigil_docker *d);

#endif
