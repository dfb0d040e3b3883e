/* verify.c - `vigil verify ARCHIVE`: an untrusted-input parser.
 *
 * One pass over the archive (libarchive, pax/ustar, zstd/gzip/none only):
 * every regular member is re-hashed; MANIFEST.json and custody.jsonl are held
 * in memory up to VIGIL_EVVERIFY_MAX_SMALL each; the other members are kept as
 * (name, type, size, SHA-256) up to VIGIL_EVVERIFY_MAX_MEMBERS, so memory is
 * bounded whatever the archive claims.  Then: every member against the
 * manifest and back, the manifest against the seal in custody.jsonl, the
 * custody lines' chain, the file against NAME.sha256, and the signature.
 * The first fault is named (the member at fault, in archive order).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "vigil/capture.h"
#include "vigil/crypto.h"
#include "vigil/lime.h"
#include "vigil/record.h"
#include "vigil/sign.h"

struct member {
	char *name;     /* escaped as the manifest writes it */
	char *target;   /* symlinks */
	mode_t type;
	uint64_t size;
	unsigned char sha[32];
	size_t order;
	struct vigil_lime_check *lime; /* memory/ *.lime members: their format, as read */
};

struct vstate {
	struct vigil_evverify *v;
	int fd;
	struct vigil_digest *file_sha; /* of the archive's bytes, read as they come */
	unsigned char *rbuf;
	struct member *m;
	size_t n, cap;
	char *manifest, *custody;
	size_t manifest_len, custody_len;
	int custody_seen;
};

static int fault(struct vigil_evverify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fault(struct vigil_evverify *v, const char *fmt, ...)
{
	va_list ap;

	if (!v->fault[0]) {
		va_start(ap, fmt);
		vsnprintf(v->fault, sizeof(v->fault), fmt, ap);
		va_end(ap);
	}
	return 1;
}

static la_ssize_t rd(struct archive *a, void *arg, const void **buf)
{
	struct vstate *s = arg;
	ssize_t n;

	do
		n = read(s->fd, s->rbuf, 65536);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read: %s", strerror(errno));
		return -1;
	}
	vigil_digest_write(s->file_sha, s->rbuf, (size_t)n);
	*buf = s->rbuf;
	return n;
}

/* Reads the current member whole (at most VIGIL_EVVERIFY_MAX_SMALL). */
static int slurp(struct archive *a, const char *name, char **out, size_t *len, struct vigil_evverify *v)
{
	char buf[65536], *p = NULL;
	size_t n = 0;
	la_ssize_t r;

	if (*out)
		return fault(v, "member %s: appears twice", name);
	while ((r = archive_read_data(a, buf, sizeof(buf))) > 0) {
		char *q;

		if (n + (size_t)r > VIGIL_EVVERIFY_MAX_SMALL) {
			free(p);
			return fault(v, "member %s: larger than %u bytes", name, VIGIL_EVVERIFY_MAX_SMALL);
		}
		q = realloc(p, n + (size_t)r + 1);
		if (!q) {
			free(p);
			return -ENOMEM;
		}
		p = q;
		memcpy(p + n, buf, (size_t)r);
		n += (size_t)r;
	}
	if (r < 0) {
		free(p);
		return fault(v, "member %s: archive corrupt: %s", name, archive_error_string(a));
	}
	if (!p && !(p = calloc(1, 1)))
		return -ENOMEM;
	p[n] = '\0';
	*out = p;
	*len = n;
	return 0;
}

/* memory/NAME.lime: a memory dump, whose LiME format is checked too. */
static int is_memory(const char *name)
{
	size_t n = strlen(name);

	return !strncmp(name, "memory/", 7) && n > 12 && !strcmp(name + n - 5, ".lime");
}

/* "0x1000" -> 0x1000; -1 when not a hex address. */
static int hex_addr(json_t *j, uint64_t *out)
{
	const char *s = json_string_value(j);
	char *end;

	if (!s || strncmp(s, "0x", 2) || !s[2])
		return -1;
	errno = 0;
	*out = strtoull(s + 2, &end, 16);
	return errno || *end ? -1 : 0;
}

/* A memory member's format: valid LiME, and its ranges the ones the
 * manifest's memdump record lists (what the acquisition wrote). */
static int check_memory(struct vigil_evverify *v, const struct member *m, json_t *ent)
{
	json_t *rec = json_object_get(ent, "memdump"), *list = json_object_get(rec, "ranges"), *r;
	const struct vigil_lime_range *got;
	size_t i, n;

	if (!m->lime && !rec)
		return 0;
	if (!m->lime)
		return fault(v, "member %s: a memdump record for a member that is not memory/*.lime", m->name);
	if (!json_is_array(list))
		return fault(v, "member %s: a memory dump without a memdump record of its ranges in the manifest",
			     m->name);
	if (vigil_lime_check_status(m->lime) != VIGIL_LIME_OK)
		return fault(v, "member %s: not a valid LiME dump (%s): %s", m->name,
			     vigil_lime_status_name(vigil_lime_check_status(m->lime)),
			     vigil_lime_check_message(m->lime));
	got = vigil_lime_check_ranges(m->lime);
	n = vigil_lime_check_n_ranges(m->lime);
	if (n != json_array_size(list))
		return fault(v, "member %s: %zu LiME ranges, the manifest's memdump record lists %zu", m->name, n,
			     json_array_size(list));
	json_array_foreach(list, i, r) {
		uint64_t a, b;

		if (hex_addr(json_object_get(r, "start"), &a) || hex_addr(json_object_get(r, "end"), &b))
			return fault(v, "member %s: the manifest's memdump range %zu is not an address pair", m->name, i);
		if (a != got[i].start || b != got[i].end)
			return fault(v, "member %s: LiME range %zu is 0x%" PRIx64 "-0x%" PRIx64 ", the manifest's memdump "
				     "record says 0x%" PRIx64 "-0x%" PRIx64, m->name, i, got[i].start, got[i].end, a, b);
	}
	return 0;
}

static int hash_member(struct archive *a, struct vstate *s, struct archive_entry *e)
{
	struct member *m;
	const char *raw = archive_entry_pathname(e);
	const void *blk;
	size_t len;
	la_int64_t off;
	struct vigil_digest *d;
	int r;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct member *nm;

		if (s->n >= VIGIL_EVVERIFY_MAX_MEMBERS)
			return fault(s->v, "member %s: more than %u members", raw, VIGIL_EVVERIFY_MAX_MEMBERS);
		nm = realloc(s->m, cap * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
		s->m = nm;
		s->cap = cap;
	}
	m = &s->m[s->n];
	memset(m, 0, sizeof(*m));
	m->type = archive_entry_filetype(e);
	len = strlen(raw);
	if (m->type == AE_IFDIR && len > 1 && raw[len - 1] == '/') /* tar writes "dir/" */
		len--;
	m->name = vigil_path_escape(raw, len);
	if (!m->name)
		return -ENOMEM;
	m->order = s->n++;
	if (m->type == AE_IFLNK) {
		const char *t = archive_entry_symlink(e);

		m->target = strdup(t ? t : "");
		return m->target ? 0 : -ENOMEM;
	}
	if (m->type != AE_IFREG)
		return 0;
	d = vigil_digest_new(VIGIL_ALGOS_DEFAULT);
	if (!d)
		return -ENOMEM;
	if (is_memory(m->name) && !(m->lime = vigil_lime_check_new())) {
		vigil_digest_free(d);
		return -ENOMEM;
	}
	/* sparse holes come back as gaps in off: they read as zeros */
	while ((r = archive_read_data_block(a, &blk, &len, &off)) == ARCHIVE_OK) {
		static const unsigned char zero[4096];

		while ((uint64_t)off > m->size) {
			size_t k = (uint64_t)off - m->size > sizeof(zero) ? sizeof(zero) : (size_t)((uint64_t)off - m->size);

			vigil_digest_write(d, zero, k);
			if (m->lime)
				vigil_lime_check_feed(m->lime, zero, k);
			m->size += k;
		}
		vigil_digest_write(d, blk, len);
		if (m->lime)
			vigil_lime_check_feed(m->lime, blk, len);
		m->size += len;
	}
	if (m->lime) {
		struct vigil_err le;

		vigil_lime_check_finish(m->lime, &le); /* the verdict stays in the check */
	}
	vigil_digest_read(d, VIGIL_ALGO_SHA256, m->sha);
	vigil_digest_free(d);
	if (r != ARCHIVE_EOF)
		return fault(s->v, "member %s: archive corrupt: %s", m->name, archive_error_string(a));
	s->v->members++;
	return 0;
}

static int read_archive(struct vstate *s)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char last[512] = "";
	int r, rc = 0;

	if (!a)
		return -ENOMEM;
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_none(a);
	archive_read_support_format_tar(a);
	if (archive_read_open(a, s, NULL, rd, NULL) != ARCHIVE_OK) {
		rc = fault(s->v, "archive: not a tar archive vigil writes: %s", archive_error_string(a));
		goto out;
	}
	while (!rc && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);

		if (!name) {
			rc = fault(s->v, "member after '%s': no name", last[0] ? last : "(start)");
			break;
		}
		if (s->custody_seen) {
			rc = fault(s->v, "member %s: after custody.jsonl, which must be last", name);
			break;
		}
		if (!strcmp(name, "MANIFEST.json"))
			rc = slurp(a, name, &s->manifest, &s->manifest_len, s->v);
		else if (!strcmp(name, "custody.jsonl")) {
			rc = slurp(a, name, &s->custody, &s->custody_len, s->v);
			s->custody_seen = 1;
		} else
			rc = hash_member(a, s, e);
		snprintf(last, sizeof(last), "%s", name);
	}
	if (!rc && r != ARCHIVE_EOF)
		rc = fault(s->v, "member after '%s': archive corrupt: %s", last[0] ? last : "(start)",
			   archive_error_string(a));
out:
	archive_read_free(a);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const struct member *const *)a)->name, (*(const struct member *const *)b)->name);
}

static struct member *find(struct member **sorted, size_t n, const char *name)
{
	struct member key = { .name = (char *)name }, *kp = &key, **hit;

	hit = bsearch(&kp, sorted, n, sizeof(*sorted), by_name);
	return hit ? *hit : NULL;
}

/* One archive member against its manifest entry (NULL: none). */
static int check_member(struct vigil_evverify *v, const struct member *m, json_t *ent)
{
	const char *type = json_string_value(json_object_get(ent, "type"));
	unsigned char sha[32];

	if (!ent)
		return fault(v, "member %s: not in the manifest (added)", m->name);
	if (!type)
		return fault(v, "member %s: manifest entry without a type", m->name);
	if (!strcmp(type, "file")) {
		const char *hex = json_string_value(json_object_get(ent, "sha256"));
		json_t *size = json_object_get(ent, "size");

		if (m->type != AE_IFREG)
			return fault(v, "member %s: not a regular file as the manifest says (replaced)", m->name);
		if (!hex || vigil_unhex(hex, sha, 32) || !json_is_integer(size))
			return fault(v, "member %s: manifest entry without size or SHA-256", m->name);
		if ((uint64_t)json_integer_value(size) != m->size)
			return fault(v, "member %s: size %" PRIu64 ", the manifest says %" PRId64, m->name, m->size,
				     (int64_t)json_integer_value(size));
		if (memcmp(sha, m->sha, 32))
			return fault(v, "member %s: SHA-256 differs from the manifest (content changed)", m->name);
		return check_memory(v, m, ent);
	}
	if (!strcmp(type, "dir"))
		return m->type == AE_IFDIR ? 0 : fault(v, "member %s: not a directory as the manifest says", m->name);
	if (!strcmp(type, "symlink")) {
		const char *t = json_string_value(json_object_get(ent, "target"));

		if (m->type != AE_IFLNK || !t || strcmp(t, m->target))
			return fault(v, "member %s: symlink target differs from the manifest", m->name);
		return 0;
	}
	return fault(v, "member %s: the manifest lists it as '%s', which has no content", m->name, type);
}

static int check_manifest(struct vstate *s, json_t *man)
{
	json_t *list = json_object_get(man, "members"), *ent;
	struct member **sorted = NULL, key, *kp = &key;
	json_t **ents = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (!json_is_array(list))
		return fault(s->v, "member MANIFEST.json: no members list");
	sorted = malloc((s->n + 1) * sizeof(*sorted));
	ents = calloc(s->n + 1, sizeof(*ents));
	if (!sorted || !ents) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < s->n; i++)
		sorted[i] = &s->m[i];
	qsort(sorted, s->n, sizeof(*sorted), by_name);
	for (i = 1; i < s->n; i++)
		if (!strcmp(sorted[i]->name, sorted[i - 1]->name)) {
			rc = fault(s->v, "member %s: appears twice", sorted[i]->name);
			goto out;
		}
	/* manifest -> archive: each listed member exists (ents[order] = its entry) */
	json_array_foreach(list, i, ent) {
		const char *name = json_string_value(json_object_get(ent, "member"));
		struct member *m;

		if (!name)
			continue; /* metadata only: nothing in the archive */
		key.name = (char *)name;
		m = find(sorted, s->n, name);
		if (!m) {
			rc = fault(s->v, "member %s: in the manifest, missing from the archive (removed)", name);
			goto out;
		}
		if (ents[m->order]) {
			rc = fault(s->v, "member %s: listed twice in the manifest", name);
			goto out;
		}
		ents[m->order] = ent;
		n++;
	}
	(void)kp;
	/* archive -> manifest, in archive order: the first member at fault */
	for (i = 0; i < s->n && !rc; i++)
		rc = check_member(s->v, &s->m[i], ents[i]);
out:
	free(sorted);
	free(ents);
	return rc;
}

static int check_custody(struct vstate *s, const char *case_id)
{
	char *p = s->custody, *end = s->custody + s->custody_len, *prev = NULL, *last = NULL;
	size_t prev_len = 0, last_len = 0, lineno = 0;
	unsigned char d[32];
	char hex[65];
	json_t *rec;
	const char *seal, *action, *cs;
	int rc;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		lineno++;
		if (prev && vigil_custody_link_ok(p, len, prev, prev_len))
			return fault(s->v, "member custody.jsonl: record %zu does not chain to record %zu (edited)",
				     lineno, lineno - 1);
		prev = last = p;
		prev_len = last_len = len;
		p += len + (nl ? 1 : 0);
	}
	if (!last)
		return fault(s->v, "member custody.jsonl: empty");
	rec = json_loadb(last, last_len, JSON_REJECT_DUPLICATES, NULL);
	seal = json_string_value(json_object_get(rec, "seal"));
	action = json_string_value(json_object_get(rec, "action"));
	cs = json_string_value(json_object_get(rec, "case"));
	vigil_sha256(s->manifest, s->manifest_len, d);
	vigil_hex(d, 32, hex);
	if (!rec || !action || strcmp(action, "sealed") || !seal)
		rc = fault(s->v, "member custody.jsonl: last record is not a seal");
	else if (strcmp(seal, hex))
		rc = fault(s->v, "member MANIFEST.json: its SHA-256 does not match the seal in custody.jsonl "
			   "(manifest or custody edited)");
	else if (!cs || !case_id || strcmp(cs, case_id))
		rc = fault(s->v, "member custody.jsonl: case differs from the manifest's");
	else
		rc = 0;
	if (!rc)
		memcpy(s->v->seal, hex, sizeof(hex));
	json_decref(rec);
	return rc;
}

int vigil_evidence_check_fd(int fd, struct vigil_evverify *v, struct vigil_err *err)
{
	struct vstate s = { .v = v, .fd = fd };
	json_t *man = NULL;
	json_error_t je;
	int rc;

	memset(v, 0, sizeof(*v));
	s.file_sha = vigil_digest_new(VIGIL_ALGOS_DEFAULT);
	s.rbuf = malloc(65536);
	if (!s.file_sha || !s.rbuf) {
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = read_archive(&s);
	if (rc < 0) {
		vigil_err_set(err, rc, "out of memory");
		goto out;
	}
	if (rc)
		goto out;
	if (!s.manifest || !s.custody) {
		rc = fault(v, "member %s: missing", !s.manifest ? "MANIFEST.json" : "custody.jsonl");
		goto out;
	}
	man = json_loadb(s.manifest, s.manifest_len, JSON_REJECT_DUPLICATES, &je);
	if (!man || !json_is_object(man)) {
		rc = fault(v, "member MANIFEST.json: not a JSON object (line %d: %s)", je.line, je.text);
		goto out;
	}
	rc = check_manifest(&s, man);
	if (!rc)
		rc = check_custody(&s, json_string_value(json_object_get(man, "case")));
	if (rc < 0)
		vigil_err_set(err, rc, "out of memory");
out:
	json_decref(man);
	for (size_t i = 0; i < s.n; i++) {
		free(s.m[i].name);
		free(s.m[i].target);
		vigil_lime_check_free(s.m[i].lime);
	}
	free(s.m);
	free(s.manifest);
	free(s.custody);
	if (s.file_sha && s.rbuf) {
		/* the rest libarchive did not need: the digest covers the whole file */
		unsigned char d[32];
		ssize_t n;

		while ((n = read(fd, s.rbuf, 65536)) > 0)
			vigil_digest_write(s.file_sha, s.rbuf, (size_t)n);
		vigil_digest_read(s.file_sha, VIGIL_ALGO_SHA256, d);
		vigil_hex(d, 32, v->sha256);
	}
	free(s.rbuf);
	vigil_digest_free(s.file_sha);
	return rc;
}

/* NAME.sha256 (when present) names the file's SHA-256 in sha256sum format. */
static int check_sum(const char *file, struct vigil_evverify *v)
{
	char path[4200], line[256], hex[65];
	unsigned char d[32], buf[65536];
	struct vigil_digest *dg;
	FILE *f;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s.sha256", file);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f) || strlen(line) < 66 || line[64] != ' ') {
		fclose(f);
		return fault(v, "%s: not in sha256sum format", path);
	}
	fclose(f);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	dg = vigil_digest_new(VIGIL_ALGOS_DEFAULT);
	if (fd < 0 || !dg) {
		if (fd >= 0)
			close(fd);
		vigil_digest_free(dg);
		return -EIO;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		vigil_digest_write(dg, buf, (size_t)n);
	close(fd);
	vigil_digest_read(dg, VIGIL_ALGO_SHA256, d);
	vigil_digest_free(dg);
	vigil_hex(d, 32, hex);
	return strncmp(line, hex, 64) ? fault(v, "%s: the archive's SHA-256 differs", path) : 0;
}

int vigil_evidence_verify(const char *file, const char *pubkey, struct vigil_evverify *v, struct vigil_err *err)
{
	struct vigil_pubkey *pk = NULL;
	struct vigil_err serr = { "" };
	unsigned char id[8];
	int fd, rc;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vigil_err_set(err, -errno, "cannot open '%s': %s", file, strerror(errno));
	rc = vigil_evidence_check_fd(fd, v, err);
	close(fd);
	if (rc)
		return rc;
	if ((rc = check_sum(file, v)))
		return rc < 0 ? vigil_err_set(err, rc, "cannot read '%s'", file) : rc;
	if ((rc = vigil_pubkey_load_file(pubkey, &pk, err)))
		return rc;
	rc = vigil_minisign_verify(pk, file, NULL, &serr);
	if (rc) {
		vigil_pubkey_free(pk);
		return fault(v, "signature: %s", serr.msg);
	}
	vigil_pubkey_id(pk, id);
	vigil_sign_key_id_str(id, v->key_id);
	v->signature_ok = 1;
	vigil_pubkey_free(pk);
	return 0;
}
