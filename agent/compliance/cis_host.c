/* cis_host.c - the host's part of the benchmark: 1.1.1 (a separate
 * partition for the data root), 1.1.2 (the docker group), 1.1.3-1.1.18
 * (audit rules) and 3.x (owners and modes of the daemon's files). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/rootfs.h"

#include "cis_priv.h"

static const char *const unit_dirs[] = { "/etc/systemd/system", "/lib/systemd/system", "/run/systemd/system",
					 "/usr/lib/systemd/system", NULL };

/* stat inside the root, following links within it: 0 or -errno. */
static int root_stat(const struct cis_ctx *c, const char *path, struct stat *st)
{
	int fd = vigil_rootfs_open(c->rootfd, path, O_PATH), rc = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, st))
		rc = -errno;
	close(fd);
	return rc;
}

/* A unit's file as systemd finds it first, into buf; 0 or -ENOENT. */
static int unit_path(const struct cis_ctx *c, const char *unit, char *buf, size_t len)
{
	struct stat st;

	for (int i = 0; unit_dirs[i]; i++) {
		snprintf(buf, len, "%s/%s", unit_dirs[i], unit);
		if (!root_stat(c, buf, &st))
			return 0;
	}
	return -ENOENT;
}

/* "docker.service" -> its unit file; "/x" -> itself. */
static int resolve(const struct cis_ctx *c, const char *spec, char *buf, size_t len)
{
	if (spec[0] != '/')
		return unit_path(c, spec, buf, len);
	snprintf(buf, len, "%s", spec);
	return 0;
}

void cis_eval_partition(struct cis_ctx *c, const struct vigil_cis_check *chk)
{
	const char *src = c->host ? "/proc/self/mountinfo" : "/etc/fstab";
	char *text = NULL, *save = NULL;
	int rc, found = 0;

	if (c->host) {
		FILE *f = fopen(src, "re");
		size_t cap = 0;
		ssize_t n;
		char *line = NULL;

		if (!f) {
			cis_add(c, chk, VIGIL_CIS_ERROR, src, NULL, NULL, NULL, NULL, "%s: %s", src, strerror(errno));
			return;
		}
		char rootdev[64] = "", dev[64] = "";

		/* id parent major:minor root mount-point ...: dockerd bind-mounts its
		 * data root onto itself (same device as its parent), which
		 * `mountpoint` takes for a partition; a partition is another device */
		while ((n = getline(&line, &cap, f)) > 0) {
			char mnt[4096], d[64];

			if (sscanf(line, "%*s %*s %63s %*s %4095s", d, mnt) != 2)
				continue;
			if (!strcmp(mnt, "/"))
				snprintf(rootdev, sizeof(rootdev), "%s", d);
			if (!strcmp(mnt, c->data_root))
				snprintf(dev, sizeof(dev), "%s", d);
		}
		free(line);
		fclose(f);
		found = dev[0] && strcmp(dev, rootdev);
		if (dev[0] && !found) {
			cis_add(c, chk, VIGIL_CIS_FAIL, src, "mount point", c->data_root, NULL, NULL,
				"mounted, but from device %s like /: a bind mount, not a partition", dev);
			return;
		}
	} else {
		rc = vigil_rootfs_read(c->rootfd, src, 1 << 20, &text, NULL);
		if (rc && rc != -ENOENT) {
			cis_add(c, chk, VIGIL_CIS_ERROR, src, NULL, NULL, NULL, NULL, "%s: %s", src, strerror(-rc));
			return;
		}
		for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l && !found; l = strtok_r(NULL, "\n", &save)) {
			char dev[4096], mnt[4096];

			if (l[0] != '#' && sscanf(l, "%4095s %4095s", dev, mnt) == 2 && !strcmp(mnt, c->data_root))
				found = 1;
		}
		free(text);
	}
	cis_add(c, chk, found ? VIGIL_CIS_PASS : VIGIL_CIS_FAIL, src, "mount point", c->data_root, NULL, NULL,
		found ? NULL : "the data root is not a mount point of its own");
}

void cis_eval_group(struct cis_ctx *c, const struct vigil_cis_check *chk)
{
	const char *p = c->group_text;

	while (p && *p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > 7 && !strncmp(p, "docker:", 7)) {
			const char *members = p;

			for (int k = 0; k < 3 && members; k++) {
				members = memchr(members, ':', len - (size_t)(members - p));
				if (members)
					members++;
			}
			if (members) {
				char *v = strndup(members, len - (size_t)(members - p));

				cis_add(c, chk, VIGIL_CIS_INFO, "/etc/group", "docker", v && *v ? v : "(no member)", NULL, NULL,
					"members of the docker group control the daemon: %s", v && *v ? v : "(none)");
				free(v);
				return;
			}
		}
		p = end ? end + 1 : NULL;
	}
	cis_add(c, chk, VIGIL_CIS_NA, "/etc/group", "docker", "(no docker group)", NULL, NULL, NULL);
}

void cis_eval_audit(struct cis_ctx *c, const struct vigil_cis_check *chk)
{
	char path[4096];
	const char *rule = NULL;
	struct stat st;

	if (resolve(c, chk->arg, path, sizeof(path)) || vigil_rootfs_lstat(c->rootfd, path, &st)) {
		cis_add(c, chk, VIGIL_CIS_NA, chk->arg[0] == '/' ? chk->arg : NULL, "path", chk->arg, NULL, NULL,
			"%s does not exist", chk->arg);
		return;
	}
	if (c->audit_error) {
		cis_add(c, chk, VIGIL_CIS_ERROR, path, NULL, NULL, NULL, NULL, "%s", c->audit_error);
		return;
	}
	if (cis_audit_covers(c, path, &rule))
		cis_add(c, chk, VIGIL_CIS_PASS, c->audit_source, "rule", rule, NULL, NULL, NULL);
	else
		cis_add(c, chk, VIGIL_CIS_FAIL, c->audit_source, "path", path, NULL, NULL,
			"no audit rule names %s", path);
}

/* The gid of group name in etc/group, or -1. */
static long group_gid(const struct cis_ctx *c, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = c->group_text; p && *p;) {
		const char *end = strchr(p, '\n');

		if (!strncmp(p, name, nl) && p[nl] == ':') {
			const char *g = strchr(p + nl + 1, ':');

			if (g)
				return strtol(g + 1, NULL, 10);
		}
		p = end ? end + 1 : NULL;
	}
	return -1;
}

/* One file against "user:group" or an octal mode. */
static void judge_file(struct cis_ctx *c, const struct vigil_cis_check *chk, const char *path,
		       const struct stat *st)
{
	char val[64];

	if (strchr(chk->arg2, ':')) {
		const char *grp = strchr(chk->arg2, ':') + 1;
		long gid = !strcmp(grp, "root") ? 0 : group_gid(c, grp);
		int ok = st->st_uid == 0 && (long)st->st_gid == gid;

		snprintf(val, sizeof(val), "%u:%u", (unsigned)st->st_uid, (unsigned)st->st_gid);
		cis_add(c, chk, ok ? VIGIL_CIS_PASS : VIGIL_CIS_FAIL, path, "owner", val, NULL, NULL,
			ok ? NULL : "should be %s", chk->arg2);
	} else {
		unsigned want = (unsigned)strtoul(chk->arg2, NULL, 8), mode = st->st_mode & 07777;
		int ok = !(mode & ~want);

		snprintf(val, sizeof(val), "%04o", mode);
		cis_add(c, chk, ok ? VIGIL_CIS_PASS : VIGIL_CIS_FAIL, path, "mode", val, NULL, NULL,
			ok ? NULL : "should be %s or more restrictive", chk->arg2);
	}
}

struct glob_ctx {
	struct cis_ctx *c;
	const struct vigil_cis_check *chk;
	int n;
};

static int cert_cb(void *arg, const char *path)
{
	struct glob_ctx *g = arg;
	struct stat st;

	if (vigil_rootfs_lstat(g->c->rootfd, path, &st) || !S_ISREG(st.st_mode))
		return 0;
	g->n++;
	judge_file(g->c, g->chk, path, &st);
	return 0;
}

void cis_eval_file(struct cis_ctx *c, const struct vigil_cis_check *chk)
{
	const char *spec = chk->arg;
	char path[4096];
	struct stat st;

	if (!strcmp(spec, "@certs")) {
		struct glob_ctx g = { c, chk, 0 };

		vigil_rootfs_glob(c->rootfd, "/etc/docker/certs.d/*/*", cert_cb, &g);
		if (!g.n)
			cis_add(c, chk, VIGIL_CIS_NA, "/etc/docker/certs.d", NULL, NULL, NULL, NULL,
				"no registry certificate");
		return;
	}
	if (!strcmp(spec, "@sock")) {
		struct vigil_strv socks = { 0 };

		cis_daemon_sockets(c, &socks);
		for (size_t i = 0; i < socks.n; i++) {
			if (root_stat(c, socks.v[i], &st))
				cis_add(c, chk, VIGIL_CIS_NA, socks.v[i], NULL, NULL, NULL, NULL, "%s does not exist",
					socks.v[i]);
			else
				judge_file(c, chk, socks.v[i], &st);
		}
		cis_strv_clear(&socks);
		return;
	}
	if (spec[0] == '@') { /* a TLS file named by an option */
		const struct cis_opt *o;

		if (c->json_error) {
			cis_add(c, chk, VIGIL_CIS_ERROR, c->json_path, NULL, NULL, NULL, NULL, "%s", c->json_error);
			return;
		}
		o = cis_opt_last(c, spec + 1);
		if (!o) {
			cis_add(c, chk, VIGIL_CIS_NA, NULL, spec + 1, "(unset)", NULL, NULL, "no %s is configured",
				spec + 1);
			return;
		}
		snprintf(path, sizeof(path), "%s", o->value);
	} else if (resolve(c, spec, path, sizeof(path))) {
		cis_add(c, chk, VIGIL_CIS_NA, NULL, "path", spec, NULL, NULL, "%s does not exist", spec);
		return;
	}
	if (root_stat(c, path, &st)) {
		cis_add(c, chk, VIGIL_CIS_NA, path, NULL, NULL, NULL, NULL, "%s does not exist", path);
		return;
	}
	judge_file(c, chk, path, &st);
}
