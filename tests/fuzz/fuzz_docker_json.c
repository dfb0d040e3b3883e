/* fuzz_docker_json.c - the overlay2 model's JSON readers on arbitrary bytes:
 * the input is written as an image config, repositories.json, a container's
 * config.v2.json and hostconfig.json and daemon.json of a scratch data root,
 * which is then loaded and queried.  Everything must end in an error message
 * or a model, never a crash or a leak. */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/crypto.h"
#include "vigil/docker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[64];

static void put(const char *rel, const uint8_t *data, size_t size)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	if (size && write(fd, data, size) < 0)
		size = 0;
	close(fd);
}

static void mk(const char *rel)
{
	char path[512], *p;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	for (p = path + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	mkdir(path, 0755);
}

static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd))
		return;
}

static const char cid[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_docker *d = NULL;
	struct vigil_err err;
	struct vigil_docker_engine eng;
	char rel[256], hex[65];
	unsigned char md[32];

	if (!base[0]) {
		snprintf(base, sizeof(base), "/tmp/vigil-fuzz-json.%d", (int)getpid());
		atexit(cleanup);
		vigil_crypto_init(NULL);
		mk("d/image/overlay2/imagedb/content/sha256");
		mk("d/image/overlay2/layerdb/sha256");
		mk("d/overlay2");
		snprintf(rel, sizeof(rel), "d/containers/%s", cid);
		mk(rel);
		mk("etc/docker");
	}
	vigil_sha256(data, size, md);
	vigil_hex(md, 32, hex);
	snprintf(rel, sizeof(rel), "d/image/overlay2/imagedb/content/sha256/%s", hex);
	put(rel, data, size);
	put("d/image/overlay2/repositories.json", data, size);
	snprintf(rel, sizeof(rel), "d/containers/%s/config.v2.json", cid);
	put(rel, data, size);
	snprintf(rel, sizeof(rel), "d/containers/%s/hostconfig.json", cid);
	put(rel, data, size);
	put("etc/docker/daemon.json", data, size);
	snprintf(rel, sizeof(rel), "%s/d", base);
	if (!vigil_docker_load(base, "/d", &d, &err)) {
		for (size_t i = 0; i < vigil_docker_n_images(d); i++) {
			const struct vigil_docker_image *im = vigil_docker_image(d, i);

			for (size_t k = 0; k < im->tags.n; k++)
				(void)vigil_docker_find_image(d, im->tags.v[k], &err);
		}
		(void)vigil_docker_find_container(d, "x", &err);
		vigil_docker_free(d);
	}
	if (!vigil_docker_discover(base, &eng, &err))
		vigil_docker_engine_clear(&eng);
	snprintf(rel, sizeof(rel), "%s/d/image/overlay2/imagedb/content/sha256/%s", base, hex);
	unlink(rel);
	return 0;
}
