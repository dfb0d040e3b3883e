/* audit_rules.c - vigil's audit rules: which, as rules.d text, and loading,
 * unloading and checking them in the kernel through libaudit.
 *
 * Every rule is an exit-filter rule keyed "vigil-...".  Removal lists the
 * kernel's rules and deletes exactly those whose key starts with "vigil-", by
 * sending back the kernel's own copy of each: nothing is ever flushed, other
 * programs' rules stay as they were, in their order.  Rules are appended, not
 * prepended, so a host's own earlier rules keep their meaning; status says
 * when one of them silences ours.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <jansson.h>
#include <libaudit.h>

#include "vigil/audit.h"
#include "vigil/docker.h"
#include "vigil/rootfs.h"

/* Reply wait for one netlink answer: the kernel answers at once, so a
 * second means something is wrong with the socket, not a slow kernel. */
#define REPLY_TIMEOUT_MS 2000
/* Below this backlog a burst (a package upgrade rewriting /usr/bin) loses
 * records; 8192 is what auditd's own default rules set. */
#define MIN_BACKLOG 8192

/* ----------------------------------------------------------- small helpers */

static int strv_push(char ***v, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int strv_push(char ***v, size_t *n, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL, **nv;
	int len;

	va_start(ap, fmt);
	len = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -ENOMEM;
	nv = realloc(*v, (*n + 2) * sizeof(*nv));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int is_host_root(const char *root)
{
	return !root || !root[0] || !strcmp(root, "/");
}

/* A rules.d line is split on blanks by auditctl, and the kernel takes the
 * path as given: refuse what cannot be written or is not absolute. */
static const char *path_problem(const char *p)
{
	if (p[0] != '/')
		return "not an absolute path";
	for (const unsigned char *c = (const unsigned char *)p; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return "blank or control character, which a rules.d line cannot hold";
	if (strlen(p) >= PATH_MAX)
		return "too long";
	return NULL;
}

/* ------------------------------------------------------------ rule set */

struct builder {
	struct vigil_audit_ruleset *set;
	const char *root;
	int rootfd; /* every look at a path goes through rootfs: confined under --root */
};

static int has_rule_for(const struct vigil_audit_ruleset *set, const char *path)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].path && !strcmp(set->v[i].path, path) && !set->v[i].syscalls)
			return 1;
	return 0;
}

static int add_rule(struct builder *b, const struct vigil_audit_rule *r)
{
	struct vigil_audit_ruleset *set = b->set;
	struct vigil_audit_rule *nv;

	nv = realloc(set->v, (set->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	set->v = nv;
	nv[set->n] = *r;
	nv[set->n].path = r->path ? strdup(r->path) : NULL;
	nv[set->n].key = strdup(r->key);
	nv[set->n].why = strdup(r->why ? r->why : "");
	if ((r->path && !nv[set->n].path) || !nv[set->n].key || !nv[set->n].why) {
		free(nv[set->n].path);
		free(nv[set->n].key);
		free(nv[set->n].why);
		return -ENOMEM;
	}
	set->n++;
	return 0;
}

/* A path rule if path exists under root: dir= for directories (a path= rule
 * on a directory audits only the directory inode itself), path= otherwise.
 * Returns 1 added, 0 absent or skipped, -errno. */
static int add_path(struct builder *b, int role, const char *path, const char *perm,
		    const char *key, const char *why)
{
	struct vigil_audit_rule r = { 0 };
	struct stat st;
	const char *bad;
	int rc;

	if ((bad = path_problem(path)))
		return strv_push(&b->set->skipped, &b->set->n_skipped, "%s: %s", path, bad) ?
			       -ENOMEM : 0;
	if (vigil_rootfs_lstat(b->rootfd, path, &st))
		return 0;
	if (has_rule_for(b->set, path))
		return 0;
	r.role = role;
	r.path = (char *)path;
	r.is_dir = S_ISDIR(st.st_mode);
	r.perm = perm;
	r.key = (char *)key;
	r.why = (char *)why;
	rc = add_rule(b, &r);
	if (rc)
		return rc;
	/* The watch is on the inode the name points to: a symlinked binary is
	 * replaced through its target, so watch the target too (host only:
	 * under --root the link means something inside the image). */
	if (S_ISLNK(st.st_mode) && is_host_root(b->root)) {
		char *real = realpath(path, NULL);

		if (real && strcmp(real, path))
			rc = add_path(b, role, real, perm, key, why);
		free(real);
		if (rc < 0)
			return rc;
	}
	return 1;
}

/* The first existing of dir/name over dirs; 1 when a rule was added. */
static int add_first(struct builder *b, int role, const char *const *dirs, const char *name,
		     const char *perm, const char *key, const char *why)
{
	char path[PATH_MAX];
	struct stat st;
	int n;

	for (size_t i = 0; dirs[i]; i++) {
		n = snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		if (vigil_rootfs_lstat(b->rootfd, path, &st))
			continue;
		return add_path(b, role, path, perm, key, why);
	}
	return 0;
}

static int add_syscall(struct builder *b, int role, const char *arch, const char *syscalls,
		       const char *path, const char *filter, const char *key, const char *why)
{
	struct vigil_audit_rule r = { 0 };

	r.role = role;
	r.arch = arch;
	r.syscalls = syscalls;
	r.path = (char *)path;
	r.filter = filter;
	r.key = (char *)key;
	r.why = (char *)why;
	return add_rule(b, &r);
}

static int sanitize_key(char *dst, size_t len, const char *prefix, const char *name)
{
	size_t i, o;
	int n = snprintf(dst, len, "%s", prefix);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	o = (size_t)n;
	/* The key lands in every record and in `ausearch -k`: keep it to
	 * characters nobody has to quote. */
	for (i = 0; name[i] && o + 1 < len && o < 200; i++) {
		unsigned char c = (unsigned char)name[i];

		dst[o++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
					   (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ?
				   (char)c : '_';
	}
	dst[o] = '\0';
	return 0;
}

struct scope_glob {
	struct builder *b;
	const char *key, *why;
};

static int scope_glob_cb(void *arg, const char *path)
{
	struct scope_glob *sg = arg;
	int rc = add_path(sg->b, VIGIL_AUDIT_ROLE_SCOPE, path, "wa", sg->key, sg->why);

	return rc < 0 ? rc : 0;
}

static int add_scope(struct builder *b, const struct vigil_scope *sc)
{
	char key[256], why[512];
	int rc = 0;

	if (sanitize_key(key, sizeof(key), VIGIL_AUDIT_KEY_PREFIX "scope-", sc->name))
		return 0;
	snprintf(why, sizeof(why), "watched scope '%s' is marked critical", sc->name);
	for (size_t i = 0; i < sc->paths.n && rc >= 0; i++) {
		const char *p = sc->paths.v[i];

		if (!strpbrk(p, "*?[")) {
			rc = add_path(b, VIGIL_AUDIT_ROLE_SCOPE, p, "wa", key, why);
			continue;
		}
		/* A glob: audit has none, so the rules name what it matches
		 * now (matched inside the root); new matches wait for the next
		 * install. */
		struct scope_glob sg = { b, key, why };

		rc = vigil_rootfs_glob(b->rootfd, p, scope_glob_cb, &sg);
	}
	return rc < 0 ? rc : 0;
}

static int native_has_b32(void)
{
	struct utsname u;

	/* b32 syscall rules exist where the kernel runs 32-bit programs on a
	 * 64-bit kernel; without them a 32-bit execve slips past a b64 rule. */
	if (uname(&u))
		return 0;
	return !strcmp(u.machine, "x86_64") || !strcmp(u.machine, "aarch64") ||
	       !strcmp(u.machine, "ppc64") || !strcmp(u.machine, "s390x");
}

/* The engine's binaries, data root, configs and units, as the Docker
 * collector finds them (the one reader of Docker's files), plus the paths
 * CIS Docker Benchmark 1.1 names whatever the engine says. */
static int add_engine(struct builder *b)
{
	static const char *const cis_paths[] = { "/etc/docker", "/var/lib/docker", NULL };
	static const char *const sockdirs[] = { "/run/containerd", "/etc/systemd/system",
						"/lib/systemd/system", "/run",
						"/usr/lib/systemd/system", NULL };
	const char *cis = "CIS Docker Benchmark 1.6 section 1.1";
	struct vigil_docker_engine eng;
	struct vigil_err e2 = { "" };
	int rc;

	rc = vigil_docker_discover(b->root, &eng, &e2);
	if (rc)
		return rc;
	for (size_t i = 0; i < eng.binaries.n && rc >= 0; i++)
		rc = add_path(b, VIGIL_AUDIT_ROLE_ENGINE, eng.binaries.v[i], "wa",
			      VIGIL_AUDIT_KEY_PREFIX "docker-engine", cis);
	if (rc >= 0)
		rc = add_path(b, VIGIL_AUDIT_ROLE_RUNTIME, "/run/containerd", "wa",
			      VIGIL_AUDIT_KEY_PREFIX "docker-runtime", cis);
	/* Reads of image layers would flood the log: write and attribute only. */
	if (rc >= 0)
		rc = add_path(b, VIGIL_AUDIT_ROLE_DATA, eng.data_root, "wa", VIGIL_AUDIT_KEY_PREFIX "docker-data",
			      strcmp(eng.data_root, "/var/lib/docker") ? "the engine's data root (CIS 1.1 /var/lib/docker)" :
									  cis);
	for (size_t i = 0; cis_paths[i] && rc >= 0; i++)
		rc = add_path(b, !strcmp(cis_paths[i], "/var/lib/docker") ? VIGIL_AUDIT_ROLE_DATA : VIGIL_AUDIT_ROLE_CONFIG,
			      cis_paths[i], "wa", !strcmp(cis_paths[i], "/var/lib/docker") ?
			      VIGIL_AUDIT_KEY_PREFIX "docker-data" : VIGIL_AUDIT_KEY_PREFIX "docker-config", cis);
	/* A file inside /etc/docker is covered by the dir= rule, but CIS (and
	 * docker-bench-security) look for its own rule. */
	for (size_t i = 0; i < eng.configs.n && rc >= 0; i++)
		rc = add_path(b, VIGIL_AUDIT_ROLE_CONFIG, eng.configs.v[i], "wa",
			      VIGIL_AUDIT_KEY_PREFIX "docker-config", cis);
	if (rc >= 0)
		rc = add_first(b, VIGIL_AUDIT_ROLE_SOCKET, sockdirs, "containerd.sock", "wa",
			       VIGIL_AUDIT_KEY_PREFIX "docker-sock", cis);
	vigil_docker_engine_clear(&eng);
	return rc < 0 ? rc : 0;
}

/* One API socket: its inode (chmod, chown, replace) and its clients.
 * connect() is in no audit permission class, so a perm= watch never sees a
 * client of the socket: a syscall rule with the socket's path does.  The
 * host's own docker CLI matches too; userspace keeps only clients inside
 * containers as detections. */
static int add_socket(struct builder *b, const char *sock, int b32)
{
	const char *why = "clients of the Docker / containerd API socket";
	const char *bad = path_problem(sock);
	struct stat st;
	int rc;

	if (bad)
		return strv_push(&b->set->skipped, &b->set->n_skipped, "%s: %s", sock, bad);
	if (vigil_rootfs_lstat(b->rootfd, sock, &st) || !S_ISSOCK(st.st_mode))
		return 0;
	for (size_t k = 0; k < b->set->n; k++)
		if (b->set->v[k].syscalls && b->set->v[k].path && !strcmp(b->set->v[k].path, sock))
			return 0;
	rc = add_path(b, VIGIL_AUDIT_ROLE_SOCKET, sock, "wa", VIGIL_AUDIT_KEY_PREFIX "docker-sock",
		      "the Docker / containerd API socket itself");
	if (rc < 0)
		return rc;
	rc = add_syscall(b, VIGIL_AUDIT_ROLE_SOCKET, "b64", "connect", sock, NULL,
			 VIGIL_AUDIT_KEY_PREFIX "docker-sock", why);
	if (!rc && b32)
		rc = add_syscall(b, VIGIL_AUDIT_ROLE_SOCKET, "b32", "connect,socketcall", sock, NULL,
				 VIGIL_AUDIT_KEY_PREFIX "docker-sock",
				 "clients of the Docker / containerd API socket (32-bit)");
	return rc;
}

/* Processes in containers descend from containerd, a service with no login
 * uid; an admin's session and cron jobs have one.  auid=unset keeps the
 * kernel from recording those, the bulk of a host's execs; userspace then
 * keeps the ones whose cgroup is a container's and rate-limits them. */
static int add_exec(struct builder *b, int b32)
{
	const char *why = "processes started by services and in containers (no login uid)";
	int rc = add_syscall(b, VIGIL_AUDIT_ROLE_EXEC, "b64", "execve,execveat", NULL, "auid=unset",
			     VIGIL_AUDIT_KEY_PREFIX "exec", why);

	if (!rc && b32)
		rc = add_syscall(b, VIGIL_AUDIT_ROLE_EXEC, "b32", "execve,execveat", NULL, "auid=unset",
				 VIGIL_AUDIT_KEY_PREFIX "exec", why);
	return rc;
}

/* The scopes: the command line's paths, then the config's critical ones. */
static int add_scopes(struct builder *b, const struct vigil_audit_rules_opts *o)
{
	int rc = 0;

	if (o->paths) {
		struct vigil_scope cli = { .name = (char *)"cli", .critical = 1 };

		for (cli.paths.n = 0; o->paths[cli.paths.n]; cli.paths.n++)
			;
		cli.paths.v = (char **)o->paths;
		rc = add_scope(b, &cli);
	}
	for (size_t i = 0; o->cfg && i < o->cfg->n_scopes && !rc; i++)
		if (o->cfg->scopes[i].critical)
			rc = add_scope(b, &o->cfg->scopes[i]);
	return rc;
}

int vigil_audit_rules_build(const struct vigil_audit_rules_opts *opts,
			    struct vigil_audit_ruleset **out, struct vigil_err *err)
{
	static const char *const default_socks[] = { "/run/docker.sock",
						     "/run/containerd/containerd.sock", NULL };
	struct vigil_audit_rules_opts o = { 0 };
	struct builder b = { .rootfd = -1 };
	int rc, execve, b32;

	*out = NULL;
	if (opts)
		o = *opts;
	b.root = o.root;
	b.set = calloc(1, sizeof(*b.set));
	if (!b.set)
		return vigil_err_set(err, -ENOMEM, "audit rules: out of memory");
	b.rootfd = vigil_rootfs_open_root(o.root, NULL);
	if (b.rootfd < 0) {
		rc = b.rootfd;
		vigil_audit_rules_free(b.set);
		return vigil_err_set(err, rc, "audit rules: root '%s': %s", o.root ? o.root : "/", strerror(-rc));
	}
	rc = add_engine(&b);
	if (rc < 0)
		goto out;
	b32 = o.b32 >= 0 && native_has_b32();
	/* the sockets asked for, then the default ones too (once each) */
	for (size_t i = 0; o.sockets && o.sockets[i] && !rc; i++)
		rc = add_socket(&b, o.sockets[i], b32);
	for (size_t i = 0; default_socks[i] && !rc; i++)
		rc = add_socket(&b, default_socks[i], b32);
	if (rc)
		goto out;
	execve = o.execve < 0 || !opts ? (o.cfg ? o.cfg->audit_execve_rules : 1) : o.execve;
	if (execve && (rc = add_exec(&b, b32)))
		goto out;
	rc = add_scopes(&b, &o);
out:
	close(b.rootfd);
	if (rc) {
		vigil_audit_rules_free(b.set);
		return vigil_err_set(err, rc, "audit rules: %s", strerror(-rc));
	}
	*out = b.set;
	return 0;
}

void vigil_audit_rules_free(struct vigil_audit_ruleset *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++) {
		free(set->v[i].path);
		free(set->v[i].key);
		free(set->v[i].why);
	}
	free(set->v);
	strv_free(set->skipped, set->n_skipped);
	free(set);
}

int vigil_audit_rule_text(const struct vigil_audit_rule *r, char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len, "-a always,exit%s%s%s%s%s%s%s%s%s%s -F key=%s",
		     r->arch ? " -F arch=" : "", r->arch ? r->arch : "",
		     r->syscalls ? " -S " : "", r->syscalls ? r->syscalls : "",
		     r->path ? (r->is_dir ? " -F dir=" : " -F path=") : "", r->path ? r->path : "",
		     r->perm ? " -F perm=" : "", r->perm ? r->perm : "",
		     r->filter ? " -F " : "", r->filter ? r->filter : "", r->key);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int vigil_audit_rules_print(const struct vigil_audit_ruleset *set, FILE *f)
{
	char line[PATH_MAX + 512];
	const char *last = NULL;

	fprintf(f, "## vigil audit rules (generated by `vigil rules print`).\n"
		   "## Every rule is keyed vigil-*: `vigil rules remove` deletes exactly these.\n"
		   "## Load with auditctl -R FILE, or copy into /etc/audit/rules.d/ and run augenrules.\n");
	for (size_t i = 0; i < set->n_skipped; i++)
		fprintf(f, "## skipped %s\n", set->skipped[i]);
	for (size_t i = 0; i < set->n; i++) {
		if (vigil_audit_rule_text(&set->v[i], line, sizeof(line)))
			continue;
		if (!last || strcmp(last, set->v[i].why))
			fprintf(f, "\n# %s\n", set->v[i].why);
		last = set->v[i].why;
		fprintf(f, "%s\n", line);
	}
	return ferror(f) ? -EIO : 0;
}

/* --------------------------------------------------------- kernel side */

struct krules {
	struct audit_rule_data **v;
	size_t n;
};

static void krules_free(struct krules *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	k->v = NULL;
	k->n = 0;
}

static int kopen(struct vigil_err *err)
{
	int fd;

	/* libaudit prints its own errors to stderr unless told not to; we
	 * return ours instead. */
	set_aumessage_mode(MSG_QUIET, DBG_NO);
	fd = audit_open();
	if (fd < 0) {
		int e = errno ? errno : EPROTONOSUPPORT;

		if (e == EPROTONOSUPPORT || e == EINVAL || e == EAFNOSUPPORT)
			return vigil_err_set(err, -EPROTONOSUPPORT,
					     "audit: the kernel has no audit support (CONFIG_AUDIT)");
		return vigil_err_set(err, -e, "audit: cannot open the audit netlink socket: %s",
				     strerror(e));
	}
	return fd;
}

/* Waits for and returns the next reply of the given types; -errno on error,
 * including the kernel's NLMSG_ERROR with a non-zero code. */
static int kreply(int fd, struct audit_reply *rep, struct vigil_err *err, const char *what)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int rc = poll(&pfd, 1, REPLY_TIMEOUT_MS);

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return vigil_err_set(err, rc ? -errno : -ETIMEDOUT,
					     "audit: no reply from the kernel to %s", what);
		rc = audit_get_reply(fd, rep, GET_REPLY_NONBLOCKING, 0);
		if (rc == -EAGAIN || rc == 0)
			continue;
		if (rc < 0)
			return vigil_err_set(err, rc, "audit: reading the reply to %s: %s", what,
					     strerror(-rc));
		if (rep->type == NLMSG_ERROR) {
			if (rep->error->error == 0)
				continue; /* an ACK */
			return vigil_err_set(err, rep->error->error,
					     "audit: the kernel refused %s: %s", what,
					     strerror(-rep->error->error));
		}
		return 0;
	}
}

static int kstatus_fd(int fd, struct vigil_audit_kstatus *st, struct vigil_err *err)
{
	struct audit_reply rep;
	int rc;

	rc = audit_request_status(fd);
	if (rc < 0)
		return vigil_err_set(err, rc == -EPERM || rc == -EACCES ? -EPERM : rc,
				     "audit: status request: %s%s", strerror(-rc),
				     rc == -EPERM || rc == -EACCES ?
					     " (needs root or CAP_AUDIT_CONTROL)" : "");
	for (;;) {
		rc = kreply(fd, &rep, err, "the status request");
		if (rc) {
			if (rc == -EPERM || rc == -EACCES)
				return vigil_err_set(err, -EPERM,
						     "audit: status request refused: needs root or "
						     "CAP_AUDIT_CONTROL");
			return rc;
		}
		if (rep.type == AUDIT_GET)
			break;
	}
	st->enabled = rep.status->enabled;
	st->failure = rep.status->failure;
	st->pid = rep.status->pid;
	st->rate_limit = rep.status->rate_limit;
	st->backlog_limit = rep.status->backlog_limit;
	st->lost = rep.status->lost;
	st->backlog = rep.status->backlog;
	return 0;
}

int vigil_audit_kstatus(struct vigil_audit_kstatus *st, struct vigil_err *err)
{
	int fd = kopen(err), rc;

	if (fd < 0)
		return fd;
	rc = kstatus_fd(fd, st, err);
	audit_close(fd);
	return rc;
}

static int klist(int fd, struct krules *out, struct vigil_err *err)
{
	struct audit_reply rep;
	int rc;

	rc = audit_request_rules_list_data(fd);
	if (rc < 0)
		return vigil_err_set(err, rc == -EACCES ? -EPERM : rc,
				     "audit: listing the kernel's rules: %s", strerror(-rc));
	for (;;) {
		struct audit_rule_data **nv, *copy;
		size_t sz;

		rc = kreply(fd, &rep, err, "the rule list request");
		if (rc) {
			krules_free(out);
			return rc == -EACCES ? -EPERM : rc;
		}
		if (rep.type == NLMSG_DONE)
			return 0;
		if (rep.type != AUDIT_LIST_RULES)
			continue;
		sz = sizeof(*rep.ruledata) + rep.ruledata->buflen;
		if ((size_t)rep.len < sz) {
			krules_free(out);
			return vigil_err_set(err, -EPROTO, "audit: short rule in the kernel's list");
		}
		copy = malloc(sz);
		nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
		if (!copy || !nv) {
			free(copy);
			if (nv)
				out->v = nv;
			krules_free(out);
			return vigil_err_set(err, -ENOMEM, "audit: out of memory");
		}
		memcpy(copy, rep.ruledata, sz);
		out->v = nv;
		out->v[out->n++] = copy;
	}
}

static int field_is_string(uint32_t f)
{
	return (f >= AUDIT_SUBJ_USER && f <= AUDIT_OBJ_LEV_HIGH && f != 18) ||
	       f == AUDIT_WATCH || f == AUDIT_DIR || f == AUDIT_FILTERKEY || f == AUDIT_EXE;
}

/* The string of field i (NUL-terminated copy into buf), or NULL. */
static const char *kfield_str(const struct audit_rule_data *r, uint32_t i, char *buf, size_t len)
{
	size_t off = 0;

	for (uint32_t k = 0; k < r->field_count && k < AUDIT_MAX_FIELDS; k++) {
		if (!field_is_string(r->fields[k]))
			continue;
		if (off + r->values[k] > r->buflen)
			return NULL;
		if (k == i) {
			size_t n = r->values[k] < len - 1 ? r->values[k] : len - 1;

			memcpy(buf, r->buf + off, n);
			buf[n] = '\0';
			return buf;
		}
		off += r->values[k];
	}
	return NULL;
}

static int kfind(const struct audit_rule_data *r, uint32_t field)
{
	for (uint32_t k = 0; k < r->field_count && k < AUDIT_MAX_FIELDS; k++)
		if (r->fields[k] == field)
			return (int)k;
	return -1;
}

/* The keys this vigil makes (after VIGIL_AUDIT_KEY_PREFIX); a trailing '-'
 * is a family (scope-<name>). */
static const char *const known_keys[] = { "exec", "docker-engine", "docker-runtime", "docker-data",
					  "docker-config", "docker-sock", "scope-", NULL };

/* One of the rule's keys (they are joined by \001) starts with "vigil-":
 * 0 none, 1 a key this vigil no longer makes (stale), 2 a key it makes. */
static int kis_vigil(const struct audit_rule_data *r)
{
	char key[AUDIT_MAX_KEY_LEN * 4 + 1];
	int i = kfind(r, AUDIT_FILTERKEY), found = 0;
	const char *k;
	size_t pl = strlen(VIGIL_AUDIT_KEY_PREFIX);

	if (i < 0 || !(k = kfield_str(r, (uint32_t)i, key, sizeof(key))))
		return 0;
	for (const char *p = k; p; p = strchr(p, AUDIT_KEY_SEPARATOR)) {
		const char *end;
		size_t n;

		if (*p == AUDIT_KEY_SEPARATOR)
			p++;
		if (strncmp(p, VIGIL_AUDIT_KEY_PREFIX, pl))
			continue;
		found = 1;
		p += pl;
		end = strchr(p, AUDIT_KEY_SEPARATOR);
		n = end ? (size_t)(end - p) : strlen(p);
		for (size_t j = 0; known_keys[j]; j++) {
			size_t kl = strlen(known_keys[j]);

			if (known_keys[j][kl - 1] == '-' ? n > kl && !strncmp(p, known_keys[j], kl) :
							   n == kl && !strncmp(p, known_keys[j], kl))
				return 2;
		}
	}
	return found;
}

/* The last word's top bits name syscall classes, which the kernel expands
 * into syscalls and does not give back: compare and print without them. */
static uint32_t mask_word(const struct audit_rule_data *r, uint32_t i)
{
	return i == AUDIT_BITMASK_SIZE - 1 ? r->mask[i] & 0xffffU : r->mask[i];
}

/* auditctl-like text of a kernel rule, for messages. */
static void kdescribe(const struct audit_rule_data *r, char *out, size_t len)
{
	const char *list = audit_flag_to_name((int)(r->flags & AUDIT_FILTER_MASK));
	const char *act = audit_action_to_name((int)r->action);
	int ai = kfind(r, AUDIT_ARCH);
	/* Syscall numbers are the rule's arch's (execve is 11 on i386 and
	 * munmap on x86_64): name them from that arch's table. */
	int machine = ai >= 0 ? audit_elf_to_machine(r->values[ai]) : audit_detect_machine();
	size_t o;
	int n, all = 1;

	n = snprintf(out, len, "-a %s,%s", act ? act : "?", list ? list : "?");
	o = n > 0 && (size_t)n < len ? (size_t)n : len - 1;
	for (uint32_t i = 0; i < AUDIT_BITMASK_SIZE; i++)
		if (mask_word(r, i) != (i == AUDIT_BITMASK_SIZE - 1 ? 0xffffU : ~0U))
			all = 0;
	if (!all && (r->flags & AUDIT_FILTER_MASK) == AUDIT_FILTER_EXIT) {
		int any = 0;

		for (uint32_t s = 0; s < AUDIT_BITMASK_SIZE * 32 && s < 2048; s++) {
			const char *name;

			if (!(r->mask[s / 32] & (1U << (s % 32))))
				continue;
			name = machine >= 0 ? audit_syscall_to_name((int)s, machine) : NULL;
			n = snprintf(out + o, len - o, "%s%s", any ? "," : " -S ", name ? name : "?");
			if (n < 0 || (size_t)n >= len - o)
				return;
			o += (size_t)n;
			any = 1;
		}
	}
	for (uint32_t i = 0; i < r->field_count && i < AUDIT_MAX_FIELDS; i++) {
		char sbuf[PATH_MAX];
		const char *fname = audit_field_to_name((int)r->fields[i]);
		const char *op = audit_operator_to_symbol((int)r->fieldflags[i]);
		const char *s = field_is_string(r->fields[i]) ?
					kfield_str(r, i, sbuf, sizeof(sbuf)) : NULL;

		if (r->fields[i] == AUDIT_ARCH) {
			/* as auditctl -l: b64 or b32, never the raw AUDIT_ARCH_* */
			snprintf(sbuf, sizeof(sbuf), "%s", r->values[i] & __AUDIT_ARCH_64BIT ? "b64" : "b32");
			s = sbuf;
		} else if (r->fields[i] == AUDIT_LOGINUID && r->values[i] == (uint32_t)-1) {
			s = "unset";
		}
		if (r->fields[i] == AUDIT_PERM) {
			uint32_t v = r->values[i];

			snprintf(sbuf, sizeof(sbuf), "%s%s%s%s", v & AUDIT_PERM_READ ? "r" : "",
				 v & AUDIT_PERM_WRITE ? "w" : "", v & AUDIT_PERM_EXEC ? "x" : "",
				 v & AUDIT_PERM_ATTR ? "a" : "");
			s = sbuf;
		}
		if (s)
			n = snprintf(out + o, len - o, " -F %s%s%s", fname ? fname : "?", op ? op : "?",
				     s);
		else
			n = snprintf(out + o, len - o, " -F %s%s%d", fname ? fname : "?", op ? op : "?",
				     (int)r->values[i]);
		if (n < 0 || (size_t)n >= len - o)
			return;
		o += (size_t)n;
	}
}

/* Our rule as libaudit builds it (what auditctl would send). */
static int build_kernel_rule(const struct vigil_audit_rule *r, struct audit_rule_data **out,
			     struct vigil_err *err)
{
	struct audit_rule_data *d = audit_rule_create_data();
	char pair[PATH_MAX + 16];
	int rc = 0;

	*out = NULL;
	if (!d)
		return vigil_err_set(err, -ENOMEM, "audit: out of memory");
	/* arch first: libaudit resolves syscall names for the last arch seen. */
	if (r->arch) {
		snprintf(pair, sizeof(pair), "arch=%s", r->arch);
		rc = audit_rule_fieldpair_data(&d, pair, AUDIT_FILTER_EXIT);
		if (rc)
			goto out;
	}
	if (r->syscalls) {
		char list[128], *save = NULL;

		snprintf(list, sizeof(list), "%s", r->syscalls);
		for (char *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
			rc = audit_rule_syscallbyname_data(d, s);
			if (rc) {
				/* socketcall and the like are absent on some arches. */
				if (strcmp(s, r->syscalls))
					rc = 0;
				else
					goto out;
			}
		}
	} else {
		rc = audit_rule_syscallbyname_data(d, "all");
		if (rc)
			goto out;
	}
	if (r->path) {
		snprintf(pair, sizeof(pair), "%s=%s", r->is_dir ? "dir" : "path", r->path);
		if ((rc = audit_rule_fieldpair_data(&d, pair, AUDIT_FILTER_EXIT)))
			goto out;
	}
	if (r->perm) {
		snprintf(pair, sizeof(pair), "perm=%s", r->perm);
		if ((rc = audit_rule_fieldpair_data(&d, pair, AUDIT_FILTER_EXIT)))
			goto out;
	}
	/* libaudit cuts the pair at '=' in place: never hand it a literal. */
	if (r->filter) {
		snprintf(pair, sizeof(pair), "%s", r->filter);
		if ((rc = audit_rule_fieldpair_data(&d, pair, AUDIT_FILTER_EXIT)))
			goto out;
	}
	snprintf(pair, sizeof(pair), "key=%s", r->key);
	rc = audit_rule_fieldpair_data(&d, pair, AUDIT_FILTER_EXIT);
	/* What audit_add_rule_data sets on sending, so it compares with the
	 * kernel's list. */
	d->flags = AUDIT_FILTER_EXIT;
	d->action = AUDIT_ALWAYS;
out:
	if (rc) {
		char line[PATH_MAX + 512];

		audit_rule_free_data(d);
		vigil_audit_rule_text(r, line, sizeof(line));
		return vigil_err_set(err, -EINVAL, "audit: cannot build rule '%s' (libaudit error %d)",
				     line, rc);
	}
	*out = d;
	return 0;
}

/* Same rule: the comparison the kernel makes when it refuses a duplicate. */
static int krule_equal(const struct audit_rule_data *a, const struct audit_rule_data *b)
{
	if ((a->flags & AUDIT_FILTER_MASK) != (b->flags & AUDIT_FILTER_MASK) ||
	    a->action != b->action || a->field_count != b->field_count ||
	    a->buflen != b->buflen || a->field_count > AUDIT_MAX_FIELDS)
		return 0;
	for (uint32_t i = 0; i < a->field_count; i++)
		if (a->fields[i] != b->fields[i] || a->values[i] != b->values[i] ||
		    a->fieldflags[i] != b->fieldflags[i])
			return 0;
	if (memcmp(a->buf, b->buf, a->buflen))
		return 0;
	for (uint32_t i = 0; i < AUDIT_BITMASK_SIZE; i++)
		if (mask_word(a, i) != mask_word(b, i))
			return 0;
	return 1;
}

void vigil_audit_report_clear(struct vigil_audit_report *rep)
{
	if (!rep)
		return;
	strv_free(rep->msgs, rep->n_msgs);
	memset(rep, 0, sizeof(*rep));
}

int vigil_audit_rules_install(const struct vigil_audit_ruleset *set, int flags,
			      struct vigil_audit_report *rep, struct vigil_err *err)
{
	struct vigil_audit_kstatus st;
	int fd, rc;

	/* Status on a socket of its own: libaudit takes the first answer
	 * after a request as its acknowledgement, so an ACK left behind by
	 * one request would be taken for the next one's. */
	rc = vigil_audit_kstatus(&st, err);
	if (rc)
		return rc;
	fd = kopen(err);
	if (fd < 0)
		return fd;
	if (st.enabled == 2) {
		rc = vigil_err_set(err, -EPERM,
				   "audit: rules are immutable (enabled 2, set by `auditctl -e 2`): "
				   "no rule can be added or removed until reboot");
		goto out;
	}
	if (st.enabled == 0) {
		if (flags & VIGIL_AUDIT_INSTALL_ENABLE) {
			rc = audit_set_enabled(fd, 1);
			if (rc < 0) {
				rc = vigil_err_set(err, rc, "audit: enabling audit: %s", strerror(-rc));
				goto out;
			}
			strv_push(&rep->msgs, &rep->n_msgs,
				  "audit was disabled: enabled it (--enable); `auditctl -e 0` undoes it");
		} else {
			strv_push(&rep->msgs, &rep->n_msgs,
				  "audit is disabled (enabled 0): the rules are loaded but the kernel "
				  "writes no record until `auditctl -e 1` (or `vigil rules install "
				  "--enable`)");
		}
	}
	for (size_t i = 0; i < set->n; i++) {
		struct audit_rule_data *d;
		struct vigil_err e2 = { "" };
		char line[PATH_MAX + 512];

		vigil_audit_rule_text(&set->v[i], line, sizeof(line));
		if (build_kernel_rule(&set->v[i], &d, &e2)) {
			rep->failed++;
			strv_push(&rep->msgs, &rep->n_msgs, "%s", e2.msg);
			continue;
		}
		/* libaudit waits for the kernel's ACK or error itself. */
		rc = audit_add_rule_data(fd, d, AUDIT_FILTER_EXIT, AUDIT_ALWAYS);
		audit_rule_free_data(d);
		if (rc == -EEXIST) {
			rep->present++;
		} else if (rc < 0) {
			rep->failed++;
			strv_push(&rep->msgs, &rep->n_msgs, "cannot load '%s': %s", line,
				  strerror(-rc));
			if (rc == -EPERM) {
				rc = vigil_err_set(err, -EPERM,
						   "audit: loading rules needs root or CAP_AUDIT_CONTROL");
				goto out;
			}
		} else {
			rep->added++;
		}
	}
	rc = 0;
out:
	audit_close(fd);
	return rc;
}

int vigil_audit_rules_remove(struct vigil_audit_report *rep, struct vigil_err *err)
{
	struct krules k = { 0 };
	struct vigil_audit_kstatus st;
	int fd, rc;

	rc = vigil_audit_kstatus(&st, err);
	if (rc)
		return rc;
	if (st.enabled == 2)
		return vigil_err_set(err, -EPERM,
				     "audit: rules are immutable (enabled 2): vigil's rules stay "
				     "loaded until reboot");
	fd = kopen(err);
	if (fd < 0)
		return fd;
	rc = klist(fd, &k, err);
	audit_close(fd);
	/* A fresh socket for the deletions, for the reason install gives. */
	fd = rc ? -1 : kopen(err);
	if (rc || fd < 0) {
		rc = rc ? rc : fd;
		fd = -1;
		goto out;
	}
	for (size_t i = 0; i < k.n; i++) {
		struct audit_rule_data *r = k.v[i];
		char line[PATH_MAX + 512];

		if (!kis_vigil(r)) {
			rep->foreign_kept++;
			continue;
		}
		kdescribe(r, line, sizeof(line));
		/* The kernel's own copy identifies the rule exactly. */
		rc = audit_delete_rule_data(fd, r, (int)r->flags, (int)r->action);
		if (rc < 0) {
			rep->failed++;
			strv_push(&rep->msgs, &rep->n_msgs, "cannot remove '%s': %s", line,
				  strerror(-rc));
		} else {
			rep->removed++;
		}
	}
	rc = 0;
out:
	krules_free(&k);
	if (fd >= 0)
		audit_close(fd);
	return rc;
}

void vigil_audit_status_clear(struct vigil_audit_status *st)
{
	if (!st)
		return;
	free(st->rules);
	strv_free(st->warnings, st->n_warnings);
	strv_free(st->stale, st->n_stale);
	strv_free(st->other, st->n_other);
	memset(st, 0, sizeof(*st));
}

/* Record types an exclude rule must not drop for vigil to see its events. */
static int excludes_ours(const struct audit_rule_data *r)
{
	static const uint32_t ours[] = { AUDIT_SYSCALL, AUDIT_PATH, AUDIT_CWD, AUDIT_EXECVE,
					 AUDIT_PROCTITLE, AUDIT_EOE, AUDIT_SOCKADDR };
	int i = kfind(r, AUDIT_MSGTYPE);

	if (i < 0)
		return 1; /* drops whatever else it matches, of every type */
	if (r->fieldflags[i] != AUDIT_EQUAL)
		return 1;
	for (size_t k = 0; k < sizeof(ours) / sizeof(ours[0]); k++)
		if (r->values[i] == ours[k])
			return 1;
	return 0;
}

int vigil_audit_rules_status(const struct vigil_audit_ruleset *set,
			     struct vigil_audit_status *st, struct vigil_err *err)
{
	struct audit_rule_data **ours = NULL;
	struct krules k = { 0 };
	size_t first_ours = (size_t)-1;
	int fd, rc;

	memset(st, 0, sizeof(*st));
	rc = vigil_audit_kstatus(&st->k, err);
	if (rc)
		return rc;
	fd = kopen(err);
	if (fd < 0)
		return fd;
	rc = klist(fd, &k, err);
	if (rc)
		goto out;
	st->rules = calloc(set->n + 1, sizeof(*st->rules));
	ours = calloc(set->n + 1, sizeof(*ours));
	if (!st->rules || !ours) {
		rc = vigil_err_set(err, -ENOMEM, "audit: out of memory");
		goto out;
	}
	for (size_t i = 0; i < set->n; i++) {
		struct vigil_err e2 = { "" };

		if (build_kernel_rule(&set->v[i], &ours[i], &e2))
			strv_push(&st->warnings, &st->n_warnings, "%s", e2.msg);
	}
	for (size_t j = 0; j < k.n; j++) {
		int mine = 0;

		for (size_t i = 0; i < set->n; i++)
			if (ours[i] && krule_equal(ours[i], k.v[j])) {
				st->rules[i].loaded = 1;
				mine = 1;
			}
		if (mine && first_ours == (size_t)-1)
			first_ours = j;
		if (!mine && kis_vigil(k.v[j])) {
			char line[PATH_MAX + 512];

			kdescribe(k.v[j], line, sizeof(line));
			if (kis_vigil(k.v[j]) == 2)
				strv_push(&st->other, &st->n_other, "%s", line);
			else
				strv_push(&st->stale, &st->n_stale, "%s", line);
		} else if (!mine) {
			st->n_foreign++;
		}
	}
	for (size_t i = 0; i < set->n; i++) {
		if (st->rules[i].loaded)
			st->n_loaded++;
		else
			st->n_missing++;
	}

	switch (st->k.enabled) {
	case 0:
		strv_push(&st->warnings, &st->n_warnings,
			  "audit is disabled (enabled 0): the kernel writes no record at all");
		break;
	case 2:
		strv_push(&st->warnings, &st->n_warnings,
			  "audit rules are immutable (enabled 2): vigil can neither load nor "
			  "remove rules until reboot");
		break;
	}
	if (st->k.backlog_limit && st->k.backlog_limit < MIN_BACKLOG)
		strv_push(&st->warnings, &st->n_warnings,
			  "backlog_limit %u is small: a burst of records is lost "
			  "(auditctl -b %d raises it)", st->k.backlog_limit, MIN_BACKLOG);
	if (st->k.rate_limit)
		strv_push(&st->warnings, &st->n_warnings,
			  "rate_limit %u records/s: records beyond it are lost", st->k.rate_limit);
	for (size_t j = 0; j < k.n; j++) {
		const struct audit_rule_data *r = k.v[j];
		unsigned list = r->flags & AUDIT_FILTER_MASK;
		char line[PATH_MAX + 512];

		if (kis_vigil(r))
			continue;
		kdescribe(r, line, sizeof(line));
		if (list == AUDIT_FILTER_TASK && r->action == AUDIT_NEVER)
			strv_push(&st->warnings, &st->n_warnings,
				  "'%s' silences every syscall record of the processes it matches%s",
				  line, r->field_count ? "" : " (all of them)");
		else if (list == AUDIT_FILTER_EXCLUDE && excludes_ours(r))
			strv_push(&st->warnings, &st->n_warnings,
				  "'%s' drops records vigil reads (exclude list)", line);
		else if (list == AUDIT_FILTER_EXIT && r->action == AUDIT_NEVER &&
			 (first_ours == (size_t)-1 || j < first_ours))
			strv_push(&st->warnings, &st->n_warnings,
				  "'%s' comes before vigil's rules and silences the syscalls it "
				  "matches (first match wins)", line);
		else if (list == AUDIT_FILTER_FS && r->action == AUDIT_NEVER)
			strv_push(&st->warnings, &st->n_warnings,
				  "'%s' drops file records on the filesystems it matches", line);
	}
	rc = 0;
out:
	if (ours)
		for (size_t i = 0; i < set->n; i++)
			audit_rule_free_data(ours[i]);
	free(ours);
	krules_free(&k);
	audit_close(fd);
	if (rc) {
		vigil_audit_status_clear(st);
		memset(st, 0, sizeof(*st));
	}
	return rc;
}
