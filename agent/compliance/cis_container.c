/* cis_container.c - images (4.x) and containers (5.x), from each
 * container's config.v2.json and hostconfig.json as the Docker collector
 * reads them, and from /proc for the running ones (5.7).  One result per
 * container and check; a container whose files are missing or bad gets an
 * `error` on every check, never a pass.
 *
 * Every container on disk is judged, running or not: a stopped privileged
 * container is one `docker start` away (docker-bench judges running ones).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/audit.h"

#include "cis_priv.h"

static const char *const default_caps[] = {
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
	"NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT", NULL,
};
static const char *const sensitive_dirs[] = { "/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", NULL };

static int read_flag(const char *path)
{
	char buf[8] = "";
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return buf[0] == 'Y' || buf[0] == '1';
}

static void find_sshd(struct cis_ctx *c)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;

	while (dir && (de = readdir(dir))) {
		pid_t pid = (pid_t)atoi(de->d_name);
		char comm[64], id[65];

		if (pid <= 0 || vigil_audit_proc_read(NULL, pid, "comm", comm, sizeof(comm)) <= 0 ||
		    strcmp(comm, "sshd\n"))
			continue;
		if (vigil_audit_pid_container(NULL, pid, id) == 1)
			cis_strv_push(&c->sshd, id);
	}
	if (dir)
		closedir(dir);
}

void cis_containers_load(struct cis_ctx *c)
{
	size_t n = c->d ? vigil_docker_n_containers(c->d) : 0;

	c->apparmor = c->selinux = -1;
	if (c->host) {
		c->apparmor = read_flag("/sys/module/apparmor/parameters/enabled");
		c->selinux = access("/sys/fs/selinux/enforce", F_OK) == 0;
		find_sshd(c);
	}
	c->cj = calloc(n ? n : 1, sizeof(*c->cj));
	if (!c->cj)
		return;
	c->n_cj = n;
	for (size_t i = 0; i < n; i++) {
		const struct vigil_docker_container *ct = vigil_docker_container(c->d, i);

		/* ct->error may be about its layer (mounts/<id>): not what 5.x reads */
		vigil_docker_container_json(c->d, ct->id, &c->cj[i].cfg, &c->cj[i].hc, &c->cj[i].why);
	}
}

void cis_containers_free(struct cis_ctx *c)
{
	for (size_t i = 0; i < c->n_cj; i++) {
		json_decref(c->cj[i].cfg);
		json_decref(c->cj[i].hc);
		free(c->cj[i].why);
	}
	free(c->cj);
	cis_strv_clear(&c->sshd);
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static long long jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static int is_default_cap(const char *cap)
{
	if (!strncasecmp(cap, "CAP_", 4))
		cap += 4;
	for (int i = 0; default_caps[i]; i++)
		if (!strcasecmp(cap, default_caps[i]))
			return 1;
	return 0;
}

/* SecurityOpt entries "name=value" or "name:value": the value of name, or NULL. */
static const char *secopt(json_t *hc, const char *name, char *buf, size_t len)
{
	size_t i, nl = strlen(name);
	json_t *v;

	json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v) {
		const char *s = json_string_value(v);

		if (!s || strncmp(s, name, nl))
			continue;
		if (s[nl] == '\0')
			snprintf(buf, len, "true");
		else if (s[nl] == '=' || s[nl] == ':')
			snprintf(buf, len, "%s", s + nl + 1);
		else
			continue;
		return buf;
	}
	return NULL;
}

#define HC "hostconfig.json"
#define CF "config.v2.json"

/* The verdict and evidence of one container for one 5.x check. */
struct cjudge {
	int verdict;
	const char *file, *key;
	char value[512];
	const char *detail;
};

static void ports(json_t *hc, struct cjudge *j, int want_privileged)
{
	const char *port;
	json_t *binds, *b;
	size_t i;

	j->verdict = VIGIL_CIS_PASS;
	j->key = "PortBindings";
	snprintf(j->value, sizeof(j->value), "(none)");
	json_object_foreach(json_object_get(hc, "PortBindings"), port, binds)
		json_array_foreach(binds, i, b) {
			const char *hp = jstr(b, "HostPort"), *ip = jstr(b, "HostIp");
			int bad = want_privileged ? (hp[0] && atoi(hp) > 0 && atoi(hp) < 1025) :
						    (!ip[0] || !strcmp(ip, "0.0.0.0") || !strcmp(ip, "::"));

			if (bad || j->verdict == VIGIL_CIS_PASS)
				snprintf(j->value, sizeof(j->value), "%s -> %s:%s", port, ip[0] ? ip : "0.0.0.0", hp);
			if (bad)
				j->verdict = VIGIL_CIS_FAIL;
		}
}

static void mounts_sensitive(const struct vigil_docker_container *ct, struct cjudge *j)
{
	j->verdict = VIGIL_CIS_PASS;
	j->key = "MountPoints";
	snprintf(j->value, sizeof(j->value), "(none)");
	for (size_t m = 0; m < ct->n_mounts; m++)
		for (int k = 0; sensitive_dirs[k]; k++)
			if (ct->mounts[m].source && ct->mounts[m].rw && !strcmp(ct->mounts[m].source, sensitive_dirs[k])) {
				j->verdict = VIGIL_CIS_FAIL;
				snprintf(j->value, sizeof(j->value), "%s:%s:rw", ct->mounts[m].source,
					 ct->mounts[m].destination ? ct->mounts[m].destination : "");
			}
}

static void sock_mounted(struct cis_ctx *c, const struct vigil_docker_container *ct, struct cjudge *j)
{
	struct vigil_strv socks = { 0 };

	cis_daemon_sockets(c, &socks);
	j->verdict = VIGIL_CIS_PASS;
	j->key = "MountPoints";
	snprintf(j->value, sizeof(j->value), "(no docker socket)");
	for (size_t m = 0; m < ct->n_mounts; m++) {
		const char *s = ct->mounts[m].source ? ct->mounts[m].source : "";
		const char *d = ct->mounts[m].destination ? ct->mounts[m].destination : "";
		int bad = strstr(s, "docker.sock") || strstr(d, "docker.sock");

		for (size_t k = 0; k < socks.n && !bad; k++)
			bad = !strcmp(s, socks.v[k]) || (!strncmp(s, "/var", 4) && !strcmp(s + 4, socks.v[k]));
		if (bad) {
			j->verdict = VIGIL_CIS_FAIL;
			snprintf(j->value, sizeof(j->value), "%s:%s", s, d);
		}
	}
	cis_strv_clear(&socks);
}

static void caps(json_t *hc, struct cjudge *j)
{
	json_t *v;
	size_t i, o = 0;

	j->verdict = VIGIL_CIS_PASS;
	j->key = "CapAdd";
	j->value[0] = '\0';
	json_array_foreach(json_object_get(hc, "CapAdd"), i, v) {
		const char *cap = json_string_value(v);

		if (!cap || is_default_cap(cap))
			continue;
		j->verdict = VIGIL_CIS_FAIL;
		o += (size_t)snprintf(j->value + o, o < sizeof(j->value) ? sizeof(j->value) - o : 0, "%s%s",
				      o ? "," : "", cap);
		if (o >= sizeof(j->value))
			o = sizeof(j->value) - 1;
	}
	if (!j->value[0])
		snprintf(j->value, sizeof(j->value), "(none beyond the default set)");
}

static void restart(json_t *hc, struct cjudge *j)
{
	json_t *rp = json_object_get(hc, "RestartPolicy");
	const char *name = jstr(rp, "Name");
	long long max = jint(rp, "MaximumRetryCount");

	j->key = "RestartPolicy";
	snprintf(j->value, sizeof(j->value), "%s:%lld", name[0] ? name : "no", max);
	if (!strcmp(name, "always") || !strcmp(name, "unless-stopped"))
		j->verdict = VIGIL_CIS_FAIL, j->detail = "restarts without limit";
	else if (!strcmp(name, "on-failure") && (max <= 0 || max > 5))
		j->verdict = VIGIL_CIS_FAIL, j->detail = "more than 5 retries";
	else
		j->verdict = VIGIL_CIS_PASS;
}

static void propagation(json_t *cfg, struct cjudge *j)
{
	const char *dst;
	json_t *m;

	j->verdict = VIGIL_CIS_PASS;
	j->file = CF;
	j->key = "MountPoints.Propagation";
	snprintf(j->value, sizeof(j->value), "(no shared mount)");
	json_object_foreach(json_object_get(cfg, "MountPoints"), dst, m) {
		const char *p = jstr(m, "Propagation");

		if (!strcmp(p, "shared") || !strcmp(p, "rshared")) {
			j->verdict = VIGIL_CIS_FAIL;
			snprintf(j->value, sizeof(j->value), "%s:%s", dst, p);
		}
	}
}

/* A host namespace mode: fail when it is "host". */
static void hostmode(json_t *hc, const char *key, struct cjudge *j)
{
	const char *m = jstr(hc, key);

	j->key = key;
	snprintf(j->value, sizeof(j->value), "%s", m[0] ? m : "(default)");
	j->verdict = !strcasecmp(m, "host") ? VIGIL_CIS_FAIL : VIGIL_CIS_PASS;
}

static void judge_more(struct cis_ctx *c, const char *id, const struct vigil_docker_container *ct, json_t *cfg,
		       json_t *hc, struct cjudge *j);

/* One container's verdict and evidence for one check (4.1, 5.x). */
static void judge(struct cis_ctx *c, const char *id, const struct vigil_docker_container *ct, json_t *cfg,
		  json_t *hc, struct cjudge *j)
{
	char buf[256];
	const char *s;

	j->file = HC;
	j->verdict = VIGIL_CIS_PASS;
	if (!strcmp(id, "4.1")) {
		s = jstr(json_object_get(cfg, "Config"), "User");
		j->file = CF, j->key = "Config.User";
		snprintf(j->value, sizeof(j->value), "%s", s[0] ? s : "(unset: root)");
		j->verdict = !s[0] || !strcmp(s, "root") || !strcmp(s, "0") || !strncmp(s, "0:", 2) ||
				     !strncmp(s, "root:", 5) ? VIGIL_CIS_FAIL : VIGIL_CIS_PASS;
	} else if (!strcmp(id, "5.2")) {
		s = jstr(cfg, "AppArmorProfile");
		j->file = CF, j->key = "AppArmorProfile";
		snprintf(j->value, sizeof(j->value), "%s", s[0] ? s : "(none)");
		j->verdict = c->apparmor == 0 ? VIGIL_CIS_NA : !s[0] || !strcmp(s, "unconfined") ? VIGIL_CIS_FAIL : VIGIL_CIS_PASS;
		if (c->apparmor == 0)
			j->detail = "AppArmor is not enabled on this host";
	} else if (!strcmp(id, "5.3")) {
		s = secopt(hc, "label", buf, sizeof(buf));
		j->key = "SecurityOpt label";
		snprintf(j->value, sizeof(j->value), "%s", s ? s : "(none)");
		j->verdict = c->selinux == 0 ? VIGIL_CIS_NA : s && strcmp(s, "disable") ? VIGIL_CIS_PASS : VIGIL_CIS_FAIL;
		if (c->selinux == 0)
			j->detail = "SELinux is not enabled on this host";
	} else if (!strcmp(id, "5.4")) {
		caps(hc, j);
	} else if (!strcmp(id, "5.5")) {
		j->key = "Privileged";
		snprintf(j->value, sizeof(j->value), "%s", ct->privileged ? "true" : "false");
		j->verdict = ct->privileged ? VIGIL_CIS_FAIL : VIGIL_CIS_PASS;
	} else if (!strcmp(id, "5.6")) {
		j->file = CF;
		mounts_sensitive(ct, j);
	} else if (!strcmp(id, "5.7")) {
		int sshd = 0;

		for (size_t i = 0; i < c->sshd.n; i++)
			sshd |= !strcmp(c->sshd.v[i], ct->id);
		j->file = "/proc", j->key = "comm";
		snprintf(j->value, sizeof(j->value), "%s", sshd ? "sshd" : "(no sshd)");
		j->verdict = !c->host || !ct->state || strcmp(ct->state, "running") ? VIGIL_CIS_NA :
			     sshd ? VIGIL_CIS_FAIL : VIGIL_CIS_PASS;
		if (j->verdict == VIGIL_CIS_NA)
			j->detail = c->host ? "not running" : "processes cannot be seen in a disk image";
	} else if (!strcmp(id, "5.8") || !strcmp(id, "5.14")) {
		ports(hc, j, !strcmp(id, "5.8"));
	} else if (!strcmp(id, "5.9")) {
		ports(hc, j, 0);
		j->verdict = VIGIL_CIS_INFO;
	} else if (!strcmp(id, "5.10")) {
		hostmode(hc, "NetworkMode", j);
	} else if (!strcmp(id, "5.11")) {
		j->key = "Memory";
		snprintf(j->value, sizeof(j->value), "%lld", jint(hc, "Memory"));
		j->verdict = jint(hc, "Memory") ? VIGIL_CIS_PASS : VIGIL_CIS_FAIL;
	} else if (!strcmp(id, "5.12")) {
		j->key = "CpuShares,NanoCpus";
		snprintf(j->value, sizeof(j->value), "%lld,%lld", jint(hc, "CpuShares"), jint(hc, "NanoCpus"));
		j->verdict = jint(hc, "CpuShares") || jint(hc, "NanoCpus") ? VIGIL_CIS_PASS : VIGIL_CIS_FAIL;
	} else if (!strcmp(id, "5.13")) {
		j->key = "ReadonlyRootfs";
		snprintf(j->value, sizeof(j->value), "%s", ct->readonly_rootfs ? "true" : "false");
		j->verdict = ct->readonly_rootfs ? VIGIL_CIS_PASS : VIGIL_CIS_FAIL;
	} else {
		judge_more(c, id, ct, cfg, hc, j);
	}
}

/* 5.15 and after (judge() holds 4.1 to 5.13). */
static void judge_more(struct cis_ctx *c, const char *id, const struct vigil_docker_container *ct, json_t *cfg,
		       json_t *hc, struct cjudge *j)
{
	char buf[256];
	const char *s;

	if (!strcmp(id, "5.15")) {
		restart(hc, j);
	} else if (!strcmp(id, "5.16")) {
		hostmode(hc, "PidMode", j);
	} else if (!strcmp(id, "5.17")) {
		hostmode(hc, "IpcMode", j);
	} else if (!strcmp(id, "5.18") || !strcmp(id, "5.19")) {
		json_t *a = json_object_get(hc, id[3] == '8' ? "Devices" : "Ulimits");
		char *dump = json_array_size(a) ? json_dumps(a, JSON_COMPACT) : NULL;

		j->key = id[3] == '8' ? "Devices" : "Ulimits";
		snprintf(j->value, sizeof(j->value), "%s", dump ? dump : "(none)");
		free(dump);
		j->verdict = VIGIL_CIS_INFO;
	} else if (!strcmp(id, "5.20")) {
		propagation(cfg, j);
	} else if (!strcmp(id, "5.21")) {
		hostmode(hc, "UTSMode", j);
	} else if (!strcmp(id, "5.22")) {
		s = secopt(hc, "seccomp", buf, sizeof(buf));
		j->key = "SecurityOpt seccomp";
		snprintf(j->value, sizeof(j->value), "%s", s ? s : "(default profile)");
		j->verdict = s && !strcmp(s, "unconfined") ? VIGIL_CIS_FAIL : VIGIL_CIS_PASS;
	} else if (!strcmp(id, "5.25")) {
		s = jstr(hc, "CgroupParent");
		j->key = "CgroupParent";
		snprintf(j->value, sizeof(j->value), "%s", s[0] ? s : "(default)");
		j->verdict = s[0] ? VIGIL_CIS_FAIL : VIGIL_CIS_PASS;
	} else if (!strcmp(id, "5.26")) {
		const struct cis_opt *o;
		int daemon = cis_opt_bool(c, "no-new-privileges", 0, &o);

		s = secopt(hc, "no-new-privileges", buf, sizeof(buf));
		j->key = "SecurityOpt no-new-privileges";
		snprintf(j->value, sizeof(j->value), "%s", s ? s : daemon ? "(daemon default: true)" : "(unset)");
		j->verdict = (s ? !strcmp(s, "true") : daemon) ? VIGIL_CIS_PASS : VIGIL_CIS_FAIL;
	} else if (!strcmp(id, "5.27")) {
		json_t *h = json_object_get(json_object_get(cfg, "State"), "Health");

		j->file = CF, j->key = "State.Health";
		snprintf(j->value, sizeof(j->value), "%s", json_is_object(h) ? jstr(h, "Status") : "(no health check)");
		j->verdict = json_is_object(h) ? VIGIL_CIS_PASS : VIGIL_CIS_FAIL;
	} else if (!strcmp(id, "5.29")) {
		json_t *p = json_object_get(hc, "PidsLimit");

		j->key = "PidsLimit";
		snprintf(j->value, sizeof(j->value), "%s", json_is_integer(p) ? "" : "(unset)");
		if (json_is_integer(p))
			snprintf(j->value, sizeof(j->value), "%lld", (long long)json_integer_value(p));
		j->verdict = json_integer_value(p) > 0 ? VIGIL_CIS_PASS : VIGIL_CIS_FAIL;
	} else if (!strcmp(id, "5.30")) {
		s = jstr(hc, "NetworkMode");
		j->key = "NetworkMode";
		snprintf(j->value, sizeof(j->value), "%s", s);
		j->verdict = VIGIL_CIS_INFO;
		j->detail = !strcmp(s, "default") || !strcmp(s, "bridge") ? "on the default bridge" : NULL;
	} else if (!strcmp(id, "5.31")) {
		hostmode(hc, "UsernsMode", j);
	} else if (!strcmp(id, "5.32")) {
		j->file = CF;
		sock_mounted(c, ct, j);
	}
}

void cis_eval_container(struct cis_ctx *c, const struct vigil_cis_check *chk)
{
	if (c->docker_error) {
		cis_add(c, chk, VIGIL_CIS_ERROR, c->data_root, NULL, NULL, NULL, NULL, "%s", c->docker_error);
		return;
	}
	if (!c->n_cj) {
		cis_add(c, chk, VIGIL_CIS_NA, c->data_root, "containers", "0", NULL, NULL,
			c->no_data_root ? "the data root does not exist" : "no container");
		return;
	}
	for (size_t i = 0; i < c->n_cj; i++) {
		const struct vigil_docker_container *ct = vigil_docker_container(c->d, i);
		struct cjudge j = { 0 };
		char file[4200];

		if (c->cj[i].why) {
			cis_add(c, chk, VIGIL_CIS_ERROR, NULL, NULL, NULL, ct, NULL, "%s", c->cj[i].why);
			continue;
		}
		judge(c, chk->id, ct, c->cj[i].cfg, c->cj[i].hc, &j);
		if (j.file && j.file[0] != '/')
			snprintf(file, sizeof(file), "%s/containers/%s/%s", c->data_root, ct->id, j.file);
		else
			snprintf(file, sizeof(file), "%s", j.file ? j.file : "");
		cis_add(c, chk, j.verdict, file, j.key, j.value, ct, NULL, j.detail ? "%s" : NULL, j.detail);
	}
}

/* ---- images ---- */
struct setid_list {
	char buf[1024];
	size_t o, n;
};

static int setid_cb(void *arg, const char *path, mode_t mode)
{
	struct setid_list *l = arg;
	int w;

	(void)mode;
	l->n++;
	if (l->o < sizeof(l->buf) - 1) {
		w = snprintf(l->buf + l->o, sizeof(l->buf) - l->o, "%s%s", l->o ? " " : "", path);
		l->o = w > 0 && (size_t)w < sizeof(l->buf) - l->o ? l->o + (size_t)w : sizeof(l->buf) - 1;
	}
	return 0;
}

void cis_eval_image(struct cis_ctx *c, const struct vigil_cis_check *chk)
{
	size_t n = c->d ? vigil_docker_n_images(c->d) : 0;

	if (c->docker_error) {
		cis_add(c, chk, VIGIL_CIS_ERROR, c->data_root, NULL, NULL, NULL, NULL, "%s", c->docker_error);
		return;
	}
	if (!n)
		cis_add(c, chk, VIGIL_CIS_NA, c->data_root, "images", "0", NULL, NULL,
			c->no_data_root ? "the data root does not exist" : "no image");
	for (size_t i = 0; i < n; i++) {
		const struct vigil_docker_image *img = vigil_docker_image(c->d, i);
		char file[4200];

		/* an untagged parent of other images is a build step, not an image
		 * anyone runs (docker images hides it too) */
		if (!img->tags.n && img->has_children)
			continue;

		snprintf(file, sizeof(file), "%s/image/overlay2/imagedb/content/sha256/%s", c->data_root, img->id + 7);
		if (!strcmp(chk->id, "4.6")) {
			json_t *cfg = NULL, *hc;
			char *why = NULL;

			vigil_docker_image_json(c->d, img->id, &cfg, &why);
			hc = json_object_get(json_object_get(cfg, "config"), "Healthcheck");
			if (!cfg)
				cis_add(c, chk, VIGIL_CIS_ERROR, file, NULL, NULL, NULL, img->id, "%s", why);
			else
				cis_add(c, chk, json_is_object(hc) ? VIGIL_CIS_PASS : VIGIL_CIS_FAIL, file,
					"config.Healthcheck", json_is_object(hc) ? "set" : "(none)", NULL, img->id,
					"%s", img->tags.n ? img->tags.v[0] : "(untagged)");
			json_decref(cfg);
			free(why);
		} else { /* 4.8 */
			struct setid_list l = { "", 0, 0 };
			struct vigil_err err = { "" };

			if (vigil_docker_image_setid(c->d, img, setid_cb, &l, &err) < 0)
				cis_add(c, chk, VIGIL_CIS_ERROR, file, NULL, NULL, NULL, img->id, "%s", err.msg);
			else
				cis_add(c, chk, VIGIL_CIS_INFO, file, "setuid/setgid files", l.n ? l.buf : "(none)",
					NULL, img->id, "%zu setuid/setgid file(s) in %s", l.n,
					img->tags.n ? img->tags.v[0] : "(untagged)");
		}
	}
}

void cis_eval_swarm(struct cis_ctx *c, const struct vigil_cis_check *chk)
{
	char path[4200];
	int on;

	if (c->docker_error) {
		cis_add(c, chk, VIGIL_CIS_ERROR, c->data_root, NULL, NULL, NULL, NULL, "%s", c->docker_error);
		return;
	}
	on = c->d ? vigil_docker_swarm_active(c->d) : 0;
	snprintf(path, sizeof(path), "%s/swarm/state.json", c->data_root);
	cis_add(c, chk, on ? VIGIL_CIS_FAIL : VIGIL_CIS_PASS, path, "swarm", on ? "active" : "inactive", NULL, NULL,
		on ? "this node is in a swarm" : NULL);
}
