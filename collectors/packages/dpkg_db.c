/* dpkg_db.c - the package database in memory: packages, sums, diversions and
 * one open-addressing index from canonical path to what names it.
 * Cost: one FNV-1a hash and a probe per lookup; the table doubles at 1/2 load. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpkg_priv.h"

static const char *const merged_dirs[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };

struct vigil_dpkg *vigil_dpkg_new(void)
{
	return calloc(1, sizeof(struct vigil_dpkg));
}

void dpkg_pkg_clear(struct vigil_dpkg_pkg *p)
{
	free(p->name);
	free(p->arch);
	free(p->version);
	free(p->status);
	free(p->id);
	for (size_t i = 0; i < p->n_conf; i++)
		free(p->conf[i].path);
	free(p->conf);
	memset(p, 0, sizeof(*p));
}

void vigil_dpkg_free(struct vigil_dpkg *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->n_pkgs; i++)
		dpkg_pkg_clear(&db->pkgs[i]);
	free(db->pkgs);
	for (size_t i = 0; i < db->n_sums; i++)
		free((char *)db->sums[i].path);
	free(db->sums);
	for (size_t i = 0; i < db->n_divs; i++) {
		free(db->divs[i].from);
		free(db->divs[i].to);
		free(db->divs[i].by);
	}
	free(db->divs);
	for (size_t i = 0; i < db->n_ents; i++) {
		free(db->ents[i].key);
		free(db->ents[i].sums);
	}
	free(db->ents);
	free(db->tab);
	free(db->warn);
	free(db->own);
	free(db->loaded);
	free(db);
}

void vigil_dpkg_set_usrmerge(struct vigil_dpkg *db, unsigned mask)
{
	db->usrmerge = mask;
}

char *vigil_dpkg_canonical(const struct vigil_dpkg *db, const char *path)
{
	for (size_t i = 0; i < sizeof(merged_dirs) / sizeof(merged_dirs[0]); i++) {
		size_t n = strlen(merged_dirs[i]);
		char *out;

		if (!(db->usrmerge & (1u << i)) || path[0] != '/' || strncmp(path + 1, merged_dirs[i], n) ||
		    (path[n + 1] != '/' && path[n + 1] != '\0'))
			continue;
		out = malloc(strlen(path) + 5);
		if (out) {
			memcpy(out, "/usr", 4);
			strcpy(out + 4, path);
		}
		return out;
	}
	return strdup(path);
}

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

uint64_t dpkg_path_hash(const struct vigil_dpkg *db, const char *path, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < sizeof(merged_dirs) / sizeof(merged_dirs[0]); i++) {
		size_t k = strlen(merged_dirs[i]);

		if ((db->usrmerge & (1u << i)) && n > k && path[0] == '/' && !strncmp(path + 1, merged_dirs[i], k) &&
		    (n == k + 1 || path[k + 1] == '/')) {
			for (const char *u = "/usr"; *u; u++)
				h = (h ^ (unsigned char)*u) * 1099511628211ull;
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)path[i]) * 1099511628211ull;
	return h;
}

/* The slot of key: its entry's, or the free one where it would go. */
static uint32_t *probe(const struct vigil_dpkg *db, uint32_t *tab, size_t cap, const char *key)
{
	size_t i = (size_t)fnv(key) & (cap - 1);

	while (tab[i] && strcmp(db->ents[tab[i] - 1].key, key))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static int grow(struct vigil_dpkg *db)
{
	size_t cap = db->tab_cap ? db->tab_cap * 2 : 1024;
	uint32_t *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < db->n_ents; i++)
		*probe(db, t, cap, db->ents[i].key) = (uint32_t)i + 1;
	free(db->tab);
	db->tab = t;
	db->tab_cap = cap;
	return 0;
}

/* The entry of path (dpkg's or canonical form); created when asked. */
struct dpkg_entry *dpkg_entry_get(struct vigil_dpkg *db, const char *path, int create)
{
	char *key = vigil_dpkg_canonical(db, path);
	struct dpkg_entry *e;
	uint32_t *slot;

	if (!key)
		return NULL;
	if (db->tab_cap && *(slot = probe(db, db->tab, db->tab_cap, key))) {
		free(key);
		return &db->ents[*slot - 1];
	}
	if (!create || db->n_ents >= UINT32_MAX - 1) {
		free(key);
		return NULL;
	}
	if (db->n_ents == db->cap_ents) {
		size_t cap = db->cap_ents ? db->cap_ents * 2 : 4096;
		void *t = realloc(db->ents, cap * sizeof(*db->ents));

		if (!t) {
			free(key);
			return NULL;
		}
		db->ents = t;
		db->cap_ents = cap;
	}
	if ((db->n_ents + 1) * 2 > db->tab_cap && grow(db)) {
		free(key);
		return NULL;
	}
	e = &db->ents[db->n_ents];
	memset(e, 0, sizeof(*e));
	e->key = key;
	e->div = -1;
	*probe(db, db->tab, db->tab_cap, key) = (uint32_t)++db->n_ents;
	return e;
}

int dpkg_add_sum(struct vigil_dpkg *db, uint32_t pkg, const char *path, size_t n, const unsigned char md5[16],
		 int conffile, unsigned conf_flags)
{
	struct vigil_dpkg_sum *s;
	struct dpkg_entry *e;
	char *p;

	if (db->n_sums == db->cap_sums) {
		size_t cap = db->cap_sums ? db->cap_sums * 2 : 4096;
		void *t = realloc(db->sums, cap * sizeof(*db->sums));

		if (!t)
			return -ENOMEM;
		db->sums = t;
		db->cap_sums = cap;
	}
	p = malloc(n + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, path, n);
	p[n] = '\0';
	e = dpkg_entry_get(db, p, 1);
	if (e && e->n_sums == e->cap) {
		size_t *t = realloc(e->sums, (e->cap * 2 + 1) * sizeof(*t));

		if (t) {
			e->sums = t;
			e->cap = e->cap * 2 + 1;
		}
	}
	if (!e || e->n_sums == e->cap) {
		free(p);
		return -ENOMEM;
	}
	e->sums[e->n_sums++] = db->n_sums;
	s = &db->sums[db->n_sums++];
	memset(s, 0, sizeof(*s));
	s->path = p;
	memcpy(s->md5, md5, 16);
	s->pkg = pkg;
	s->conffile = conffile;
	s->conf_flags = conf_flags;
	return 0;
}

int dpkg_warn(struct vigil_dpkg *db, const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	int n;
	char *w;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	w = realloc(db->warn, db->warn_len + (size_t)n + 1);
	if (!w)
		return -ENOMEM;
	memcpy(w + db->warn_len, line, (size_t)n);
	db->warn_len += (size_t)n;
	w[db->warn_len] = '\0';
	db->warn = w;
	return 0;
}

const char *vigil_dpkg_warnings(const struct vigil_dpkg *db)
{
	return db->warn;
}

size_t vigil_dpkg_n_pkgs(const struct vigil_dpkg *db)
{
	return db->n_pkgs;
}

const struct vigil_dpkg_pkg *vigil_dpkg_pkg(const struct vigil_dpkg *db, uint32_t i)
{
	return i < db->n_pkgs ? &db->pkgs[i] : NULL;
}

int64_t vigil_dpkg_find_pkg(const struct vigil_dpkg *db, const char *name)
{
	int64_t by_name = -1;

	for (size_t i = 0; i < db->n_pkgs; i++) {
		const struct vigil_dpkg_pkg *p = &db->pkgs[i];
		size_t n = strlen(p->name);

		if (!strcmp(p->id, name))
			return (int64_t)i;
		if (p->arch && !strncmp(name, p->name, n) && name[n] == ':' && !strcmp(name + n + 1, p->arch))
			return (int64_t)i;
		/* prefer the installed one of several architectures */
		if (!strcmp(p->name, name) && (by_name < 0 || (p->installed && !db->pkgs[by_name].installed)))
			by_name = (int64_t)i;
	}
	return by_name;
}

size_t vigil_dpkg_n_sums(const struct vigil_dpkg *db)
{
	return db->n_sums;
}

const struct vigil_dpkg_sum *vigil_dpkg_sum(const struct vigil_dpkg *db, size_t i)
{
	return i < db->n_sums ? &db->sums[i] : NULL;
}

int vigil_dpkg_lookup(const struct vigil_dpkg *db, const char *path, struct vigil_dpkg_owner *o)
{
	const struct dpkg_entry *e = dpkg_entry_get((struct vigil_dpkg *)db, path, 0);

	memset(o, 0, sizeof(*o));
	if (!e)
		return 0;
	o->n_owners = e->n_owners;
	o->owner = e->owner;
	o->sums = e->sums;
	o->n_sums = e->n_sums;
	if (e->div >= 0) {
		o->diverted_to = db->divs[e->div].to;
		o->diverted_by = db->divs[e->div].by;
	}
	return 1;
}

const char *vigil_dpkg_real_path(const struct vigil_dpkg *db, const char *path, uint32_t pkg)
{
	struct vigil_dpkg_owner o;
	const struct vigil_dpkg_pkg *p = vigil_dpkg_pkg(db, pkg);

	if (!vigil_dpkg_lookup(db, path, &o) || !o.diverted_to || !p)
		return path;
	/* dpkg-divert --package P: P's own file stays where it is (debsums
	 * compares the diverting package by name and by name:arch). */
	if (!strcmp(o.diverted_by, p->name) || !strcmp(o.diverted_by, p->id))
		return path;
	return o.diverted_to;
}
