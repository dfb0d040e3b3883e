/* docker_cis.c - the Docker collector's answers to the CIS benchmark checks:
 * raw container and image JSON, daemon.json read as strictly as dockerd reads
 * it, dockerd's command line (the running process, else its unit), and the
 * setuid/setgid files of an image's layers.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "vigil/docker_cis.h"

#include "docker_model.h"
#include "docker_priv.h"

/* A JSON object from a file beneath dirfd: NULL and *why on any problem. */
static json_t *load_object(int dirfd, const char *shown, const char *rel, size_t flags, char **why)
{
	char *buf = NULL;
	size_t len;
	json_error_t jerr;
	json_t *j;
	int rc = docker_read_file(dirfd, rel, DOCKER_JSON_MAX, &buf, &len);

	if (rc) {
		*why = docker_errf("%s: %s", shown, strerror(-rc));
		return NULL;
	}
	j = json_loadb(buf, len, flags, &jerr);
	free(buf);
	if (!j) {
		*why = docker_errf("%s: line %d: %s", shown, jerr.line, jerr.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		*why = docker_errf("%s: line 1: not a JSON object", shown);
		return NULL;
	}
	return j;
}

int vigil_docker_container_json(const struct vigil_docker *d, const char *id, json_t **config,
				json_t **hostconfig, char **why)
{
	char rel[256], shown[4200];

	*config = *hostconfig = NULL;
	*why = NULL;
	if (!docker_is_hex64(id)) {
		*why = docker_errf("container id '%s': not 64 hex digits", id);
		return 0;
	}
	snprintf(rel, sizeof(rel), "containers/%s/config.v2.json", id);
	snprintf(shown, sizeof(shown), "%s/%s", d->data_root, rel);
	*config = load_object(d->datafd, shown, rel, 0, why);
	if (*why)
		return 0;
	snprintf(rel, sizeof(rel), "containers/%s/hostconfig.json", id);
	snprintf(shown, sizeof(shown), "%s/%s", d->data_root, rel);
	*hostconfig = load_object(d->datafd, shown, rel, 0, why);
	return 0;
}

int vigil_docker_image_json(const struct vigil_docker *d, const char *image_id, json_t **cfg, char **why)
{
	char rel[256], shown[4200];

	*cfg = NULL;
	*why = NULL;
	if (!docker_is_digest(image_id)) {
		*why = docker_errf("image id '%s': not a sha256 digest", image_id);
		return 0;
	}
	snprintf(rel, sizeof(rel), "image/overlay2/imagedb/content/sha256/%s", image_id + 7);
	snprintf(shown, sizeof(shown), "%s/%s", d->data_root, rel);
	*cfg = load_object(d->datafd, shown, rel, 0, why);
	return 0;
}

/* ---- setuid / setgid files of a layer's diff dir ---- */
struct setid_walk {
	int (*cb)(void *arg, const char *path, mode_t mode);
	void *arg;
	unsigned depth;
};

static int walk_setid(struct setid_walk *w, int dfd, char *path, size_t plen, size_t cap)
{
	DIR *dir;
	struct dirent *de;
	int fd = docker_open_beneath(dfd, ".", O_RDONLY | O_DIRECTORY), rc = 0;

	if (fd < 0)
		return fd;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	while (!rc && (de = readdir(dir))) {
		struct stat st;
		size_t nl = strlen(de->d_name);

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) || plen + nl + 2 >= cap)
			continue;
		path[plen] = '/';
		memcpy(path + plen + 1, de->d_name, nl + 1);
		if (S_ISREG(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)))
			rc = w->cb(w->arg, path, st.st_mode);
		else if (S_ISDIR(st.st_mode) && w->depth < 64) {
			int sub = docker_open_beneath(dirfd(dir), de->d_name, O_PATH | O_DIRECTORY);

			if (sub >= 0) {
				w->depth++;
				rc = walk_setid(w, sub, path, plen + 1 + nl, cap);
				w->depth--;
				close(sub);
			}
		}
		path[plen] = '\0';
	}
	closedir(dir);
	return rc < 0 && rc != -EACCES ? rc : rc > 0 ? rc : 0;
}

int vigil_docker_image_setid(const struct vigil_docker *d, const struct vigil_docker_image *img,
			     int (*cb)(void *arg, const char *path, mode_t mode), void *arg,
			     struct vigil_err *err)
{
	struct setid_walk w = { cb, arg, 0 };
	char path[4096], rel[512];
	int rc = 0;

	if (d->o2fd < 0)
		return vigil_err_set(err, -ENOENT, "%s/overlay2: missing", d->data_root);
	for (size_t i = 0; i < img->chain_ids.n && !rc; i++) {
		const struct vigil_docker_layer *l = docker_layer_by_chain(d, img->chain_ids.v[i]);
		int fd;

		if (!l || !l->cache_id)
			return vigil_err_set(err, -ENOENT, "image %s: layer %s has no cache dir", img->id,
					     img->chain_ids.v[i]);
		snprintf(rel, sizeof(rel), "%s/diff", l->cache_id);
		fd = docker_open_beneath(d->o2fd, rel, O_PATH | O_DIRECTORY);
		if (fd < 0)
			return vigil_err_set(err, fd, "%s/overlay2/%s: %s", d->data_root, rel, strerror(-fd));
		path[0] = '\0';
		rc = walk_setid(&w, fd, path, 0, sizeof(path));
		close(fd);
		if (rc < 0)
			vigil_err_set(err, rc, "%s/overlay2/%s: %s", d->data_root, rel, strerror(-rc));
	}
	return rc;
}

int vigil_docker_swarm_active(const struct vigil_docker *d)
{
	char *buf = NULL;
	int on;

	if (docker_read_file(d->datafd, "swarm/state.json", 1 << 20, &buf, NULL))
		return 0;
	/* docker swarm leave leaves "[]" or "null" */
	on = strstr(buf, "\"node_id\"") || strstr(buf, "\"addr\"");
	free(buf);
	return on;
}

/* ---- daemon.json ---- */
int vigil_docker_daemon_json(const char *root, const char *path, json_t **out, char **why)
{
	int rootfd = vigil_rootfs_open_root(root, NULL), fd, rc = 0;
	char *slash;

	*out = NULL;
	*why = NULL;
	if (rootfd < 0) {
		*why = docker_errf("root '%s': %s", root ? root : "/", strerror(-rootfd));
		return rootfd;
	}
	/* the file's directory, then the file beneath it as a data name */
	slash = strrchr(path, '/');
	if (!slash || slash == path) {
		fd = dup(rootfd);
	} else {
		char dir[4096];

		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		fd = vigil_rootfs_open(rootfd, dir, O_PATH | O_DIRECTORY);
	}
	if (fd < 0) {
		rc = fd == -ENOENT ? -ENOENT : fd;
		if (rc != -ENOENT)
			*why = docker_errf("%s: %s", path, strerror(-rc));
		goto out;
	}
	{
		struct stat st;

		if (vigil_rootfs_lstat(rootfd, path, &st) == -ENOENT) {
			rc = -ENOENT;
			close(fd);
			goto out;
		}
	}
	/* dockerd's loader refuses duplicate keys (since 1.13) */
	*out = load_object(fd, path, slash ? slash + 1 : path, JSON_REJECT_DUPLICATES, why);
	close(fd);
	if (!*out)
		rc = -EINVAL;
out:
	close(rootfd);
	return rc;
}

/* ---- dockerd's command line ---- */
void vigil_docker_args_clear(struct vigil_docker_args *a)
{
	if (!a)
		return;
	docker_strv_clear(&a->argv);
	free(a->source);
	memset(a, 0, sizeof(*a));
}

/* A small /proc file of the live host (size 0 in stat: read to EOF). */
static ssize_t proc_read(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while (got < cap - 1) {
		ssize_t r = read(fd, buf + got, cap - 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

/* The newest dockerd run by root: its pid, or 0. */
static pid_t newest_dockerd(void)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	unsigned long long best_start = 0;
	pid_t best = 0;

	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		char path[64], buf[1024], *p;
		struct stat st;
		unsigned long long start = 0;
		pid_t pid = (pid_t)atoi(de->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
		if (proc_read(path, buf, sizeof(buf)) <= 0 || strcmp(buf, "dockerd\n"))
			continue;
		snprintf(path, sizeof(path), "/proc/%d", (int)pid);
		if (stat(path, &st) || st.st_uid != 0)
			continue; /* any user can name a process dockerd */
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if (proc_read(path, buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')))
			continue;
		/* field 22 (starttime); p is at the end of field 2 */
		for (int f = 2; f < 22 && p; f++)
			p = strchr(p + 1, ' ');
		if (p)
			start = strtoull(p + 1, NULL, 10);
		if (!best || start >= best_start) {
			best = pid;
			best_start = start;
		}
	}
	closedir(dir);
	return best;
}

static int args_from_proc(pid_t pid, struct vigil_docker_args *a, struct vigil_err *err)
{
	char path[64], *buf = malloc(1 << 17);
	ssize_t n;
	int rc = 0;

	if (!buf)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	n = proc_read(path, buf, 1 << 17);
	if (n < 0) {
		rc = vigil_err_set(err, (int)n, "%s: %s", path, strerror((int)-n));
		goto out;
	}
	for (ssize_t off = (ssize_t)strlen(buf) + 1; off < n && !rc; off += (ssize_t)strlen(buf + off) + 1)
		rc = docker_strv_push(&a->argv, buf + off);
	a->pid = pid;
	a->source = strdup(path);
	if (rc || !a->source)
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
out:
	free(buf);
	return rc;
}

/* Shell-like words of s (quotes removed, $DOCKER_OPTS expanded to opts). */
static int split_words(const char *s, const char *opts, struct vigil_strv *sv)
{
	char word[4096];
	size_t wl = 0;
	int rc = 0, have = 0;

	for (const char *p = s;; p++) {
		if (*p == '$' && (!strncmp(p + 1, "DOCKER_OPTS", 11) || !strncmp(p + 1, "{DOCKER_OPTS}", 13))) {
			p += p[1] == '{' ? 13 : 11;
			if (opts && (rc = split_words(opts, NULL, sv)))
				return rc;
			continue;
		}
		if (!*p || isspace((unsigned char)*p)) {
			if (have) {
				word[wl] = '\0';
				if ((rc = docker_strv_push(sv, word)))
					return rc;
			}
			wl = 0;
			have = 0;
			if (!*p)
				return 0;
			continue;
		}
		if (*p == '"' || *p == '\'') {
			char q = *p++;

			have = 1;
			while (*p && *p != q && wl < sizeof(word) - 1)
				word[wl++] = *p++;
			if (!*p)
				p--;
			continue;
		}
		if (wl < sizeof(word) - 1)
			word[wl++] = *p;
		have = 1;
	}
}

/* DOCKER_OPTS="..." of /etc/default/docker, or NULL. */
static char *docker_opts(int rootfd)
{
	char *text = NULL, *out = NULL;

	if (vigil_rootfs_read(rootfd, "/etc/default/docker", 1 << 20, &text, NULL))
		return NULL;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		while (isspace((unsigned char)*line))
			line++;
		if (!strncmp(line, "DOCKER_OPTS=", 12)) {
			size_t l = strlen(line + 12);

			free(out);
			/* the shell's quotes around the value: its words are inside */
			if (l >= 2 && (line[12] == '"' || line[12] == '\'') && line[12 + l - 1] == line[12])
				out = strndup(line + 13, l - 2);
			else
				out = strdup(line + 12);
		}
	}
	free(text);
	return out;
}

/* ExecStart= lines of one unit file, continuation lines joined: the last
 * one wins, an empty one resets. */
static void unit_execstart(const char *text, const char *file, char **exec, char **from)
{
	char *copy = strdup(text), *line, *save = NULL;

	if (!copy)
		return;
	/* join "\\\n" continuations */
	for (char *p = copy; (p = strstr(p, "\\\n"));)
		p[0] = p[1] = ' ';
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		while (isspace((unsigned char)*line))
			line++;
		if (strncmp(line, "ExecStart=", 10))
			continue;
		free(*exec);
		free(*from);
		line += 10;
		while (*line && strchr("-@:+! \t", *line))
			line++;
		*exec = *line ? strdup(line) : NULL;
		*from = *line ? strdup(file) : NULL;
	}
	free(copy);
}

static const char *const unit_dirs[] = { "/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system",
					 "/usr/lib/systemd/system", NULL };

static int add_dropin(void *arg, const char *path)
{
	struct vigil_strv *sv = arg;
	const char *base = strrchr(path, '/');

	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(strrchr(sv->v[i], '/'), base))
			return 0; /* the same name in a stronger dir masks it */
	return docker_strv_push(sv, path);
}

static int cmp_base(const void *a, const void *b)
{
	return strcmp(strrchr(*(char *const *)a, '/'), strrchr(*(char *const *)b, '/'));
}

static int args_from_unit(const char *root, struct vigil_docker_args *a, struct vigil_err *err)
{
	struct vigil_strv dropins = { 0 };
	char path[4096], *text, *exec = NULL, *from = NULL, *opts = NULL;
	int rootfd = vigil_rootfs_open_root(root, NULL), rc = 0;

	if (rootfd < 0)
		return vigil_err_set(err, rootfd, "root '%s': %s", root ? root : "/", strerror(-rootfd));
	for (int i = 0; unit_dirs[i]; i++) {
		snprintf(path, sizeof(path), "%s/docker.service", unit_dirs[i]);
		if (!vigil_rootfs_read(rootfd, path, 1 << 20, &text, NULL)) {
			unit_execstart(text, path, &exec, &from);
			free(text);
			break;
		}
	}
	for (int i = 0; unit_dirs[i]; i++) {
		snprintf(path, sizeof(path), "%s/docker.service.d/*.conf", unit_dirs[i]);
		vigil_rootfs_glob(rootfd, path, add_dropin, &dropins);
	}
	if (dropins.n > 1)
		qsort(dropins.v, dropins.n, sizeof(char *), cmp_base);
	for (size_t i = 0; i < dropins.n; i++)
		if (!vigil_rootfs_read(rootfd, dropins.v[i], 1 << 20, &text, NULL)) {
			unit_execstart(text, dropins.v[i], &exec, &from);
			free(text);
		}
	if (exec) {
		struct vigil_strv words = { 0 };

		opts = docker_opts(rootfd);
		rc = split_words(exec, opts, &words);
		for (size_t i = 1; !rc && i < words.n; i++)
			rc = docker_strv_push(&a->argv, words.v[i]);
		docker_strv_clear(&words);
		a->source = from;
		from = NULL;
		if (rc)
			rc = vigil_err_set(err, -ENOMEM, "out of memory");
	}
	free(exec);
	free(from);
	free(opts);
	docker_strv_clear(&dropins);
	close(rootfd);
	return rc;
}

int vigil_docker_dockerd_args(const char *root, pid_t pid, struct vigil_docker_args *out, struct vigil_err *err)
{
	memset(out, 0, sizeof(*out));
	if (vigil_rootfs_is_host(root)) {
		if (!pid)
			pid = newest_dockerd();
		if (pid)
			return args_from_proc(pid, out, err);
	}
	return args_from_unit(root, out, err);
}
