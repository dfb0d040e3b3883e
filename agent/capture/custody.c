/* custody.c - the append-only, hash-chained custody ledger in the state dir.
 *
 * Every line carries the SHA-256 of the line before it (its bytes without
 * "\n"), so editing, removing or reordering a record breaks the chain at the
 * next one.  Writers hold an exclusive flock(2) on the ledger from reading the
 * last line to writing theirs: the daemon and the CLI never fork the chain.
 * The lock does not protect against root rewriting the whole file; the
 * archives' custody.jsonl copies and their signatures do (vigil verify).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "evw_priv.h"
#include "vigil/capture.h"
#include "vigil/clock.h"
#include "vigil/crypto.h"

/* A record is a few hundred bytes; anything longer is not ours. */
#define LINE_MAX_LEN (64u << 10)

static int ledger_path(const char *state_dir, char *buf, size_t len, struct vigil_err *err)
{
	int n = snprintf(buf, len, "%s/%s", state_dir, VIGIL_CUSTODY_FILE);

	if (n < 0 || (size_t)n >= len)
		return vigil_err_set(err, -ENAMETOOLONG, "state dir '%s': path too long", state_dir);
	return 0;
}

/* The last line of the ledger open on fd (size bytes): malloc'd in *line
 * (NULL when empty). */
static int last_line(int fd, off_t size, char **line, size_t *len, struct vigil_err *err, const char *path)
{
	size_t want = size > (off_t)LINE_MAX_LEN ? LINE_MAX_LEN : (size_t)size;
	char *buf, *end, *start;
	ssize_t r;

	*line = NULL;
	*len = 0;
	if (!size)
		return 0;
	buf = malloc(want + 1);
	if (!buf)
		return -ENOMEM;
	r = pread(fd, buf, want, size - (off_t)want);
	if (r != (ssize_t)want) {
		free(buf);
		return vigil_err_set(err, r < 0 ? -errno : -EIO, "cannot read '%s'", path);
	}
	buf[want] = '\0';
	end = buf + want;
	if (end > buf && end[-1] == '\n')
		end--;
	*end = '\0';
	start = memrchr(buf, '\n', (size_t)(end - buf));
	start = start ? start + 1 : buf;
	if (start == buf && (off_t)want < size) {
		free(buf);
		return vigil_err_set(err, -EBADMSG, "'%s': last record longer than %u bytes", path, LINE_MAX_LEN);
	}
	*len = (size_t)(end - start);
	memmove(buf, start, *len + 1);
	*line = buf;
	return 0;
}

static void who(json_t *rec)
{
	char host[256] = "", lu[32] = "";
	FILE *f;

	if (!gethostname(host, sizeof(host) - 1))
		json_object_set_new(rec, "host", json_string(host));
	json_object_set_new(rec, "uid", json_integer(getuid()));
	f = fopen("/proc/self/loginuid", "re");
	if (f) {
		if (fgets(lu, sizeof(lu), f))
			json_object_set_new(rec, "loginuid", json_integer(strtoll(lu, NULL, 10)));
		fclose(f);
	}
}

const char *evw_login_name(char *buf, size_t len)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)getuid());
	return buf;
}

/* The new line: fields + seq, time, who, prev. */
static char *make_line(const char *fields_json, const char *prev, size_t prev_len, struct vigil_err *err)
{
	json_error_t je;
	json_t *rec = json_loads(fields_json, 0, &je), *old = NULL;
	unsigned char d[32];
	char hex[65], ts[48], *out = NULL;
	json_int_t seq = 1;

	if (!rec || !json_is_object(rec)) {
		vigil_err_set(err, -EINVAL, "custody record: %s", rec ? "not an object" : je.text);
		goto out;
	}
	if (prev) {
		old = json_loadb(prev, prev_len, 0, &je);
		if (!old || !json_is_integer(json_object_get(old, "seq"))) {
			vigil_err_set(err, -EBADMSG, "custody ledger: last record is not one of ours");
			goto out;
		}
		seq = json_integer_value(json_object_get(old, "seq")) + 1;
		vigil_sha256(prev, prev_len, d);
		vigil_hex(d, 32, hex);
	} else {
		memset(hex, '0', 64);
		hex[64] = '\0';
	}
	evw_time(vigil_clock_real_ns(), ts, sizeof(ts));
	json_object_set_new(rec, "seq", json_integer(seq));
	json_object_set_new(rec, "time", json_string(ts));
	who(rec);
	json_object_set_new(rec, "prev", json_string(hex));
	out = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	if (!out)
		vigil_err_set(err, -ENOMEM, "out of memory");
out:
	json_decref(rec);
	json_decref(old);
	return out;
}

int vigil_custody_append(const char *state_dir, const char *fields_json, char **line, struct vigil_err *err)
{
	char path[PATH_MAX], *prev = NULL, *nl = NULL;
	size_t prev_len = 0, n;
	struct stat sb;
	int fd, rc;

	if (line)
		*line = NULL;
	if ((rc = ledger_path(state_dir, path, sizeof(path), err)))
		return rc;
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return vigil_err_set(err, -errno, "cannot open the custody ledger '%s': %s", path, strerror(errno));
	if (flock(fd, LOCK_EX) < 0 || fstat(fd, &sb) < 0) {
		rc = vigil_err_set(err, -errno, "'%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = vigil_err_set(err, -EINVAL, "'%s' is not a regular file", path);
		goto out;
	}
	if ((rc = last_line(fd, sb.st_size, &prev, &prev_len, err, path)))
		goto out;
	nl = make_line(fields_json, prev, prev_len, err);
	if (!nl) {
		rc = -EINVAL;
		goto out;
	}
	n = strlen(nl);
	nl[n] = '\n'; /* json_dumps allocated n + 1 */
	if (write(fd, nl, n + 1) != (ssize_t)(n + 1) || fdatasync(fd) < 0) {
		rc = vigil_err_set(err, -EIO, "cannot append to '%s': %s", path, strerror(errno ? errno : EIO));
		/* a partial line would break the chain for every later writer */
		if (ftruncate(fd, sb.st_size) < 0)
			rc = vigil_err_prefix(err, rc, "ledger left with a partial line");
		goto out;
	}
	nl[n] = '\0';
	if (line) {
		*line = nl;
		nl = NULL;
	}
out:
	free(prev);
	free(nl);
	close(fd); /* releases the lock */
	return rc;
}

int vigil_custody_link_ok(const char *line, size_t len, const char *prev_line, size_t prev_len)
{
	json_t *rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	const char *prev = rec ? json_string_value(json_object_get(rec, "prev")) : NULL;
	unsigned char d[32];
	char hex[65];
	int ok;

	if (prev_line) {
		vigil_sha256(prev_line, prev_len, d);
		vigil_hex(d, 32, hex);
	} else {
		memset(hex, '0', 64);
		hex[64] = '\0';
	}
	ok = prev && !strcmp(prev, hex);
	json_decref(rec);
	return ok ? 0 : 1;
}

/* Calls cb for each line of the ledger (without "\n"), the previous line
 * beside it.  Reads line by line: memory stays at two records. */
typedef int (*line_cb)(void *arg, uint64_t lineno, const char *line, size_t len, const char *prev,
		       size_t prev_len);

static int each_line(const char *state_dir, line_cb cb, void *arg, struct vigil_err *err)
{
	char path[PATH_MAX], *cur = NULL, *prev = NULL;
	size_t cap = 0, prev_cap = 0, prev_len = 0;
	uint64_t lineno = 0;
	ssize_t n;
	FILE *f;
	int fd, rc = 0;

	if ((rc = ledger_path(state_dir, path, sizeof(path), err)))
		return rc;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vigil_err_set(err, -errno, "cannot open the custody ledger '%s': %s", path, strerror(errno));
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while ((n = getline(&cur, &cap, f)) >= 0) {
		char *t;

		lineno++;
		if (n > 0 && cur[n - 1] == '\n')
			cur[--n] = '\0';
		if ((size_t)n > LINE_MAX_LEN) {
			rc = vigil_err_set(err, 1, "'%s' line %" PRIu64 ": longer than any record", path, lineno);
			break;
		}
		rc = cb(arg, lineno, cur, (size_t)n, lineno > 1 ? prev : NULL, prev_len);
		if (rc)
			break;
		t = prev; prev = cur; cur = t;
		n = (ssize_t)prev_cap; prev_cap = cap; cap = (size_t)n;
		prev_len = strlen(prev);
	}
	if (!rc && ferror(f))
		rc = vigil_err_set(err, -EIO, "cannot read '%s'", path);
	free(cur);
	free(prev);
	fclose(f);
	return rc;
}

struct chain {
	uint64_t n;
	struct vigil_err *err;
};

static int chain_cb(void *arg, uint64_t lineno, const char *line, size_t len, const char *prev, size_t prev_len)
{
	struct chain *c = arg;
	json_t *rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *seq = rec ? json_object_get(rec, "seq") : NULL;
	int bad_seq = !json_is_integer(seq) || json_integer_value(seq) != (json_int_t)lineno;

	json_decref(rec);
	if (!rec)
		return vigil_err_set(c->err, 1, "custody record %" PRIu64 ": not a JSON object", lineno);
	if (bad_seq)
		return vigil_err_set(c->err, 1, "custody record %" PRIu64 ": seq is not %" PRIu64
				     " (a record was removed or inserted)", lineno, lineno);
	if (vigil_custody_link_ok(line, len, prev, prev_len))
		return vigil_err_set(c->err, 1, "custody record %" PRIu64 ": prev does not match the "
				     "SHA-256 of record %" PRIu64 " (edited, removed or reordered)", lineno,
				     lineno - 1);
	c->n++;
	return 0;
}

int vigil_custody_verify(const char *state_dir, uint64_t *n_records, struct vigil_err *err)
{
	struct chain c = { 0, err };
	int rc = each_line(state_dir, chain_cb, &c, err);

	if (n_records)
		*n_records = c.n;
	return rc;
}

struct cases {
	FILE *out;
	int json;
};

static int cases_cb(void *arg, uint64_t lineno, const char *line, size_t len, const char *prev, size_t prev_len)
{
	struct cases *c = arg;
	json_t *rec = json_loadb(line, len, 0, NULL);
	const char *action = rec ? json_string_value(json_object_get(rec, "action")) : NULL;

	(void)lineno;
	(void)prev;
	(void)prev_len;
	/* one line per capture's outcome (archived: complete, or failed) and per
	 * export (the copy's path in the archive column) */
	int exported = action && !strcmp(action, "exported");

	if (action && (exported || !strcmp(action, "archived") || !strcmp(action, "failed"))) {
		const char *cs = json_string_value(json_object_get(rec, "case"));
		const char *t = json_string_value(json_object_get(rec, "time"));
		const char *a = json_string_value(json_object_get(rec, exported ? "destination" : "archive"));
		const char *d = json_string_value(json_object_get(rec, "sha256"));
		const char *e = json_string_value(json_object_get(rec, "error"));
		const char *rv = json_string_value(json_object_get(rec, "recovered"));

		if (c->json)
			fprintf(c->out, "%.*s\n", (int)len, line);
		else
			fprintf(c->out, "%s\t%s\t%s\t%s\t%s%s\n", cs ? cs : "-", t ? t : "-", action,
				a ? a : "-", d ? d : (e ? e : "-"),
				rv ? " (recovered by the sweep: interrupted after the rename)" : "");
	}
	json_decref(rec);
	return 0;
}

int vigil_custody_cases(const char *state_dir, FILE *out, int json, struct vigil_err *err)
{
	struct cases c = { out, json };
	struct evw_pendings p;
	int rc = each_line(state_dir, cases_cb, &c, err);

	/* then the captures with no outcome: running, or interrupted (never silent) */
	if (rc || (rc = evw_pendings_load(state_dir, &p, err)))
		return rc;
	for (size_t i = 0; i < p.n; i++) {
		const struct evw_pending *x = &p.v[i];
		const char *why = evw_pending_why(x), *st = evw_pending_live(x) ? "running" : "interrupted";

		if (json) {
			json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "action", st, "case", x->case_id, "time",
					      x->time, "archive", x->archive, "error", why, "acquired_seq",
					      (json_int_t)x->seq);
			char *t = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

			if (t)
				fprintf(out, "%s\n", t);
			free(t);
			json_decref(j);
		} else {
			fprintf(out, "%s\t%s\t%s\t%s\t%s\n", x->case_id[0] ? x->case_id : "-", x->time[0] ? x->time : "-",
				st, x->archive[0] ? x->archive : "-", why);
		}
	}
	evw_pendings_free(&p);
	return 0;
}

int vigil_custody_interrupted(const char *state_dir, uint64_t *n, struct vigil_err *err)
{
	struct evw_pendings p;
	int rc = evw_pendings_load(state_dir, &p, err);

	*n = 0;
	for (size_t i = 0; !rc && i < p.n; i++)
		*n += !evw_pending_live(&p.v[i]);
	evw_pendings_free(&p);
	return rc;
}

int custody_walk(const char *state_dir, custody_line_fn cb, void *arg, struct vigil_err *err)
{
	return each_line(state_dir, cb, arg, err);
}

struct segment {
	uint64_t from, to;
	char *buf;
	size_t len, cap;
	struct vigil_err *err;
};

static int segment_cb(void *arg, uint64_t lineno, const char *line, size_t len, const char *prev, size_t prev_len)
{
	struct segment *g = arg;

	(void)prev;
	(void)prev_len;
	if (lineno < g->from)
		return 0;
	if (lineno > g->to)
		return 2; /* done */
	if (g->len + len + 2 > g->cap) {
		size_t cap = (g->len + len + 2) * 2;
		char *b;

		if (cap > (64u << 20))
			return vigil_err_set(g->err, -E2BIG, "custody segment %llu..%llu: too long",
					     (unsigned long long)g->from, (unsigned long long)g->to);
		b = realloc(g->buf, cap);
		if (!b)
			return vigil_err_set(g->err, -ENOMEM, "out of memory");
		g->buf = b;
		g->cap = cap;
	}
	memcpy(g->buf + g->len, line, len);
	g->len += len;
	g->buf[g->len++] = '\n';
	g->buf[g->len] = '\0';
	return 0;
}

int vigil_custody_segment(const char *state_dir, uint64_t from, uint64_t to, char **text, size_t *len,
			  struct vigil_err *err)
{
	struct segment g = { from, to, NULL, 0, 0, err };
	int rc = each_line(state_dir, segment_cb, &g, err);

	if (rc == 2)
		rc = 0;
	if (!rc && (!g.buf || from > to))
		rc = vigil_err_set(err, -ENOENT, "custody records %llu..%llu: not in the ledger",
				   (unsigned long long)from, (unsigned long long)to);
	if (rc) {
		free(g.buf);
		return rc;
	}
	*text = g.buf;
	*len = g.len;
	return 0;
}
