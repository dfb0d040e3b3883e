/* sign.c - Ed25519 keys and signatures through libgcrypt.
 *
 * The secret is a 32-byte Ed25519 seed held in gcrypt secure memory and wiped
 * on free; the public key is derived from it on load, so vigil.key carries
 * only the seed and an 8-byte key id.  vigil.pub and FILE.minisig follow
 * minisign's formats byte for byte (see FORMATS.md), so stock `minisign -V`
 * checks what vigil signs and vigil checks what minisign signs ("ED" prehashed
 * with BLAKE2b-512, and legacy "Ed" over the raw file): minisign.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gcrypt.h>

#include "vigil/crypto.h"
#include "vigil/base64.h"
#include "vigil/sign.h"
#include "vigil/statedir.h"

#define SECKEY_MAGIC "vigil-ed25519-secret-v1"
#define SEED_LEN 32
#define PK_LEN 32
#define SIG_LEN 64
#define ID_LEN 8
/* Bigger than any key or signature file minisign writes, small enough to read whole. */
#define SMALL_FILE_MAX 16384

struct vigil_seckey {
	unsigned char *seed; /* SEED_LEN bytes of gcrypt secure memory */
	unsigned char pk[PK_LEN];
	unsigned char id[ID_LEN];
};

struct vigil_pubkey {
	unsigned char pk[PK_LEN];
	unsigned char id[ID_LEN];
};

void vigil_sign_key_id_str(const unsigned char id[8], char out[17])
{
	static const char digits[] = "0123456789ABCDEF";

	/* minisign keeps the id as a little-endian uint64 and prints it with %016llX. */
	for (int i = 0; i < ID_LEN; i++) {
		out[2 * i] = digits[id[ID_LEN - 1 - i] >> 4];
		out[2 * i + 1] = digits[id[ID_LEN - 1 - i] & 15];
	}
	out[16] = '\0';
}

/* minisign's lines hold fixed-size blobs: anything but exactly want bytes of
 * canonical base64 is refused. */
static int b64_decode_exact(const char *s, size_t n, unsigned char *out, size_t want)
{
	return vigil_base64_decode(s, n, out, want) == (long)want ? 0 : -EINVAL;
}

/* --- Ed25519 through libgcrypt --------------------------------------------- */

static int gcry_to_errno(gcry_error_t e)
{
	if (gcry_err_code(e) == GPG_ERR_ENOMEM || gcry_err_code(e) == GPG_ERR_SYSTEM_ERROR)
		return -ENOMEM;
	return -EINVAL;
}

/* Public key of a seed, as 32 EdDSA-encoded bytes. */
static int derive_pk(const unsigned char *seed, unsigned char pk[PK_LEN], struct vigil_err *err)
{
	gcry_sexp_t key = NULL;
	gcry_ctx_t ctx = NULL;
	gcry_mpi_t q = NULL;
	const unsigned char *p;
	unsigned nbits = 0;
	gcry_error_t e;
	int rc = 0;

	e = gcry_sexp_build(&key, NULL, "(private-key(ecc(curve Ed25519)(flags eddsa)(d %b)))",
			    SEED_LEN, seed);
	if (!e)
		e = gcry_mpi_ec_new(&ctx, key, NULL);
	if (e) {
		rc = vigil_err_set(err, gcry_to_errno(e), "cannot load the Ed25519 key: %s", gcry_strerror(e));
		goto out;
	}
	q = gcry_mpi_ec_get_mpi("q@eddsa", ctx, 1);
	p = q && gcry_mpi_get_flag(q, GCRYMPI_FLAG_OPAQUE) ? gcry_mpi_get_opaque(q, &nbits) : NULL;
	if (!p || nbits != PK_LEN * 8) {
		rc = vigil_err_set(err, -EINVAL, "cannot derive the Ed25519 public key from the seed");
		goto out;
	}
	memcpy(pk, p, PK_LEN);
out:
	gcry_mpi_release(q);
	gcry_ctx_release(ctx);
	gcry_sexp_release(key); /* built from secure memory: libgcrypt wipes it */
	return rc;
}

static int sig_part(gcry_sexp_t sig, const char *name, unsigned char out[32])
{
	gcry_sexp_t t = gcry_sexp_find_token(sig, name, 0);
	const char *d;
	size_t n = 0;
	int rc = -EINVAL;

	if (!t)
		return rc;
	d = gcry_sexp_nth_data(t, 1, &n);
	if (d && n == 32) {
		memcpy(out, d, 32);
		rc = 0;
	}
	gcry_sexp_release(t);
	return rc;
}

int vigil_sign(const struct vigil_seckey *k, const void *msg, size_t len, unsigned char sig[64],
	       struct vigil_err *err)
{
	gcry_sexp_t key = NULL, data = NULL, s = NULL;
	gcry_error_t e;
	int rc = 0;

	e = gcry_sexp_build(&key, NULL, "(private-key(ecc(curve Ed25519)(flags eddsa)(q %b)(d %b)))",
			    PK_LEN, k->pk, SEED_LEN, k->seed);
	if (!e)
		e = gcry_sexp_build(&data, NULL, "(data(flags eddsa)(hash-algo sha512)(value %b))",
				    (int)len, len ? msg : "");
	if (!e)
		e = gcry_pk_sign(&s, data, key);
	if (e) {
		rc = vigil_err_set(err, gcry_to_errno(e), "Ed25519 signing failed: %s", gcry_strerror(e));
		goto out;
	}
	if (sig_part(s, "r", sig) || sig_part(s, "s", sig + 32))
		rc = vigil_err_set(err, -EINVAL, "Ed25519 signing returned a malformed signature");
out:
	gcry_sexp_release(s);
	gcry_sexp_release(data);
	gcry_sexp_release(key);
	return rc;
}

static int verify_raw(const unsigned char pk[PK_LEN], const void *msg, size_t len,
		      const unsigned char sig[SIG_LEN], const char **why)
{
	gcry_sexp_t key = NULL, data = NULL, s = NULL;
	gcry_error_t e;

	e = gcry_sexp_build(&key, NULL, "(public-key(ecc(curve Ed25519)(flags eddsa)(q %b)))", PK_LEN, pk);
	if (!e)
		e = gcry_sexp_build(&data, NULL, "(data(flags eddsa)(hash-algo sha512)(value %b))",
				    (int)len, len ? msg : "");
	if (!e)
		e = gcry_sexp_build(&s, NULL, "(sig-val(eddsa(r %b)(s %b)))", 32, sig, 32, sig + 32);
	if (!e)
		e = gcry_pk_verify(s, data, key);
	gcry_sexp_release(s);
	gcry_sexp_release(data);
	gcry_sexp_release(key);
	if (e && gcry_err_code(e) == GPG_ERR_ENOMEM)
		return -ENOMEM;
	*why = e ? gcry_strerror(e) : NULL;
	return e ? -EBADMSG : 0;
}

int vigil_verify(const struct vigil_pubkey *k, const void *msg, size_t len, const unsigned char sig[64],
		 struct vigil_err *err)
{
	const char *why = NULL;
	char id[17];
	int rc = verify_raw(k->pk, msg, len, sig, &why);

	vigil_sign_key_id_str(k->id, id);
	if (rc == -ENOMEM)
		return vigil_err_set(err, rc, "Ed25519 verification: out of memory");
	if (rc)
		return vigil_err_set(err, rc, "signature does not verify with key %s: %s", id, why);
	return 0;
}

/* --- keys --------------------------------------------------------------------- */

void vigil_seckey_free(struct vigil_seckey *k)
{
	if (!k)
		return;
	if (k->seed) {
		explicit_bzero(k->seed, SEED_LEN);
		gcry_free(k->seed);
	}
	explicit_bzero(k, sizeof(*k));
	free(k);
}

void vigil_pubkey_free(struct vigil_pubkey *k)
{
	free(k);
}

void vigil_seckey_id(const struct vigil_seckey *k, unsigned char id[8])
{
	memcpy(id, k->id, ID_LEN);
}

void vigil_pubkey_id(const struct vigil_pubkey *k, unsigned char id[8])
{
	memcpy(id, k->id, ID_LEN);
}

static struct vigil_seckey *seckey_new(void)
{
	struct vigil_seckey *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->seed = gcry_malloc_secure(SEED_LEN);
	if (!k->seed) {
		free(k);
		return NULL;
	}
	return k;
}

static int dir_file(char *buf, size_t size, const char *dir, const char *name, struct vigil_err *err)
{
	if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size)
		return vigil_err_set(err, -ENAMETOOLONG, "path too long: '%s/%s'", dir, name);
	return 0;
}

/* "untrusted comment: ..." then base64("Ed" || id || pk). */
static void format_pub(const struct vigil_seckey *k, char *out, size_t size)
{
	unsigned char raw[2 + ID_LEN + PK_LEN];
	char b64[4 * ((sizeof(raw) + 2) / 3) + 1], id[17];

	memcpy(raw, "Ed", 2);
	memcpy(raw + 2, k->id, ID_LEN);
	memcpy(raw + 2 + ID_LEN, k->pk, PK_LEN);
	vigil_base64_encode(raw, sizeof(raw), b64);
	vigil_sign_key_id_str(k->id, id);
	snprintf(out, size, "untrusted comment: vigil public key %s\n%s\n", id, b64);
}

#define SECKEY_TEXT_SIZE (sizeof(SECKEY_MAGIC) + 2 * ID_LEN + 2 * SEED_LEN + 4)

/* A fresh key in k and vigil.key's text for it in text (SECKEY_TEXT_SIZE
 * bytes of secure memory). */
static int new_key(struct vigil_seckey *k, char *text, struct vigil_err *err)
{
	char idhex[2 * ID_LEN + 1];
	int rc;

	/* What gcry_pk_genkey does for Ed25519, but with the seed landing straight
	 * in secure memory as 32 bytes (genkey hands it back as an MPI). */
	gcry_randomize(k->seed, SEED_LEN, GCRY_VERY_STRONG_RANDOM);
	gcry_randomize(k->id, ID_LEN, GCRY_STRONG_RANDOM);
	rc = derive_pk(k->seed, k->pk, err);
	if (rc)
		return rc;
	vigil_hex(k->id, ID_LEN, idhex);
	memcpy(text, SECKEY_MAGIC "\n", sizeof(SECKEY_MAGIC));
	memcpy(text + sizeof(SECKEY_MAGIC), idhex, 2 * ID_LEN);
	text[sizeof(SECKEY_MAGIC) + 2 * ID_LEN] = '\n';
	vigil_hex(k->seed, SEED_LEN, text + sizeof(SECKEY_MAGIC) + 2 * ID_LEN + 1);
	strcat(text, "\n");
	return 0;
}

int vigil_sign_keygen(const char *dir, int force, struct vigil_err *err)
{
	char keyfile[PATH_MAX], pubfile[PATH_MAX], keytmp[PATH_MAX] = "", pubtmp[PATH_MAX] = "";
	char *text = NULL, pub[256];
	const size_t textsize = SECKEY_TEXT_SIZE;
	struct vigil_seckey *k = NULL;
	struct stat sb;
	int rc;

	rc = dir_file(keyfile, sizeof(keyfile), dir, VIGIL_SECKEY_FILE, err);
	if (!rc)
		rc = dir_file(pubfile, sizeof(pubfile), dir, VIGIL_PUBKEY_FILE, err);
	if (rc)
		goto out;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		rc = vigil_err_set(err, -errno, "cannot create state directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	/* a key written where others can write is a key others can swap */
	rc = vigil_statedir_check_dir(dir, err);
	if (rc)
		goto out;
	if (!force && lstat(keyfile, &sb) == 0) {
		rc = vigil_err_set(err, -EEXIST, "signing key '%s' already exists (use --force to replace it)",
				   keyfile);
		goto out;
	}
	k = seckey_new();
	text = gcry_malloc_secure(textsize);
	if (!k || !text) {
		rc = vigil_err_set(err, -ENOMEM, "key generation: out of secure memory");
		goto out;
	}
	rc = new_key(k, text, err);
	if (rc)
		goto out;
	format_pub(k, pub, sizeof(pub));

	rc = vigil_statedir_write_tmp(keyfile, text, strlen(text), 0600, keytmp, sizeof(keytmp), err);
	if (!rc)
		rc = vigil_statedir_write_tmp(pubfile, pub, strlen(pub), 0644, pubtmp, sizeof(pubtmp), err);
	if (rc)
		goto out;
	/* Without force, link() refuses to replace a key that appeared meanwhile. */
	if (force ? rename(keytmp, keyfile) < 0 : link(keytmp, keyfile) < 0) {
		rc = vigil_err_set(err, -errno, errno == EEXIST ?
				   "signing key '%s' already exists (use --force to replace it)%.0s" :
				   "cannot install '%s': %s", keyfile, strerror(errno));
		goto out;
	}
	if (force)
		keytmp[0] = '\0';
	if (rename(pubtmp, pubfile) < 0) {
		rc = vigil_err_set(err, -errno, "cannot install '%s': %s", pubfile, strerror(errno));
		goto out;
	}
	pubtmp[0] = '\0';
	if ((rc = vigil_statedir_sync_dir(keyfile)) < 0)
		vigil_err_set(err, rc, "cannot sync directory '%s': %s", dir, strerror(-rc));
out:
	if (keytmp[0])
		unlink(keytmp);
	if (pubtmp[0])
		unlink(pubtmp);
	if (text) {
		explicit_bzero(text, textsize);
		gcry_free(text);
	}
	vigil_seckey_free(k);
	return rc;
}

static int check_key_file(int fd, const char *file, struct vigil_err *err)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		return vigil_err_set(err, -errno, "cannot stat signing key '%s': %s", file, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return vigil_err_set(err, -EINVAL, "signing key '%s' is not a regular file", file);
	if (sb.st_uid != geteuid())
		return vigil_err_set(err, -EPERM, "signing key '%s' is owned by uid %u, not by the current user (uid %u)",
				     file, (unsigned)sb.st_uid, (unsigned)geteuid());
	if (sb.st_mode & 077)
		return vigil_err_set(err, -EPERM,
				     "signing key '%s' is accessible by group or others (mode %04o): chmod 600 it",
				     file, (unsigned)(sb.st_mode & 07777));
	if (sb.st_size > 512)
		return vigil_err_set(err, -EINVAL, "signing key '%s' is not a vigil key file (%jd bytes)",
				     file, (intmax_t)sb.st_size);
	return 0;
}

/* vigil.key's three lines (buf, n bytes, NUL-terminated) into k. */
static int parse_seckey(const char *file, char *buf, size_t n, struct vigil_seckey *k, struct vigil_err *err)
{
	char *p = buf, *end = buf + n, *line;
	int rc;

	line = vigil_statedir_next_line(&p, end);
	if (!line || strcmp(line, SECKEY_MAGIC))
		return vigil_err_set(err, -EINVAL, "signing key '%s' line 1: not a vigil key file (expected '%s')",
				     file, SECKEY_MAGIC);
	line = vigil_statedir_next_line(&p, end);
	if (!line || strlen(line) != 2 * ID_LEN || vigil_unhex(line, k->id, ID_LEN))
		return vigil_err_set(err, -EINVAL, "signing key '%s' line 2: key id is not %d hex digits",
				     file, 2 * ID_LEN);
	line = vigil_statedir_next_line(&p, end);
	if (!line || strlen(line) != 2 * SEED_LEN || vigil_unhex(line, k->seed, SEED_LEN))
		return vigil_err_set(err, -EINVAL, "signing key '%s' line 3: secret is not %d hex digits",
				     file, 2 * SEED_LEN);
	while ((line = vigil_statedir_next_line(&p, end)))
		if (*line)
			return vigil_err_set(err, -EINVAL, "signing key '%s': unexpected text after the secret", file);
	rc = derive_pk(k->seed, k->pk, err);
	if (rc)
		vigil_err_prefix(err, rc, "signing key '%s'", file);
	return rc;
}

int vigil_seckey_load(const char *dir, struct vigil_seckey **out, struct vigil_err *err)
{
	char file[PATH_MAX], *buf = NULL;
	const size_t bufsize = 513;
	struct vigil_seckey *k = NULL;
	size_t n = 0;
	int fd = -1, rc;

	*out = NULL;
	rc = dir_file(file, sizeof(file), dir, VIGIL_SECKEY_FILE, err);
	if (rc)
		goto out;
	fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			vigil_err_set(err, rc, "no signing key '%s': create one with `vigil keygen`", file);
		else
			vigil_err_set(err, rc, "cannot open signing key '%s': %s", file,
				      rc == -ELOOP ? "is a symbolic link" : strerror(-rc));
		goto out;
	}
	rc = check_key_file(fd, file, err);
	if (!rc)
		rc = vigil_statedir_check_dir(dir, err);
	if (rc)
		goto out;
	buf = gcry_malloc_secure(bufsize);
	k = seckey_new();
	if (!buf || !k) {
		rc = vigil_err_set(err, -ENOMEM, "loading '%s': out of secure memory", file);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, bufsize - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = vigil_err_set(err, -errno, "cannot read signing key '%s': %s", file, strerror(errno));
			goto out;
		}
		if (r == 0 || (n += (size_t)r) == bufsize - 1)
			break;
	}
	buf[n] = '\0';
	rc = parse_seckey(file, buf, n, k, err);
	if (rc)
		goto out;
	*out = k;
	k = NULL;
out:
	if (buf) {
		explicit_bzero(buf, bufsize);
		gcry_free(buf);
	}
	if (fd >= 0)
		close(fd);
	vigil_seckey_free(k);
	return rc;
}

int vigil_pubkey_load_file(const char *file, struct vigil_pubkey **out, struct vigil_err *err)
{
	unsigned char raw[2 + ID_LEN + PK_LEN];
	struct vigil_pubkey *k = NULL;
	char *buf = NULL, *p, *end, *line;
	size_t n;
	int rc, lineno = 1;

	*out = NULL;
	rc = vigil_statedir_read_small(file, "public key", SMALL_FILE_MAX, &buf, &n, err);
	if (rc)
		return rc;
	p = buf;
	end = buf + n;
	line = vigil_statedir_next_line(&p, end);
	/* minisign writes a comment line; `minisign -P` keys are the bare base64. */
	if (line && !strncmp(line, "untrusted comment:", 18)) {
		line = vigil_statedir_next_line(&p, end);
		lineno++;
	}
	if (!line || b64_decode_exact(line, strlen(line), raw, sizeof(raw))) {
		rc = vigil_err_set(err, -EINVAL, "public key '%s' line %d: not a minisign public key "
				   "(base64 of %zu bytes expected)", file, lineno, sizeof(raw));
		goto out;
	}
	if (memcmp(raw, "Ed", 2)) {
		rc = vigil_err_set(err, -EINVAL, "public key '%s': unsupported algorithm '%.2s' (only Ed25519 'Ed')",
				   file, raw);
		goto out;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		rc = vigil_err_set(err, -ENOMEM, "loading '%s': out of memory", file);
		goto out;
	}
	memcpy(k->id, raw + 2, ID_LEN);
	memcpy(k->pk, raw + 2 + ID_LEN, PK_LEN);
	*out = k;
out:
	free(buf);
	return rc;
}

int vigil_pubkey_load(const char *dir, struct vigil_pubkey **out, struct vigil_err *err)
{
	char file[PATH_MAX];
	int rc = dir_file(file, sizeof(file), dir, VIGIL_PUBKEY_FILE, err);

	*out = NULL;
	if (rc)
		return rc;
	rc = vigil_statedir_check_dir(dir, err);
	if (!rc)
		rc = vigil_statedir_check_path(file, "public key", err);
	if (!rc)
		rc = vigil_pubkey_load_file(file, out, err);
	if (rc == -ENOENT)
		vigil_err_set(err, rc, "no public key '%s': create the key pair with `vigil keygen`", file);
	return rc;
}
