/* config_yaml.c - the config parser's first pass: libyaml's event stream
 * to a small tree of scalars, sequences and mappings (refusing anchors, aliases,
 * tags, NUL bytes, more than one document, deep nesting), and the messages
 * that name file:line:column and the key path. */
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



/* ---- tree ------------------------------------------------------------- */



void config_node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		config_node_free(n->kid[i]);
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


/* Copies at most ~60 bytes of s for a message, control bytes as \xNN, so a
 * hostile value can neither flood nor garble the log line. */
const char *config_show(const char *s, size_t len, char *buf, size_t size)
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

int config_fail_at(struct ctx *c, unsigned long line, unsigned long col, const char *fmt, ...)
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


int config_nomem(struct ctx *c)
{
	return vigil_err_set(c->err, -ENOMEM, "%s: out of memory", c->name);
}

/* Appends ".key" or "[i]" to the key path; returns the length to restore.  A
 * path too long for the buffer ends in "..." (messages only). */
size_t config_path_push(struct ctx *c, const char *key, size_t idx)
{
	size_t old = c->path_len, room = sizeof(c->path) - old;
	char shown[96];
	int w;

	if (key)
		w = snprintf(c->path + old, room, "%s%s", old ? "." : "",
			     config_show(key, strlen(key), shown, sizeof(shown)));
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

void config_path_pop(struct ctx *c, size_t old)
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
		return config_nomem(c);
	if (p->error == YAML_READER_ERROR) {
		offset_to_mark(c, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			return config_fail_at(c, line, col, "yaml: %s (#%X)", p->problem ? p->problem : "bad input",
				       (unsigned)p->problem_value);
		return config_fail_at(c, line, col, "yaml: %s", p->problem ? p->problem : "bad input");
	}
	if (p->context)
		return config_fail_at(c, p->problem_mark.line + 1, p->problem_mark.column + 1,
			       "yaml syntax error: %s (%s at line %lu column %lu)",
			       p->problem ? p->problem : "unknown problem", p->context,
			       (unsigned long)p->context_mark.line + 1,
			       (unsigned long)p->context_mark.column + 1);
	return config_fail_at(c, p->problem_mark.line + 1, p->problem_mark.column + 1, "yaml syntax error: %s",
		       p->problem ? p->problem : "unknown problem");
}

/* What an event may not carry, whatever its place. */
static int refuse_extras(struct ctx *c, const yaml_event_t *ev, const yaml_char_t *anchor,
			 const yaml_char_t *tag)
{
	char shown[96];
	unsigned long line = ev->start_mark.line + 1, col = ev->start_mark.column + 1;

	if (anchor)
		return config_fail_at(c, line, col, "anchors and aliases are not supported (anchor '&%s')",
			       config_show((const char *)anchor, strlen((const char *)anchor), shown, sizeof(shown)));
	if (tag)
		return config_fail_at(c, line, col, "tags are not supported ('%s')",
			       config_show((const char *)tag, strlen((const char *)tag), shown, sizeof(shown)));
	return 0;
}

/* Where pass 1 is: the open sequences and mappings, documents seen. */
struct build {
	struct node *stack[CONFIG_MAX_DEPTH];
	int depth, docs, done;
};

/* What one event means: *kind the node it starts (-1 for none); an error
 * for what is refused. */
static int event_kind(struct ctx *c, const yaml_event_t *ev, struct build *b, int *kind)
{
	char shown[96];

	*kind = -1;
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		b->done = 1;
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (++b->docs > 1)
			return config_fail_at(c, ev->start_mark.line + 1, ev->start_mark.column + 1,
					      "only one YAML document is allowed");
		return 0;
	case YAML_ALIAS_EVENT:
		return config_fail_at(c, ev->start_mark.line + 1, ev->start_mark.column + 1,
				      "anchors and aliases are not supported (alias '*%s')",
				      config_show((const char *)ev->data.alias.anchor,
						  strlen((const char *)ev->data.alias.anchor), shown, sizeof(shown)));
	case YAML_SCALAR_EVENT:
		*kind = N_SCALAR;
		return refuse_extras(c, ev, ev->data.scalar.anchor, ev->data.scalar.tag);
	case YAML_SEQUENCE_START_EVENT:
		*kind = N_SEQ;
		return refuse_extras(c, ev, ev->data.sequence_start.anchor,
				     ev->data.sequence_start.implicit ? NULL : ev->data.sequence_start.tag);
	case YAML_MAPPING_START_EVENT:
		*kind = N_MAP;
		return refuse_extras(c, ev, ev->data.mapping_start.anchor,
				     ev->data.mapping_start.implicit ? NULL : ev->data.mapping_start.tag);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		b->depth--;
		return 0;
	default:
		return 0;
	}
}

/* A node of kind for ev, added to the open collection (or as the root). */
static int add_node(struct ctx *c, const yaml_event_t *ev, int kind, struct build *b, struct node **root)
{
	struct node *parent = b->depth ? b->stack[b->depth - 1] : NULL, *n = calloc(1, sizeof(*n));

	if (!n)
		return config_nomem(c);
	n->kind = kind;
	n->line = ev->start_mark.line + 1;
	n->col = ev->start_mark.column + 1;
	if (parent ? node_add(parent, n) : *root != NULL) {
		int rc = parent ? config_nomem(c) : fail(c, n, "more than one top-level value");

		config_node_free(n);
		return rc;
	}
	if (!parent)
		*root = n;
	if (parent && parent->kind == N_MAP && parent->n % 2 && kind != N_SCALAR)
		return fail(c, n, "mapping keys must be scalars");
	if (kind != N_SCALAR) {
		if (b->depth == CONFIG_MAX_DEPTH)
			return fail(c, n, "nested deeper than %d levels", CONFIG_MAX_DEPTH);
		b->stack[b->depth++] = n;
		return 0;
	}
	n->len = ev->data.scalar.length;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	/* Refused where the value is used, so the message can name the key. */
	n->nul = memchr(ev->data.scalar.value, '\0', n->len) != NULL;
	if (!(n->str = malloc(n->len + 1)))
		return config_nomem(c);
	memcpy(n->str, ev->data.scalar.value, n->len);
	n->str[n->len] = '\0';
	return 0;
}

int config_build_tree(struct ctx *c, struct node **root)
{
	struct build b = { .depth = 0 };
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = 0;

	*root = NULL;
	memset(&ev, 0, sizeof(ev));
	if (!yaml_parser_initialize(&p))
		return config_nomem(c);
	yaml_parser_set_input_string(&p, (const unsigned char *)c->text, c->len);
	while (!b.done && !rc) {
		int kind;

		if (!yaml_parser_parse(&p, &ev)) {
			rc = syntax_error(c, &p);
			break;
		}
		rc = event_kind(c, &ev, &b, &kind);
		if (!rc && kind >= 0)
			rc = add_node(c, &ev, kind, &b, root);
		yaml_event_delete(&ev);
	}
	yaml_event_delete(&ev);
	yaml_parser_delete(&p);
	if (rc) {
		config_node_free(*root);
		*root = NULL;
	}
	return rc;
}
