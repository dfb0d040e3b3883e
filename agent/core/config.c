/* config.c - vigil's configuration: YAML through libyaml, checked against key
 * tables.
 *
 * Two passes.  The first turns libyaml's event stream into a small tree of
 * scalars, sequences and mappings, refusing what we never want to interpret
 * (anchors and aliases, so no alias bomb; tags; NUL bytes; more than one
 * document; nesting deeper than CONFIG_MAX_DEPTH).  The second walks the tree
 * with one table per mapping (struct key: name, parser, field offset, bounds),
 * so a later issue adds a key with one table line and, if it is a new kind of
 * value, one parser.  Every error names file:line:column (1-based, from
 * libyaml's marks), the key path ("scopes[2].depth", list indexes from 0) and
 * what was expected.  The tree costs ~100 bytes a node; with the 1 MiB input
 * cap that is bounded to a few tens of MiB in the worst case.
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
#include <unistd.h>
#include <yaml.h>

#include "vigil/config.h"
#include "vigil/crypto.h"
#include "vigil/record.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
#define CONFIG_MAX_DEPTH 32
#define CONFIG_MAX_KEYS 32 /* keys in one table */
#define EMBEDDED_NAME VIGIL_CONFIG_EMBEDDED
/* make install puts etc/vigil.yaml here; SYSCONFDIR comes from configure. */
#define INSTALLED_FILE SYSCONFDIR "/vigil/vigil.yaml"
#define SUN_PATH_MAX 108

/* ---- tree ------------------------------------------------------------- */

enum { N_SCALAR, N_SEQ, N_MAP };

struct node {
	int kind;
	int plain;                /* scalar without quotes: may be a YAML null */
	int nul;                  /* scalar holds a NUL byte ("\0" escape): refused */
	unsigned long line, col;  /* 1-based */
	char *str;                /* scalar text, NUL-terminated, no NUL inside */
	size_t len;
	struct node **kid;        /* seq: items; map: key, value, key, value... */
	size_t n, cap;
};

static void node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		node_free(n->kid[i]);
	free(n->kid);
	free(n->str);
	free(n);
}

static int node_add(struct node *parent, struct node *kid)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct node **k = realloc(parent->kid, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		parent->kid = k;
		parent->cap = cap;
	}
	parent->kid[parent->n++] = kid;
	return 0;
}

/* ---- parse context and messages --------------------------------------- */

struct ctx {
	const char *name;      /* file name for messages */
	const char *text;
	size_t len;
	struct vigil_err *err;
	char path[256];        /* key path being parsed, shown in messages */
	size_t path_len;
};

/* Copies at most ~60 bytes of s for a message, control bytes as \xNN, so a
 * hostile value can neither flood nor garble the log line. */
static const char *show(const char *s, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i >= 60) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (ch < 0x20 || ch == 0x7f || ch == '\'' || ch == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o] = '\0';
	return buf;
}

static int fail_at(struct ctx *c, unsigned long line, unsigned long col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail_at(struct ctx *c, unsigned long line, unsigned long col, const char *fmt, ...)
{
	char what[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c->path_len)
		return vigil_err_set(c->err, -EINVAL, "%s:%lu:%lu: key '%s': %s", c->name, line, col,
				     c->path, what);
	return vigil_err_set(c->err, -EINVAL, "%s:%lu:%lu: %s", c->name, line, col, what);
}

#define fail(c, n, ...) fail_at((c), (n)->line, (n)->col, __VA_ARGS__)

static int nomem(struct ctx *c)
{
	return vigil_err_set(c->err, -ENOMEM, "%s: out of memory", c->name);
}

/* Appends ".key" or "[i]" to the key path; returns the length to restore.  A
 * path too long for the buffer ends in "..." (messages only). */
static size_t path_push(struct ctx *c, const char *key, size_t idx)
{
	size_t old = c->path_len, room = sizeof(c->path) - old;
	char shown[96];
	int w;

	if (key)
		w = snprintf(c->path + old, room, "%s%s", old ? "." : "",
			     show(key, strlen(key), shown, sizeof(shown)));
	else
		w = snprintf(c->path + old, room, "[%zu]", idx);
	if (w < 0 || (size_t)w >= room) {
		memcpy(c->path + sizeof(c->path) - 4, "...", 4);
		c->path_len = sizeof(c->path) - 1;
	} else {
		c->path_len = old + (size_t)w;
	}
	return old;
}

static void path_pop(struct ctx *c, size_t old)
{
	c->path_len = old;
	c->path[old] = '\0';
}

/* ---- pass 1: events to tree ------------------------------------------- */

static void offset_to_mark(const struct ctx *c, size_t off, unsigned long *line, unsigned long *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < c->len; i++) {
		if (c->text[i] == '\n') {
			++*line;
			*col = 1;
		} else if (((unsigned char)c->text[i] & 0xc0) != 0x80) {
			++*col;
		}
	}
}

static int syntax_error(struct ctx *c, const yaml_parser_t *p)
{
	unsigned long line, col;

	if (p->error == YAML_MEMORY_ERROR)
		return nomem(c);
	if (p->error == YAML_READER_ERROR) {
		offset_to_mark(c, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			return fail_at(c, line, col, "yaml: %s (#%X)", p->problem ? p->problem : "bad input",
				       (unsigned)p->problem_value);
		return fail_at(c, line, col, "yaml: %s", p->problem ? p->problem : "bad input");
	}
	if (p->context)
		return fail_at(c, p->problem_mark.line + 1, p->problem_mark.column + 1,
			       "yaml syntax error: %s (%s at line %lu column %lu)",
			       p->problem ? p->problem : "unknown problem", p->context,
			       (unsigned long)p->context_mark.line + 1,
			       (unsigned long)p->context_mark.column + 1);
	return fail_at(c, p->problem_mark.line + 1, p->problem_mark.column + 1, "yaml syntax error: %s",
		       p->problem ? p->problem : "unknown problem");
}

/* What an event may not carry, whatever its place. */
static int refuse_extras(struct ctx *c, const yaml_event_t *ev, const yaml_char_t *anchor,
			 const yaml_char_t *tag)
{
	char shown[96];
	unsigned long line = ev->start_mark.line + 1, col = ev->start_mark.column + 1;

	if (anchor)
		return fail_at(c, line, col, "anchors and aliases are not supported (anchor '&%s')",
			       show((const char *)anchor, strlen((const char *)anchor), shown, sizeof(shown)));
	if (tag)
		return fail_at(c, line, col, "tags are not supported ('%s')",
			       show((const char *)tag, strlen((const char *)tag), shown, sizeof(shown)));
	return 0;
}

static int build_tree(struct ctx *c, struct node **root)
{
	struct node *stack[CONFIG_MAX_DEPTH];
	struct node *n = NULL;
	char shown[96];
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, docs = 0, done = 0, rc = 0;

	*root = NULL;
	memset(&ev, 0, sizeof(ev));
	if (!yaml_parser_initialize(&p))
		return nomem(c);
	yaml_parser_set_input_string(&p, (const unsigned char *)c->text, c->len);
	while (!done) {
		int kind = -1;

		if (!yaml_parser_parse(&p, &ev)) {
			rc = syntax_error(c, &p);
			goto out;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				rc = fail_at(c, ev.start_mark.line + 1, ev.start_mark.column + 1,
					     "only one YAML document is allowed");
				goto out;
			}
			break;
		case YAML_ALIAS_EVENT:
			rc = fail_at(c, ev.start_mark.line + 1, ev.start_mark.column + 1,
				     "anchors and aliases are not supported (alias '*%s')",
				     show((const char *)ev.data.alias.anchor,
					  strlen((const char *)ev.data.alias.anchor), shown, sizeof(shown)));
			goto out;
		case YAML_SCALAR_EVENT:
			if ((rc = refuse_extras(c, &ev, ev.data.scalar.anchor, ev.data.scalar.tag)))
				goto out;
			kind = N_SCALAR;
			break;
		case YAML_SEQUENCE_START_EVENT:
			if ((rc = refuse_extras(c, &ev, ev.data.sequence_start.anchor,
						ev.data.sequence_start.implicit ? NULL : ev.data.sequence_start.tag)))
				goto out;
			kind = N_SEQ;
			break;
		case YAML_MAPPING_START_EVENT:
			if ((rc = refuse_extras(c, &ev, ev.data.mapping_start.anchor,
						ev.data.mapping_start.implicit ? NULL : ev.data.mapping_start.tag)))
				goto out;
			kind = N_MAP;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (kind >= 0) {
			struct node *parent = depth ? stack[depth - 1] : NULL;

			if (!(n = calloc(1, sizeof(*n)))) {
				rc = nomem(c);
				goto out;
			}
			n->kind = kind;
			n->line = ev.start_mark.line + 1;
			n->col = ev.start_mark.column + 1;
			if (parent ? node_add(parent, n) : *root != NULL) {
				node_free(n);
				rc = parent ? nomem(c) : fail(c, n, "more than one top-level value");
				goto out;
			}
			if (!parent)
				*root = n;
			if (parent && parent->kind == N_MAP && parent->n % 2 && kind != N_SCALAR) {
				rc = fail(c, n, "mapping keys must be scalars");
				goto out;
			}
			if (kind == N_SCALAR) {
				n->len = ev.data.scalar.length;
				n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
				/* Refused where the value is used, so the message
				 * can name the key. */
				n->nul = memchr(ev.data.scalar.value, '\0', n->len) != NULL;
				if (!(n->str = malloc(n->len + 1))) {
					rc = nomem(c);
					goto out;
				}
				memcpy(n->str, ev.data.scalar.value, n->len);
				n->str[n->len] = '\0';
			} else {
				if (depth == CONFIG_MAX_DEPTH) {
					rc = fail(c, n, "nested deeper than %d levels", CONFIG_MAX_DEPTH);
					goto out;
				}
				stack[depth++] = n;
			}
		}
		yaml_event_delete(&ev);
	}
out:
	yaml_event_delete(&ev);
	yaml_parser_delete(&p);
	if (rc) {
		node_free(*root);
		*root = NULL;
	}
	return rc;
}

/* ---- pass 2: tables ----------------------------------------------------- */

struct key;
typedef int (*parse_fn)(struct ctx *c, const struct key *k, const struct node *v, void *obj);

struct key {
	const char *name;
	parse_fn parse;
	size_t off;            /* field in the object being filled */
	long long min, max;    /* numbers: bounds; paths: max length when max > 0 */
	const void *arg;       /* enum table, sub-table or list descriptor */
	int required;
};

struct enum_val {
	const char *name;
	int value;
};

/* A list of mappings, each parsed into one element of a growing array. */
struct list_desc {
	size_t size;           /* element size */
	size_t arr_off, n_off; /* the array pointer and its count in the parent */
	const struct key *tab;
	void (*init)(void *elem);
	/* Cross-key rules; seen[i] is the value of tab[i] or NULL. */
	int (*check)(struct ctx *c, const struct node *m, void *elem, const struct node *const *seen);
	int non_empty;
};

#define FIELD(obj, k, type) ((type *)(void *)((char *)(obj) + (k)->off))

static int is_null(const struct node *v)
{
	return v->kind == N_SCALAR && v->plain &&
	       (!v->len || !strcmp(v->str, "~") || !strcmp(v->str, "null") ||
		!strcmp(v->str, "Null") || !strcmp(v->str, "NULL"));
}

static const char *kind_name(const struct node *v)
{
	if (is_null(v))
		return "an empty value";
	return v->kind == N_SEQ ? "a list" : v->kind == N_MAP ? "a mapping" : "a scalar";
}

static int want_scalar(struct ctx *c, const struct node *v, const char *what)
{
	if (v->kind != N_SCALAR || is_null(v))
		return fail(c, v, "expected %s, got %s", what, kind_name(v));
	if (v->nul)
		return fail(c, v, "expected %s, got a value with a NUL byte", what);
	return 0;
}

static int bad_value(struct ctx *c, const struct node *v, const char *what)
{
	char shown[96];

	return fail(c, v, "expected %s, got '%s'", what, show(v->str, v->len, shown, sizeof(shown)));
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

static const struct node *map_get(const struct node *m, const char *name)
{
	for (size_t i = 0; m->kind == N_MAP && i + 1 < m->n; i += 2)
		if (!strcmp(m->kid[i]->str, name))
			return m->kid[i + 1];
	return m;
}

/* Fills obj from mapping m with table tab; seen (CONFIG_MAX_KEYS entries,
 * zeroed by the caller) gets the value node of each key found. */
static int parse_map(struct ctx *c, const struct key *tab, const struct node *m, void *obj,
		     const struct node **seen)
{
	char valid[512];
	size_t i, j, o;
	int rc;

	if (m->kind != N_MAP)
		return fail(c, m, "expected a mapping, got %s", kind_name(m));
	for (i = 0; i + 1 < m->n; i += 2) {
		const struct node *kn = m->kid[i], *v = m->kid[i + 1];
		const struct key *k = key_find(tab, kn->str, &j);

		o = path_push(c, kn->str, 0);
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
		path_pop(c, o);
	}
	for (i = 0; tab[i].name; i++)
		if (tab[i].required && !seen[i])
			return fail(c, m, "missing required key '%s'", tab[i].name);
	return 0;
}

/* ---- value parsers ------------------------------------------------------ */

/* Decimal integer with an optional '-'; no '+', no hex, no spaces. */
static int parse_ll(const char *s, long long *out)
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

static int p_int(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	char what[96];
	long long n;
	int rc;

	if ((rc = want_scalar(c, v, "an integer")))
		return rc;
	rc = parse_ll(v->str, &n);
	if (!rc && n < 0 && k->min >= 0)
		return bad_value(c, v, "a non-negative integer");
	if (rc == -EINVAL)
		return bad_value(c, v, k->min < 0 ? "an integer" : "a non-negative integer");
	if (rc || n < k->min || n > k->max) {
		snprintf(what, sizeof(what), "an integer from %lld to %lld", k->min, k->max);
		return bad_value(c, v, what);
	}
	*FIELD(obj, k, int) = (int)n;
	return 0;
}

static int p_bool(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	static const struct enum_val b[] = {
		{ "true", 1 }, { "false", 0 }, { "True", 1 }, { "False", 0 }, { "TRUE", 1 },
		{ "FALSE", 0 }, { "yes", 1 }, { "no", 0 }, { "on", 1 }, { "off", 0 }, { NULL, 0 },
	};
	int rc;

	if ((rc = want_scalar(c, v, "a boolean (true or false)")))
		return rc;
	if (enum_lookup(b, v->str, FIELD(obj, k, int)))
		return bad_value(c, v, "a boolean (true or false)");
	return 0;
}

static int p_enum(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	char what[512] = "one of ";
	int rc;

	enum_list(k->arg, what + 7, sizeof(what) - 7);
	if ((rc = want_scalar(c, v, what)))
		return rc;
	if (enum_lookup(k->arg, v->str, FIELD(obj, k, int)))
		return bad_value(c, v, what);
	return 0;
}

static const struct enum_val size_units[] = {
	{ "K", 10 }, { "M", 20 }, { "G", 30 }, { "T", 40 }, { "KiB", 10 }, { "MiB", 20 },
	{ "GiB", 30 }, { "TiB", 40 }, { NULL, 0 },
};

static int p_size(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	static const char what[] = "a size in bytes with an optional suffix K, M, G or T";
	unsigned long long n;
	int rc;

	if ((rc = want_scalar(c, v, what)))
		return rc;
	rc = parse_scaled(v->str, size_units, UINT64_MAX, &n);
	if (rc == -ERANGE)
		return bad_value(c, v, "a size below 16 EiB");
	if (rc)
		return bad_value(c, v, what);
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

	if ((rc = want_scalar(c, v, what)))
		return rc;
	rc = duration(v->str, (unsigned long long)k->max, n);
	if (rc == -EINVAL)
		return bad_value(c, v, what);
	if (rc || *n < (unsigned long long)k->min) {
		snprintf(range, sizeof(range), "a duration from %llds to %llds", k->min, k->max);
		return bad_value(c, v, range);
	}
	return 0;
}

/* Seconds into an int field (k->max must fit an int). */
static int p_seconds(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	unsigned long long n;
	int rc;

	if ((rc = duration_value(c, k, v, &n)))
		return rc;
	*FIELD(obj, k, int) = (int)n;
	return 0;
}

/* Seconds into a uint64_t field. */
static int p_seconds64(struct ctx *c, const struct key *k, const struct node *v, void *obj)
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

static int path_value(struct ctx *c, const struct key *k, const struct node *v, char **out)
{
	size_t max = k->max > 0 ? (size_t)k->max : PATH_MAX - 1;
	const char *why;
	char what[96];
	int rc;

	if ((rc = want_scalar(c, v, "an absolute path")))
		return rc;
	if (!(*out = path_norm(v->str, v->len, max, &why))) {
		if (!*why)
			return nomem(c);
		if (k->max > 0 && !strcmp(why, "a shorter path")) {
			snprintf(what, sizeof(what), "a path of at most %lld bytes", k->max);
			why = what;
		}
		return bad_value(c, v, why);
	}
	return 0;
}

static int p_path(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	char **field = FIELD(obj, k, char *), *s;
	int rc;

	if ((rc = path_value(c, k, v, &s)))
		return rc;
	free(*field);
	*field = s;
	return 0;
}

static int want_seq(struct ctx *c, const struct node *v, const char *what, int non_empty)
{
	if (v->kind != N_SEQ)
		return fail(c, v, "expected a list of %s, got %s", what, kind_name(v));
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

static void strv_clear(struct vigil_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

/* List of absolute paths (globs allowed in any component). */
static int p_paths(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	struct vigil_strv *sv = FIELD(obj, k, struct vigil_strv);
	int rc;

	if ((rc = want_seq(c, v, "absolute paths", 1)))
		return rc;
	strv_clear(sv);
	for (size_t i = 0; i < v->n; i++) {
		size_t o = path_push(c, NULL, i);
		char *s;

		if ((rc = path_value(c, k, v->kid[i], &s)))
			return rc;
		if (strv_add(sv, s))
			return nomem(c);
		path_pop(c, o);
	}
	return 0;
}

/* List of fnmatch(3) globs on the full path, kept as written. */
static int p_globs(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	static const char what[] = "a glob on the full path (starting with '/' or '*')";
	struct vigil_strv *sv = FIELD(obj, k, struct vigil_strv);
	int rc;

	if ((rc = want_seq(c, v, "globs", 0)))
		return rc;
	strv_clear(sv);
	for (size_t i = 0; i < v->n; i++) {
		const struct node *g = v->kid[i];
		size_t o = path_push(c, NULL, i);
		char *s;

		if ((rc = want_scalar(c, g, what)))
			return rc;
		if ((g->str[0] != '/' && g->str[0] != '*') || g->len >= PATH_MAX)
			return bad_value(c, g, what);
		if (!(s = strdup(g->str)) || strv_add(sv, s))
			return nomem(c);
		path_pop(c, o);
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

static int p_attrs(struct ctx *c, const struct key *k, const struct node *v, void *obj)
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
		size_t o = path_push(c, NULL, i);
		const char *name;
		unsigned bits = 0;
		int minus;

		if ((rc = want_scalar(c, a, what)))
			return rc;
		minus = a->str[0] == '-';
		name = a->str + minus;
		for (size_t p = 0; p < sizeof(attr_presets) / sizeof(attr_presets[0]); p++)
			if (!strcmp(name, attr_presets[p].name))
				bits = attr_presets[p].mask;
		if (!bits)
			bits = vigil_attr_from_name(name);
		if (!bits)
			return bad_value(c, a, what);
		mask = minus ? mask & ~bits : mask | bits;
		path_pop(c, o);
	}
	if (!mask)
		return fail(c, v, "the list selects no attribute");
	*FIELD(obj, k, unsigned) = mask;
	return 0;
}

static int p_algos(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	static const char what[] = "one of sha256, sha512, blake2b512, sha3-256";
	unsigned mask = 0;
	int rc;

	if ((rc = want_seq(c, v, "digest names", 1)))
		return rc;
	for (size_t i = 0; i < v->n; i++) {
		const struct node *a = v->kid[i];
		size_t o = path_push(c, NULL, i);
		int algo;

		if ((rc = want_scalar(c, a, what)))
			return rc;
		if ((algo = vigil_algo_from_name(a->str)) < 0)
			return bad_value(c, a, what);
		if (mask & VIGIL_ALGO_BIT(algo))
			return fail(c, a, "'%s' is listed twice", vigil_algo_name(algo));
		mask |= VIGIL_ALGO_BIT(algo);
		path_pop(c, o);
	}
	*FIELD(obj, k, unsigned) = mask;
	return 0;
}

/* Scope names end up in events, record.scope[64] and audit rule keys. */
static int p_name(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	static const char what[] = "a name of 1 to 63 characters from A-Z a-z 0-9 . _ -";
	char **field = FIELD(obj, k, char *);
	int rc;

	if ((rc = want_scalar(c, v, what)))
		return rc;
	if (!v->len || v->len > 63 || strspn(v->str, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					  "0123456789._-") != v->len)
		return bad_value(c, v, what);
	free(*field);
	if (!(*field = strdup(v->str)))
		return nomem(c);
	return 0;
}

/* "local" or tcp://HOST:PORT, HOST a name, IPv4 or [IPv6]. */
static int p_target(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	static const char what[] = "local or tcp://HOST:PORT";
	char **field = FIELD(obj, k, char *);
	const char *host, *colon;
	long long port;
	size_t hl;
	int rc;

	if ((rc = want_scalar(c, v, what)))
		return rc;
	if (strcmp(v->str, "local")) {
		if (strncmp(v->str, "tcp://", 6))
			return bad_value(c, v, what);
		host = v->str + 6;
		if (*host == '[') {
			const char *close = strchr(host, ']');

			if (!close || close[1] != ':' || close == host + 1 ||
			    strspn(host + 1, "0123456789abcdefABCDEF:.") != (size_t)(close - host - 1))
				return bad_value(c, v, "tcp://[IPV6]:PORT");
			colon = close + 1;
		} else {
			colon = strrchr(host, ':');
			hl = colon ? (size_t)(colon - host) : 0;
			if (!hl || hl > 253 || strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						       "0123456789.-") != hl)
				return bad_value(c, v, "tcp://HOST:PORT with HOST a name or an address");
		}
		if (parse_ll(colon + 1, &port) || port < 1 || port > 65535)
			return bad_value(c, v, "tcp://HOST:PORT with PORT from 1 to 65535");
	}
	free(*field);
	if (!(*field = strdup(v->str)))
		return nomem(c);
	return 0;
}

/* "HH:MM", 00:00 to 23:59, into minutes after midnight. */
static int p_clock(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	static const char what[] = "a time of day \"HH:MM\" from 00:00 to 23:59";
	const char *s = v->str;
	int rc, h, m;

	if ((rc = want_scalar(c, v, what)))
		return rc;
	if (v->len != 5 || s[2] != ':' || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
	    s[3] < '0' || s[3] > '9' || s[4] < '0' || s[4] > '9')
		return bad_value(c, v, what);
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return bad_value(c, v, what);
	*FIELD(obj, k, int) = h * 60 + m;
	return 0;
}

static int p_submap(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	const struct node *seen[CONFIG_MAX_KEYS] = { 0 };

	return parse_map(c, k->arg, v, obj, seen);
}

static int p_list(struct ctx *c, const struct key *k, const struct node *v, void *obj)
{
	const struct list_desc *d = k->arg;
	size_t *n = (size_t *)(void *)((char *)obj + d->n_off);
	char *arr;
	int rc;

	if (v->kind != N_SEQ)
		return fail(c, v, "expected a list, got %s", kind_name(v));
	if (d->non_empty && !v->n)
		return fail(c, v, "expected a non-empty list");
	for (size_t i = 0; i < v->n; i++) {
		const struct node *seen[CONFIG_MAX_KEYS] = { 0 };
		size_t o = path_push(c, NULL, i), cap;
		void *grown, *elem;

		/* The count goes up before parsing so vigil_config_free sees
		 * every element, even a half-filled one. */
		memcpy(&arr, (char *)obj + d->arr_off, sizeof(arr));
		if ((cap = grow_to(*n))) {
			if (!(grown = realloc(arr, cap * d->size)))
				return nomem(c);
			arr = grown;
			memcpy((char *)obj + d->arr_off, &arr, sizeof(arr));
		}
		elem = arr + *n * d->size;
		memset(elem, 0, d->size);
		d->init(elem);
		++*n;
		if ((rc = parse_map(c, d->tab, v->kid[i], elem, seen)))
			return rc;
		if (d->check && (rc = d->check(c, v->kid[i], elem, seen)))
			return rc;
		path_pop(c, o);
	}
	return 0;
}

/* ---- the tables -------------------------------------------------------- */

static const struct enum_val severities[] = {
	{ "low", VIGIL_SEV_LOW },
	{ "medium", VIGIL_SEV_MEDIUM },
	{ "high", VIGIL_SEV_HIGH },
	{ "critical", VIGIL_SEV_CRITICAL },
	{ NULL, 0 },
};

static const struct enum_val auto_kinds[] = {
	{ "docker-binaries", VIGIL_AUTO_DOCKER_BINARIES },
	{ "docker-configs", VIGIL_AUTO_DOCKER_CONFIGS },
	{ "docker-layers", VIGIL_AUTO_DOCKER_LAYERS },
	{ NULL, 0 },
};

static const struct enum_val output_types[] = {
	{ "jsonl", VIGIL_OUT_JSONL },
	{ "syslog", VIGIL_OUT_SYSLOG },
	{ "stdout", VIGIL_OUT_STDOUT },
	{ NULL, 0 },
};

/* Facility numbers as in <syslog.h>, shifted down (LOG_DAEMON >> 3 == 3). */
static const struct enum_val facilities[] = {
	{ "kern", 0 }, { "user", 1 }, { "mail", 2 }, { "daemon", 3 }, { "auth", 4 },
	{ "syslog", 5 }, { "lpr", 6 }, { "news", 7 }, { "uucp", 8 }, { "cron", 9 },
	{ "authpriv", 10 }, { "ftp", 11 }, { "local0", 16 }, { "local1", 17 },
	{ "local2", 18 }, { "local3", 19 }, { "local4", 20 }, { "local5", 21 },
	{ "local6", 22 }, { "local7", 23 }, { NULL, 0 },
};

static const struct enum_val sched_actions[] = {
	{ "check", VIGIL_SCHED_CHECK },
	{ "baseline", VIGIL_SCHED_BASELINE },
	{ NULL, 0 },
};

#define SCOPE(f) offsetof(struct vigil_scope, f)
enum { SK_NAME, SK_PATHS, SK_AUTO };
static const struct key scope_keys[] = {
	[SK_NAME] = { "name", p_name, SCOPE(name), 0, 0, NULL, 1 },
	[SK_PATHS] = { "paths", p_paths, SCOPE(paths), 0, 0, NULL, 0 },
	[SK_AUTO] = { "auto", p_enum, SCOPE(auto_kind), 0, 0, auto_kinds, 0 },
	{ "include", p_globs, SCOPE(include), 0, 0, NULL, 0 },
	{ "exclude", p_globs, SCOPE(exclude), 0, 0, NULL, 0 },
	{ "depth", p_int, SCOPE(depth), -1, 65535, NULL, 0 },
	{ "one_filesystem", p_bool, SCOPE(one_filesystem), 0, 0, NULL, 0 },
	{ "attributes", p_attrs, SCOPE(attrs), 0, 0, NULL, 0 },
	{ "severity", p_enum, SCOPE(severity), 0, 0, severities, 0 },
	{ "watch", p_bool, SCOPE(watch), 0, 0, NULL, 0 },
	{ "critical", p_bool, SCOPE(critical), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void scope_init(void *elem)
{
	struct vigil_scope *s = elem;

	s->depth = -1;
	s->one_filesystem = 1;
	s->attrs = VIGIL_ATTR_DEFAULT;
	s->severity = VIGIL_SEV_MEDIUM;
}

static int scope_check(struct ctx *c, const struct node *m, void *elem, const struct node *const *seen)
{
	if (seen[SK_PATHS] && seen[SK_AUTO]) {
		size_t o = path_push(c, "paths", 0);
		int rc = fail(c, seen[SK_PATHS], "'paths' and 'auto' are exclusive (the Docker "
						 "collector fills the paths of an auto scope)");

		path_pop(c, o);
		return rc;
	}
	if (!seen[SK_PATHS] && !seen[SK_AUTO])
		return fail(c, m, "missing required key 'paths' (or 'auto')");
	return 0;
}

#define OUTPUT(f) offsetof(struct vigil_output, f)
enum { OK_TYPE, OK_PATH, OK_TARGET, OK_FACILITY, OK_BACKLOG };
static const struct key output_keys[] = {
	[OK_TYPE] = { "type", p_enum, OUTPUT(type), 0, 0, output_types, 1 },
	[OK_PATH] = { "path", p_path, OUTPUT(path), 0, 0, NULL, 0 },
	[OK_TARGET] = { "target", p_target, OUTPUT(target), 0, 0, NULL, 0 },
	[OK_FACILITY] = { "facility", p_enum, OUTPUT(facility), 0, 0, facilities, 0 },
	[OK_BACKLOG] = { "backlog", p_int, OUTPUT(backlog), 0, 10000000, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void output_init(void *elem)
{
	struct vigil_output *o = elem;

	o->facility = 3; /* daemon */
	o->backlog = 1000;
}

static int output_check(struct ctx *c, const struct node *m, void *elem, const struct node *const *seen)
{
	/* Which keys each type takes, by index in output_keys. */
	static const unsigned allowed[] = {
		[VIGIL_OUT_JSONL] = 1u << OK_TYPE | 1u << OK_PATH,
		[VIGIL_OUT_SYSLOG] = 1u << OK_TYPE | 1u << OK_TARGET | 1u << OK_FACILITY | 1u << OK_BACKLOG,
		[VIGIL_OUT_STDOUT] = 1u << OK_TYPE,
	};
	const struct vigil_output *out = elem;
	char valid[128];
	size_t w = 0;

	for (size_t i = 0; output_keys[i].name; i++) {
		if (allowed[out->type] & (1u << i)) {
			int r = snprintf(valid + w, sizeof(valid) - w, "%s%s", w ? ", " : "", output_keys[i].name);

			if (r > 0 && (size_t)r < sizeof(valid) - w)
				w += (size_t)r;
		}
	}
	for (size_t i = 0; output_keys[i].name; i++) {
		if (seen[i] && !(allowed[out->type] & (1u << i))) {
			size_t o = path_push(c, output_keys[i].name, 0);
			int rc = fail(c, seen[i], "not valid for type %s (valid: %s)",
				      output_types[out->type - 1].name, valid);

			path_pop(c, o);
			return rc;
		}
	}
	if (out->type == VIGIL_OUT_JSONL && !out->path)
		return fail(c, m, "missing required key 'path' for type jsonl");
	return 0;
}

#define SCHED(f) offsetof(struct vigil_schedule, f)
enum { SC_ACTION, SC_EVERY, SC_AT };
static const struct key schedule_keys[] = {
	[SC_ACTION] = { "action", p_enum, SCHED(action), 0, 0, sched_actions, 1 },
	/* every: 1 s to 366 days */
	[SC_EVERY] = { "every", p_seconds64, SCHED(every_s), 1, 366LL * 86400, NULL, 0 },
	[SC_AT] = { "at", p_clock, SCHED(at_min), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void schedule_init(void *elem)
{
	((struct vigil_schedule *)elem)->at_min = -1;
}

static int schedule_check(struct ctx *c, const struct node *m, void *elem,
			  const struct node *const *seen)
{
	if (seen[SC_EVERY] && seen[SC_AT]) {
		size_t o = path_push(c, "at", 0);
		int rc = fail(c, seen[SC_AT], "'every' and 'at' are exclusive");

		path_pop(c, o);
		return rc;
	}
	if (!seen[SC_EVERY] && !seen[SC_AT])
		return fail(c, m, "missing required key 'every' or 'at'");
	return 0;
}

#define CFG(f) offsetof(struct vigil_config, f)
static const struct list_desc scope_list = {
	sizeof(struct vigil_scope), CFG(scopes), CFG(n_scopes), scope_keys, scope_init, scope_check, 1,
};
static const struct list_desc output_list = {
	sizeof(struct vigil_output), CFG(outputs), CFG(n_outputs), output_keys, output_init,
	output_check, 0,
};
static const struct list_desc schedule_list = {
	sizeof(struct vigil_schedule), CFG(schedules), CFG(n_schedules), schedule_keys,
	schedule_init, schedule_check, 0,
};

static const struct key watch_keys[] = {
	{ "debounce_ms", p_int, CFG(debounce_ms), 0, 60000, NULL, 0 },
	{ "rescan_interval", p_seconds, CFG(rescan_interval_s), 0, 366LL * 86400, NULL, 0 },
	{ "control_socket", p_path, CFG(control_socket), 0, SUN_PATH_MAX - 1, NULL, 0 },
	{ "pid_file", p_path, CFG(pid_file), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static const struct key audit_keys[] = {
	{ "enabled", p_bool, CFG(audit_enabled), 0, 0, NULL, 0 },
	{ "install_rules", p_bool, CFG(audit_install_rules), 0, 0, NULL, 0 },
	{ "execve", p_bool, CFG(audit_execve), 0, 0, NULL, 0 },
	{ "execve_rules", p_bool, CFG(audit_execve_rules), 0, 0, NULL, 0 },
	{ "window_ms", p_int, CFG(audit_window_ms), 0, 600000, NULL, 0 },
	{ "exec_rate", p_int, CFG(audit_exec_rate), 0, 1000000, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

enum { TK_SCOPES = 4, TK_OUTPUTS = 6 };
static const struct key top_keys[] = {
	{ "state_dir", p_path, CFG(state_dir), 0, 0, NULL, 0 },
	{ "hash", p_algos, CFG(algos), 0, 0, NULL, 0 },
	{ "threads", p_int, CFG(threads), 0, 1024, NULL, 0 },
	{ "max_file_size", p_size, CFG(max_file_size), 0, 0, NULL, 0 },
	[TK_SCOPES] = { "scopes", p_list, 0, 0, 0, &scope_list, 1 },
	{ "watch", p_submap, 0, 0, 0, watch_keys, 0 },
	[TK_OUTPUTS] = { "outputs", p_list, 0, 0, 0, &output_list, 0 },
	{ "schedule", p_list, 0, 0, 0, &schedule_list, 0 },
	{ "audit", p_submap, 0, 0, 0, audit_keys, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* ---- whole-config rules ------------------------------------------------ */

struct name_ref {
	const char *name;
	size_t idx;
};

static int name_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Scope names must be unique; sorting keeps this O(n log n) on hostile input.
 * The message names the second use, at its line, and the first one's line. */
static int check_scope_names(struct ctx *c, const struct vigil_config *cfg, const struct node *scopes)
{
	struct name_ref *r;
	size_t dup = SIZE_MAX, first = 0;
	int rc = 0;

	if (cfg->n_scopes < 2)
		return 0;
	if (!(r = malloc(cfg->n_scopes * sizeof(*r))))
		return nomem(c);
	for (size_t i = 0; i < cfg->n_scopes; i++)
		r[i] = (struct name_ref){ cfg->scopes[i].name, i };
	qsort(r, cfg->n_scopes, sizeof(*r), name_cmp);
	for (size_t i = 1, lead = 0; i < cfg->n_scopes; i++) {
		if (strcmp(r[i].name, r[lead].name)) {
			lead = i;
		} else if (r[i].idx < dup) {
			dup = r[i].idx;
			first = r[lead].idx;
		}
	}
	if (dup != SIZE_MAX) {
		const struct node *dn = map_get(scopes->kid[dup], "name");
		const struct node *fn = map_get(scopes->kid[first], "name");
		char shown[96];
		size_t o = path_push(c, "scopes", 0);

		path_push(c, NULL, dup);
		path_push(c, "name", 0);
		rc = fail(c, dn, "duplicate scope name '%s' (first at line %lu)",
			  show(dn->str, dn->len, shown, sizeof(shown)), fn->line);
		path_pop(c, o);
	}
	free(r);
	return rc;
}

static int set_str(char **field, const char *s)
{
	free(*field);
	*field = strdup(s);
	return *field ? 0 : -ENOMEM;
}

static int config_defaults(struct vigil_config *cfg)
{
	cfg->algos = VIGIL_ALGOS_DEFAULT;
	cfg->debounce_ms = 300;
	cfg->rescan_interval_s = 300;
	cfg->audit_enabled = 1;
	cfg->audit_install_rules = 1;
	cfg->audit_execve = 1;
	cfg->audit_execve_rules = 0;
	cfg->audit_window_ms = 2000;
	cfg->audit_exec_rate = 1000;
	if (set_str(&cfg->state_dir, "/var/lib/vigil") ||
	    set_str(&cfg->control_socket, "/run/vigil/control.sock") ||
	    set_str(&cfg->pid_file, "/run/vigil/vigil.pid"))
		return -ENOMEM;
	return 0;
}

/* ---- public ------------------------------------------------------------ */

int vigil_config_parse(const char *name, const char *text, size_t len, struct vigil_config **out,
		       struct vigil_err *err)
{
	const struct node *seen[CONFIG_MAX_KEYS] = { 0 };
	struct ctx c = { .name = name ? name : "(config)", .text = text, .len = len, .err = err };
	struct vigil_config *cfg = NULL;
	struct node *root = NULL;
	int rc;

	*out = NULL;
	if (len > CONFIG_MAX_BYTES) {
		rc = vigil_err_set(err, -EINVAL, "%s: %zu bytes, larger than the %d byte limit", c.name,
				   len, CONFIG_MAX_BYTES);
		goto out;
	}
	if ((rc = build_tree(&c, &root)))
		goto out;
	if (!root || is_null(root)) {
		rc = fail_at(&c, 1, 1, "empty config, expected a mapping of settings");
		goto out;
	}
	if (!(cfg = calloc(1, sizeof(*cfg))) || config_defaults(cfg) ||
	    !(cfg->source = strdup(name ? name : EMBEDDED_NAME))) {
		rc = nomem(&c);
		goto out;
	}
	if ((rc = parse_map(&c, top_keys, root, cfg, seen)))
		goto out;
	if ((rc = check_scope_names(&c, cfg, seen[TK_SCOPES])))
		goto out;
	if (!seen[TK_OUTPUTS]) {
		if (!(cfg->outputs = calloc(1, sizeof(*cfg->outputs)))) {
			rc = nomem(&c);
			goto out;
		}
		output_init(cfg->outputs);
		cfg->outputs->type = VIGIL_OUT_STDOUT;
		cfg->n_outputs = 1;
	}
	*out = cfg;
	cfg = NULL;
out:
	node_free(root);
	vigil_config_free(cfg);
	return rc;
}

const char *vigil_config_installed_file(void)
{
	return INSTALLED_FILE;
}

int vigil_config_load_embedded(struct vigil_config **out, struct vigil_err *err)
{
	const char *def = vigil_config_default_text();

	return vigil_config_parse(EMBEDDED_NAME, def, strlen(def), out, err);
}

int vigil_config_load(const char *file, struct vigil_config **out, struct vigil_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd = -1, rc;

	*out = NULL;
	if (!file) {
		struct stat sb;

		/* Only a file that is not there falls back: one that cannot be
		 * read is an error, never a silent switch to the default. */
		if (lstat(INSTALLED_FILE, &sb) < 0 && (errno == ENOENT || errno == ENOTDIR))
			return vigil_config_load_embedded(out, err);
		file = INSTALLED_FILE;
	}
	/* Symlinks are followed: the admin names this file, and a link to a
	 * managed config is common.  O_NONBLOCK so a FIFO cannot hang us
	 * before fstat refuses it. */
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = vigil_err_set(err, -errno, "config file '%s': %s", file, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st)) {
		rc = vigil_err_set(err, -errno, "config file '%s': fstat: %s", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = vigil_err_set(err, -EINVAL, "config file '%s': not a regular file", file);
		goto out;
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		rc = vigil_err_set(err, -EINVAL, "config file '%s': %lld bytes, larger than the %d byte limit",
				   file, (long long)st.st_size, CONFIG_MAX_BYTES);
		goto out;
	}
	if (!(buf = malloc(CONFIG_MAX_BYTES + 1))) {
		rc = vigil_err_set(err, -ENOMEM, "config file '%s': out of memory", file);
		goto out;
	}
	/* Reads one byte past the limit so a file that grew since fstat is
	 * still refused rather than cut. */
	for (;;) {
		ssize_t r = read(fd, buf + got, CONFIG_MAX_BYTES + 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = vigil_err_set(err, -errno, "config file '%s': read: %s", file, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > CONFIG_MAX_BYTES) {
			rc = vigil_err_set(err, -EINVAL, "config file '%s': larger than the %d byte limit",
					   file, CONFIG_MAX_BYTES);
			goto out;
		}
	}
	rc = vigil_config_parse(file, buf, got, out, err);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static void scope_clear(struct vigil_scope *s)
{
	free(s->name);
	strv_clear(&s->paths);
	strv_clear(&s->include);
	strv_clear(&s->exclude);
}

void vigil_config_free(struct vigil_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_scopes; i++)
		scope_clear(&cfg->scopes[i]);
	free(cfg->scopes);
	for (size_t i = 0; i < cfg->n_outputs; i++) {
		free(cfg->outputs[i].path);
		free(cfg->outputs[i].target);
	}
	free(cfg->outputs);
	free(cfg->schedules);
	free(cfg->source);
	free(cfg->state_dir);
	free(cfg->control_socket);
	free(cfg->pid_file);
	free(cfg);
}

const char *vigil_severity_name(int sev)
{
	for (const struct enum_val *e = severities; e->name; e++)
		if (e->value == sev)
			return e->name;
	return "?";
}
