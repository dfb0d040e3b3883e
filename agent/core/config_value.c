/* config_value.c - the config parser's second pass: walking a mapping
 * with a key table, and the scalar values (numbers, booleans, enums, sizes,
 * durations, paths). */
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



/* ---- pass 2: tables ----------------------------------------------------- */


int config_is_null(const struct node *v)
{
	return v->kind == N_SCALAR && v->plain &&
	       (!v->len || !strcmp(v->str, "~") || !strcmp(v->str, "null") ||
		!strcmp(v->str, "Null") || !strcmp(v->str, "NULL"));
}

const char *config_kind_name(const struct node *v)
{
	if (config_is_null(v))
		return "an empty value";
	return v->kind == N_SEQ ? "a list" : v->kind == N_MAP ? "a mapping" : "a scalar";
}

int config_want_scalar(struct ctx *c, const struct node *v, const char *what)
{
	if (v->kind != N_SCALAR || config_is_null(v))
		return fail(c, v, "expected %s, got %s", what, config_kind_name(v));
	if (v->nul)
		return fail(c, v, "expected %s, got a value with a NUL byte", what);
	return 0;
}

int config_bad_value(struct ctx *c, const struct node *v, const char *what)
{
	char shown[96];

	return fail(c, v, "expected %s, got '%s'", what, config_show(v->str, v->len, shown, sizeof(shown)));
}

static int enum_lookup(const struct enum_val *e, const char *s, int *out)
{
	for (; e->name; e++) {
		if (!strcmp(e->name, s)) {
			*out = e->value;
			return 0;
		}
	}
	return -1;
}

static void enum_list(const struct enum_val *e, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; e->name && o < size; e++) {
		int w = snprintf(buf + o, size - o, "%s%s", o ? ", " : "", e->name);

		if (w < 0 || (size_t)w >= size - o)
			break;
		o += (size_t)w;
	}
}

static const struct key *key_find(const struct key *tab, const char *name, size_t *idx)
{
	for (size_t i = 0; tab[i].name; i++) {
		if (!strcmp(tab[i].name, name)) {
			*idx = i;
			return &tab[i];
		}
	}
	return NULL;
}

const struct node *config_map_get(const struct node *m, const char *name)
{
	for (size_t i = 0; m->kind == N_MAP && i + 1 < m->n; i += 2)
		if (!strcmp(m->kid[i]->str, name))
			return m->kid[i + 1];
	return m;
}

/* Fills obj from mapping m with table tab; seen (CONFIG_MAX_KEYS entries,
 * zeroed by the caller) gets the value node of each key found. */
int config_parse_map(struct ctx *c, const struct key *tab, const struct node *m, void *obj,
		     const struct node **seen)
{
	char valid[512];
	size_t i, j, o;
	int rc;

	if (m->kind != N_MAP)
		return fail(c, m, "expected a mapping, got %s", config_kind_name(m));
	for (i = 0; i + 1 < m->n; i += 2) {
		const struct node *kn = m->kid[i], *v = m->kid[i + 1];
		const struct key *k = key_find(tab, kn->str, &j);

		o = config_path_push(c, kn->str, 0);
		if (kn->nul)
			return fail(c, kn, "NUL byte in a key");
		if (!k) {
			valid[0] = '\0';
			for (size_t t = 0, w = 0; tab[t].name; t++) {
				int r = snprintf(valid + w, sizeof(valid) - w, "%s%s", w ? ", " : "", tab[t].name);

				if (r < 0 || (size_t)r >= sizeof(valid) - w)
					break;
				w += (size_t)r;
			}
			return fail(c, kn, "unknown key, valid keys here: %s", valid);
		}
		if (seen[j])
			return fail(c, kn, "duplicate key (first at line %lu)", seen[j]->line);
		seen[j] = v;
		if ((rc = k->parse(c, k, v, obj)))
			return rc;
		config_path_pop(c, o);
	}
	for (i = 0; tab[i].name; i++)
		if (tab[i].required && !seen[i])
			return fail(c, m, "missing required key '%s'", tab[i].name);
	return 0;
}

/* ---- value parsers ------------------------------------------------------ */

/* Decimal integer with an optional '-'; no '+', no hex, no spaces. */
int config_parse_ll(const char *s, long long *out)
{
	unsigned long long v = 0, lim;
	int neg = *s == '-';

	if (neg)
		s++;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (lim - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (*s)
		return -EINVAL;
	*out = neg ? (long long)(0 - v) : (long long)v;
	return 0;
}

/* Digits then an optional unit from units (suffix, power of two). */
static int parse_scaled(const char *s, const struct enum_val *units, unsigned long long max,
			unsigned long long *out)
{
	unsigned long long v = 0, mult = 1;
	const char *p = s;
	int m;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (ULLONG_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (*p) {
		if (enum_lookup(units, p, &m))
			return -EINVAL;
		mult = 1ull << m; /* units hold shifts for sizes */
	}
	if (v > max / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int config_p_int(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	char what[96];
	long long n;
	int rc;

	if ((rc = config_want_scalar(c, v, "an integer")))
		return rc;
	rc = config_parse_ll(v->str, &n);
	if (!rc && n < 0 && k->min >= 0)
		return config_bad_value(c, v, "a non-negative integer");
	if (rc == -EINVAL)
		return config_bad_value(c, v, k->min < 0 ? "an integer" : "a non-negative integer");
	if (rc || n < k->min || n > k->max) {
		snprintf(what, sizeof(what), "an integer from %lld to %lld", k->min, k->max);
		return config_bad_value(c, v, what);
	}
	*FIELD(obj, k, int) = (int)n;
	return 0;
}

int config_p_bool(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	static const struct enum_val b[] = {
		{ "true", 1 }, { "false", 0 }, { "True", 1 }, { "False", 0 }, { "TRUE", 1 },
		{ "FALSE", 0 }, { "yes", 1 }, { "no", 0 }, { "on", 1 }, { "off", 0 }, { NULL, 0 },
	};
	int rc;

	if ((rc = config_want_scalar(c, v, "a boolean (true or false)")))
		return rc;
	if (enum_lookup(b, v->str, FIELD(obj, k, int)))
		return config_bad_value(c, v, "a boolean (true or false)");
	return 0;
}

int config_p_enum(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	char what[512] = "one of ";
	int rc;

	enum_list(k->arg, what + 7, sizeof(what) - 7);
	if ((rc = config_want_scalar(c, v, what)))
		return rc;
	if (enum_lookup(k->arg, v->str, FIELD(obj, k, int)))
		return config_bad_value(c, v, what);
	return 0;
}

static const struct enum_val size_units[] = {
	{ "K", 10 }, { "M", 20 }, { "G", 30 }, { "T", 40 }, { "KiB", 10 }, { "MiB", 20 },
	{ "GiB", 30 }, { "TiB", 40 }, { NULL, 0 },
};

int config_p_size(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	static const char what[] = "a size in bytes with an optional suffix K, M, G or T";
	unsigned long long n;
	int rc;

	if ((rc = config_want_scalar(c, v, what)))
		return rc;
	rc = parse_scaled(v->str, size_units, UINT64_MAX, &n);
	if (rc == -ERANGE)
		return config_bad_value(c, v, "a size below 16 EiB");
	if (rc)
		return config_bad_value(c, v, what);
	*FIELD(obj, k, uint64_t) = n;
	return 0;
}

/* Durations in seconds: N, Ns, Nm, Nh, Nd.  The value is in struct
 * enum_val.value as seconds, not a shift, so it has its own scaler. */
static int duration(const char *s, unsigned long long max, unsigned long long *out)
{
	static const struct enum_val units[] = {
		{ "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 }, { NULL, 0 },
	};
	unsigned long long v = 0;
	int mult = 1;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (ULLONG_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (*s && enum_lookup(units, s, &mult))
		return -EINVAL;
	if (v > max / (unsigned long long)mult)
		return -ERANGE;
	*out = v * (unsigned long long)mult;
	return 0;
}

static int duration_value(struct ctx *c, const struct key *k, const struct node *v,
			  unsigned long long *n)
{
	static const char what[] = "a duration (a number with an optional suffix s, m, h or d)";
	char range[128];
	int rc;

	if ((rc = config_want_scalar(c, v, what)))
		return rc;
	rc = duration(v->str, (unsigned long long)k->max, n);
	if (rc == -EINVAL)
		return config_bad_value(c, v, what);
	if (rc || *n < (unsigned long long)k->min) {
		snprintf(range, sizeof(range), "a duration from %llds to %llds", k->min, k->max);
		return config_bad_value(c, v, range);
	}
	return 0;
}

/* Seconds into an int field (k->max must fit an int). */
int config_p_seconds(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	unsigned long long n;
	int rc;

	if ((rc = duration_value(c, k, v, &n)))
		return rc;
	*FIELD(obj, k, int) = (int)n;
	return 0;
}

/* Seconds into a uint64_t field. */
int config_p_seconds64(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	unsigned long long n;
	int rc;

	if ((rc = duration_value(c, k, v, &n)))
		return rc;
	*FIELD(obj, k, uint64_t) = n;
	return 0;
}

/* Absolute path, normalised: repeated and trailing slashes dropped; "." and
 * ".." refused (a scope must say what it means).  Returns a malloc'd copy or
 * NULL with *why set. */
static char *path_norm(const char *s, size_t len, size_t max, const char **why)
{
	char *out, *o;
	const char *p = s, *end = s + len;

	*why = NULL;
	if (!len || *s != '/') {
		*why = "an absolute path";
		return NULL;
	}
	if (!(o = out = malloc(len + 1))) {
		*why = "";
		return NULL;
	}
	while (p < end) {
		const char *comp;
		size_t cl;

		while (p < end && *p == '/')
			p++;
		comp = p;
		while (p < end && *p != '/')
			p++;
		cl = (size_t)(p - comp);
		if (!cl)
			break;
		if ((cl == 1 && comp[0] == '.') || (cl == 2 && comp[0] == '.' && comp[1] == '.')) {
			*why = "a path without '.' or '..' components";
			free(out);
			return NULL;
		}
		*o++ = '/';
		memcpy(o, comp, cl);
		o += cl;
	}
	if (o == out)
		*o++ = '/';
	*o = '\0';
	if ((size_t)(o - out) > max) {
		*why = "a shorter path";
		free(out);
		return NULL;
	}
	return out;
}

int config_path_value(struct ctx *c, const struct key *k, const struct node *v, char **out)
{
	size_t max = k->max > 0 ? (size_t)k->max : PATH_MAX - 1;
	const char *why;
	char what[96];
	int rc;

	if ((rc = config_want_scalar(c, v, "an absolute path")))
		return rc;
	if (!(*out = path_norm(v->str, v->len, max, &why))) {
		if (!*why)
			return config_nomem(c);
		if (k->max > 0 && !strcmp(why, "a shorter path")) {
			snprintf(what, sizeof(what), "a path of at most %lld bytes", k->max);
			why = what;
		}
		return config_bad_value(c, v, why);
	}
	return 0;
}

int config_p_path(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	char **field = FIELD(obj, k, char *), *s;
	int rc;

	if ((rc = config_path_value(c, k, v, &s)))
		return rc;
	free(*field);
	*field = s;
	return 0;
}
