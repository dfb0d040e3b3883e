/* audit_rules.c - vigil's audit rules: which (the policy), and as rules.d
 * text.  Loading, unloading and checking them in the kernel through
 * libaudit is audit_kernel.c.
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <libaudit.h>

#include "vigil/audit.h"
#include "vigil/docker.h"
#include "vigil/rootfs.h"

#include "audit_rules_priv.h"

/* ----------------------------------------------------------- small helpers */

int audit_strv_push(char ***v, size_t *n, const char *fmt, ...)
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

void audit_strv_free(char **v, size_t n)
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
		return audit_strv_push(&b->set->skipped, &b->set->n_skipped, "%s: %s", path, bad) ?
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
		return audit_strv_push(&b->set->skipped, &b->set->n_skipped, "%s: %s", sock, bad);
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
	audit_strv_free(set->skipped, set->n_skipped);
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

