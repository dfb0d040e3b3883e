/* config_priv.h - what the config parser's files share; not an API.
 *
 * config_yaml.c (pass 1: libyaml's events to a tree of nodes, and the
 * messages that name file:line:column and the key path), config_value.c
 * (pass 2's table walker and the scalar value parsers), config_list.c (lists,
 * globs, attributes, names, targets, sub-maps and lists of maps), config.c
 * (the key tables, the whole-config rules, loading).  Functions named
 * config_* here are shared between those files only.
 */
#ifndef VIGIL_CONFIG_PRIV_H
#define VIGIL_CONFIG_PRIV_H

#include <stddef.h>

#include "vigil/config.h"
#include "vigil/err.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
#define CONFIG_MAX_DEPTH 32
#define CONFIG_MAX_KEYS 32 /* keys in one table */
#define SUN_PATH_MAX 108

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

struct ctx {
	const char *name;      /* file name for messages */
	const char *text;
	size_t len;
	struct vigil_err *err;
	char path[256];        /* key path being parsed, shown in messages */
	size_t path_len;
};

#define fail(c, n, ...) config_fail_at((c), (n)->line, (n)->col, __VA_ARGS__)

struct key;
typedef int (*parse_fn)(struct ctx *c, const struct key *k, const struct node *v, void *obj);

struct key {
	const char *name;
	parse_fn parse;
	size_t off;            /* field in the object being filled */
	long long min, max;    /* numbers: bounds; paths: max length when max > 0; globs: min 1 = name globs */
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
	void (*init)(void *elem); /* NULL: zeroed is the default */
	/* Cross-key rules; seen[i] is the value of tab[i] or NULL. */
	int (*check)(struct ctx *c, const struct node *m, void *elem, const struct node *const *seen);
	int non_empty;
};

#define FIELD(obj, k, type) ((type *)(void *)((char *)(obj) + (k)->off))

int config_fail_at(struct ctx *c, unsigned long line, unsigned long col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void config_node_free(struct node *n);
const char *config_show(const char *s, size_t len, char *buf, size_t size);
int config_nomem(struct ctx *c);
size_t config_path_push(struct ctx *c, const char *key, size_t idx);
void config_path_pop(struct ctx *c, size_t old);
int config_build_tree(struct ctx *c, struct node **root);
int config_is_null(const struct node *v);
const char *config_kind_name(const struct node *v);
int config_want_scalar(struct ctx *c, const struct node *v, const char *what);
int config_bad_value(struct ctx *c, const struct node *v, const char *what);
const struct node *config_map_get(const struct node *m, const char *name);
int config_parse_map(struct ctx *c, const struct key *tab, const struct node *m, void *obj,
		     const struct node **seen);
int config_parse_ll(const char *s, long long *out);
int config_p_int(struct ctx *c, const struct key *k, const struct node *v, void *obj);
int config_p_bool(struct ctx *c, const struct key *k, const struct node *v, void *obj);
int config_p_enum(struct ctx *c, const struct key *k, const struct node *v, void *obj);
int config_p_size(struct ctx *c, const struct key *k, const struct node *v, void *obj);
int config_p_seconds(struct ctx *c, const struct key *k, const struct node *v, void *obj);
int config_p_seconds64(struct ctx *c, const struct key *k, const struct node *v, void *obj);
int config_path_value(struct ctx *c, const struct key *k, const struct node *v, char **out);
int config_p_path(struct ctx *c, const struct key *k, const struct node *v, void *obj);
void config_strv_clear(struct vigil_strv *sv);
int config_p_paths(struct ctx *c, const struct key *k, const struct node *v, void *obj);
int config_p_globs(struct ctx *c, const struct key *k, const struct node *v, void *obj);
int config_p_attrs(struct ctx *c, const struct key *k, const struct node *v, void *obj);
int config_p_algos(struct ctx *c, const struct key *k, const struct node *v, void *obj);
int config_p_name(struct ctx *c, const struct key *k, const struct node *v, void *obj);
int config_p_target(struct ctx *c, const struct key *k, const struct node *v, void *obj);
int config_p_clock(struct ctx *c, const struct key *k, const struct node *v, void *obj);
int config_p_submap(struct ctx *c, const struct key *k, const struct node *v, void *obj);
int config_p_list(struct ctx *c, const struct key *k, const struct node *v, void *obj);

#endif
