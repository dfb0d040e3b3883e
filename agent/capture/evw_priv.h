/* evw_priv.h - the evidence writer's parts (agent/capture/evw*.c only). */
#ifndef VIGIL_EVW_PRIV_H
#define VIGIL_EVW_PRIV_H

#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include <archive.h>
#include <jansson.h>

#include "vigil/capture.h"
#include "vigil/crypto.h"
#include "vigil/hasher.h"

#define EVW_BUF (256u << 10)
#define EVW_OBUF (1u << 20)
/* free space is looked at after every this many bytes written */
#define EVW_SPACE_STEP (4u << 20)

struct vigil_evw {
	struct vigil_evw_opts o;
	char *case_id, *examiner, *note, *trigger, *root;
	char *dir, *name, *tmp, *final;
	int fd;                 /* the temporary archive */
	struct archive *a;
	struct vigil_digest *ad; /* SHA-256 of the archive bytes as written */
	uint64_t written, next_check;
	FILE *man, *body;       /* spooled manifest entries (one JSON per line), bodyfile lines */
	uint64_t members, entries, problems, bytes;
	json_t *notes, *targets;
	char *acquired;         /* this capture's `acquired` ledger line */
	unsigned char *buf;     /* 2 * EVW_BUF: members are read into one half while the other is hashed */
	struct vigil_hasher *hasher; /* members' SHA-256 on a second core (NULL: in this thread) */
	/* the archive's bytes as written, gathered in two halves of EVW_OBUF and
	 * hashed on two other threads: SHA-256 into ad (ahasher), BLAKE2b-512,
	 * minisign's prehash, into bd (bhasher) */
	unsigned char *obuf;
	size_t olen;
	int ocur;
	struct vigil_hasher *ahasher, *bhasher;
	struct vigil_digest *bd;
	int64_t start_ns;
	int failed, finished;
	int installed;          /* 1: NAME.sha256, 2: NAME.minisig put in place by us */
	int discard;            /* being freed unfinished: output is dropped, not written */
	char error[1024];
	char kernel[256], boot_id[64], host[256];
};

/* evw_manifest.c */
json_t *evw_stat_json(const struct stat *st);
/* Spools a manifest entry and its bodyfile line; st may be NULL (nothing known). */
int evw_entry(struct vigil_evw *w, const char *type, const char *member, const char *source, size_t source_len,
	      const struct stat *before, const struct stat *after, const char *sha256_hex, uint64_t size,
	      json_t *notes, json_t *extra, int deleted);
/* Writes timeline.body and MANIFEST.json from the spools; seal gets the
 * manifest's SHA-256 hex. */
int evw_write_manifest(struct vigil_evw *w, char seal[65]);
/* "2026-12-01T12:00:00.123456789Z" */
void evw_time(int64_t ns, char *buf, size_t len);

/* evw_read.c: one entry, pathfd its O_PATH|O_NOFOLLOW fd (closed here), st its
 * fstat; overlay: a char 0/0 device is a whiteout (a deletion). */
int evw_put_entry(struct vigil_evw *w, int pathfd, const struct stat *st, const char *member, const char *src,
		  size_t slen, int hash_only, int overlay);

/* 1 when the directory fd is an overlay opaque dir (trusted. or user.overlay.opaque=y) */
int evw_opaque(int fd);

/* evw.c */
/* Writes one member from memory. */
int evw_put(struct vigil_evw *w, const char *member, const void *buf, size_t len, unsigned char sha[32]);
/* Header for a member of size bytes with st's attributes (NULL: a file of vigil's). */
int evw_header(struct vigil_evw *w, const char *member, const struct stat *st, uint64_t size,
	       const char *linkname);
int evw_data(struct vigil_evw *w, const void *buf, size_t len);
int evw_fail(struct vigil_evw *w, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* libarchive's error on w->a made w's failure (evw_fail); returns it */
int evw_arch_err(struct vigil_evw *w, const char *what);
/* Hands the archive bytes gathered so far to the archive's hashers. */
void evw_ahash_flush(struct vigil_evw *w);

/* evw_seal.c: appends rec (taken) to the custody ledger with w's case,
 * examiner and acquired_seq; line, when not NULL, gets the line written. */
int evw_ledger(struct vigil_evw *w, json_t *rec, char **line, struct vigil_err *err);

/* evw_sweep.c: the temporary archive path (ending in XXXXXX, filled in),
 * created locked (flock LOCK_EX for the writer's life) before its name
 * exists; an fd, or -1 and errno. */
int evw_tmp_create(char *path);
/* The sweep (vigil_evw_sweep) of w's output dir, before w makes its own
 * temporary file; a failure is logged, never fatal to the capture. */
void evw_sweep_before(struct vigil_evw *w);
/* A ledger line's "seq" (0: none). */
uint64_t evw_seq_of(const char *line);
/* The ledger's captures with an `acquired` record and no `archived` or
 * `failed` one after it, oldest first. */
struct evw_pending {
	uint64_t seq;
	char *archive, *tmp, *case_id, *examiner, *time; /* "" when the record has none */
	int sealed;
	char seal[65];          /* the `sealed` record's seal ("" when none) */
	int has_dir;            /* the `acquired` record names its output dir's identity: */
	uint64_t dir_dev, dir_ino; /* st_dev and st_ino when it was written */
};
struct evw_pendings {
	struct evw_pending *v;
	size_t n, cap;
};
int evw_pendings_load(const char *state_dir, struct evw_pendings *p, struct vigil_err *err);
void evw_pendings_free(struct evw_pendings *p);
/* "running: ..." while its writer holds the temporary file, else "interrupted: ..." */
const char *evw_pending_why(const struct evw_pending *x);
int evw_pending_live(const struct evw_pending *x);
/* The final archive's path of x (its temporary file's dir and its name); 0,
 * or -1 when x names no absolute temporary path (an older vigil's record). */
int evw_pending_final(const struct evw_pending *x, char *buf, size_t len);
/* evw_recover.c: x's outcome record (action: archived or failed) in the
 * ledger: its case, examiner and acquired_seq, then extra's fields (taken). */
int evw_pending_append(const char *state_dir, const struct evw_pending *x, const char *action, json_t *extra,
		       struct vigil_err *err);

/* custody.c: who runs vigil, as records name them: the login name of the
 * real uid, else "uid N" (buf, returned). */
const char *evw_login_name(char *buf, size_t len);
/* custody.c: calls cb for each line of the ledger (without "\n"), the
 * previous line beside it; a non-zero return stops the walk and is returned. */
typedef int (*custody_line_fn)(void *arg, uint64_t lineno, const char *line, size_t len, const char *prev,
			       size_t prev_len);
int custody_walk(const char *state_dir, custody_line_fn cb, void *arg, struct vigil_err *err);

#endif
