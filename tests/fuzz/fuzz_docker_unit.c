/* fuzz_docker_unit.c - engine discovery (collectors/docker/docker_engine.c)
 * on hostile systemd units and option files.  Parts (fuzz_common.h), one per
 * file under a scratch root, a missing part being a missing file:
 *
 *   0 /etc/systemd/system/docker.service
 *   1 /lib/systemd/system/docker.service
 *   2 /etc/systemd/system/docker.service.d/override.conf
 *   3 /etc/default/docker            4 /etc/sysconfig/docker
 *   5 /etc/docker/daemon.json        6 /lib/systemd/system/containerd.service
 *
 * Dictionary: fuzz_docker_unit.dict. */
#include "config.h"

#include <stdint.h>

#include "vigil/docker.h"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const files[] = {
		"etc/systemd/system/docker.service", "lib/systemd/system/docker.service",
		"etc/systemd/system/docker.service.d/override.conf", "etc/default/docker",
		"etc/sysconfig/docker", "etc/docker/daemon.json", "lib/systemd/system/containerd.service",
	};
	static const char *root;
	const uint8_t *part[7];
	size_t len[7], n;
	struct vigil_docker_engine eng;
	struct vigil_err err;

	if (!root) {
		root = fz_dir("docker-unit");
		/* binaries an ExecStart= may name, so add_existing() finds some */
		fz_put(root, "usr/bin/dockerd", "", 0);
		fz_put(root, "usr/sbin/runc", "", 0);
		fz_mkdirs(root, "var/lib/docker");
		fz_mkdirs(root, "srv/docker");
	}
	n = fz_split(data, size, part, len, 7);
	for (size_t i = 0; i < 7; i++)
		fz_put_part(root, files[i], i, n, part, len);
	if (!vigil_docker_discover(root, &eng, &err))
		vigil_docker_engine_clear(&eng);
	return 0;
}
