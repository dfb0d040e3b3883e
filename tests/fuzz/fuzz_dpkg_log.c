/* fuzz_dpkg_log.c - hostile dpkg.log text, and the same bytes as a rotated
 * dpkg.log.N.gz through the bounded inflater then the parser.  Every event
 * must carry a package and a time the parser could have read. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/dpkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_ev(void *arg, const struct vigil_dpkg_logev *ev)
{
	(void)arg;
	if (!ev->pkg || !*ev->pkg || ev->action < VIGIL_DPKG_LOG_INSTALL || ev->action > VIGIL_DPKG_LOG_PURGE ||
	    !ev->line)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_err err = { "" };
	char *out = NULL;
	size_t len;
	int rc;

	rc = vigil_dpkg_log_parse((const char *)data, size, "dpkg.log", on_ev, NULL, &err);
	if (rc && strncmp(err.msg, "dpkg.log:", 9))
		abort();
	rc = vigil_dpkg_gunzip(data, size, 1u << 20, &out, &len);
	if (rc == 0) {
		if (len > (1u << 20) || out[len] != '\0')
			abort();
		vigil_dpkg_log_parse(out, len, "dpkg.log.2.gz", on_ev, NULL, &err);
	} else if (rc != -EBADMSG && rc != -EFBIG && rc != -ENOMEM) {
		abort();
	}
	free(out);
	return 0;
}
