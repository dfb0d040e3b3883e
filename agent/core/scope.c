/* scope.c - which scope a path belongs to, from the path alone (the rules
 * are in include/vigil/scope.h), and vigil_scope_lint(), which finds the
 * config traps those rules set: a broad scope that shadows a later, more
 * specific one, and a state dir inside a scope. */
#include "config.h"

#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/scope.h"

int vigil_scope_ncomp(const char *p, size_t len)
{
	int n = 0;

	for (size_t i = 0; i < len; i++)
		if (p[i] != '/' && (i == 0 || p[i - 1] == '/'))
			n++;
	return n;
}

int vigil_scope_has_glob(const char *p)
{
	return strpbrk(p, "*?[\\") != NULL;
}

int vigil_scope_at_or_below(const char *b, size_t bl, const char *a, size_t al)
{
	if (al == 1 && a[0] == '/')
		return 1;
	return bl >= al && !memcmp(a, b, al) && (bl == al || b[al] == '/');
}

int vigil_scope_match_any(const struct vigil_strv *v, const char *path)
{
	for (size_t i = 0; i < v->n; i++)
		if (fnmatch(v->v[i], path, 0) == 0)
			return 1;
	return 0;
}

int vigil_scope_depth_under(const char *pat, const char *path, size_t len)
{
	size_t plen = strlen(pat), end = 0;
	int np, n, d;
	char small[PATH_MAX], *buf = small;

	while (plen > 1 && pat[plen - 1] == '/')
		plen--;
	np = vigil_scope_ncomp(pat, plen);
	n = vigil_scope_ncomp(path, len);
	if (n < np)
		return -1;
	if (np == 0)
		return n;
	/* end of the np-th component of path */
	for (int c = 0; end < len; end++)
		if (path[end] != '/' && (end == 0 || path[end - 1] == '/') && ++c > np)
			break;
	while (end > 0 && path[end - 1] == '/')
		end--;
	if (!vigil_scope_has_glob(pat))
		return end == plen && !memcmp(pat, path, plen) ? n - np : -1;
	if (end + 1 > sizeof(small)) {
		buf = malloc(end + 1);
		if (!buf)
			return -1;
	}
	memcpy(buf, path, end);
	buf[end] = '\0';
	if (plen != strlen(pat)) {
		/* trailing slashes in the pattern: match without them */
		char *p2 = strndup(pat, plen);

		d = p2 && fnmatch(p2, buf, FNM_PATHNAME | FNM_PERIOD) == 0 ? n - np : -1;
		free(p2);
	} else {
		d = fnmatch(pat, buf, FNM_PATHNAME | FNM_PERIOD) == 0 ? n - np : -1;
	}
	if (buf != small)
		free(buf);
	return d;
}

/* path as a C string for fnmatch: in small when it fits, else malloc'd
 * (free it when it is not small); NULL on ENOMEM. */
static char *cstr(const char *path, size_t len, char *small, size_t size)
{
	char *buf = len + 1 > size ? malloc(len + 1) : small;

	if (buf) {
		memcpy(buf, path, len);
		buf[len] = '\0';
	}
	return buf;
}

int vigil_scope_excluded(const struct vigil_scope *s, const char *path, size_t len)
{
	char small[PATH_MAX], *buf;
	int hit = 0;

	if (!s->exclude.n)
		return 0;
	buf = cstr(path, len, small, sizeof(small));
	if (!buf)
		return 0;
	for (size_t i = 1; i <= len && !hit; i++) {
		if (i < len && buf[i] != '/')
			continue;
		buf[i] = '\0';
		hit = vigil_scope_match_any(&s->exclude, buf);
		if (i < len)
			buf[i] = '/';
	}
	if (buf != small)
		free(buf);
	return hit;
}

int vigil_scope_selects(const struct vigil_scope *s, const char *path, size_t len)
{
	int best = -1;
	char small[PATH_MAX], *buf;
	int inc = 1;

	for (size_t i = 0; i < s->paths.n; i++) {
		int d = vigil_scope_depth_under(s->paths.v[i], path, len);

		if (d >= 0 && (best < 0 || d < best))
			best = d;
	}
	if (best < 0 || (s->depth >= 0 && best > s->depth) || vigil_scope_excluded(s, path, len))
		return 0;
	if (!s->include.n)
		return 1;
	buf = cstr(path, len, small, sizeof(small));
	if (!buf)
		return 0;
	inc = vigil_scope_match_any(&s->include, buf);
	if (buf != small)
		free(buf);
	return inc;
}

int vigil_scope_in_state_dir(const struct vigil_config *cfg, const char *path, size_t len)
{
	size_t n = cfg && cfg->state_dir ? strlen(cfg->state_dir) : 0;

	while (n > 1 && cfg->state_dir[n - 1] == '/')
		n--;
	return n && cfg->state_dir[0] == '/' && vigil_scope_at_or_below(path, len, cfg->state_dir, n);
}

const struct vigil_scope *vigil_scope_for(const struct vigil_config *cfg, const char *path, size_t len)
{
	if (!cfg || !path)
		return NULL;
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (vigil_scope_in_state_dir(cfg, path, len))
		return NULL;
	for (size_t i = 0; i < cfg->n_scopes; i++)
		if (vigil_scope_selects(&cfg->scopes[i], path, len))
			return &cfg->scopes[i];
	return NULL;
}

/* --- config traps ------------------------------------------------------------ */

/* Length of the literal part of a scope path: the components before the first
 * one that holds a glob ("/usr/lib/ * /x" -> "/usr/lib"; "/" at least). */
static size_t literal_len(const char *p)
{
	size_t n = strlen(p), g = strcspn(p, "*?[\\"), end;

	while (n > 1 && p[n - 1] == '/')
		n--;
	if (g >= n)
		return n;
	for (end = g; end > 0 && p[end] != '/'; end--)
		;
	return end ? end : 1;
}

/* Scope s's walk reaches path (len bytes): under one of its paths, within its
 * depth, not excluded.  Its include globs only filter records, so they do not
 * matter here. */
static int reaches(const struct vigil_scope *s, const char *path, size_t len, const char **via)
{
	for (size_t i = 0; i < s->paths.n; i++) {
		int d = vigil_scope_depth_under(s->paths.v[i], path, len);

		if (d >= 0 && (s->depth < 0 || d <= s->depth) && !vigil_scope_excluded(s, path, len)) {
			*via = s->paths.v[i];
			return 1;
		}
	}
	return 0;
}

static void say(vigil_scope_lint_fn fn, void *arg, int is_warning, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void say(vigil_scope_lint_fn fn, void *arg, int is_warning, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(arg, is_warning, msg);
}

/* Every path of scope j that an earlier scope i reaches: one warning per pair
 * of scopes (the first such path), so a long list does not drown the rest. */
static size_t lint_shadows(const struct vigil_config *cfg, size_t j, vigil_scope_lint_fn fn, void *arg)
{
	const struct vigil_scope *sj = &cfg->scopes[j];
	size_t warned = 0;

	for (size_t i = 0; i < j; i++) {
		const struct vigil_scope *si = &cfg->scopes[i];

		for (size_t k = 0; k < sj->paths.n; k++) {
			const char *q = sj->paths.v[k], *via = NULL;
			size_t ql = literal_len(q);

			if (vigil_scope_in_state_dir(cfg, q, ql) || !reaches(si, q, ql, &via))
				continue;
			say(fn, arg, 1, "scope '%s' (path '%s') shadows the later scope '%s' (path '%s'): the "
			    "first scope that reaches a path wins, so what '%s' names is recorded with the "
			    "attributes and severity of '%s' (move '%s' before '%s', or exclude '%.*s' from '%s')",
			    si->name, via, sj->name, q, sj->name, si->name, sj->name, si->name, (int)ql, q, si->name);
			warned++;
			break;
		}
	}
	return warned;
}

size_t vigil_scope_lint(const struct vigil_config *cfg, vigil_scope_lint_fn fn, void *arg)
{
	size_t warned = 0;

	for (size_t j = 0; j < cfg->n_scopes; j++)
		warned += lint_shadows(cfg, j, fn, arg);
	if (cfg->state_dir && cfg->state_dir[0] == '/') {
		size_t n = strlen(cfg->state_dir);

		while (n > 1 && cfg->state_dir[n - 1] == '/')
			n--;
		for (size_t i = 0; i < cfg->n_scopes; i++) {
			const char *via = NULL;

			if (!reaches(&cfg->scopes[i], cfg->state_dir, n, &via))
				continue;
			say(fn, arg, 0, "state dir '%s' is inside scope '%s' (path '%s'): it is left out of "
			    "every walk, so vigil never reports its own database", cfg->state_dir,
			    cfg->scopes[i].name, via);
			break;
		}
	}
	return warned;
}
