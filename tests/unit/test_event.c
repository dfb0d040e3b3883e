/* test_event.c - event rendering (agent/core/event.c): every field of the
 * ECS line, the severity scale, who-data, changes, status, extra JSON, and
 * lossless escaping of paths and symlink targets that are not UTF-8. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "vigil/base64.h"
#include "vigil/config.h"
#include "vigil/event.h"
#include "vigil/record.h"

/* Renders ev and parses the line back; the line must be one JSON object. */
static json_t *render(const struct vigil_event *ev)
{
	char *line = vigil_event_json(ev, "host1");
	json_t *j;

	assert_non_null(line);
	assert_null(strchr(line, '\n'));
	j = json_loads(line, 0, NULL);
	assert_non_null(j);
	free(line);
	return j;
}

static const char *str_at(json_t *j, const char *path)
{
	char buf[256], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && j; tok = strtok_r(NULL, ".", &save))
		j = json_object_get(j, tok);
	return json_is_string(j) ? json_string_value(j) : NULL;
}

static json_int_t int_at(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(json_object_get(j, a), b);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void mkrec(struct vigil_record *r, const char *path, size_t len)
{
	vigil_record_init(r);
	assert_int_equal(vigil_record_set_path(r, path, len), 0);
	r->ftype = VIGIL_FT_REG;
	r->mode = 04755;
	r->uid = 1000;
	r->gid = 50;
	r->ino = 99;
	r->size = 12;
	r->mtime_ns = 1700000000123456789LL;
	r->ctime_ns = 1700000001000000000LL;
	r->algos = VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256);
	memset(r->digest[VIGIL_ALGO_SHA256], 0xab, 32);
}

/* Every top-level field of a file event. */
static void test_file_event_fields(void **state)
{
	struct vigil_record old, cur;
	struct vigil_event ev = { .action = VIGIL_ACTION_CHANGED, .severity = VIGIL_SEV_HIGH, .scope = "bins",
				  .message = "changed", .generation = 7, .source = "check",
				  .time_ns = 1700000000123456789LL };
	json_t *j;

	(void)state;
	mkrec(&old, "/usr/bin/x", 10);
	mkrec(&cur, "/usr/bin/x", 10);
	cur.size = 13;
	cur.mode = 0755;
	ev.old = &old;
	ev.cur = &cur;
	ev.changed = VIGIL_ATTR_SIZE | VIGIL_ATTR_MODE;
	j = render(&ev);
	assert_string_equal(str_at(j, "@timestamp"), "2023-11-14T22:13:20.123456Z");
	assert_string_equal(str_at(j, "event.action"), "file-changed");
	assert_string_equal(str_at(j, "event.kind"), "alert");
	assert_string_equal(str_at(j, "event.module"), "vigil");
	assert_string_equal(str_at(j, "event.dataset"), "vigil.fim");
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(j, "event"), "type"), 0)),
			    "change");
	assert_int_equal(int_at(j, "event", "severity"), 73);
	assert_string_equal(str_at(j, "host.name"), "host1");
	assert_string_equal(str_at(j, "message"), "changed");
	assert_string_equal(str_at(j, "file.path"), "/usr/bin/x");
	assert_string_equal(str_at(j, "file.type"), "file");
	assert_string_equal(str_at(j, "file.mode"), "0755");
	assert_string_equal(str_at(j, "file.uid"), "1000");
	assert_string_equal(str_at(j, "file.gid"), "50");
	assert_string_equal(str_at(j, "file.inode"), "99");
	assert_int_equal(int_at(j, "file", "size"), 13);
	assert_string_equal(str_at(j, "file.mtime"), "2023-11-14T22:13:20.123456Z");
	assert_string_equal(str_at(j, "file.hash.sha256"),
			    "abababababababababababababababababababababababababababababababab");
	assert_string_equal(str_at(j, "vigil.severity"), "high");
	assert_string_equal(str_at(j, "vigil.scope"), "bins");
	assert_string_equal(str_at(j, "vigil.source"), "check");
	assert_int_equal(int_at(j, "vigil", "generation"), 7);
	assert_string_equal(str_at(j, "vigil.changes.size.old"), "12");
	assert_string_equal(str_at(j, "vigil.changes.size.new"), "13");
	assert_non_null(str_at(j, "vigil.changes.mode.old"));
	assert_null(json_object_get(json_object_get(json_object_get(j, "vigil"), "changes"), "uid"));
	assert_null(json_object_get(json_object_get(j, "vigil"), "path_base64"));
	json_decref(j);
	vigil_record_clear(&old);
	vigil_record_clear(&cur);
}

/* event.type and dataset follow the action; severities map to 21/47/73/99. */
static void test_action_and_severity_table(void **state)
{
	static const struct {
		const char *action;
		int sev, with_rec;
		const char *type, *dataset;
		json_int_t number;
	} t[] = {
		{ VIGIL_ACTION_ADDED, VIGIL_SEV_LOW, 1, "creation", "vigil.fim", 21 },
		{ VIGIL_ACTION_REMOVED, VIGIL_SEV_MEDIUM, 1, "deletion", "vigil.fim", 47 },
		{ VIGIL_ACTION_CHANGED, VIGIL_SEV_HIGH, 1, "change", "vigil.fim", 73 },
		{ VIGIL_ACTION_UNREADABLE, VIGIL_SEV_CRITICAL, 1, "info", "vigil.fim", 99 },
		{ VIGIL_ACTION_CHECK_SUMMARY, VIGIL_SEV_LOW, 0, NULL, "vigil.agent", 21 },
		{ "watch-started", 0, 0, NULL, "vigil.agent", 0 },
	};
	struct vigil_record r;

	(void)state;
	mkrec(&r, "/etc/f", 6);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct vigil_event ev = { .action = t[i].action, .severity = t[i].sev, .time_ns = 1 };
		json_t *j, *e;

		if (t[i].with_rec)
			ev.cur = &r;
		j = render(&ev);
		e = json_object_get(j, "event");
		assert_string_equal(str_at(j, "event.action"), t[i].action);
		assert_string_equal(str_at(j, "event.dataset"), t[i].dataset);
		assert_string_equal(str_at(j, "event.kind"), t[i].with_rec ? "alert" : "event");
		if (t[i].type)
			assert_string_equal(json_string_value(json_array_get(json_object_get(e, "type"), 0)), t[i].type);
		else
			assert_null(json_object_get(e, "type"));
		if (t[i].number)
			assert_int_equal(int_at(j, "event", "severity"), t[i].number);
		else
			assert_null(json_object_get(e, "severity"));
		json_decref(j);
	}
	vigil_record_clear(&r);
}

/* Paths and targets: UTF-8 passes through; other bytes are escaped (\xNN,
 * backslash doubled) and the raw bytes go along in base64. */
static void test_path_escaping_table(void **state)
{
	static const struct {
		const char *path;
		size_t len;
		const char *shown;
		int raw;
	} t[] = {
		{ "/etc/plain", 10, "/etc/plain", 0 },
		{ "/etc/caf\xc3\xa9", 10, "/etc/caf\xc3\xa9", 0 },
		{ "/etc/\xff\xfe", 7, "/etc/\\xff\\xfe", 1 },
		{ "/etc/a\\b", 8, "/etc/a\\\\b", 1 },
		{ "/etc/new\nline", 13, "/etc/new\\x0aline", 1 }, /* control bytes too */
		{ "/etc/half\xc3", 10, "/etc/half\\xc3", 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct vigil_record r;
		struct vigil_event ev = { .action = VIGIL_ACTION_ADDED, .time_ns = 1 };
		json_t *j;
		const char *b64;

		mkrec(&r, t[i].path, t[i].len);
		r.ftype = VIGIL_FT_LNK;
		assert_int_equal(vigil_record_set_target(&r, t[i].path, t[i].len), 0);
		ev.cur = &r;
		j = render(&ev);
		assert_string_equal(str_at(j, "file.path"), t[i].shown);
		assert_string_equal(str_at(j, "file.target_path"), t[i].shown);
		assert_string_equal(str_at(j, "file.type"), "symlink");
		b64 = str_at(j, "vigil.path_base64");
		if (t[i].raw) {
			char want[64];

			assert_non_null(b64);
			vigil_base64_encode(t[i].path, t[i].len, want);
			assert_string_equal(b64, want);
			assert_string_equal(str_at(j, "vigil.target_base64"), want);
		} else {
			assert_null(b64);
			assert_null(str_at(j, "vigil.target_base64"));
		}
		json_decref(j);
		vigil_record_clear(&r);
	}
}

/* Who-data: process, user, container and audit fields; unknown is said. */
static void test_who(void **state)
{
	struct vigil_who w = { .known = 1, .pid = 42, .ppid = 1, .uid = 0, .euid = 0, .auid = 1000, .gid = 0,
			       .exe = "/bin/sh", .comm = "sh", .cmdline = "sh -c x",
			       .container_id = "abc", .container_name = "web", .container_image = "nginx:1",
			       .audit_key = "vigil-exec", .audit_serial = 77 };
	struct vigil_who unknown = { .known = 0 };
	struct vigil_event ev = { .action = "container-shell", .who = &w, .time_ns = 1 };
	json_t *j;

	(void)state;
	j = render(&ev);
	assert_int_equal(int_at(j, "process", "pid"), 42);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(j, "process"), "parent"),
							    "pid")), 1);
	assert_string_equal(str_at(j, "process.executable"), "/bin/sh");
	assert_string_equal(str_at(j, "process.name"), "sh");
	assert_string_equal(str_at(j, "process.command_line"), "sh -c x");
	assert_string_equal(str_at(j, "user.id"), "0");
	assert_string_equal(str_at(j, "user.effective.id"), "0");
	assert_string_equal(str_at(j, "user.audit.id"), "1000");
	assert_string_equal(str_at(j, "container.id"), "abc");
	assert_string_equal(str_at(j, "container.name"), "web");
	assert_string_equal(str_at(j, "container.image.name"), "nginx:1");
	assert_string_equal(str_at(j, "vigil.audit_key"), "vigil-exec");
	assert_int_equal(int_at(j, "vigil", "audit_serial"), 77);
	json_decref(j);

	w.auid = 4294967295LL; /* unset login uid: no user.audit */
	w.uid = -1;
	w.container_id = NULL;
	j = render(&ev);
	assert_null(str_at(j, "user.audit.id"));
	assert_null(str_at(j, "user.id"));
	assert_null(json_object_get(j, "container"));
	json_decref(j);

	ev.who = &unknown;
	j = render(&ev);
	assert_string_equal(str_at(j, "vigil.who"), "unknown: no audit record matched");
	assert_null(json_object_get(j, "process"));
	json_decref(j);
}

/* Status flags, the errno text, extra JSON merged into "vigil" (and
 * ignored when it is not an object), a removed file's record. */
static void test_status_extra_removed(void **state)
{
	struct vigil_record r;
	struct vigil_event ev = { .action = VIGIL_ACTION_UNREADABLE, .time_ns = 1,
				  .extra_json = "{\"layer\":\"sha256:x\",\"n\":2}" };
	json_t *j, *st;

	(void)state;
	mkrec(&r, "/etc/shadow", 11);
	r.status = VIGIL_REC_UNREADABLE | VIGIL_REC_CHANGED | VIGIL_REC_TOO_LARGE;
	r.err = 13;
	ev.cur = &r;
	j = render(&ev);
	st = json_object_get(json_object_get(j, "vigil"), "status");
	assert_int_equal(json_array_size(st), 3);
	assert_string_equal(json_string_value(json_array_get(st, 0)), "unreadable");
	assert_string_equal(json_string_value(json_array_get(st, 1)), "changed-while-read");
	assert_string_equal(json_string_value(json_array_get(st, 2)), "too-large-not-hashed");
	assert_string_equal(str_at(j, "vigil.error"), "Permission denied");
	assert_string_equal(str_at(j, "vigil.layer"), "sha256:x");
	json_decref(j);

	ev.extra_json = "[not an object";
	ev.cur = NULL;
	ev.old = &r;
	ev.action = VIGIL_ACTION_REMOVED;
	j = render(&ev);
	assert_string_equal(str_at(j, "file.path"), "/etc/shadow");
	assert_null(str_at(j, "vigil.layer"));
	json_decref(j);

	r.ftype = VIGIL_FT_NONE; /* a path with no attributes: no mode, no hash */
	r.status = 0;
	j = render(&ev);
	assert_null(str_at(j, "file.mode"));
	assert_null(json_object_get(json_object_get(j, "file"), "hash"));
	json_decref(j);
	vigil_record_clear(&r);
}

/* time_ns 0 is now; host NULL is this machine's name. */
static void test_now_and_host(void **state)
{
	struct vigil_event ev = { .action = "watch-started" };
	char *line = vigil_event_json(&ev, NULL);
	json_t *j;

	(void)state;
	assert_non_null(line);
	j = json_loads(line, 0, NULL);
	assert_non_null(j);
	assert_true(strncmp(str_at(j, "@timestamp"), "20", 2) == 0);
	assert_non_null(str_at(j, "host.name"));
	assert_null(json_object_get(j, "file"));
	json_decref(j);
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_event_fields),
		cmocka_unit_test(test_action_and_severity_table),
		cmocka_unit_test(test_path_escaping_table),
		cmocka_unit_test(test_who),
		cmocka_unit_test(test_status_extra_removed),
		cmocka_unit_test(test_now_and_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
