/* capture_mem.c - `vigil capture --memory`: the memory dump streamed into
 * the archive member memory/mem.lime, hashed as it is written (nothing lands
 * on the host's disk outside the evidence dir), with the acquisition's record
 * (method, why the other did not run, kernel, boot id, ranges, zero-page
 * gaps, kcore holes, taint before/after, module loaded/unloaded) in the
 * member's manifest entry under "memdump", and a `memory` custody record
 * naming the method.
 *
 * The member's size goes into its tar header before the first byte, so it is
 * planned from iomem's System RAM (cut by --max-bytes, kcore only): one
 * 32-byte header and the bytes of each range, exactly what both methods
 * write.  A stream that ends short is zero-padded and says so in the
 * manifest; one that would run past the plan fails the dump.
 *
 * LiME's file mode (`--lime-mode file`, for when LiME's TCP stream would be
 * too slow): LiME writes the dump by name into a spool beside the temporary
 * archive in the evidence dir (nowhere else on the host), vigil reads it back
 * into the same member (memdump's code: collectors/memory/), and the spool is
 * removed whatever happened.
 *
 * Then memory/procs.json: `vigil procs --verify`'s report (code in memory
 * against its files), taken after the dump since reading other processes'
 * code faults pages in. */#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <jansson.h>

#include "vigil/capture.h"
#include "vigil/err.h"
#include "vigil/kcore.h"
#include "vigil/memdump.h"
#include "vigil/procs.h"
#include "capture_priv.h"

#define MEM_MEMBER "memory/mem.lime"

struct memsink {
	struct vigil_evw *w;
	struct vigil_evw_stream *s;
	uint64_t size;
	char plan_error[256];
	int fatal; /* the archive itself failed: the capture cannot go on */
};

static int sink(void *ctx, const void *buf, size_t len, struct vigil_err *err)
{
	struct memsink *m = ctx;
	int rc;

	if (!m->s) {
		if (!m->size)
			return vigil_err_set(err, -EINVAL, "the member's size cannot be planned: %s", m->plan_error);
		if ((rc = vigil_evw_stream_begin(m->w, MEM_MEMBER, "physical memory", m->size, &m->s))) {
			m->fatal = rc;
			return vigil_err_set(err, rc, "cannot start member %s", MEM_MEMBER);
		}
	}
	rc = vigil_evw_stream_write(m->s, buf, len, err);
	if (rc && rc != -EFBIG)
		m->fatal = rc;
	return rc;
}

/* Bytes of the LiME stream both methods write for this host's System RAM. */
static void plan(const struct vigil_memdump_opts *o, struct memsink *m)
{
	struct vigil_lime_range *r = NULL;
	struct vigil_err e = { "" };
	size_t n = 0;

	if (vigil_iomem_read(o->iomem_path ? o->iomem_path : "/proc/iomem", &r, &n, &e)) {
		snprintf(m->plan_error, sizeof(m->plan_error), "%s", e.msg);
		return;
	}
	if (o->method == VIGIL_MEMDUMP_KCORE)
		vigil_iomem_limit(r, &n, o->max_bytes);
	for (size_t i = 0; i < n; i++)
		m->size += VIGIL_LIME_HDR_SIZE + (r[i].end - r[i].start + 1);
	if (!n)
		snprintf(m->plan_error, sizeof(m->plan_error), "no System RAM range in iomem");
	free(r);
}

/* LiME's spool, `<tmp>.mem.lime` beside the temporary archive: created here
 * (O_EXCL, O_NOFOLLOW: LiME opens it as root, following links, so a name
 * planted there is refused, never written through), on a fs that holds the
 * planned dump and min_free beside it (LiME writes the whole of memory).  A
 * capture killed meanwhile leaves it to the next sweep, with its temporary
 * archive (evw_sweep.c). */
static int spool_open(struct cctx *x, const struct memsink *m, char *path, size_t len, struct vigil_err *err)
{
	struct statvfs sv;
	int fd, rc;

	if (!m->size)
		return vigil_err_set(err, -EINVAL, "LiME's file mode: the dump's size cannot be planned: %s",
				     m->plan_error);
	if ((rc = vigil_evw_spool_path(x->w, VIGIL_EVW_MEM_SPOOL, path, len)))
		return vigil_err_set(err, rc, "LiME's file mode: the spool's path: %s", strerror(-rc));
	if (!statvfs(x->r->ev.out_dir, &sv) &&
	    (uint64_t)sv.f_bavail * sv.f_frsize < m->size + x->r->ev.min_free)
		return vigil_err_set(err, -ENOSPC, "LiME's file mode: %llu bytes free in '%s', the dump needs %llu "
				     "and %llu must stay free", (unsigned long long)sv.f_bavail * sv.f_frsize,
				     x->r->ev.out_dir, (unsigned long long)m->size,
				     (unsigned long long)x->r->ev.min_free);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		return vigil_err_set(err, rc, "LiME's file mode: create '%s': %s", path, strerror(-rc));
	}
	close(fd);
	return 0;
}

/* The acquisition (memdump's), in LiME's file mode through the spool, which
 * is removed afterwards whatever happened (failure, SIGTERM: the cancelled
 * archive refuses the read-back and we come back here). */
static int acquire(struct cctx *x, struct memsink *m, struct vigil_memdump_result *res, struct vigil_err *err)
{
	struct vigil_memdump_opts o = *x->r->memory;
	char spool[4300], digest[4400];
	int rc;

	if (!o.lime_file || o.method == VIGIL_MEMDUMP_KCORE) {
		o.lime_file = NULL;
		return vigil_memdump_run(&o, sink, m, res, err);
	}
	if ((rc = spool_open(x, m, spool, sizeof(spool), err))) {
		memset(res, 0, sizeof(*res));
		snprintf(res->lime.mode, sizeof(res->lime.mode), "file");
		snprintf(res->why_not_lime, sizeof(res->why_not_lime), "%s", err->msg);
		return rc;
	}
	o.lime_file = spool;
	o.lime_file_to_sink = 1;
	rc = vigil_memdump_run(&o, sink, m, res, err);
	snprintf(digest, sizeof(digest), "%s.sha256", spool);
	if (unlink(spool))
		vigil_log_warn("memory: LiME's spool '%s' not removed: %s", spool, strerror(errno));
	unlink(digest); /* removed once read; still there when the load failed or hung */
	return rc;
}

static int custody(struct vigil_evw *w, const struct vigil_memdump_result *res, const char *member, int rc,
		   const char *error)
{
	struct vigil_err e = { "" };
	json_t *f = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "action", "memory", "member", member, "method",
			      res->method ? vigil_memdump_method_name(res->method) : "none", "why_not_lime",
			      res->method == VIGIL_MEMDUMP_LIME ? "" : res->why_not_lime, "why_not_kcore",
			      res->method == VIGIL_MEMDUMP_KCORE ? "" : res->why_not_kcore, "valid", !rc && res->valid);

	if (!f)
		return -ENOMEM;
	if (res->method)
		json_object_set_new(f, "lime_sha256", json_string(res->sha256));
	if (res->method == VIGIL_MEMDUMP_LIME || !strcmp(res->lime.mode, "file"))
		json_object_set_new(f, "lime_mode", json_string(res->lime.mode));
	if (rc)
		json_object_set_new(f, "error", json_string(error));
	rc = vigil_evw_custody(w, f, &e);
	json_decref(f);
	if (rc)
		vigil_log_warn("memory: custody record not written: %s", e.msg);
	return rc;
}

static int capture_procs(struct cctx *x)
{
	struct vigil_procs_opts o = { .verify = 1, .data_root = x->r->data_root, .state_dir = x->r->ev.state_dir };
	struct vigil_err e = { "" };
	json_t *rep = NULL;
	char *text;

	if (vigil_procs_run(&o, &rep, &e)) {
		vigil_log_warn("capture: process integrity not recorded: %s", e.msg);
		return vigil_evw_add_missing(x->w, "process integrity (vigil procs --verify)", e.msg);
	}
	text = json_dumps(rep, JSON_INDENT(1));
	json_decref(rep);
	return capture_add_json(x, "memory/procs.json", "process integrity (vigil procs --verify)", text);
}

int capture_memory(struct cctx *x)
{
	struct memsink m = { .w = x->w };
	struct vigil_memdump_result res;
	struct vigil_err err = { "" };
	json_t *rec, *extra;
	const char *member;
	char note[1100];
	int rc, wrc;

	if (!x->live)
		return vigil_evw_note(x->w, "memory not captured: not the live host (--root %s)", x->r->ev.root);
	plan(x->r->memory, &m);
	rc = acquire(x, &m, &res, &err);
	rec = vigil_memdump_result_json(&res);
	if (rec && rc)
		json_object_set_new(rec, "error", json_string(err.msg));
	snprintf(note, sizeof(note), "memory acquisition failed: %s", err.msg);
	if (rc)
		vigil_log_warn("capture: %s", note);
	if (m.fatal) {
		/* the archive cannot go on: finish says why */
		json_decref(rec);
		vigil_memdump_result_free(&res);
		return m.fatal;
	}
	extra = json_pack("{s:o?}", "memdump", rec);
	member = m.s ? MEM_MEMBER : "memory/memdump.json";
	if (m.s) {
		wrc = vigil_evw_stream_end(m.s, extra, rc ? note : NULL);
	} else {
		/* not a byte acquired: the record still says what was tried and why */
		char *text = rec ? json_dumps(rec, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;

		wrc = capture_add_json(x, "memory/memdump.json", "physical memory", text);
		if (!wrc)
			wrc = vigil_evw_add_missing(x->w, "physical memory", note);
	}
	json_decref(extra);
	if (!wrc)
		custody(x->w, &res, member, rc, err.msg);
	vigil_memdump_result_free(&res);
	return wrc ? wrc : capture_procs(x);
}
