/* export.c - `vigil export`: an evidence archive handed over (to removable
 * media, a share, another examiner), with its custody.
 *
 * The archive is verified first (members, seal, custody chain, signature):
 * an archive that does not verify is never exported.  It is then copied with
 * its .sha256 and .minisig into DEST under temporary names (mkostemp: no
 * O_TMPFILE, chmod or hard link, which media file systems may refuse), the
 * copy's SHA-256 taken from the bytes written and compared with the verified one (so the copy is the verified archive, even
 * if the source changed in between), fsync'ed, and renamed into place without
 * replacing anything: the sidecars first, the archive last, so a name that
 * looks like an archive is only ever a complete one.  Then the ledger gets an
 * `exported` record (the archive, its SHA-256, the destination, the
 * recipient, the case of the capture that made it).  A failure removes the
 * temporaries and records nothing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "evw_priv.h"
#include "vigil/capture.h"
#include "vigil/crypto.h"
#include "vigil/sign.h"
#include "vigil/statedir.h"

#define COPY_BUF (1u << 20)
#define SIDECAR_MAX (64u << 10)

/* A new temporary file beside final (FINAL.tmp-XXXXXX, 0600, O_EXCL), its
 * name in tmp: no chmod, no O_TMPFILE, no hard link, which media file
 * systems (vfat, exfat) may refuse. */
static int tmp_create(const char *final, char *tmp, size_t tlen, struct vigil_err *err)
{
	int fd;

	if ((size_t)snprintf(tmp, tlen, "%s.tmp-XXXXXX", final) >= tlen) {
		tmp[0] = '\0';
		return vigil_err_set(err, -ENAMETOOLONG, "'%s': path too long", final);
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		fd = vigil_err_set(err, -errno, "cannot create '%s': %s", tmp, strerror(errno));
		tmp[0] = '\0';
	}
	return fd;
}

/* A small file (a sidecar) written to a new temporary file beside final. */
static int put_small(const char *final, const char *text, size_t n, char *tmp, size_t tlen, struct vigil_err *err)
{
	int fd = tmp_create(final, tmp, tlen, err), rc;

	if (fd < 0)
		return fd;
	rc = vigil_write_all(fd, text, n);
	if (!rc && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		tmp[0] = '\0';
		return vigil_err_set(err, rc, "writing '%s': %s", final, strerror(-rc));
	}
	return 0;
}

/* src copied into a new temporary file beside final (its name in tmp); the
 * SHA-256 of what was written, in hex.  On failure tmp is removed. */
static int cancelled(const struct vigil_export_opts *o, struct vigil_err *err)
{
	return o->cancel && *o->cancel ? vigil_err_set(err, -ECANCELED, "export cancelled (signal)") : 0;
}

static int copy_to(const struct vigil_export_opts *o, int src, const char *final, char *tmp, size_t tlen,
		   char hex[65], struct vigil_err *err)
{
	struct vigil_digest *d = vigil_digest_new(VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256));
	char *buf = malloc(COPY_BUF);
	unsigned char md[32];
	unsigned long long done = 0;
	int fd = -1, rc;
	ssize_t n;

	if (!d || !buf) {
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if ((fd = tmp_create(final, tmp, tlen, err)) < 0) {
		rc = fd;
		goto out;
	}
	while ((rc = cancelled(o, err)) == 0 && (n = read(src, buf, COPY_BUF)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = vigil_err_set(err, -errno, "reading the archive after %llu bytes: %s", done, strerror(errno));
			goto out;
		}
		vigil_digest_write(d, buf, (size_t)n);
		if ((rc = vigil_write_all(fd, buf, (size_t)n))) {
			vigil_err_set(err, rc, "writing '%s' after %llu bytes: %s", tmp, done, strerror(-rc));
			goto out;
		}
		done += (unsigned long long)n;
		if (done == (unsigned long long)n && getenv("VIGIL_TEST_STOP_IN_EXPORT"))
			raise(SIGSTOP); /* tests: stopped mid-copy, to be signalled */
	}
	if (rc)
		goto out;
	if (fsync(fd)) {
		rc = vigil_err_set(err, -errno, "fsync of '%s': %s", tmp, strerror(errno));
		goto out;
	}
	vigil_digest_read(d, VIGIL_ALGO_SHA256, md);
	vigil_hex(md, sizeof(md), hex);
out:
	if (fd >= 0 && close(fd) && !rc)
		rc = vigil_err_set(err, -errno, "closing '%s': %s", tmp, strerror(errno));
	if (rc && tmp[0]) {
		unlink(tmp);
		tmp[0] = '\0';
	}
	vigil_digest_free(d);
	free(buf);
	return rc;
}

/* Rename tmp to name without replacing an existing file. */
static int place(const char *tmp, const char *name)
{
	struct stat st;

	if (!renameat2(AT_FDCWD, tmp, AT_FDCWD, name, RENAME_NOREPLACE))
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* a file system without RENAME_NOREPLACE (vfat, some FUSE): checked, then renamed */
	if (!lstat(name, &st))
		return -EEXIST;
	return rename(tmp, name) ? -errno : 0;
}

struct seal_find {
	const char *sha256;
	char *case_id;
	json_int_t acquired_seq;
};

/* The `archived` record of this archive (by its SHA-256): its case. */
static int find_cb(void *arg, uint64_t lineno, const char *line, size_t len, const char *prev, size_t prev_len)
{
	struct seal_find *f = arg;
	json_t *rec = json_loadb(line, len, 0, NULL);
	const char *a = json_string_value(json_object_get(rec, "action"));
	const char *d = json_string_value(json_object_get(rec, "sha256"));
	const char *c = json_string_value(json_object_get(rec, "case"));

	(void)lineno, (void)prev, (void)prev_len;
	if (a && d && c && !strcmp(a, "archived") && !strcmp(d, f->sha256)) {
		free(f->case_id);
		f->case_id = strdup(c);
		f->acquired_seq = json_integer_value(json_object_get(rec, "acquired_seq"));
	}
	json_decref(rec);
	return 0;
}

static int record(const struct vigil_export_opts *o, const char *sha256, const char *dest, struct vigil_err *err)
{
	struct seal_find f = { sha256, NULL, 0 };
	struct vigil_err ignore = { "" };
	char src[PATH_MAX], login[256], *text;
	json_t *rec;
	int rc;

	if (!realpath(o->archive, src))
		snprintf(src, sizeof(src), "%s", o->archive);
	custody_walk(o->state_dir, find_cb, &f, &ignore); /* no ledger entry: an archive from elsewhere */
	rec = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "action", "exported", "archive", src, "sha256", sha256,
			"destination", dest, "case", o->case_id ? o->case_id : f.case_id ? f.case_id : "-", "examiner",
			o->examiner ? o->examiner : evw_login_name(login, sizeof(login)));
	if (rec && o->to)
		json_object_set_new(rec, "to", json_string(o->to));
	if (rec && o->note)
		json_object_set_new(rec, "note", json_string(o->note));
	if (rec && f.acquired_seq)
		json_object_set_new(rec, "acquired_seq", json_integer(f.acquired_seq));
	text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	json_decref(rec);
	free(f.case_id);
	if (!text)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	rc = vigil_custody_append(o->state_dir, text, NULL, err);
	free(text);
	return rc;
}

struct staged {
	char tmp[3][PATH_MAX]; /* archive, .sha256, .minisig */
	char name[3][PATH_MAX];
	int placed[3];
};

static void unstage(struct staged *s)
{
	for (int i = 0; i < 3; i++) {
		if (s->tmp[i][0])
			unlink(s->tmp[i]);
		if (s->placed[i])
			unlink(s->name[i]);
	}
}

/* The copies in place: the sidecars, then the archive, none replacing a file. */
static int stage_place(struct staged *s, struct vigil_err *err)
{
	static const int order[3] = { 1, 2, 0 };

	for (int k = 0; k < 3; k++) {
		int i = order[k], rc = place(s->tmp[i], s->name[i]);

		if (rc)
			return vigil_err_set(err, rc, "'%s': %s%s", s->name[i], strerror(-rc),
					     rc == -EEXIST ? " (an export never replaces a file)" : "");
		s->tmp[i][0] = '\0';
		s->placed[i] = 1;
	}
	if (vigil_statedir_sync_dir(s->name[0]))
		return vigil_err_set(err, -errno, "fsync of the directory of '%s': %s", s->name[0], strerror(errno));
	return 0;
}

/* The staged .minisig against the staged archive (the sidecar may have been
 * swapped since the archive was verified). */
static int check_copy(const char *pubkey, const struct staged *s, struct vigil_err *err)
{
	struct vigil_pubkey *k = NULL;
	struct vigil_err e = { "" };
	int rc = vigil_pubkey_load_file(pubkey, &k, err);

	if (!rc && vigil_minisign_verify(k, s->tmp[0], s->tmp[2], &e))
		rc = vigil_err_set(err, -EBADMSG, "the signature copied does not verify the copy: %s", e.msg);
	vigil_pubkey_free(k);
	return rc;
}

/* The three copies staged under temporary names in dest (a real path). */
static int stage(const struct vigil_export_opts *o, const char *dest, struct staged *s, const char *sha256,
		 struct vigil_err *err)
{
	static const char *const sfx[3] = { "", ".sha256", ".minisig" };
	const char *slash = strrchr(o->archive, '/'), *base = slash ? slash + 1 : o->archive;
	char hex[65], path[PATH_MAX], *text = NULL;
	size_t n = 0;
	int src, rc;

	for (int i = 0; i < 3; i++) {
		struct stat st;

		if ((size_t)snprintf(s->name[i], sizeof(s->name[i]), "%s/%s%s", dest, base, sfx[i]) >=
		    sizeof(s->name[i]) - 32)
			return vigil_err_set(err, -ENAMETOOLONG, "'%s/%s': path too long", dest, base);
		if (!lstat(s->name[i], &st))
			return vigil_err_set(err, -EEXIST, "'%s' exists (an export never replaces a file)", s->name[i]);
	}
	src = open(o->archive, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return vigil_err_set(err, -errno, "cannot open '%s': %s", o->archive, strerror(errno));
	rc = copy_to(o, src, s->name[0], s->tmp[0], sizeof(s->tmp[0]), hex, err);
	close(src);
	if (!rc && strcmp(hex, sha256))
		rc = vigil_err_set(err, -EIO, "'%s' changed after it was verified (sha256 %s, then %s): not exported",
				   o->archive, sha256, hex);
	for (int i = 1; !rc && i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", o->archive, sfx[i]);
		rc = vigil_statedir_read_small(path, "sidecar", SIDECAR_MAX, &text, &n, err);
		if (rc == -ENOENT && i == 1) /* no .sha256: sha256sum's line, from the verified digest */
			rc = (text = malloc(strlen(base) + 70)) ? (n = (size_t)sprintf(text, "%s  %s\n", sha256, base), 0)
							       : vigil_err_set(err, -ENOMEM, "out of memory");
		if (!rc)
			rc = put_small(s->name[i], text, n, s->tmp[i], sizeof(s->tmp[i]), err);
		free(text);
		text = NULL;
	}
	return rc ? rc : check_copy(o->pubkey, s, err);
}

int vigil_evidence_export(const struct vigil_export_opts *o, struct vigil_export_result *r, struct vigil_err *err)
{
	struct vigil_evverify v;
	struct staged *s;
	char dest[PATH_MAX];
	int rc;

	memset(r, 0, sizeof(*r));
	rc = vigil_evidence_verify(o->archive, o->pubkey, &v, err);
	if (rc) {
		if (rc > 0)
			snprintf(r->fault, sizeof(r->fault), "%s", v.fault);
		return rc;
	}
	snprintf(r->sha256, sizeof(r->sha256), "%s", v.sha256);
	if (!realpath(o->dest_dir, dest))
		return vigil_err_set(err, -errno, "destination '%s': %s", o->dest_dir, strerror(errno));
	if (!(s = calloc(1, sizeof(*s))))
		return vigil_err_set(err, -ENOMEM, "out of memory");
	rc = stage(o, dest, s, v.sha256, err);
	if (!rc && !(rc = cancelled(o, err)))
		rc = stage_place(s, err);
	if (rc) {
		unstage(s);
		free(s);
		return rc < 0 ? rc : -EIO;
	}
	snprintf(r->dest, sizeof(r->dest), "%s", s->name[0]);
	free(s);
	rc = record(o, v.sha256, r->dest, err);
	if (rc)
		r->copied = 1;
	return rc;
}
