/* config.c - vigil's configuration: YAML through libyaml, checked against key
 * tables.  Long because (~600 lines) the key tables of every section are one
 * table of tables here, each a few lines per key.
 * Two passes.  The first turns libyaml's event stream into a small tree of
 * scalars, sequences and mappings, refusing what we never want to interpret
 * (anchors and aliases, so no alias bomb; tags; NUL bytes; more than one
 * document; nesting deeper than CONFIG_MAX_DEPTH).  The second walks the tree
 * with one table per mapping (struct key: name, parser, field offset, bounds),
 * so a later issue adds a key with one table line and, if it is a new kind of
 * value, one parser.  Every error names file:line:column (1-based, from
 * libyaml's marks), the key path ("scopes[2].depth", list indexes from 0) and
 * what was expected.  The tree costs ~100 bytes a node; with the 1 MiB input
 * cap that is bounded to a few tens of MiB in the worst case.
 *
 * This file: the key tables, the whole-config rules and loading (the
 * installed file or the embedded default); pass 1 is config_yaml.c, the
 * value parsers config_value.c and config_list.c (see config_priv.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "vigil/cli.h"
#include "vigil/config.h"
#include "vigil/crypto.h"
#include "vigil/record.h"

#include "config_priv.h"

#define EMBEDDED_NAME VIGIL_CONFIG_EMBEDDED
/* make install puts etc/vigil.yaml here; SYSCONFDIR comes from configure. */
#define INSTALLED_FILE SYSCONFDIR "/vigil/vigil.yaml"

/* ---- the tables -------------------------------------------------------- */

static const struct enum_val severities[] = {
	{ "low", VIGIL_SEV_LOW },
	{ "medium", VIGIL_SEV_MEDIUM },
	{ "high", VIGIL_SEV_HIGH },
	{ "critical", VIGIL_SEV_CRITICAL },
	{ NULL, 0 },
};

static const struct enum_val auto_kinds[] = {
	{ "docker-binaries", VIGIL_AUTO_DOCKER_BINARIES },
	{ "docker-configs", VIGIL_AUTO_DOCKER_CONFIGS },
	{ "docker-layers", VIGIL_AUTO_DOCKER_LAYERS },
	{ NULL, 0 },
};

static const struct enum_val output_types[] = {
	{ "jsonl", VIGIL_OUT_JSONL },
	{ "syslog", VIGIL_OUT_SYSLOG },
	{ "stdout", VIGIL_OUT_STDOUT },
	{ NULL, 0 },
};

/* Facility numbers as in <syslog.h>, shifted down (LOG_DAEMON >> 3 == 3). */
static const struct enum_val facilities[] = {
	{ "kern", 0 }, { "user", 1 }, { "mail", 2 }, { "daemon", 3 }, { "auth", 4 },
	{ "syslog", 5 }, { "lpr", 6 }, { "news", 7 }, { "uucp", 8 }, { "cron", 9 },
	{ "authpriv", 10 }, { "ftp", 11 }, { "local0", 16 }, { "local1", 17 },
	{ "local2", 18 }, { "local3", 19 }, { "local4", 20 }, { "local5", 21 },
	{ "local6", 22 }, { "local7", 23 }, { NULL, 0 },
};

static const struct enum_val sched_actions[] = {
	{ "check", VIGIL_SCHED_CHECK },
	{ "baseline", VIGIL_SCHED_BASELINE },
	{ "compliance", VIGIL_SCHED_COMPLIANCE },
	{ "procs", VIGIL_SCHED_PROCS },
	{ NULL, 0 },
};

#define SCOPE(f) offsetof(struct vigil_scope, f)
enum { SK_NAME, SK_PATHS, SK_AUTO };
static const struct key scope_keys[] = {
	[SK_NAME] = { "name", config_p_name, SCOPE(name), 0, 0, NULL, 1 },
	[SK_PATHS] = { "paths", config_p_paths, SCOPE(paths), 0, 0, NULL, 0 },
	[SK_AUTO] = { "auto", config_p_enum, SCOPE(auto_kind), 0, 0, auto_kinds, 0 },
	{ "include", config_p_globs, SCOPE(include), 0, 0, NULL, 0 },
	{ "exclude", config_p_globs, SCOPE(exclude), 0, 0, NULL, 0 },
	{ "depth", config_p_int, SCOPE(depth), -1, 65535, NULL, 0 },
	{ "one_filesystem", config_p_bool, SCOPE(one_filesystem), 0, 0, NULL, 0 },
	{ "attributes", config_p_attrs, SCOPE(attrs), 0, 0, NULL, 0 },
	{ "severity", config_p_enum, SCOPE(severity), 0, 0, severities, 0 },
	{ "watch", config_p_bool, SCOPE(watch), 0, 0, NULL, 0 },
	{ "critical", config_p_bool, SCOPE(critical), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void scope_init(void *elem)
{
	struct vigil_scope *s = elem;

	s->depth = -1;
	s->one_filesystem = 1;
	s->attrs = VIGIL_ATTR_DEFAULT;
	s->severity = VIGIL_SEV_MEDIUM;
}

static int scope_check(struct ctx *c, const struct node *m, void *elem, const struct node *const *seen)
{
	if (seen[SK_PATHS] && seen[SK_AUTO]) {
		size_t o = config_path_push(c, "paths", 0);
		int rc = fail(c, seen[SK_PATHS], "'paths' and 'auto' are exclusive (the Docker "
						 "collector fills the paths of an auto scope)");

		config_path_pop(c, o);
		return rc;
	}
	if (!seen[SK_PATHS] && !seen[SK_AUTO])
		return fail(c, m, "missing required key 'paths' (or 'auto')");
	return 0;
}

#define OUTPUT(f) offsetof(struct vigil_output, f)
enum { OK_TYPE, OK_PATH, OK_TARGET, OK_FACILITY, OK_BACKLOG };
static const struct key output_keys[] = {
	[OK_TYPE] = { "type", config_p_enum, OUTPUT(type), 0, 0, output_types, 1 },
	[OK_PATH] = { "path", config_p_path, OUTPUT(path), 0, 0, NULL, 0 },
	[OK_TARGET] = { "target", config_p_target, OUTPUT(target), 0, 0, NULL, 0 },
	[OK_FACILITY] = { "facility", config_p_enum, OUTPUT(facility), 0, 0, facilities, 0 },
	[OK_BACKLOG] = { "backlog", config_p_int, OUTPUT(backlog), 0, 10000000, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void output_init(void *elem)
{
	struct vigil_output *o = elem;

	o->facility = 3; /* daemon */
	o->backlog = 1000;
}

static int output_check(struct ctx *c, const struct node *m, void *elem, const struct node *const *seen)
{
	/* Which keys each type takes, by index in output_keys. */
	static const unsigned allowed[] = {
		[VIGIL_OUT_JSONL] = 1u << OK_TYPE | 1u << OK_PATH,
		[VIGIL_OUT_SYSLOG] = 1u << OK_TYPE | 1u << OK_TARGET | 1u << OK_FACILITY | 1u << OK_BACKLOG,
		[VIGIL_OUT_STDOUT] = 1u << OK_TYPE,
	};
	const struct vigil_output *out = elem;
	char valid[128];
	size_t w = 0;

	for (size_t i = 0; output_keys[i].name; i++) {
		if (allowed[out->type] & (1u << i)) {
			int r = snprintf(valid + w, sizeof(valid) - w, "%s%s", w ? ", " : "", output_keys[i].name);

			if (r > 0 && (size_t)r < sizeof(valid) - w)
				w += (size_t)r;
		}
	}
	for (size_t i = 0; output_keys[i].name; i++) {
		if (seen[i] && !(allowed[out->type] & (1u << i))) {
			size_t o = config_path_push(c, output_keys[i].name, 0);
			int rc = fail(c, seen[i], "not valid for type %s (valid: %s)",
				      output_types[out->type - 1].name, valid);

			config_path_pop(c, o);
			return rc;
		}
	}
	if (out->type == VIGIL_OUT_JSONL && !out->path)
		return fail(c, m, "missing required key 'path' for type jsonl");
	return 0;
}

#define SCHED(f) offsetof(struct vigil_schedule, f)
enum { SC_ACTION, SC_EVERY, SC_AT };
static const struct key schedule_keys[] = {
	[SC_ACTION] = { "action", config_p_enum, SCHED(action), 0, 0, sched_actions, 1 },
	/* every: 1 s to 366 days */
	[SC_EVERY] = { "every", config_p_seconds64, SCHED(every_s), 1, 366LL * 86400, NULL, 0 },
	[SC_AT] = { "at", config_p_clock, SCHED(at_min), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void schedule_init(void *elem)
{
	((struct vigil_schedule *)elem)->at_min = -1;
}

static int schedule_check(struct ctx *c, const struct node *m, void *elem,
			  const struct node *const *seen)
{
	if (seen[SC_EVERY] && seen[SC_AT]) {
		size_t o = config_path_push(c, "at", 0);
		int rc = fail(c, seen[SC_AT], "'every' and 'at' are exclusive");

		config_path_pop(c, o);
		return rc;
	}
	if (!seen[SC_EVERY] && !seen[SC_AT])
		return fail(c, m, "missing required key 'every' or 'at'");
	return 0;
}

#define CFG(f) offsetof(struct vigil_config, f)
static const struct list_desc scope_list = {
	sizeof(struct vigil_scope), CFG(scopes), CFG(n_scopes), scope_keys, scope_init, scope_check, 1,
};
static const struct list_desc output_list = {
	sizeof(struct vigil_output), CFG(outputs), CFG(n_outputs), output_keys, output_init,
	output_check, 0,
};
static const struct list_desc schedule_list = {
	sizeof(struct vigil_schedule), CFG(schedules), CFG(n_schedules), schedule_keys,
	schedule_init, schedule_check, 0,
};

static const struct key watch_keys[] = {
	{ "debounce_ms", config_p_int, CFG(debounce_ms), 0, 60000, NULL, 0 },
	{ "rescan_interval", config_p_seconds, CFG(rescan_interval_s), 0, 366LL * 86400, NULL, 0 },
	{ "control_socket", config_p_path, CFG(control_socket), 0, SUN_PATH_MAX - 1, NULL, 0 },
	{ "pid_file", config_p_path, CFG(pid_file), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static const struct key audit_keys[] = {
	{ "enabled", config_p_bool, CFG(audit_enabled), 0, 0, NULL, 0 },
	{ "install_rules", config_p_bool, CFG(audit_install_rules), 0, 0, NULL, 0 },
	{ "execve", config_p_bool, CFG(audit_execve), 0, 0, NULL, 0 },
	{ "execve_rules", config_p_bool, CFG(audit_execve_rules), 0, 0, NULL, 0 },
	{ "window_ms", config_p_int, CFG(audit_window_ms), 0, 600000, NULL, 0 },
	{ "exec_rate", config_p_int, CFG(audit_exec_rate), 0, 1000000, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static const struct enum_val pkg_accepts[] = {
	{ "none", VIGIL_PKG_ACCEPT_NONE },
	{ "upgrades", VIGIL_PKG_ACCEPT_UPGRADES },
	{ NULL, 0 },
};

static const struct key packages_keys[] = {
	{ "explain", config_p_bool, CFG(packages_explain), 0, 0, NULL, 0 },
	{ "auto_accept", config_p_enum, CFG(packages_auto_accept), 0, 0, pkg_accepts, 0 },
	{ "dpkg_wait", config_p_seconds, CFG(packages_dpkg_wait_s), 1, 86400, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* capture: and triggers: (agent/capture/trigger.c); memory_methods: enum vigil_memdump_method */
static const struct enum_val memory_methods[] = { { "auto", 0 }, { "lime", 1 }, { "kcore", 2 }, { NULL, 0 } };
static const struct enum_val lime_modes[] = { { "tcp", 0 }, { "file", 1 }, { NULL, 0 } };
static const struct key capture_keys[] = {
	{ "evidence_dir", config_p_path, CFG(evidence_dir), 0, 0, NULL, 0 },
	{ "data_root", config_p_path, CFG(capture_data_root), 0, 0, NULL, 0 },
	{ "min_free", config_p_size, CFG(capture_min_free), 0, 0, NULL, 0 },
	{ "quota", config_p_size, CFG(capture_quota), 0, 0, NULL, 0 },
	{ "max_file_size", config_p_size, CFG(capture_max_file_size), 0, 0, NULL, 0 },
	{ "max_concurrent", config_p_int, CFG(capture_max_concurrent), 1, 64, NULL, 0 },
	{ "cooldown", config_p_seconds, CFG(capture_cooldown_s), 0, 366LL * 86400, NULL, 0 },
	{ "memory_method", config_p_enum, CFG(capture_memory_method), 0, 0, memory_methods, 0 },
	{ "lime_mode", config_p_enum, CFG(capture_lime_file), 0, 0, lime_modes, 0 },
	{ "lime_module", config_p_path, CFG(capture_lime_module), 0, 0, NULL, 0 },
	{ "memory_timeout", config_p_seconds, CFG(capture_memory_timeout_s), 1, 86400, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

#define TRIG(f) offsetof(struct vigil_trigger, f)
static const struct key trigger_keys[] = {
	{ "name", config_p_name, TRIG(name), 0, 0, NULL, 1 },
	{ "action", config_p_name, TRIG(action), 0, 0, NULL, 0 },
	{ "min_severity", config_p_enum, TRIG(min_severity), 0, 0, severities, 0 },
	{ "paths", config_p_globs, TRIG(paths), 0, 0, NULL, 0 },
	{ "scope", config_p_name, TRIG(scope), 0, 0, NULL, 0 },
	{ "containers", config_p_globs, TRIG(containers), 1, 0, NULL, 0 }, /* 1: name globs */
	{ "container", config_p_bool, TRIG(container), 0, 0, NULL, 0 },
	{ "engine", config_p_bool, TRIG(engine), 0, 0, NULL, 0 },
	{ "host", config_p_bool, TRIG(host), 0, 0, NULL, 0 },
	{ "freeze", config_p_bool, TRIG(freeze), 0, 0, NULL, 0 },
	{ "memory", config_p_bool, TRIG(memory), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static int trigger_check(struct ctx *c, const struct node *m, void *elem, const struct node *const *seen)
{
	const struct vigil_trigger *t = elem; /* zeroed: every key optional but the name and one target */

	(void)seen;
	if (!t->container && !t->engine && !t->host && !t->memory)
		return fail(c, m, "a trigger needs a target: container, engine, host or memory: true");
	return 0;
}

static const struct list_desc trigger_list = {
	sizeof(struct vigil_trigger), CFG(triggers), CFG(n_triggers), trigger_keys, NULL, trigger_check, 0,
};

enum { TK_SCOPES = 4, TK_OUTPUTS = 6 };
static const struct key retention_keys[] = {
	{ "keep", config_p_int, CFG(retention_keep), 0, 1000000, NULL, 0 },
	{ "max_age", config_p_seconds64, CFG(retention_max_age_s), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static const struct key top_keys[] = {
	{ "state_dir", config_p_path, CFG(state_dir), 0, 0, NULL, 0 },
	{ "hash", config_p_algos, CFG(algos), 0, 0, NULL, 0 },
	{ "threads", config_p_int, CFG(threads), 0, 1024, NULL, 0 },
	{ "max_file_size", config_p_size, CFG(max_file_size), 0, 0, NULL, 0 },
	[TK_SCOPES] = { "scopes", config_p_list, 0, 0, 0, &scope_list, 1 },
	{ "watch", config_p_submap, 0, 0, 0, watch_keys, 0 },
	[TK_OUTPUTS] = { "outputs", config_p_list, 0, 0, 0, &output_list, 0 },
	{ "schedule", config_p_list, 0, 0, 0, &schedule_list, 0 },
	{ "audit", config_p_submap, 0, 0, 0, audit_keys, 0 },
	{ "packages", config_p_submap, 0, 0, 0, packages_keys, 0 },
	{ "capture", config_p_submap, 0, 0, 0, capture_keys, 0 },
	{ "triggers", config_p_list, 0, 0, 0, &trigger_list, 0 },
	{ "retention", config_p_submap, 0, 0, 0, retention_keys, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* ---- whole-config rules ------------------------------------------------ */

struct name_ref {
	const char *name;
	size_t idx;
};

static int name_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Scope names must be unique; sorting keeps this O(n log n) on hostile input.
 * The message names the second use, at its line, and the first one's line. */
static int check_scope_names(struct ctx *c, const struct vigil_config *cfg, const struct node *scopes)
{
	struct name_ref *r;
	size_t dup = SIZE_MAX, first = 0;
	int rc = 0;

	if (cfg->n_scopes < 2)
		return 0;
	if (!(r = malloc(cfg->n_scopes * sizeof(*r))))
		return config_nomem(c);
	for (size_t i = 0; i < cfg->n_scopes; i++)
		r[i] = (struct name_ref){ cfg->scopes[i].name, i };
	qsort(r, cfg->n_scopes, sizeof(*r), name_cmp);
	for (size_t i = 1, lead = 0; i < cfg->n_scopes; i++) {
		if (strcmp(r[i].name, r[lead].name)) {
			lead = i;
		} else if (r[i].idx < dup) {
			dup = r[i].idx;
			first = r[lead].idx;
		}
	}
	if (dup != SIZE_MAX) {
		const struct node *dn = config_map_get(scopes->kid[dup], "name");
		const struct node *fn = config_map_get(scopes->kid[first], "name");
		char shown[96];
		size_t o = config_path_push(c, "scopes", 0);

		config_path_push(c, NULL, dup);
		config_path_push(c, "name", 0);
		rc = fail(c, dn, "duplicate scope name '%s' (first at line %lu)",
			  config_show(dn->str, dn->len, shown, sizeof(shown)), fn->line);
		config_path_pop(c, o);
	}
	free(r);
	return rc;
}

static int set_str(char **field, const char *s)
{
	free(*field);
	*field = strdup(s);
	return *field ? 0 : -ENOMEM;
}

static int config_defaults(struct vigil_config *cfg)
{
	cfg->algos = VIGIL_ALGOS_DEFAULT;
	cfg->debounce_ms = 300;
	cfg->rescan_interval_s = 300;
	cfg->audit_enabled = 1;
	cfg->audit_install_rules = 1;
	cfg->audit_execve = 1;
	cfg->audit_execve_rules = 0;
	cfg->audit_window_ms = 2000;
	cfg->audit_exec_rate = 1000;
	cfg->packages_explain = 1;
	cfg->packages_dpkg_wait_s = 600;
	if (set_str(&cfg->state_dir, "/var/lib/vigil") ||
	    set_str(&cfg->control_socket, "/run/vigil/control.sock") ||
	    set_str(&cfg->pid_file, "/run/vigil/vigil.pid"))
		return -ENOMEM;
	return 0;
}

/* ---- public ------------------------------------------------------------ */

int vigil_config_parse(const char *name, const char *text, size_t len, struct vigil_config **out,
		       struct vigil_err *err)
{
	const struct node *seen[CONFIG_MAX_KEYS] = { 0 };
	struct ctx c = { .name = name ? name : "(config)", .text = text, .len = len, .err = err };
	struct vigil_config *cfg = NULL;
	struct node *root = NULL;
	int rc;

	*out = NULL;
	if (len > CONFIG_MAX_BYTES) {
		rc = vigil_err_set(err, -EINVAL, "%s: %zu bytes, larger than the %d byte limit", c.name,
				   len, CONFIG_MAX_BYTES);
		goto out;
	}
	if ((rc = config_build_tree(&c, &root)))
		goto out;
	if (!root || config_is_null(root)) {
		rc = config_fail_at(&c, 1, 1, "empty config, expected a mapping of settings");
		goto out;
	}
	if (!(cfg = calloc(1, sizeof(*cfg))) || config_defaults(cfg) ||
	    !(cfg->source = strdup(name ? name : EMBEDDED_NAME))) {
		rc = config_nomem(&c);
		goto out;
	}
	if ((rc = config_parse_map(&c, top_keys, root, cfg, seen)))
		goto out;
	if ((rc = check_scope_names(&c, cfg, seen[TK_SCOPES])))
		goto out;
	if (!seen[TK_OUTPUTS]) {
		if (!(cfg->outputs = calloc(1, sizeof(*cfg->outputs)))) {
			rc = config_nomem(&c);
			goto out;
		}
		output_init(cfg->outputs);
		cfg->outputs->type = VIGIL_OUT_STDOUT;
		cfg->n_outputs = 1;
	}
	*out = cfg;
	cfg = NULL;
out:
	config_node_free(root);
	vigil_config_free(cfg);
	return rc;
}

const char *vigil_config_installed_file(void)
{
	return INSTALLED_FILE;
}

int vigil_config_load_embedded(struct vigil_config **out, struct vigil_err *err)
{
	const char *def = vigil_config_default_text();

	return vigil_config_parse(EMBEDDED_NAME, def, strlen(def), out, err);
}

int vigil_config_load(const char *file, struct vigil_config **out, struct vigil_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd = -1, rc;

	*out = NULL;
	if (!file) {
		struct stat sb;

		/* Only a file that is not there falls back: one that cannot be
		 * read is an error, never a silent switch to the default. */
		if (lstat(INSTALLED_FILE, &sb) < 0 && (errno == ENOENT || errno == ENOTDIR))
			return vigil_config_load_embedded(out, err);
		file = INSTALLED_FILE;
	}
	/* Symlinks are followed: the admin names this file, and a link to a
	 * managed config is common.  O_NONBLOCK so a FIFO cannot hang us
	 * before fstat refuses it. */
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = vigil_err_set(err, -errno, "config file '%s': %s", file, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st)) {
		rc = vigil_err_set(err, -errno, "config file '%s': fstat: %s", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = vigil_err_set(err, -EINVAL, "config file '%s': not a regular file", file);
		goto out;
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		rc = vigil_err_set(err, -EINVAL, "config file '%s': %lld bytes, larger than the %d byte limit",
				   file, (long long)st.st_size, CONFIG_MAX_BYTES);
		goto out;
	}
	if (!(buf = malloc(CONFIG_MAX_BYTES + 1))) {
		rc = vigil_err_set(err, -ENOMEM, "config file '%s': out of memory", file);
		goto out;
	}
	/* Reads one byte past the limit so a file that grew since fstat is
	 * still refused rather than cut. */
	for (;;) {
		ssize_t r = read(fd, buf + got, CONFIG_MAX_BYTES + 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = vigil_err_set(err, -errno, "config file '%s': read: %s", file, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > CONFIG_MAX_BYTES) {
			rc = vigil_err_set(err, -EINVAL, "config file '%s': larger than the %d byte limit",
					   file, CONFIG_MAX_BYTES);
			goto out;
		}
	}
	rc = vigil_config_parse(file, buf, got, out, err);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static void scope_clear(struct vigil_scope *s)
{
	free(s->name);
	config_strv_clear(&s->paths);
	config_strv_clear(&s->include);
	config_strv_clear(&s->exclude);
}

void vigil_config_free(struct vigil_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_scopes; i++)
		scope_clear(&cfg->scopes[i]);
	free(cfg->scopes);
	for (size_t i = 0; i < cfg->n_outputs; i++) {
		free(cfg->outputs[i].path);
		free(cfg->outputs[i].target);
	}
	free(cfg->outputs);
	free(cfg->schedules);
	for (size_t i = 0; i < cfg->n_triggers; i++) {
		free(cfg->triggers[i].name);
		free(cfg->triggers[i].action);
		free(cfg->triggers[i].scope);
		config_strv_clear(&cfg->triggers[i].paths);
		config_strv_clear(&cfg->triggers[i].containers);
	}
	free(cfg->triggers);
	free(cfg->evidence_dir);
	free(cfg->capture_data_root);
	free(cfg->capture_lime_module);
	free(cfg->source);
	free(cfg->state_dir);
	free(cfg->control_socket);
	free(cfg->pid_file);
	free(cfg);
}

const char *vigil_severity_name(int sev)
{
	for (const struct enum_val *e = severities; e->name; e++)
		if (e->value == sev)
			return e->name;
	return "?";
}

int vigil_cli_config_load(const struct vigil_cli *cli, struct vigil_config **out, struct vigil_err *err)
{
	int rc = vigil_config_load(cli->config_file, out, err);
	char *sd;

	if (rc || !cli->state_dir)
		return rc;
	sd = strdup(cli->state_dir);
	if (!sd) {
		vigil_config_free(*out);
		*out = NULL;
		return vigil_err_set(err, -ENOMEM, "out of memory");
	}
	free((*out)->state_dir);
	(*out)->state_dir = sd;
	return 0;
}
