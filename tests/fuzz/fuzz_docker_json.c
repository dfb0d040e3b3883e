/* fuzz_docker_json.c - the overlay2 model and engine discovery on a hostile
 * data root.  The input is split into parts (fuzz_common.h), one per file:
 *
 *   0 image config (imagedb/content/sha256/<its own sha256>)
 *   1 image/overlay2/repositories.json
 *   2 containers/<id>/config.v2.json     3 containers/<id>/hostconfig.json
 *   4 layerdb/sha256/<L>/diff            5 layerdb/sha256/<L>/cache-id
 *   6 layerdb/sha256/<L>/parent          7 layerdb/mounts/<id>/mount-id
 *   8 /etc/docker/daemon.json            9 /etc/systemd/system/docker.service
 *
 * A missing part is a missing file.  <L> is fixed (FZ_CHAIN below), so a seed
 * whose image config lists "sha256:<L>" as its diff id gets a real layer
 * chain; overlay2/cache0/diff exists for a cache-id of "cache0".  The model is
 * loaded, every image and container looked up, and the engine discovered.
 * Everything must end in an error message or a model, never a crash or a
 * leak.  Dictionary: fuzz_docker_json.dict. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/crypto.h"
#include "vigil/docker.h"

#include "fuzz_common.h"

#define FZ_CHAIN "7c1b5d4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809"
static const char cid[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *base;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[10];
	size_t len[10], n;
	struct vigil_docker *d = NULL;
	struct vigil_err err;
	struct vigil_docker_engine eng;
	char rel[256], img[256], hex[65];
	unsigned char md[32];

	if (!base) {
		base = fz_dir("docker-json");
		vigil_crypto_init(NULL);
		fz_mkdirs(base, "d/image/overlay2/imagedb/content/sha256");
		fz_mkdirs(base, "d/image/overlay2/layerdb/sha256/" FZ_CHAIN);
		fz_mkdirs(base, "d/overlay2/cache0/diff/etc");
		fz_mkdirs(base, "d/overlay2/l");
		fz_put(base, "d/image/overlay2/layerdb/sha256/" FZ_CHAIN "/size", "4", 1);
	}
	n = fz_split(data, size, part, len, 10);
	vigil_sha256(part[0], len[0], md);
	vigil_hex(md, 32, hex);
	snprintf(img, sizeof(img), "d/image/overlay2/imagedb/content/sha256/%s", hex);
	fz_put(base, img, part[0], len[0]);
	fz_put_part(base, "d/image/overlay2/repositories.json", 1, n, part, len);
	snprintf(rel, sizeof(rel), "d/containers/%s/config.v2.json", cid);
	fz_put_part(base, rel, 2, n, part, len);
	snprintf(rel, sizeof(rel), "d/containers/%s/hostconfig.json", cid);
	fz_put_part(base, rel, 3, n, part, len);
	fz_put_part(base, "d/image/overlay2/layerdb/sha256/" FZ_CHAIN "/diff", 4, n, part, len);
	fz_put_part(base, "d/image/overlay2/layerdb/sha256/" FZ_CHAIN "/cache-id", 5, n, part, len);
	fz_put_part(base, "d/image/overlay2/layerdb/sha256/" FZ_CHAIN "/parent", 6, n, part, len);
	snprintf(rel, sizeof(rel), "d/image/overlay2/layerdb/mounts/%s/mount-id", cid);
	fz_put_part(base, rel, 7, n, part, len);
	fz_put_part(base, "etc/docker/daemon.json", 8, n, part, len);
	fz_put_part(base, "etc/systemd/system/docker.service", 9, n, part, len);
	if (!vigil_docker_load(base, "/d", &d, &err)) {
		for (size_t i = 0; i < vigil_docker_n_images(d); i++) {
			const struct vigil_docker_image *im = vigil_docker_image(d, i);

			for (size_t k = 0; k < im->tags.n; k++)
				(void)vigil_docker_find_image(d, im->tags.v[k], &err);
		}
		(void)vigil_docker_find_container(d, "x", &err);
		(void)vigil_docker_find_container(d, cid, &err);
		vigil_docker_free(d);
	}
	if (!vigil_docker_discover(base, &eng, &err))
		vigil_docker_engine_clear(&eng);
	fz_put(base, img, NULL, 0);
	return 0;
}
