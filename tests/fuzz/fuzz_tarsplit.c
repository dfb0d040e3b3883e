/* fuzz_tarsplit.c - `layers verify` on a hostile tar-split.json.gz: the input
 * becomes the tar-split file of a real layer (a scratch data root built once
 * with tests/unit/docker_fixture.c: a directory, files whose payloads are
 * read from diff/ between the tar segments, a symlink, a whiteout and an
 * opaque marker), and vigil_docker_verify() runs its real handlers on it:
 * gzip reader, JSON lines, tar header parser, header and payload callbacks,
 * digest and CRC passes.
 *
 * Input: one mode byte, then the body.  Mode bit 0 set: the body is written
 * as the .gz file itself (hostile compressed bytes); clear: the body is JSON
 * lines, gzip'd here.  Dictionary: fuzz_tarsplit.dict. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "vigil/crypto.h"
#include "vigil/docker.h"

#include "../../collectors/docker/docker_priv.h"
#include "../unit/docker_fixture.h"
#include "fuzz_common.h"

static struct vigil_docker *model;
static char tarsplit[4200], *fxroot;

static void cleanup(void)
{
	vigil_docker_free(model);
	fx_rm(fxroot);
	free(fxroot);
}

static void init(void)
{
	static const struct fx_entry layer[] = {
		{ "etc/", '5', 0755, NULL, 1700000000 },
		{ "etc/passwd", '0', 0644, "root:x:0:0:root:/root:/bin/sh\n", 1700000001 },
		{ "etc/empty", '0', 0600, "", 1700000002 },
		{ "bin/", '5', 0755, NULL, 1700000003 },
		{ "bin/sh", '0', 0755, "#!/bin/busybox sh\n", 1700000004 },
		{ "bin/ash", '2', 0777, "sh", 1700000005 },
		{ "opt/", '5', 0755, NULL, 1700000006 },
		{ "opt/.wh..wh..opq", '0', 0644, "", 1700000007 },
		{ "var/", '5', 0755, NULL, 1700000008 },
		{ "var/.wh.gone", '0', 0644, "", 1700000009 },
	};
	struct vigil_err err;
	char chain[72], *root, *top;

	setenv("FX_TMPDIR", fz_tmp(), 1);
	root = fx_new_root();
	if (!root || vigil_crypto_init(&err) ||
	    fx_layer(root, "f0220001", layer, sizeof(layer) / sizeof(layer[0]), chain))
		abort();
	snprintf(tarsplit, sizeof(tarsplit), "%s/image/overlay2/layerdb/sha256/%s/tar-split.json.gz", root,
		 chain + 7);
	top = strdup(root);
	if (!top)
		abort();
	*strrchr(top, '/') = '\0';
	if (vigil_docker_load(top, "/d", &model, &err))
		abort();
	free(top);
	fxroot = root;
	atexit(cleanup);
}

static void write_gz(const uint8_t *body, size_t len, int raw)
{
	z_stream z = { 0 };
	uLong cap = compressBound(len) + 32;
	unsigned char *out;

	if (raw) {
		fz_put("/", tarsplit + 1, body, len);
		return;
	}
	out = malloc(cap);
	if (!out || deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (unsigned char *)body;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		abort();
	fz_put("/", tarsplit + 1, out, z.total_out);
	deflateEnd(&z);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_docker_verify *v = NULL;
	struct vigil_err err;
	size_t n = 0;

	if (!model)
		init();
	if (size < 1 || size > (1u << 20))
		return 0;
	write_gz(data + 1, size - 1, data[0] & 1);
	if (vigil_docker_verify(model, NULL, 0, 1, &v, &n, &err) == 0)
		vigil_docker_verify_free(v, n);
	return 0;
}
