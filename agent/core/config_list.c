/* config_list.c - the config parser's list values: path lists, globs,
 * attribute sets, digest algorithms, names, output targets, clock times,
 * sub-maps and lists of maps. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "vigil/config.h"
#include "vigil/crypto.h"
#include "vigil/record.h"

#include "config_priv.h"



static int want_seq(struct ctx *c, const struct node *v, const char *what, int non_empty)
{
	if (v->kind != N_SEQ)
		return fail(c, v, "expected a list of %s, got %s", what, config_kind_name(v));
	if (non_empty && !v->n)
		return fail(c, v, "expected a non-empty list of %s", what);
	return 0;
}

/* Arrays here carry no capacity field: their capacity is n rounded up to a
 * power of two, so they grow (doubling) exactly when n is 0 or a power of
 * two.  Keeps a hostile 1 MiB list linear instead of quadratic. */
static size_t grow_to(size_t n)
{
	return n == 0 ? 1 : (n & (n - 1)) == 0 ? 2 * n : 0;
}

static int strv_add(struct vigil_strv *sv, char *s)
{
	size_t cap = grow_to(sv->n);

	if (cap) {
		char **v = realloc(sv->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			return -ENOMEM;
		}
		sv->v = v;
	}
	sv->v[sv->n++] = s;
	return 0;
}

void config_strv_clear(struct vigil_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

/* List of absolute paths (globs allowed in any component). */
int config_p_paths(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	struct vigil_strv *sv = FIELD(obj, k, struct vigil_strv);
	int rc;

	if ((rc = want_seq(c, v, "absolute paths", 1)))
		return rc;
	config_strv_clear(sv);
	for (size_t i = 0; i < v->n; i++) {
		size_t o = config_path_push(c, NULL, i);
		char *s;

		if ((rc = config_path_value(c, k, v->kid[i], &s)))
			return rc;
		if (strv_add(sv, s))
			return config_nomem(c);
		config_path_pop(c, o);
	}
	return 0;
}

/* List of fnmatch(3) globs on the full path, kept as written. */
/* Globs on full paths; with the key's min set to 1, globs on names (a
 * container's name or id: non-empty, shorter than 256 bytes). */
int config_p_globs(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	const char *what = k->min == 1 ? "a glob on a container name or id"
				       : "a glob on the full path (starting with '/' or '*')";
	struct vigil_strv *sv = FIELD(obj, k, struct vigil_strv);
	int rc;

	if ((rc = want_seq(c, v, "globs", 0)))
		return rc;
	config_strv_clear(sv);
	for (size_t i = 0; i < v->n; i++) {
		const struct node *g = v->kid[i];
		size_t o = config_path_push(c, NULL, i);
		char *s;

		if ((rc = config_want_scalar(c, g, what)))
			return rc;
		if (k->min == 1 ? !g->len || g->len >= 256 : (g->str[0] != '/' && g->str[0] != '*') || g->len >= PATH_MAX)
			return config_bad_value(c, g, what);
		if (!(s = strdup(g->str)) || strv_add(sv, s))
			return config_nomem(c);
		config_path_pop(c, o);
	}
	return 0;
}

static const struct {
	const char *name;
	unsigned mask;
} attr_presets[] = {
	{ "all", VIGIL_ATTR_ALL },
	{ "permissions", VIGIL_ATTR_TYPE | VIGIL_ATTR_MODE | VIGIL_ATTR_UID | VIGIL_ATTR_GID |
				 VIGIL_ATTR_XATTRS | VIGIL_ATTR_FLAGS },
	{ "content", VIGIL_ATTR_TYPE | VIGIL_ATTR_SIZE | VIGIL_ATTR_HASH | VIGIL_ATTR_TARGET },
};

int config_p_attrs(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	static const char what[] = "an attribute (type mode uid gid size mtime ctime inode dev nlink "
				   "target xattrs flags hash), a preset (all permissions content) "
				   "or -NAME to remove one";
	unsigned mask = 0;
	int rc;

	if ((rc = want_seq(c, v, "attributes", 1)))
		return rc;
	for (size_t i = 0; i < v->n; i++) {
		const struct node *a = v->kid[i];
		size_t o = config_path_push(c, NULL, i);
		const char *name;
		unsigned bits = 0;
		int minus;

		if ((rc = config_want_scalar(c, a, what)))
			return rc;
		minus = a->str[0] == '-';
		name = a->str + minus;
		for (size_t p = 0; p < sizeof(attr_presets) / sizeof(attr_presets[0]); p++)
			if (!strcmp(name, attr_presets[p].name))
				bits = attr_presets[p].mask;
		if (!bits)
			bits = vigil_attr_from_name(name);
		if (!bits)
			return config_bad_value(c, a, what);
		mask = minus ? mask & ~bits : mask | bits;
		config_path_pop(c, o);
	}
	if (!mask)
		return fail(c, v, "the list selects no attribute");
	*FIELD(obj, k, unsigned) = mask;
	return 0;
}

int config_p_algos(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	static const char what[] = "one of sha256, sha512, blake2b512, sha3-256";
	unsigned mask = 0;
	int rc;

	if ((rc = want_seq(c, v, "digest names", 1)))
		return rc;
	for (size_t i = 0; i < v->n; i++) {
		const struct node *a = v->kid[i];
		size_t o = config_path_push(c, NULL, i);
		int algo;

		if ((rc = config_want_scalar(c, a, what)))
			return rc;
		if ((algo = vigil_algo_from_name(a->str)) < 0)
			return config_bad_value(c, a, what);
		if (mask & VIGIL_ALGO_BIT(algo))
			return fail(c, a, "'%s' is listed twice", vigil_algo_name(algo));
		mask |= VIGIL_ALGO_BIT(algo);
		config_path_pop(c, o);
	}
	*FIELD(obj, k, unsigned) = mask;
	return 0;
}

/* Scope names end up in events, record.scope[64] and audit rule keys. */
int config_p_name(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	static const char what[] = "a name of 1 to 63 characters from A-Z a-z 0-9 . _ -";
	char **field = FIELD(obj, k, char *);
	int rc;

	if ((rc = config_want_scalar(c, v, what)))
		return rc;
	if (!v->len || v->len > 63 || strspn(v->str, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					  "0123456789._-") != v->len)
		return config_bad_value(c, v, what);
	free(*field);
	if (!(*field = strdup(v->str)))
		return config_nomem(c);
	return 0;
}

/* "local" or tcp://HOST:PORT, HOST a name, IPv4 or [IPv6]. */
int config_p_target(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	static const char what[] = "local or tcp://HOST:PORT";
	char **field = FIELD(obj, k, char *);
	const char *host, *colon;
	long long port;
	size_t hl;
	int rc;

	if ((rc = config_want_scalar(c, v, what)))
		return rc;
	if (strcmp(v->str, "local")) {
		if (strncmp(v->str, "tcp://", 6))
			return config_bad_value(c, v, what);
		host = v->str + 6;
		if (*host == '[') {
			const char *close = strchr(host, ']');

			if (!close || close[1] != ':' || close == host + 1 ||
			    strspn(host + 1, "0123456789abcdefABCDEF:.") != (size_t)(close - host - 1))
				return config_bad_value(c, v, "tcp://[IPV6]:PORT");
			colon = close + 1;
		} else {
			colon = strrchr(host, ':');
			hl = colon ? (size_t)(colon - host) : 0;
			if (!hl || hl > 253 || strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						       "0123456789.-") != hl)
				return config_bad_value(c, v, "tcp://HOST:PORT with HOST a name or an address");
		}
		if (config_parse_ll(colon + 1, &port) || port < 1 || port > 65535)
			return config_bad_value(c, v, "tcp://HOST:PORT with PORT from 1 to 65535");
	}
	free(*field);
	if (!(*field = strdup(v->str)))
		return config_nomem(c);
	return 0;
}

/* "HH:MM", 00:00 to 23:59, into minutes after midnight. */
int config_p_clock(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	static const char what[] = "a time of day \"HH:MM\" from 00:00 to 23:59";
	const char *s = v->str;
	int rc, h, m;

	if ((rc = config_want_scalar(c, v, what)))
		return rc;
	if (v->len != 5 || s[2] != ':' || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
	    s[3] < '0' || s[3] > '9' || s[4] < '0' || s[4] > '9')
		return config_bad_value(c, v, what);
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return config_bad_value(c, v, what);
	*FIELD(obj, k, int) = h * 60 + m;
	return 0;
}

int config_p_submap(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	const struct node *seen[CONFIG_MAX_KEYS] = { 0 };

	return config_parse_map(c, k->arg, v, obj, seen);
}

int config_p_list(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	const struct list_desc *d = k->arg;
	size_t *n = (size_t *)(void *)((char *)obj + d->n_off);
	char *arr;
	int rc;

	if (v->kind != N_SEQ)
		return fail(c, v, "expected a list, got %s", config_kind_name(v));
	if (d->non_empty && !v->n)
		return fail(c, v, "expected a non-empty list");
	for (size_t i = 0; i < v->n; i++) {
		const struct node *seen[CONFIG_MAX_KEYS] = { 0 };
		size_t o = config_path_push(c, NULL, i), cap;
		void *grown, *elem;

		/* The count goes up before parsing so vigil_config_free sees
		 * every element, even a half-filled one. */
		memcpy(&arr, (char *)obj + d->arr_off, sizeof(arr));
		if ((cap = grow_to(*n))) {
			if (!(grown = realloc(arr, cap * d->size)))
				return config_nomem(c);
			arr = grown;
			memcpy((char *)obj + d->arr_off, &arr, sizeof(arr));
		}
		elem = arr + *n * d->size;
		memset(elem, 0, d->size);
		if (d->init)
			d->init(elem);
		++*n;
		if ((rc = config_parse_map(c, d->tab, v->kid[i], elem, seen)))
			return rc;
		if (d->check && (rc = d->check(c, v->kid[i], elem, seen)))
			return rc;
		config_path_pop(c, o);
	}
	return 0;
}
