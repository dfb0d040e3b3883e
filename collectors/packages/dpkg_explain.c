/* dpkg_explain.c - the package explainer `check` and the daemon call for
 * each difference (see dpkg.h and compare.h's struct vigil_explainer).
 * Cost: nothing until the first difference; then the lazy database (status,
 * diversions, the owner index: about 2 MB here) and every dpkg.log event,
 * and the .list and .md5sums of the packages that own a differing path; a
 * lookup per differing path, a scan of the log events per path whose content
 * matches its package, and the MD5 of each differing packaged file, read
 * again for it (with the digests the walk took, to be sure it is the same
 * content: the walk itself takes no MD5). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <pthread.h>
#include <sys/stat.h>

#include "vigil/compare.h"
#include "vigil/config.h"
#include "vigil/crypto.h"
#include "vigil/event.h"
#include "vigil/rootfs.h"

#include "dpkg_priv.h"

struct logged {
	int64_t time; /* unix seconds */
	int action;
	char *name, *arch; /* "libudev1", "amd64" (NULL when not logged) */
	char *old_ver, *new_ver;
};

struct vigil_dpkg_explain {
	struct vigil_dpkg *db;
	struct logged *ev;
	size_t n_ev;
	int64_t tz_off; /* the log's wall clock minus UTC, seconds (live host only) */
	int auto_accept;
	struct vigil_explainer hook;
	/* reloaded when dpkg changed its records (the daemon lives long) */
	char *root;
	int rootfd;            /* open while a database is held, else -1 */
	int tried;             /* a load was tried at these stamps */
	int64_t stamp[2];      /* status and dpkg.log: mtime ns xor size */
	pthread_mutex_t mu;    /* db and ev, between the daemon's workers */
};

static void drop_records(struct vigil_dpkg_explain *x)
{
	vigil_dpkg_free(x->db);
	x->db = NULL;
	if (x->rootfd >= 0)
		close(x->rootfd);
	x->rootfd = -1;
	for (size_t i = 0; i < x->n_ev; i++) {
		free(x->ev[i].name);
		free(x->ev[i].arch);
		free(x->ev[i].old_ver);
		free(x->ev[i].new_ver);
	}
	free(x->ev);
	x->ev = NULL;
	x->n_ev = 0;
}

static int on_log(void *arg, const struct vigil_dpkg_logev *e)
{
	struct vigil_dpkg_explain *x = arg;
	struct logged *l, *t = realloc(x->ev, (x->n_ev + 1) * sizeof(*t));
	const char *colon = strchr(e->pkg, ':');

	if (!t)
		return -ENOMEM;
	x->ev = t;
	l = &t[x->n_ev];
	memset(l, 0, sizeof(*l));
	l->time = e->time - x->tz_off;
	l->action = e->action;
	l->name = colon ? strndup(e->pkg, (size_t)(colon - e->pkg)) : strdup(e->pkg);
	l->arch = colon ? strdup(colon + 1) : NULL;
	l->old_ver = e->old_ver ? strdup(e->old_ver) : NULL;
	l->new_ver = e->new_ver ? strdup(e->new_ver) : NULL;
	x->n_ev++;
	if (!l->name || (colon && !l->arch) || (e->old_ver && !l->old_ver) || (e->new_ver && !l->new_ver))
		return -ENOMEM;
	return 0;
}

void vigil_dpkg_explain_free(struct vigil_dpkg_explain *x)
{
	if (!x)
		return;
	drop_records(x);
	pthread_mutex_destroy(&x->mu);
	free(x->root);
	free(x);
}

/* What dpkg.log says about package p at or after since: the first event's
 * old version, the last one's new version and time, or 0 when nothing. */
static int changed_since(const struct vigil_dpkg_explain *x, const struct vigil_dpkg_pkg *p, int64_t since,
			 const struct logged **first, const struct logged **last)
{
	*first = *last = NULL;
	for (size_t i = 0; i < x->n_ev; i++) {
		const struct logged *l = &x->ev[i];

		if (l->time < since || strcmp(l->name, p->name) || (l->arch && p->arch && strcmp(l->arch, p->arch) &&
								     strcmp(l->arch, "all") && strcmp(p->arch, "all")))
			continue;
		if (l->action != VIGIL_DPKG_LOG_INSTALL && l->action != VIGIL_DPKG_LOG_UPGRADE)
			continue;
		if (!*first)
			*first = l;
		*last = l;
	}
	return *last != NULL;
}

int dpkg_system_dir(const char *path)
{
	static const char *const dirs[] = { "/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/lib32/", "/usr/lib64/",
					    "/usr/libx32/", "/usr/libexec/", "/bin/", "/sbin/", "/lib/",
					    "/lib32/", "/lib64/", "/libx32/" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!strncmp(path, dirs[i], strlen(dirs[i])))
			return 1;
	return 0;
}

static void set_json(struct vigil_decision *d, json_t *j)
{
	/* into the decision's buffer; a larger one (a huge path) is left out */
	size_t n = j ? json_dumpb(j, d->json_buf, sizeof(d->json_buf) - 1, JSON_COMPACT) : 0;

	if (n && n < sizeof(d->json_buf)) {
		d->json_buf[n] = '\0';
		d->explain_json = d->json_buf;
	}
	json_decref(j);
}

/* actual: the file's MD5 now (NULL when not read) */
static json_t *pkg_json(const struct vigil_dpkg_pkg *p, const struct vigil_dpkg_sum *s, const unsigned char *actual)
{
	char md5[33], now[33];

	vigil_hex(s->md5, 16, md5);
	if (actual)
		vigil_hex(actual, 16, now);
	return json_pack("{s:{s:s,s:s?,s:s?},s:s,s:s,s:s?,s:b}", "package", "name", p->name, "version", p->version,
			 "architecture", p->arch, "dpkg_path", s->path, "expected_md5", md5, "md5",
			 actual ? now : NULL, "conffile", s->conffile);
}

static void tampered(struct vigil_dpkg_explain *x, struct vigil_decision *d, const struct vigil_dpkg_pkg *p,
		     const struct vigil_dpkg_sum *s, const char *why, const unsigned char *actual)
{
	d->action = s->conffile && strcmp(why, "removed") ? VIGIL_ACTION_CONFFILE_MODIFIED : VIGIL_ACTION_PKG_TAMPERED;
	d->severity = s->conffile && strcmp(why, "removed") ? VIGIL_SEV_MEDIUM : VIGIL_SEV_CRITICAL;
	snprintf(d->msg_buf, sizeof(d->msg_buf), "%s of %s %s %s", s->conffile ? "conffile" : "packaged file", p->name,
		 p->version ? p->version : "?", why);
	d->message = d->msg_buf;
	set_json(d, pkg_json(p, s, actual));
}

static void upgraded(struct vigil_dpkg_explain *x, struct vigil_decision *d, const struct vigil_dpkg_pkg *p,
		     const struct vigil_dpkg_sum *s, const struct logged *first, const struct logged *last)
{
	json_t *j = pkg_json(p, s, s->md5); /* the content is the package's */
	char when[32];
	struct tm tm;
	time_t t = (time_t)last->time;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	d->action = VIGIL_ACTION_PKG_UPGRADE;
	d->severity = VIGIL_SEV_LOW;
	d->accept = x->auto_accept == VIGIL_PKG_ACCEPT_UPGRADES;
	snprintf(d->msg_buf, sizeof(d->msg_buf), "%s %s %s -> %s (dpkg.log %s)", p->name,
		 first->action == VIGIL_DPKG_LOG_INSTALL ? "installed" : "upgraded",
		 first->old_ver ? first->old_ver : "none", last->new_ver ? last->new_ver : "?", when);
	d->message = d->msg_buf;
	if (j) {
		json_t *pk = json_object_get(j, "package");

		json_object_set_new(pk, "old_version", first->old_ver ? json_string(first->old_ver) : json_null());
		json_object_set_new(pk, "new_version", last->new_ver ? json_string(last->new_ver) : json_null());
		json_object_set_new(j, "dpkg_log", json_pack("{s:s,s:s}", "action",
							     last->action == VIGIL_DPKG_LOG_INSTALL ? "install" : "upgrade",
							     "time", when));
	}
	set_json(d, j);
}

/* The MD5 of a differing regular file: the walk's own when it took one,
 * else the file read again (O_NOFOLLOW, inside the root) with the digests
 * the walk took, which must be the same (its size, when the scope takes no
 * digest): 1 with md5 set; 0 when there is none to judge by (too large or
 * unreadable); -EAGAIN when the content is no longer what the walk saw. */
static int md5_of(const struct vigil_dpkg_explain *x, const char *path, const struct vigil_record *cur,
		  unsigned char md5[16])
{
	unsigned algos = cur->algos & ~VIGIL_ALGO_BIT(VIGIL_ALGO_MD5);
	struct vigil_digest *dg;
	unsigned char buf[65536], got[VIGIL_DIGEST_MAX];
	struct stat st;
	ssize_t r = 0;
	int fd, rc = 1;

	if (cur->algos & VIGIL_ALGO_BIT(VIGIL_ALGO_MD5)) {
		memcpy(md5, cur->digest[VIGIL_ALGO_MD5], 16);
		return 1;
	}
	if (cur->status & (VIGIL_REC_TOO_LARGE | VIGIL_REC_UNREADABLE))
		return 0;
	fd = vigil_rootfs_reopen_regular(vigil_rootfs_open(x->rootfd, path, O_PATH | O_NOFOLLOW), &st);
	if (fd < 0)
		return -EAGAIN; /* gone or no longer a regular file since the walk */
	if ((uint64_t)st.st_size != cur->size)
		rc = -EAGAIN;
	dg = vigil_digest_new(algos | VIGIL_ALGO_BIT(VIGIL_ALGO_MD5));
	while (dg && (r = read(fd, buf, sizeof(buf))) > 0)
		vigil_digest_write(dg, buf, (size_t)r);
	close(fd);
	if (!dg)
		return -ENOMEM;
	for (int a = 0; a < VIGIL_ALGO_COUNT && rc == 1; a++) {
		if (!(algos & VIGIL_ALGO_BIT(a)))
			continue;
		vigil_digest_read(dg, a, got);
		if (r < 0 || memcmp(got, cur->digest[a], vigil_algo_len(a)))
			rc = -EAGAIN;
	}
	vigil_digest_read(dg, VIGIL_ALGO_MD5, md5);
	vigil_digest_free(dg);
	return rc;
}

/* The packages that dpkg.log shows installed or upgraded at or after
 * since, read in (a lazy database): the directory rule looks at their
 * paths. */
static int need_changed(struct vigil_dpkg_explain *x, int64_t since)
{
	char id[512];
	int rc;

	for (size_t i = 0; i < x->n_ev; i++) {
		const struct logged *l = &x->ev[i];
		int64_t k;

		if (l->time < since || (l->action != VIGIL_DPKG_LOG_INSTALL && l->action != VIGIL_DPKG_LOG_UPGRADE))
			continue;
		snprintf(id, sizeof(id), "%s%s%s", l->name, l->arch ? ":" : "", l->arch ? l->arch : "");
		if ((k = vigil_dpkg_find_pkg(x->db, id)) < 0 && l->arch)
			k = vigil_dpkg_find_pkg(x->db, l->name);
		if (k >= 0 && (rc = vigil_dpkg_need_pkg(x->db, x->rootfd, (uint32_t)k)))
			return rc;
	}
	return 0;
}

/* A packaged directory whose entries changed (mtime, ctime, size, link
 * count only) when dpkg.log shows a package with a path right in it
 * installed or upgraded since the baseline: that package did it.  Cost: a
 * pass over the path index per such directory. */
static int dir_by_dpkg(struct vigil_dpkg_explain *x, const char *dir, int64_t since, struct vigil_decision *d)
{
	const unsigned benign = VIGIL_ATTR_MTIME | VIGIL_ATTR_CTIME | VIGIL_ATTR_SIZE | VIGIL_ATTR_NLINK;
	char *canon = vigil_dpkg_canonical(x->db, dir);
	size_t n = canon ? strlen(canon) : 0;
	const struct logged *first, *last;

	if (!canon || (d->changed & ~benign) || !strcmp(canon, "/") || need_changed(x, since))
		goto out;
	for (size_t i = 0; i < x->db->n_ents; i++) {
		const struct dpkg_entry *e = &x->db->ents[i];
		const struct vigil_dpkg_pkg *p;

		if (!e->n_owners || strncmp(e->key, canon, n) || e->key[n] != '/' || strchr(e->key + n + 1, '/'))
			continue;
		p = vigil_dpkg_pkg(x->db, e->owner);
		if (!p->installed || !changed_since(x, p, since, &first, &last))
			continue;
		/* never auto-accepted: accepting a directory takes its whole
		 * subtree as it is now, unexplained entries included */
		d->action = VIGIL_ACTION_PKG_UPGRADE;
		d->severity = VIGIL_SEV_LOW;
		snprintf(d->msg_buf, sizeof(d->msg_buf), "directory entries changed by dpkg: %s %s -> %s", p->name,
			 first->old_ver ? first->old_ver : "none", last->new_ver ? last->new_ver : "?");
		d->message = d->msg_buf;
		set_json(d, json_pack("{s:{s:s,s:s?,s:s?,s:s?}}", "package", "name", p->name, "version", p->version,
					 "old_version", first->old_ver, "new_version", last->new_ver));
		break;
	}
out:
	free(canon);
	return 0;
}

/* Nobody's file: a new one where only packages write is suspect. */
static void unowned(const struct vigil_dpkg_explain *x, const char *p, int listed, const struct vigil_record *cur,
		    struct vigil_decision *d)
{
	char *canon = vigil_dpkg_canonical(x->db, p);

	if (canon && !strcmp(d->action, VIGIL_ACTION_ADDED) && cur && cur->ftype != VIGIL_FT_DIR && !listed &&
	    dpkg_system_dir(canon)) {
		d->action = VIGIL_ACTION_UNPACKAGED;
		d->severity = VIGIL_SEV_HIGH;
		d->message = "a new file no package owns, where only packages write";
	}
	free(canon);
}

static int explain_locked(struct vigil_dpkg_explain *x, int64_t since, const char *path, size_t len,
			  const struct vigil_record *old, const struct vigil_record *cur, struct vigil_decision *d)
{
	const struct vigil_dpkg_sum *mine = NULL, *match = NULL;
	const struct logged *first, *last;
	struct vigil_dpkg_owner o;
	unsigned char md5[16];
	char *p;
	int known, have_md5 = 0;

	if (!x->db)
		return 0;
	if (strcmp(d->action, VIGIL_ACTION_ADDED) && strcmp(d->action, VIGIL_ACTION_CHANGED) &&
	    strcmp(d->action, VIGIL_ACTION_REMOVED))
		return 0;
	if (memchr(path, '\0', len) || !(p = strndup(path, len)))
		return memchr(path, '\0', len) ? 0 : -ENOMEM;
	/* a directory that was and is one (or appeared, or went): only the
	 * directory rule applies, and it needs no package read in (hundreds
	 * list /usr/bin) */
	if ((!cur || cur->ftype == VIGIL_FT_DIR) && (!old || old->ftype == VIGIL_FT_DIR)) {
		int rc = 0;

		if (old && cur && !strcmp(d->action, VIGIL_ACTION_CHANGED) && vigil_dpkg_listed(x->db, p))
			rc = dir_by_dpkg(x, p, since, d);
		free(p);
		return rc;
	}
	if (vigil_dpkg_need(x->db, x->rootfd, p)) {
		free(p);
		return -ENOMEM;
	}
	known = vigil_dpkg_lookup(x->db, p, &o);
	if (known && o.n_sums && cur && cur->ftype == VIGIL_FT_REG)
		have_md5 = md5_of(x, p, cur, md5);
	for (size_t i = 0; known && i < o.n_sums; i++) {
		const struct vigil_dpkg_sum *s = vigil_dpkg_sum(x->db, o.sums[i]);

		if (!vigil_dpkg_pkg(x->db, s->pkg)->installed)
			continue;
		if (!mine)
			mine = s;
		if (have_md5 == 1 && !memcmp(md5, s->md5, 16) && !match)
			match = s;
	}
	if (!mine) {
		unowned(x, p, known && o.n_owners, cur, d);
		free(p);
		return 0;
	}
	free(p);
	if (have_md5 == -ENOMEM)
		return -ENOMEM;
	if (!cur) {
		tampered(x, d, vigil_dpkg_pkg(x->db, mine->pkg), mine, "removed", NULL);
	} else if (cur->ftype != VIGIL_FT_REG) {
		tampered(x, d, vigil_dpkg_pkg(x->db, mine->pkg), mine, "is no longer a regular file", NULL);
	} else if (have_md5 == -EAGAIN) {
		d->message = "changed again while it was read for its MD5: not explained";
	} else if (have_md5 != 1) {
		return 0; /* too large or unreadable: no MD5 to judge by */
	} else if (!match) {
		tampered(x, d, vigil_dpkg_pkg(x->db, mine->pkg), mine,
			 mine->conffile ? "differs from the one the package ships" : "matches no MD5 its package ships", md5);
	} else if (changed_since(x, vigil_dpkg_pkg(x->db, match->pkg), since, &first, &last)) {
		upgraded(x, d, vigil_dpkg_pkg(x->db, match->pkg), match, first, last);
	} else {
		const struct vigil_dpkg_pkg *pk = vigil_dpkg_pkg(x->db, match->pkg);

		snprintf(d->msg_buf, sizeof(d->msg_buf), "content is dpkg's for %s %s, but dpkg.log shows no change of it "
			 "since the baseline", pk->name, pk->version ? pk->version : "?");
		d->message = d->msg_buf;
		set_json(d, pkg_json(pk, match, md5));
	}
	return 0;
}

static int64_t stamp_of(int rootfd, const char *path)
{
	struct stat st;

	if (vigil_rootfs_lstat(rootfd, path, &st))
		return 0;
	return ((int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec) ^ (int64_t)st.st_size;
}

/* The database and the logs read (again) from x->root. */
static int load(struct vigil_dpkg_explain *x, struct vigil_err *err)
{
	int rootfd, confined, rc;

	rootfd = vigil_rootfs_open_root(x->root, &confined);
	if (rootfd < 0)
		return vigil_err_set(err, rootfd, "cannot open root '%s'", x->root ? x->root : "/");
	/* dpkg.log is the machine's local time: the live host's zone is ours;
	 * an image's is not known and is taken as UTC */
	x->tz_off = 0;
	if (!confined) {
		time_t now = time(NULL);
		struct tm tm;

		if (localtime_r(&now, &tm))
			x->tz_off = tm.tm_gmtoff;
	}
	x->stamp[0] = stamp_of(rootfd, VIGIL_DPKG_STATUS);
	x->stamp[1] = stamp_of(rootfd, VIGIL_DPKG_LOG);
	x->rootfd = rootfd;
	x->tried = 1;
	rc = vigil_dpkg_open_lazy(rootfd, &x->db, err);
	if (!rc)
		rc = vigil_dpkg_log_read(rootfd, on_log, x, err);
	if (rc)
		drop_records(x);
	return rc;
}

/* dpkg changed its records since they were read (a long-lived daemon
 * outlives upgrades): read them again.  A failure leaves no database:
 * nothing is explained until a later read works. */
static void refresh(struct vigil_dpkg_explain *x)
{
	struct vigil_err err = { "" };
	int confined, rootfd = vigil_rootfs_open_root(x->root, &confined);
	int same, rc;

	if (rootfd < 0)
		return;
	same = x->tried && stamp_of(rootfd, VIGIL_DPKG_STATUS) == x->stamp[0] &&
	       stamp_of(rootfd, VIGIL_DPKG_LOG) == x->stamp[1];
	close(rootfd);
	if (same)
		return;
	drop_records(x);
	rc = load(x, &err);
	if (rc == -ENOENT) /* no dpkg database in this root: nothing to explain */
		vigil_log_debug("packages: %s", err.msg);
	else if (rc)
		vigil_log_warn("packages: %s; differences are not explained", err.msg);
}

static int explain(void *arg, int64_t since, const char *path, size_t len, const struct vigil_record *old,
		   const struct vigil_record *cur, struct vigil_decision *d)
{
	struct vigil_dpkg_explain *x = arg;
	int rc;

	pthread_mutex_lock(&x->mu);
	refresh(x);
	rc = explain_locked(x, since, path, len, old, cur, d);
	pthread_mutex_unlock(&x->mu);
	return rc;
}

/* The object, nothing read yet. */
static struct vigil_dpkg_explain *explain_alloc(const char *root, int auto_accept)
{
	struct vigil_dpkg_explain *x = calloc(1, sizeof(*x));

	if (!x || (root && !(x->root = strdup(root)))) {
		free(x);
		return NULL;
	}
	pthread_mutex_init(&x->mu, NULL);
	x->rootfd = -1;
	x->auto_accept = auto_accept;
	x->hook.algos = 0; /* MD5 of differing packaged files only, read here */
	x->hook.explain = explain;
	x->hook.arg = x;
	return x;
}

int vigil_dpkg_explain_new(const char *root, int auto_accept, struct vigil_dpkg_explain **out,
			   struct vigil_err *err)
{
	struct vigil_dpkg_explain *x = explain_alloc(root, auto_accept);
	int rc;

	*out = NULL;
	if (!x)
		return vigil_err_set(err, -ENOMEM, "packages: out of memory");
	rc = load(x, err);
	if (rc) {
		vigil_dpkg_explain_free(x);
		return rc;
	}
	*out = x;
	return 0;
}

struct vigil_dpkg_explain *vigil_dpkg_explain_lazy(const char *root, int auto_accept)
{
	return explain_alloc(root, auto_accept);
}

const struct vigil_explainer *vigil_dpkg_explainer(const struct vigil_dpkg_explain *x)
{
	return x ? &x->hook : NULL;
}
