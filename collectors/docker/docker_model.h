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

/* Shared by docker_model.c and docker_containers.c. */
struct json_t;
/* A malloc'd message (never NULL: "out of memory" then). */
char *docker_errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A copy of o[key] when it is a string, else NULL. */
char *docker_jstr(struct json_t *o, const char *key);
/* 1 when s can be used as one path component (cache or mount id). */
int docker_safe_component(const char *s);
/* The names in directory rel beneath dirfd ('.' and '..' left out). */
int docker_dir_entries(int dirfd, const char *rel, struct vigil_strv *names);

/* docker_containers.c */
void docker_load_container(struct vigil_docker *d, const char *id, struct vigil_docker_container *c);
int docker_load_containers(struct vigil_docker *d, struct vigil_err *err);
void docker_container_clear(struct vigil_docker_container *c);

#endif
