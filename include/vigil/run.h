/* run.h - baseline, check and accept: the ONE implementation that the
 * commands (`vigil baseline`, `check`, `accept`) and the daemon (scheduled
 * baselines, `vigil ctl check`, rescans) call, so the two cannot diverge.
 *
 * Lifecycle:
 *   vigil_run_prepare(cfg, root, &loc, ...)   once per config: fills the `auto:`
 *     scopes from the Docker engine and takes a locator (Docker terms), or NULL
 *   fill a struct vigil_run_opts (zero it first) ->
 *     vigil_run_baseline() | vigil_run_check() | vigil_run_accept()
 *     (callbacks: each decided difference, progress, warnings, cancellation)
 *   vigil_docker_locator_free(loc)
 *
 * What is compared is said by compare.h; Docker layers and image configs are
 * verified whole by the Docker collector (docker.h), never walked file by file.
 */
#ifndef VIGIL_RUN_H
#define VIGIL_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/compare.h"
#include "vigil/config.h"
#include "vigil/err.h"
#include "vigil/record.h"
#include "vigil/store.h"
#include "vigil/walk.h"

struct vigil_docker_locator;
struct vigil_docker_where;

/* One decided difference (or, with VIGIL_RUN_ALL_PATHS, one compared path:
 * action NULL).  Everything is valid during the call only. */
struct vigil_run_diff {
	const char *action;            /* VIGIL_ACTION_*; NULL: no difference */
	int severity;
	const char *scope;             /* vigil.scope */
	const struct vigil_scope *sc;  /* the scope's settings, NULL for none */
	unsigned mask;                 /* the scope's attribute mask */
	/* files */
	const char *path;              /* NULL for a Docker object */
	size_t path_len;
	const struct vigil_record *old, *cur;
	unsigned changed;
	/* Docker objects (layers, images) */
	const char *object;            /* chain id or image id */
	const char *message;
	const char *extra_json;        /* the object's details, for vigil.* */
	/* the path in Docker's terms, NULL when not under Docker's data root */
	const struct vigil_docker_where *docker;
};

typedef int (*vigil_run_diff_cb)(void *arg, const struct vigil_run_diff *d);
/* level: VIGIL_LOG_*; msg: lower case, no full stop */
typedef void (*vigil_run_say_cb)(void *arg, int level, const char *msg);

enum vigil_run_flags {
	VIGIL_RUN_CREATE_KEY = 1u << 0,   /* baseline: make the signing key on first use */
	VIGIL_RUN_NO_VERIFY = 1u << 1,    /* check: the caller verified the generation */
	VIGIL_RUN_NO_DOCKER = 1u << 2,    /* check: files only (no layers, no images) */
	VIGIL_RUN_COVERED_ONLY = 1u << 3, /* check: a baseline record no scope of cfg selects is
					     not "removed" (rescans of some scopes) */
	VIGIL_RUN_ALL_PATHS = 1u << 4,    /* check: call diff for matching paths too (restores) */
	VIGIL_RUN_NO_FILES = 1u << 5,     /* check: Docker objects only (no walk, no merge) */
};

struct vigil_run_opts {
	const struct vigil_config *cfg;  /* `auto:` scopes filled by vigil_run_prepare() */
	const struct vigil_docker_locator *loc; /* from vigil_run_prepare(): Docker terms on
						   differences, and no layer's files walked */
	const struct vigil_explainer *explain;  /* check: NULL, or explains differences
						   (packages); its accepted ones go into a
						   new generation at the end (see result) */
	const char *root;                /* NULL or "/": the live host */
	const char *state_dir;
	const char *kind;                /* baseline: the generation's kind ("baseline") */
	unsigned flags;                  /* enum vigil_run_flags */
	struct vigil_store *st;          /* check: an open store, NULL: opened read-only */
	int64_t gen;                     /* check: the generation expected, 0: the newest */
	const char *const *only;         /* check/accept: these paths and below only */
	const char *const *layers;       /* check: these layers only (chain ids), no images */
	size_t n_layers;
	vigil_run_diff_cb diff;
	void *diff_arg;
	vigil_run_say_cb say;            /* warnings and notes; NULL: debug log */
	void *say_arg;
	vigil_walk_progress_cb progress;
	void *progress_arg;
	int (*cancelled)(void *arg);     /* polled per record: stop the run when it says 1 */
	void *cancel_arg;
	/* baseline: more objects for the same generation, before it is signed
	 * (`vigil cis --record`: the CIS results); NULL: none */
	int (*objects)(void *arg, struct vigil_store *st, struct vigil_err *err);
	void *objects_arg;
	void (*started)(void *arg, const struct vigil_generation *gen); /* check: verified,
									   comparing now */
	void *started_arg;
};

struct vigil_run_result {
	struct vigil_generation gen;     /* written (baseline, accept) or compared with (check) */
	struct vigil_walk_stats stats;
	uint64_t unreadable;             /* paths that could not be read fully */
	struct vigil_tally t;            /* check: the differences */
	int docker_bad;                  /* baseline: some layers or images do not verify */
	uint64_t accepted;               /* check: differences the explainer's policy accepted */
	int64_t accepted_gen;            /* ...into this new generation (0: none) */
};

/* Fills the `auto:` scopes (engine binaries, configs, layers' diff dirs) and,
 * when Docker has a data root, returns a locator in *loc (else NULL).
 * Failures of discovery are said through say (the other scopes still count);
 * returns 0, or -ENOMEM. */
int vigil_run_prepare(struct vigil_config *cfg, const char *root, struct vigil_docker_locator **loc,
		      vigil_run_say_cb say, void *say_arg);

/* Each returns 0 or -errno with err set (-EBADMSG/-ENOENT/-EKEYREJECTED: the
 * baseline is refused or missing; -ESTALE: a newer generation appeared). */
int vigil_run_baseline(const struct vigil_run_opts *o, struct vigil_run_result *res, struct vigil_err *err);
int vigil_run_check(const struct vigil_run_opts *o, struct vigil_run_result *res, struct vigil_err *err);
/* A new generation: the newest one's records outside paths, and paths (n,
 * absolute, no trailing slash, NULL-terminated too) as they are now. */
int vigil_run_accept(const struct vigil_run_opts *o, const char *const *paths, size_t n,
		     struct vigil_run_result *res, struct vigil_err *err);

/* Opens the store read-only and verifies its newest generation (signature,
 * digest): 0 with *st and *gen set. */
int vigil_run_open_verified(const char *state_dir, unsigned store_flags, struct vigil_store **st,
			    struct vigil_generation *gen, struct vigil_err *err);

#endif
