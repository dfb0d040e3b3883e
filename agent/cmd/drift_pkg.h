/* drift_pkg.h - `vigil drift` explained by the image's own dpkg database
 * (agent/cmd/drift_pkg.c, for cmd_docker.c): each change judged
 * (package-file-tampered, conffile-modified, package-upgrade for a package
 * installed in the container, unpackaged-file), and packages installed in
 * the running container reported as their own findings
 * (container-package-installed, kind "P"; container-package-removed for a
 * package of the image removed in it).
 * Lifecycle: drift_pkg_new() after vigil_docker_drift_flags(...,
 * VIGIL_DOCKER_DRIFT_MD5, ...) -> the printers -> drift_pkg_free(). */
#ifndef VIGIL_DRIFT_PKG_H
#define VIGIL_DRIFT_PKG_H

#include <stddef.h>

#include <jansson.h>

#include "vigil/docker.h"

struct drift_pkg;

/* Never NULL but on ENOMEM; a container without dpkg, or whose records
 * cannot be read (a warning), judges nothing. */
struct drift_pkg *drift_pkg_new(struct vigil_docker *d, const struct vigil_docker_container *c,
				const struct vigil_docker_change *ch, size_t n);
void drift_pkg_free(struct drift_pkg *dp);
/* Change i's judgement into its JSON object / as a line under its text line. */
void drift_pkg_change_json(const struct drift_pkg *dp, size_t i, json_t *j);
void drift_pkg_change_text(const struct drift_pkg *dp, size_t i);
/* The container-package-installed findings, appended to the array / printed. */
void drift_pkg_findings_json(const struct drift_pkg *dp, json_t *a);
void drift_pkg_findings_text(const struct drift_pkg *dp);

#endif
