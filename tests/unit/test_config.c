/* test_config.c - the config parser: the embedded default, a file with every
 * key set, defaults, value syntax, and one row per kind of error with the
 * exact file:line:column, key path and expectation of its message. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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
#include "vigil/record.h"

#define SC "scopes: [{name: a, paths: [/x]}]\n"
#define SCOPE_A "scopes:\n  - name: a\n    paths: [/x]\n"

static struct vigil_config *parse_ok(const char *text)
{
	struct vigil_config *cfg = NULL;
	struct vigil_err err = { "" };
	int rc = vigil_config_parse("t.yaml", text, strlen(text), &cfg, &err);

	if (rc)
		fail_msg("unexpected error %d for:\n%s\n=> %s", rc, text, err.msg);
	assert_non_null(cfg);
	return cfg;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static const char *srcdir(void)
{
	const char *s = getenv("top_srcdir");

	return s && *s ? s : ".";
}

static void srcpath(char *buf, size_t size, const char *rel)
{
	assert_true((size_t)snprintf(buf, size, "%s/%s", srcdir(), rel) < size);
}

/* ---- good files ------------------------------------------------------- */

static const struct vigil_scope *scope(const struct vigil_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_scopes; i++)
		if (!strcmp(cfg->scopes[i].name, name))
			return &cfg->scopes[i];
	fail_msg("no scope '%s'", name);
	return NULL;
}

static int has(const struct vigil_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return 1;
	return 0;
}

static void test_embedded_default(void **state)
{
	static const char *const docker_paths[] = {
		"/usr/bin/docker*", "/usr/bin/containerd*", "/usr/sbin/runc", "/usr/bin/runc",
	};
	struct vigil_config *cfg = NULL;
	struct vigil_err err = { "" };
	const struct vigil_scope *s;

	(void)state;
	assert_int_equal(vigil_config_load_embedded(&cfg, &err), 0);
	assert_string_equal(cfg->source, "(embedded default)");
	assert_string_equal(cfg->state_dir, "/var/lib/vigil");
	assert_int_equal(cfg->algos, VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256));
	assert_int_equal(cfg->threads, 0);
	assert_int_equal(cfg->max_file_size, 0);
	assert_int_equal(cfg->debounce_ms, 300);
	assert_int_equal(cfg->rescan_interval_s, 300);
	assert_string_equal(cfg->control_socket, "/run/vigil/control.sock");
	assert_string_equal(cfg->pid_file, "/run/vigil/vigil.pid");
	assert_int_equal(cfg->audit_enabled, 1);
	assert_int_equal(cfg->audit_install_rules, 1);
	assert_int_equal(cfg->audit_execve, 1);
	assert_int_equal(cfg->audit_execve_rules, 0);
	assert_int_equal(cfg->audit_window_ms, 2000);
	assert_int_equal(cfg->audit_exec_rate, 1000);

	s = scope(cfg, "docker-binaries");
	for (size_t i = 0; i < sizeof(docker_paths) / sizeof(docker_paths[0]); i++)
		assert_true(has(&s->paths, docker_paths[i]));
	assert_int_equal(s->severity, VIGIL_SEV_CRITICAL);
	assert_true(s->watch && s->critical);
	s = scope(cfg, "docker-configs");
	assert_true(has(&s->paths, "/etc/docker") && has(&s->paths, "/etc/default/docker"));
	assert_true(s->severity >= VIGIL_SEV_HIGH && s->watch);
	s = scope(cfg, "docker-units");
	assert_true(has(&s->paths, "/lib/systemd/system/docker.*"));
	assert_true(has(&s->paths, "/lib/systemd/system/containerd.*"));
	assert_true(has(&s->paths, "/etc/systemd/system/docker.*"));
	assert_true(s->severity >= VIGIL_SEV_HIGH && s->watch);
	assert_int_equal(scope(cfg, "docker-engine-binaries")->auto_kind, VIGIL_AUTO_DOCKER_BINARIES);
	assert_int_equal(scope(cfg, "docker-engine-configs")->auto_kind, VIGIL_AUTO_DOCKER_CONFIGS);
	s = scope(cfg, "docker-layers");
	assert_int_equal(s->auto_kind, VIGIL_AUTO_DOCKER_LAYERS);
	assert_int_equal(s->paths.n, 0);
	assert_true(s->severity >= VIGIL_SEV_HIGH && s->watch);
	s = scope(cfg, "host-etc");
	assert_true(has(&s->paths, "/etc") && has(&s->exclude, "/etc/docker"));
	assert_int_equal(s->severity, VIGIL_SEV_MEDIUM);
	assert_int_equal(s->attrs, VIGIL_ATTR_ALL);
	assert_int_equal(s->depth, -1);
	assert_int_equal(s->one_filesystem, 1);
	s = scope(cfg, "host-binaries");
	assert_true(has(&s->paths, "/usr/bin") && has(&s->paths, "/usr/sbin"));
	assert_true(has(&scope(cfg, "host-systemd")->paths, "/usr/lib/systemd"));
	assert_int_equal(scope(cfg, "docker-sockets")->attrs,
			 VIGIL_ATTR_TYPE | VIGIL_ATTR_MODE | VIGIL_ATTR_UID | VIGIL_ATTR_GID);

	assert_int_equal(cfg->n_outputs, 1);
	assert_int_equal(cfg->outputs[0].type, VIGIL_OUT_SYSLOG);
	assert_string_equal(cfg->outputs[0].target, "local");
	assert_int_equal(cfg->outputs[0].facility, 3);
	assert_int_equal(cfg->n_schedules, 1);
	assert_int_equal(cfg->schedules[0].action, VIGIL_SCHED_CHECK);
	assert_int_equal(cfg->schedules[0].every_s, 3600);
	assert_int_equal(cfg->schedules[0].at_min, -1);
	vigil_config_free(cfg);
}

/* The embedded default is etc/vigil.yaml byte for byte, and that file both
 * loads and documents every key the parser knows. */
static void test_default_is_etc_file(void **state)
{
	static const char *const keys[] = {
		"state_dir", "hash", "threads", "max_file_size", "scopes", "name", "paths", "auto",
		"include", "exclude", "depth", "one_filesystem", "attributes", "severity", "watch",
		"critical", "debounce_ms", "rescan_interval", "control_socket", "pid_file",
		"outputs", "type", "path", "target", "facility", "backlog", "schedule", "action",
		"every", "at", "audit", "enabled", "install_rules", "execve", "window_ms", "exec_rate",
		"execve_rules", "packages", "explain", "auto_accept", "dpkg_wait",
	};
	struct vigil_config *cfg = NULL;
	struct vigil_err err = { "" };
	char path[4096], pat[64];
	size_t len;
	char *text;

	(void)state;
	srcpath(path, sizeof(path), "etc/vigil.yaml");
	text = slurp(path, &len);
	assert_string_equal(vigil_config_default_text(), text);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(pat, sizeof(pat), "%s:", keys[i]);
		if (!strstr(text, pat))
			fail_msg("key '%s' is not documented in etc/vigil.yaml", keys[i]);
	}
	assert_int_equal(vigil_config_load(path, &cfg, &err), 0);
	assert_string_equal(cfg->source, path);
	assert_int_equal(cfg->n_scopes, 10);
	vigil_config_free(cfg);
	free(text);
}

static void test_every_key(void **state)
{
	struct vigil_config *cfg = NULL;
	struct vigil_err err = { "" };
	const struct vigil_scope *s;
	const struct vigil_output *o;
	char path[4096];

	(void)state;
	srcpath(path, sizeof(path), "tests/fixtures/config/full.yaml");
	if (vigil_config_load(path, &cfg, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(cfg->state_dir, "/srv/vigil/state");
	assert_int_equal(cfg->algos, VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256) | VIGIL_ALGO_BIT(VIGIL_ALGO_SHA512) |
					     VIGIL_ALGO_BIT(VIGIL_ALGO_BLAKE2B512) |
					     VIGIL_ALGO_BIT(VIGIL_ALGO_SHA3_256));
	assert_int_equal(cfg->threads, 3);
	assert_int_equal(cfg->max_file_size, 64ull << 20);

	assert_int_equal(cfg->n_scopes, 2);
	s = &cfg->scopes[0];
	assert_string_equal(s->name, "every-key");
	assert_int_equal(s->auto_kind, VIGIL_AUTO_NONE);
	assert_int_equal(s->paths.n, 2);
	assert_string_equal(s->paths.v[0], "/opt/a");
	assert_string_equal(s->paths.v[1], "/opt/b*/c");
	assert_int_equal(s->include.n, 2);
	assert_string_equal(s->include.v[0], "/opt/*.conf");
	assert_string_equal(s->include.v[1], "*/bin/*");
	assert_int_equal(s->exclude.n, 1);
	assert_string_equal(s->exclude.v[0], "/opt/a/tmp");
	assert_int_equal(s->depth, 4);
	assert_int_equal(s->one_filesystem, 0);
	assert_int_equal(s->attrs, VIGIL_ATTR_TYPE | VIGIL_ATTR_MODE | VIGIL_ATTR_UID | VIGIL_ATTR_GID |
					   VIGIL_ATTR_XATTRS | VIGIL_ATTR_HASH);
	assert_int_equal(s->severity, VIGIL_SEV_LOW);
	assert_int_equal(s->watch, 1);
	assert_int_equal(s->critical, 1);
	s = &cfg->scopes[1];
	assert_string_equal(s->name, "auto_layers.1");
	assert_int_equal(s->auto_kind, VIGIL_AUTO_DOCKER_LAYERS);
	assert_int_equal(s->paths.n, 0);
	assert_int_equal(s->severity, VIGIL_SEV_HIGH);
	/* scope defaults */
	assert_int_equal(s->depth, -1);
	assert_int_equal(s->one_filesystem, 1);
	assert_int_equal(s->attrs, VIGIL_ATTR_DEFAULT);
	assert_int_equal(s->watch, 0);
	assert_int_equal(s->critical, 0);

	assert_int_equal(cfg->debounce_ms, 150);
	assert_int_equal(cfg->rescan_interval_s, 7200);
	assert_string_equal(cfg->control_socket, "/run/v/c.sock");
	assert_string_equal(cfg->pid_file, "/run/v/v.pid");

	assert_int_equal(cfg->n_outputs, 4);
	o = &cfg->outputs[0];
	assert_int_equal(o->type, VIGIL_OUT_JSONL);
	assert_string_equal(o->path, "/var/log/vigil/events.jsonl");
	assert_null(o->target);
	o = &cfg->outputs[1];
	assert_int_equal(o->type, VIGIL_OUT_SYSLOG);
	assert_string_equal(o->target, "tcp://[2001:db8::1]:6514");
	assert_int_equal(o->facility, 23);
	assert_int_equal(o->backlog, 5000);
	assert_null(o->path);
	o = &cfg->outputs[2];
	assert_int_equal(o->type, VIGIL_OUT_SYSLOG);
	assert_null(o->target);
	assert_int_equal(o->facility, 3);
	assert_int_equal(o->backlog, 1000);
	assert_int_equal(cfg->outputs[3].type, VIGIL_OUT_STDOUT);

	assert_int_equal(cfg->n_schedules, 2);
	assert_int_equal(cfg->schedules[0].action, VIGIL_SCHED_BASELINE);
	assert_int_equal(cfg->schedules[0].at_min, 3 * 60 + 30);
	assert_int_equal(cfg->schedules[0].every_s, 0);
	assert_int_equal(cfg->schedules[1].action, VIGIL_SCHED_CHECK);
	assert_int_equal(cfg->schedules[1].every_s, 15 * 60);
	assert_int_equal(cfg->schedules[1].at_min, -1);

	assert_int_equal(cfg->audit_enabled, 0);
	assert_int_equal(cfg->audit_install_rules, 0);
	assert_int_equal(cfg->audit_execve, 1);
	assert_int_equal(cfg->audit_window_ms, 500);
	assert_int_equal(cfg->audit_exec_rate, 0);
	vigil_config_free(cfg);
}

/* A file that only has a scope gets the documented defaults. */
static void test_minimal_defaults(void **state)
{
	struct vigil_config *cfg = NULL, *def = NULL;
	struct vigil_err err = { "" };
	char path[4096];

	(void)state;
	srcpath(path, sizeof(path), "tests/fixtures/config/minimal.yaml");
	if (vigil_config_load(path, &cfg, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(vigil_config_load_embedded(&def, &err), 0);
	assert_int_equal(cfg->n_scopes, 1);
	assert_string_equal(cfg->scopes[0].name, "etc");
	assert_int_equal(cfg->scopes[0].severity, VIGIL_SEV_MEDIUM);
	assert_string_equal(cfg->state_dir, def->state_dir);
	assert_int_equal(cfg->algos, def->algos);
	assert_int_equal(cfg->threads, def->threads);
	assert_int_equal(cfg->max_file_size, def->max_file_size);
	assert_int_equal(cfg->debounce_ms, def->debounce_ms);
	assert_int_equal(cfg->rescan_interval_s, def->rescan_interval_s);
	assert_string_equal(cfg->control_socket, def->control_socket);
	assert_string_equal(cfg->pid_file, def->pid_file);
	assert_int_equal(cfg->audit_enabled, def->audit_enabled);
	assert_int_equal(cfg->audit_install_rules, def->audit_install_rules);
	assert_int_equal(cfg->audit_execve, def->audit_execve);
	assert_int_equal(cfg->audit_window_ms, def->audit_window_ms);
	assert_int_equal(cfg->audit_exec_rate, def->audit_exec_rate);
	/* outputs absent: stdout; schedule absent: none */
	assert_int_equal(cfg->n_outputs, 1);
	assert_int_equal(cfg->outputs[0].type, VIGIL_OUT_STDOUT);
	assert_int_equal(cfg->n_schedules, 0);
	vigil_config_free(cfg);
	vigil_config_free(def);

	cfg = parse_ok(SC "outputs: []\n");
	assert_int_equal(cfg->n_outputs, 0);
	vigil_config_free(cfg);
}

/* ---- value syntax, table-driven --------------------------------------- */

enum field { F_STATE_DIR, F_PATH0, F_SIZE, F_RESCAN, F_EVERY, F_ATTRS, F_WATCH, F_DEPTH, F_AT };

static const struct value_case {
	const char *text;
	enum field field;
	const char *want_str;
	uint64_t want;
} value_cases[] = {
	{ "state_dir: //x//y/\n" SC, F_STATE_DIR, "/x/y", 0 },
	{ "state_dir: /\n" SC, F_STATE_DIR, "/", 0 },
	{ "state_dir: ///\n" SC, F_STATE_DIR, "/", 0 },
	{ "state_dir: \"/a b/.c/..d\"\n" SC, F_STATE_DIR, "/a b/.c/..d", 0 },
	{ "scopes: [{name: a, paths: [\"/usr/bin/docker*/\"]}]", F_PATH0, "/usr/bin/docker*", 0 },
	{ "max_file_size: 0\n" SC, F_SIZE, NULL, 0 },
	{ "max_file_size: 1K\n" SC, F_SIZE, NULL, 1024 },
	{ "max_file_size: 3G\n" SC, F_SIZE, NULL, 3ull << 30 },
	{ "max_file_size: 2TiB\n" SC, F_SIZE, NULL, 2ull << 40 },
	{ "max_file_size: 18446744073709551615\n" SC, F_SIZE, NULL, UINT64_MAX },
	{ "max_file_size: 16777215T\n" SC, F_SIZE, NULL, 16777215ull << 40 },
	{ "watch: {rescan_interval: 0}\n" SC, F_RESCAN, NULL, 0 },
	{ "watch: {rescan_interval: 90s}\n" SC, F_RESCAN, NULL, 90 },
	{ "watch: {rescan_interval: 2d}\n" SC, F_RESCAN, NULL, 2 * 86400 },
	{ "schedule: [{action: check, every: 30s}]\n" SC, F_EVERY, NULL, 30 },
	{ "schedule: [{action: check, every: 45}]\n" SC, F_EVERY, NULL, 45 },
	{ "schedule: [{action: check, every: 1d}]\n" SC, F_EVERY, NULL, 86400 },
	{ "schedule: [{action: baseline, at: \"00:00\"}]\n" SC, F_AT, NULL, 0 },
	{ "schedule: [{action: baseline, at: \"23:59\"}]\n" SC, F_AT, NULL, 23 * 60 + 59 },
	{ "scopes: [{name: a, paths: [/x], attributes: [content]}]", F_ATTRS, NULL,
	  VIGIL_ATTR_TYPE | VIGIL_ATTR_SIZE | VIGIL_ATTR_HASH | VIGIL_ATTR_TARGET },
	{ "scopes: [{name: a, paths: [/x], attributes: [all, -mtime, -ctime]}]", F_ATTRS, NULL,
	  VIGIL_ATTR_ALL & ~(VIGIL_ATTR_MTIME | VIGIL_ATTR_CTIME) },
	{ "scopes: [{name: a, paths: [/x], attributes: [mode, ino, -mode, uid]}]", F_ATTRS, NULL,
	  VIGIL_ATTR_INODE | VIGIL_ATTR_UID },
	{ "scopes: [{name: a, paths: [/x], watch: true}]", F_WATCH, NULL, 1 },
	{ "scopes: [{name: a, paths: [/x], watch: True}]", F_WATCH, NULL, 1 },
	{ "scopes: [{name: a, paths: [/x], watch: on}]", F_WATCH, NULL, 1 },
	{ "scopes: [{name: a, paths: [/x], watch: \"yes\"}]", F_WATCH, NULL, 1 },
	{ "scopes: [{name: a, paths: [/x], watch: off}]", F_WATCH, NULL, 0 },
	{ "scopes: [{name: a, paths: [/x], watch: no}]", F_WATCH, NULL, 0 },
	{ "scopes: [{name: a, paths: [/x], depth: 0}]", F_DEPTH, NULL, 0 },
	{ "scopes: [{name: a, paths: [/x], depth: 65535}]", F_DEPTH, NULL, 65535 },
	{ "scopes: [{name: a, paths: [/x], depth: -1}]", F_DEPTH, NULL, (uint64_t)-1 },
};

static void test_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]); i++) {
		const struct value_case *t = &value_cases[i];
		struct vigil_config *cfg = parse_ok(t->text);
		const char *got_str = NULL;
		uint64_t got = 0;

		switch (t->field) {
		case F_STATE_DIR: got_str = cfg->state_dir; break;
		case F_PATH0: got_str = cfg->scopes[0].paths.v[0]; break;
		case F_SIZE: got = cfg->max_file_size; break;
		case F_RESCAN: got = (uint64_t)cfg->rescan_interval_s; break;
		case F_EVERY: got = cfg->schedules[0].every_s; break;
		case F_AT: got = (uint64_t)cfg->schedules[0].at_min; break;
		case F_ATTRS: got = cfg->scopes[0].attrs; break;
		case F_WATCH: got = (uint64_t)cfg->scopes[0].watch; break;
		case F_DEPTH: got = (uint64_t)(int64_t)cfg->scopes[0].depth; break;
		}
		if (t->want_str && strcmp(got_str, t->want_str))
			fail_msg("case %zu: got '%s', want '%s'", i, got_str, t->want_str);
		if (!t->want_str && got != t->want)
			fail_msg("case %zu: got %llu, want %llu", i, (unsigned long long)got,
				 (unsigned long long)t->want);
		vigil_config_free(cfg);
	}
}

/* ---- errors, table-driven: the exact message -------------------------- */

static const struct error_case {
	const char *text;
	const char *msg;
} error_cases[] = {
	/* enum value */
	{ SCOPE_A "    severity: hgih\n",
	  "t.yaml:4:15: key 'scopes[0].severity': expected one of low, medium, high, critical, got 'hgih'" },
	/* unknown keys, with the valid ones */
	{ SC "statedir: /x\n",
	  "t.yaml:2:1: key 'statedir': unknown key, valid keys here: state_dir, hash, threads, "
	  "max_file_size, scopes, watch, outputs, schedule, audit, packages, capture, triggers, retention" },
	{ SCOPE_A "    sevrity: high\n",
	  "t.yaml:4:5: key 'scopes[0].sevrity': unknown key, valid keys here: name, paths, auto, "
	  "include, exclude, depth, one_filesystem, attributes, severity, watch, critical" },
	{ SC "watch: {debounce: 1}\n",
	  "t.yaml:2:9: key 'watch.debounce': unknown key, valid keys here: debounce_ms, "
	  "rescan_interval, control_socket, pid_file" },
	{ SC "audit:\n  enable: true\n",
	  "t.yaml:3:3: key 'audit.enable': unknown key, valid keys here: enabled, install_rules, "
	  "execve, execve_rules, window_ms, exec_rate" },
	{ SC "triggers:\n  - {name: t, host: true, containers: ['']}\n",
	  "t.yaml:3:40: key 'triggers[0].containers[0]': expected a glob on a container name or id, got ''" },
	{ SC "packages: {auto_accept: all}\n",
	  "t.yaml:2:25: key 'packages.auto_accept': expected one of none, upgrades, got 'all'" },
	/* duplicates */
	{ "state_dir: /a\nstate_dir: /b\n" SC, "t.yaml:2:1: key 'state_dir': duplicate key (first at line 1)" },
	{ SCOPE_A "    depth: 1\n    depth: 2\n",
	  "t.yaml:5:5: key 'scopes[0].depth': duplicate key (first at line 4)" },
	{ SCOPE_A "  - name: b\n    paths: [/y]\n  - name: a\n    paths: [/z]\n",
	  "t.yaml:6:11: key 'scopes[2].name': duplicate scope name 'a' (first at line 2)" },
	{ "hash: [sha256, SHA256]\n" SC, "t.yaml:1:16: key 'hash[1]': 'sha256' is listed twice" },
	/* paths */
	{ "scopes:\n  - name: a\n    paths: [etc]\n",
	  "t.yaml:3:13: key 'scopes[0].paths[0]': expected an absolute path, got 'etc'" },
	{ "scopes:\n  - name: a\n    paths: [/x, /etc/../root]\n",
	  "t.yaml:3:17: key 'scopes[0].paths[1]': expected a path without '.' or '..' components, "
	  "got '/etc/../root'" },
	{ "scopes:\n  - name: a\n    paths: [/./x]\n",
	  "t.yaml:3:13: key 'scopes[0].paths[0]': expected a path without '.' or '..' components, "
	  "got '/./x'" },
	{ "scopes:\n  - name: a\n    paths: []\n",
	  "t.yaml:3:12: key 'scopes[0].paths': expected a non-empty list of absolute paths" },
	{ "scopes:\n  - name: a\n",
	  "t.yaml:2:5: key 'scopes[0]': missing required key 'paths' (or 'auto')" },
	{ "scopes:\n  - name: a\n    auto: docker-layers\n    paths: [/x]\n",
	  "t.yaml:4:12: key 'scopes[0].paths': 'paths' and 'auto' are exclusive (the Docker "
	  "collector fills the paths of an auto scope)" },
	{ "scopes:\n  - name: a\n    auto: docker\n",
	  "t.yaml:3:11: key 'scopes[0].auto': expected one of docker-binaries, docker-configs, "
	  "docker-layers, got 'docker'" },
	{ SCOPE_A "    exclude: [tmp]\n",
	  "t.yaml:4:15: key 'scopes[0].exclude[0]': expected a glob on the full path (starting "
	  "with '/' or '*'), got 'tmp'" },
	{ SC "watch:\n  control_socket: /run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  "t.yaml:3:19: key 'watch.control_socket': expected a path of at most 107 bytes, got "
	  "'/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'" },
	/* scope names */
	{ "scopes:\n  - paths: [/x]\n", "t.yaml:2:5: key 'scopes[0]': missing required key 'name'" },
	{ "scopes:\n  - name: a b\n    paths: [/x]\n",
	  "t.yaml:2:11: key 'scopes[0].name': expected a name of 1 to 63 characters from "
	  "A-Z a-z 0-9 . _ -, got 'a b'" },
	{ "scopes:\n  - name: \"\"\n    paths: [/x]\n",
	  "t.yaml:2:11: key 'scopes[0].name': expected a name of 1 to 63 characters from "
	  "A-Z a-z 0-9 . _ -, got ''" },
	/* wrong types */
	{ "scopes:\n  - name: a\n    paths: /etc\n",
	  "t.yaml:3:12: key 'scopes[0].paths': expected a list of absolute paths, got a scalar" },
	{ "state_dir: [/a]\n" SC, "t.yaml:1:12: key 'state_dir': expected an absolute path, got a list" },
	{ "state_dir:\n" SC, "t.yaml:1:11: key 'state_dir': expected an absolute path, got an empty value" },
	{ "scopes: {name: a}\n", "t.yaml:1:9: key 'scopes': expected a list, got a mapping" },
	{ "scopes: [a]\n", "t.yaml:1:10: key 'scopes[0]': expected a mapping, got a scalar" },
	{ "scopes: []\n", "t.yaml:1:9: key 'scopes': expected a non-empty list" },
	{ SC "watch: 5\n", "t.yaml:2:8: key 'watch': expected a mapping, got a scalar" },
	{ SC "hash: sha256\n", "t.yaml:2:7: key 'hash': expected a list of digest names, got a scalar" },
	{ SC "threads: [1]\n", "t.yaml:2:10: key 'threads': expected an integer, got a list" },
	{ "state_dir: /x\n", "t.yaml:1:1: missing required key 'scopes'" },
	/* numbers */
	{ SC "threads: -1\n", "t.yaml:2:10: key 'threads': expected a non-negative integer, got '-1'" },
	{ SC "threads: 1025\n", "t.yaml:2:10: key 'threads': expected an integer from 0 to 1024, got '1025'" },
	{ SC "threads: 99999999999999999999\n",
	  "t.yaml:2:10: key 'threads': expected an integer from 0 to 1024, got '99999999999999999999'" },
	{ SC "threads: 0x10\n", "t.yaml:2:10: key 'threads': expected a non-negative integer, got '0x10'" },
	{ SC "threads: +1\n", "t.yaml:2:10: key 'threads': expected a non-negative integer, got '+1'" },
	{ SCOPE_A "    depth: -2\n",
	  "t.yaml:4:12: key 'scopes[0].depth': expected an integer from -1 to 65535, got '-2'" },
	{ SCOPE_A "    depth: 1.5\n", "t.yaml:4:12: key 'scopes[0].depth': expected an integer, got '1.5'" },
	{ SC "max_file_size: 20000000000T\n",
	  "t.yaml:2:16: key 'max_file_size': expected a size below 16 EiB, got '20000000000T'" },
	{ SC "max_file_size: 18446744073709551616\n",
	  "t.yaml:2:16: key 'max_file_size': expected a size below 16 EiB, got '18446744073709551616'" },
	{ SC "max_file_size: 10P\n",
	  "t.yaml:2:16: key 'max_file_size': expected a size in bytes with an optional suffix K, M, G "
	  "or T, got '10P'" },
	{ SC "max_file_size: -1\n",
	  "t.yaml:2:16: key 'max_file_size': expected a size in bytes with an optional suffix K, M, G "
	  "or T, got '-1'" },
	{ SC "watch: {debounce_ms: 60001}\n",
	  "t.yaml:2:22: key 'watch.debounce_ms': expected an integer from 0 to 60000, got '60001'" },
	{ SC "watch: {rescan_interval: 5x}\n",
	  "t.yaml:2:26: key 'watch.rescan_interval': expected a duration (a number with an optional "
	  "suffix s, m, h or d), got '5x'" },
	{ SC "audit: {exec_rate: -5}\n",
	  "t.yaml:2:20: key 'audit.exec_rate': expected a non-negative integer, got '-5'" },
	/* booleans */
	{ SCOPE_A "    watch: maybe\n",
	  "t.yaml:4:12: key 'scopes[0].watch': expected a boolean (true or false), got 'maybe'" },
	{ SC "audit: {enabled: 1}\n",
	  "t.yaml:2:18: key 'audit.enabled': expected a boolean (true or false), got '1'" },
	/* attributes and digests */
	{ SCOPE_A "    attributes: [mode, atime]\n",
	  "t.yaml:4:24: key 'scopes[0].attributes[1]': expected an attribute (type mode uid gid size "
	  "mtime ctime inode dev nlink target xattrs flags hash), a preset (all permissions content) "
	  "or -NAME to remove one, got 'atime'" },
	{ SCOPE_A "    attributes: [mode, -mode]\n",
	  "t.yaml:4:17: key 'scopes[0].attributes': the list selects no attribute" },
	{ SCOPE_A "    attributes: []\n",
	  "t.yaml:4:17: key 'scopes[0].attributes': expected a non-empty list of attributes" },
	{ "hash: [md5]\n" SC,
	  "t.yaml:1:8: key 'hash[0]': expected one of sha256, sha512, blake2b512, sha3-256, got 'md5'" },
	{ "hash: []\n" SC, "t.yaml:1:7: key 'hash': expected a non-empty list of digest names" },
	/* outputs */
	{ "outputs:\n  - type: stdout\n    path: /x\n" SC,
	  "t.yaml:3:11: key 'outputs[0].path': not valid for type stdout (valid: type)" },
	{ "outputs:\n  - type: syslog\n    path: /x\n" SC,
	  "t.yaml:3:11: key 'outputs[0].path': not valid for type syslog (valid: type, target, "
	  "facility, backlog)" },
	{ "outputs:\n  - type: jsonl\n    path: /x\n    backlog: 5\n" SC,
	  "t.yaml:4:14: key 'outputs[0].backlog': not valid for type jsonl (valid: type, path)" },
	{ "outputs:\n  - type: jsonl\n" SC,
	  "t.yaml:2:5: key 'outputs[0]': missing required key 'path' for type jsonl" },
	{ "outputs:\n  - path: /x\n" SC, "t.yaml:2:5: key 'outputs[0]': missing required key 'type'" },
	{ "outputs: [{type: file}]\n" SC,
	  "t.yaml:1:18: key 'outputs[0].type': expected one of jsonl, syslog, stdout, got 'file'" },
	{ "outputs: [{type: syslog, target: udp://h:514}]\n" SC,
	  "t.yaml:1:34: key 'outputs[0].target': expected local or tcp://HOST:PORT, got 'udp://h:514'" },
	{ "outputs: [{type: syslog, target: \"tcp://h:65536\"}]\n" SC,
	  "t.yaml:1:34: key 'outputs[0].target': expected tcp://HOST:PORT with PORT from 1 to 65535, "
	  "got 'tcp://h:65536'" },
	{ "outputs: [{type: syslog, target: \"tcp://h\"}]\n" SC,
	  "t.yaml:1:34: key 'outputs[0].target': expected tcp://HOST:PORT with HOST a name or an "
	  "address, got 'tcp://h'" },
	{ "outputs: [{type: syslog, target: \"tcp://[::1:514\"}]\n" SC,
	  "t.yaml:1:34: key 'outputs[0].target': expected tcp://[IPV6]:PORT, got 'tcp://[::1:514'" },
	{ "outputs: [{type: syslog, facility: local8}]\n" SC,
	  "t.yaml:1:36: key 'outputs[0].facility': expected one of kern, user, mail, daemon, auth, "
	  "syslog, lpr, news, uucp, cron, authpriv, ftp, local0, local1, local2, local3, local4, "
	  "local5, local6, local7, got 'local8'" },
	/* schedule */
	{ "schedule:\n  - action: check\n" SC,
	  "t.yaml:2:5: key 'schedule[0]': missing required key 'every' or 'at'" },
	{ "schedule:\n  - action: check\n    every: 1h\n    at: \"03:00\"\n" SC,
	  "t.yaml:4:9: key 'schedule[0].at': 'every' and 'at' are exclusive" },
	{ "schedule:\n  - action: check\n    at: \"24:00\"\n" SC,
	  "t.yaml:3:9: key 'schedule[0].at': expected a time of day \"HH:MM\" from 00:00 to 23:59, "
	  "got '24:00'" },
	{ "schedule:\n  - action: check\n    at: 3:00\n" SC,
	  "t.yaml:3:9: key 'schedule[0].at': expected a time of day \"HH:MM\" from 00:00 to 23:59, "
	  "got '3:00'" },
	{ "schedule:\n  - action: check\n    every: 0s\n" SC,
	  "t.yaml:3:12: key 'schedule[0].every': expected a duration from 1s to 31622400s, got '0s'" },
	{ "schedule:\n  - action: check\n    every: 367d\n" SC,
	  "t.yaml:3:12: key 'schedule[0].every': expected a duration from 1s to 31622400s, got '367d'" },
	{ "schedule:\n  - action: scan\n    every: 1h\n" SC,
	  "t.yaml:2:13: key 'schedule[0].action': expected one of check, baseline, compliance, procs, got 'scan'" },
	/* YAML itself */
	{ "scopes: [\n",
	  "t.yaml:2:1: yaml syntax error: did not find expected node content (while parsing a flow "
	  "node at line 2 column 1)" },
	{ "a: b: c\n", "t.yaml:1:5: yaml syntax error: mapping values are not allowed in this context" },
	{ "scopes: &s [{name: a, paths: [/x]}]\n",
	  "t.yaml:1:9: anchors and aliases are not supported (anchor '&s')" },
	{ SC "state_dir: *s\n", "t.yaml:2:12: anchors and aliases are not supported (alias '*s')" },
	{ "state_dir: !!str /x\n" SC, "t.yaml:1:12: tags are not supported ('tag:yaml.org,2002:str')" },
	{ "state_dir: \"/a\\0b\"\n" SC,
	  "t.yaml:1:12: key 'state_dir': expected an absolute path, got a value with a NUL byte" },
	{ "state_dir: /\xff\n" SC, "t.yaml:1:13: yaml: invalid leading UTF-8 octet (#FF)" },
	{ "state_dir: /\x01\n" SC, "t.yaml:1:13: yaml: control characters are not allowed (#1)" },
	{ "--- {}\n--- {}\n", "t.yaml:2:1: only one YAML document is allowed" },
	{ "", "t.yaml:1:1: empty config, expected a mapping of settings" },
	{ "# nothing\n", "t.yaml:1:1: empty config, expected a mapping of settings" },
	{ "~\n", "t.yaml:1:1: empty config, expected a mapping of settings" },
	{ "- a\n", "t.yaml:1:1: expected a mapping, got a list" },
	{ "? [a]\n: b\n", "t.yaml:1:3: mapping keys must be scalars" },
	{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	  "t.yaml:1:33: nested deeper than 32 levels" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *t = &error_cases[i];
		struct vigil_config *cfg = (struct vigil_config *)1;
		struct vigil_err err = { "" };
		int rc = vigil_config_parse("t.yaml", t->text, strlen(t->text), &cfg, &err);

		if (rc != -EINVAL)
			fail_msg("case %zu: rc %d, want -EINVAL, for:\n%s", i, rc, t->text);
		assert_null(cfg);
		if (strcmp(err.msg, t->msg))
			fail_msg("case %zu:\n got: %s\nwant: %s", i, err.msg, t->msg);
	}
}

/* Bytes after the limit are refused, not cut; the text need not end in NUL. */
static void test_size_limit(void **state)
{
	size_t n = 1024 * 1024 + 1;
	char *big = malloc(n);
	struct vigil_config *cfg = NULL;
	struct vigil_err err = { "" };

	(void)state;
	assert_non_null(big);
	memset(big, '#', n);
	assert_int_equal(vigil_config_parse("t.yaml", big, n, &cfg, &err), -EINVAL);
	assert_string_equal(err.msg, "t.yaml: 1048577 bytes, larger than the 1048576 byte limit");
	memcpy(big, SC, strlen(SC));
	assert_int_equal(vigil_config_parse("t.yaml", big, n - 1, &cfg, &err), 0);
	assert_int_equal(cfg->n_scopes, 1);
	vigil_config_free(cfg);
	free(big);
}

/* ---- files -------------------------------------------------------------- */

static void test_load_files(void **state)
{
	char dir[] = "/tmp/vigil-test-config.XXXXXX", p[256], link[256], want[512];
	struct vigil_config *cfg = NULL;
	struct vigil_err err = { "" };
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));

	snprintf(p, sizeof(p), "%s/missing.yaml", dir);
	assert_int_equal(vigil_config_load(p, &cfg, &err), -ENOENT);
	assert_null(cfg);
	snprintf(want, sizeof(want), "config file '%s': No such file or directory", p);
	assert_string_equal(err.msg, want);

	assert_int_equal(vigil_config_load(dir, &cfg, &err), -EINVAL);
	snprintf(want, sizeof(want), "config file '%s': not a regular file", dir);
	assert_string_equal(err.msg, want);

	snprintf(p, sizeof(p), "%s/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(vigil_config_load(p, &cfg, &err), -EINVAL);
	snprintf(want, sizeof(want), "config file '%s': not a regular file", p);
	assert_string_equal(err.msg, want);
	unlink(p);

	snprintf(p, sizeof(p), "%s/big.yaml", dir);
	assert_non_null(f = fopen(p, "w"));
	for (int i = 0; i < 1024 * 1024 + 1; i++)
		fputc('#', f);
	fclose(f);
	assert_int_equal(vigil_config_load(p, &cfg, &err), -EINVAL);
	snprintf(want, sizeof(want), "config file '%s': 1048577 bytes, larger than the 1048576 byte limit", p);
	assert_string_equal(err.msg, want);
	unlink(p);

	/* errors in a file name the file; a symlink is followed */
	snprintf(p, sizeof(p), "%s/bad.yaml", dir);
	assert_non_null(f = fopen(p, "w"));
	fputs(SC "threads: many\n", f);
	fclose(f);
	assert_int_equal(vigil_config_load(p, &cfg, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:2:10: key 'threads': expected a non-negative integer, got 'many'", p);
	assert_string_equal(err.msg, want);
	snprintf(link, sizeof(link), "%s/link.yaml", dir);
	assert_int_equal(symlink(p, link), 0);
	assert_int_equal(vigil_config_load(link, &cfg, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:2:10: key 'threads': expected a non-negative integer, got 'many'", link);
	assert_string_equal(err.msg, want);
	assert_non_null(f = fopen(p, "w"));
	fputs(SC, f);
	fclose(f);
	assert_int_equal(vigil_config_load(link, &cfg, &err), 0);
	assert_string_equal(cfg->source, link);
	vigil_config_free(cfg);
	unlink(link);
	unlink(p);
	assert_int_equal(rmdir(dir), 0);
}

static void test_severity_names(void **state)
{
	(void)state;
	assert_string_equal(vigil_severity_name(VIGIL_SEV_LOW), "low");
	assert_string_equal(vigil_severity_name(VIGIL_SEV_MEDIUM), "medium");
	assert_string_equal(vigil_severity_name(VIGIL_SEV_HIGH), "high");
	assert_string_equal(vigil_severity_name(VIGIL_SEV_CRITICAL), "critical");
	assert_string_equal(vigil_severity_name(0), "?");
	vigil_config_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_embedded_default),
		cmocka_unit_test(test_default_is_etc_file),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_load_files),
		cmocka_unit_test(test_severity_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
