/* audit_exec.c - container-shell detection from the kernel's proc connector
 * (include/vigil/audit_exec.h): what is done per exec, the reports of what
 * could not be examined, the watcher's lifecycle.  The socket and the
 * message parser are in audit_exec_link.c.
 *
 * Cost per exec, on the exec'ing side: the kernel builds and multicasts one
 * 76-byte message (a few µs; with the 6.6+ event filter only exec events
 * reach this socket).  On vigil's side: one recv and one read of
 * /proc/PID/cgroup; status, exe and cmdline are read only for processes in
 * a container.  The exec_rate budget bounds that work per second; a
 * callback handles at most BATCH messages, so a burst never holds the loop.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include "vigil/audit_exec.h"
#include "vigil/docker.h"
#include "vigil/record.h"

/* Messages handled per callback: about 128 x 20 µs when every one is
 * examined, so other fds wait a few ms at most under a flood. */
#define BATCH 128
#define META_CACHE 64
#define MAX_ROOTS 8
#define CMDLINE_MAX 32768
#define MAX_ARGS 256
/* A container id not found under the known data roots makes vigil look for
 * running dockerds' --data-root again, at most this often. */
#define ROOTS_RESCAN_NS (2 * 1000000000LL)


struct meta_entry {
	char id[65];
	char *name, *image;
};

/* What was last reported per pid: a process that exec'd twice before vigil
 * read /proc (`sh -c 'exec bash'`) shows the second program for both
 * messages; the second look is not reported again. */
#define SEEN 64
struct seen_entry {
	pid_t pid;
	uint64_t ts_ns, hash;
};

struct vigil_audit_exec {
	struct vigil_audit_exec_opts o;
	vigil_audit_emit_fn emit;
	void *ctx;
	int fd;
	char *roots[MAX_ROOTS];
	size_t n_roots;
	int64_t roots_scanned_ns;
	struct meta_entry meta[META_CACHE];
	size_t meta_next;
	uint64_t rate_start_ns, rate_count;
	struct vigil_audit_exec_counters c, reported;
	struct seen_entry seen[SEEN];
	size_t seen_next;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The kernel stamps messages with ktime_get_ns() (CLOCK_MONOTONIC). */
static int64_t ktime_to_real(uint64_t ts)
{
	struct timespec ts_real;
	int64_t now_mono = mono_ns(), real;

	clock_gettime(CLOCK_REALTIME, &ts_real);
	real = (int64_t)ts_real.tv_sec * 1000000000LL + ts_real.tv_nsec;
	if (!ts || (int64_t)ts > now_mono)
		return real;
	return real - (now_mono - (int64_t)ts);
}

/* ------------------------------------------------------------ /proc reads */

static long proc_read(const struct vigil_audit_exec *x, pid_t pid, const char *name, char *buf,
		      size_t size)
{
	return vigil_audit_proc_read(x->o.proc, pid, name, buf, size);
}

struct proc_view {
	char comm[64];
	pid_t ppid;
	int64_t uid, euid, gid, auid;
	char exe[PATH_MAX];
	int have_exe;
	char cmd[CMDLINE_MAX];
	char *argv[MAX_ARGS];
	size_t argc;
	char cmdline[CMDLINE_MAX];
};

/* "Name:\tsh\nUmask:..." fields of /proc/PID/status; 0 or -errno. */
static int read_status(const struct vigil_audit_exec *x, pid_t pid, struct proc_view *v)
{
	char buf[4096];
	long n = proc_read(x, pid, "status", buf, sizeof(buf));
	const char *l;

	if (n < 0)
		return (int)n;
	for (l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		long long a, b;

		if (!strncmp(l, "Name:\t", 6)) {
			size_t k = strcspn(l + 6, "\n");

			snprintf(v->comm, sizeof(v->comm), "%.*s", (int)k, l + 6);
		} else if (!strncmp(l, "PPid:\t", 6)) {
			v->ppid = (pid_t)strtol(l + 6, NULL, 10);
		} else if (!strncmp(l, "Uid:\t", 5) && sscanf(l + 5, "%lld %lld", &a, &b) == 2) {
			v->uid = a;
			v->euid = b;
		} else if (!strncmp(l, "Gid:\t", 5) && sscanf(l + 5, "%lld", &a) == 1) {
			v->gid = a;
		}
	}
	return v->comm[0] ? 0 : -EINVAL;
}

/* exe (needs ptrace read access: may fail, then NULL), argv from cmdline
 * (empty once the process is a zombie), the login uid. */
static void read_rest(const struct vigil_audit_exec *x, pid_t pid, struct proc_view *v)
{
	char path[PATH_MAX], lbuf[32];
	ssize_t r;
	long n;
	int k;

	k = snprintf(path, sizeof(path), "%s/%d/exe", x->o.proc ? x->o.proc : "/proc", (int)pid);
	if (k > 0 && (size_t)k < sizeof(path) && (r = readlink(path, v->exe, sizeof(v->exe) - 1)) > 0) {
		v->exe[r] = '\0';
		v->have_exe = 1;
	}
	n = proc_read(x, pid, "cmdline", v->cmd, sizeof(v->cmd));
	for (long o = 0; n > 0 && o < n && v->argc < MAX_ARGS;) {
		size_t l = strnlen(v->cmd + o, (size_t)(n - o));

		v->argv[v->argc++] = v->cmd + o;
		o += (long)l + 1;
	}
	for (size_t i = 0, o = 0; i < v->argc && o + 1 < sizeof(v->cmdline); i++) {
		int w = snprintf(v->cmdline + o, sizeof(v->cmdline) - o, "%s%s", i ? " " : "",
				 v->argv[i]);

		if (w < 0)
			break;
		o += (size_t)w;
	}
	if (proc_read(x, pid, "loginuid", lbuf, sizeof(lbuf)) > 0)
		v->auid = strtoll(lbuf, NULL, 10);
}

/* ------------------------------------------------------------- containers */

static int add_root(struct vigil_audit_exec *x, const char *r, size_t len)
{
	for (size_t i = 0; i < x->n_roots; i++)
		if (strlen(x->roots[i]) == len && !strncmp(x->roots[i], r, len))
			return 0;
	if (x->n_roots >= MAX_ROOTS || !len || r[0] != '/')
		return 0;
	x->roots[x->n_roots] = strndup(r, len);
	if (!x->roots[x->n_roots])
		return -ENOMEM;
	x->n_roots++;
	return 0;
}

/* --data-root of every running dockerd run by root (a root given on the
 * command line is in no file that engine discovery reads).  O(processes):
 * done at start and, when a container's record is not found, at most every
 * ROOTS_RESCAN_NS. */
static void scan_dockerds(struct vigil_audit_exec *x)
{
	DIR *d = opendir(x->o.proc ? x->o.proc : "/proc");
	struct dirent *de;
	char buf[8192];

	if (!d)
		return;
	while ((de = readdir(d))) {
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		long n;

		if (pid <= 0 || proc_read(x, pid, "comm", buf, sizeof(buf)) <= 0 ||
		    strcmp(buf, "dockerd\n"))
			continue;
		/* any user can name a process dockerd: only root's are asked
		 * where Docker's data is (a spoofed root could name containers) */
		if (proc_read(x, pid, "status", buf, sizeof(buf)) <= 0 || !strstr(buf, "\nUid:\t0\t0\t"))
			continue;
		n = proc_read(x, pid, "cmdline", buf, sizeof(buf));
		for (long o = 0; n > 0 && o < n;) {
			const char *a = buf + o;
			size_t l = strnlen(a, (size_t)(n - o));

			if (!strncmp(a, "--data-root=", 12))
				add_root(x, a + 12, l - 12);
			else if ((!strcmp(a, "--data-root") || !strcmp(a, "-g")) && o + (long)l + 1 < n)
				add_root(x, a + l + 1, strnlen(a + l + 1, (size_t)(n - o - (long)l - 1)));
			o += (long)l + 1;
		}
	}
	closedir(d);
}

static void find_roots(struct vigil_audit_exec *x)
{
	struct vigil_docker_engine eng;
	struct vigil_err err = { "" };

	x->roots_scanned_ns = mono_ns();
	if (x->o.data_roots) {
		for (size_t i = 0; x->o.data_roots[i]; i++)
			add_root(x, x->o.data_roots[i], strlen(x->o.data_roots[i]));
		return;
	}
	if (!vigil_docker_discover(NULL, &eng, &err)) {
		if (eng.data_root)
			add_root(x, eng.data_root, strlen(eng.data_root));
		vigil_docker_engine_clear(&eng);
	}
	add_root(x, "/var/lib/docker", strlen("/var/lib/docker"));
	scan_dockerds(x);
}

static struct meta_entry *meta_lookup(struct vigil_audit_exec *x, const char *id)
{
	struct meta_entry *m;

	for (size_t i = 0; i < META_CACHE; i++)
		if (!strcmp(x->meta[i].id, id))
			return &x->meta[i];
	m = &x->meta[x->meta_next++ % META_CACHE];
	free(m->name);
	free(m->image);
	memset(m, 0, sizeof(*m));
	for (int pass = 0; pass < 2 && !m->name; pass++) {
		if (pass && (x->o.data_roots || mono_ns() - x->roots_scanned_ns < ROOTS_RESCAN_NS))
			break;
		if (pass)
			find_roots(x);
		for (size_t i = 0; i < x->n_roots && !m->name; i++) {
			struct vigil_err err = { "" };

			vigil_docker_container_lookup(NULL, x->roots[i], id, &m->name, &m->image, &err);
		}
	}
	if (!m->name)
		return NULL; /* not cached: its config may be written a moment later */
	snprintf(m->id, sizeof(m->id), "%s", id);
	return m;
}

/* --------------------------------------------------------------- per exec */

static void emit_exec(struct vigil_audit_exec *x, const struct vigil_audit_exec_msg *m,
		      pid_t pid, const char *cid, struct proc_view *v, int shell)
{
	struct meta_entry *meta = meta_lookup(x, cid);
	struct vigil_who who = { 0 };
	struct vigil_event ev = { 0 };
	const char *cname = meta ? meta->name : NULL;
	char msg[512];

	who.known = 1;
	who.pid = pid;
	who.ppid = v->ppid;
	who.uid = v->uid;
	who.euid = v->euid;
	who.auid = v->auid;
	who.gid = v->gid;
	who.exe = v->have_exe ? v->exe : NULL;
	who.comm = v->comm;
	who.cmdline = v->argc ? v->cmdline : NULL;
	who.container_id = cid;
	who.container_name = cname;
	who.container_image = meta ? meta->image : NULL;
	ev.who = &who;
	ev.kind = "alert";
	ev.source = "proc";
	ev.message = msg;
	ev.time_ns = ktime_to_real(m->ts_ns);
	if (shell) {
		snprintf(msg, sizeof(msg), "shell '%.256s' started in container %.128s (%.12s)",
			 v->have_exe ? v->exe : v->comm, cname ? cname : "?", cid);
		ev.action = VIGIL_ACTION_CONTAINER_SHELL;
		ev.severity = VIGIL_SEV_HIGH;
		x->c.shells++;
	} else {
		snprintf(msg, sizeof(msg), "'%.256s' started in container %.128s",
			 v->have_exe ? v->exe : v->comm, cname ? cname : cid);
		ev.action = VIGIL_ACTION_CONTAINER_EXEC;
	}
	x->emit(&ev, x->ctx);
}

/* 1 when pid was reported less than a second ago (message clock) with the
 * same program and arguments; else remembers it and returns 0. */
static int seen_again(struct vigil_audit_exec *x, pid_t pid, uint64_t ts, const struct proc_view *v)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a over exe, comm, cmdline */
	const char *parts[3] = { v->have_exe ? v->exe : "", v->comm, v->cmdline };
	struct seen_entry *e;

	for (size_t k = 0; k < 3; k++)
		for (const unsigned char *c = (const unsigned char *)parts[k]; ; c++) {
			h = (h ^ *c) * 1099511628211ULL;
			if (!*c)
				break;
		}
	for (size_t i = 0; i < SEEN; i++) {
		e = &x->seen[i];
		if (e->pid == pid && e->hash == h && ts >= e->ts_ns && ts - e->ts_ns < 1000000000ULL)
			return 1;
	}
	e = &x->seen[x->seen_next++ % SEEN];
	e->pid = pid;
	e->ts_ns = ts;
	e->hash = h;
	return 0;
}

/* The budget runs on the messages' own clock, one-second windows. */
static int rate_ok(struct vigil_audit_exec *x, uint64_t ts)
{
	if (x->o.exec_rate <= 0)
		return 1;
	if (ts - x->rate_start_ns >= 1000000000ULL || ts < x->rate_start_ns) {
		x->rate_start_ns = ts;
		x->rate_count = 0;
	}
	if (x->rate_count >= (uint64_t)x->o.exec_rate)
		return 0;
	x->rate_count++;
	return 1;
}

/* One exec.  later: the same process exec'd again further on in this
 * batch, so /proc shows that later program, not this one. */
static void examine(struct vigil_audit_exec *x, const struct vigil_audit_exec_msg *m, int later)
{
	static struct proc_view v; /* 64 KiB: off the stack; the loop thread only */
	pid_t pid = m->tgid > 0 ? m->tgid : m->pid;
	char cid[65];
	int rc, shell;

	x->c.execs++;
	if (pid <= 0) {
		x->c.bad++;
		return;
	}
	if (!rate_ok(x, m->ts_ns)) {
		x->c.suppressed++;
		return;
	}
	x->c.examined++;
	rc = vigil_audit_pid_container(x->o.proc, pid, cid);
	if (rc < 0) {
		x->c.gone++;
		return;
	}
	if (rc == 0) {
		x->c.host++;
		return;
	}
	x->c.container++;
	if (later) {
		x->c.superseded++;
		return;
	}
	memset(&v, 0, offsetof(struct proc_view, exe));
	v.uid = v.euid = v.gid = v.auid = -1;
	v.have_exe = 0;
	v.argc = 0;
	v.cmdline[0] = '\0';
	if (read_status(x, pid, &v)) {
		x->c.gone++;
		return;
	}
	read_rest(x, pid, &v);
	shell = vigil_audit_is_shell(v.have_exe ? v.exe : NULL, v.comm, v.argv, v.argc);
	if (!(shell || x->o.all_execs))
		return;
	if (seen_again(x, pid, m->ts_ns, &v)) {
		x->c.superseded++;
		return;
	}
	emit_exec(x, m, pid, cid, &v, shell);
}

static void handle_msgs(struct vigil_audit_exec *x, const struct vigil_audit_exec_msg *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int later = 0;

		if (m[i].what != PROC_EVENT_EXEC)
			continue;
		for (size_t k = i + 1; k < n && !later; k++)
			later = m[k].what == PROC_EVENT_EXEC && m[k].tgid == m[i].tgid;
		examine(x, &m[i], later);
	}
}

void vigil_audit_exec_handle(struct vigil_audit_exec *x, const void *buf, size_t len)
{
	struct vigil_audit_exec_msg m[BATCH];
	size_t n = vigil_audit_exec_parse(buf, len, m, BATCH, &x->c.bad);

	x->c.messages += n;
	handle_msgs(x, m, n);
}

int vigil_audit_exec_read(struct vigil_audit_exec *x)
{
	struct vigil_audit_exec_msg m[BATCH];
	char buf[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
	size_t n = 0;
	int reads = 0;

	/* collect first, so an exec superseded within the batch is known */
	while (n < BATCH && reads < BATCH) {
		ssize_t r = recv(x->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				x->c.overflows++;
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			handle_msgs(x, m, n);
			return -errno;
		}
		reads++;
		n += vigil_audit_exec_parse(buf, (size_t)r, m + n, BATCH - n, &x->c.bad);
	}
	x->c.messages += n;
	handle_msgs(x, m, n);
	return reads;
}

/* ------------------------------------------------------------- lifecycle */

struct vigil_audit_exec *vigil_audit_exec_new(const struct vigil_audit_exec_opts *o,
					      vigil_audit_emit_fn emit, void *ctx)
{
	struct vigil_audit_exec *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	if (o)
		x->o = *o;
	x->emit = emit;
	x->ctx = ctx;
	x->fd = -1;
	find_roots(x);
	return x;
}

int vigil_audit_exec_open(struct vigil_audit_exec **out, const struct vigil_audit_exec_opts *o,
			  vigil_audit_emit_fn emit, void *ctx, struct vigil_err *err)
{
	struct vigil_audit_exec *x;
	int fd;

	*out = NULL;
	fd = vigil_audit_exec_socket(err);
	if (fd < 0)
		return fd;
	x = vigil_audit_exec_new(o, emit, ctx);
	if (!x) {
		close(fd);
		return vigil_err_set(err, -ENOMEM, "exec watcher: out of memory");
	}
	x->fd = fd;
	*out = x;
	return 0;
}

int vigil_audit_exec_fd(const struct vigil_audit_exec *x)
{
	return x->fd;
}

void vigil_audit_exec_tick(struct vigil_audit_exec *x)
{
	struct vigil_audit_exec_counters *c = &x->c, *r = &x->reported;
	struct vigil_event ev = { 0 };
	char msg[256], extra[256];

	ev.kind = "event";
	ev.source = "proc";
	ev.message = msg;
	ev.extra_json = extra;
	if (c->overflows > r->overflows) {
		snprintf(msg, sizeof(msg),
			 "the proc connector socket overflowed %" PRIu64 " times: exec events were lost "
			 "(shells among them were not seen)", c->overflows - r->overflows);
		snprintf(extra, sizeof(extra), "{\"exec\":{\"socket_overflows\":%" PRIu64 "}}",
			 c->overflows - r->overflows);
		ev.action = VIGIL_ACTION_AUDIT_LOST;
		ev.severity = VIGIL_SEV_HIGH;
		x->emit(&ev, x->ctx);
	}
	if (c->suppressed > r->suppressed) {
		snprintf(msg, sizeof(msg), "%" PRIu64 " execs beyond %d/s were not examined",
			 c->suppressed - r->suppressed, x->o.exec_rate);
		snprintf(extra, sizeof(extra), "{\"exec\":{\"suppressed\":%" PRIu64 "}}",
			 c->suppressed - r->suppressed);
		ev.action = VIGIL_ACTION_AUDIT_RATE;
		ev.severity = VIGIL_SEV_MEDIUM;
		x->emit(&ev, x->ctx);
	}
	if (c->gone + c->superseded > r->gone + r->superseded) {
		uint64_t g = c->gone - r->gone, s = c->superseded - r->superseded;

		snprintf(msg, sizeof(msg),
			 "%" PRIu64 " execs could not be examined: %" PRIu64 " exited before /proc was "
			 "read, %" PRIu64 " in containers exec'd again first", g + s, g, s);
		snprintf(extra, sizeof(extra),
			 "{\"exec\":{\"gone\":%" PRIu64 ",\"superseded\":%" PRIu64 "}}", g, s);
		ev.action = VIGIL_ACTION_EXEC_UNEXAMINED;
		ev.severity = VIGIL_SEV_LOW;
		x->emit(&ev, x->ctx);
	}
	*r = *c;
}

void vigil_audit_exec_counters(const struct vigil_audit_exec *x,
			       struct vigil_audit_exec_counters *c)
{
	*c = x->c;
}

void vigil_audit_exec_close(struct vigil_audit_exec *x)
{
	if (!x)
		return;
	if (x->fd >= 0)
		close(x->fd);
	for (size_t i = 0; i < x->n_roots; i++)
		free(x->roots[i]);
	for (size_t i = 0; i < META_CACHE; i++) {
		free(x->meta[i].name);
		free(x->meta[i].image);
	}
	free(x);
}
