/* test_run.c - the engine (run.c) on a temp tree, without Docker: a baseline,
 * then a check that decides each kind of change with its scope's mask and
 * severity, the rescan flags the daemon uses (only some paths, only covered
 * scopes, matching paths reported too), accept, and a refused baseline. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/config.h"
#include "vigil/crypto.h"
#include "vigil/event.h"
#include "vigil/run.h"
#include "vigil/sign.h"

struct fx {
	char base[64], tree[128], state[128];
	struct vigil_config *cfg;
};

static void put(const char *dir, const char *name, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vigil_err err = { "" };
	char yaml[2048], p[256];

	assert_non_null(f);
	snprintf(f->base, sizeof(f->base), "/tmp/vigil-test-run.XXXXXX");
	assert_non_null(mkdtemp(f->base));
	snprintf(f->tree, sizeof(f->tree), "%s/tree", f->base);
	snprintf(f->state, sizeof(f->state), "%s/state", f->base);
	assert_int_equal(mkdir(f->tree, 0755), 0);
	snprintf(p, sizeof(p), "%s/etc", f->tree);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/bin", f->tree);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/etc", f->tree);
	put(p, "content", "one\n");
	put(p, "mode", "two\n");
	put(p, "gone", "three\n");
	snprintf(p, sizeof(p), "%s/bin", f->tree);
	put(p, "tool", "four\n");
	/* etc compares content only (mode changes are not differences there);
	 * bin compares everything, critical */
	snprintf(yaml, sizeof(yaml),
		 "state_dir: %s\nscopes:\n"
		 "  - name: etc\n    paths: [%s/etc]\n    attributes: [content]\n    severity: low\n"
		 "  - name: bin\n    paths: [%s/bin]\n    severity: critical\n",
		 f->state, f->tree, f->tree);
	assert_int_equal(vigil_config_parse("test", yaml, strlen(yaml), &f->cfg, &err), 0);
	*state = f;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	vigil_config_free(f->cfg);
	free(f);
	return 0;
}

#define MAX_SEEN 32
struct seen {
	int n, matches;
	char path[MAX_SEEN][256];
	char action[MAX_SEEN][32];
	char scope[MAX_SEEN][64];
	int severity[MAX_SEEN];
	unsigned changed[MAX_SEEN];
	int started;
};

static int on_diff(void *arg, const struct vigil_run_diff *d)
{
	struct seen *s = arg;

	assert_non_null(d->path); /* no Docker here */
	if (!d->action) {
		s->matches++;
		return 0;
	}
	assert_true(s->n < MAX_SEEN);
	snprintf(s->path[s->n], sizeof(s->path[0]), "%.*s", (int)d->path_len, d->path);
	snprintf(s->action[s->n], sizeof(s->action[0]), "%s", d->action);
	snprintf(s->scope[s->n], sizeof(s->scope[0]), "%s", d->scope);
	s->severity[s->n] = d->severity;
	s->changed[s->n] = d->changed;
	s->n++;
	return 0;
}

static void on_started(void *arg, const struct vigil_generation *gen)
{
	((struct seen *)arg)->started = (int)gen->id;
}

static int find(const struct seen *s, const struct fx *f, const char *rel)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", f->tree, rel);
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->path[i], p))
			return i;
	return -1;
}

static struct vigil_run_opts opts(struct fx *f, struct seen *s)
{
	struct vigil_run_opts o = {
		.cfg = f->cfg, .state_dir = f->state, .kind = "baseline", .flags = VIGIL_RUN_CREATE_KEY,
		.diff = on_diff, .diff_arg = s, .started = on_started, .started_arg = s,
	};
	return o;
}

static void baseline(struct fx *f)
{
	struct seen s = { 0 };
	struct vigil_run_opts o = opts(f, &s);
	struct vigil_run_result res;
	struct vigil_err err = { "" };

	assert_int_equal(vigil_run_baseline(&o, &res, &err), 0);
	assert_true(res.gen.id >= 1);
	assert_int_equal(res.unreadable, 0);
	assert_int_equal(res.stats.files, 4);
}

static void test_baseline_then_check(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0 };
	struct vigil_run_opts o = opts(f, &s);
	struct vigil_run_result res;
	struct vigil_err err = { "" };
	char p[256];
	static const struct {
		const char *rel, *action, *scope;
		int severity;
		unsigned changed;
	} want[] = {
		{ "etc/content", VIGIL_ACTION_CHANGED, "etc", VIGIL_SEV_LOW, VIGIL_ATTR_SIZE | VIGIL_ATTR_HASH },
		{ "etc/gone", VIGIL_ACTION_REMOVED, "etc", VIGIL_SEV_LOW, 0 },
		{ "etc/new", VIGIL_ACTION_ADDED, "etc", VIGIL_SEV_LOW, 0 },
		{ "bin/tool", VIGIL_ACTION_CHANGED, "bin", VIGIL_SEV_CRITICAL, VIGIL_ATTR_MODE | VIGIL_ATTR_CTIME },
	};

	baseline(f);
	o.flags = 0;
	assert_int_equal(vigil_run_check(&o, &res, &err), 0);
	assert_int_equal(vigil_tally_diffs(&res.t), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.started, (int)res.gen.id);

	snprintf(p, sizeof(p), "%s/etc", f->tree);
	put(p, "content", "one, changed\n");
	put(p, "new", "new\n");
	snprintf(p, sizeof(p), "%s/etc/gone", f->tree);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/etc/mode", f->tree);
	assert_int_equal(chmod(p, 0600), 0); /* outside etc's mask: no difference */
	snprintf(p, sizeof(p), "%s/bin/tool", f->tree);
	assert_int_equal(chmod(p, 04755), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(vigil_run_check(&o, &res, &err), 0);
	assert_int_equal(res.t.added, 1);
	assert_int_equal(res.t.removed, 1);
	assert_int_equal(res.t.changed, 2); /* etc/content, bin/tool */
	assert_int_equal(find(&s, f, "etc/mode"), -1);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int at = find(&s, f, want[i].rel);

		print_message("%s\n", want[i].rel);
		assert_true(at >= 0);
		assert_string_equal(s.action[at], want[i].action);
		assert_string_equal(s.scope[at], want[i].scope);
		assert_int_equal(s.severity[at], want[i].severity);
		assert_int_equal(s.changed[at], want[i].changed);
	}
}

/* What the daemon's rescans ask: some paths only, covered scopes only, and
 * matching paths too (so that a restore can be said). */
static void test_rescan_flags(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0 };
	struct vigil_run_opts o = opts(f, &s);
	struct vigil_run_result res;
	struct vigil_err err = { "" };
	struct vigil_config watched;
	char p[256], only_bin[256];
	const char *only[2] = { only_bin, NULL };

	baseline(f);
	snprintf(p, sizeof(p), "%s/etc", f->tree);
	put(p, "content", "changed\n");
	snprintf(p, sizeof(p), "%s/bin/tool", f->tree);
	assert_int_equal(chmod(p, 0700), 0);

	/* only below bin: etc's change is not looked at */
	snprintf(only_bin, sizeof(only_bin), "%s/bin", f->tree);
	o.flags = VIGIL_RUN_NO_VERIFY | VIGIL_RUN_ALL_PATHS;
	o.gen = 1;
	o.only = only;
	assert_int_equal(vigil_run_check(&o, &res, &err), 0);
	assert_int_equal(s.n, 1);
	assert_true(find(&s, f, "bin/tool") >= 0);
	assert_true(s.matches >= 1); /* the bin dir itself, reported as matching */

	/* Docker objects only (the daemon after a change in a layer): no walk at all */
	memset(&s, 0, sizeof(s));
	o.only = NULL;
	o.flags = VIGIL_RUN_NO_VERIFY | VIGIL_RUN_NO_FILES;
	assert_int_equal(vigil_run_check(&o, &res, &err), 0);
	assert_int_equal(s.n + s.matches, 0);
	assert_int_equal(res.stats.files + res.stats.dirs, 0);

	/* a config of the bin scope only, covered only: etc's records are not "removed" */
	watched = *f->cfg;
	watched.scopes = &f->cfg->scopes[1];
	watched.n_scopes = 1;
	memset(&s, 0, sizeof(s));
	o.cfg = &watched;
	o.only = NULL;
	o.flags = VIGIL_RUN_NO_VERIFY | VIGIL_RUN_COVERED_ONLY;
	assert_int_equal(vigil_run_check(&o, &res, &err), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(res.t.removed, 0);
	/* without COVERED_ONLY they are removed; their scope is not in this config:
	 * the default settings apply */
	memset(&s, 0, sizeof(s));
	o.flags = VIGIL_RUN_NO_VERIFY;
	assert_int_equal(vigil_run_check(&o, &res, &err), 0);
	assert_int_equal(res.t.removed, 4); /* etc and its three files */
	assert_int_equal(s.severity[find(&s, f, "etc/gone")], VIGIL_SEV_MEDIUM);
}

static void test_accept(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0 };
	struct vigil_run_opts o = opts(f, &s);
	struct vigil_run_result res;
	struct vigil_err err = { "" };
	char p[256], etc[256];
	const char *paths[2] = { etc, NULL };

	baseline(f);
	snprintf(p, sizeof(p), "%s/etc", f->tree);
	put(p, "content", "accepted\n");
	snprintf(p, sizeof(p), "%s/bin/tool", f->tree);
	assert_int_equal(chmod(p, 0700), 0);
	snprintf(etc, sizeof(etc), "%s/etc", f->tree);
	assert_int_equal(vigil_run_accept(&o, paths, 1, &res, &err), 0);
	assert_int_equal(res.gen.id, 2);
	o.flags = 0;
	assert_int_equal(vigil_run_check(&o, &res, &err), 0);
	assert_int_equal(vigil_tally_diffs(&res.t), 1); /* bin/tool was not accepted */
	assert_true(find(&s, f, "bin/tool") >= 0);
}

static void test_refused(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0 };
	struct vigil_run_opts o = opts(f, &s);
	struct vigil_run_result res;
	struct vigil_err err = { "" };
	char p[256];

	o.flags = 0;
	assert_int_equal(vigil_run_check(&o, &res, &err), -ENOENT); /* no store yet */
	baseline(f);
	/* another key: the signature no longer verifies */
	snprintf(p, sizeof(p), "%s/vigil.pub", f->state);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/vigil.key", f->state);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(vigil_sign_keygen(f->state, 0, &err), 0);
	assert_true(vigil_run_check(&o, &res, &err) < 0);
	assert_non_null(strstr(err.msg, "refusing baseline"));
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_baseline_then_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rescan_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};
	struct vigil_err err = { "" };

	if (vigil_crypto_init(&err))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
