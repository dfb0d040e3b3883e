/* procs.c - `vigil procs`: every user process (kernel threads have no
 * memory of their own and are left out) with its container, and with verify
 * each one's code against its files (procverify.c), a deleted executable,
 * and its executable's hash against the baseline's record for that path.
 * Zombies, like kernel threads, have no memory map and are left out.
 *
 * The container comes from /proc/PID/cgroup (audit_who.c reads it), its name
 * from the Docker collector (vigil_docker_container_lookup, once per id).
 * The baseline is used only when it verifies (vigil_run_open_verified), and
 * only for processes in vigil's own mount namespace: a container's /usr/bin/x
 * is not the host's.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/actions.h"
#include "vigil/audit.h"
#include "vigil/config.h"
#include "vigil/crypto.h"
#include "vigil/docker.h"
#include "vigil/hostproc.h"
#include "vigil/record.h"
#include "vigil/run.h"
#include "vigil/store.h"
#include "procs_priv.h"

json_t *procs_str(const char *s)
{
	char *e = vigil_path_escape(s, strlen(s));
	json_t *j = e ? json_string(e) : json_null();

	free(e);
	return j;
}

static void copy_key(json_t *to, json_t *from, const char *key)
{
	json_t *v = json_object_get(from, key);

	if (v && !json_is_null(v))
		json_object_set(to, key, v);
}

json_t *procs_finding(json_t *findings, json_t *proc, const char *action, int severity, const char *fmt, ...)
{
	json_t *f = json_object();
	char msg[1536];
	va_list ap;

	if (!f)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(f, "action", json_string(action));
	json_object_set_new(f, "severity", json_string(vigil_severity_name(severity)));
	copy_key(f, proc, "pid");
	copy_key(f, proc, "start_time");
	copy_key(f, proc, "uid");
	copy_key(f, proc, "comm");
	copy_key(f, proc, "exe");
	copy_key(f, proc, "container_id");
	copy_key(f, proc, "container_name");
	json_object_set_new(f, "detail", procs_str(msg));
	json_array_append_new(findings, f);
	return f;
}

void procs_note(json_t *notes, json_t *proc, const char *fmt, ...)
{
	json_t *n = json_object();
	char msg[1536];
	va_list ap;

	if (!n)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (proc) {
		copy_key(n, proc, "pid");
		copy_key(n, proc, "comm");
	}
	json_object_set_new(n, "note", procs_str(msg));
	json_array_append_new(notes, n);
}

void procs_count(json_t *summary, const char *key, json_int_t n)
{
	json_t *v = json_object_get(summary, key);

	json_object_set_new(summary, key, json_integer((v ? json_integer_value(v) : 0) + n));
}

/* ---- what is known across processes --------------------------------------- */

struct cname {
	char id[65];
	char *name;
};

struct exehash {
	dev_t dev;
	ino_t ino;
	char hex[65];
};

struct pctx {
	const struct vigil_procs_opts *o;
	const char *proc;
	char want[65];          /* --container: the full id */
	struct cname *names;
	size_t nnames;
	struct exehash *hashes;
	size_t nhashes;
	struct vigil_store *st; /* the verified baseline, NULL none */
	int64_t gen;
	char self_mnt[64];
	json_t *procs, *findings, *notes, *summary;
};

static const char *container_name(struct pctx *x, const char *id)
{
	struct vigil_err e = { "" };
	char *name = NULL, *image = NULL;
	struct cname *n;

	for (size_t i = 0; i < x->nnames; i++)
		if (!strcmp(x->names[i].id, id))
			return x->names[i].name;
	n = realloc(x->names, (x->nnames + 1) * sizeof(*n));
	if (!n)
		return NULL;
	x->names = n;
	if (vigil_docker_container_lookup(NULL, x->o->data_root, id, &name, &image, &e))
		name = NULL;
	free(image);
	snprintf(n[x->nnames].id, sizeof(n[x->nnames].id), "%s", id);
	n[x->nnames].name = name;
	return n[x->nnames++].name;
}

static int exe_hash(struct pctx *x, pid_t pid, char hex[65])
{
	char path[64];
	struct stat sb;
	struct exehash *h;

	snprintf(path, sizeof(path), "%s/%d/exe", x->proc, (int)pid);
	if (stat(path, &sb))
		return -errno;
	for (size_t i = 0; i < x->nhashes; i++)
		if (x->hashes[i].dev == sb.st_dev && x->hashes[i].ino == sb.st_ino) {
			memcpy(hex, x->hashes[i].hex, 65);
			return 0;
		}
	if (vigil_proc_exe_sha256(pid, hex))
		return -EIO;
	h = realloc(x->hashes, (x->nhashes + 1) * sizeof(*h));
	if (h) {
		x->hashes = h;
		h[x->nhashes].dev = sb.st_dev;
		h[x->nhashes].ino = sb.st_ino;
		memcpy(h[x->nhashes++].hex, hex, 65);
	}
	return 0;
}

static ssize_t read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* Field 22 of /proc/PID/stat: when the process started, in clock ticks
 * since boot; with the pid it names one process for as long as the host runs
 * (a pid is reused, the pair is not).  -1 when unreadable.  comm (field 2)
 * may hold spaces and parentheses: the fields are counted after its last ')'. */
static long long start_ticks(struct pctx *x, pid_t pid)
{
	char path[64], buf[1024], *p;
	int field = 2;

	snprintf(path, sizeof(path), "%s/%d/stat", x->proc, (int)pid);
	if (read_text(path, buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')))
		return -1;
	for (p++; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	return field == 22 && *p >= '0' && *p <= '9' ? strtoll(p, NULL, 10) : -1;
}

/* The process's entry, NULL when it is a kernel thread, gone, or not in the
 * container asked for. */
static json_t *describe(struct pctx *x, pid_t pid)
{
	char path[64], buf[4096], exe[4096], id[65], *p;
	long ppid = 0;
	unsigned long uid = 0;
	ssize_t n;
	json_t *o;

	snprintf(path, sizeof(path), "%s/%d/status", x->proc, (int)pid);
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return NULL;
	if ((p = strstr(buf, "\nPPid:")))
		ppid = strtol(p + 6, NULL, 10);
	if ((p = strstr(buf, "\nUid:")))
		uid = strtoul(p + 5, NULL, 10);
	if (!strstr(buf, "\nVmSize:")) /* kernel threads have no memory map */
		return NULL;
	if (vigil_audit_pid_container(x->proc, pid, id) != 1)
		id[0] = '\0';
	if (x->want[0] && strcmp(id, x->want))
		return NULL;
	o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "pid", json_integer(pid));
	json_object_set_new(o, "ppid", json_integer(ppid));
	json_object_set_new(o, "start_time", json_integer(start_ticks(x, pid)));
	json_object_set_new(o, "uid", json_integer((json_int_t)uid));
	if (!strncmp(buf, "Name:\t", 6) && (p = strchr(buf, '\n'))) {
		*p = '\0';
		json_object_set_new(o, "comm", procs_str(buf + 6));
	}
	snprintf(path, sizeof(path), "%s/%d/exe", x->proc, (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n >= 0) {
		exe[n] = '\0';
		json_object_set_new(o, "exe", procs_str(exe));
	} else {
		json_object_set_new(o, "exe", json_null());
	}
	if (id[0]) {
		const char *name = container_name(x, id);

		json_object_set_new(o, "container_id", json_string(id));
		json_object_set_new(o, "container_name", name ? procs_str(name) : json_null());
	}
	return o;
}

/* ---- checks of the executable --------------------------------------------- */

static int same_mnt_ns(struct pctx *x, pid_t pid)
{
	char path[64], ns[64];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/ns/mnt", x->proc, (int)pid);
	n = readlink(path, ns, sizeof(ns) - 1);
	if (n < 0 || !x->self_mnt[0])
		return 0;
	ns[n] = '\0';
	return !strcmp(ns, x->self_mnt);
}

static void against_baseline(struct pctx *x, json_t *p, pid_t pid, const char *exe, const char *hex)
{
	struct vigil_record rec;
	struct vigil_err e = { "" };
	char was[65];

	if (!x->st || !same_mnt_ns(x, pid))
		return;
	vigil_record_init(&rec);
	if (vigil_store_get(x->st, x->gen, exe, strlen(exe), &rec, &e)) {
		vigil_record_clear(&rec);
		return; /* not in the baseline's scopes */
	}
	if (rec.algos & VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256)) {
		vigil_hex(rec.digest[VIGIL_ALGO_SHA256], 32, was);
		if (strcmp(was, hex)) {
			json_t *f = procs_finding(x->findings, p, VIGIL_ACTION_PROC_EXE_CHANGED, VIGIL_SEV_CRITICAL,
						  "runs %s whose sha256 %s is not the baseline's %s (generation %lld)",
						  exe, hex, was, (long long)x->gen);

			if (f) {
				json_object_set_new(f, "sha256", json_string(hex));
				json_object_set_new(f, "baseline_sha256", json_string(was));
			}
		}
		procs_count(x->summary, "exes_checked_against_baseline", 1);
	}
	vigil_record_clear(&rec);
}

static void verify_exe(struct pctx *x, json_t *p, pid_t pid)
{
	char path[64], hex[65], exe[4096];
	struct stat sb;
	ssize_t n;
	size_t len;

	/* the link's bytes, not the escaped text of the listing: the baseline's key */
	snprintf(path, sizeof(path), "%s/%d/exe", x->proc, (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return;
	exe[n] = '\0';
	len = (size_t)n;
	if (len > 10 && !strcmp(exe + len - 10, " (deleted)") && !stat(path, &sb) && sb.st_nlink == 0)
		procs_finding(x->findings, p, VIGIL_ACTION_PROC_EXE_DELETED, VIGIL_SEV_HIGH,
			      "runs a deleted executable (%s)", exe);
	if (exe_hash(x, pid, hex))
		return;
	json_object_set_new(p, "exe_sha256", json_string(hex));
	if (!stat(path, &sb) && sb.st_nlink > 0)
		against_baseline(x, p, pid, exe, hex);
}

/* ---- the run -------------------------------------------------------------- */

static int resolve_container(struct pctx *x, const char *ref, struct vigil_err *err)
{
	const struct vigil_docker_container *c;
	struct vigil_docker *d = NULL;
	int rc;

	if ((rc = vigil_docker_load(NULL, x->o->data_root, &d, err)))
		return rc;
	c = vigil_docker_find_container(d, ref, err);
	if (c)
		snprintf(x->want, sizeof(x->want), "%s", c->id);
	vigil_docker_free(d);
	return c ? 0 : -ENOENT;
}

static void open_baseline(struct pctx *x)
{
	struct vigil_generation g;
	struct vigil_err e = { "" };
	char db[4200];

	if (!x->o->state_dir)
		return;
	snprintf(db, sizeof(db), "%s/%s", x->o->state_dir, VIGIL_STORE_FILE);
	if (access(db, F_OK)) {
		json_object_set_new(x->summary, "baseline", json_string("none"));
		return;
	}
	if (vigil_run_open_verified(x->o->state_dir, VIGIL_STORE_RDONLY, &x->st, &g, &e)) {
		procs_note(x->notes, NULL, "executables not compared with the baseline: %s", e.msg);
		json_object_set_new(x->summary, "baseline", json_string("unusable"));
		x->st = NULL;
		return;
	}
	x->gen = g.id;
	json_object_set_new(x->summary, "baseline_generation", json_integer(g.id));
}

static int walk(struct pctx *x)
{
	struct dirent *de;
	DIR *d = opendir(x->proc);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t pid;
		json_t *p;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)atoi(de->d_name);
		p = describe(x, pid);
		if (!p)
			continue;
		json_array_append_new(x->procs, p);
		procs_count(x->summary, "processes", 1);
		if (!x->o->verify)
			continue;
		verify_exe(x, p, pid);
		vigil_procs_verify_one(x->o, pid, p, x->findings, x->notes, x->summary);
	}
	closedir(d);
	return 0;
}

int vigil_procs_run(const struct vigil_procs_opts *o, json_t **report, struct vigil_err *err)
{
	struct pctx x = { .o = o, .proc = o->proc ? o->proc : "/proc" };
	char path[64];
	ssize_t n;
	int rc;

	*report = NULL;
	x.procs = json_array();
	x.findings = json_array();
	x.notes = json_array();
	x.summary = json_object();
	if (!x.procs || !x.findings || !x.notes || !x.summary) {
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (o->container && (rc = resolve_container(&x, o->container, err)))
		goto out;
	snprintf(path, sizeof(path), "%s/self/ns/mnt", x.proc);
	n = readlink(path, x.self_mnt, sizeof(x.self_mnt) - 1);
	x.self_mnt[n > 0 ? n : 0] = '\0';
	if (o->verify)
		open_baseline(&x);
	if ((rc = walk(&x))) {
		vigil_err_set(err, rc, "cannot list %s", x.proc);
		goto out;
	}
	json_object_set_new(x.summary, "findings", json_integer((json_int_t)json_array_size(x.findings)));
	*report = json_pack("{s:O,s:O,s:O,s:O,s:b}", "processes", x.procs, "findings", x.findings, "notes", x.notes,
			    "summary", x.summary, "verified", o->verify);
	if (!*report)
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
out:
	vigil_store_close(x.st);
	for (size_t i = 0; i < x.nnames; i++)
		free(x.names[i].name);
	free(x.names);
	free(x.hashes);
	json_decref(x.procs);
	json_decref(x.findings);
	json_decref(x.notes);
	json_decref(x.summary);
	return rc;
}
