/* fuzz_kcore.c - hostile /proc/kcore ELF cores through the reader.
 * The input is the core file (written to a private temp file, read with
 * pread as the real one); two small System RAM ranges are dumped from it
 * into a sink that only counts.  Whatever the headers say, the stream must
 * validate (holes zero-filled) and hold exactly the planned bytes. */
#include "config.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vigil/crypto.h"
#include "vigil/kcore.h"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static int count_sink(void *ctx, const void *buf, size_t len, struct vigil_err *err)
{
	(void)buf;
	(void)err;
	*(uint64_t *)ctx += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vigil_lime_range ram[] = { { 0x1000, 0x4bff }, { 0x100000, 0x101fff } };
	static int ready;
	struct vigil_kcore_result res;
	struct vigil_lime_out *o;
	struct vigil_err err;
	uint64_t n = 0;
	char hex[65];
	int fd;

	if (!ready) {
		snprintf(path, sizeof(path), "%s/vigil-fuzz-kcore-XXXXXX", fz_tmp());
		fd = mkstemp(path);
		if (fd < 0 || vigil_crypto_init(&err))
			abort();
		close(fd);
		ready = 1;
	}
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	o = vigil_lime_out_new(count_sink, &n);
	if (!o)
		abort();
	if (vigil_kcore_dump(path, ram, 2, o, &res, &err) == 0) {
		if (vigil_lime_out_finish(o, hex, &err) || n != 2 * 32 + 0x3c00 + 0x2000)
			abort();
		if (res.holes_listed > VIGIL_LIME_MAX_GAPS || res.hole_bytes > 0x3c00 + 0x2000)
			abort();
	}
	vigil_kcore_result_free(&res);
	vigil_lime_out_free(o);
	return 0;
}
