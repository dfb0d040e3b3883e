/* cis_run.c - the runner: reads what the checks need once (the daemon's
 * effective configuration, Docker's state through the collector, the audit
 * rules, etc/group), runs every row of the table, and keeps the results. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "vigil/clock.h"
#include "vigil/rootfs.h"

#include "cis_priv.h"

static const char *const verdict_names[VIGIL_CIS_N] = { "pass", "fail", "info", "not-applicable", "error" };

const char *vigil_cis_verdict_name(int verdict)
{
	return verdict >= 0 && verdict < VIGIL_CIS_N ? verdict_names[verdict] : "?";
}

int cis_strv_push(struct vigil_strv *sv, const char *s)
{
	char **nv = realloc(sv->v, (sv->n + 2) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	sv->v = nv;
	if (!(nv[sv->n] = strdup(s)))
		return -ENOMEM;
	nv[++sv->n] = NULL;
	return 0;
}

void cis_strv_clear(struct vigil_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void cis_add(struct cis_ctx *c, const struct vigil_cis_check *chk, int verdict, const char *file,
	     const char *key, const char *value, const struct vigil_docker_container *ct,
	     const char *image, const char *fmt, ...)
{
	struct vigil_cis_report *r = c->rep;
	struct vigil_cis_result *x;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 128;
		struct vigil_cis_result *nv = realloc(r->v, cap * sizeof(*nv));

		if (!nv)
			return; /* the count stays right: the result is lost, said by the exit code below */
		r->v = nv;
		r->cap = cap;
	}
	x = &r->v[r->n++];
	memset(x, 0, sizeof(*x));
	x->check = chk;
	x->verdict = verdict;
	x->file = dup_or_null(file && file[0] ? file : NULL);
	x->key = dup_or_null(key);
	x->value = dup_or_null(value);
	if (ct) {
		x->container_id = strdup(ct->id);
		x->container_name = dup_or_null(ct->name);
	} else if (image) {
		x->container_id = strdup(image);
	}
	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		if (vasprintf(&x->detail, fmt, ap) < 0)
			x->detail = NULL;
		va_end(ap);
	}
	r->counts[verdict]++;
}

static void ctx_free(struct cis_ctx *c)
{
	cis_containers_free(c);
	cis_daemon_free(c);
	vigil_docker_free(c->d);
	free(c->docker_error);
	cis_strv_clear(&c->audit);
	free(c->audit_source);
	free(c->audit_error);
	free(c->group_text);
	if (c->rootfd >= 0)
		close(c->rootfd);
}

static void host_name(struct vigil_cis_report *r, const char *root, int host)
{
	char buf[256] = "";

	if (host)
		gethostname(buf, sizeof(buf) - 1);
	r->host = strdup(host ? buf : root);
}

int vigil_cis_run(const struct vigil_cis_opts *o, struct vigil_cis_report **out, struct vigil_err *err)
{
	struct cis_ctx c = { .rootfd = -1 };
	struct vigil_err derr = { "" };
	const struct vigil_cis_check *t;
	struct stat st;
	size_t n;
	int rc;

	*out = NULL;
	c.root = o->root && o->root[0] ? o->root : "/";
	c.host = vigil_rootfs_is_host(c.root);
	c.rep = calloc(1, sizeof(*c.rep));
	if (!c.rep)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	c.rep->time_ns = vigil_clock_real_ns();
	host_name(c.rep, c.root, c.host);
	c.rootfd = vigil_rootfs_open_root(c.root, NULL);
	if (c.rootfd < 0) {
		rc = vigil_err_set(err, c.rootfd, "root '%s': %s", c.root, strerror(-c.rootfd));
		goto out;
	}
	rc = cis_daemon_load(&c, o->dockerd_pid, err);
	if (rc)
		goto out;
	c.rep->dockerd = dup_or_null(c.args.source);
	rc = vigil_docker_load(c.root, c.data_root, &c.d, &derr);
	if (rc == -ENOENT && vigil_rootfs_lstat(c.rootfd, c.data_root, &st) == -ENOENT)
		c.no_data_root = 1; /* dockerd never ran: no image, no container */
	else if (rc)
		c.docker_error = strdup(derr.msg);
	if (rc)
		c.d = NULL;
	rc = 0;
	cis_audit_load(&c);
	vigil_rootfs_read(c.rootfd, "/etc/group", 4u << 20, &c.group_text, NULL);
	cis_containers_load(&c);
	t = vigil_cis_table(&n);
	for (size_t i = 0; i < n; i++)
		t[i].eval(&c, &t[i]);
	*out = c.rep;
	c.rep = NULL;
out:
	ctx_free(&c);
	vigil_cis_report_free(c.rep);
	return rc;
}

void vigil_cis_report_free(struct vigil_cis_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		struct vigil_cis_result *x = &r->v[i];

		free(x->file);
		free(x->key);
		free(x->value);
		free(x->container_id);
		free(x->container_name);
		free(x->detail);
	}
	free(r->v);
	free(r->host);
	free(r->dockerd);
	free(r);
}

int vigil_cis_check_verdict(const struct vigil_cis_report *r, const char *id)
{
	/* the worst result decides: error > fail > pass > info > n/a */
	static const int rank[VIGIL_CIS_N] = { 2, 3, 1, 0, 4 };
	int best = -1;

	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].check->id, id) && (best < 0 || rank[r->v[i].verdict] > rank[best]))
			best = r->v[i].verdict;
	return best;
}
