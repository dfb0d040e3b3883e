/* docker_engine.c - finding the Docker engine's binaries, configs and data
 * root from files alone (standard paths, systemd units, daemon.json), inside
 * --root when given.
 *
 * A path that resolves through symlinks is reported as its canonical path
 * (so /bin/dockerd and /usr/bin/dockerd on a merged-/usr system are one
 * entry); a binary that is itself a symlink (/usr/bin/runc -> ../sbin/runc)
 * is reported both as the link and as its target, since either can be
 * swapped.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "docker_priv.h"

static const char *const bin_dirs[] = {
	"/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin",
	"/usr/libexec/docker", NULL,
};
static const char *const bin_names[] = {
	"dockerd", "docker", "containerd", "containerd-shim-runc-v2", "containerd-shim",
	"containerd-shim-runc-v1", "runc", "docker-init", "docker-proxy", "ctr", NULL,
};
/* CIS Docker Benchmark 1.1 order: /etc/systemd/system first (overrides). */
static const char *const unit_dirs[] = {
	"/etc/systemd/system", "/lib/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", NULL,
};
static const char *const units[] = {
	"docker.service", "docker.socket", "containerd.service", NULL,
};
static const char *const config_files[] = {
	"/etc/docker/daemon.json", "/etc/default/docker", "/etc/sysconfig/docker",
	"/etc/containerd/config.toml", "/etc/docker/certs.d", "/etc/docker/key.json",
	"/etc/systemd/system/docker.service.d", "/etc/systemd/system/containerd.service.d", NULL,
};

static int strv_has(const struct vigil_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return 1;
	return 0;
}

static void warn(struct vigil_docker_engine *eng, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct vigil_docker_engine *eng, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!strv_has(&eng->warnings, buf))
		docker_strv_push(&eng->warnings, buf);
}

/* The canonical path of fd as seen inside root ("/usr/bin/x"), or NULL. */
static char *canonical(int fd, const char *root)
{
	char proc[64], buf[4096];
	ssize_t n;
	size_t rl = root ? strlen(root) : 0;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (rl > 1) {
		if (strncmp(buf, root, rl) || (buf[rl] != '/' && buf[rl] != '\0'))
			return NULL;
		return strdup(buf[rl] ? buf + rl : "/");
	}
	return strdup(buf);
}

/* Adds path (and its canonical target) to sv when it exists inside root. */
static int add_existing(int rootfd, const char *root, const char *path, struct vigil_strv *sv)
{
	struct stat st;
	char *canon;
	int fd = docker_open_in_root(rootfd, path, O_PATH), lfd, rc = 0;

	if (fd < 0)
		return 0;
	canon = canonical(fd, root);
	if (canon && !strv_has(sv, canon))
		rc = docker_strv_push(sv, canon);
	/* The final component itself a symlink: keep the link too. */
	lfd = docker_open_in_root(rootfd, path, O_PATH | O_NOFOLLOW);
	if (!rc && lfd >= 0 && !fstat(lfd, &st) && S_ISLNK(st.st_mode)) {
		char *lcanon = NULL, *slash = strrchr(path, '/');
		int dfd;

		/* The link's own canonical path: its dir resolved, its name kept. */
		if (slash && slash != path) {
			char *dir = strndup(path, (size_t)(slash - path));

			dfd = dir ? docker_open_in_root(rootfd, dir, O_PATH | O_DIRECTORY) : -1;
			if (dfd >= 0) {
				char *dc = canonical(dfd, root);

				if (dc && asprintf(&lcanon, "%s%s", strcmp(dc, "/") ? dc : "", slash) < 0)
					lcanon = NULL;
				free(dc);
				close(dfd);
			}
			free(dir);
		}
		if (lcanon && !strv_has(sv, lcanon))
			rc = docker_strv_push(sv, lcanon);
		free(lcanon);
	}
	if (lfd >= 0)
		close(lfd);
	free(canon);
	close(fd);
	return rc;
}

static char *read_in_root(int rootfd, const char *path, size_t max)
{
	char *buf = NULL;

	return vigil_rootfs_read(rootfd, path, max, &buf, NULL) ? NULL : buf;
}

/* The value of a --data-root / -g flag among the words of a command line
 * (save: strtok_r state), or NULL. */
static const char *flag_data_root(char **save)
{
	char *tok;

	while ((tok = strtok_r(NULL, " \t\"'", save))) {
		if (!strncmp(tok, "--data-root=", 12))
			return tok + 12;
		if (!strncmp(tok, "--graph=", 8))
			return tok + 8;
		if (!strcmp(tok, "--data-root") || !strcmp(tok, "-g") || !strcmp(tok, "--graph"))
			return strtok_r(NULL, " \t\"'", save);
	}
	return NULL;
}

/* What docker.service's ExecStart says, as systemd merges the unit and its
 * drop-ins: the last ExecStart= wins ("ExecStart=" alone resets it). */
struct unit_state {
	char *data_root;  /* --data-root/-g of the current ExecStart, or NULL */
	int uses_opts;    /* it expands $DOCKER_OPTS (Debian's EnvironmentFile) */
	int seen;         /* some ExecStart= was read */
};

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? strdup(v) : NULL;
}

/* ExecStart= lines: the program and a --data-root/-g flag. */
static void parse_unit(struct vigil_docker_engine *eng, int rootfd, const char *root, const char *unit_path,
		       const char *text, struct unit_state *us)
{
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n'), *p;
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[4096];

		if (len < sizeof(buf) && !strncmp(line, "ExecStart=", 10)) {
			char *save = NULL, *prog;
			int uses_opts = memmem(line, len, "DOCKER_OPTS", 11) != NULL;

			memcpy(buf, line + 10, len - 10);
			buf[len - 10] = '\0';
			p = buf;
			while (*p && strchr("-@:+! \t", *p))
				p++;
			prog = strtok_r((char *)p, " \t", &save);
			if (us) {
				const char *v = prog ? flag_data_root(&save) : NULL;

				us->seen = 1;
				set_str(&us->data_root, v && v[0] == '/' ? v : NULL);
				us->uses_opts = uses_opts;
			}
			if (prog && prog[0] == '/')
				add_existing(rootfd, root, prog, &eng->binaries);
			else if (prog)
				warn(eng, "%s: ExecStart program '%s' is not an absolute path", unit_path, prog);
		}
		line = end ? end + 1 : NULL;
	}
}

/* DOCKER_OPTS="..." in /etc/default/docker (Debian; sysvinit and the units
 * that read it as an EnvironmentFile): its --data-root / -g, or NULL. */
static char *opts_data_root(int rootfd)
{
	char *text = read_in_root(rootfd, "/etc/default/docker", 1 << 20), *out = NULL;
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[4096], *save = NULL, *q;

		while (len && (*line == ' ' || *line == '\t'))
			line++, len--;
		if (len < sizeof(buf) && len > 12 && !strncmp(line, "DOCKER_OPTS=", 12)) {
			const char *v;

			memcpy(buf, line, len);
			buf[len] = '\0';
			q = buf + 12;
			save = q; /* flag_data_root() goes on from save */
			v = flag_data_root(&save);
			set_str(&out, v && v[0] == '/' ? v : NULL);
		}
		line = end ? end + 1 : NULL;
	}
	free(text);
	return out;
}

struct dropins {
	struct vigil_strv paths; /* every drop-in's path */
	struct vigil_strv names; /* their file names, one per name (the first dir wins) */
};

static int dropin_cb(void *arg, const char *path)
{
	struct dropins *di = arg;
	const char *base = strrchr(path, '/') + 1;

	if (strv_has(&di->names, base))
		return 0; /* masked by the same name in an earlier (stronger) dir */
	return docker_strv_push(&di->names, base) || docker_strv_push(&di->paths, path) ? -ENOMEM : 0;
}

static int cmp_base(const void *a, const void *b)
{
	return strcmp(strrchr(*(char *const *)a, '/'), strrchr(*(char *const *)b, '/'));
}

/* docker.service, then its drop-ins (docker.service.d/ *.conf in every unit
 * dir, ordered by file name as systemd applies them). */
static void read_units(struct vigil_docker_engine *eng, int rootfd, const char *root, struct unit_state *us)
{
	struct dropins di = { { 0 } };
	char path[4096], *text;

	for (int u = 0; units[u]; u++)
		for (int d = 0; unit_dirs[d]; d++) {
			snprintf(path, sizeof(path), "%s/%s", unit_dirs[d], units[u]);
			text = read_in_root(rootfd, path, 1 << 20);
			if (!text)
				continue;
			add_existing(rootfd, root, path, &eng->configs);
			/* the first dir holding the unit is the one systemd loads */
			parse_unit(eng, rootfd, root, path, text,
				   strcmp(units[u], "docker.service") || us->seen ? NULL : us);
			free(text);
		}
	for (int d = 0; unit_dirs[d]; d++) {
		snprintf(path, sizeof(path), "%s/docker.service.d/*.conf", unit_dirs[d]);
		vigil_rootfs_glob(rootfd, path, dropin_cb, &di);
	}
	if (di.paths.n > 1)
		qsort(di.paths.v, di.paths.n, sizeof(char *), cmp_base);
	for (size_t i = 0; i < di.paths.n; i++) {
		text = read_in_root(rootfd, di.paths.v[i], 1 << 20);
		if (!text)
			continue;
		add_existing(rootfd, root, di.paths.v[i], &eng->configs);
		parse_unit(eng, rootfd, root, di.paths.v[i], text, us);
		free(text);
	}
	docker_strv_clear(&di.paths);
	docker_strv_clear(&di.names);
}

/* daemon.json's "data-root" (or "graph", before Docker 17.05), or NULL. */
static char *json_data_root(struct vigil_docker_engine *eng, int rootfd)
{
	char *text = read_in_root(rootfd, "/etc/docker/daemon.json", 1 << 20), *out = NULL;
	json_error_t jerr;
	json_t *j, *v;

	if (!text)
		return NULL;
	j = json_loads(text, 0, &jerr);
	if (!j || !json_is_object(j)) {
		warn(eng, "/etc/docker/daemon.json: line %d: %s", j ? 1 : jerr.line, j ? "not a JSON object" : jerr.text);
	} else {
		v = json_object_get(j, "data-root");
		if (!v)
			v = json_object_get(j, "graph");
		if (json_is_string(v) && json_string_value(v)[0] == '/')
			out = strdup(json_string_value(v));
		else if (v)
			warn(eng, "/etc/docker/daemon.json: \"data-root\" is not an absolute path");
	}
	json_decref(j);
	free(text);
	return out;
}

/* dockerd installed while its data root is missing: layers are not
 * baselined, and the user must hear why rather than see 0 layers.  A
 * malloc'd message, or NULL when there is nothing to say. */
static char *data_root_problem(const struct vigil_docker_engine *eng, int rootfd)
{
	const char *dockerd = NULL;
	struct stat st;
	char *msg = NULL;

	for (size_t i = 0; i < eng->binaries.n && !dockerd; i++) {
		const char *b = strrchr(eng->binaries.v[i], '/');

		if (b && !strcmp(b + 1, "dockerd"))
			dockerd = eng->binaries.v[i];
	}
	if (!dockerd || !eng->data_root || (!vigil_rootfs_lstat(rootfd, eng->data_root, &st) && S_ISDIR(st.st_mode)))
		return NULL;
	if (asprintf(&msg, "dockerd is installed (%s) but its data root %s does not exist: no image layer is "
			   "baselined (daemon.json, docker.service and its drop-ins, DOCKER_OPTS were read; "
			   "is the data root set elsewhere?)", dockerd, eng->data_root) < 0)
		msg = NULL;
	return msg;
}

char *vigil_docker_layers_warning(const char *root)
{
	struct vigil_docker_engine eng;
	struct vigil_err err = { "" };
	char *msg = NULL;
	int rootfd;

	if (vigil_docker_discover(root, &eng, &err))
		return NULL;
	rootfd = vigil_rootfs_open_root(root, NULL);
	if (rootfd >= 0) {
		msg = data_root_problem(&eng, rootfd);
		close(rootfd);
	}
	vigil_docker_engine_clear(&eng);
	return msg;
}

int vigil_docker_discover(const char *root, struct vigil_docker_engine *eng, struct vigil_err *err)
{
	struct unit_state us = { 0 };
	char path[4096], *opts_root = NULL;
	int rootfd, rc = 0;

	memset(eng, 0, sizeof(*eng));
	if (!root || !root[0])
		root = "/";
	rootfd = vigil_rootfs_open_root(root, NULL);
	if (rootfd < 0)
		return vigil_err_set(err, rootfd, "root '%s': %s", root, strerror(-rootfd));
	for (int d = 0; bin_dirs[d]; d++)
		for (int b = 0; bin_names[b]; b++) {
			snprintf(path, sizeof(path), "%s/%s", bin_dirs[d], bin_names[b]);
			rc = add_existing(rootfd, root, path, &eng->binaries);
			if (rc)
				goto out;
		}
	read_units(eng, rootfd, root, &us);
	for (int c = 0; config_files[c]; c++) {
		rc = add_existing(rootfd, root, config_files[c], &eng->configs);
		if (rc)
			goto out;
	}
	/* dockerd refuses a data root given both in daemon.json and as a flag,
	 * so at most one of them is live; DOCKER_OPTS counts when the unit
	 * expands it or when there is no unit (sysvinit). */
	eng->data_root = json_data_root(eng, rootfd);
	if (!eng->data_root && us.data_root) {
		eng->data_root = us.data_root;
		us.data_root = NULL;
	}
	if (!eng->data_root && (us.uses_opts || !us.seen) && (opts_root = opts_data_root(rootfd))) {
		eng->data_root = opts_root;
		opts_root = NULL;
	}
	if (!eng->data_root)
		eng->data_root = strdup("/var/lib/docker");
	if (!eng->data_root)
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
	else {
		char *msg = data_root_problem(eng, rootfd);

		if (msg)
			warn(eng, "%s", msg);
		free(msg);
	}
out:
	free(us.data_root);
	free(opts_root);
	close(rootfd);
	if (rc)
		vigil_docker_engine_clear(eng);
	return rc;
}

void vigil_docker_engine_clear(struct vigil_docker_engine *eng)
{
	if (!eng)
		return;
	free(eng->data_root);
	eng->data_root = NULL;
	docker_strv_clear(&eng->binaries);
	docker_strv_clear(&eng->configs);
	docker_strv_clear(&eng->warnings);
}

int vigil_docker_fill_scopes(struct vigil_config *cfg, const char *root, struct vigil_err *err)
{
	struct vigil_docker_engine eng;
	int rc = vigil_docker_discover(root, &eng, err);

	if (rc)
		return rc;
	for (size_t i = 0; i < cfg->n_scopes && !rc; i++) {
		struct vigil_scope *s = &cfg->scopes[i];
		const struct vigil_strv *src = s->auto_kind == VIGIL_AUTO_DOCKER_BINARIES ? &eng.binaries :
					       s->auto_kind == VIGIL_AUTO_DOCKER_CONFIGS ? &eng.configs : NULL;

		for (size_t k = 0; src && k < src->n && !rc; k++)
			if (!strv_has(&s->paths, src->v[k]))
				rc = docker_strv_push(&s->paths, src->v[k]);
	}
	if (rc)
		vigil_err_set(err, rc, "docker scopes: out of memory");
	vigil_docker_engine_clear(&eng);
	return rc;
}
