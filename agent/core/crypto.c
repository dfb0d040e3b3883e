/* crypto.c - libgcrypt set-up and the multi-digest context. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gcrypt.h>

#include "vigil/crypto.h"

#define VIGIL_GCRYPT_MIN "1.9.0"

static const struct {
	const char *name, *ecs;
	int gcry;
	size_t len;
} algos[VIGIL_ALGO_COUNT] = {
	[VIGIL_ALGO_SHA256] = { "sha256", "sha256", GCRY_MD_SHA256, 32 },
	[VIGIL_ALGO_SHA512] = { "sha512", "sha512", GCRY_MD_SHA512, 64 },
	[VIGIL_ALGO_BLAKE2B512] = { "blake2b512", "blake2b_512", GCRY_MD_BLAKE2B_512, 64 },
	[VIGIL_ALGO_SHA3_256] = { "sha3-256", "sha3_256", GCRY_MD_SHA3_256, 32 },
	[VIGIL_ALGO_MD5] = { "md5", "md5", GCRY_MD_MD5, 16 },
};

int vigil_crypto_init(struct vigil_err *err)
{
	if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P))
		return 0;
	if (!gcry_check_version(VIGIL_GCRYPT_MIN))
		return vigil_err_set(err, -ENOTSUP, "libgcrypt %s is older than the %s vigil needs",
				     gcry_check_version(NULL), VIGIL_GCRYPT_MIN);
	/* Secure memory holds the signing key's seed; 64 KiB is plenty for one
	 * Ed25519 key and keeps mlock within default RLIMIT_MEMLOCK.  Without
	 * CAP_IPC_LOCK libgcrypt falls back with a warning we silence: the key is
	 * still wiped after use. */
	gcry_control(GCRYCTL_SUSPEND_SECMEM_WARN);
	gcry_control(GCRYCTL_INIT_SECMEM, 65536, 0);
	gcry_control(GCRYCTL_RESUME_SECMEM_WARN);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	return 0;
}

int vigil_algo_from_name(const char *name)
{
	for (int i = 0; i < VIGIL_ALGO_COUNT; i++)
		if (i != VIGIL_ALGO_MD5 && !strcasecmp(name, algos[i].name))
			return i;
	if (!strcasecmp(name, "sha3_256") || !strcasecmp(name, "sha3256"))
		return VIGIL_ALGO_SHA3_256;
	if (!strcasecmp(name, "blake2b") || !strcasecmp(name, "blake2b-512"))
		return VIGIL_ALGO_BLAKE2B512;
	return -1;
}

const char *vigil_algo_name(int a)
{
	return a >= 0 && a < VIGIL_ALGO_COUNT ? algos[a].name : "?";
}

const char *vigil_algo_ecs_name(int a)
{
	return a >= 0 && a < VIGIL_ALGO_COUNT ? algos[a].ecs : "?";
}

size_t vigil_algo_len(int a)
{
	return a >= 0 && a < VIGIL_ALGO_COUNT ? algos[a].len : 0;
}

struct vigil_digest {
	gcry_md_hd_t hd;
	unsigned algos;
};

struct vigil_digest *vigil_digest_new(unsigned mask)
{
	struct vigil_digest *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	if (gcry_md_open(&d->hd, 0, 0)) {
		free(d);
		return NULL;
	}
	for (int i = 0; i < VIGIL_ALGO_COUNT; i++)
		if ((mask & VIGIL_ALGO_BIT(i)) && gcry_md_enable(d->hd, algos[i].gcry)) {
			vigil_digest_free(d);
			return NULL;
		}
	d->algos = mask;
	return d;
}

void vigil_digest_write(struct vigil_digest *d, const void *buf, size_t len)
{
	gcry_md_write(d->hd, buf, len);
}

void vigil_digest_read(struct vigil_digest *d, int a, unsigned char *out)
{
	const unsigned char *p = gcry_md_read(d->hd, algos[a].gcry);

	if (p)
		memcpy(out, p, algos[a].len);
	else
		memset(out, 0, algos[a].len);
}

void vigil_digest_reset(struct vigil_digest *d)
{
	gcry_md_reset(d->hd);
}

void vigil_digest_free(struct vigil_digest *d)
{
	if (!d)
		return;
	gcry_md_close(d->hd);
	free(d);
}

void vigil_sha256(const void *buf, size_t len, unsigned char out[32])
{
	gcry_md_hash_buffer(GCRY_MD_SHA256, out, buf, len);
}

void vigil_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int vigil_unhex(const char *in, unsigned char *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = hexval((unsigned char)in[2 * i]), lo;

		if (hi < 0)
			return -EINVAL;
		lo = hexval((unsigned char)in[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return in[2 * len] == '\0' ? 0 : -EINVAL;
}
