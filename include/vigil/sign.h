/* sign.h - Ed25519 keys and signatures through libgcrypt, minisign-compatible.
 *
 * Lifecycle: vigil_sign_keygen(dir) once (`vigil keygen`); then
 * vigil_seckey_load(dir) / vigil_pubkey_load(dir) -> sign/verify ->
 * vigil_seckey_free() (wipes the secret, held in gcrypt secure memory) /
 * vigil_pubkey_free().
 *
 * Files in the state dir: vigil.key (secret, mode 0600, vigil's own format:
 * "vigil-ed25519-secret-v1" line, key id hex, seed hex) and vigil.pub
 * (minisign public key format, so `minisign -V -p vigil.pub` works on
 * anything signed with vigil_minisign_file()).
 */
#ifndef VIGIL_SIGN_H
#define VIGIL_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

#define VIGIL_SECKEY_FILE "vigil.key"
#define VIGIL_PUBKEY_FILE "vigil.pub"

struct vigil_seckey;
struct vigil_pubkey;

/* Creates vigil.key (0600, O_EXCL) and vigil.pub in dir; -EEXIST if a key exists
 * and force is 0. */
int vigil_sign_keygen(const char *dir, int force, struct vigil_err *err);
int vigil_seckey_load(const char *dir, struct vigil_seckey **out, struct vigil_err *err);
int vigil_pubkey_load(const char *dir, struct vigil_pubkey **out, struct vigil_err *err);
/* Loads a minisign public key file (any path). */
int vigil_pubkey_load_file(const char *file, struct vigil_pubkey **out, struct vigil_err *err);
void vigil_seckey_free(struct vigil_seckey *k);
void vigil_pubkey_free(struct vigil_pubkey *k);
void vigil_seckey_id(const struct vigil_seckey *k, unsigned char id[8]);
void vigil_pubkey_id(const struct vigil_pubkey *k, unsigned char id[8]);
/* The key id as minisign prints it (16 upper-case hex digits of the
 * little-endian uint64), e.g. for "signed with key ..." messages. */
void vigil_sign_key_id_str(const unsigned char id[8], char out[17]);

/* Plain Ed25519 over msg. */
int vigil_sign(const struct vigil_seckey *k, const void *msg, size_t len, unsigned char sig[64],
	       struct vigil_err *err);
/* 0 when valid, -EBADMSG when not. */
int vigil_verify(const struct vigil_pubkey *k, const void *msg, size_t len, const unsigned char sig[64],
		 struct vigil_err *err);

/* Writes FILE.minisig for FILE (Ed25519 over BLAKE2b-512 of the file, plus the
 * global signature over sig || trusted_comment), as stock `minisign -V` expects. */
int vigil_minisign_file(const struct vigil_seckey *k, const char *file, const char *trusted_comment,
			struct vigil_err *err);
/* The same for a writer that computed the file's BLAKE2b-512 while writing it
 * (no second read of the file); hash must be exactly that of FILE's bytes. */
int vigil_minisign_file_hashed(const struct vigil_seckey *k, const char *file, const unsigned char hash[64],
			       const char *trusted_comment, struct vigil_err *err);
/* Verifies FILE against FILE.minisig (or sigfile). */
int vigil_minisign_verify(const struct vigil_pubkey *k, const char *file, const char *sigfile,
			  struct vigil_err *err);

#endif
