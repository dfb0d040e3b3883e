/* scope.h - which scope a path belongs to, decided from the path alone, and
 * the config traps that follow from the rules.
 *
 * The rules (shared by the walker and vigil_scope_for()):
 *  - scope paths are fnmatch(FNM_PATHNAME|FNM_PERIOD) patterns, like glob();
 *    a path is under a pattern when its first components match it, its depth
 *    is the number of components below;
 *  - exclude globs (fnmatch flags 0: '*' also matches '/') prune: a path is
 *    excluded when it or any ancestor matches;
 *  - include globs (same flags) filter records only;
 *  - the first scope in config order that selects a path wins;
 *  - the state dir (and everything in it) belongs to no scope: vigil's own
 *    database changes on every run and must never be reported.
 * Paths are byte strings with a length; no trailing slash except "/".
 */
#ifndef VIGIL_SCOPE_H
#define VIGIL_SCOPE_H

#include <stddef.h>

#include "vigil/config.h"

/* Number of components of p ("/" has 0). */
int vigil_scope_ncomp(const char *p, size_t len);
/* p holds a glob character (* ? [ or an escape). */
int vigil_scope_has_glob(const char *p);
/* b is a or below a ("/" is above all). */
int vigil_scope_at_or_below(const char *b, size_t bl, const char *a, size_t al);
/* path (NUL-terminated) matches one of the globs in v (fnmatch flags 0). */
int vigil_scope_match_any(const struct vigil_strv *v, const char *path);
/* Depth of path below pattern pat, or -1 when it is not at or below a match. */
int vigil_scope_depth_under(const char *pat, const char *path, size_t len);
/* path or one of its ancestors matches one of s's exclude globs. */
int vigil_scope_excluded(const struct vigil_scope *s, const char *path, size_t len);
/* s selects path: under one of its paths within its depth, not excluded,
 * included. */
int vigil_scope_selects(const struct vigil_scope *s, const char *path, size_t len);
/* path is cfg's state dir or inside it (lexically). */
int vigil_scope_in_state_dir(const struct vigil_config *cfg, const char *path, size_t len);
/* The scope that selects path (first in config order), NULL if none or
 * when path is in the state dir. */
const struct vigil_scope *vigil_scope_for(const struct vigil_config *cfg, const char *path, size_t len);

/* The config's silent traps, each told once through fn (one line, no
 * trailing newline): a scope whose walk reaches a path of a later scope (the
 * first scope wins, so the later, more specific one never gets it), and a
 * state dir inside a scope (left out automatically: said so the admin is not
 * surprised).  is_warning is 0 for the latter.  Returns the number of
 * warnings (is_warning 1). */
typedef void (*vigil_scope_lint_fn)(void *arg, int is_warning, const char *msg);
size_t vigil_scope_lint(const struct vigil_config *cfg, vigil_scope_lint_fn fn, void *arg);

#endif
