/* test_compare.c - the one decision for a path (compare.c): which action,
 * which attributes, which severity, for every pairing of baseline and current
 * record, through the scope's attribute mask. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/compare.h"
#include "vigil/event.h"

enum { ABSENT, SAME, MODE, MTIME, CONTENT, UNREAD, TYPE };

static void make(struct vigil_record *r, int how)
{
	vigil_record_init(r);
	r->path = (char *)"/etc/x";
	r->path_len = 6;
	r->ftype = VIGIL_FT_REG;
	r->mode = 0644;
	r->size = 4;
	r->mtime_ns = 1000;
	r->algos = 1;
	memset(r->digest[0], 0xaa, 32);
	switch (how) {
	case MODE: r->mode = 04755; break;
	case MTIME: r->mtime_ns = 2000; break;
	case CONTENT: memset(r->digest[0], 0xbb, 32); break;
	case UNREAD: r->status = VIGIL_REC_UNREADABLE; r->algos = 0; break;
	case TYPE: r->ftype = VIGIL_FT_DIR; break;
	}
}

static const struct {
	const char *name;
	int old, cur;
	unsigned attrs;  /* scope mask; 0: no scope */
	int sev;
	const char *action;
	unsigned changed;
	int want_sev;
} cases[] = {
	{ "both absent", ABSENT, ABSENT, VIGIL_ATTR_ALL, VIGIL_SEV_HIGH, NULL, 0, VIGIL_SEV_HIGH },
	{ "added", ABSENT, SAME, VIGIL_ATTR_ALL, VIGIL_SEV_CRITICAL, VIGIL_ACTION_ADDED, 0, VIGIL_SEV_CRITICAL },
	{ "removed", SAME, ABSENT, VIGIL_ATTR_ALL, VIGIL_SEV_LOW, VIGIL_ACTION_REMOVED, 0, VIGIL_SEV_LOW },
	{ "same", SAME, SAME, VIGIL_ATTR_ALL, VIGIL_SEV_HIGH, NULL, 0, VIGIL_SEV_HIGH },
	{ "mode", SAME, MODE, VIGIL_ATTR_ALL, VIGIL_SEV_HIGH, VIGIL_ACTION_CHANGED, VIGIL_ATTR_MODE, VIGIL_SEV_HIGH },
	{ "mode outside the mask", SAME, MODE, VIGIL_ATTR_HASH | VIGIL_ATTR_SIZE, VIGIL_SEV_HIGH, NULL, 0,
	  VIGIL_SEV_HIGH },
	{ "mtime with [all,-mtime]", SAME, MTIME, VIGIL_ATTR_ALL & ~VIGIL_ATTR_MTIME, VIGIL_SEV_HIGH, NULL, 0,
	  VIGIL_SEV_HIGH },
	{ "content", SAME, CONTENT, VIGIL_ATTR_ALL, VIGIL_SEV_MEDIUM, VIGIL_ACTION_CHANGED, VIGIL_ATTR_HASH,
	  VIGIL_SEV_MEDIUM },
	{ "type", SAME, TYPE, VIGIL_ATTR_ALL, VIGIL_SEV_MEDIUM, VIGIL_ACTION_CHANGED, VIGIL_ATTR_TYPE,
	  VIGIL_SEV_MEDIUM },
	{ "unreadable now", SAME, UNREAD, VIGIL_ATTR_HASH, VIGIL_SEV_HIGH, VIGIL_ACTION_UNREADABLE, 0, VIGIL_SEV_HIGH },
	{ "readable again", UNREAD, SAME, VIGIL_ATTR_HASH, VIGIL_SEV_HIGH, VIGIL_ACTION_CHANGED, 0, VIGIL_SEV_HIGH },
	{ "unreadable both times", UNREAD, UNREAD, VIGIL_ATTR_ALL, VIGIL_SEV_HIGH, NULL, 0, VIGIL_SEV_HIGH },
	{ "no scope: all attributes, medium", SAME, MTIME, 0, 0, VIGIL_ACTION_CHANGED, VIGIL_ATTR_MTIME,
	  VIGIL_SEV_MEDIUM },
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vigil_scope sc = { .name = (char *)"s", .attrs = cases[i].attrs, .severity = cases[i].sev };
		struct vigil_record old, cur;
		struct vigil_decision d;
		int rc;

		make(&old, cases[i].old);
		make(&cur, cases[i].cur);
		rc = vigil_compare(cases[i].attrs ? &sc : NULL, cases[i].old == ABSENT ? NULL : &old,
				   cases[i].cur == ABSENT ? NULL : &cur, &d);
		print_message("%s\n", cases[i].name);
		assert_int_equal(rc, cases[i].action != NULL);
		if (cases[i].action)
			assert_string_equal(d.action, cases[i].action);
		else
			assert_null(d.action);
		assert_int_equal(d.changed, cases[i].changed);
		assert_int_equal(d.severity, cases[i].want_sev);
		assert_int_equal(d.mask, cases[i].attrs ? cases[i].attrs : VIGIL_ATTR_DEFAULT);
	}
}

static void test_tally(void **state)
{
	static const struct {
		const char *action;
		int field; /* 0 added 1 removed 2 changed 3 unreadable -1 none */
	} t[] = {
		{ VIGIL_ACTION_ADDED, 0 }, { VIGIL_ACTION_LAYER_ADDED, 0 }, { VIGIL_ACTION_REMOVED, 1 },
		{ VIGIL_ACTION_CHANGED, 2 }, { VIGIL_ACTION_LAYER_CHANGED, 2 }, { VIGIL_ACTION_LAYER_UNVERIFIABLE, 2 },
		{ VIGIL_ACTION_IMAGE_CHANGED, 2 }, { VIGIL_ACTION_UNREADABLE, 3 }, { "file-restored", -1 },
		{ NULL, -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct vigil_tally tl = { 0 };
		uint64_t *f[] = { &tl.added, &tl.removed, &tl.changed, &tl.unreadable };

		vigil_tally_add(&tl, t[i].action);
		for (int k = 0; k < 4; k++)
			assert_int_equal(*f[k], k == t[i].field);
		assert_int_equal(vigil_tally_diffs(&tl), t[i].field >= 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_tally),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
