/* evw_sweep.c - captures that never finished (SIGKILL, a crash re-raised
 * after the thaw, power loss), made visible and cleaned, never silently.
 *
 * The writer's temporary archive `.NAME.tmp.XXXXXX` is made as an O_TMPFILE,
 * flock'ed (LOCK_EX) and only then linked into the output dir: the name never
 * exists unlocked, and the lock lives as long as the writer (the kernel drops
 * it when the process dies, however it dies).  A sweeper that gets the lock
 * knows the writer is gone: it removes the temporary archive and its
 * signature's and digest's temporaries (and `.mem.lime`, LiME's file-mode
 * spool, with LiME's digest beside it), and appends one `failed` record
 * ("interrupted: found unfinished at TIME, temporary removed") for the
 * capture whose `acquired` record names that temporary file.  One that does
 * not get the lock leaves everything alone.  Two sweepers at once: the one
 * that gets the lock second sees the file unlinked (st_nlink 0) and does
 * nothing, so the record is appended once.
 *
 * A sweeper holds the dir's flock while it removes and records: the ledger's
 * sweep (evw_recover.c, which visits every dir the ledger's open captures
 * name and closes those whose temporary archive is gone) takes it too.
 *
 * `vigil cases` lists an `acquired` record with no `archived` or `failed`
 * after it as "interrupted: no seal or failure recorded" (or running, while
 * its temporary file is locked, or its renamed archive: the same open file).
 * A writer's later records carry "acquired_seq"; records of older vigil
 * versions are matched by the archive name.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "evw_priv.h"
#include "vigil/clock.h"
#include "vigil/err.h"

int evw_tmp_create(char *path)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	size_t n = strlen(path);
	char *slash = strrchr(path, '/'), proc[64];
	int fd, e = EEXIST;

	if (n < 6 || strcmp(path + n - 6, "XXXXXX") || !slash) {
		errno = EINVAL;
		return -1;
	}
	*slash = '\0';
	fd = open(path, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	e = errno;
	*slash = '/';
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		e = errno;
		goto fail;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (int tries = 0; tries < 100; tries++) {
		unsigned char r[6];

		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			e = errno;
			goto fail;
		}
		for (int i = 0; i < 6; i++)
			path[n - 6 + i] = abc[r[i] % (sizeof(abc) - 1)];
		if (!linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW))
			return fd;
		/* no /proc: AT_EMPTY_PATH (needs CAP_DAC_READ_SEARCH before Linux 6.10) */
		if (errno == ENOENT && !linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH))
			return fd;
		e = errno;
		if (e != EEXIST)
			break;
	}
fail:
	if (fd >= 0)
		close(fd);
	memcpy(path + n - 6, "XXXXXX", 6);
	errno = e;
	return -1;
}

uint64_t evw_seq_of(const char *line)
{
	json_t *j = json_loads(line, 0, NULL);
	json_int_t seq = j ? json_integer_value(json_object_get(j, "seq")) : 0;

	json_decref(j);
	return seq > 0 ? (uint64_t)seq : 0;
}

void evw_sweep_before(struct vigil_evw *w)
{
	struct vigil_err err = { "" };

	/* every dir the ledger's open captures name; archives renamed but not
	 * recorded are left to `vigil cases --sweep` and the daemon (read whole) */
	if (vigil_evw_sweep_ledger(w->o.state_dir, w->dir, 0, NULL, NULL, NULL, &err))
		vigil_log_warn("the sweep of interrupted captures failed: %s", err.msg);
}

/* 1 when the file is a temporary archive whose writer runs (holds its lock). */
static int live_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), live;

	if (fd < 0)
		return 0;
	live = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return live;
}

/* ---- the ledger's captures without an outcome ---- */

static int pend_add(struct evw_pendings *p, json_t *rec)
{
	struct evw_pending *x;
	const char *s;

	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 8;

		x = realloc(p->v, nc * sizeof(*x));
		if (!x)
			return -ENOMEM;
		p->v = x;
		p->cap = nc;
	}
	x = &p->v[p->n];
	memset(x, 0, sizeof(*x));
	x->seq = (uint64_t)json_integer_value(json_object_get(rec, "seq"));
	/* a missing string is "" */
#define PSTR(field, key) (x->field = strdup((s = json_string_value(json_object_get(rec, key))) ? s : ""))
	if (!PSTR(archive, "archive") || !PSTR(tmp, "tmp") || !PSTR(case_id, "case") ||
	    !PSTR(examiner, "examiner") || !PSTR(time, "time")) {
#undef PSTR
		free(x->archive), free(x->tmp), free(x->case_id), free(x->examiner), free(x->time);
		return -ENOMEM;
	}
	if (json_is_integer(json_object_get(rec, "dir_dev")) && json_is_integer(json_object_get(rec, "dir_ino"))) {
		x->has_dir = 1;
		x->dir_dev = (uint64_t)json_integer_value(json_object_get(rec, "dir_dev"));
		x->dir_ino = (uint64_t)json_integer_value(json_object_get(rec, "dir_ino"));
	}
	p->n++;
	return 0;
}

static void pend_drop(struct evw_pendings *p, size_t i)
{
	struct evw_pending *x = &p->v[i];

	free(x->archive), free(x->tmp), free(x->case_id), free(x->examiner), free(x->time);
	memmove(x, x + 1, (p->n - i - 1) * sizeof(*x));
	p->n--;
}

void evw_pendings_free(struct evw_pendings *p)
{
	while (p->n)
		pend_drop(p, p->n - 1);
	free(p->v);
	p->v = NULL;
	p->cap = 0;
}

static const char *base_name(const char *s)
{
	const char *b = strrchr(s, '/');

	return b ? b + 1 : s;
}

/* The open capture a later record is about: by "acquired_seq", else (older
 * records) the latest one of the same archive name; -1 when none. */
static long pend_find(const struct evw_pendings *p, json_t *rec)
{
	json_int_t aseq = json_integer_value(json_object_get(rec, "acquired_seq"));
	const char *a = json_string_value(json_object_get(rec, "archive"));

	for (size_t i = p->n; i-- > 0;) {
		if (aseq > 0 ? p->v[i].seq == (uint64_t)aseq : a && !strcmp(p->v[i].archive, base_name(a)))
			return (long)i;
	}
	return -1;
}

static int pend_cb(void *arg, uint64_t lineno, const char *line, size_t len, const char *prev, size_t prev_len)
{
	struct evw_pendings *p = arg;
	json_t *rec = json_loadb(line, len, 0, NULL);
	const char *action = rec ? json_string_value(json_object_get(rec, "action")) : NULL;
	long i;
	int rc = 0;

	(void)lineno, (void)prev, (void)prev_len;
	if (action && !strcmp(action, "acquired"))
		rc = pend_add(p, rec);
	else if (action && !strcmp(action, "sealed") && (i = pend_find(p, rec)) >= 0) {
		const char *seal = json_string_value(json_object_get(rec, "seal"));

		p->v[i].sealed = 1;
		snprintf(p->v[i].seal, sizeof(p->v[i].seal), "%s", seal && strlen(seal) == 64 ? seal : "");
	}
	else if (action && (!strcmp(action, "archived") || !strcmp(action, "failed")) && (i = pend_find(p, rec)) >= 0)
		pend_drop(p, (size_t)i);
	json_decref(rec);
	return rc;
}

int evw_pendings_load(const char *state_dir, struct evw_pendings *p, struct vigil_err *err)
{
	char path[PATH_MAX];
	int rc;

	memset(p, 0, sizeof(*p));
	snprintf(path, sizeof(path), "%s/%s", state_dir, VIGIL_CUSTODY_FILE);
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0; /* no ledger: nothing was ever captured */
	rc = custody_walk(state_dir, pend_cb, p, err);
	if (rc == -ENOMEM)
		vigil_err_set(err, rc, "out of memory");
	if (rc)
		evw_pendings_free(p);
	return rc;
}

int evw_pending_final(const struct evw_pending *x, char *buf, size_t len)
{
	const char *slash = strrchr(x->tmp, '/');
	int n;

	if (x->tmp[0] != '/' || !slash || !x->archive[0] || strchr(x->archive, '/'))
		return -1;
	n = snprintf(buf, len, "%.*s/%s", (int)(slash - x->tmp), x->tmp, x->archive);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Running: its writer holds the temporary archive's lock, or, sealed, the
 * renamed archive's (the same open file) until its `archived` record is in. */
int evw_pending_live(const struct evw_pending *x)
{
	char final[PATH_MAX];

	if (!x->tmp[0])
		return 0;
	if (live_at(AT_FDCWD, x->tmp))
		return 1;
	return x->sealed && !evw_pending_final(x, final, sizeof(final)) && live_at(AT_FDCWD, final);
}

const char *evw_pending_why(const struct evw_pending *x)
{
	if (evw_pending_live(x))
		return "running: its temporary archive is in use";
	return x->sealed ? "interrupted: sealed, but no archive or failure recorded"
			 : "interrupted: no seal or failure recorded";
}

/* ---- the sweep ---- */

enum { T_MAIN, T_SIG, T_SUM };

/* `.NAME.tmp.XXXXXX` (main), `.NAME.tmp.XXXXXX.minisig[.tmp-HEX]` (sig: its
 * main's name length in *mlen), `NAME.sha256.tmp-HEX` (sum: NAME's length,
 * NAME an archive's name); -1: none of ours. */
static int kind_of(const char *nm, size_t *mlen)
{
	const char *t = nm[0] == '.' ? strstr(nm, ".tmp.") : NULL, *s;
	size_t k;

	if (t && t > nm + 1) {
		for (k = 0; t[5 + k] && t[5 + k] != '.'; k++)
			;
		if (k != 6)
			return -1;
		*mlen = (size_t)(t - nm) + 11;
		if (!t[11])
			return T_MAIN;
		/* companions: the signature's temporary, LiME's spool and its digest */
		if (!strcmp(t + 11, ".minisig") || !strncmp(t + 11, ".minisig.tmp-", 13) ||
		    !strcmp(t + 11, VIGIL_EVW_MEM_SPOOL) || !strcmp(t + 11, VIGIL_EVW_MEM_SPOOL ".sha256"))
			return T_SIG;
		return -1;
	}
	s = strstr(nm, ".sha256.tmp-");
	if (nm[0] != '.' && s && s > nm && strstr(nm, ".tar") && strstr(nm, ".tar") < s) {
		*mlen = (size_t)(s - nm);
		return T_SUM;
	}
	return -1;
}

/* 1 when a running writer holds a `.NAME.tmp.XXXXXX` in the dir (a fresh scan). */
static int name_live(int dfd, const char *name, size_t len)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), live = 0;
	struct dirent *de;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 1; /* cannot tell: leave it */
	}
	while (!live && (de = readdir(d))) {
		size_t ml;

		if (kind_of(de->d_name, &ml) == T_MAIN && ml == len + 12 && !strncmp(de->d_name + 1, name, len))
			live = live_at(dirfd(d), de->d_name);
	}
	closedir(d);
	return live;
}

/* The main temporary file `name`, its writer gone: removed (with its
 * signature's temporary and LiME's spool, if any).  1 removed, 0 left (running, or another sweeper's). */
static int take(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), rc = 0;
	struct stat a, b;
	char sig[NAME_MAX + 32];

	if (fd < 0)
		return 0;
	if (!flock(fd, LOCK_EX | LOCK_NB) && !fstat(fd, &a) && S_ISREG(a.st_mode) && a.st_nlink > 0 &&
	    !fstatat(dfd, name, &b, AT_SYMLINK_NOFOLLOW) && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
		static const char *const comp[] = { ".minisig", VIGIL_EVW_MEM_SPOOL, VIGIL_EVW_MEM_SPOOL ".sha256" };

		if (unlinkat(dfd, name, 0) < 0) { /* a read-only dir (the daemon's unit): said, left open */
			vigil_log_warn("cannot remove '%s', the temporary archive of an interrupted capture: %s",
				       name, strerror(errno));
			close(fd);
			return 0;
		}
		for (size_t i = 0; i < sizeof(comp) / sizeof(comp[0]); i++) {
			snprintf(sig, sizeof(sig), "%s%s", name, comp[i]);
			unlinkat(dfd, sig, 0);
		}
		rc = 1;
	}
	close(fd); /* after the unlink: a sweeper waiting for the lock sees st_nlink 0 */
	return rc;
}

/* The `failed` record for the capture whose temporary file `name` was removed. */
static int record(const char *state_dir, struct evw_pendings *p, const char *dir, const char *name,
		  vigil_evw_swept_fn fn, void *arg, struct vigil_err *err)
{
	char ts[48], why[160], path[PATH_MAX];
	size_t len = strlen(name);
	long found = -1;
	int rc;

	evw_time(vigil_clock_real_ns(), ts, sizeof(ts));
	snprintf(why, sizeof(why), "interrupted: found unfinished at %s, temporary removed", ts);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (size_t i = 0; i < p->n && found < 0; i++)
		if (p->v[i].tmp[0] && !strcmp(base_name(p->v[i].tmp), name))
			found = (long)i;
	/* an older vigil's record: no "tmp", the archive's name */
	for (size_t i = p->n; found < 0 && i-- > 0;)
		if (!p->v[i].tmp[0] && len > 13 && strlen(p->v[i].archive) == len - 12 &&
		    !strncmp(p->v[i].archive, name + 1, len - 12))
			found = (long)i;
	if (found < 0) {
		vigil_log_warn("removed '%s', the temporary archive of an interrupted capture that no "
			       "`acquired` record of the ledger names", path);
		if (fn)
			fn(arg, NULL, path, why);
		return 0;
	}
	rc = evw_pending_append(state_dir, &p->v[found], "failed",
				json_pack("{s:s,s:s,s:s}", "archive", p->v[found].archive, "tmp", path, "error", why), err);
	if (rc)
		return rc;
	vigil_log_warn("case %s: capture interrupted (its `acquired` record is %llu): removed its temporary "
		       "archive '%s'", p->v[found].case_id, (unsigned long long)p->v[found].seq, path);
	if (fn)
		fn(arg, p->v[found].case_id, path, why);
	pend_drop(p, (size_t)found);
	return 0;
}

struct names {
	char **v;
	size_t n;
};

static int names_add(struct names *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->v = v;
	if (!(v[l->n] = strdup(s)))
		return -ENOMEM;
	l->n++;
	return 0;
}

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

int vigil_evw_sweep(const char *state_dir, const char *dir, vigil_evw_swept_fn fn, void *arg, unsigned *removed,
		    struct vigil_err *err)
{
	struct names l[3] = { { 0 } }, gone = { 0 };
	struct evw_pendings p = { 0 };
	int dfd, fd, rc = 0;
	struct dirent *de;
	DIR *d;

	if (removed)
		*removed = 0;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : vigil_err_set(err, -errno, "'%s': %s", dir, strerror(errno));
	/* the dir's lock, to the last record: evw_recover.c takes a capture with
	 * no file left for a lost one under it */
	flock(dfd, LOCK_EX);
	fd = dup(dfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		rc = vigil_err_set(err, -errno, "'%s': %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		close(dfd);
		return rc;
	}
	while (!rc && (de = readdir(d))) {
		size_t ml;
		int k = kind_of(de->d_name, &ml);

		if (k >= 0)
			rc = names_add(&l[k], de->d_name);
	}
	closedir(d);
	/* the archives first: a signature's or digest's temporary file goes with them */
	for (size_t i = 0; !rc && i < l[T_MAIN].n; i++)
		if (take(dfd, l[T_MAIN].v[i]))
			rc = names_add(&gone, l[T_MAIN].v[i]);
	for (size_t i = 0; !rc && i < l[T_SIG].n; i++) {
		size_t ml;
		char main[NAME_MAX + 1];
		struct stat st;

		kind_of(l[T_SIG].v[i], &ml);
		snprintf(main, sizeof(main), "%.*s", (int)ml, l[T_SIG].v[i]);
		if (fstatat(dfd, main, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
			unlinkat(dfd, l[T_SIG].v[i], 0);
	}
	for (size_t i = 0; !rc && i < l[T_SUM].n; i++) {
		size_t ml;

		kind_of(l[T_SUM].v[i], &ml);
		if (!name_live(dfd, l[T_SUM].v[i], ml))
			unlinkat(dfd, l[T_SUM].v[i], 0);
	}
	if (!rc && gone.n)
		rc = evw_pendings_load(state_dir, &p, err);
	for (size_t i = 0; !rc && i < gone.n; i++) {
		rc = record(state_dir, &p, dir, gone.v[i], fn, arg, err);
		if (!rc && removed)
			(*removed)++;
	}
	if (rc == -ENOMEM)
		vigil_err_set(err, rc, "out of memory");
	evw_pendings_free(&p);
	for (int k = 0; k < 3; k++)
		names_free(&l[k]);
	names_free(&gone);
	close(dfd);
	return rc;
}
