/* compliance.h - the CIS Docker Benchmark v1.6.0 (sections 1-5) judged from
 * the host's files, /proc and the kernel's audit rules: no dockerd, no CLI.
 *
 * Lifecycle: vigil_cis_run(&opts, &rep, err) -> read rep->v[] or write it with
 *   vigil_cis_write_text/_json/_junit/_html -> vigil_cis_report_free(rep)
 *   (accepts NULL).
 *
 * One result per check, or per check and container (5.x, 4.1) or image (4.6,
 * 4.8).  A verdict that could not be reached (a file that dockerd would refuse,
 * a container's JSON truncated) is VIGIL_CIS_ERROR naming the file, never a
 * pass.
 */
#ifndef VIGIL_COMPLIANCE_H
#define VIGIL_COMPLIANCE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "vigil/err.h"

enum vigil_cis_verdict {
	VIGIL_CIS_PASS = 0,
	VIGIL_CIS_FAIL,
	VIGIL_CIS_INFO,
	VIGIL_CIS_NA,     /* not applicable: the file, feature or container is absent */
	VIGIL_CIS_ERROR,  /* could not be judged: evidence names the file and why */
	VIGIL_CIS_N
};

struct cis_ctx;
struct vigil_cis_check;
typedef void (*vigil_cis_eval_fn)(struct cis_ctx *c, const struct vigil_cis_check *chk);

struct vigil_cis_check {
	const char *id;       /* "5.5" */
	const char *title;
	int automated;        /* CIS marks it Automated (else Manual) */
	const char *remedy;
	vigil_cis_eval_fn eval;
	const char *arg;      /* the path (1.1.x, 3.x) or key the evaluator needs */
	const char *arg2;     /* owner or mode for 3.x ("root:root", "644") */
};

struct vigil_cis_result {
	const struct vigil_cis_check *check;
	int verdict;
	char *file, *key, *value;              /* evidence: what decided it (may be NULL) */
	char *container_id, *container_name;   /* 5.x: the container; 4.6/4.8: image id in container_id */
	char *detail;                          /* one line for people */
};

struct vigil_cis_report {
	struct vigil_cis_result *v;
	size_t n, cap;
	size_t counts[VIGIL_CIS_N];
	char *host;          /* host name (or the --root dir) */
	char *dockerd;       /* where dockerd's arguments came from, or NULL */
	int64_t time_ns;
};

struct vigil_cis_opts {
	const char *root;    /* NULL: the running host */
	pid_t dockerd_pid;   /* 0: the newest dockerd run by root */
};

/* The table (CIS order) and its length. */
const struct vigil_cis_check *vigil_cis_table(size_t *n);
const char *vigil_cis_verdict_name(int verdict);
/* "Host Configuration" for "1.1.3" (the top section's title). */
const char *vigil_cis_section_title(const char *id);

/* 0 (look at the verdicts), or -errno when the run itself failed. */
int vigil_cis_run(const struct vigil_cis_opts *o, struct vigil_cis_report **out, struct vigil_err *err);
void vigil_cis_report_free(struct vigil_cis_report *r);
/* One verdict per check id over its results: error > fail > pass > info > n/a
 * (-1 when the id has no result). */
int vigil_cis_check_verdict(const struct vigil_cis_report *r, const char *id);

/* Report writers (agent/compliance/cis_report.c, cis_html.c): 0 or -errno. */
int vigil_cis_write_text(const struct vigil_cis_report *r, FILE *f, int verbose);
int vigil_cis_write_json(const struct vigil_cis_report *r, FILE *f);
int vigil_cis_write_junit(const struct vigil_cis_report *r, FILE *f);
/* hist: the stored runs, oldest first (n_hist 0: no trend). */
struct vigil_cis_run;
int vigil_cis_write_html(const struct vigil_cis_report *r, const struct vigil_cis_run *hist, size_t n_hist,
			 FILE *f);

/* ---- history in the baseline store (agent/compliance/cis_store.c) ----
 * A run is kept as objects of the generation being written: kind "cis", one
 * per result (its JSON line, key "NNNNNN ID"), and kind "cis-summary" key
 * "counts" ({"pass":N,...}); the generation's signed digest covers them, so a
 * tampered result fails vigil_store_verify() like a tampered file record. */
struct vigil_store;
struct vigil_cis_run {
	int64_t gen, created;     /* generation id, unix seconds */
	size_t counts[VIGIL_CIS_N];
};
/* Puts r's objects into the generation st is writing. */
int vigil_cis_store(const struct vigil_cis_report *r, struct vigil_store *st, struct vigil_err *err);
/* The runs stored in st's generations (at most max, the newest ones), oldest
 * first, malloc'd in *out.  0 (n may be 0), -errno. */
int vigil_cis_history(struct vigil_store *st, size_t max, struct vigil_cis_run **out, size_t *n,
		      struct vigil_err *err);
/* The CIS results of generations a and b compared: cb(old, new) for each
 * result whose verdict changed (both set), that is gone (new NULL) or new
 * (old NULL); the JSON objects are the stored lines, valid during the call.
 * A result is the same across runs when its check, container (or image) and,
 * for host checks, evidence file are.  *n counts the calls.  0, cb's
 * non-zero return, -errno. */
struct json_t;
typedef int (*vigil_cis_change_cb)(void *arg, struct json_t *old, struct json_t *cur);
int vigil_cis_diff(struct vigil_store *st, int64_t a, int64_t b, vigil_cis_change_cb cb, void *arg, size_t *n,
		   struct vigil_err *err);
/* One generation's run; -ENOENT when it holds none. */
int vigil_cis_history_one(struct vigil_store *st, int64_t gen, struct vigil_cis_run *run, struct vigil_err *err);

#endif
