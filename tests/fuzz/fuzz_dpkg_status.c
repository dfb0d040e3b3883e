/* fuzz_dpkg_status.c - hostile /var/lib/dpkg/status text through the stanza
 * parser; on success every package and conffile it kept must be well formed
 * and findable, on failure the message must name the file and a line. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/dpkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_dpkg *db = vigil_dpkg_new();
	struct vigil_err err = { "" };
	int rc;

	if (!db)
		return 0;
	vigil_dpkg_set_usrmerge(db, size ? data[0] & 0x3f : 0);
	rc = vigil_dpkg_load_status(db, (const char *)data, size, "status", &err);
	if (rc && rc != -ENOMEM && strncmp(err.msg, "status:", 7))
		abort();
	for (size_t i = 0; !rc && i < vigil_dpkg_n_pkgs(db); i++) {
		const struct vigil_dpkg_pkg *p = vigil_dpkg_pkg(db, (uint32_t)i);
		struct vigil_dpkg_owner o;

		if (!p->name || !p->id || vigil_dpkg_find_pkg(db, p->id) < 0)
			abort();
		for (size_t k = 0; k < p->n_conf; k++)
			if (p->conf[k].path[0] != '/' ||
			    (p->installed && !(p->conf[k].flags & (VIGIL_DPKG_CONF_NO_MD5 | VIGIL_DPKG_CONF_REMOVE_ON_UPGRADE)) &&
			     !vigil_dpkg_lookup(db, p->conf[k].path, &o)))
				abort();
	}
	vigil_dpkg_free(db);
	return 0;
}
