/* audit_who.c - which container a process belongs to, the container's name
 * and image, and whether a program is a shell.
 *
 * The container comes from /proc/PID/cgroup, whose path names it for every
 * Docker cgroup driver: systemd "docker-<id>.scope" (cgroup v1 and v2) and
 * cgroupfs "/docker/<id>" (and containerd's CRI "cri-containerd-<id>.scope").
 * The name and image are the Docker collector's to read
 * (vigil_docker_container_lookup(), the one reader of Docker's files).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/audit.h"

static int is_hex64(const char *s, size_t n)
{
	if (n < 64)
		return 0;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* One cgroup path component names a container. */
static int component_id(const char *c, size_t n, const char *prev, size_t pn, char id[65])
{
	static const char *const prefixes[] = { "docker-", "cri-containerd-", NULL };

	for (size_t i = 0; prefixes[i]; i++) {
		size_t pl = strlen(prefixes[i]);

		if (n == pl + 64 + 6 && !strncmp(c, prefixes[i], pl) && is_hex64(c + pl, 64) &&
		    !strncmp(c + pl + 64, ".scope", 6)) {
			memcpy(id, c + pl, 64);
			id[64] = '\0';
			return 1;
		}
	}
	/* cgroupfs driver: .../docker/<id> */
	if (n == 64 && is_hex64(c, n) && prev && pn == 6 && !strncmp(prev, "docker", 6)) {
		memcpy(id, c, 64);
		id[64] = '\0';
		return 1;
	}
	return 0;
}

int vigil_audit_cgroup_container(const char *text, size_t len, char id[65])
{
	const char *line = text, *end = text + len;

	id[0] = '\0';
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl ? nl : end, *path, *c, *prev = NULL;
		size_t pn = 0;

		/* "hierarchy-id:controllers:path"; the path may itself hold ':' */
		path = memchr(line, ':', (size_t)(le - line));
		if (path)
			path = memchr(path + 1, ':', (size_t)(le - path - 1));
		if (path) {
			for (c = path + 1; c < le;) {
				const char *slash = memchr(c, '/', (size_t)(le - c));
				const char *ce = slash ? slash : le;

				if (ce > c) {
					if (component_id(c, (size_t)(ce - c), prev, pn, id))
						return 1;
					prev = c;
					pn = (size_t)(ce - c);
				}
				c = ce + 1;
			}
		}
		line = le + 1;
	}
	return 0;
}

long vigil_audit_proc_read(const char *proc, pid_t pid, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t n;
	size_t got = 0;
	int fd, k;

	k = snprintf(path, sizeof(path), "%s/%d/%s", proc ? proc : "/proc", (int)pid, name);
	if (k < 0 || (size_t)k >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	return (long)got;
}

int vigil_audit_pid_container(const char *proc, pid_t pid, char id[65])
{
	char buf[8192];
	long got;

	id[0] = '\0';
	if (pid <= 0)
		return -EINVAL;
	got = vigil_audit_proc_read(proc, pid, "cgroup", buf, sizeof(buf));
	if (got < 0)
		return (int)got;
	return vigil_audit_cgroup_container(buf, (size_t)got, id);
}

int vigil_audit_shim_container(const char *proc, pid_t pid, char id[65])
{
	char path[PATH_MAX], exe[PATH_MAX], buf[4096];
	const char *b;
	ssize_t n;
	size_t got;
	long r;
	int k;

	id[0] = '\0';
	if (pid <= 0)
		return -EINVAL;
	k = snprintf(path, sizeof(path), "%s/%d/exe", proc ? proc : "/proc", (int)pid);
	if (k < 0 || (size_t)k >= sizeof(path))
		return -ENAMETOOLONG;
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	b = strrchr(exe, '/');
	b = b ? b + 1 : exe;
	if (strncmp(b, "containerd-shim", 15))
		return 0;
	r = vigil_audit_proc_read(proc, pid, "cmdline", buf, sizeof(buf));
	if (r < 0)
		return (int)r;
	got = (size_t)r;
	/* arguments are NUL-separated: "-id" then the container id */
	for (size_t o = 0; o < got;) {
		size_t l = strnlen(buf + o, got - o);

		if (l == 3 && !strcmp(buf + o, "-id") && o + 4 + 64 <= got + 1 &&
		    strnlen(buf + o + 4, got - o - 4) == 64 && is_hex64(buf + o + 4, 64)) {
			memcpy(id, buf + o + 4, 64);
			id[64] = '\0';
			return 1;
		}
		o += l + 1;
	}
	return 0;
}

static const char *base(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p;
}

static int shell_name(const char *n)
{
	static const char *const shells[] = { "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh",
					      "rbash", NULL };

	if (!n || !*n)
		return 0;
	if (n[0] == '-') /* a login shell's argv[0] */
		n++;
	for (size_t i = 0; shells[i]; i++)
		if (!strcmp(n, shells[i]))
			return 1;
	return 0;
}

int vigil_audit_is_shell(const char *exe, const char *comm, char *const *argv, size_t argc)
{
	const char *eb = base(exe);

	if (shell_name(eb))
		return 1;
	/* busybox is one binary for every applet: the applet is argv[0]'s
	 * name, or argv[1] when run as `busybox sh` */
	if ((eb && !strcmp(eb, "busybox")) || (comm && !strcmp(comm, "busybox"))) {
		/* comm is the name that was executed (/bin/sh -> "sh") */
		if (shell_name(comm))
			return 1;
		if (argc > 0 && shell_name(base(argv[0])))
			return 1;
		if (argc > 1 && !strcmp(base(argv[0]), "busybox") && shell_name(argv[1]))
			return 1;
		return 0;
	}
	/* exe unknown (record without it): fall back on comm */
	return !exe && shell_name(comm);
}
