/* inotify.h - the recursive inotify watcher behind `vigil watch`.
 *
 * Lifecycle:
 *   vigil_inotify_new(fn, watch_dir, ctx, &w, err)
 *   vigil_inotify_add_root(w, "/etc/docker", one_fs) ...   scope paths, globs allowed
 *   register vigil_inotify_fd(w) with the loop; on EPOLLIN call vigil_inotify_process(w)
 *   vigil_inotify_flush(w) now and then (the daemon does it on its debounce timer)
 *   after VIGIL_INOTIFY_OVERFLOW: vigil_inotify_resync(w), then rescan the scopes
 *   every rescan interval while vigil_inotify_stats().unwatched > 0: vigil_inotify_retry(w)
 *   vigil_inotify_free(w)
 *
 * What it guarantees: every directory below a root is watched (unless
 * watch_dir() says no, one_fs stops at a mount point, or the kernel refuses a
 * watch, which is reported); a directory that appears later is watched and
 * then read, and every entry found is reported, so files created before the
 * watch took effect are not missed; a root that does not exist yet, or is
 * deleted and recreated, is picked up through a watch on its parent, whose
 * entries are matched against the root's last component (an fnmatch glob).
 * Globs in earlier components are expanded when the root is added and at
 * every resync.
 *
 * Memory: one node per watched directory, holding its wd, its name (not its
 * full path: paths are rebuilt by walking up to the root) and four pointers;
 * about 80 bytes plus the name.  No per-file state at all.
 *
 * The watcher only says which paths to look at; it never reads files and
 * never decides whether something changed.  Everything runs on the caller's
 * (the loop's) thread.  Reading new directories is done inline: they were just
 * created, so they are in the page cache.
 */
#ifndef VIGIL_INOTIFY_H
#define VIGIL_INOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

enum vigil_inotify_kind {
	VIGIL_INOTIFY_PATH = 1, /* path may have changed: created, written, attrs, deleted */
	VIGIL_INOTIFY_RENAME,   /* `from` was renamed to `path` (both also come as PATH) */
	VIGIL_INOTIFY_SUBTREE,  /* everything at and below path must be compared again
				 * (a directory moved in, out or within, an unmount) */
	VIGIL_INOTIFY_OVERFLOW, /* the kernel queue overflowed: events were lost */
	VIGIL_INOTIFY_LIMIT,    /* path could not be watched: err (-ENOSPC: the watch
				 * limit; path is then rescanned by vigil_inotify_retry) */
	VIGIL_INOTIFY_UNMOUNT,  /* the file system mounted at path was unmounted */
	VIGIL_INOTIFY_ROOT_GONE, /* a root directory was deleted or moved away */
};

struct vigil_inotify_ev {
	int kind;
	const char *path;
	size_t path_len;
	const char *from; /* RENAME: the old path */
	size_t from_len;
	int is_dir;
	int err;          /* LIMIT: -errno */
	uint32_t mask;    /* the inotify bits behind it (PATH) */
};

struct vigil_inotify_stats {
	uint64_t watches;    /* directories watched now */
	uint64_t unwatched;  /* directories the kernel refused (kept for rescans) */
	uint64_t events;     /* inotify events read */
	uint64_t overflows;
	uint64_t limit_hits; /* inotify_add_watch ENOSPC/ENOMEM */
	uint64_t missing_roots; /* root patterns with no watchable parent */
};

struct vigil_inotify;

/* ev and its strings are valid during the call only.  The callback must not
 * call back into the watcher. */
typedef void (*vigil_inotify_fn)(void *ctx, const struct vigil_inotify_ev *ev);
/* 1 when the directory at path should be watched (a scope selects it), 0 not. */
typedef int (*vigil_inotify_filter_fn)(void *ctx, const char *path, size_t len);

int vigil_inotify_new(vigil_inotify_fn fn, vigil_inotify_filter_fn watch_dir, void *ctx,
		      struct vigil_inotify **out, struct vigil_err *err);
void vigil_inotify_free(struct vigil_inotify *w);
int vigil_inotify_fd(const struct vigil_inotify *w);

/* Watches path (absolute; globs allowed in any component) and every directory
 * below it.  A path that does not exist is not an error: it is picked up when
 * it appears.  Returns 0, or -errno for a bad path or no memory; watch
 * failures are reported through LIMIT events. */
int vigil_inotify_add_root(struct vigil_inotify *w, const char *path, int one_fs,
			   struct vigil_err *err);

/* Reads every queued event and reports what it means.  0 or -errno. */
int vigil_inotify_process(struct vigil_inotify *w);
/* Settles moves whose other half never came (moved out of, or into, the
 * watched trees).  Call at least every few hundred ms while events flow. */
void vigil_inotify_flush(struct vigil_inotify *w);
/* Walks every root again: adds missing watches (directories created while
 * the queue overflowed), corrects moved ones and drops stale ones.  Reports
 * nothing but LIMIT; the caller rescans content itself. */
int vigil_inotify_resync(struct vigil_inotify *w);
/* Tries again to watch what could not be watched, and calls fn with each
 * directory still unwatched so the caller can scan it. */
int vigil_inotify_retry(struct vigil_inotify *w,
			void (*still)(void *ctx, const char *path, size_t len), void *ctx);
void vigil_inotify_stats(const struct vigil_inotify *w, struct vigil_inotify_stats *st);
/* Bytes of memory held for the watch table (nodes, names, hash). */
size_t vigil_inotify_mem(const struct vigil_inotify *w);

#endif
