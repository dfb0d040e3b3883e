/* fuzz_minisig.c - hostile minisign public key and signature files.
 * The first input byte picks the parser; the rest is the file's content.
 * The files go through the real loaders (paths, not buffers), in a private
 * temp dir made once per process. */
#include "config.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vigil/crypto.h"
#include "vigil/sign.h"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], keyfile[96], sigfile[96], datafile[96];
static struct vigil_pubkey *pub;

static int write_all(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, p, n) == (ssize_t)n;
	close(fd);
	return ok ? 0 : -1;
}

static int init(void)
{
	struct vigil_err err;

	snprintf(dir, sizeof(dir), "%s/vigil-fuzz-minisig-XXXXXX", fz_tmp());
	if (vigil_crypto_init(&err) || !mkdtemp(dir))
		return -1;
	snprintf(keyfile, sizeof(keyfile), "%s/in.pub", dir);
	snprintf(sigfile, sizeof(sigfile), "%s/data.minisig", dir);
	snprintf(datafile, sizeof(datafile), "%s/data", dir);
	/* A fixed key, so signature parsing gets past the key id check when the
	 * input carries its id (0102030405060708). */
	if (write_all(keyfile, "untrusted comment: k\nRWQBAgMEBQYHCNdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea\n", 78) ||
	    vigil_pubkey_load_file(keyfile, &pub, &err) || write_all(datafile, "data\n", 5))
		return -1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct vigil_err err;
	struct vigil_pubkey *k = NULL;

	if (!ready) {
		if (init())
			abort();
		ready = 1;
	}
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (write_all(keyfile, data + 1, size - 1) == 0 && vigil_pubkey_load_file(keyfile, &k, &err) == 0)
			vigil_pubkey_free(k);
	} else if (write_all(sigfile, data + 1, size - 1) == 0) {
		vigil_minisign_verify(pub, datafile, sigfile, &err);
	}
	return 0;
}
