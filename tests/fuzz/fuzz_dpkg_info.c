/* fuzz_dpkg_info.c - hostile info/PKG.md5sums, info/PKG.list and diversions
 * (the first byte picks which, and the merged-/usr dirs) into a database of
 * two packages; then every sum is looked up and its real path resolved. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/dpkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char status[] = "Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n"
			     "Package: b\nStatus: install ok installed\nVersion: 2\nArchitecture: all\n"
			     "Conffiles:\n /etc/b 0123456789abcdef0123456789abcdef\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_dpkg *db = vigil_dpkg_new();
	struct vigil_err err = { "" };
	const char *text = (const char *)data + 1, *file;
	int rc, kind;

	if (!db || !size) {
		vigil_dpkg_free(db);
		return 0;
	}
	kind = data[0] % 3;
	vigil_dpkg_set_usrmerge(db, data[0] >> 2);
	if (vigil_dpkg_load_status(db, status, sizeof(status) - 1, "status", NULL))
		abort();
	file = kind == 0 ? "a.md5sums" : kind == 1 ? "a.list" : "diversions";
	if (kind == 0)
		rc = vigil_dpkg_load_md5sums(db, 0, text, size - 1, file, &err);
	else if (kind == 1)
		rc = vigil_dpkg_load_list(db, 0, text, size - 1, file, &err);
	else
		rc = vigil_dpkg_load_diversions(db, text, size - 1, file, &err);
	if (rc && rc != -ENOMEM && strncmp(err.msg, file, strlen(file)))
		abort();
	for (size_t i = 0; i < vigil_dpkg_n_sums(db); i++) {
		const struct vigil_dpkg_sum *s = vigil_dpkg_sum(db, i);
		struct vigil_dpkg_owner o;
		const char *real;

		if (s->path[0] != '/' || !vigil_dpkg_lookup(db, s->path, &o) || !o.n_sums)
			abort();
		real = vigil_dpkg_real_path(db, s->path, s->pkg);
		if (!real || real[0] != '/')
			abort();
	}
	vigil_dpkg_free(db);
	return 0;
}
