/* cmd_docker.c - `vigil images`, `vigil containers`, `vigil layers`, `vigil drift`:
 * the Docker host as its files say it is, dockerd not needed.  Long because
 * (~630 lines) the four commands share their option parsing, model loading and
 * JSON helpers, each a thin printer split into JSON and text functions.
 *
 * Exit codes (DESIGN.md): images/containers 0, or 3 when the data root cannot
 * be read.  layers verify: 0 every layer verifies, 1 a layer differs from its
 * digest or headers, 3 a layer could not be verified (and none differs).
 * drift: 0 no change, 1 the container changed files against its image (an
 * expected state for most containers: read the list, or use --json), 3 on
 * failure.  2 is a usage error everywhere.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vigil/cli.h"
#include "vigil/crypto.h"
#include "vigil/docker.h"
#include "vigil/record.h"

#include "drift_pkg.h"

struct dopts {
	int json, all, threads, is_short;
	const char *data_root;
};

/* Common options; returns optind or -1 on a usage error. */
static int parse_opts(const char *cmd, int argc, char **argv, struct dopts *o, const char *usage)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "data-root", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "short", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt_long(argc, argv, "jad:t:sh", lo, NULL)) != -1) {
		switch (ch) {
		case 'j': o->json = 1; break;
		case 'a': o->all = 1; break;
		case 'd': o->data_root = optarg; break;
		case 's': o->is_short = 1; break;
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v < 1 || v > 64) {
				vigil_log_err("%s: --threads '%s': expected 1 to 64", cmd, optarg);
				return -1;
			}
			o->threads = (int)v;
			break;
		}
		case 'h':
			printf("usage: vigil [--root DIR] %s\n", usage);
			exit(VIGIL_EXIT_OK);
		default:
			fprintf(stderr, "usage: vigil [--root DIR] %s\n", usage);
			return -1;
		}
	}
	return optind;
}

static struct vigil_docker *load(struct vigil_cli *cli, const struct dopts *o)
{
	struct vigil_err err = { "" };
	struct vigil_docker *d;
	const struct vigil_strv *w;

	if (vigil_docker_load(cli->root, o->data_root, &d, &err)) {
		vigil_log_err("%s", err.msg);
		return NULL;
	}
	w = vigil_docker_warnings(d);
	for (size_t i = 0; i < w->n; i++)
		vigil_log_warn("%s", w->v[i]);
	return d;
}

static void human_size(int64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)n;
	int u = 0;

	if (n < 0) {
		snprintf(buf, len, "?");
		return;
	}
	while (v >= 1000 && u < 4)
		v /= 1000, u++;
	snprintf(buf, len, u ? "%.3g%s" : "%.0f%s", v, unit[u]);
}

static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jstrv(const struct vigil_strv *sv)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

static json_t *jpath(const char *p)
{
	char *e = vigil_path_escape(p, strlen(p));
	json_t *j = json_string(e ? e : "?");

	free(e);
	return j;
}

static int print_json(json_t *j)
{
	int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);

	fputc('\n', stdout);
	json_decref(j);
	return rc ? VIGIL_EXIT_FAIL : VIGIL_EXIT_OK;
}

static int image_listed(const struct vigil_docker_image *im, int all)
{
	/* As `docker images`: intermediate build images only with --all. */
	return all || im->tags.n || !im->has_children;
}

int vigil_cmd_images(struct vigil_cli *cli, int argc, char **argv)
{
	struct dopts o;
	struct vigil_docker *d;
	int rc = VIGIL_EXIT_OK;

	if (parse_opts("images", argc, argv, &o, "images [--json] [--all] [--data-root DIR]") < 0)
		return VIGIL_EXIT_USAGE;
	if (optind < argc) {
		vigil_log_err("images: unexpected argument '%s'", argv[optind]);
		return VIGIL_EXIT_USAGE;
	}
	d = load(cli, &o);
	if (!d)
		return VIGIL_EXIT_FAIL;
	if (o.json) {
		json_t *a = json_array();

		for (size_t i = 0; i < vigil_docker_n_images(d); i++) {
			const struct vigil_docker_image *im = vigil_docker_image(d, i);
			json_t *j, *layers;

			if (!image_listed(im, o.all))
				continue;
			layers = json_array();
			for (size_t k = 0; k < im->diff_ids.n; k++)
				json_array_append_new(layers, json_pack("{s:s,s:s}", "diff_id", im->diff_ids.v[k],
									"chain_id", im->chain_ids.v[k]));
			j = json_pack("{s:s,s:o,s:o,s:I,s:o,s:b,s:o,s:o,s:o}", "id", im->id, "tags", jstrv(&im->tags),
				      "created", jstr_or_null(im->created), "size", (json_int_t)im->size,
				      "layers", layers, "id_ok", im->id_ok, "parent",
				      im->parent[0] ? json_string(im->parent) : json_null(), "error",
				      jstr_or_null(im->error), "entrypoint",
				      im->entrypoint ? json_loads(im->entrypoint, JSON_DECODE_ANY, NULL) : json_null());
			if (j && im->cmd)
				json_object_set_new(j, "cmd", json_loads(im->cmd, JSON_DECODE_ANY, NULL));
			json_array_append_new(a, j);
		}
		rc = print_json(a);
	} else {
		printf("%-28s %-12s %-12s %-20s %8s %6s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE",
		       "LAYERS");
		for (size_t i = 0; i < vigil_docker_n_images(d); i++) {
			const struct vigil_docker_image *im = vigil_docker_image(d, i);
			char size[32], created[32];
			size_t nt = im->tags.n ? im->tags.n : 1;

			if (!image_listed(im, o.all))
				continue;
			human_size(im->size, size, sizeof(size));
			snprintf(created, sizeof(created), "%.19s", im->created ? im->created : "?");
			for (size_t k = 0; k < nt; k++) {
				const char *t = im->tags.n ? im->tags.v[k] : NULL, *colon = t ? strrchr(t, ':') : NULL;

				printf("%-28.*s %-12s %-12.12s %-20s %8s %6zu\n", t ? (int)(colon - t) : 6,
				       t ? t : "<none>", colon ? colon + 1 : "<none>", im->id + 7, created, size,
				       im->diff_ids.n);
			}
			if (im->error)
				vigil_log_warn("image %.19s: %s", im->id, im->error);
		}
	}
	vigil_docker_free(d);
	return rc;
}

/* One JSON object per container (config, host config, layers). */
static int containers_json(struct vigil_docker *d)
{
	json_t *a = json_array();

	for (size_t i = 0; i < vigil_docker_n_containers(d); i++) {
		const struct vigil_docker_container *c = vigil_docker_container(d, i);
		json_t *mounts = json_array(), *j;

		for (size_t k = 0; k < c->n_mounts; k++)
			json_array_append_new(mounts, json_pack("{s:o,s:o,s:o,s:b}", "source",
								jstr_or_null(c->mounts[k].source), "destination",
								jstr_or_null(c->mounts[k].destination), "type",
								jstr_or_null(c->mounts[k].type), "rw",
								c->mounts[k].rw));
		j = json_pack("{s:s,s:o,s:o,s:o,s:o,s:i,s:i,s:o,s:o,s:o,s:o,s:o}", "id", c->id, "name",
			      jstr_or_null(c->name), "image", jstr_or_null(c->image_ref), "image_id",
			      jstr_or_null(c->image_id), "state", jstr_or_null(c->state), "pid", c->pid,
			      "exit_code", c->exit_code, "created", jstr_or_null(c->created), "started_at",
			      jstr_or_null(c->started_at), "finished_at", jstr_or_null(c->finished_at),
			      "command", jstr_or_null(c->command), "mounts", mounts);
		if (j) {
			json_object_set_new(j, "host_config",
					    json_pack("{s:b,s:b,s:o,s:o,s:o,s:o,s:o,s:o}", "privileged",
						      c->privileged, "readonly_rootfs", c->readonly_rootfs,
						      "binds", jstrv(&c->binds), "cap_add", jstrv(&c->cap_add),
						      "security_opt", jstrv(&c->security_opt), "pid_mode",
						      jstr_or_null(c->pid_mode), "ipc_mode",
						      jstr_or_null(c->ipc_mode), "network_mode",
						      jstr_or_null(c->network_mode)));
			json_object_set_new(j, "layer", json_pack("{s:o,s:o,s:o}", "mount_id",
								  jstr_or_null(c->mount_id), "init_id",
								  jstr_or_null(c->init_id), "parent",
								  c->parent[0] ? json_string(c->parent) :
										 json_null()));
			json_object_set_new(j, "error", jstr_or_null(c->error));
		}
		json_array_append_new(a, j);
	}
	return print_json(a);
}

/* A `docker ps -a`-like table, with notes on risky host settings. */
static void containers_text(struct vigil_docker *d)
{
	printf("%-12s %-20s %-10s %7s %-20s %-20s %s\n", "CONTAINER ID", "IMAGE", "STATE", "PID", "CREATED",
	       "NAME", "NOTES");
	for (size_t i = 0; i < vigil_docker_n_containers(d); i++) {
		const struct vigil_docker_container *c = vigil_docker_container(d, i);
		char notes[256] = "";
		size_t nl = 0;

#define NOTE(cond, ...) do { if ((cond) && nl < sizeof(notes)) { \
	int w_ = snprintf(notes + nl, sizeof(notes) - nl, "%s", nl ? "," : ""); \
	if (w_ > 0) nl += (size_t)w_; \
	if (nl < sizeof(notes)) { w_ = snprintf(notes + nl, sizeof(notes) - nl, __VA_ARGS__); \
	if (w_ > 0) nl += (size_t)w_; } } } while (0)
		NOTE(c->privileged, "privileged");
		NOTE(c->readonly_rootfs, "read-only");
		NOTE(c->pid_mode && !strcmp(c->pid_mode, "host"), "pid=host");
		NOTE(c->ipc_mode && !strcmp(c->ipc_mode, "host"), "ipc=host");
		NOTE(c->network_mode && !strcmp(c->network_mode, "host"), "net=host");
		NOTE(c->cap_add.n, "cap-add=%zu", c->cap_add.n);
		NOTE(c->binds.n, "binds=%zu", c->binds.n);
#undef NOTE
		if (nl > sizeof(notes) - 1)
			nl = sizeof(notes) - 1;
		printf("%-12.12s %-20.20s %-10s %7d %-20.19s %-20s %s\n", c->id,
		       c->image_ref ? c->image_ref : "?", c->state ? c->state : "?", c->pid,
		       c->created ? c->created : "?", c->name ? c->name : "?", notes);
		if (c->error)
			vigil_log_warn("container %.12s: %s", c->id, c->error);
	}
}

int vigil_cmd_containers(struct vigil_cli *cli, int argc, char **argv)
{
	struct dopts o;
	struct vigil_docker *d;
	int rc = VIGIL_EXIT_OK;

	if (parse_opts("containers", argc, argv, &o, "containers [--json] [--data-root DIR]") < 0)
		return VIGIL_EXIT_USAGE;
	if (optind < argc) {
		vigil_log_err("containers: unexpected argument '%s'", argv[optind]);
		return VIGIL_EXIT_USAGE;
	}
	d = load(cli, &o);
	if (!d)
		return VIGIL_EXIT_FAIL;
	if (o.json)
		rc = containers_json(d);
	else
		containers_text(d);
	vigil_docker_free(d);
	return rc;
}

static const char *status_name(int s)
{
	return s == VIGIL_DOCKER_LAYER_OK ? "ok" : s == VIGIL_DOCKER_LAYER_MODIFIED ? "MODIFIED" : "ERROR";
}

static const char *finding_name(int k)
{
	switch (k) {
	case VIGIL_DOCKER_F_CONTENT: return "content";
	case VIGIL_DOCKER_F_MISSING: return "missing";
	case VIGIL_DOCKER_F_SHORT: return "size";
	case VIGIL_DOCKER_F_EXTRA: return "extra";
	case VIGIL_DOCKER_F_LAYERDB: return "layerdb";
	default: return "metadata";
	}
}

static int layers_list(struct vigil_docker *d, const struct dopts *o)
{
	if (o->json) {
		json_t *a = json_array();

		for (size_t i = 0; i < vigil_docker_n_layers(d); i++) {
			const struct vigil_docker_layer *l = vigil_docker_layer(d, i);
			char *users = vigil_docker_layer_users(d, l);

			json_array_append_new(a, json_pack("{s:s,s:s,s:o,s:o,s:I,s:b,s:o,s:o}", "chain_id",
							   l->chain_id, "diff_id", l->diff_id, "parent",
							   l->parent[0] ? json_string(l->parent) : json_null(),
							   "cache_id", jstr_or_null(l->cache_id), "size",
							   (json_int_t)l->size, "chain_ok", l->chain_ok, "images",
							   jstr_or_null(users), "error", jstr_or_null(l->error)));
			free(users);
		}
		return print_json(a);
	}
	printf("%-19s %-19s %-12s %8s %s\n", "CHAIN ID", "DIFF ID", "CACHE ID", "SIZE", "IMAGES");
	for (size_t i = 0; i < vigil_docker_n_layers(d); i++) {
		const struct vigil_docker_layer *l = vigil_docker_layer(d, i);
		char *users = vigil_docker_layer_users(d, l), size[32];

		human_size(l->size, size, sizeof(size));
		printf("%-19.19s %-19.19s %-12.12s %8s %s\n", l->chain_id, l->diff_id[0] ? l->diff_id : "?",
		       l->cache_id ? l->cache_id : "?", size, users ? users : "-");
		if (l->error)
			vigil_log_warn("layer %.19s: %s", l->chain_id, l->error);
		free(users);
	}
	return VIGIL_EXIT_OK;
}

/* The verification results as one JSON array on stdout. */
static void verify_json(struct vigil_docker *d, const struct vigil_docker_verify *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		char *users = vigil_docker_layer_users(d, v[i].layer);
		json_t *f = json_array();

		for (size_t k = 0; k < v[i].n_findings; k++)
			json_array_append_new(f, json_pack("{s:s,s:o,s:o}", "kind",
							   finding_name(v[i].findings[k].kind), "path",
							   v[i].findings[k].path ? jpath(v[i].findings[k].path) :
										   json_null(),
							   "detail", jstr_or_null(v[i].findings[k].detail)));
		json_array_append_new(a, json_pack("{s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:I,s:I,s:I,s:o}",
						   "chain_id", v[i].layer->chain_id, "diff_id",
						   v[i].layer->diff_id, "cache_id",
						   jstr_or_null(v[i].layer->cache_id), "status",
						   status_name(v[i].status), "digest",
						   v[i].digest[0] ? json_string(v[i].digest) : json_null(),
						   "images", jstr_or_null(users), "first_bad",
						   v[i].first_bad ? jpath(v[i].first_bad) : json_null(),
						   "findings", f, "findings_dropped",
						   (json_int_t)v[i].findings_dropped, "files",
						   (json_int_t)v[i].files, "bytes", (json_int_t)v[i].bytes,
						   "error", jstr_or_null(v[i].error)));
		free(users);
	}
	print_json(a);
}

/* One layer's result as text (modified: what differs). */
static void verify_text(struct vigil_docker *d, const struct vigil_docker_verify *x)
{
	char *users = vigil_docker_layer_users(d, x->layer);

	printf("%-8s %s  %" PRIu64 " entries, %" PRIu64 " bytes  [%s]\n", status_name(x->status),
	       x->layer->chain_id, x->files, x->bytes, users ? users : "no image");
	free(users);
	if (x->status == VIGIL_DOCKER_LAYER_MODIFIED) {
		char *esc = x->first_bad ? vigil_path_escape(x->first_bad, strlen(x->first_bad)) : NULL;

		printf("         diff id %s\n         rebuilt %s%s\n", x->layer->diff_id, x->digest,
		       strcmp(x->digest, x->layer->diff_id) ? "  (digest differs)" : "  (digest matches)");
		printf("         cache id %s\n", x->layer->cache_id);
		if (esc)
			printf("         first differing file: %s\n", esc);
		free(esc);
		for (size_t k = 0; k < x->n_findings; k++) {
			char *p = vigil_path_escape(x->findings[k].path, strlen(x->findings[k].path));

			printf("         %-8s %s: %s\n", finding_name(x->findings[k].kind), p ? p : "?",
			       x->findings[k].detail ? x->findings[k].detail : "");
			free(p);
		}
		if (x->findings_dropped)
			printf("         ... and %" PRIu64 " more\n", x->findings_dropped);
	} else if (x->status == VIGIL_DOCKER_LAYER_ERROR) {
		printf("         %s\n", x->error ? x->error : "unknown error");
	}
}

/* Image configs are content-addressed too: the file must hash to its name.
 * The number of those (named by argv, or all) that do not. */
static size_t verify_image_configs(struct vigil_docker *d, const struct dopts *o, int argc, char **argv)
{
	size_t nimg = 0;

	for (size_t i = 0; i < vigil_docker_n_images(d); i++) {
		const struct vigil_docker_image *im = vigil_docker_image(d, i);
		int named = !argc;

		for (int k = 0; k < argc && !named; k++)
			named = vigil_docker_find_image(d, argv[k], NULL) == im;
		if (!named || !im->id_checked || im->id_ok)
			continue;
		nimg++;
		if (!o->json)
			printf("MODIFIED image config %s [%s]\n         %s\n", im->id,
			       im->tags.n ? im->tags.v[0] : "untagged", im->error ? im->error : "");
		else
			vigil_log_err("image config %s: %s", im->id, im->error ? im->error : "content digest differs");
	}
	return nimg;
}

static int layers_verify(struct vigil_docker *d, const struct dopts *o, int argc, char **argv)
{
	struct vigil_err err = { "" };
	struct vigil_docker_verify *v = NULL;
	size_t n = 0, nok = 0, nmod = 0, nerr = 0, nimg;
	int rc;

	rc = vigil_docker_verify(d, (const char *const *)argv, (size_t)argc, o->threads, &v, &n, &err);
	if (rc) {
		vigil_log_err("layers verify: %s", err.msg);
		return rc == -ENOENT ? VIGIL_EXIT_USAGE : VIGIL_EXIT_FAIL;
	}
	if (o->json)
		verify_json(d, v, n);
	for (size_t i = 0; i < n; i++) {
		if (v[i].status == VIGIL_DOCKER_LAYER_OK)
			nok++;
		else if (v[i].status == VIGIL_DOCKER_LAYER_MODIFIED)
			nmod++;
		else
			nerr++;
		if (!o->json)
			verify_text(d, &v[i]);
	}
	nimg = verify_image_configs(d, o, argc, argv);
	fprintf(stderr, "vigil: %zu layer%s: %zu ok, %zu modified, %zu not verifiable", n, n == 1 ? "" : "s",
		nok, nmod, nerr);
	if (nimg)
		fprintf(stderr, "; %zu image config%s differ%s from its digest", nimg, nimg == 1 ? "" : "s",
			nimg == 1 ? "s" : "");
	fputc('\n', stderr);
	vigil_docker_verify_free(v, n);
	return nmod || nimg ? VIGIL_EXIT_DIFF : nerr ? VIGIL_EXIT_FAIL : VIGIL_EXIT_OK;
}

int vigil_cmd_layers(struct vigil_cli *cli, int argc, char **argv)
{
	static const char usage[] = "layers list [--json] [--data-root DIR]\n"
				    "       vigil [--root DIR] layers verify [--json] [--threads N] [--data-root DIR] [IMAGE|LAYER...]";
	struct dopts o;
	struct vigil_docker *d;
	const char *sub;
	int rc;

	if (parse_opts("layers", argc, argv, &o, usage) < 0)
		return VIGIL_EXIT_USAGE;
	if (optind >= argc) {
		fprintf(stderr, "usage: vigil [--root DIR] %s\n", usage);
		return VIGIL_EXIT_USAGE;
	}
	sub = argv[optind++];
	if (strcmp(sub, "list") && strcmp(sub, "verify")) {
		vigil_log_err("layers: unknown subcommand '%s' (list, verify)", sub);
		return VIGIL_EXIT_USAGE;
	}
	/* Options may also follow the subcommand. */
	{
		struct dopts o2;
		int first = optind - 1;

		optind = 0;
		if (parse_opts("layers", argc - first, argv + first, &o2, usage) < 0)
			return VIGIL_EXIT_USAGE;
		o.json |= o2.json;
		if (o2.threads)
			o.threads = o2.threads;
		if (o2.data_root)
			o.data_root = o2.data_root;
		optind += first;
	}
	d = load(cli, &o);
	if (!d)
		return VIGIL_EXIT_FAIL;
	if (!strcmp(sub, "list"))
		rc = layers_list(d, &o);
	else
		rc = layers_verify(d, &o, argc - optind, argv + optind);
	vigil_docker_free(d);
	return rc;
}

/* ["mode", "owner"]: the names vigil_docker_why_str() gives, as a list. */
static json_t *why_json(unsigned why)
{
	char buf[128], *save = NULL;
	json_t *a = json_array();

	vigil_docker_why_str(why, buf, sizeof(buf));
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(t));
	return a;
}

static void drift_json(const struct vigil_docker_change *ch, size_t n, const struct drift_pkg *dp)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *j = json_pack("{s:s#,s:o,s:s,s:o,s:I}", "kind", &ch[i].kind, (size_t)1, "path",
				      jpath(ch[i].path), "type", vigil_ftype_name(ch[i].ftype), "mode",
				      ch[i].kind == 'D' && !(ch[i].flags & VIGIL_DOCKER_CH_OPAQUE) ?
					      json_null() : json_integer(ch[i].mode),
				      "size", (json_int_t)ch[i].size);

		if (j) {
			json_object_set_new(j, "sha256", ch[i].has_hash ? json_string(ch[i].sha256) : json_null());
			json_object_set_new(j, "executable", json_boolean(ch[i].flags & VIGIL_DOCKER_CH_EXEC));
			json_object_set_new(j, "sensitive", json_boolean(ch[i].flags & VIGIL_DOCKER_CH_SENSITIVE));
			json_object_set_new(j, "opaque", json_boolean(ch[i].flags & VIGIL_DOCKER_CH_OPAQUE));
			if (ch[i].kind != 'D') {
				json_object_set_new(j, "uid", json_integer(ch[i].uid));
				json_object_set_new(j, "gid", json_integer(ch[i].gid));
			}
			if (ch[i].kind == 'C')
				json_object_set_new(j, "changed", why_json(ch[i].why));
			drift_pkg_change_json(dp, i, j); /* packages: what dpkg says of it */
		}
		json_array_append_new(a, j);
	}
	drift_pkg_findings_json(dp, a);
	print_json(a);
}

static void drift_text(const struct vigil_docker_change *ch, size_t n, int is_short, const struct drift_pkg *dp)
{
	for (size_t i = 0; i < n; i++) {
		char *p = vigil_path_escape(ch[i].path, strlen(ch[i].path)), why[128];

		if (is_short) {
			printf("%c %s\n", ch[i].kind, p ? p : "?");
		} else {
			printf("%c %-40s %-9s", ch[i].kind, p ? p : "?",
			       ch[i].kind == 'D' && !(ch[i].flags & VIGIL_DOCKER_CH_OPAQUE) ? "-" :
											   vigil_ftype_name(ch[i].ftype));
			if (ch[i].has_hash)
				printf(" %04o %10" PRIu64 " sha256:%s", (unsigned)ch[i].mode, ch[i].size, ch[i].sha256);
			if (ch[i].kind == 'C')
				printf(" (%s)", vigil_docker_why_str(ch[i].why, why, sizeof(why)));
			printf("%s%s%s\n", ch[i].flags & VIGIL_DOCKER_CH_EXEC ? " [new executable]" : "",
			       ch[i].flags & VIGIL_DOCKER_CH_SENSITIVE ? " [sensitive path]" : "",
			       ch[i].flags & VIGIL_DOCKER_CH_OPAQUE ? " [opaque dir]" : "");
			drift_pkg_change_text(dp, i);
		}
		free(p);
	}
	if (!is_short)
		drift_pkg_findings_text(dp);
}

int vigil_cmd_drift(struct vigil_cli *cli, int argc, char **argv)
{
	struct vigil_err err = { "" };
	struct dopts o;
	struct vigil_docker *d;
	const struct vigil_docker_container *c;
	struct vigil_docker_change *ch = NULL;
	struct drift_pkg *dp;
	size_t n = 0;
	int rc;

	if (parse_opts("drift", argc, argv, &o, "drift [--json] [--short] [--data-root DIR] CONTAINER") < 0)
		return VIGIL_EXIT_USAGE;
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: vigil [--root DIR] drift [--json] [--short] [--data-root DIR] CONTAINER\n");
		return VIGIL_EXIT_USAGE;
	}
	d = load(cli, &o);
	if (!d)
		return VIGIL_EXIT_FAIL;
	c = vigil_docker_find_container(d, argv[optind], &err);
	if (!c) {
		vigil_log_err("drift: %s", err.msg);
		vigil_docker_free(d);
		return VIGIL_EXIT_USAGE;
	}
	/* MD5 in the same read as sha256: the image's dpkg sums judge the changes */
	if (vigil_docker_drift_flags(d, c, VIGIL_DOCKER_DRIFT_MD5, &ch, &n, &err)) {
		vigil_log_err("drift: %s", err.msg);
		vigil_docker_free(d);
		return VIGIL_EXIT_FAIL;
	}
	dp = drift_pkg_new(d, c, ch, n);
	if (!dp) {
		vigil_log_err("drift: out of memory");
		vigil_docker_drift_free(ch, n);
		vigil_docker_free(d);
		return VIGIL_EXIT_FAIL;
	}
	if (o.json)
		drift_json(ch, n, dp);
	else
		drift_text(ch, n, o.is_short, dp);
	rc = n ? VIGIL_EXIT_DIFF : VIGIL_EXIT_OK;
	drift_pkg_free(dp);
	vigil_docker_drift_free(ch, n);
	vigil_docker_free(d);
	return rc;
}
