/* fuzz_verify.c - hostile evidence archives through `vigil verify`'s parser
 * (vigil_evidence_check_fd: libarchive's zstd/gzip/tar readers, the manifest
 * and custody parsers, the member matching).  The input is the archive file.
 * Memory stays bounded by VIGIL_EVVERIFY_MAX_SMALL and _MAX_MEMBERS whatever
 * the archive claims; the verdict must be 0 or 1 (a fault), never a crash. */
#define _GNU_SOURCE
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vigil/capture.h"
#include "vigil/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct vigil_evverify v;
	struct vigil_err err;
	int fd, rc;

	if (!init) {
		vigil_crypto_init(NULL);
		init = 1;
	}
	fd = memfd_create("fuzz-archive", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	rc = vigil_evidence_check_fd(fd, &v, &err);
	close(fd);
	if (rc != 0 && rc != 1)
		abort(); /* -ENOMEM is the only failure left, and the caps prevent it */
	if (rc == 1 && !v.fault[0])
		abort(); /* a fault is always named */
	return 0;
}
