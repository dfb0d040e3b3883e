/* evw_recover.c - the ledger's sweep (vigil_evw_sweep_ledger): every output
 * dir an unfinished capture names, then the captures still open whose
 * temporary archive is gone.
 *
 * A writer's files while its capture is open in the ledger: its temporary
 * archive, locked (evw_tmp_create), from before its `acquired` record; after
 * the rename the same open file, still locked, under the final name until its
 * `archived` record is in; on failure its `failed` record goes in before the
 * temporary file is removed and the lock dropped (vigil_evw_free).  So a
 * capture open in the ledger with no temporary archive was interrupted after
 * the rename (its archive is there, unlocked) or lost both files (power loss
 * before the dir was synced, someone removed them), or its dir is not the one
 * it wrote into (media not mounted): the `acquired` record's dir_dev/dir_ino
 * tell.  The archive's lock (or, with no file, the dir's, which
 * vigil_evw_sweep holds too) is held from the ledger's re-read to the record:
 * two sweepers record a capture once.  The archive is only read.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "evw_priv.h"
#include "vigil/clock.h"
#include "vigil/err.h"
#include "vigil/sign.h"

struct rep {
	vigil_evw_sweep_fn fn;
	void *arg;
	struct vigil_evw_sweep_counts *c;
};

static void report(struct rep *r, int kind, const char *case_id, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void report(struct rep *r, int kind, const char *case_id, const char *path, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vigil_log(kind == VIGIL_EVW_SWEPT_ARCHIVED ? VIGIL_LOG_NOTICE : VIGIL_LOG_WARNING, "%s", msg);
	if (kind == VIGIL_EVW_SWEPT_ARCHIVED)
		r->c->archived++;
	else if (kind == VIGIL_EVW_SWEPT_FAILED)
		r->c->failed++;
	else
		r->c->skipped++;
	if (r->fn)
		r->fn(r->arg, kind, case_id, path, msg);
}

/* vigil_evw_sweep's removals (it logs them itself) */
static void tmp_swept(void *arg, const char *case_id, const char *tmp, const char *why)
{
	struct rep *r = arg;

	r->c->removed++;
	if (r->fn)
		r->fn(r->arg, VIGIL_EVW_SWEPT_FAILED, case_id, tmp, why);
}

struct dirs {
	char **v;
	size_t n;
};

static int dirs_add(struct dirs *d, const char *s, size_t len)
{
	char **v;

	for (size_t i = 0; i < d->n; i++)
		if (strlen(d->v[i]) == len && !strncmp(d->v[i], s, len))
			return 0;
	v = realloc(d->v, (d->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	d->v = v;
	if (!(v[d->n] = strndup(s, len)))
		return -ENOMEM;
	d->n++;
	return 0;
}

/* dir and the dirs of the open captures' temporary archives, each swept once */
static int visit_dirs(const char *state_dir, const char *dir, struct rep *r, struct vigil_err *err)
{
	struct evw_pendings p;
	struct dirs d = { 0 };
	int rc = evw_pendings_load(state_dir, &p, err);

	if (rc)
		return rc;
	if (dir)
		rc = dirs_add(&d, dir, strlen(dir));
	for (size_t i = 0; !rc && i < p.n; i++) {
		const char *slash = strrchr(p.v[i].tmp, '/');

		if (p.v[i].tmp[0] == '/' && slash)
			rc = dirs_add(&d, p.v[i].tmp, slash > p.v[i].tmp ? (size_t)(slash - p.v[i].tmp) : 1);
	}
	evw_pendings_free(&p);
	for (size_t i = 0; !rc && i < d.n; i++) {
		struct vigil_err e = { "" };
		struct stat st;

		/* never created; a dir that is not there is said per capture (close_open) */
		const char *bad = stat(d.v[i], &st) < 0 ? (errno == ENOENT ? "" : strerror(errno))
				  : !S_ISDIR(st.st_mode) ? "not a directory" : NULL;

		if (bad && bad[0])
			report(r, VIGIL_EVW_SWEPT_SKIPPED, NULL, d.v[i], "output dir '%s': %s: not swept", d.v[i], bad);
		if (bad)
			continue;
		r->c->dirs++;
		if (vigil_evw_sweep(state_dir, d.v[i], tmp_swept, r, NULL, &e))
			report(r, VIGIL_EVW_SWEPT_SKIPPED, NULL, d.v[i], "output dir '%s': the sweep failed: %s",
			       d.v[i], e.msg);
	}
	for (size_t i = 0; i < d.n; i++)
		free(d.v[i]);
	free(d.v);
	return rc == -ENOMEM ? vigil_err_set(err, rc, "out of memory") : rc;
}

/* 1 when the capture of `acquired` record seq is still open in the ledger */
static int still_open(const char *state_dir, uint64_t seq, struct vigil_err *err)
{
	struct evw_pendings p;
	int rc = evw_pendings_load(state_dir, &p, err), open = 0;

	for (size_t i = 0; !rc && i < p.n; i++)
		open |= p.v[i].seq == seq;
	evw_pendings_free(&p);
	return rc ? rc : open;
}

int evw_pending_append(const char *state_dir, const struct evw_pending *x, const char *action, json_t *extra,
		       struct vigil_err *err)
{
	json_t *rec = json_pack("{s:s,s:s,s:s,s:I}", "action", action, "case", x->case_id, "examiner", x->examiner,
				"acquired_seq", (json_int_t)x->seq);
	char *text;
	int rc;

	if (rec && extra)
		json_object_update(rec, extra);
	json_decref(extra);
	text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	json_decref(rec);
	if (!text)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	rc = vigil_custody_append(state_dir, text, NULL, err);
	free(text);
	return rc;
}

/* 1 when path names the file open on fd */
static int same_file(int fd, const char *path)
{
	struct stat a, b;

	return !fstat(fd, &a) && !lstat(path, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The archive of x open on fd checked: 0 it is x's (sha256 set), 1 it is not,
 * 2 it cannot be told; why says what. */
static int verify_archive(const char *state_dir, const struct evw_pending *x, int fd, const char *final,
			  char sha256[65], char *why, size_t len)
{
	struct vigil_err e = { "" };
	struct vigil_evverify v;
	struct vigil_pubkey *pk = NULL;
	char path[PATH_MAX + 16], line[PATH_MAX + 80];
	FILE *f;
	int rc = vigil_evidence_check_fd(fd, &v, &e);

	if (rc < 0)
		return snprintf(why, len, "cannot read it: %s", e.msg), 2;
	if (rc)
		return snprintf(why, len, "it does not verify: %s", v.fault), 1;
	if (!x->seal[0] || strcmp(v.seal, x->seal))
		return snprintf(why, len, "its seal (%s) is not the one of the capture's `sealed` record (%s)",
				v.seal, x->seal[0] ? x->seal : "none"), 1;
	snprintf(path, sizeof(path), "%s.sha256", final);
	f = fopen(path, "re");
	if (!f)
		return snprintf(why, len, "'%s': %s", path, strerror(errno)), 1;
	rc = !fgets(line, sizeof(line), f);
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	if (rc || strncmp(line, v.sha256, 64) || strncmp(line + 64, "  ", 2) || strcmp(line + 66, x->archive))
		return snprintf(why, len, "'%s' does not name its SHA-256 %s", path, v.sha256), 1;
	if (vigil_pubkey_load(state_dir, &pk, &e))
		return snprintf(why, len, "cannot check its signature: %s", e.msg), 2;
	rc = vigil_minisign_verify(pk, final, NULL, &e); /* by name (it opens no symlink): the same file? */
	vigil_pubkey_free(pk);
	if (!rc && !same_file(fd, final))
		return snprintf(why, len, "it was replaced while it was checked"), 2;
	if (rc)
		return snprintf(why, len, "its signature does not verify: %s", e.msg), 1;
	memcpy(sha256, v.sha256, 65);
	return 0;
}

/* x's archive under its final name, open on fd: recorded archived or failed */
static int close_archive(const char *state_dir, const struct evw_pending *x, int fd, const char *final,
			 struct rep *r, struct vigil_err *err)
{
	char ts[48], sha[65], why[2 * PATH_MAX + 256];
	int rc;

	/* its writer holds it until its `archived` record (or another sweeper does) */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return 0;
	if ((rc = still_open(state_dir, x->seq, err)) <= 0)
		return rc;
	evw_time(vigil_clock_real_ns(), ts, sizeof(ts));
	rc = verify_archive(state_dir, x, fd, final, sha, why, sizeof(why));
	if (rc == 2) {
		report(r, VIGIL_EVW_SWEPT_SKIPPED, x->case_id, final, "case %s: its archive '%s' was renamed but not "
		       "recorded, and %s: left open", x->case_id, final, why);
		return 0;
	}
	if (rc == 0) {
		snprintf(why, sizeof(why), "found complete under its final name at %s with no `archived` record "
			 "(interrupted after the rename): verified by the sweep", ts);
		rc = evw_pending_append(state_dir, x, "archived", json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "archive", final,
				"sha256", sha, "seal", x->seal, "recovered", "sweep", "recovered_at", ts, "note", why),
			    err);
		if (!rc)
			report(r, VIGIL_EVW_SWEPT_ARCHIVED, x->case_id, final, "case %s: archive '%s' %s (sha256 %s)",
			       x->case_id, final, why, sha);
		return rc;
	}
	{
		char msg[2 * PATH_MAX + 512];

		snprintf(msg, sizeof(msg), "interrupted after the rename: found at %s, %s (the archive is left as it is)",
			 ts, why);
		rc = evw_pending_append(state_dir, x, "failed", json_pack("{s:s,s:s}", "archive", final, "error", msg), err);
		if (!rc)
			report(r, VIGIL_EVW_SWEPT_FAILED, x->case_id, final, "case %s: archive '%s': %s", x->case_id,
			       final, msg);
	}
	return rc;
}

static int absent(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 && errno == ENOENT;
}

/* Neither x's temporary archive nor its archive: failed, when its dir is the one it wrote into. */
static int close_gone(const char *state_dir, const struct evw_pending *x, const char *final, struct rep *r,
		      struct vigil_err *err)
{
	char dir[PATH_MAX], ts[48], msg[PATH_MAX + 256];
	struct stat st;
	int dfd, rc = 0;

	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(final, '/') - final), final);
	dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &st) < 0 || !x->has_dir || (uint64_t)st.st_dev != x->dir_dev ||
	    (uint64_t)st.st_ino != x->dir_ino) {
		report(r, VIGIL_EVW_SWEPT_SKIPPED, x->case_id, dir, "case %s: neither its archive nor its temporary "
		       "archive is in '%s', %s: left open", x->case_id, dir,
		       dfd < 0 ? "which is not there (removed, or its media not mounted?)"
		       : !x->has_dir ? "and its `acquired` record (an older vigil's) does not say which dir that was"
				     : "which is not the dir it wrote into (its media not mounted?)");
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	/* the dir's lock: vigil_evw_sweep holds it while it removes and records */
	if (flock(dfd, LOCK_EX) < 0 || (rc = still_open(state_dir, x->seq, err)) <= 0 || !absent(x->tmp) ||
	    !absent(final)) {
		close(dfd);
		return rc < 0 ? rc : 0;
	}
	evw_time(vigil_clock_real_ns(), ts, sizeof(ts));
	snprintf(msg, sizeof(msg), "interrupted%s: neither its archive nor its temporary archive is in '%s' (found "
		 "at %s)", x->sealed ? " after its seal" : "", dir, ts);
	rc = evw_pending_append(state_dir, x, "failed", json_pack("{s:s,s:s,s:s}", "archive", x->archive, "tmp", x->tmp,
						       "error", msg), err);
	close(dfd);
	if (!rc)
		report(r, VIGIL_EVW_SWEPT_FAILED, x->case_id, final, "case %s: %s", x->case_id, msg);
	return rc;
}

/* The open captures whose temporary archive is gone and whose writer is gone. */
static int close_open(const char *state_dir, int flags, struct rep *r, struct vigil_err *err)
{
	struct evw_pendings p;
	int rc = evw_pendings_load(state_dir, &p, err);

	for (size_t i = 0; !rc && i < p.n; i++) {
		const struct evw_pending *x = &p.v[i];
		char final[PATH_MAX];
		int fd;

		/* an older vigil's record (no dir), or its temporary archive is there
		 * (running: vigil_evw_sweep left it) or cannot be looked at */
		if (evw_pending_final(x, final, sizeof(final)) || !absent(x->tmp))
			continue;
		fd = open(final, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			if (flags & VIGIL_EVW_SWEEP_ARCHIVES)
				rc = close_archive(state_dir, x, fd, final, r, err);
			close(fd);
		} else if (errno == ENOENT) {
			rc = close_gone(state_dir, x, final, r, err);
		} else {
			report(r, VIGIL_EVW_SWEPT_SKIPPED, x->case_id, final, "case %s: cannot open '%s': %s: left open",
			       x->case_id, final, strerror(errno));
		}
	}
	evw_pendings_free(&p);
	return rc;
}

int vigil_evw_sweep_ledger(const char *state_dir, const char *dir, int flags, vigil_evw_sweep_fn fn, void *arg,
			   struct vigil_evw_sweep_counts *counts, struct vigil_err *err)
{
	struct vigil_evw_sweep_counts c = { 0 };
	struct rep r = { fn, arg, counts ? counts : &c };
	int rc;

	memset(r.c, 0, sizeof(*r.c));
	rc = visit_dirs(state_dir, dir, &r, err);
	if (!rc)
		rc = close_open(state_dir, flags, &r, err);
	return rc;
}
