/* compare.c - the decision for one path (see compare.h). */
#include "config.h"

#include <string.h>

#include "vigil/compare.h"
#include "vigil/event.h"

int vigil_compare(const struct vigil_scope *sc, const struct vigil_record *old, const struct vigil_record *cur,
		  struct vigil_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->mask = sc ? sc->attrs : VIGIL_ATTR_DEFAULT;
	d->severity = sc ? sc->severity : VIGIL_SEV_MEDIUM;
	if (!old && !cur)
		return 0;
	if (!old) {
		d->action = VIGIL_ACTION_ADDED;
	} else if (!cur) {
		d->action = VIGIL_ACTION_REMOVED;
	} else {
		int un_now = cur->status & VIGIL_REC_UNREADABLE, un_then = old->status & VIGIL_REC_UNREADABLE;

		d->changed = vigil_record_diff(old, cur, d->mask);
		if (un_now && !un_then)
			d->action = VIGIL_ACTION_UNREADABLE;
		else if (d->changed || un_now != un_then)
			d->action = VIGIL_ACTION_CHANGED;
	}
	return d->action != NULL;
}

void vigil_tally_add(struct vigil_tally *t, const char *action)
{
	if (!action)
		return;
	/* Docker objects: a new layer counts as added, any other finding as changed. */
	if (!strcmp(action, VIGIL_ACTION_ADDED) || !strcmp(action, VIGIL_ACTION_LAYER_ADDED) ||
	    !strcmp(action, VIGIL_ACTION_UNPACKAGED))
		t->added++;
	else if (!strcmp(action, VIGIL_ACTION_REMOVED))
		t->removed++;
	else if (!strcmp(action, VIGIL_ACTION_UNREADABLE))
		t->unreadable++;
	else if (!strcmp(action, VIGIL_ACTION_CHANGED) || !strcmp(action, VIGIL_ACTION_LAYER_CHANGED) ||
		 !strcmp(action, VIGIL_ACTION_LAYER_UNVERIFIABLE) || !strcmp(action, VIGIL_ACTION_IMAGE_CHANGED) ||
		 !strcmp(action, VIGIL_ACTION_PKG_UPGRADE) || !strcmp(action, VIGIL_ACTION_PKG_TAMPERED) ||
		 !strcmp(action, VIGIL_ACTION_CONFFILE_MODIFIED))
		t->changed++;
}

uint64_t vigil_tally_diffs(const struct vigil_tally *t)
{
	return t->added + t->removed + t->changed + t->unreadable;
}
