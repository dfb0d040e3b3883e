/* evw.c - the evidence writer: its open (names, the temporary archive locked,
 * the ledger's `acquired` record, the spools), the output path (libarchive's
 * writes checked for free space, the archive's bytes hashed on two threads),
 * members from memory, and its free (the `failed` record of a capture that
 * did not finish).  The seal, signature, renames and the ledger's records are
 * evw_seal.c; reading sources evw_read.c; the manifest and timeline
 * evw_manifest.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "evw_priv.h"
#include "vigil/clock.h"
#include "vigil/sign.h"
#include "vigil/statedir.h"

int evw_fail(struct vigil_evw *w, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!w->failed) {
		va_start(ap, fmt);
		vsnprintf(w->error, sizeof(w->error), fmt, ap);
		va_end(ap);
		w->failed = rc ? rc : -EIO;
	}
	return w->failed;
}

int vigil_evw_cancelled(const struct vigil_evw *w)
{
	return w->o.cancel && *w->o.cancel;
}

static int space_ok(struct vigil_evw *w)
{
	struct statvfs sv;

	if (fstatvfs(w->fd, &sv) < 0)
		return 1;
	return (uint64_t)sv.f_bavail * sv.f_frsize >= w->o.min_free;
}

/* Hands the gathered half to the archive hasher and gathers into the other. */
void evw_ahash_flush(struct vigil_evw *w)
{
	if (!w->olen)
		return;
	vigil_hasher_write(w->ahasher, w->ad, w->obuf + (size_t)w->ocur * EVW_OBUF, w->olen);
	vigil_hasher_write(w->bhasher, w->bd, w->obuf + (size_t)w->ocur * EVW_OBUF, w->olen);
	w->ocur ^= 1;
	w->olen = 0;
}

static la_ssize_t out_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct vigil_evw *w = arg;
	const char *p = buf;
	size_t left = len;

	/* An error is kept in w (evw_fail) and the output dropped from then on,
	 * never returned to libarchive: an archive in its fatal state skips its
	 * filters' close when freed and leaks their buffers (LeakSanitizer saw it
	 * on a full disk).  Every evw_* call checks w->failed after libarchive. */
	(void)a;
	if (w->discard)
		return (la_ssize_t)len;
	if (vigil_evw_cancelled(w)) {
		evw_fail(w, -ECANCELED, "capture cancelled");
		w->discard = 1;
		return (la_ssize_t)len;
	}
	if (w->written >= w->next_check) {
		w->next_check = w->written + EVW_SPACE_STEP;
		if (!space_ok(w)) {
			evw_fail(w, -ENOSPC, "writing the archive: '%s': less than %llu bytes would stay free", w->dir,
				 (unsigned long long)w->o.min_free);
			w->discard = 1;
			return (la_ssize_t)len;
		}
	}
	while (left) {
		ssize_t n = write(w->fd, p, left);

		if (n < 0 && errno == EINTR && !vigil_evw_cancelled(w))
			continue;
		if (n < 0) {
			evw_fail(w, -errno, "writing the archive: cannot write '%s': %s", w->tmp, strerror(errno));
			w->discard = 1;
			return (la_ssize_t)len;
		}
		p += n;
		left -= (size_t)n;
	}
	for (p = buf, left = len; left;) {
		size_t k = EVW_OBUF - w->olen < left ? EVW_OBUF - w->olen : left;

		memcpy(w->obuf + (size_t)w->ocur * EVW_OBUF + w->olen, p, k);
		w->olen += k;
		p += k;
		left -= k;
		if (w->olen == EVW_OBUF)
			evw_ahash_flush(w);
	}
	w->written += len;
	return (la_ssize_t)len;
}

int evw_arch_err(struct vigil_evw *w, const char *what)
{
	int e = archive_errno(w->a);

	return evw_fail(w, e > 0 ? -e : -EIO, "%s: %s", what,
			archive_error_string(w->a) ? archive_error_string(w->a) : "archive error");
}

int evw_header(struct vigil_evw *w, const char *member, const struct stat *st, uint64_t size,
	       const char *linkname)
{
	struct archive_entry *e;
	int r;

	if (w->failed)
		return w->failed;
	e = archive_entry_new();
	if (!e)
		return evw_fail(w, -ENOMEM, "out of memory");
	archive_entry_copy_pathname(e, member);
	if (st) {
		archive_entry_set_mode(e, st->st_mode);
		archive_entry_set_uid(e, st->st_uid);
		archive_entry_set_gid(e, st->st_gid);
		archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
		archive_entry_set_atime(e, st->st_atim.tv_sec, st->st_atim.tv_nsec);
		archive_entry_set_ctime(e, st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
	} else {
		int64_t now = vigil_clock_real_ns();

		archive_entry_set_mode(e, S_IFREG | 0600);
		archive_entry_set_mtime(e, now / 1000000000, now % 1000000000);
	}
	if (linkname)
		archive_entry_copy_symlink(e, linkname);
	archive_entry_set_size(e, S_ISREG(archive_entry_mode(e)) ? (la_int64_t)size : 0);
	r = archive_write_header(w->a, e);
	if (r >= ARCHIVE_WARN && S_ISREG(archive_entry_mode(e)))
		w->members++;
	archive_entry_free(e);
	if (w->failed) /* the output failed under it (out_write) */
		return w->failed;
	if (r < ARCHIVE_WARN)
		return evw_arch_err(w, member);
	return 0;
}

int evw_data(struct vigil_evw *w, const void *buf, size_t len)
{
	if (w->failed)
		return w->failed;
	if (len && archive_write_data(w->a, buf, len) != (la_ssize_t)len && !w->failed)
		return evw_arch_err(w, "writing the archive");
	if (w->failed)
		return w->failed;
	w->bytes += len;
	return 0;
}

int evw_put(struct vigil_evw *w, const char *member, const void *buf, size_t len, unsigned char sha[32])
{
	int rc = evw_header(w, member, NULL, len, NULL);

	if (!rc)
		rc = evw_data(w, buf, len);
	if (!rc && archive_write_finish_entry(w->a) < ARCHIVE_WARN)
		rc = evw_arch_err(w, member);
	if (sha)
		vigil_sha256(buf, len, sha);
	return rc;
}

int vigil_evw_note(struct vigil_evw *w, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_array_append_new(w->notes, json_string(buf)) ? -ENOMEM : 0;
}

int vigil_evw_target(struct vigil_evw *w, const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	if (!j)
		return -EINVAL;
	return json_array_append_new(w->targets, j) ? -ENOMEM : 0;
}

/* [A-Za-z0-9._-] only: the case id goes into a file name. */
static void safe_name(char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '.' || *s == '-' || *s == '_'))
			*s = '_';
}

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static FILE *spool(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w+");
	if (!f)
		close(fd);
	return f;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static int setup_archive(struct vigil_evw *w, struct vigil_err *err)
{
	int r;

	w->a = archive_write_new();
	if (!w->a)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	r = archive_write_set_format_pax(w->a);
	if (r == ARCHIVE_OK)
		r = w->o.compress == VIGIL_EVW_ZSTD ? archive_write_add_filter_zstd(w->a)
		    : w->o.compress == VIGIL_EVW_GZIP ? archive_write_add_filter_gzip(w->a)
						      : archive_write_add_filter_none(w->a);
	/* zstd's fast level on every online core (as `zstd -1 -T0`): compression runs in
	 * zstd's workers while this thread reads and hashes the next member */
	if (r == ARCHIVE_OK && w->o.compress == VIGIL_EVW_ZSTD)
		r = archive_write_set_filter_option(w->a, "zstd", "compression-level", "1");
	if (r == ARCHIVE_OK && w->o.compress == VIGIL_EVW_ZSTD) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		char n[24];

		snprintf(n, sizeof(n), "%ld", ncpu > 1 ? ncpu : 1);
		r = archive_write_set_filter_option(w->a, "zstd", "threads", n);
	}
	/* names are bytes: stored as they are, whatever the locale */
	if (r == ARCHIVE_OK)
		r = archive_write_set_format_option(w->a, "pax", "hdrcharset", "BINARY");
	if (r == ARCHIVE_OK)
		r = archive_write_set_bytes_in_last_block(w->a, 1);
	if (r == ARCHIVE_OK)
		r = archive_write_open2(w->a, w, NULL, out_write, NULL, NULL);
	if (r != ARCHIVE_OK)
		return vigil_err_set(err, -EIO, "archive: %s", archive_error_string(w->a));
	return 0;
}

static int fill_ids(struct vigil_evw *w, const struct vigil_evw_opts *o)
{
	char stamp[32], host[256] = "host";
	char login[256];
	time_t now = time(NULL);
	struct utsname u;
	struct tm tm;

	gethostname(host, sizeof(host) - 1);
	snprintf(w->host, sizeof(w->host), "%s", host);
	if (!uname(&u))
		snprintf(w->kernel, sizeof(w->kernel), "%s %s %s", u.sysname, u.release, u.machine);
	read_line("/proc/sys/kernel/random/boot_id", w->boot_id, sizeof(w->boot_id));
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	w->case_id = o->case_id ? strdup(o->case_id) : xasprintf("case-%s", stamp);
	w->examiner = strdup(o->examiner ? o->examiner : evw_login_name(login, sizeof(login)));
	w->note = o->note ? strdup(o->note) : NULL;
	w->trigger = o->trigger_json ? strdup(o->trigger_json) : strdup("{\"source\":\"cli\"}");
	w->dir = strdup(o->out_dir);
	w->name = w->case_id ? xasprintf("%s-%s-%s.tar%s", w->case_id, host, stamp,
					 o->compress == VIGIL_EVW_ZSTD ? ".zst"
					 : o->compress == VIGIL_EVW_GZIP ? ".gz" : "") : NULL;
	if (!w->case_id || !w->examiner || !w->trigger || !w->dir || !w->name || (o->note && !w->note))
		return -ENOMEM;
	safe_name(w->name);
	w->final = xasprintf("%s/%s", w->dir, w->name);
	w->tmp = xasprintf("%s/.%s.tmp.XXXXXX", w->dir, w->name);
	return w->final && w->tmp ? 0 : -ENOMEM;
}

static int acquire(struct vigil_evw *w, struct vigil_err *err)
{
	json_t *rec = json_object();
	unsigned char d[32];
	char hex[65];

	vigil_sha256(w->trigger, strlen(w->trigger), d);
	vigil_hex(d, 32, hex);
	json_object_set_new(rec, "action", json_string("acquired"));
	json_object_set_new(rec, "archive", json_string(w->name));
	json_object_set_new(rec, "trigger_sha256", json_string(hex));
	{ /* absolute: `vigil cases` from any dir tests its lock */
		char cwd[PATH_MAX], *abs = NULL;

		if (w->tmp[0] != '/' && getcwd(cwd, sizeof(cwd)))
			abs = xasprintf("%s/%s", cwd, w->tmp);
		json_object_set_new(rec, "tmp", json_string(abs ? abs : w->tmp));
		free(abs);
	}
	{ /* the dir's identity: the sweep tells a missing archive from unmounted media */
		struct stat st;

		if (!stat(w->dir, &st)) {
			json_object_set_new(rec, "dir_dev", json_integer((json_int_t)st.st_dev));
			json_object_set_new(rec, "dir_ino", json_integer((json_int_t)st.st_ino));
		}
	}
	return evw_ledger(w, rec, &w->acquired, err);
}

int vigil_evw_open(const struct vigil_evw_opts *o, struct vigil_evw **out, struct vigil_err *err)
{
	struct vigil_evw *w = calloc(1, sizeof(*w));
	struct vigil_seckey *key = NULL;
	int rc;

	*out = NULL;
	if (!w)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	w->o = *o;
	w->fd = -1;
	w->start_ns = vigil_clock_real_ns();
	w->notes = json_array();
	w->targets = json_array();
	w->buf = malloc(2 * EVW_BUF);
	w->hasher = vigil_hasher_new();
	w->obuf = malloc(2 * EVW_OBUF);
	w->ahasher = vigil_hasher_new();
	w->bhasher = vigil_hasher_new();
	w->ad = vigil_digest_new(VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256));
	w->bd = vigil_digest_new(VIGIL_ALGO_BIT(VIGIL_ALGO_BLAKE2B512));
	if (!w->notes || !w->targets || !w->buf || !w->obuf || !w->ad || !w->bd || fill_ids(w, o)) {
		rc = vigil_err_set(err, -ENOMEM, "out of memory"); /* vigil_evw_free frees what was made */
		goto fail;
	}
	w->root = o->root ? strdup(o->root) : NULL;
	/* no key, no capture: an unsigned archive is not evidence */
	if ((rc = vigil_seckey_load(o->state_dir, &key, err)))
		goto fail;
	vigil_seckey_free(key);
	if (mkdir(w->dir, 0700) < 0 && errno != EEXIST) {
		rc = vigil_err_set(err, -errno, "cannot create the evidence dir '%s': %s", w->dir, strerror(errno));
		goto fail;
	}
	evw_sweep_before(w);
	/* the temporary archive first (locked before its name exists: the sweep of
	 * another capture tells it from an interrupted one), then `acquired` naming it */
	w->fd = evw_tmp_create(w->tmp);
	if (w->fd < 0) {
		rc = vigil_err_set(err, -errno, "cannot create '%s': %s", w->tmp, strerror(errno));
		w->tmp[0] = '\0';
		goto fail;
	}
	if ((rc = acquire(w, err)))
		goto fail;
	if (getenv("VIGIL_TEST_STOP_AFTER_ACQUIRED")) /* tests: stop here, to be killed or resumed */
		raise(SIGSTOP);
	if (!space_ok(w)) {
		rc = vigil_err_set(err, -ENOSPC, "'%s': less than %llu bytes free", w->dir,
				   (unsigned long long)o->min_free);
		goto fail;
	}
	w->man = spool(w->dir);
	w->body = spool(w->dir);
	if (!w->man || !w->body) {
		rc = vigil_err_set(err, -errno, "cannot create spool files in '%s': %s", w->dir, strerror(errno));
		goto fail;
	}
	if ((rc = setup_archive(w, err)))
		goto fail;
	*out = w;
	return 0;
fail:
	snprintf(w->error, sizeof(w->error), "%s", err ? err->msg : "cannot start");
	w->finished = !w->acquired; /* nothing started: no `failed` record */
	vigil_evw_free(w);
	return rc;
}

void vigil_evw_free(struct vigil_evw *w)
{
	struct vigil_err err = { "" };

	if (!w)
		return;
	if (w->a) {
		/* archive_write_fail() would skip the filters' close and leak their
		 * buffers: close normally, into nothing */
		w->discard = !w->finished;
		archive_write_free(w->a);
	}
	/* the `failed` record, then the temporary files' removal, then the lock:
	 * while this capture is open in the ledger its file is there and locked
	 * (the sweep takes a capture with neither file for an interrupted one) */
	if (!w->finished) {
		json_t *rec = json_pack("{s:s,s:s,s:s}", "action", "failed", "archive", w->name ? w->name : "",
					"error", w->error[0] ? w->error : "capture abandoned");

		evw_ledger(w, rec, NULL, &err); /* best effort: the caller reports the failure itself */
	}
	if (w->tmp && w->tmp[0]) {
		char sig[PATH_MAX];

		unlink(w->tmp);
		snprintf(sig, sizeof(sig), "%s.minisig", w->tmp);
		unlink(sig);
	}
	if (w->fd >= 0)
		close(w->fd);
	if (w->man)
		fclose(w->man);
	if (w->body)
		fclose(w->body);
	json_decref(w->notes);
	json_decref(w->targets);
	/* the hashers first: they may still be hashing into ad or a member's digest */
	vigil_hasher_free(w->hasher);
	vigil_hasher_free(w->ahasher);
	vigil_hasher_free(w->bhasher);
	vigil_digest_free(w->ad);
	vigil_digest_free(w->bd);
	free(w->obuf);
	free(w->buf);
	free(w->acquired);
	free(w->case_id);
	free(w->examiner);
	free(w->note);
	free(w->trigger);
	free(w->root);
	free(w->dir);
	free(w->name);
	free(w->tmp);
	free(w->final);
	free(w);
}
