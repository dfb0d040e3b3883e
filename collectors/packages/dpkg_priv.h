/* dpkg_priv.h - what the dpkg collector's files share; not an API.
 *
 * dpkg_db.c (the database, its path index, lookups), dpkg_status.c (the
 * status file), dpkg_info.c (.list, .md5sums, diversions), dpkg_open.c
 * (reading them from a root), dpkg_lazy.c (a lazy database's owner index,
 * packages read in at need), dpkg_log.c (dpkg.log*), dpkg_lines.c (the line
 * reader every parser uses).
 */
#ifndef VIGIL_DPKG_PRIV_H
#define VIGIL_DPKG_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/dpkg.h"

struct dpkg_entry {
	char *key;          /* canonical path */
	size_t *sums;       /* indexes in db->sums */
	uint32_t n_sums, cap;
	uint32_t owner;
	uint32_t n_owners;
	uint32_t last_owner_plus1; /* a .list naming a path twice counts once */
	int32_t div;        /* index in db->divs, -1 when not diverted */
};

struct dpkg_div {
	char *from, *to, *by;
};

struct vigil_dpkg {
	struct vigil_dpkg_pkg *pkgs;
	size_t n_pkgs, cap_pkgs;
	struct vigil_dpkg_sum *sums; /* path owned (cast away const) */
	size_t n_sums, cap_sums;
	struct dpkg_div *divs;
	size_t n_divs, cap_divs;
	unsigned usrmerge;
	/* the path index: entries dense, the hash table holds their index + 1
	 * (0: free), so that the table's slack costs 4 bytes a slot, not 48 */
	struct dpkg_entry *ents;
	size_t n_ents, cap_ents;
	uint32_t *tab;
	size_t tab_cap;
	char *warn;
	size_t warn_len;
	/* lazy databases only (vigil_dpkg_open_lazy, dpkg_lazy.c): who lists
	 * which path, as (32-bit hash of the canonical path, package) in one sorted uint64,
	 * and which packages' .list and .md5sums are read in (NULL: all) */
	uint64_t *own; /* (32-bit hash << 32) | package: a match is only a candidate */
	size_t n_own, cap_own;
	unsigned char *loaded;
	/* vigil_dpkg_open_reader: where the files come from (NULL: rootfd) */
	vigil_dpkg_read_fn rd;
	void *rd_arg;
};


/* dpkg_lines.c: splits buf into lines; each has its number; the last line
 * may lack its newline.  A NUL byte or a line over VIGIL_DPKG_MAX_LINE is an
 * error naming file:line. */
struct dpkg_lines {
	const char *buf, *file;
	size_t len, pos;
	unsigned lineno;
};
/* 1 with the line and its length set, 0 at the end, -EBADMSG with err set. */
int dpkg_lines_next(struct dpkg_lines *l, const char **line, size_t *n, struct vigil_err *err);
int dpkg_bad(struct vigil_err *err, const struct dpkg_lines *l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* 0 when s is exactly 32 hex digits (either case), filling md5. */
int dpkg_md5_parse(const char *s, size_t n, unsigned char md5[16]);

/* dpkg_db.c; the entry pointer is valid until the next entry is created */
struct dpkg_entry *dpkg_entry_get(struct vigil_dpkg *db, const char *path, int create);
int dpkg_add_sum(struct vigil_dpkg *db, uint32_t pkg, const char *path, size_t n,
		 const unsigned char md5[16], int conffile, unsigned conf_flags);
int dpkg_warn(struct vigil_dpkg *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dpkg_pkg_clear(struct vigil_dpkg_pkg *p);
/* FNV-1a over the path as the index keys it (canonical form) */
uint64_t dpkg_path_hash(const struct vigil_dpkg *db, const char *path, size_t n);

/* dpkg_open.c: the names info/STEM.EXT of package p may have, in the
 * order tried (below); their number. */
int dpkg_info_names(const struct vigil_dpkg_pkg *p, const char *stem, const char *ext, char names[2][600]);
/* dpkg_open.c: info/STEM.EXT of package p (without a stem: its id, then
 * the other form of its name, as debsums does) into *buf, its name in path. */
int dpkg_read_info(const struct vigil_dpkg *db, int rootfd, const struct vigil_dpkg_pkg *p, const char *stem,
		   const char *ext, char **buf, size_t *len, char *path, size_t size);
/* One of dpkg's files (at most VIGIL_DPKG_MAX_FILE): through db->rd when
 * the database has a reader, else inside the root rootfd. */
int dpkg_read(const struct vigil_dpkg *db, int rootfd, const char *path, char **buf, size_t *len);
/* dpkg_open.c: package i's .list and (installed) .md5sums into db; a
 * missing or broken one is a warning.  0 or -ENOMEM. */
int dpkg_load_pkg(struct vigil_dpkg *db, int rootfd, uint32_t i);
/* dpkg_explain.c: below a directory only packages should write (/usr/bin/,
 * /usr/lib/..., /bin/...: a canonical or dpkg path). */
int dpkg_system_dir(const char *path);
/* dpkg_lazy.c: the owner index from every package's .list (after status). */
int dpkg_index_owners(struct vigil_dpkg *db, int rootfd);

#endif
