/* walk_plan.c - the walker's plan: config paths (globs expanded inside the
 * root, narrowed by opts->only) become starts, in config order, each knowing
 * the starts at or below its root. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vigil/attr.h"
#include "vigil/clock.h"
#include "vigil/rootfs.h"
#include "vigil/scope.h"
#include "vigil/walk.h"

#include "walk_priv.h"

/* --- building the starts --------------------------------------------------- */

static int add_start(struct walk *w, const struct vigil_scope *s, const char *root, size_t len,
		     int e_ncomp)
{
	struct start *n = realloc(w->starts, (w->n_starts + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	w->starts = n;
	n = &w->starts[w->n_starts];
	memset(n, 0, sizeof(*n));
	n->root = strndup(root, len);
	if (!n->root)
		return -ENOMEM;
	n->root_len = len;
	n->e_ncomp = e_ncomp;
	n->scope = s;
	w->n_starts++;
	return 0;
}

static int add_expansion(struct walk *w, const struct vigil_scope *s, const char *e, size_t el)
{
	const char *const *only = w->opts->only;
	int en = vigil_scope_ncomp(e, el), rc = 0;

	while (el > 1 && e[el - 1] == '/')
		el--;
	if (!only)
		return add_start(w, s, e, el, en);
	for (size_t i = 0; only[i] && !rc; i++) {
		size_t ol = strlen(only[i]);

		while (ol > 1 && only[i][ol - 1] == '/')
			ol--;
		if (vigil_scope_at_or_below(only[i], ol, e, el))
			rc = add_start(w, s, only[i], ol, en);
		else if (vigil_scope_at_or_below(e, el, only[i], ol))
			rc = add_start(w, s, e, el, en);
	}
	return rc;
}

static int escape_glob(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in; in++) {
		if (strchr("*?[\\", *in)) {
			if (o + 1 >= size)
				return -ENAMETOOLONG;
			out[o++] = '\\';
		}
		if (o + 1 >= size)
			return -ENAMETOOLONG;
		out[o++] = *in;
	}
	out[o] = '\0';
	return 0;
}

static int expand(struct walk *w, const struct vigil_scope *s, const char *pat)
{
	char buf[2 * PATH_MAX];
	size_t rl = w->confined ? strlen(w->rootdir) : 0, bl;
	glob_t g;
	int rc = 0, n;

	if (pat[0] != '/')
		return 0; /* the config refuses relative paths; never walk the cwd */
	if (!vigil_scope_has_glob(pat))
		return add_expansion(w, s, pat, strlen(pat));
	if (w->confined) {
		rc = escape_glob(w->rootdir, buf, sizeof(buf));
		if (rc)
			return vigil_err_set(w->err, rc, "root '%s': path too long", w->rootdir);
	} else {
		buf[0] = '\0';
	}
	bl = strlen(buf);
	n = snprintf(buf + bl, sizeof(buf) - bl, "%s", pat);
	if (n < 0 || (size_t)n >= sizeof(buf) - bl)
		return vigil_err_set(w->err, -ENAMETOOLONG, "scope '%s': path '%s' too long",
				     s->name, pat);
	n = glob(buf, GLOB_NOSORT, NULL, &g);
	if (n == GLOB_NOSPACE) {
		globfree(&g);
		return vigil_err_set(w->err, -ENOMEM, "scope '%s': glob '%s': out of memory",
				     s->name, pat);
	}
	if (n) { /* no match, or unreadable directories on the way: nothing there */
		globfree(&g);
		return 0;
	}
	for (size_t i = 0; i < g.gl_pathc && !rc; i++) {
		const char *m = g.gl_pathv[i];

		if (rl && (strlen(m) < rl || memcmp(m, w->rootdir, rl)))
			continue;
		m += rl;
		rc = add_expansion(w, s, *m ? m : "/", *m ? strlen(m) : 1);
	}
	globfree(&g);
	return rc;
}

int walk_plan(struct walk *w)
{
	const struct vigil_config *cfg = w->opts->cfg;
	int rc = 0;

	for (size_t i = 0; i < cfg->n_scopes && !rc; i++)
		for (size_t p = 0; p < cfg->scopes[i].paths.n && !rc; p++)
			rc = expand(w, &cfg->scopes[i], cfg->scopes[i].paths.v[p]);
	if (rc)
		return rc;
	/* which starts lie at or below which: O(starts^2) once, typically a few hundred */
	for (size_t k = 0; k < w->n_starts; k++) {
		struct start *s = &w->starts[k];

		for (size_t c = 0; c < w->n_starts; c++) {
			const struct start *o = &w->starts[c];
			size_t *nb;

			if (c == k || !vigil_scope_at_or_below(o->root, o->root_len, s->root, s->root_len))
				continue;
			nb = realloc(s->below, (s->n_below + 1) * sizeof(*nb));
			if (!nb)
				return -ENOMEM;
			s->below = nb;
			s->below[s->n_below++] = c;
		}
	}
	return 0;
}

void walk_free_starts(struct walk *w)
{
	for (size_t k = 0; k < w->n_starts; k++) {
		free(w->starts[k].root);
		free(w->starts[k].below);
		free(w->starts[k].covered_by);
	}
	free(w->starts);
}
