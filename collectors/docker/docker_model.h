/* docker_model.h - the loaded model's layout, shared by the files of collectors/docker/ only. */
#ifndef VIGIL_DOCKER_MODEL_H
#define VIGIL_DOCKER_MODEL_H

#include "vigil/docker.h"

struct vigil_docker {
	char *root;       /* "/" or the mounted image */
	char *data_root;  /* inside root */
	int rootfd, datafd;
	int o2fd;         /* DATA/overlay2, -1 when absent */
	struct vigil_docker_layer *layers;    /* sorted by chain id */
	size_t n_layers;
	struct vigil_docker_image *images;    /* newest first */
	size_t n_images;
	struct vigil_docker_container *containers; /* newest first */
	size_t n_containers;
	struct vigil_strv warnings;
};

void docker_chain_id(const char *parent, const char *diff_id, char out[VIGIL_DOCKER_DIGEST_LEN + 1]);
const struct vigil_docker_layer *docker_layer_by_chain(const struct vigil_docker *d, const char *chain);

#endif
