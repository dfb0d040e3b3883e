/* capture.h - evidence archives: the writer, the custody ledger, the verifier.
 *
 * Writer lifecycle: vigil_evw_open(&opts, &w, err) -> vigil_evw_add_path() /
 *   _add_tree() / _add_buf() / _add_meta() / vigil_evw_note() ... ->
 *   vigil_evw_finish(w, &res, err) -> vigil_evw_free(w) (accepts NULL; a writer
 *   not finished is aborted: its temporary file removed, a `failed` record
 *   appended to the ledger).
 *
 * The archive (DESIGN.md "Evidence archive"): a pax tar through libarchive,
 * zstd (default), gzip or none, written to "<dir>/.NAME.tmp.XXXXXX", fsync'ed
 * and renamed to NAME only when complete, signed (NAME.minisig, stock minisign)
 * and hashed (NAME.sha256, sha256sum format).  Each source is read once: the
 * same buffer is hashed and written.  Memory stays bounded: the manifest's and
 * the timeline's entries are spooled to unlinked files in the output dir.
 * Members, in order: the collected files, trigger.json, timeline.body,
 * MANIFEST.json, custody.jsonl (last).
 *
 * The seal is the SHA-256 of MANIFEST.json (which lists every other member's
 * SHA-256); the ledger's `sealed` record carries it, and custody.jsonl holds
 * the ledger's lines verbatim from this capture's `acquired` record to its
 * `sealed` one (other writers' records in between included: they chain).
 *
 * Add functions return 0 when the source was handled (read, or recorded as
 * vanished / unreadable / skipped in the manifest) and -errno only when the
 * archive itself cannot go on (-ENOSPC, -ECANCELED, -EIO): then finish fails.
 */
#ifndef VIGIL_CAPTURE_H
#define VIGIL_CAPTURE_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "vigil/err.h"

enum vigil_evw_compress {
	VIGIL_EVW_ZSTD = 0,
	VIGIL_EVW_GZIP,
	VIGIL_EVW_NONE,
};

struct vigil_evw_opts {
	const char *out_dir;      /* where the archive goes */
	const char *state_dir;    /* the ledger (custody.jsonl) and the signing key */
	const char *case_id;      /* NULL: "case-<UTC time>" */
	const char *examiner;     /* NULL: the login name or uid */
	const char *note;         /* free text, into the manifest */
	const char *trigger_json; /* the request or event, verbatim (NULL: the command line) */
	const char *root;         /* NULL or "/": live host */
	int compress;             /* enum vigil_evw_compress */
	uint64_t max_file_size;   /* bigger files: metadata and a note only (0: no limit) */
	uint64_t min_free;        /* bytes that must stay free in out_dir */
	const volatile sig_atomic_t *cancel; /* non-zero: stop, abort (SIGTERM) */
};

struct vigil_evw;

struct vigil_evw_result {
	char path[4096];          /* the archive's final path */
	char sha256[65];          /* of the archive file */
	char seal[65];            /* SHA-256 of MANIFEST.json */
	uint64_t members, entries, bytes;
	uint64_t problems;        /* entries with a note (vanished, unreadable, changed...) */
};

int vigil_evw_open(const struct vigil_evw_opts *o, struct vigil_evw **out, struct vigil_err *err);

/* hash_only values of vigil_evw_add_path(): the content's SHA-256 only, or
 * the stat only (shadow: its content is never read). */
#define VIGIL_EVW_HASH_ONLY 1
#define VIGIL_EVW_META_ONLY 2
/* A file at path inside the root rootfd (parents' symlinks resolved within it,
 * the last component never followed), stored as member.  hash_only: its
 * SHA-256 goes into the manifest, its content not into the archive. */
int vigil_evw_add_path(struct vigil_evw *w, int rootfd, const char *path, const char *member, int hash_only);
/* Every entry beneath dirfd (no symlink followed, no mount point crossed
 * check: none), stored under member/; source names the directory for the
 * manifest.  overlay: an overlayfs upper dir (whiteouts are deletions, opaque
 * directories noted).  skip: names directly under dirfd to leave out (NULL-ended). */
int vigil_evw_add_tree(struct vigil_evw *w, int dirfd, const char *source, const char *member, int overlay,
		       const char *const *skip);
/* The union of overlay layers (directory fds, top first; sources name them
 * for the manifest) as overlayfs would mount it, under member/: whiteouts and
 * opaque directories hide what is below them; aufs-style `.wh.` names are
 * whiteouts only in layers aufs_from.. (an image's), ordinary names above
 * (agent/capture/evw_union.c). */
int vigil_evw_add_union(struct vigil_evw *w, const int *layers, const char *const *sources, size_t n,
			size_t aufs_from, const char *member);
/* Bytes made by vigil (a JSON listing, /proc text read whole) as member. */
int vigil_evw_add_buf(struct vigil_evw *w, const char *member, const char *source, const void *buf,
		      size_t len, const char *note);
/* A /proc-style file (size unknown until read) read whole, at most max bytes. */
int vigil_evw_add_procfile(struct vigil_evw *w, const char *path, const char *member, size_t max);
/* A manifest entry without content: what could not be collected and why. */
int vigil_evw_add_missing(struct vigil_evw *w, const char *source, const char *note);
/* A line of the manifest's "notes" (e.g. "live state not captured: --root"). */
int vigil_evw_note(struct vigil_evw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON object describing a target ({"type":"container","id":...}). */
int vigil_evw_target(struct vigil_evw *w, const char *json);
int vigil_evw_cancelled(const struct vigil_evw *w);

/* A streaming member (agent/capture/evw_stream.c): size bytes declared up
 * front, written and hashed as they arrive: _begin() -> _write()... ->
 * _end() (zero-pads a short stream and notes it; extra's keys (borrowed) and note go
 * into the manifest entry).  Nothing else may be added between begin and end.
 * write refuses bytes past size (-EFBIG) and stops on cancel (-ECANCELED). */
struct vigil_evw_stream;
struct json_t;
int vigil_evw_stream_begin(struct vigil_evw *w, const char *member, const char *source, uint64_t size,
			   struct vigil_evw_stream **out);
int vigil_evw_stream_write(struct vigil_evw_stream *s, const void *buf, size_t len, struct vigil_err *err);
uint64_t vigil_evw_stream_bytes(const struct vigil_evw_stream *s);
int vigil_evw_stream_end(struct vigil_evw_stream *s, struct json_t *extra, const char *note);
/* The absolute path of the temporary archive's companion `<tmp><suffix>` in
 * the evidence dir (a spool a kernel module writes by name: LiME's file
 * mode).  The sweep of interrupted captures removes `.mem.lime` and
 * `.mem.lime.sha256` companions with their temporary archive.  0 or -errno. */
#define VIGIL_EVW_MEM_SPOOL ".mem.lime"
int vigil_evw_spool_path(const struct vigil_evw *w, const char *suffix, char *out, size_t len);
/* Appends fields (a JSON object: "action" and the record's own fields; the
 * case and examiner are added) to the custody ledger. */
int vigil_evw_custody(struct vigil_evw *w, struct json_t *fields, struct vigil_err *err);

int vigil_evw_finish(struct vigil_evw *w, struct vigil_evw_result *res, struct vigil_err *err);
void vigil_evw_free(struct vigil_evw *w);

/* ---- what is captured (agent/capture/capture*.c) ----
 * Lifecycle: fill a request -> vigil_capture_run() (opens a writer, reads each
 * target, finishes or aborts it; a frozen container is thawed whatever
 * happens, cancel included) -> the result. */
struct vigil_memdump_opts;
struct vigil_capture_req {
	struct vigil_evw_opts ev;
	const char *data_root;            /* NULL: discovered */
	const char *const *containers;    /* names, ids or id prefixes */
	size_t n_containers;
	int all_containers, engine, host;
	int freeze;                       /* freeze each running container while it is read */
	int merged;                       /* also each container's merged view (its mounted overlay,
					     else computed from its layers) */
	int engine_binaries;              /* copy the engine's binaries, not only their hashes */
	int threads;                      /* layer verification (0: one per core) */
	/* non-NULL: memory first (most volatile), into memory/mem.lime (capture_mem.c) */
	const struct vigil_memdump_opts *memory;
};
/* 0 done (res filled), -errno when no archive was made (err says why). */
int vigil_capture_run(const struct vigil_capture_req *r, struct vigil_evw_result *res, struct vigil_err *err);

/* ---- bodyfile (agent/capture/bodyfile.c) ---- */
/* One Sleuth Kit bodyfile 3.x line (with "\n") for name and st into buf;
 * deleted adds " (deleted)".  Bytes mactime would misread ('|', '%', control
 * characters, non-UTF-8) become %XX, which mactime decodes.  Length written
 * (the line is cut to size, always NUL-terminated) or the length needed. */
size_t vigil_bodyfile_line(char *buf, size_t size, const char *name, size_t name_len, const struct stat *st,
			   int deleted);
/* "r/rrw-r--r--" as TSK writes modes. */
void vigil_bodyfile_mode(mode_t mode, char out[13]);

/* ---- custody ledger (agent/capture/custody.c) ----
 * <state_dir>/custody.jsonl: one JSON object per line, each with "seq", "time",
 * "prev" (SHA-256 hex of the previous line's bytes, without "\n"; 64 zeros for
 * the first), "action" (acquired, sealed, archived, verified, failed), who
 * ("examiner", "uid", "loginuid", "host"), "case" and the object's digest.
 * Appends hold an exclusive flock on the ledger: the daemon and the CLI never
 * fork the chain. */
#define VIGIL_CUSTODY_FILE "custody.jsonl"
/* Appends a record: fields_json is a JSON object's text with the record's own
 * fields; seq, time, prev, uid, loginuid, host are added.  *line (when not
 * NULL) gets the exact line written (malloc'd, without "\n"). */
int vigil_custody_append(const char *state_dir, const char *fields_json, char **line, struct vigil_err *err);
/* The ledger's records from seq `from` to `to` (line numbers: seq is the
 * line), each with its "\n", malloc'd: what an archive's custody.jsonl holds
 * (its acquired record to its sealed one, with whatever other writers put
 * in between, so the copy chains as the ledger does). */
int vigil_custody_segment(const char *state_dir, uint64_t from, uint64_t to, char **text, size_t *len,
			  struct vigil_err *err);
/* Walks the chain: 0 intact (*n_records set), 1 broken (err names the first
 * record at fault by line number), -errno when unreadable. */
int vigil_custody_verify(const char *state_dir, uint64_t *n_records, struct vigil_err *err);
/* Checks one line's link: 0 when prev matches the SHA-256 of prev_line
 * (NULL: the first record), 1 otherwise. */
int vigil_custody_link_ok(const char *line, size_t len, const char *prev_line, size_t prev_len);
/* Prints one line per case (case, time, outcome, archive, digest). */
int vigil_custody_cases(const char *state_dir, FILE *out, int json, struct vigil_err *err);
/* Captures the ledger holds as started but neither archived nor failed whose
 * writer is gone (agent/capture/evw_sweep.c): their count in *n. */
int vigil_custody_interrupted(const char *state_dir, uint64_t *n, struct vigil_err *err);

/* The sweep (agent/capture/evw_sweep.c): temporary files in the evidence dir
 * dir of captures that no longer run (their writer's lock is free) are
 * removed, and each such capture gets one `failed` record ("interrupted:
 * found unfinished at TIME, temporary removed"); running captures' files are
 * left alone.  fn (may be NULL) is told of each (case_id NULL when no
 * `acquired` record names the file).  Number removed in *removed.  It holds
 * the dir's flock while it removes and records. */
typedef void (*vigil_evw_swept_fn)(void *arg, const char *case_id, const char *tmp, const char *why);
int vigil_evw_sweep(const char *state_dir, const char *dir, vigil_evw_swept_fn fn, void *arg, unsigned *removed,
		    struct vigil_err *err);

/* The ledger's sweep (agent/capture/evw_recover.c): vigil_evw_sweep() of dir
 * (may be NULL) and of every output dir an unfinished `acquired` record names
 * (a dir that is not there is reported, never created), then each capture
 * still open whose temporary archive is gone and whose writer is gone:
 * - its archive under its final name (VIGIL_EVW_SWEEP_ARCHIVES only: it is
 *   read whole): an `archived` record ("recovered": "sweep") when it verifies
 *   (members, manifest against the `sealed` record's seal, NAME.sha256,
 *   NAME.minisig with the state dir's vigil.pub), else a `failed` one naming
 *   why; the archive is never renamed nor modified;
 * - no archive either, in the very dir it was written into (the `acquired`
 *   record's dir_dev/dir_ino): a `failed` record; a dir that is not there or
 *   is another one (media not mounted) is reported and the capture left open.
 * Once per capture whatever the sweepers racing (the archive's lock, or the
 * dir's, is held from the re-read of the ledger to the record).  fn (may be
 * NULL) hears of each; problems with one dir or capture are reported, not
 * returned: -errno only when the ledger cannot be read or written. */
#define VIGIL_EVW_SWEEP_ARCHIVES 1
enum { VIGIL_EVW_SWEPT_FAILED, VIGIL_EVW_SWEPT_ARCHIVED, VIGIL_EVW_SWEPT_SKIPPED };
typedef void (*vigil_evw_sweep_fn)(void *arg, int kind, const char *case_id, const char *path, const char *msg);
struct vigil_evw_sweep_counts {
	unsigned dirs, removed, archived, failed, skipped;
};
int vigil_evw_sweep_ledger(const char *state_dir, const char *dir, int flags, vigil_evw_sweep_fn fn, void *arg,
			   struct vigil_evw_sweep_counts *counts, struct vigil_err *err);
/* An open capture (its `acquired` record's seq) that no sweep can close (its
 * output dir gone, or not the dir it wrote into) closed by hand: a `failed`
 * record "closed by hand: WHY" with closed_by.  -ENOENT no such open capture,
 * -EBUSY it runs, -EEXIST its dir is there (the sweep closes it). */
int vigil_evw_close(const char *state_dir, uint64_t seq, const char *why, struct vigil_err *err);

/* ---- verifier (agent/capture/verify.c): reads hostile archives ---- */
struct vigil_evverify {
	uint64_t members;       /* members hashed */
	char fault[2048];       /* the first fault, naming the member ("" when none) */
	char key_id[17];        /* the signing key's id, when the signature verified */
	char sha256[65];        /* of the archive file, as read */
	char seal[65];          /* the seal, when MANIFEST.json matched it ("" otherwise) */
	int signature_ok;
};
/* The members, the manifest and custody.jsonl of the archive open on fd
 * (no signature): 0 consistent, 1 a fault (v->fault names it), -errno when
 * the check itself failed.  Memory is bounded (VIGIL_EVVERIFY_* caps). */
#define VIGIL_EVVERIFY_MAX_SMALL (64u << 20) /* MANIFEST.json, custody.jsonl */
#define VIGIL_EVVERIFY_MAX_MEMBERS 2000000u
int vigil_evidence_check_fd(int fd, struct vigil_evverify *v, struct vigil_err *err);
/* The above on file, then its signature with the public key file pubkey
 * (file.minisig), and file.sha256 when present. */
int vigil_evidence_verify(const char *file, const char *pubkey, struct vigil_evverify *v, struct vigil_err *err);

/* ---- export (agent/capture/export.c): a verified archive handed over ----
 * The archive is verified (vigil_evidence_verify with pubkey), copied with
 * its .sha256 and .minisig into dest_dir (temporary names, the copy's SHA-256
 * compared with the verified one, fsync, renamed without replacing a file,
 * the archive last), and an `exported` record is appended to the ledger in
 * state_dir.  0 exported; 1 the archive does not verify (r->fault; nothing
 * copied); -ECANCELED when *cancel was set (nothing left); -errno otherwise (nothing left in dest_dir, unless r->copied: the
 * copy is complete but the ledger record could not be written). */
struct vigil_export_opts {
	const char *archive, *dest_dir, *pubkey, *state_dir;
	const char *to, *examiner, *note, *case_id; /* may be NULL */
	const volatile sig_atomic_t *cancel;        /* non-zero: stop, remove the copies */
};
struct vigil_export_result {
	char sha256[65];
	char dest[PATH_MAX]; /* the copy's path */
	char fault[2048];
	int copied;
};
int vigil_evidence_export(const struct vigil_export_opts *o, struct vigil_export_result *r, struct vigil_err *err);

#endif
