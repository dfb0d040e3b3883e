/* test_scope.c - scope selection from the path alone, the state dir that
 * belongs to no scope, and vigil_scope_lint()'s warnings (issue 8, defect 10):
 * one row per config, with the warnings it must give. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/config.h"
#include "vigil/scope.h"

static struct vigil_config *parse_ok(const char *text)
{
	struct vigil_config *cfg = NULL;
	struct vigil_err err = { "" };

	if (vigil_config_parse("t.yaml", text, strlen(text), &cfg, &err))
		fail_msg("%s\n=> %s", text, err.msg);
	return cfg;
}

static const char *scope_of(const struct vigil_config *cfg, const char *path)
{
	const struct vigil_scope *s = vigil_scope_for(cfg, path, strlen(path));

	return s ? s->name : "-";
}

static void test_scope_for(void **state)
{
	static const struct {
		const char *path, *scope;
	} v[] = {
		{ "/etc/ssh/sshd_config", "ssh" },
		{ "/etc/ssh", "ssh" },
		{ "/etc/passwd", "etc" },
		{ "/etc", "etc" },
		{ "/etc/vigil", "-" },          /* the state dir */
		{ "/etc/vigil/baseline.db", "-" },
		{ "/etc/vigilx", "etc" },       /* not below it: a sibling */
		{ "/etc/skip/x", "-" },         /* excluded */
		{ "/usr/bin/dockerd", "bins" }, /* glob path, depth 0 */
		{ "/usr/bin/sub/x", "-" },      /* deeper than depth 0 below the glob */
		{ "/usr/bin/docker/", "bins" }, /* trailing slash */
		{ "/var/x", "-" },
	};
	struct vigil_config *cfg = parse_ok("state_dir: /etc/vigil/\n"
					    "scopes:\n"
					    "  - {name: ssh, paths: [/etc/ssh]}\n"
					    "  - {name: etc, paths: [/etc], exclude: [/etc/skip]}\n"
					    "  - {name: bins, paths: [\"/usr/bin/*\"], depth: 0}\n");

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (strcmp(scope_of(cfg, v[i].path), v[i].scope))
			fail_msg("%s: scope %s, want %s", v[i].path, scope_of(cfg, v[i].path), v[i].scope);
	vigil_config_free(cfg);
}

struct said {
	char text[4096];
	size_t warnings, notes;
};

static void collect(void *arg, int is_warning, const char *msg)
{
	struct said *s = arg;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "%s%s\n", is_warning ? "W " : "N ", msg);
	if (is_warning)
		s->warnings++;
	else
		s->notes++;
}

static void test_lint(void **state)
{
	static const struct {
		const char *yaml;
		size_t warnings, notes;
		const char *want; /* a substring of what is said, or NULL */
	} v[] = {
		/* broad first: the specific one never gets its paths */
		{ "scopes: [{name: broad, paths: [/etc]}, {name: ssh, paths: [/etc/ssh]}]", 1, 0,
		  "W scope 'broad' (path '/etc') shadows the later scope 'ssh' (path '/etc/ssh')" },
		/* specific first: fine */
		{ "scopes: [{name: ssh, paths: [/etc/ssh]}, {name: broad, paths: [/etc]}]", 0, 0, NULL },
		/* the same path twice */
		{ "scopes: [{name: a, paths: [/srv]}, {name: b, paths: [/srv/]}]", 1, 0, "'a' (path '/srv')" },
		/* "/" reaches everything */
		{ "scopes: [{name: all, paths: [/]}, {name: b, paths: [/usr/bin]}]", 1, 1, "'all' (path '/')" },
		/* an exclude or a depth that stops the broad scope first: fine */
		{ "scopes: [{name: a, paths: [/etc], exclude: [/etc/ssh]}, {name: b, paths: [/etc/ssh/x]}]", 0, 0,
		  NULL },
		{ "scopes: [{name: a, paths: [/usr], depth: 0}, {name: b, paths: [/usr/bin]}]", 0, 0, NULL },
		{ "scopes: [{name: a, paths: [/usr], depth: 1}, {name: b, paths: [/usr/bin]}]", 1, 0, NULL },
		/* globs on either side */
		{ "scopes: [{name: a, paths: [\"/usr/bin/docker*\"]}, {name: b, paths: [/usr/bin/dockerd]}]", 1, 0,
		  NULL },
		{ "scopes: [{name: a, paths: [/usr/bin]}, {name: b, paths: [\"/usr/bin/docker*\"]}]", 1, 0, NULL },
		{ "scopes: [{name: a, paths: [\"/usr/bin/docker*\"]}, {name: b, paths: [/usr/bin]}]", 0, 0, NULL },
		{ "scopes: [{name: a, paths: [/opt/x]}, {name: b, paths: [/opt/y]}]", 0, 0, NULL },
		/* one warning per pair, one per later scope it shadows */
		{ "scopes: [{name: a, paths: [/]}, {name: b, paths: [/x, /y]}, {name: c, paths: [/z]}]", 2, 1, NULL },
		/* the state dir inside a scope: a note, not a warning */
		{ "state_dir: /etc/vigil\nscopes: [{name: etc, paths: [/etc]}]", 0, 1,
		  "N state dir '/etc/vigil' is inside scope 'etc'" },
		{ "state_dir: /var/lib/vigil\nscopes: [{name: etc, paths: [/etc]}]", 0, 0, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct vigil_config *cfg = parse_ok(v[i].yaml);
		struct said s = { "", 0, 0 };
		size_t n = vigil_scope_lint(cfg, collect, &s);

		if (n != v[i].warnings || s.warnings != v[i].warnings || s.notes != v[i].notes ||
		    (v[i].want && !strstr(s.text, v[i].want)))
			fail_msg("row %zu (%s): %zu warnings, %zu notes:\n%swant %zu, %zu, '%s'", i, v[i].yaml,
				 s.warnings, s.notes, s.text, v[i].warnings, v[i].notes, v[i].want ? v[i].want : "");
		vigil_config_free(cfg);
	}
}

/* The embedded default has no trap. */
static void test_default_clean(void **state)
{
	struct vigil_config *cfg = NULL;
	struct vigil_err err = { "" };
	struct said s = { "", 0, 0 };

	(void)state;
	assert_int_equal(vigil_config_load_embedded(&cfg, &err), 0);
	if (vigil_scope_lint(cfg, collect, &s) || s.notes)
		fail_msg("the default config: %s", s.text);
	vigil_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scope_for),
		cmocka_unit_test(test_lint),
		cmocka_unit_test(test_default_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
