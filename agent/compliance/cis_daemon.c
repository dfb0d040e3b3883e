/* cis_daemon.c - the daemon's effective configuration (daemon.json merged
 * with dockerd's command line, as dockerd applies them) and the 2.x checks.
 *
 * dockerd refuses to start when daemon.json is not JSON, holds a key twice,
 * gives a known key the wrong type, or sets a key that is also a flag; each
 * of these is an `error` result on the checks it leaves undecided, naming
 * the file and line.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/rootfs.h"

#include "cis_priv.h"

/* flag (long name, or one-letter alias) -> daemon.json key; bool flags take
 * no separate value word. */
static const struct flagmap {
	const char *flag, *key;
	int is_bool;
} flags[] = {
	{ "l", "log-level", 0 }, { "H", "hosts", 0 }, { "host", "hosts", 0 }, { "D", "debug", 1 },
	{ "g", "data-root", 0 }, { "graph", "data-root", 0 }, { "s", "storage-driver", 0 },
	{ "b", "bridge", 0 }, { "G", "group", 0 }, { "p", "pidfile", 0 },
	{ "insecure-registry", "insecure-registries", 0 }, { "default-ulimit", "default-ulimits", 0 },
	{ "authorization-plugin", "authorization-plugins", 0 }, { "storage-opt", "storage-opts", 0 },
	{ "log-opt", "log-opts", 0 }, { "registry-mirror", "registry-mirrors", 0 }, { "label", "labels", 0 },
	{ "add-runtime", "runtimes", 0 }, { "config-file", "config-file", 0 },
	{ "icc", "icc", 1 }, { "iptables", "iptables", 1 }, { "ip6tables", "ip6tables", 1 },
	{ "ip-forward", "ip-forward", 1 }, { "ip-masq", "ip-masq", 1 }, { "tls", "tls", 1 },
	{ "tlsverify", "tlsverify", 1 }, { "live-restore", "live-restore", 1 },
	{ "userland-proxy", "userland-proxy", 1 }, { "no-new-privileges", "no-new-privileges", 1 },
	{ "experimental", "experimental", 1 }, { "debug", "debug", 1 }, { "selinux-enabled", "selinux-enabled", 1 },
	{ "ipv6", "ipv6", 1 }, { "init", "init", 1 }, { "raw-logs", "raw-logs", 1 },
	{ NULL, NULL, 0 },
};

/* The JSON types dockerd insists on for the keys the benchmark reads. */
static const struct keytype {
	const char *key;
	json_type type;
} keytypes[] = {
	{ "icc", JSON_TRUE }, { "iptables", JSON_TRUE }, { "tls", JSON_TRUE }, { "tlsverify", JSON_TRUE },
	{ "live-restore", JSON_TRUE }, { "userland-proxy", JSON_TRUE }, { "no-new-privileges", JSON_TRUE },
	{ "experimental", JSON_TRUE }, { "debug", JSON_TRUE }, { "selinux-enabled", JSON_TRUE },
	{ "log-level", JSON_STRING }, { "log-driver", JSON_STRING }, { "userns-remap", JSON_STRING },
	{ "cgroup-parent", JSON_STRING }, { "seccomp-profile", JSON_STRING }, { "storage-driver", JSON_STRING },
	{ "data-root", JSON_STRING }, { "tlscacert", JSON_STRING }, { "tlscert", JSON_STRING },
	{ "tlskey", JSON_STRING }, { "insecure-registries", JSON_ARRAY }, { "authorization-plugins", JSON_ARRAY },
	{ "hosts", JSON_ARRAY }, { "storage-opts", JSON_ARRAY }, { "default-ulimits", JSON_OBJECT },
	{ "log-opts", JSON_OBJECT }, { NULL, JSON_NULL },
};

static int push_opt(struct cis_ctx *c, const char *key, const char *value, const char *src, int from_flag)
{
	struct cis_opt *nv = realloc(c->opts, (c->n_opts + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	c->opts = nv;
	nv[c->n_opts].key = strdup(key);
	nv[c->n_opts].value = strdup(value);
	nv[c->n_opts].src = strdup(src);
	nv[c->n_opts].from_flag = from_flag;
	if (!nv[c->n_opts].key || !nv[c->n_opts].value || !nv[c->n_opts].src) {
		free(nv[c->n_opts].key);
		free(nv[c->n_opts].value);
		free(nv[c->n_opts].src);
		return -ENOMEM;
	}
	c->n_opts++;
	return 0;
}

static int push_json_value(struct cis_ctx *c, const char *key, json_t *v, const char *prefix)
{
	char buf[64], *dump = NULL;
	const char *s;
	int rc;

	if (json_is_string(v))
		s = json_string_value(v);
	else if (json_is_boolean(v))
		s = json_is_true(v) ? "true" : "false";
	else if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v)), s = buf;
	else if (json_is_null(v))
		return 0;
	else
		s = dump = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		return -ENOMEM;
	if (prefix) {
		char *both = NULL;

		if (asprintf(&both, "%s=%s", prefix, s) < 0) {
			free(dump);
			return -ENOMEM;
		}
		rc = push_opt(c, key, both, c->json_path, 0);
		free(both);
	} else {
		rc = push_opt(c, key, s, c->json_path, 0);
	}
	free(dump);
	return rc;
}

/* The line of the first `"key"` followed by ':' in the file, for messages. */
static int key_line(const char *root, const char *path, const char *key)
{
	int rootfd = vigil_rootfs_open_root(root, NULL), line = 1;
	char *text = NULL, pat[256];
	const char *p;

	if (rootfd < 0)
		return 0;
	if (vigil_rootfs_read(rootfd, path, 1 << 22, &text, NULL)) {
		close(rootfd);
		return 0;
	}
	close(rootfd);
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(text, pat);
	if (!p) {
		free(text);
		return 0;
	}
	for (const char *q = text; q < p; q++)
		line += *q == '\n';
	free(text);
	return line;
}

static int load_json_opts(struct cis_ctx *c)
{
	const char *key;
	json_t *v;
	int rc = 0;

	for (size_t i = 0; keytypes[i].key; i++) {
		json_t *x = json_object_get(c->json, keytypes[i].key);
		json_type t = x ? json_typeof(x) : JSON_NULL;

		if (!x || t == keytypes[i].type || (keytypes[i].type == JSON_TRUE && t == JSON_FALSE))
			continue;
		if (asprintf(&c->json_error, "%s: line %d: \"%s\" must be %s", c->json_path,
			     key_line(c->root, c->json_path, keytypes[i].key), keytypes[i].key,
			     keytypes[i].type == JSON_TRUE ? "a boolean" :
			     keytypes[i].type == JSON_STRING ? "a string" :
			     keytypes[i].type == JSON_ARRAY ? "an array" : "an object") < 0)
			c->json_error = NULL;
		return 0;
	}
	json_object_foreach(c->json, key, v) {
		size_t i;
		json_t *e;
		const char *k;

		if (json_is_array(v))
			json_array_foreach(v, i, e) {
				if ((rc = push_json_value(c, key, e, NULL)))
					return rc;
			}
		else if (json_is_object(v))
			json_object_foreach(v, k, e) {
				if ((rc = push_json_value(c, key, e, k)))
					return rc;
			}
		else if ((rc = push_json_value(c, key, v, NULL)))
			return rc;
	}
	return 0;
}

static const struct flagmap *find_flag(const char *name, size_t len)
{
	for (size_t i = 0; flags[i].flag; i++)
		if (strlen(flags[i].flag) == len && !strncmp(flags[i].flag, name, len))
			return &flags[i];
	return NULL;
}

/* dockerd's words: --name=value, --name value, --bool, -X value, -Xvalue. */
static int load_flag_opts(struct cis_ctx *c)
{
	const struct vigil_strv *a = &c->args.argv;
	const char *src = c->args.source ? c->args.source : "dockerd";
	int rc = 0;

	for (size_t i = 0; i < a->n && !rc; i++) {
		const char *w = a->v[i], *name, *eq, *value = NULL;
		const struct flagmap *fm;
		char key[256];
		size_t nl;

		if (w[0] != '-' || !w[1])
			continue;
		name = w[1] == '-' ? w + 2 : w + 1;
		eq = strchr(name, '=');
		nl = eq ? (size_t)(eq - name) : strlen(name);
		if (w[1] != '-' && nl > 1 && !eq) /* -Hunix://... */
			nl = 1, value = name + 1;
		fm = find_flag(name, nl);
		if (eq)
			value = eq + 1;
		else if (!value && fm && fm->is_bool)
			value = "true";
		else if (!value && i + 1 < a->n && (a->v[i + 1][0] != '-' || !fm))
			value = a->v[++i];
		if (!value)
			value = "true";
		snprintf(key, sizeof(key), "%.*s", (int)nl, name);
		rc = push_opt(c, fm ? fm->key : key, value, src, 1);
	}
	return rc;
}

int cis_daemon_load(struct cis_ctx *c, pid_t pid, struct vigil_err *err)
{
	const struct cis_opt *o;
	int rc = vigil_docker_dockerd_args(c->root, pid, &c->args, err);

	if (rc)
		return rc;
	if ((rc = load_flag_opts(c)))
		return vigil_err_set(err, rc, "out of memory");
	o = cis_opt_last(c, "config-file");
	c->json_path = strdup(o ? o->value : "/etc/docker/daemon.json");
	if (!c->json_path)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	rc = vigil_docker_daemon_json(c->root, c->json_path, &c->json, &c->json_error);
	if (rc && rc != -ENOENT && rc != -EINVAL)
		return vigil_err_set(err, rc, "%s", c->json_error ? c->json_error : strerror(-rc));
	if (c->json) {
		/* the file's settings first: the command line's come after */
		struct cis_opt *flags_first = c->opts;
		size_t n_flags = c->n_opts;

		c->opts = NULL;
		c->n_opts = 0;
		rc = load_json_opts(c);
		for (size_t i = 0; !rc && i < n_flags; i++) {
			struct cis_opt *nv = realloc(c->opts, (c->n_opts + 1) * sizeof(*nv));

			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			c->opts = nv;
			c->opts[c->n_opts++] = flags_first[i];
			flags_first[i].key = flags_first[i].value = flags_first[i].src = NULL;
		}
		for (size_t i = 0; i < n_flags; i++) {
			free(flags_first[i].key);
			free(flags_first[i].value);
			free(flags_first[i].src);
		}
		free(flags_first);
		if (rc)
			return vigil_err_set(err, rc, "out of memory");
	}
	o = cis_opt_last(c, "data-root");
	c->data_root = strdup(o ? o->value : "/var/lib/docker");
	return c->data_root ? 0 : vigil_err_set(err, -ENOMEM, "out of memory");
}

void cis_daemon_free(struct cis_ctx *c)
{
	for (size_t i = 0; i < c->n_opts; i++) {
		free(c->opts[i].key);
		free(c->opts[i].value);
		free(c->opts[i].src);
	}
	free(c->opts);
	json_decref(c->json);
	free(c->json_error);
	free(c->json_path);
	free(c->data_root);
	vigil_docker_args_clear(&c->args);
}

const struct cis_opt *cis_opt_last(const struct cis_ctx *c, const char *key)
{
	for (size_t i = c->n_opts; i-- > 0;)
		if (!strcmp(c->opts[i].key, key))
			return &c->opts[i];
	return NULL;
}

int cis_opt_bool(const struct cis_ctx *c, const char *key, int def, const struct cis_opt **o)
{
	const struct cis_opt *x = cis_opt_last(c, key);

	if (o)
		*o = x;
	if (!x)
		return def;
	return !strcmp(x->value, "true") || !strcmp(x->value, "1");
}

int cis_daemon_sockets(const struct cis_ctx *c, struct vigil_strv *out)
{
	for (size_t i = 0; i < c->n_opts; i++)
		if (!strcmp(c->opts[i].key, "hosts") && !strncmp(c->opts[i].value, "unix://", 7))
			if (cis_strv_push(out, c->opts[i].value + 7))
				return -ENOMEM;
	if (!out->n && cis_strv_push(out, "/run/docker.sock"))
		return -ENOMEM;
	return 0;
}

/* ---- 2.x ---- */

/* The option's value set both in daemon.json and as a flag: dockerd refuses
 * to start.  Returns 1 (and adds an error result) then. */
static int conflict(struct cis_ctx *c, const struct vigil_cis_check *chk, const char *key)
{
	const struct cis_opt *file = NULL, *flag = NULL;

	for (size_t i = 0; i < c->n_opts; i++)
		if (!strcmp(c->opts[i].key, key)) {
			if (c->opts[i].from_flag)
				flag = &c->opts[i];
			else
				file = &c->opts[i];
		}
	if (!file || !flag)
		return 0;
	cis_add(c, chk, VIGIL_CIS_ERROR, c->json_path, key, file->value, NULL, NULL,
		"\"%s\" is set in %s and as a flag in %s: dockerd refuses to start", key, c->json_path, flag->src);
	return 1;
}

/* pass when key's effective value makes want true (want_true: the value is
 * true), fail otherwise; unset gives def's verdict. */
static void judge_bool(struct cis_ctx *c, const struct vigil_cis_check *chk, const char *key, int want_true, int def)
{
	const struct cis_opt *o;
	int v = cis_opt_bool(c, key, def, &o);

	cis_add(c, chk, v == want_true ? VIGIL_CIS_PASS : VIGIL_CIS_FAIL, o ? o->src : NULL, key,
		o ? o->value : def ? "true (default)" : "false (default)", NULL, NULL, NULL);
}

/* Lists (insecure registries, authorization plugins): pass when empty (or
 * when set, with set_passes). */
static void judge_list(struct cis_ctx *c, const struct vigil_cis_check *chk, const char *key, int set_passes)
{
	const struct cis_opt *o = cis_opt_last(c, key);

	if (!o)
		cis_add(c, chk, set_passes ? VIGIL_CIS_FAIL : VIGIL_CIS_PASS, NULL, key, "(unset)", NULL, NULL, NULL);
	else
		cis_add(c, chk, set_passes ? VIGIL_CIS_PASS : VIGIL_CIS_FAIL, o->src, key, o->value, NULL, NULL, NULL);
}

static void judge_tls(struct cis_ctx *c, const struct vigil_cis_check *chk)
{
	const struct cis_opt *tcp = NULL, *o;

	for (size_t i = 0; i < c->n_opts; i++)
		if (!strcmp(c->opts[i].key, "hosts") && (!strncmp(c->opts[i].value, "tcp://", 6) ||
							  strstr(c->opts[i].value, "://") == NULL))
			tcp = &c->opts[i];
	if (!tcp) {
		cis_add(c, chk, VIGIL_CIS_NA, NULL, "hosts", "(no tcp:// listener)", NULL, NULL,
			"dockerd does not listen on TCP");
		return;
	}
	if (cis_opt_bool(c, "tlsverify", 0, &o))
		cis_add(c, chk, VIGIL_CIS_PASS, o->src, "tlsverify", o->value, NULL, NULL, "listens on %s", tcp->value);
	else
		cis_add(c, chk, VIGIL_CIS_FAIL, tcp->src, "hosts", tcp->value, NULL, NULL,
			"listens on TCP without tlsverify");
}

void cis_eval_daemon(struct cis_ctx *c, const struct vigil_cis_check *chk)
{
	const char *id = chk->id, *key = chk->arg;
	const struct cis_opt *o;

	if (c->json_error) {
		cis_add(c, chk, VIGIL_CIS_ERROR, c->json_path, NULL, NULL, NULL, NULL,
			"%s (dockerd refuses to start with it)", c->json_error);
		return;
	}
	if (key && conflict(c, chk, key))
		return;
	o = key ? cis_opt_last(c, key) : NULL;
	if (!strcmp(id, "2.1")) {
		cis_add(c, chk, VIGIL_CIS_INFO, c->args.source, NULL, NULL, NULL, NULL,
			"rootless mode cannot be judged from the system daemon's files");
	} else if (!strcmp(id, "2.2")) {
		judge_bool(c, chk, "icc", 0, 1);
	} else if (!strcmp(id, "2.3")) {
		cis_add(c, chk, !o || !strcmp(o->value, "info") ? VIGIL_CIS_PASS : VIGIL_CIS_FAIL, o ? o->src : NULL,
			key, o ? o->value : "info (default)", NULL, NULL, NULL);
	} else if (!strcmp(id, "2.4")) {
		judge_bool(c, chk, "iptables", 1, 1);
	} else if (!strcmp(id, "2.5")) {
		judge_list(c, chk, key, 0);
	} else if (!strcmp(id, "2.6")) {
		cis_add(c, chk, o && !strcmp(o->value, "aufs") ? VIGIL_CIS_FAIL : VIGIL_CIS_PASS, o ? o->src : NULL,
			key, o ? o->value : "(default)", NULL, NULL, NULL);
	} else if (!strcmp(id, "2.7")) {
		judge_tls(c, chk);
	} else if (!strcmp(id, "2.8")) {
		cis_add(c, chk, o ? VIGIL_CIS_PASS : VIGIL_CIS_INFO, o ? o->src : NULL, key,
			o ? o->value : "(unset)", NULL, NULL, o ? NULL : "no default ulimit is set");
	} else if (!strcmp(id, "2.9")) {
		cis_add(c, chk, o && o->value[0] ? VIGIL_CIS_PASS : VIGIL_CIS_FAIL, o ? o->src : NULL, key,
			o ? o->value : "(unset)", NULL, NULL, NULL);
	} else if (!strcmp(id, "2.10")) {
		cis_add(c, chk, o && o->value[0] ? VIGIL_CIS_FAIL : VIGIL_CIS_PASS, o ? o->src : NULL, key,
			o ? o->value : "(unset)", NULL, NULL, o && o->value[0] ? "confirm this cgroup parent" : NULL);
	} else if (!strcmp(id, "2.11")) {
		const struct cis_opt *bad = NULL;

		for (size_t i = 0; i < c->n_opts; i++)
			if (!strcmp(c->opts[i].key, "storage-opts") && strstr(c->opts[i].value, "dm.basesize"))
				bad = &c->opts[i];
		cis_add(c, chk, bad ? VIGIL_CIS_FAIL : VIGIL_CIS_PASS, bad ? bad->src : NULL, key,
			bad ? bad->value : "(no dm.basesize)", NULL, NULL, NULL);
	} else if (!strcmp(id, "2.12")) {
		judge_list(c, chk, key, 1);
	} else if (!strcmp(id, "2.13")) {
		const char *v = o ? o->value : "json-file";
		int local = !strcmp(v, "json-file") || !strcmp(v, "local") || !strcmp(v, "none");

		cis_add(c, chk, local ? VIGIL_CIS_FAIL : VIGIL_CIS_PASS, o ? o->src : NULL, key,
			o ? v : "json-file (default)", NULL, NULL, NULL);
	} else if (!strcmp(id, "2.14")) {
		judge_bool(c, chk, "no-new-privileges", 1, 0);
	} else if (!strcmp(id, "2.15")) {
		judge_bool(c, chk, "live-restore", 1, 0);
	} else if (!strcmp(id, "2.16")) {
		judge_bool(c, chk, "userland-proxy", 0, 1);
	} else if (!strcmp(id, "2.17")) {
		cis_add(c, chk, o && !strcmp(o->value, "unconfined") ? VIGIL_CIS_FAIL : VIGIL_CIS_PASS,
			o ? o->src : NULL, key, o ? o->value : "(Docker's default profile)", NULL, NULL, NULL);
	} else if (!strcmp(id, "2.18")) {
		judge_bool(c, chk, "experimental", 0, 0);
	}
}
