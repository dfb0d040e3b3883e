/* fuzz_cis.c - `vigil cis` on a hostile root: the files the compliance
 * checks read, one part each (fuzz_common.h):
 *
 *   0 containers/<id>/config.v2.json   1 containers/<id>/hostconfig.json
 *   2 /etc/docker/daemon.json          3 /lib/systemd/system/docker.service
 *   4 a docker.service.d drop-in       5 /etc/default/docker
 *   6 /etc/audit/rules.d/docker.rules  7 /etc/group
 *
 * Every check must end in a verdict (an `error` for what dockerd or Docker
 * would refuse), and every report writer must run, never crash or leak.
 * Seeds: corpus/cis (make-seeds.py); dictionary: fuzz_docker_json.dict. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/compliance.h"

#include "fuzz_common.h"

static const char cid[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *base;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const files[] = {
		NULL, NULL, "etc/docker/daemon.json", "lib/systemd/system/docker.service",
		"etc/systemd/system/docker.service.d/override.conf", "etc/default/docker",
		"etc/audit/rules.d/docker.rules", "etc/group",
	};
	const uint8_t *part[8];
	size_t len[8], n;
	char rel[256];
	struct vigil_cis_opts o = { 0 };
	struct vigil_cis_report *r = NULL;
	struct vigil_err err;
	FILE *null;

	if (!base) {
		base = fz_dir("cis");
		fz_mkdirs(base, "var/lib/docker/image/overlay2/imagedb/content/sha256");
	}
	n = fz_split(data, size, part, len, 8);
	snprintf(rel, sizeof(rel), "var/lib/docker/containers/%s/config.v2.json", cid);
	fz_put_part(base, rel, 0, n, part, len);
	snprintf(rel, sizeof(rel), "var/lib/docker/containers/%s/hostconfig.json", cid);
	fz_put_part(base, rel, 1, n, part, len);
	for (size_t i = 2; i < 8; i++)
		fz_put_part(base, files[i], i, n, part, len);
	o.root = base;
	if (!vigil_cis_run(&o, &r, &err)) {
		null = fopen("/dev/null", "w");
		if (null) {
			vigil_cis_write_text(r, null, 1);
			vigil_cis_write_json(r, null);
			vigil_cis_write_junit(r, null);
			vigil_cis_write_html(r, NULL, 0, null);
			fclose(null);
		}
		/* nothing passes on a container whose files are not objects */
		vigil_cis_report_free(r);
	}
	return 0;
}
