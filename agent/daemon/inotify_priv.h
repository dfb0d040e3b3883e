/* inotify_priv.h - what inotify.c (the tree of watched directories: adding,
 * dropping, roots and patterns) shares with inotify_events.c (reading the
 * kernel's events: moves, unmounts, sentinels, resync, retry); not a public
 * header. */
#ifndef VIGIL_INOTIFY_PRIV_H
#define VIGIL_INOTIFY_PRIV_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/inotify.h"

#define WMASK (IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | \
	       IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)

/* Directories kept by path for rescans when the kernel refused to watch
 * them; beyond this the whole roots are rescanned instead. */
#define UNWATCHED_MAX 4096
#define MOVES_MAX 256

enum {
	N_TREE = 1u << 0,     /* part of a recursively watched tree */
	N_ROOT = 1u << 1,     /* top of a tree: name is the full path */
	N_SENTINEL = 1u << 2, /* parent of root patterns (sents) */
	N_ONEFS = 1u << 3,    /* do not cross into other file systems below */
	N_UNMOUNTED = 1u << 4,
	N_MARK = 1u << 5,     /* seen during the current resync */
};

struct sent {
	char *pattern; /* last component of a root, fnmatch glob */
	int one_fs;
	struct sent *next;
};

struct node {
	int wd;
	uint32_t flags;
	uint64_t dev;
	struct node *parent, *child, *next, *hnext;
	struct sent *sents;
	char *name; /* full path when parent is NULL */
};

struct rootpat {
	char *dir;  /* may hold globs */
	char *base; /* "" for "/" */
	int one_fs;
	struct rootpat *next;
};

struct pmove {
	uint32_t cookie;
	int parent_wd;
	int is_dir;
	int age;
	char *name;
	char *path;
};

struct buf {
	char *p;
	size_t len, cap;
};

struct vigil_inotify {
	int fd;
	vigil_inotify_fn fn;
	vigil_inotify_filter_fn watch_dir;
	void *ctx;
	struct node **hash;
	size_t nbuckets, nnodes;
	size_t mem;
	struct rootpat *roots;
	struct pmove moves[MOVES_MAX];
	size_t nmoves;
	char **unwatched;
	size_t nunwatched;
	int unwatched_overflow;
	struct vigil_inotify_stats st;
	struct buf pb, pb2;
	struct node **stack;
	size_t nstack, capstack;
};

/* inotify.c */
int ino_buf_set(struct buf *b, const char *a, size_t alen, const char *c, size_t clen);
int ino_node_path(struct node *n, const char *child, struct buf *b);
void ino_emit(struct vigil_inotify *w, int kind, const char *path, size_t len, const char *from,
		 size_t from_len, int is_dir, int err, uint32_t mask);
struct node *ino_lookup(const struct vigil_inotify *w, int wd);
void ino_unlink_child(struct node *n);
void ino_link_child(struct node *parent, struct node *n);
struct node *ino_find_child(struct node *parent, const char *name);
void ino_node_drop(struct vigil_inotify *w, struct node *n, int rm_watch);
void ino_unwatched_add(struct vigil_inotify *w, const char *path);
struct node *ino_watch_dir(struct vigil_inotify *w, struct node *parent, const char *name,
			      uint32_t flags);
void ino_add_tree(struct vigil_inotify *w, struct node *top, int report);
void ino_root_tree(struct vigil_inotify *w, const char *path, int one_fs, int report);
int ino_install(struct vigil_inotify *w, const struct rootpat *r, int report);

#endif
