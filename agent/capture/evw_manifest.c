/* evw_manifest.c - MANIFEST.json and timeline.body, spooled entry by entry.
 *
 * Entries go to two unlinked spool files in the output dir as they are made
 * (one JSON object per line, each after the first preceded by ","; one
 * bodyfile line each), so the writer's memory does not grow with the number
 * of files.  At the end both are streamed into the archive: timeline.body as
 * it is, MANIFEST.json as header fields + "members": [spool] + "}".
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>

#include "evw_priv.h"
#include "vigil/clock.h"
#include "vigil/record.h"

void evw_time(int64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	char tmp[32];

	gmtime_r(&s, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09lldZ", tmp, (long long)(ns % 1000000000));
}

static json_t *ts_json(const struct timespec *t)
{
	char buf[48];

	snprintf(buf, sizeof(buf), "%lld.%09ld", (long long)t->tv_sec, t->tv_nsec);
	return json_string(buf);
}

json_t *evw_stat_json(const struct stat *st)
{
	char mode[8];

	snprintf(mode, sizeof(mode), "%06o", (unsigned)st->st_mode);
	return json_pack("{s:I,s:I,s:s,s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "dev", (json_int_t)st->st_dev, "ino",
			 (json_int_t)st->st_ino, "mode", mode, "nlink", (json_int_t)st->st_nlink, "uid",
			 (json_int_t)st->st_uid, "gid", (json_int_t)st->st_gid, "size", (json_int_t)st->st_size,
			 "atime", ts_json(&st->st_atim), "mtime", ts_json(&st->st_mtim), "ctime",
			 ts_json(&st->st_ctim));
}

static json_t *esc_json(const char *s, size_t len)
{
	char *e = vigil_path_escape(s, len);
	json_t *j = e ? json_string(e) : NULL;

	free(e);
	return j;
}

int evw_entry(struct vigil_evw *w, const char *type, const char *member, const char *source, size_t source_len,
	      const struct stat *before, const struct stat *after, const char *sha256_hex, uint64_t size,
	      json_t *notes, json_t *extra, int deleted)
{
	json_t *e = json_object();
	char *text = NULL, line[512], *big = NULL;
	size_t n;
	int rc = 0;

	if (!e)
		goto nomem;
	if (extra)
		json_object_update(e, extra);
	json_object_set_new(e, "type", json_string(type));
	json_object_set_new(e, "member", member ? esc_json(member, strlen(member)) : json_null());
	if (source)
		json_object_set_new(e, "source", esc_json(source, source_len));
	if (sha256_hex) {
		json_object_set_new(e, "size", json_integer((json_int_t)size));
		json_object_set_new(e, "sha256", json_string(sha256_hex));
	}
	if (before)
		json_object_set_new(e, "stat_before", evw_stat_json(before));
	if (after)
		json_object_set_new(e, "stat_after", evw_stat_json(after));
	if (notes && json_array_size(notes)) {
		json_object_set(e, "notes", notes);
		w->problems++;
	}
	text = json_dumps(e, JSON_COMPACT);
	if (!text)
		goto nomem;
	if (fprintf(w->man, "%s%s\n", w->entries ? "," : "", text) < 0)
		rc = evw_fail(w, -errno, "spool: %s", strerror(errno));
	if (!rc && before) {
		const char *name = source ? source : member;
		size_t nlen = source ? source_len : strlen(member);

		n = vigil_bodyfile_line(line, sizeof(line), name, nlen, before, deleted);
		if (n >= sizeof(line)) {
			big = malloc(n + 1);
			if (!big)
				goto nomem;
			vigil_bodyfile_line(big, n + 1, name, nlen, before, deleted);
		}
		if (fputs(big ? big : line, w->body) < 0)
			rc = evw_fail(w, -errno, "spool: %s", strerror(errno));
	}
	w->entries++;
	free(text);
	free(big);
	json_decref(notes);
	json_decref(extra);
	json_decref(e);
	return rc;
nomem:
	free(text);
	json_decref(notes);
	json_decref(extra);
	json_decref(e);
	return evw_fail(w, -ENOMEM, "out of memory");
}

/* Streams the spool f (from its start) into the current member, hashing it. */
static int copy_spool(struct vigil_evw *w, FILE *f, struct vigil_digest *d)
{
	size_t n;

	if (fflush(f) || fseeko(f, 0, SEEK_SET))
		return evw_fail(w, -errno, "spool: %s", strerror(errno));
	while ((n = fread(w->buf, 1, EVW_BUF, f)) > 0) {
		vigil_digest_write(d, w->buf, n);
		if (evw_data(w, w->buf, n))
			return w->failed;
	}
	if (ferror(f))
		return evw_fail(w, -EIO, "spool: read error");
	return 0;
}

static int timeline(struct vigil_evw *w)
{
	struct vigil_digest *d = vigil_digest_new(VIGIL_ALGOS_DEFAULT);
	unsigned char sha[32];
	char hex[65];
	off_t size;
	int rc;

	if (!d)
		return evw_fail(w, -ENOMEM, "out of memory");
	fflush(w->body);
	size = ftello(w->body);
	rc = evw_header(w, "timeline.body", NULL, (uint64_t)size, NULL);
	if (!rc)
		rc = copy_spool(w, w->body, d);
	if (!rc && archive_write_finish_entry(w->a) < ARCHIVE_WARN)
		rc = evw_fail(w, -EIO, "timeline.body: %s", archive_error_string(w->a));
	vigil_digest_read(d, VIGIL_ALGO_SHA256, sha);
	vigil_digest_free(d);
	vigil_hex(sha, 32, hex);
	if (!rc)
		rc = evw_entry(w, "file", "timeline.body", NULL, 0, NULL, NULL, hex, (uint64_t)size, NULL, NULL, 0);
	return rc;
}

static char *manifest_head(struct vigil_evw *w)
{
	char t0[48], t1[48], *text;
	json_t *m;
	size_t n;

	evw_time(w->start_ns, t0, sizeof(t0));
	evw_time(vigil_clock_real_ns(), t1, sizeof(t1));
	m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:O,s:O,s:I,s:I}", "format",
		      "vigil-evidence/1", "case", w->case_id, "examiner", w->examiner, "host", w->host, "kernel",
		      w->kernel, "boot_id", w->boot_id, "vigil_version", PACKAGE_VERSION, "started", t0,
		      "finished", t1, "root", w->root ? w->root : "/", "live",
		      !w->root || !strcmp(w->root, "/"), "targets", w->targets, "notes", w->notes, "entries",
		      (json_int_t)w->entries, "problems", (json_int_t)w->problems);
	if (!m)
		return NULL;
	if (w->note)
		json_object_set_new(m, "note", json_string(w->note));
	text = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	if (!text)
		return NULL;
	n = strlen(text);
	if (n < 2 || text[n - 1] != '}') {
		free(text);
		return NULL;
	}
	text[n - 1] = '\0'; /* the members array closes it */
	return text;
}

int evw_write_manifest(struct vigil_evw *w, char seal[65])
{
	static const char mid[] = ",\"members\":[\n", tail[] = "]}\n";
	struct vigil_digest *d;
	unsigned char sha[32];
	char *head;
	off_t spool;
	int rc;

	if ((rc = timeline(w)))
		return rc;
	head = manifest_head(w);
	d = vigil_digest_new(VIGIL_ALGOS_DEFAULT);
	if (!head || !d) {
		free(head);
		vigil_digest_free(d);
		return evw_fail(w, -ENOMEM, "out of memory");
	}
	fflush(w->man);
	spool = ftello(w->man);
	rc = evw_header(w, "MANIFEST.json", NULL, strlen(head) + strlen(mid) + (uint64_t)spool + strlen(tail),
			NULL);
	if (!rc) {
		vigil_digest_write(d, head, strlen(head));
		vigil_digest_write(d, mid, strlen(mid));
		rc = evw_data(w, head, strlen(head));
	}
	if (!rc)
		rc = evw_data(w, mid, strlen(mid));
	if (!rc)
		rc = copy_spool(w, w->man, d);
	if (!rc) {
		vigil_digest_write(d, tail, strlen(tail));
		rc = evw_data(w, tail, strlen(tail));
	}
	if (!rc && archive_write_finish_entry(w->a) < ARCHIVE_WARN)
		rc = evw_fail(w, -EIO, "MANIFEST.json: %s", archive_error_string(w->a));
	vigil_digest_read(d, VIGIL_ALGO_SHA256, sha);
	vigil_hex(sha, 32, seal);
	vigil_digest_free(d);
	free(head);
	return rc;
}
