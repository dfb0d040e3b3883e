/* compare.h - the decision for one path: its baseline record against what is
 * on disk now, judged with the attribute mask and severity of its scope.
 *
 * The ONE place that says what is a difference: `vigil check`, the daemon's
 * path evaluations, rescans and checks all call vigil_compare().  The daemon's
 * "already reported" suppression (reported.h) is a layer on top of it.
 *
 * Lifecycle: none; fill a struct vigil_decision with vigil_compare(), count
 * it with vigil_tally_add().
 */
#ifndef VIGIL_COMPARE_H
#define VIGIL_COMPARE_H

#include <stdint.h>

#include "vigil/config.h"
#include "vigil/record.h"

struct vigil_decision {
	const char *action; /* VIGIL_ACTION_ADDED/_REMOVED/_CHANGED/_UNREADABLE; NULL: no difference */
	unsigned changed;   /* attributes of the scope's mask that differ (both records present) */
	int severity;       /* the scope's severity (medium without a scope) */
	unsigned mask;      /* the scope's attribute mask */
	/* set by an explainer (below), else NULL/0 */
	const char *message;      /* why, for people */
	const char *explain_json; /* a JSON object merged into the event's vigil.* */
	int accept;               /* policy: take it into a new generation at once */
	/* where an explainer writes message and explain_json: the decision's own
	 * storage, so explainers called from several threads need no locks for it */
	char msg_buf[256];
	char json_buf[1024];
};

/* A hook that explains a decided difference from another record of truth
 * (the package collector sets one: collectors/packages/dpkg_explain.c); the
 * engine (run.c) and the daemon call it and name no collector.  explain() may
 * rename d->action and change d->severity, and set d->message,
 * d->explain_json (both in d's buffers) and d->accept; it may be called from
 * several threads at once.  since: the
 * baseline generation's time (unix seconds).  0 or -errno. */
struct vigil_explainer {
	unsigned algos; /* digests it needs on current records: the walk adds them */
	int (*explain)(void *arg, int64_t since, const char *path, size_t len, const struct vigil_record *old,
		       const struct vigil_record *cur, struct vigil_decision *d);
	void *arg;
};

/* sc: the scope that selects the path now (NULL: defaults); old: the
 * baseline record or NULL; cur: the record now or NULL when absent.
 * Returns 1 when the path differs (d->action set), 0 when it does not. */
int vigil_compare(const struct vigil_scope *sc, const struct vigil_record *old,
		  const struct vigil_record *cur, struct vigil_decision *d);

/* Differences counted by kind. */
struct vigil_tally {
	uint64_t added, removed, changed, unreadable, seen;
};

/* Counts one decided action (file or Docker object) in t. */
void vigil_tally_add(struct vigil_tally *t, const char *action);
uint64_t vigil_tally_diffs(const struct vigil_tally *t);

#endif
