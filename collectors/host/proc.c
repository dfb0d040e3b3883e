/* proc.c - live process state: cgroups, freezer, exe hashes, fds, namespaces.
 *
 * Text read from /proc is bounded (PROC_SMALL) and every name that comes out
 * of it is escaped before it is put into JSON (vigil_path_escape): process
 * names and fd targets are chosen by whoever runs the process.
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
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "vigil/crypto.h"
#include "vigil/hostproc.h"
#include "vigil/record.h"

#define PROC_SMALL 65536

static ssize_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

/* The cgroup dir of pid: v2's "0::/x" under the unified mount, else v1's
 * controller (freezer, pids).  *v2 set accordingly. */
static int cgroup_dir(pid_t pid, const char *want, char *out, size_t len, int *v2)
{
	char path[64], buf[8192], *line, *save = NULL;
	char v1[4096] = "", uni[4096] = "";
	struct stat sb;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return -ESRCH;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c1 = *c2 = '\0';
		if (!strcmp(line, "0") && c1 + 1 == c2)
			snprintf(uni, sizeof(uni), "%s", c2 + 1);
		else if (!strcmp(c1 + 1, want))
			snprintf(v1, sizeof(v1), "%s", c2 + 1);
	}
	if (v1[0] && snprintf(out, len, "/sys/fs/cgroup/%s%s", want, v1) < (int)len && !stat(out, &sb)) {
		*v2 = 0;
		return 0;
	}
	if (uni[0]) {
		/* pure v2 mounts it on /sys/fs/cgroup, hybrid setups on .../unified */
		const char *base = access("/sys/fs/cgroup/cgroup.controllers", F_OK) ? "/sys/fs/cgroup/unified"
										      : "/sys/fs/cgroup";

		*v2 = 1;
		if (snprintf(out, len, "%s%s", base, uni) < (int)len && !stat(out, &sb))
			return 0;
	}
	return -ENOENT;
}

int vigil_proc_cgroup_pids(pid_t pid, pid_t **pids, size_t *n)
{
	char dir[4200], file[4300];
	size_t cap = 0;
	FILE *f;
	long p;
	int v2;

	*pids = NULL;
	*n = 0;
	if (cgroup_dir(pid, "freezer", dir, sizeof(dir), &v2) && cgroup_dir(pid, "pids", dir, sizeof(dir), &v2))
		return -ENOENT;
	snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
	f = fopen(file, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%ld", &p) == 1) {
		if (*n == cap) {
			pid_t *np = realloc(*pids, (cap = cap ? cap * 2 : 32) * sizeof(pid_t));

			if (!np) {
				fclose(f);
				return -ENOMEM;
			}
			*pids = np;
		}
		(*pids)[(*n)++] = (pid_t)p;
	}
	fclose(f);
	return 0;
}

int vigil_proc_freezer(pid_t pid, char *buf, size_t len, int *v2)
{
	char dir[4200];
	int rc = cgroup_dir(pid, "freezer", dir, sizeof(dir), v2);

	if (rc)
		return rc;
	if (snprintf(buf, len, "%s/%s", dir, *v2 ? "cgroup.freeze" : "freezer.state") >= (int)len)
		return -ENAMETOOLONG;
	return access(buf, W_OK) ? -errno : 0;
}

int vigil_proc_freeze(const char *path, int v2, int on)
{
	const char *v = v2 ? (on ? "1" : "0") : (on ? "FROZEN" : "THAWED");
	char st[64], ev[4200];
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (write(fd, v, strlen(v)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	if (!on)
		return 0;
	/* v1 goes through FREEZING; v2 says "frozen 1" in cgroup.events */
	snprintf(ev, sizeof(ev), "%.*s/cgroup.events", (int)(strrchr(path, '/') - path), path);
	for (int i = 0; i < 200; i++) {
		struct timespec ts = { 0, 10000000 };

		if (!v2 && read_small(path, st, sizeof(st)) > 0 && !strncmp(st, "FROZEN", 6))
			return 0;
		if (v2 && read_small(ev, st, sizeof(st)) > 0 && strstr(st, "frozen 1"))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

int vigil_proc_exe_sha256(pid_t pid, char hex[65])
{
	struct vigil_digest *d;
	unsigned char buf[65536], sha[32];
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC); /* the magic link: the very inode running */
	if (fd < 0)
		return -errno;
	d = vigil_digest_new(VIGIL_ALGOS_DEFAULT);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		vigil_digest_write(d, buf, (size_t)n);
	close(fd);
	vigil_digest_read(d, VIGIL_ALGO_SHA256, sha);
	vigil_digest_free(d);
	if (n < 0)
		return -EIO;
	vigil_hex(sha, 32, hex);
	return 0;
}

static json_t *esc(const char *s, size_t len)
{
	char *e = vigil_path_escape(s, len);
	json_t *j = e ? json_string(e) : json_null();

	free(e);
	return j;
}

static json_t *link_json(const char *path)
{
	char t[4096];
	ssize_t n = readlink(path, t, sizeof(t) - 1);

	return n < 0 ? json_null() : esc(t, (size_t)n);
}

static char *dump(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_INDENT(1)) : NULL;

	json_decref(j);
	return s;
}

/* The links in /proc/PID/<sub> as {name: target}, or as a list with key. */
static json_t *links(pid_t pid, const char *sub, int as_list)
{
	char dir[64], path[384];
	struct dirent *de;
	json_t *out = as_list ? json_array() : json_object();
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/%s", (int)pid, sub);
	d = opendir(dir);
	if (!d) {
		json_decref(out);
		return NULL;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (as_list)
			json_array_append_new(out, json_pack("{s:i,s:o}", "fd", atoi(de->d_name), "target",
							     link_json(path)));
		else
			json_object_set_new(out, de->d_name, link_json(path));
	}
	closedir(d);
	return out;
}

char *vigil_proc_fds_json(pid_t pid)
{
	return dump(links(pid, "fd", 1));
}

char *vigil_proc_ns_json(pid_t pid)
{
	return dump(links(pid, "ns", 0));
}

static json_t *one_proc(pid_t pid)
{
	char path[64], buf[4096], hex[65], *p;
	json_t *o = json_object();
	ssize_t n;
	long ppid = 0;
	unsigned uid = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_small(path, buf, sizeof(buf)) < 0) {
		json_decref(o);
		return NULL;
	}
	if ((p = strstr(buf, "\nPPid:")))
		ppid = strtol(p + 6, NULL, 10);
	if ((p = strstr(buf, "\nUid:")))
		uid = (unsigned)strtoul(p + 5, NULL, 10);
	if (!strncmp(buf, "Name:\t", 6) && (p = strchr(buf, '\n')))
		json_object_set_new(o, "comm", esc(buf + 6, (size_t)(p - buf - 6)));
	json_object_set_new(o, "pid", json_integer(pid));
	json_object_set_new(o, "ppid", json_integer(ppid));
	json_object_set_new(o, "uid", json_integer(uid));
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	json_object_set_new(o, "exe", link_json(path));
	json_object_set_new(o, "exe_sha256", vigil_proc_exe_sha256(pid, hex) ? json_null() : json_string(hex));
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	n = read_small(path, buf, sizeof(buf));
	if (n > 0) {
		for (ssize_t i = 0; i < n - 1; i++)
			if (!buf[i])
				buf[i] = ' ';
		json_object_set_new(o, "cmdline", esc(buf, strlen(buf)));
	}
	return o;
}

char *vigil_proc_list_json(void)
{
	json_t *list = json_array();
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d || !list) {
		if (d)
			closedir(d);
		json_decref(list);
		return NULL;
	}
	while ((de = readdir(d))) {
		json_t *o;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		o = one_proc((pid_t)atoi(de->d_name));
		if (o)
			json_array_append_new(list, o);
	}
	closedir(d);
	return dump(list);
}
