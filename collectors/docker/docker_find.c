/* docker_find.c - finding an image, layer or container by what a user types
 * (a tag, an id or a unique prefix), and the images that use a layer. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_priv.h"
#include "docker_model.h"

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
