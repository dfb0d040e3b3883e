/* docker_priv.h - helpers shared by the files of collectors/docker/ only (not an API).
 *
 * Everything here reads untrusted files: a data root on a compromised host or
 * a disk image.  Paths are confined: docker_open_beneath() never follows a
 * symlink (layer diff dirs, the data root's metadata), docker_open_in_root()
 * resolves symlinks as if the root dir were "/" (--root images where
 * /var/lib/docker may itself be a link), so nothing outside is ever read.
 */
#ifndef VIGIL_DOCKER_PRIV_H
#define VIGIL_DOCKER_PRIV_H

#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "vigil/docker.h"
#include "vigil/err.h"
#include "vigil/rootfs.h"

/* JSON files (image configs, config.v2.json) larger than this are refused. */
#define DOCKER_JSON_MAX (64u << 20)
/* Small id files (cache-id, diff, parent, mount-id, link, lower). */
#define DOCKER_ID_MAX 4096u

/* The confined opens are agent/core/rootfs.c's (one door for files); these
 * names stay for the collector's callers. */
/* rel beneath dirfd, no symlink followed, '..' refused: an fd or -errno
 * (-ELOOP for a symlink met on the way, -EXDEV for an escape attempt). */
static inline int docker_open_beneath(int dirfd, const char *rel, int flags)
{
	return vigil_rootfs_open_beneath(dirfd, rel, flags);
}

/* abs inside the root dir rootfd, symlinks resolved within the root. */
static inline int docker_open_in_root(int rootfd, const char *abs, int flags)
{
	return vigil_rootfs_open(rootfd, abs, flags);
}

/* A regular file beneath dirfd opened for reading (O_PATH, fstat, reopen):
 * -EINVAL when it is not a regular file; st gets the fstat when not NULL. */
static inline int docker_open_regular(int dirfd, const char *rel, struct stat *st)
{
	return vigil_rootfs_reopen_regular(vigil_rootfs_open_beneath(dirfd, rel, O_PATH), st);
}

/* docker_drift.c: a container's lower layers' diff dirs (O_PATH), its init
 * layer first when with_init, then its image's layers top-down (at most max);
 * 0 or -errno with err set (the fds opened so far are in lower[0..*n)). */
int docker_open_lowers(struct vigil_docker *d, const struct vigil_docker_container *ct, int with_init, int *lower,
		       size_t max, size_t *n, struct vigil_err *err);
/* Is rel (no leading '/') visible through the layers lower[0..n) (topmost
 * first), and where?  The index of the layer holding it with *st filled (and
 * its O_PATH fd in *fd_out when not NULL), or -1 when absent, whited out, or
 * hidden by an opaque directory or a non-directory above it. */
int docker_layers_lookup(const int *lower, size_t n, const char *rel, struct stat *st, int *fd_out);

/* Reads a whole regular file (at most max bytes, else -EFBIG) opened with
 * docker_open_beneath(); *buf is NUL-terminated and malloc'd. */
int docker_read_file(int dirfd, const char *rel, size_t max, char **buf, size_t *len);
/* Reads a one-line id file and strips the trailing newline/space. */
int docker_read_id(int dirfd, const char *rel, char **out);

/* 1 when s is "sha256:" + 64 lower-case hex digits. */
int docker_is_digest(const char *s);
/* 1 when s is exactly 64 lower-case hex digits. */
int docker_is_hex64(const char *s);

/* CRC-64/ISO as tar-split stores it (reflected poly 0xD800000000000000,
 * init and xorout ~0).  Start with crc = 0 and chain calls. */
uint64_t docker_crc64(uint64_t crc, const void *buf, size_t len);


/* A growable list of malloc'd strings. */
int docker_strv_push(struct vigil_strv *sv, const char *s);
void docker_strv_clear(struct vigil_strv *sv);

/* ---- tar-split reader (docker_tarsplit.c) ---- */
enum { DOCKER_TS_FILE = 1, DOCKER_TS_SEGMENT = 2 };

struct docker_ts_entry {
	int type;
	char *name;             /* file entries: the path, NUL-free; NULL for segments */
	size_t name_len;
	uint64_t size;          /* file entries: payload bytes in the stream */
	int has_crc;
	uint64_t crc;           /* CRC-64/ISO of those bytes */
	unsigned char *payload; /* segments: raw tar bytes */
	size_t payload_len;
	int64_t position;
};

struct docker_ts;
/* Takes ownership of fd (a tar-split.json.gz). */
int docker_ts_open(int fd, const char *what, struct docker_ts **out, struct vigil_err *err);
/* 1 and fills e (valid until the next call), 0 at the end, -errno on a bad
 * line (err names the line number and why). */
int docker_ts_next(struct docker_ts *ts, struct docker_ts_entry *e, struct vigil_err *err);
/* Same, from a buffer of uncompressed JSON lines (fuzzing, tests). */
int docker_ts_open_mem(const void *buf, size_t len, struct docker_ts **out);
void docker_ts_close(struct docker_ts *ts);
/* 0 when name is a safe relative path (no NUL, not absolute, no '..'). */
int docker_ts_name_ok(const char *name, size_t len);

/* ---- tar header stream parser: fed the rebuilt stream, reports headers ---- */
struct docker_tar_xattr {
	char *name;
	unsigned char *value;
	size_t len;
};

struct docker_tar_hdr {
	char *name;      /* pax/GNU long names merged; trailing '/' stripped */
	char *linkname;
	char type;       /* tar typeflag ('0', '1', '2', '3', '4', '5', '6') */
	uint32_t mode;
	uint64_t uid, gid;
	uint64_t size;
	int64_t mtime_s;
	int32_t mtime_ns; /* from pax fractional mtime, else 0 */
	int has_ns;
	uint32_t devmajor, devminor;
	struct docker_tar_xattr *xattrs;
	size_t n_xattrs;
};

/* Called once per entry header, before that entry's data is fed. */
typedef void (*docker_tar_cb)(void *arg, const struct docker_tar_hdr *h);
struct docker_tarp;
struct docker_tarp *docker_tarp_new(docker_tar_cb cb, void *arg);
/* Feeds bytes; 0 or -EINVAL on a malformed header (docker_tarp_error says why). */
int docker_tarp_feed(struct docker_tarp *p, const unsigned char *buf, size_t len);
/* Size announced by the last header (to cross-check tar-split's file entries). */
uint64_t docker_tarp_data_left(const struct docker_tarp *p);
const char *docker_tarp_error(const struct docker_tarp *p);
int docker_tarp_ended(const struct docker_tarp *p);
void docker_tarp_free(struct docker_tarp *p);

#endif
