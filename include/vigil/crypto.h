/* crypto.h - libgcrypt initialisation and multi-digest hashing.
 *
 * Lifecycle: vigil_crypto_init() once in main() and in every test before any
 * other call; then vigil_digest_new(algos) / _write() ... / _final() / _free().
 * One vigil_digest computes every selected algorithm in a single pass over the
 * data (one gcry_md handle with several algorithms enabled).
 */
#ifndef VIGIL_CRYPTO_H
#define VIGIL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

enum vigil_algo {
	VIGIL_ALGO_SHA256 = 0,
	VIGIL_ALGO_SHA512,
	VIGIL_ALGO_BLAKE2B512,
	VIGIL_ALGO_SHA3_256,
	VIGIL_ALGO_MD5,      /* internal: dpkg's sums (packages); no config names it */
	VIGIL_ALGO_COUNT
};

#define VIGIL_ALGO_BIT(a) (1u << (a))
#define VIGIL_ALGOS_DEFAULT VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256)
#define VIGIL_DIGEST_MAX 64

/* Version check, secure memory (for the signing key), initialization finished.
 * Returns 0 or -errno with detail in err.  Safe to call more than once. */
int vigil_crypto_init(struct vigil_err *err);

/* "sha256", "sha512", "blake2b512", "sha3-256"; -1 when unknown (and for
 * "md5", which only the package checks use, never a baseline's choice). */
int vigil_algo_from_name(const char *name);
const char *vigil_algo_name(int algo);
size_t vigil_algo_len(int algo);
/* The ECS-style field suffix: "sha256", "sha512", "blake2b_512", "sha3_256". */
const char *vigil_algo_ecs_name(int algo);

struct vigil_digest;
struct vigil_digest *vigil_digest_new(unsigned algos);
void vigil_digest_write(struct vigil_digest *d, const void *buf, size_t len);
/* Copies the result for algo into out (vigil_algo_len(algo) bytes). */
void vigil_digest_read(struct vigil_digest *d, int algo, unsigned char *out);
void vigil_digest_reset(struct vigil_digest *d);
void vigil_digest_free(struct vigil_digest *d);

/* One-shot SHA-256. */
void vigil_sha256(const void *buf, size_t len, unsigned char out[32]);

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void vigil_hex(const unsigned char *in, size_t len, char *out);
/* Parses exactly 2*len hex digits; 0 or -EINVAL. */
int vigil_unhex(const char *in, unsigned char *out, size_t len);

#endif
