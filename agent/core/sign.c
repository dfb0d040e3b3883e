/* sign.c - Ed25519 keys, signatures and minisign files through libgcrypt.
 *
 * The secret is a 32-byte Ed25519 seed held in gcrypt secure memory and wiped
 * on free; the public key is derived from it on load, so vigil.key carries
 * only the seed and an 8-byte key id.  vigil.pub and FILE.minisig follow
 * minisign's formats byte for byte (see FORMATS.md), so stock `minisign -V`
 * checks what vigil signs and vigil checks what minisign signs ("ED" prehashed
 * with BLAKE2b-512, and legacy "Ed" over the raw file).
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
/* minisign reads at most this much of a trusted comment line; a longer one
 * would be cut and never verify. */
#define COMMENT_MAX 1024
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

/* --- small files ------------------------------------------------------------ */

/* Splits the next line off *p (within end); returns it NUL-terminated
 * without "\n" or "\r\n", or NULL at the end. */
static char *next_line(char **p, char *end)
{
	char *s = *p, *nl;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = end;
	}
	if (nl && nl > s && nl[-1] == '\r')
		nl[-1] = '\0';
	return s;
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

int vigil_sign_keygen(const char *dir, int force, struct vigil_err *err)
{
	char keyfile[PATH_MAX], pubfile[PATH_MAX], keytmp[PATH_MAX] = "", pubtmp[PATH_MAX] = "";
	char *text = NULL, pub[256], idhex[2 * ID_LEN + 1];
	const size_t textsize = sizeof(SECKEY_MAGIC) + 2 * ID_LEN + 2 * SEED_LEN + 4;
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
	/* What gcry_pk_genkey does for Ed25519, but with the seed landing straight
	 * in secure memory as 32 bytes (genkey hands it back as an MPI). */
	gcry_randomize(k->seed, SEED_LEN, GCRY_VERY_STRONG_RANDOM);
	gcry_randomize(k->id, ID_LEN, GCRY_STRONG_RANDOM);
	rc = derive_pk(k->seed, k->pk, err);
	if (rc)
		goto out;
	vigil_hex(k->id, ID_LEN, idhex);
	memcpy(text, SECKEY_MAGIC "\n", sizeof(SECKEY_MAGIC));
	memcpy(text + sizeof(SECKEY_MAGIC), idhex, 2 * ID_LEN);
	text[sizeof(SECKEY_MAGIC) + 2 * ID_LEN] = '\n';
	vigil_hex(k->seed, SEED_LEN, text + sizeof(SECKEY_MAGIC) + 2 * ID_LEN + 1);
	strcat(text, "\n");
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

int vigil_seckey_load(const char *dir, struct vigil_seckey **out, struct vigil_err *err)
{
	char file[PATH_MAX], *buf = NULL, *p, *end, *line;
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
	p = buf;
	end = buf + n;
	line = next_line(&p, end);
	if (!line || strcmp(line, SECKEY_MAGIC)) {
		rc = vigil_err_set(err, -EINVAL, "signing key '%s' line 1: not a vigil key file (expected '%s')",
				   file, SECKEY_MAGIC);
		goto out;
	}
	line = next_line(&p, end);
	if (!line || strlen(line) != 2 * ID_LEN || vigil_unhex(line, k->id, ID_LEN)) {
		rc = vigil_err_set(err, -EINVAL, "signing key '%s' line 2: key id is not %d hex digits",
				   file, 2 * ID_LEN);
		goto out;
	}
	line = next_line(&p, end);
	if (!line || strlen(line) != 2 * SEED_LEN || vigil_unhex(line, k->seed, SEED_LEN)) {
		rc = vigil_err_set(err, -EINVAL, "signing key '%s' line 3: secret is not %d hex digits",
				   file, 2 * SEED_LEN);
		goto out;
	}
	while ((line = next_line(&p, end)))
		if (*line) {
			rc = vigil_err_set(err, -EINVAL, "signing key '%s': unexpected text after the secret", file);
			goto out;
		}
	rc = derive_pk(k->seed, k->pk, err);
	if (rc) {
		vigil_err_prefix(err, rc, "signing key '%s'", file);
		goto out;
	}
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
	line = next_line(&p, end);
	/* minisign writes a comment line; `minisign -P` keys are the bare base64. */
	if (line && !strncmp(line, "untrusted comment:", 18)) {
		line = next_line(&p, end);
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

/* --- minisign signature files ---------------------------------------------- */

/* BLAKE2b-512 of a file's content, or (legacy) the content itself in *whole. */
static int hash_file(const char *file, unsigned char out[64], unsigned char **whole, size_t *whole_len,
		     struct vigil_err *err)
{
	gcry_md_hd_t md = NULL;
	unsigned char *buf = NULL, *all = NULL;
	size_t all_len = 0;
	struct stat sb;
	int fd, rc = 0;
	gcry_error_t e;

	fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM) /* O_NOATIME needs ownership */
		fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vigil_err_set(err, -errno, "cannot open '%s': %s", file,
				     errno == ELOOP ? "is a symbolic link" : strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		rc = vigil_err_set(err, -EINVAL, "'%s' is not a regular file", file);
		goto out;
	}
	e = gcry_md_open(&md, GCRY_MD_BLAKE2B_512, 0);
	buf = malloc(1 << 16);
	if (e || !buf) {
		rc = vigil_err_set(err, -ENOMEM, "hashing '%s': out of memory", file);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf, 1 << 16);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = vigil_err_set(err, -errno, "cannot read '%s': %s", file, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		gcry_md_write(md, buf, (size_t)r);
		if (whole) {
			/* Legacy signatures cover the raw file: minisign itself caps them at 1 GB. */
			unsigned char *na;

			if (all_len + (size_t)r > (1u << 30)) {
				rc = vigil_err_set(err, -EFBIG, "'%s' is too large for a legacy (non-prehashed) signature",
						   file);
				goto out;
			}
			na = realloc(all, all_len + (size_t)r);
			if (!na) {
				rc = vigil_err_set(err, -ENOMEM, "reading '%s': out of memory", file);
				goto out;
			}
			all = na;
			memcpy(all + all_len, buf, (size_t)r);
			all_len += (size_t)r;
		}
	}
	memcpy(out, gcry_md_read(md, GCRY_MD_BLAKE2B_512), 64);
	if (whole) {
		*whole = all;
		*whole_len = all_len;
		all = NULL;
	}
out:
	free(all);
	free(buf);
	gcry_md_close(md);
	close(fd);
	return rc;
}

static int comment_ok(const char *c)
{
	return strlen(c) <= COMMENT_MAX && !strpbrk(c, "\r\n");
}

int vigil_minisign_file(const struct vigil_seckey *k, const char *file, const char *trusted_comment,
			struct vigil_err *err)
{
	unsigned char hash[64], sigblk[2 + ID_LEN + SIG_LEN], global[SIG_LEN];
	unsigned char *msg = NULL;
	char sigfile[PATH_MAX], tmp[PATH_MAX] = "", def[COMMENT_MAX + 1], id[17];
	char b64sig[4 * ((sizeof(sigblk) + 2) / 3) + 1], b64global[4 * ((SIG_LEN + 2) / 3) + 1];
	char *text = NULL;
	size_t clen, tlen;
	int rc;

	if ((size_t)snprintf(sigfile, sizeof(sigfile), "%s.minisig", file) >= sizeof(sigfile))
		return vigil_err_set(err, -ENAMETOOLONG, "path too long: '%s.minisig'", file);
	if (!trusted_comment) {
		const char *base = strrchr(file, '/');

		/* minisign's own default, so both tools show the same kind of line. */
		if ((size_t)snprintf(def, sizeof(def), "timestamp:%jd\tfile:%s\thashed", (intmax_t)time(NULL),
				     base ? base + 1 : file) >= sizeof(def))
			return vigil_err_set(err, -ENAMETOOLONG, "file name too long for a comment: '%s'", file);
		trusted_comment = def;
	}
	if (!comment_ok(trusted_comment))
		return vigil_err_set(err, -EINVAL, "trusted comment for '%s' has a line break or is longer than %d bytes",
				     file, COMMENT_MAX);
	rc = hash_file(file, hash, NULL, NULL, err);
	if (rc)
		return rc;
	memcpy(sigblk, "ED", 2);
	memcpy(sigblk + 2, k->id, ID_LEN);
	rc = vigil_sign(k, hash, sizeof(hash), sigblk + 2 + ID_LEN, err);
	if (rc)
		goto out;
	clen = strlen(trusted_comment);
	msg = malloc(SIG_LEN + clen);
	if (!msg) {
		rc = vigil_err_set(err, -ENOMEM, "signing '%s': out of memory", file);
		goto out;
	}
	memcpy(msg, sigblk + 2 + ID_LEN, SIG_LEN);
	memcpy(msg + SIG_LEN, trusted_comment, clen);
	rc = vigil_sign(k, msg, SIG_LEN + clen, global, err);
	if (rc)
		goto out;
	vigil_base64_encode(sigblk, sizeof(sigblk), b64sig);
	vigil_base64_encode(global, sizeof(global), b64global);
	vigil_sign_key_id_str(k->id, id);
	tlen = clen + sizeof(b64sig) + sizeof(b64global) + 128;
	text = malloc(tlen);
	if (!text) {
		rc = vigil_err_set(err, -ENOMEM, "signing '%s': out of memory", file);
		goto out;
	}
	if ((size_t)snprintf(text, tlen, "untrusted comment: signature from vigil secret key %s\n%s\n"
			     "trusted comment: %s\n%s\n", id, b64sig, trusted_comment, b64global) >= tlen) {
		rc = vigil_err_set(err, -EOVERFLOW, "signing '%s': signature text does not fit", file);
		goto out;
	}
	rc = vigil_statedir_write_tmp(sigfile, text, strlen(text), 0644, tmp, sizeof(tmp), err);
	if (rc)
		goto out;
	if (rename(tmp, sigfile) < 0) {
		rc = vigil_err_set(err, -errno, "cannot install '%s': %s", sigfile, strerror(errno));
		unlink(tmp);
	}
out:
	free(text);
	free(msg);
	return rc;
}

int vigil_minisign_verify(const struct vigil_pubkey *k, const char *file, const char *sigfile,
			  struct vigil_err *err)
{
	unsigned char sigblk[2 + ID_LEN + SIG_LEN], global[SIG_LEN], hash[64];
	unsigned char *whole = NULL, *msg = NULL;
	char defsig[PATH_MAX], *buf = NULL, *p, *end, *line, *comment, ida[17], idb[17];
	const char *why = NULL;
	size_t n, whole_len = 0, clen;
	int rc, legacy;

	if (!sigfile) {
		if ((size_t)snprintf(defsig, sizeof(defsig), "%s.minisig", file) >= sizeof(defsig))
			return vigil_err_set(err, -ENAMETOOLONG, "path too long: '%s.minisig'", file);
		sigfile = defsig;
	}
	rc = vigil_statedir_read_small(sigfile, "signature", SMALL_FILE_MAX, &buf, &n, err);
	if (rc)
		return rc;
	p = buf;
	end = buf + n;
	line = next_line(&p, end);
	if (!line || strncmp(line, "untrusted comment:", 18)) {
		rc = vigil_err_set(err, -EBADMSG, "signature '%s' line 1: no 'untrusted comment:' line", sigfile);
		goto out;
	}
	line = next_line(&p, end);
	if (!line || b64_decode_exact(line, strlen(line), sigblk, sizeof(sigblk))) {
		rc = vigil_err_set(err, -EBADMSG, "signature '%s' line 2: not a minisign signature", sigfile);
		goto out;
	}
	comment = next_line(&p, end);
	if (!comment || strncmp(comment, "trusted comment: ", 17)) {
		rc = vigil_err_set(err, -EBADMSG, "signature '%s' line 3: no 'trusted comment: ' line", sigfile);
		goto out;
	}
	comment += 17;
	line = next_line(&p, end);
	if (!line || b64_decode_exact(line, strlen(line), global, sizeof(global))) {
		rc = vigil_err_set(err, -EBADMSG, "signature '%s' line 4: not a minisign comment signature", sigfile);
		goto out;
	}
	if (!memcmp(sigblk, "ED", 2)) {
		legacy = 0;
	} else if (!memcmp(sigblk, "Ed", 2)) {
		legacy = 1;
	} else {
		rc = vigil_err_set(err, -EBADMSG, "signature '%s': unsupported algorithm '%.2s'", sigfile, sigblk);
		goto out;
	}
	vigil_sign_key_id_str(sigblk + 2, ida);
	vigil_sign_key_id_str(k->id, idb);
	if (memcmp(sigblk + 2, k->id, ID_LEN)) {
		rc = vigil_err_set(err, -EBADMSG, "signature '%s' was made with key %s, not with key %s",
				   sigfile, ida, idb);
		goto out;
	}
	rc = hash_file(file, hash, legacy ? &whole : NULL, &whole_len, err);
	if (rc)
		goto out;
	rc = legacy ? verify_raw(k->pk, whole, whole_len, sigblk + 2 + ID_LEN, &why) :
		      verify_raw(k->pk, hash, sizeof(hash), sigblk + 2 + ID_LEN, &why);
	if (rc) {
		rc = vigil_err_set(err, rc, rc == -ENOMEM ? "verifying '%s': out of memory%.0s" :
				   "signature of '%s' does not verify with key %s (file modified?)", file, idb);
		goto out;
	}
	clen = strlen(comment);
	msg = malloc(SIG_LEN + clen);
	if (!msg) {
		rc = vigil_err_set(err, -ENOMEM, "verifying '%s': out of memory", file);
		goto out;
	}
	memcpy(msg, sigblk + 2 + ID_LEN, SIG_LEN);
	memcpy(msg + SIG_LEN, comment, clen);
	rc = verify_raw(k->pk, msg, SIG_LEN + clen, global, &why);
	if (rc)
		vigil_err_set(err, rc, rc == -ENOMEM ? "verifying '%s': out of memory%.0s" :
			      "trusted comment of '%s' does not verify with key %s (comment modified?)", sigfile, idb);
out:
	free(msg);
	free(whole);
	free(buf);
	return rc;
}
