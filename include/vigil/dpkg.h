/* dpkg.h - dpkg's own records, read from disk (the host or a --root image):
 * /var/lib/dpkg/status, info/PKG[:ARCH].list and .md5sums, diversions and
 * /var/log/dpkg.log* (rotated, .gz).  Every read goes through rootfs.h.
 *
 * Lifecycle:
 *   vigil_dpkg_open(rootfd, &db, err)    reads status, every installed
 *       package's .list and .md5sums, the diversions, and notes which of
 *       /bin /sbin /lib* are merged into /usr in that root
 *   vigil_dpkg_pkg() / _lookup() / _file() ...   read-only queries
 *   vigil_dpkg_free(db)                  (NULL is fine)
 * or, for one file's text (tests, fuzzing): vigil_dpkg_new() then
 * vigil_dpkg_load_status() / _load_md5sums() / _load_list() /
 * _load_diversions() on buffers (vigil_dpkg_set_usrmerge() first).
 *
 * Hostile or truncated records are refused with -EBADMSG and a message that
 * names the file and the line ("/var/lib/dpkg/status:12: ...").  A status
 * file in error fails the open; one package's broken .md5sums or .list is a
 * warning on that package (vigil_dpkg_pkg()->bad) and the rest goes on.
 *
 * Paths: dpkg's own ("/bin/ls", as the .list says) and the canonical one
 * where the file lives in this root ("/usr/bin/ls" when /bin -> usr/bin).
 * Lookups take either.  Cost: every path of every .list and .md5sums is held
 * in memory: measured here, about 40 MB and 0.4 s for 888 packages (170,847
 * listed paths, 136,336 sums) and 7,300 dpkg.log lines; the lazy form
 * (vigil_dpkg_open_lazy, below) holds a compact index instead and reads a
 * package's files when one of its paths is looked up.
 */
#ifndef VIGIL_DPKG_H
#define VIGIL_DPKG_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

#define VIGIL_DPKG_STATUS "/var/lib/dpkg/status"
#define VIGIL_DPKG_INFO "/var/lib/dpkg/info"
#define VIGIL_DPKG_DIVERSIONS "/var/lib/dpkg/diversions"
#define VIGIL_DPKG_LOG "/var/log/dpkg.log"
#define VIGIL_DPKG_LOCK "/var/lib/dpkg/lock"
#define VIGIL_DPKG_LOCK_FRONTEND "/var/lib/dpkg/lock-frontend"
/* Bounds on what is read: larger files are refused (-EFBIG), never truncated. */
#define VIGIL_DPKG_MAX_FILE (256u << 20)
#define VIGIL_DPKG_MAX_LINE 65536

enum vigil_dpkg_conf_flags {
	VIGIL_DPKG_CONF_OBSOLETE = 1u << 0,
	VIGIL_DPKG_CONF_REMOVE_ON_UPGRADE = 1u << 1,
	VIGIL_DPKG_CONF_NO_MD5 = 1u << 2, /* "newconffile" or no hash: nothing to compare */
};

struct vigil_dpkg_conffile {
	char *path; /* dpkg's path, absolute */
	unsigned char md5[16];
	unsigned flags;
};

struct vigil_dpkg_pkg {
	char *name;    /* "libc6" */
	char *arch;    /* "amd64", "all"; NULL when not given */
	char *version; /* NULL when not given */
	char *status;  /* "install ok installed" */
	char *id;      /* the info files' stem and debsums' name: "libc6:amd64" or "coreutils" */
	int installed; /* Status ends in installed or half-configured, and a Version */
	int multiarch_same;
	unsigned line;  /* where its stanza starts in the status file */
	struct vigil_dpkg_conffile *conf;
	size_t n_conf;
	int has_list, has_md5sums; /* its info files were found (and read) */
	int bad;       /* its .list or .md5sums had an error (see vigil_dpkg_warnings) */
};

/* One (package, path) pair from a .md5sums file or a Conffiles entry. */
struct vigil_dpkg_sum {
	const char *path;  /* dpkg's path, absolute */
	unsigned char md5[16];
	uint32_t pkg;      /* index for vigil_dpkg_pkg() */
	int conffile;
	unsigned conf_flags; /* enum vigil_dpkg_conf_flags for a conffile */
};

struct vigil_dpkg;

struct vigil_dpkg *vigil_dpkg_new(void);
void vigil_dpkg_free(struct vigil_dpkg *db);
/* rootfd from vigil_rootfs_open_root(); 0 or -errno with err naming file and line. */
int vigil_dpkg_open(int rootfd, struct vigil_dpkg **db, struct vigil_err *err);

/* From files a reader gives (an image's layers: the Docker collector's
 * vigil_docker_view_read), whole: rd returns 0 with a malloc'd, NUL-terminated
 * *buf, or -errno (-ENOENT: no such file).  No merged /usr is assumed: paths
 * are looked up as dpkg lists them. */
typedef int (*vigil_dpkg_read_fn)(void *arg, const char *path, size_t max, char **buf, size_t *len);
int vigil_dpkg_open_reader(vigil_dpkg_read_fn rd, void *arg, struct vigil_dpkg **db, struct vigil_err *err);

/* The lazy form: the status file and the diversions, and instead of every
 * package's .list and .md5sums a compact owner index (8 bytes a listed
 * path: 1.4 MB for 170,847 paths against about 40 MB whole).  Before a
 * lookup of a path, vigil_dpkg_need() reads in the packages whose .list
 * names it (then vigil_dpkg_lookup() answers for it as on a whole
 * database); vigil_dpkg_need_pkg() reads one package in.  Both are no-ops
 * on a whole database and for a package already read; 0 or -ENOMEM (a
 * package's missing or broken files are warnings, as in vigil_dpkg_open).
 * vigil_dpkg_n_sums() and the path index then hold only what was read. */
int vigil_dpkg_open_lazy(int rootfd, struct vigil_dpkg **db, struct vigil_err *err);
int vigil_dpkg_need(struct vigil_dpkg *db, int rootfd, const char *path);
int vigil_dpkg_need_pkg(struct vigil_dpkg *db, int rootfd, uint32_t pkg);
/* How many packages' .list name path (on a lazy database, from the index
 * alone: a 32-bit hash match counts, nothing is read in). */
unsigned vigil_dpkg_listed(const struct vigil_dpkg *db, const char *path);

/* Buffer loaders (file: the name used in messages).  buf need not be
 * NUL-terminated.  0 or -EBADMSG/-ENOMEM with err set. */
int vigil_dpkg_load_status(struct vigil_dpkg *db, const char *buf, size_t len, const char *file,
			   struct vigil_err *err);
int vigil_dpkg_load_md5sums(struct vigil_dpkg *db, uint32_t pkg, const char *buf, size_t len,
			    const char *file, struct vigil_err *err);
int vigil_dpkg_load_list(struct vigil_dpkg *db, uint32_t pkg, const char *buf, size_t len,
			 const char *file, struct vigil_err *err);
int vigil_dpkg_load_diversions(struct vigil_dpkg *db, const char *buf, size_t len, const char *file,
			       struct vigil_err *err);
/* Which top-level directories are merged into /usr: bit set for each of
 * "bin", "sbin", "lib", "lib32", "lib64", "libx32" (in that order). */
void vigil_dpkg_set_usrmerge(struct vigil_dpkg *db, unsigned mask);
size_t vigil_dpkg_n_pkgs(const struct vigil_dpkg *db);
const struct vigil_dpkg_pkg *vigil_dpkg_pkg(const struct vigil_dpkg *db, uint32_t i);
/* By name ("libc6"), id ("libc6:amd64") or name:arch; -1 when not known. */
int64_t vigil_dpkg_find_pkg(const struct vigil_dpkg *db, const char *name);

size_t vigil_dpkg_n_sums(const struct vigil_dpkg *db);
const struct vigil_dpkg_sum *vigil_dpkg_sum(const struct vigil_dpkg *db, size_t i);

/* The canonical form of a dpkg path in this root, malloc'd ("/bin/ls" ->
 * "/usr/bin/ls" when /bin is merged); NULL on ENOMEM. */
char *vigil_dpkg_canonical(const struct vigil_dpkg *db, const char *path);

/* What the database says about one path (dpkg's or canonical). */
struct vigil_dpkg_owner {
	unsigned n_owners;     /* packages whose .list names it */
	uint32_t owner;        /* the first of them */
	const size_t *sums;    /* indexes into vigil_dpkg_sum(), every package's entry */
	size_t n_sums;
	const char *diverted_to; /* non-NULL when dpkg diverts it (see diverted_by) */
	const char *diverted_by; /* the diverting package, ":" for a local diversion */
};
/* 1 and *o filled when some package, sum or diversion names path; 0 if none. */
int vigil_dpkg_lookup(const struct vigil_dpkg *db, const char *path, struct vigil_dpkg_owner *o);
/* Where the file packaged at path by package pkg lives, after diversions:
 * path itself, or the divert-to path when another package (or the admin)
 * diverted it. */
const char *vigil_dpkg_real_path(const struct vigil_dpkg *db, const char *path, uint32_t pkg);

/* Messages about packages skipped or half-read while opening, one a line
 * (NULL when none). */
const char *vigil_dpkg_warnings(const struct vigil_dpkg *db);

/* --- verify: packaged files against dpkg's MD5s, no baseline ----------------
 * What is checked is what `debsums -a` checks: of each installed package that
 * has a .md5sums file, every line of it (its conffiles' lines excepted) and
 * its conffiles from the status file (remove-on-upgrade ones excepted;
 * obsolete ones included); a file diverted away from its package is looked
 * for where the diversion put it.  Files are hashed on the walk's pool
 * (vigil_walk_files), symlinks followed inside the root. */
enum vigil_dpkg_verdict {
	VIGIL_DPKG_OK = 0,
	VIGIL_DPKG_CHANGED,      /* content differs: what `debsums -c` lists */
	VIGIL_DPKG_SHARED,       /* differs, but another package (or a diversion) also names
				    the path: debsums does not list it; vigil says it apart */
	VIGIL_DPKG_REPLACED,     /* differs from this package's sum, equals another owner's */
	VIGIL_DPKG_MISSING,      /* absent: debsums says "missing file" on stderr */
	VIGIL_DPKG_NOT_REGULAR,  /* a directory, device...: debsums "can't check" */
	VIGIL_DPKG_UNREADABLE,
};

struct vigil_dpkg_result {
	const struct vigil_dpkg_sum *sum;
	const struct vigil_dpkg_pkg *pkg;
	const char *real_path;       /* where it was looked for (after diversions) */
	int verdict;                 /* enum vigil_dpkg_verdict */
	unsigned char md5[16];       /* what is there, when read */
	int err;                     /* errno for UNREADABLE */
};

typedef int (*vigil_dpkg_result_cb)(void *arg, const struct vigil_dpkg_result *r);

struct vigil_dpkg_verify_opts {
	const char *root;            /* NULL or "/": the host */
	const struct vigil_dpkg *db; /* opened on the same root */
	const char *const *pkgs;     /* NULL: every installed package; else these names */
	size_t n_pkgs;
	int threads;                 /* 0: one per core */
	int all;                     /* also call cb for files that are OK */
	vigil_dpkg_result_cb cb;     /* in path order */
	void *arg;
};

struct vigil_dpkg_verify_stats {
	uint64_t packages, files, bytes;
	uint64_t n[VIGIL_DPKG_UNREADABLE + 1]; /* by verdict */
};

/* 0 or -errno (an unknown package name: -ENOENT naming it). */
int vigil_dpkg_verify(const struct vigil_dpkg_verify_opts *o, struct vigil_dpkg_verify_stats *st,
		      struct vigil_err *err);
const char *vigil_dpkg_verdict_name(int verdict);

/* --- explaining check's differences (compare.h's explainer hook) ----------
 * For a path that differs from the baseline:
 *   package-upgrade        its content is the MD5 an installed package ships
 *                          for it and dpkg.log shows that package installed or
 *                          upgraded at or after the baseline (low; names the
 *                          package, old and new version; accepted when
 *                          auto_accept is VIGIL_PKG_ACCEPT_UPGRADES)
 *   conffile-modified      a conffile whose content is not the package's (medium)
 *   package-file-tampered  a packaged file whose content matches no MD5 its
 *                          package ships, that is no longer a regular file, or
 *                          that was removed while still packaged (critical)
 *   unpackaged-file        a new file that no package owns under /usr/bin,
 *                          /usr/sbin, /usr/lib*, /usr/libexec (or /bin, /sbin,
 *                          /lib* unmerged) (high)
 * A packaged path whose content is dpkg's but with no dpkg.log entry since
 * the baseline stays a plain difference, with the package named. */
struct vigil_dpkg_explain;
struct vigil_explainer;

/* Reads root's database and dpkg.log*; -ENOENT when root has no dpkg status
 * file (no explainer then).  auto_accept: enum vigil_pkg_accept. */
int vigil_dpkg_explain_new(const char *root, int auto_accept, struct vigil_dpkg_explain **out,
			   struct vigil_err *err);
/* The same, read at its first use (in the caller's worker thread, not now:
 * the daemon's loop must not block); a root without dpkg then explains
 * nothing.  NULL on ENOMEM. */
struct vigil_dpkg_explain *vigil_dpkg_explain_lazy(const char *root, int auto_accept);
const struct vigil_explainer *vigil_dpkg_explainer(const struct vigil_dpkg_explain *x);
void vigil_dpkg_explain_free(struct vigil_dpkg_explain *x);
/* 1 while dpkg or apt runs in root (NULL: the host): an fcntl lock is held on
 * /var/lib/dpkg/lock-frontend or lock (asked about, never taken; dpkg puts a
 * package's files in place before its new .md5sums, so they are judged once
 * it is done); 0 when not (or no such file); -errno. */
int vigil_dpkg_lock_held(const char *root);
/* Appends note to d's message (in d's buffer, "; " between). */
struct vigil_decision;
void vigil_dpkg_note(struct vigil_decision *d, const char *note);

/* --- containers: an image's own database explains a container's drift ------
 * (dpkg_container.c; `vigil drift`).  rd reads a file of a view (the Docker
 * collector's vigil_docker_view_read): image_view the image's layers,
 * container_view its upper layer above them.  -ENOENT (err set) when the
 * container has no dpkg status file; an image without one while the
 * container has one: everything of it was installed in the container. */
struct vigil_dpkg_container;

/* A package installed or upgraded in the container: its stanza in the
 * container's status file is not the image's (absent, not installed, or
 * another version); or (removed) one the image has installed and the
 * container no longer has. */
struct vigil_dpkg_installed {
	const struct vigil_dpkg_pkg *pkg; /* the container's (removed: the image's) */
	const char *old_version;          /* the image's installed version, NULL: none */
	uint32_t index;                   /* pkg's index in the container's (removed: the image's) database */
	int removed;
};

/* What the container's database says of one drift change. */
struct vigil_dpkg_judgement {
	const char *action; /* VIGIL_ACTION_PKG_TAMPERED, _CONFFILE_MODIFIED, _PKG_UPGRADE
			       (its content is that of a package installed or upgraded in
			       the container), _UNPACKAGED; NULL: a plain change (message
			       may still name the package whose content it is) */
	int severity;
	const struct vigil_dpkg_pkg *pkg;  /* the owner, when packaged */
	const struct vigil_dpkg_sum *sum;
	const struct vigil_dpkg_installed *installed; /* for _PKG_UPGRADE */
	char message[256];
};

int vigil_dpkg_container_open(vigil_dpkg_read_fn rd, void *image_view, void *container_view,
			      struct vigil_dpkg_container **out, struct vigil_err *err);
void vigil_dpkg_container_free(struct vigil_dpkg_container *x);
size_t vigil_dpkg_container_n_installed(const struct vigil_dpkg_container *x);
const struct vigil_dpkg_installed *vigil_dpkg_container_installed(const struct vigil_dpkg_container *x, size_t i);
/* kind: 'A', 'C' or 'D' (as drift); ftype: the entry now; md5: its content's,
 * NULL when not read.  1 with j filled when the packages say something. */
int vigil_dpkg_container_judge(const struct vigil_dpkg_container *x, const char *path, char kind, int ftype,
			       const unsigned char *md5, struct vigil_dpkg_judgement *j);
/* 1 for a log that dpkg or apt writes when they install (/var/log/dpkg.log,
 * /var/log/apt/history.log, term.log): in a container's drift, a package
 * installed in it. */
int vigil_dpkg_container_log(const char *path);

/* --- /var/log/dpkg.log ------------------------------------------------------ */
enum vigil_dpkg_log_action {
	VIGIL_DPKG_LOG_INSTALL = 1,
	VIGIL_DPKG_LOG_UPGRADE,
	VIGIL_DPKG_LOG_REMOVE,
	VIGIL_DPKG_LOG_PURGE,
};

struct vigil_dpkg_logev {
	int64_t time;        /* seconds since the epoch, the log's wall clock read as UTC */
	int action;          /* enum vigil_dpkg_log_action */
	const char *pkg;     /* as logged: "libudev1:amd64" */
	const char *old_ver; /* NULL for "<none>" */
	const char *new_ver; /* NULL for "<none>" */
	const char *file;
	unsigned line;
};

typedef int (*vigil_dpkg_log_cb)(void *arg, const struct vigil_dpkg_logev *ev);

/* Parses one log's text: install/upgrade/remove/purge lines go to cb; status,
 * configure, startup and trigproc lines are read and skipped.  A malformed
 * line fails with -EBADMSG naming file:line.  cb's non-zero return stops. */
int vigil_dpkg_log_parse(const char *buf, size_t len, const char *file, vigil_dpkg_log_cb cb, void *arg,
			 struct vigil_err *err);
/* Every /var/log/dpkg.log* in the root, oldest first (dpkg.log.N.gz ...
 * dpkg.log.1, dpkg.log), .gz inflated with zlib.  A missing log is not an
 * error (0, no event). */
int vigil_dpkg_log_read(int rootfd, vigil_dpkg_log_cb cb, void *arg, struct vigil_err *err);
/* Inflates a gzip buffer (at most max bytes out, else -EFBIG); malloc'd. */
int vigil_dpkg_gunzip(const unsigned char *in, size_t len, size_t max, char **out, size_t *outlen);

#endif
