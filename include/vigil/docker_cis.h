/* docker_cis.h - what the CIS Docker Benchmark checks ask of the Docker
 * collector beyond docker.h: a container's and an image's raw JSON (every key
 * the benchmark looks at, not only those the model keeps), daemon.json read
 * the way dockerd reads it, and dockerd's command line.
 *
 * Lifecycle: each call returns objects the caller frees (json_decref,
 * vigil_docker_args_clear).  The reads go through agent/core/rootfs.c, so
 * --root works; /proc is read only for the running host.
 */
#ifndef VIGIL_DOCKER_CIS_H
#define VIGIL_DOCKER_CIS_H

#include <jansson.h>
#include <sys/types.h>

#include "vigil/config.h"
#include "vigil/docker.h"
#include "vigil/err.h"

/* containers/<id>/config.v2.json and hostconfig.json as JSON objects.  A
 * file that is missing, truncated or not an object: its pointer stays NULL
 * and *why (malloc'd) names the file and the line.  0, or -ENOMEM. */
int vigil_docker_container_json(const struct vigil_docker *d, const char *id, json_t **config,
				json_t **hostconfig, char **why);

/* The image config (imagedb/content/sha256/<hex>) as a JSON object, or NULL
 * with *why set.  0, or -ENOMEM. */
int vigil_docker_image_json(const struct vigil_docker *d, const char *image_id, json_t **cfg, char **why);

/* Files with setuid or setgid in an image's layers (their diff dirs,
 * base first; a path shadowed by an upper layer is still listed: it is in
 * the image).  cb gets the path inside the image and its mode; non-zero
 * stops and is returned.  -errno when a diff dir cannot be opened. */
int vigil_docker_image_setid(const struct vigil_docker *d, const struct vigil_docker_image *img,
			     int (*cb)(void *arg, const char *path, mode_t mode), void *arg,
			     struct vigil_err *err);

/* 1 when the node is in a swarm (DATA/swarm/state.json names nodes), else 0. */
int vigil_docker_swarm_active(const struct vigil_docker *d);

/* daemon.json as dockerd reads it: duplicate keys are refused.  Returns 0
 * and *out (an object), -ENOENT when the file does not exist, or -EINVAL
 * with *why ("/etc/docker/daemon.json: line 3: duplicate object key") when
 * dockerd would refuse it.  path: the file inside root. */
int vigil_docker_daemon_json(const char *root, const char *path, json_t **out, char **why);

/* dockerd's arguments (program name left out). */
struct vigil_docker_args {
	struct vigil_strv argv;
	char *source;  /* "/proc/123/cmdline", or the unit file whose ExecStart won */
	pid_t pid;     /* the running dockerd's, 0 when read from a unit */
};
/* Live (root is the host): the running dockerd (pid, or when 0 the newest
 * one run by root), else ExecStart of docker.service as systemd merges it
 * with its drop-ins ($DOCKER_OPTS from /etc/default/docker expanded).
 * 0 (argv may be empty: no dockerd and no unit), -errno. */
int vigil_docker_dockerd_args(const char *root, pid_t pid, struct vigil_docker_args *out, struct vigil_err *err);
void vigil_docker_args_clear(struct vigil_docker_args *a);

#endif
