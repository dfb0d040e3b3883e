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
	int fd = docker_open_in_root(rootfd, path, O_PATH), dfd;

	if (fd < 0)
		return NULL;
	/* docker_read_file() confines beneath a dir: read "." of the O_PATH fd's
	 * parent is not possible, so reopen through /proc/self/fd. */
	{
		char proc[64];

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		dfd = open(proc, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	}
	close(fd);
	if (dfd < 0)
		return NULL;
	{
		struct stat st;

		if (!fstat(dfd, &st) && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= max) {
			buf = malloc((size_t)st.st_size + 1);
			if (buf) {
				ssize_t n = read(dfd, buf, (size_t)st.st_size);

				if (n < 0) {
					free(buf);
					buf = NULL;
				} else {
					buf[n] = '\0';
				}
			}
		}
	}
	close(dfd);
	return buf;
}

/* ExecStart= lines: the program and a --data-root/-g flag. */
static void parse_unit(struct vigil_docker_engine *eng, int rootfd, const char *root, const char *unit_path,
		       const char *text, char **data_root)
{
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n'), *p;
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[4096];

		if (len < sizeof(buf) && !strncmp(line, "ExecStart=", 10)) {
			char *tok, *save = NULL, *prog;

			memcpy(buf, line + 10, len - 10);
			buf[len - 10] = '\0';
			p = buf;
			while (*p && strchr("-@:+! \t", *p))
				p++;
			prog = strtok_r((char *)p, " \t", &save);
			if (prog && prog[0] == '/')
				add_existing(rootfd, root, prog, &eng->binaries);
			else if (prog)
				warn(eng, "%s: ExecStart program '%s' is not an absolute path", unit_path, prog);
			while ((tok = strtok_r(NULL, " \t", &save))) {
				const char *v = NULL;

				if (!strncmp(tok, "--data-root=", 12))
					v = tok + 12;
				else if (!strcmp(tok, "--data-root") || !strcmp(tok, "-g"))
					v = strtok_r(NULL, " \t", &save);
				if (v && v[0] == '/' && data_root && !*data_root)
					*data_root = strdup(v);
			}
		}
		line = end ? end + 1 : NULL;
	}
}

int vigil_docker_discover(const char *root, struct vigil_docker_engine *eng, struct vigil_err *err)
{
	char path[4096], *text, *unit_root = NULL;
	int rootfd, rc = 0;

	memset(eng, 0, sizeof(*eng));
	if (!root || !root[0])
		root = "/";
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return vigil_err_set(err, -errno, "root '%s': %s", root, strerror(errno));
	for (int d = 0; bin_dirs[d]; d++)
		for (int b = 0; bin_names[b]; b++) {
			snprintf(path, sizeof(path), "%s/%s", bin_dirs[d], bin_names[b]);
			rc = add_existing(rootfd, root, path, &eng->binaries);
			if (rc)
				goto out;
		}
	for (int u = 0; units[u]; u++)
		for (int d = 0; unit_dirs[d]; d++) {
			snprintf(path, sizeof(path), "%s/%s", unit_dirs[d], units[u]);
			text = read_in_root(rootfd, path, 1 << 20);
			if (!text)
				continue;
			add_existing(rootfd, root, path, &eng->configs);
			parse_unit(eng, rootfd, root, path, text, strcmp(units[u], "docker.service") ? NULL : &unit_root);
			free(text);
		}
	for (int c = 0; config_files[c]; c++) {
		rc = add_existing(rootfd, root, config_files[c], &eng->configs);
		if (rc)
			goto out;
	}
	text = read_in_root(rootfd, "/etc/docker/daemon.json", 1 << 20);
	if (text) {
		json_error_t jerr;
		json_t *j = json_loads(text, 0, &jerr), *v;

		if (!j || !json_is_object(j)) {
			warn(eng, "/etc/docker/daemon.json: line %d: %s", j ? 1 : jerr.line,
			     j ? "not a JSON object" : jerr.text);
		} else {
			v = json_object_get(j, "data-root");
			if (!v)
				v = json_object_get(j, "graph"); /* before Docker 17.05 */
			if (json_is_string(v) && json_string_value(v)[0] == '/')
				eng->data_root = strdup(json_string_value(v));
			else if (v)
				warn(eng, "/etc/docker/daemon.json: \"data-root\" is not an absolute path");
		}
		json_decref(j);
		free(text);
	}
	if (!eng->data_root && unit_root) {
		eng->data_root = unit_root;
		unit_root = NULL;
	}
	if (!eng->data_root)
		eng->data_root = strdup("/var/lib/docker");
	if (!eng->data_root)
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
out:
	free(unit_root);
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
