/* minisign.c - FILE.minisig files that stock `minisign -V` checks, and
 * checking the ones minisign writes: "ED" signatures over BLAKE2b-512 of the
 * file (prehashed), legacy "Ed" ones over the raw file, and the global
 * signature over signature || trusted comment (see FORMATS.md).
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
#include <unistd.h>

#include <gcrypt.h>

#include "vigil/base64.h"
#include "vigil/clock.h"
#include "vigil/sign.h"
#include "vigil/statedir.h"

#define SIG_LEN 64
#define ID_LEN 8
/* minisign reads at most this much of a trusted comment line; a longer one
 * would be cut and never verify. */
#define COMMENT_MAX 1024
/* Bigger than any signature file minisign writes, small enough to read whole. */
#define SMALL_FILE_MAX 16384

/* minisign's lines hold fixed-size blobs: anything but exactly want bytes of
 * canonical base64 is refused. */
static int b64_decode_exact(const char *s, size_t n, unsigned char *out, size_t want)
{
	return vigil_base64_decode(s, n, out, want) == (long)want ? 0 : -EINVAL;
}

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
	unsigned char hash[64];
	int rc = hash_file(file, hash, NULL, NULL, err);

	return rc ? rc : vigil_minisign_file_hashed(k, file, hash, trusted_comment, err);
}

int vigil_minisign_file_hashed(const struct vigil_seckey *k, const char *file, const unsigned char hash[64],
			       const char *trusted_comment, struct vigil_err *err)
{
	unsigned char sigblk[2 + ID_LEN + SIG_LEN], global[SIG_LEN];
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
		if ((size_t)snprintf(def, sizeof(def), "timestamp:%jd\tfile:%s\thashed",
				     (intmax_t)(vigil_clock_real_ns() / 1000000000), base ? base + 1 : file) >= sizeof(def))
			return vigil_err_set(err, -ENAMETOOLONG, "file name too long for a comment: '%s'", file);
		trusted_comment = def;
	}
	if (!comment_ok(trusted_comment))
		return vigil_err_set(err, -EINVAL, "trusted comment for '%s' has a line break or is longer than %d bytes",
				     file, COMMENT_MAX);
	memcpy(sigblk, "ED", 2);
	vigil_seckey_id(k, sigblk + 2);
	rc = vigil_sign(k, hash, 64, sigblk + 2 + ID_LEN, err);
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
	vigil_sign_key_id_str(sigblk + 2, id);
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

/* The four lines of a .minisig: untrusted comment, signature block, trusted
 * comment (returned in *comment, inside buf), global signature. */
struct minisig {
	unsigned char sigblk[2 + ID_LEN + SIG_LEN], global[SIG_LEN];
	char *comment;
	int legacy;
};

static int parse_minisig(const char *sigfile, char *buf, size_t n, struct minisig *m, struct vigil_err *err)
{
	char *p = buf, *end = buf + n, *line;

	line = vigil_statedir_next_line(&p, end);
	if (!line || strncmp(line, "untrusted comment:", 18))
		return vigil_err_set(err, -EBADMSG, "signature '%s' line 1: no 'untrusted comment:' line", sigfile);
	line = vigil_statedir_next_line(&p, end);
	if (!line || b64_decode_exact(line, strlen(line), m->sigblk, sizeof(m->sigblk)))
		return vigil_err_set(err, -EBADMSG, "signature '%s' line 2: not a minisign signature", sigfile);
	m->comment = vigil_statedir_next_line(&p, end);
	if (!m->comment || strncmp(m->comment, "trusted comment: ", 17))
		return vigil_err_set(err, -EBADMSG, "signature '%s' line 3: no 'trusted comment: ' line", sigfile);
	m->comment += 17;
	line = vigil_statedir_next_line(&p, end);
	if (!line || b64_decode_exact(line, strlen(line), m->global, sizeof(m->global)))
		return vigil_err_set(err, -EBADMSG, "signature '%s' line 4: not a minisign comment signature", sigfile);
	if (!memcmp(m->sigblk, "ED", 2))
		m->legacy = 0;
	else if (!memcmp(m->sigblk, "Ed", 2))
		m->legacy = 1;
	else
		return vigil_err_set(err, -EBADMSG, "signature '%s': unsupported algorithm '%.2s'", sigfile, m->sigblk);
	return 0;
}

/* The signature over the file, then the global one over sig || comment. */
static int verify_minisig(const struct vigil_pubkey *k, const char *file, const char *sigfile,
			  const struct minisig *m, const char *idb, struct vigil_err *err)
{
	unsigned char hash[64], *whole = NULL, *msg = NULL;
	size_t whole_len = 0, clen = strlen(m->comment);
	int rc = hash_file(file, hash, m->legacy ? &whole : NULL, &whole_len, err);

	if (rc)
		return rc;
	rc = m->legacy ? vigil_verify(k, whole, whole_len, m->sigblk + 2 + ID_LEN, NULL) :
			 vigil_verify(k, hash, sizeof(hash), m->sigblk + 2 + ID_LEN, NULL);
	if (rc) {
		rc = vigil_err_set(err, rc, rc == -ENOMEM ? "verifying '%s': out of memory%.0s" :
				   "signature of '%s' does not verify with key %s (file modified?)", file, idb);
		goto out;
	}
	msg = malloc(SIG_LEN + clen);
	if (!msg) {
		rc = vigil_err_set(err, -ENOMEM, "verifying '%s': out of memory", file);
		goto out;
	}
	memcpy(msg, m->sigblk + 2 + ID_LEN, SIG_LEN);
	memcpy(msg + SIG_LEN, m->comment, clen);
	rc = vigil_verify(k, msg, SIG_LEN + clen, m->global, NULL);
	if (rc)
		vigil_err_set(err, rc, rc == -ENOMEM ? "verifying '%s': out of memory%.0s" :
			      "trusted comment of '%s' does not verify with key %s (comment modified?)", sigfile, idb);
out:
	free(msg);
	free(whole);
	return rc;
}

int vigil_minisign_verify(const struct vigil_pubkey *k, const char *file, const char *sigfile,
			  struct vigil_err *err)
{
	struct minisig m;
	unsigned char kid[ID_LEN];
	char defsig[PATH_MAX], *buf = NULL, ida[17], idb[17];
	size_t n;
	int rc;

	if (!sigfile) {
		if ((size_t)snprintf(defsig, sizeof(defsig), "%s.minisig", file) >= sizeof(defsig))
			return vigil_err_set(err, -ENAMETOOLONG, "path too long: '%s.minisig'", file);
		sigfile = defsig;
	}
	rc = vigil_statedir_read_small(sigfile, "signature", SMALL_FILE_MAX, &buf, &n, err);
	if (rc)
		return rc;
	rc = parse_minisig(sigfile, buf, n, &m, err);
	if (rc)
		goto out;
	vigil_pubkey_id(k, kid);
	vigil_sign_key_id_str(m.sigblk + 2, ida);
	vigil_sign_key_id_str(kid, idb);
	if (memcmp(m.sigblk + 2, kid, ID_LEN)) {
		rc = vigil_err_set(err, -EBADMSG, "signature '%s' was made with key %s, not with key %s",
				   sigfile, ida, idb);
		goto out;
	}
	rc = verify_minisig(k, file, sigfile, &m, idb, err);
out:
	free(buf);
	return rc;
}
