/* dpkg_status.c - /var/lib/dpkg/status: RFC 822-like stanzas, one per
 * package; the fields vigil needs (Package, Status, Version, Architecture,
 * Multi-Arch, Conffiles) are kept, the others are read and skipped. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpkg_priv.h"

enum field { F_OTHER, F_PACKAGE, F_STATUS, F_VERSION, F_ARCH, F_MULTIARCH, F_CONFFILES };

struct stanza {
	struct vigil_dpkg_pkg p;
	int have_ma;
	enum field cur;     /* the field continuation lines belong to */
	unsigned seen;      /* fields met, to refuse duplicates */
	int open;           /* a stanza has begun */
};

static char *dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
		(*n)--;
}

/* " /etc/x.conf 0123...ef [obsolete] [remove-on-upgrade]": flags are the
 * trailing known words, the hash the word before them, the path the rest
 * (it may hold spaces), as dpkg reads it. */
static int conffile(struct stanza *s, const struct dpkg_lines *l, const char *v, size_t n,
		    struct vigil_err *err)
{
	struct vigil_dpkg_conffile c = { 0 };
	const char *sp;
	void *t;

	trim(&v, &n);
	for (;;) {
		sp = n ? memrchr(v, ' ', n) : NULL;
		if (sp && (size_t)(v + n - sp - 1) == 8 && !memcmp(sp + 1, "obsolete", 8))
			c.flags |= VIGIL_DPKG_CONF_OBSOLETE;
		else if (sp && (size_t)(v + n - sp - 1) == 17 && !memcmp(sp + 1, "remove-on-upgrade", 17))
			c.flags |= VIGIL_DPKG_CONF_REMOVE_ON_UPGRADE;
		else
			break;
		n = (size_t)(sp - v);
		trim(&v, &n);
	}
	if (!sp || v[0] != '/')
		return dpkg_bad(err, l, "conffile entry is not '/path md5'");
	if (dpkg_md5_parse(sp + 1, (size_t)(v + n - sp - 1), c.md5)) {
		if ((size_t)(v + n - sp - 1) != 11 || memcmp(sp + 1, "newconffile", 11))
			return dpkg_bad(err, l, "conffile hash is not 32 hex digits");
		c.flags |= VIGIL_DPKG_CONF_NO_MD5;
	}
	n = (size_t)(sp - v);
	trim(&v, &n);
	c.path = dupn(v, n);
	t = c.path ? realloc(s->p.conf, (s->p.n_conf + 1) * sizeof(c)) : NULL;
	if (!t) {
		free(c.path);
		return -ENOMEM;
	}
	s->p.conf = t;
	s->p.conf[s->p.n_conf++] = c;
	return 0;
}

static enum field field_of(const char *name, size_t n)
{
	static const struct {
		const char *name;
		enum field f;
	} known[] = { { "Package", F_PACKAGE }, { "Status", F_STATUS }, { "Version", F_VERSION },
		      { "Architecture", F_ARCH }, { "Multi-Arch", F_MULTIARCH }, { "Conffiles", F_CONFFILES } };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i].name) == n && !strncasecmp(known[i].name, name, n))
			return known[i].f;
	return F_OTHER;
}

static int field(struct stanza *s, const struct dpkg_lines *l, const char *line, size_t n,
		 struct vigil_err *err)
{
	const char *colon = memchr(line, ':', n), *v;
	size_t vn;
	char **slot = NULL;

	if (!colon || colon == line)
		return dpkg_bad(err, l, "expected 'Field: value'");
	for (const char *c = line; c < colon; c++)
		if (*c == ' ' || *c == '\t')
			return dpkg_bad(err, l, "space in field name");
	s->cur = field_of(line, (size_t)(colon - line));
	s->open = 1;
	if (s->cur != F_OTHER) {
		if (s->seen & (1u << s->cur))
			return dpkg_bad(err, l, "duplicate field '%.*s'", (int)(colon - line), line);
		s->seen |= 1u << s->cur;
	}
	v = colon + 1;
	vn = n - (size_t)(v - line);
	trim(&v, &vn);
	switch (s->cur) {
	case F_PACKAGE:
		if (!vn || memchr(v, ' ', vn) || memchr(v, '/', vn))
			return dpkg_bad(err, l, "bad package name");
		slot = &s->p.name;
		break;
	case F_STATUS:
		slot = &s->p.status;
		break;
	case F_VERSION:
		slot = &s->p.version;
		break;
	case F_ARCH:
		if (memchr(v, ' ', vn) || memchr(v, '/', vn))
			return dpkg_bad(err, l, "bad architecture");
		slot = &s->p.arch;
		break;
	case F_MULTIARCH:
		s->p.multiarch_same = vn == 4 && !memcmp(v, "same", 4);
		return 0;
	case F_CONFFILES:
		return vn ? conffile(s, l, v, vn, err) : 0;
	default:
		return 0;
	}
	if (!vn)
		return dpkg_bad(err, l, "empty field '%.*s'", (int)(colon - line), line);
	*slot = dupn(v, vn);
	return *slot ? 0 : -ENOMEM;
}

static int installed(const char *status)
{
	const char *sp = status ? strrchr(status, ' ') : NULL;

	return sp && (!strcmp(sp + 1, "installed") || !strcmp(sp + 1, "half-configured"));
}

/* Ends a stanza: checks it and moves it into db. */
static int finish(struct vigil_dpkg *db, struct stanza *s, const struct dpkg_lines *l, struct vigil_err *err)
{
	struct vigil_dpkg_pkg *p = &s->p;
	int rc = 0;

	if (!s->open)
		return 0;
	if (!p->name) {
		rc = vigil_err_set(err, -EBADMSG, "%s:%u: stanza without a Package field", l->file, p->line);
		goto fail;
	}
	p->installed = p->version && installed(p->status);
	if (p->multiarch_same && p->arch)
		p->id = malloc(strlen(p->name) + strlen(p->arch) + 2);
	else
		p->id = strdup(p->name);
	if (!p->id) {
		rc = -ENOMEM;
		goto fail;
	}
	if (p->multiarch_same && p->arch)
		sprintf(p->id, "%s:%s", p->name, p->arch);
	if (db->n_pkgs == db->cap_pkgs) {
		size_t cap = db->cap_pkgs ? db->cap_pkgs * 2 : 512;
		void *t = realloc(db->pkgs, cap * sizeof(*db->pkgs));

		if (!t) {
			rc = -ENOMEM;
			goto fail;
		}
		db->pkgs = t;
		db->cap_pkgs = cap;
	}
	/* debsums checks the conffiles of installed packages, remove-on-upgrade excepted */
	for (size_t i = 0; p->installed && i < p->n_conf; i++) {
		const struct vigil_dpkg_conffile *c = &p->conf[i];

		if (c->flags & (VIGIL_DPKG_CONF_NO_MD5 | VIGIL_DPKG_CONF_REMOVE_ON_UPGRADE))
			continue;
		rc = dpkg_add_sum(db, (uint32_t)db->n_pkgs, c->path, strlen(c->path), c->md5, 1, c->flags);
		if (rc)
			goto fail;
	}
	db->pkgs[db->n_pkgs++] = *p;
	memset(s, 0, sizeof(*s));
	return 0;
fail:
	dpkg_pkg_clear(p);
	memset(s, 0, sizeof(*s));
	return rc;
}

int vigil_dpkg_load_status(struct vigil_dpkg *db, const char *buf, size_t len, const char *file,
			   struct vigil_err *err)
{
	struct dpkg_lines l = { .buf = buf, .len = len, .file = file };
	struct stanza s;
	const char *line;
	size_t n;
	int rc;

	memset(&s, 0, sizeof(s));
	while ((rc = dpkg_lines_next(&l, &line, &n, err)) > 0) {
		rc = 0;
		if (n && line[n - 1] == '\r')
			n--;
		if (!n) {
			if ((rc = finish(db, &s, &l, err)))
				return rc;
			continue;
		}
		if (!s.open)
			s.p.line = l.lineno;
		if (line[0] == ' ' || line[0] == '\t') {
			if (!s.open)
				rc = dpkg_bad(err, &l, "continuation line outside a field");
			else if (s.cur == F_CONFFILES)
				rc = conffile(&s, &l, line, n, err);
			else if (s.cur != F_OTHER)
				rc = dpkg_bad(err, &l, "continuation of a one-line field");
		} else if (line[0] == '#') {
			continue;
		} else {
			rc = field(&s, &l, line, n, err);
		}
		if (rc) {
			dpkg_pkg_clear(&s.p);
			return rc;
		}
	}
	if (rc < 0) {
		dpkg_pkg_clear(&s.p);
		return rc;
	}
	return finish(db, &s, &l, err);
}
