/* docker_view.c - a container's files as its image has them, or as the
 * container sees them now (its upper layer above the image's), resolved
 * layer by layer as drift does (docker_layers_lookup), every open confined
 * beneath a layer's diff dir, no symlink followed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker_model.h"
#include "docker_priv.h"

#define VIEW_MAX_LAYERS 257

struct vigil_docker_view {
	int layer[VIEW_MAX_LAYERS]; /* topmost first */
	size_t n;
};

void vigil_docker_view_free(struct vigil_docker_view *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		close(v->layer[i]);
	free(v);
}

int vigil_docker_view_open(struct vigil_docker *d, const struct vigil_docker_container *ct, int which,
			   struct vigil_docker_view **out, struct vigil_err *err)
{
	struct vigil_docker_view *v = calloc(1, sizeof(*v));
	size_t n = 0;
	char rel[600];
	int rc;

	*out = NULL;
	if (!v)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	if (which == VIGIL_DOCKER_VIEW_CONTAINER) {
		if (!ct->mount_id || d->o2fd < 0) {
			free(v);
			return vigil_err_set(err, -ENOENT, "container %.12s: no layer mount", ct->id);
		}
		snprintf(rel, sizeof(rel), "%s/diff", ct->mount_id);
		v->layer[0] = docker_open_beneath(d->o2fd, rel, O_PATH | O_DIRECTORY);
		if (v->layer[0] < 0) {
			rc = v->layer[0];
			free(v);
			return vigil_err_set(err, rc, "container %.12s: %s/overlay2/%s: %s", ct->id, d->data_root, rel,
					     strerror(-rc));
		}
		v->n = 1;
	}
	rc = docker_open_lowers(d, ct, which == VIGIL_DOCKER_VIEW_CONTAINER, v->layer + v->n,
				VIEW_MAX_LAYERS - v->n, &n, err);
	v->n += n;
	if (rc) {
		vigil_docker_view_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

int vigil_docker_view_read(void *view, const char *path, size_t max, char **buf, size_t *len)
{
	const struct vigil_docker_view *v = view;
	struct stat st;
	int k;

	while (*path == '/')
		path++;
	if (!*path)
		return -EISDIR;
	k = docker_layers_lookup(v->layer, v->n, path, &st, NULL);
	if (k < 0)
		return -ENOENT;
	return docker_read_file(v->layer[k], path, max, buf, len);
}
