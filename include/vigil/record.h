/* record.h - what vigil knows about one path: type, attributes, digests.
 *
 * A record owns its path, target and xattrs buffers; vigil_record_clear()
 * frees them and leaves the struct reusable.  Paths are bytes (any name Linux
 * allows) and are the path as the user sees it: with --root, the path inside
 * the image ("/etc/passwd"), never the host path of the mount.
 */
#ifndef VIGIL_RECORD_H
#define VIGIL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/crypto.h"

enum vigil_ftype {
	VIGIL_FT_NONE = 0, /* absent */
	VIGIL_FT_REG,
	VIGIL_FT_DIR,
	VIGIL_FT_LNK,
	VIGIL_FT_CHR,
	VIGIL_FT_BLK,
	VIGIL_FT_FIFO,
	VIGIL_FT_SOCK,
};

/* Attributes a scope may compare.  The order is the display order. */
enum vigil_attr {
	VIGIL_ATTR_TYPE = 1u << 0,
	VIGIL_ATTR_MODE = 1u << 1,
	VIGIL_ATTR_UID = 1u << 2,
	VIGIL_ATTR_GID = 1u << 3,
	VIGIL_ATTR_SIZE = 1u << 4,
	VIGIL_ATTR_MTIME = 1u << 5,
	VIGIL_ATTR_CTIME = 1u << 6,
	VIGIL_ATTR_INODE = 1u << 7,
	VIGIL_ATTR_DEV = 1u << 8,
	VIGIL_ATTR_NLINK = 1u << 9,
	VIGIL_ATTR_TARGET = 1u << 10,
	VIGIL_ATTR_XATTRS = 1u << 11,
	VIGIL_ATTR_FLAGS = 1u << 12,
	VIGIL_ATTR_HASH = 1u << 13,
};
#define VIGIL_ATTR_COUNT 14
#define VIGIL_ATTR_ALL ((1u << VIGIL_ATTR_COUNT) - 1)
/* AIDE-like default: everything but atime-like noise (ctime and inode are in). */
#define VIGIL_ATTR_DEFAULT VIGIL_ATTR_ALL

/* Record status bits: what happened while the record was taken. */
enum vigil_rec_status {
	VIGIL_REC_UNREADABLE = 1u << 0,  /* open/read failed: errno in rec->err */
	VIGIL_REC_CHANGED = 1u << 1,     /* stat differed before and after reading */
	VIGIL_REC_VANISHED = 1u << 2,    /* gone between readdir and stat/open */
	VIGIL_REC_NOT_READ = 1u << 3,    /* special file: metadata only, by design */
	VIGIL_REC_XATTR_ERR = 1u << 4,   /* xattrs could not be listed */
	VIGIL_REC_FLAGS_ERR = 1u << 5,   /* FS_IOC_GETFLAGS failed (not ENOTTY) */
	VIGIL_REC_TOO_LARGE = 1u << 6,   /* over max_file_size: attributes only, no digest */
};

struct vigil_record {
	char *path;
	size_t path_len;
	int ftype;
	uint32_t mode; /* permission bits and suid/sgid/sticky (st_mode & 07777) */
	uint32_t uid, gid;
	uint64_t size;
	int64_t mtime_ns, ctime_ns;
	uint64_t ino, dev, rdev, nlink;
	char *target; /* symlink target, bytes; NULL when not a symlink */
	size_t target_len;
	/* Canonical xattr blob: entries sorted by name, each
	 * u32le name_len | name | u32le value_len | value.  NULL/0 when none. */
	unsigned char *xattrs;
	size_t xattrs_len;
	uint32_t flags; /* FS_IOC_GETFLAGS; has_flags says whether it was read */
	int has_flags;
	unsigned algos; /* which digest[] entries are valid */
	unsigned char digest[VIGIL_ALGO_COUNT][VIGIL_DIGEST_MAX];
	unsigned status; /* enum vigil_rec_status */
	int err;         /* errno behind VIGIL_REC_UNREADABLE, else 0 */
	char scope[64];  /* name of the scope that selected this path */
};

void vigil_record_init(struct vigil_record *r);
void vigil_record_clear(struct vigil_record *r);
/* Deep copy; 0 or -ENOMEM. */
int vigil_record_copy(struct vigil_record *dst, const struct vigil_record *src);
/* Setters that copy bytes; 0 or -ENOMEM. */
int vigil_record_set_path(struct vigil_record *r, const char *path, size_t len);
int vigil_record_set_target(struct vigil_record *r, const char *t, size_t len);
int vigil_record_set_xattrs(struct vigil_record *r, const unsigned char *x, size_t len);

int vigil_ftype_from_mode(unsigned st_mode);
const char *vigil_ftype_name(int ftype);
const char *vigil_attr_name(unsigned attr); /* one bit */
/* Parses one attribute name ("mode", "xattrs", "hash", ...); 0 when unknown. */
unsigned vigil_attr_from_name(const char *name);

/* Bitmask of attributes in mask that differ between a and b.  HASH compares
 * every algorithm present in both. TYPE differs when ftype differs. */
unsigned vigil_record_diff(const struct vigil_record *a, const struct vigil_record *b, unsigned mask);

/* Human text for one attribute of r ("0644", "root(0)", "2026-11-22T09:00:00.123Z",
 * hex digest, escaped target, "user.foo=bar,..."); returns the length written
 * (truncated to size, always NUL-terminated). */
size_t vigil_record_attr_str(const struct vigil_record *r, unsigned attr, char *buf, size_t size);

/* Canonical, versioned byte encoding of a record, used for the generation
 * digest: every field, fixed order, lengths prefixed.  Returns a malloc'd
 * buffer and its length in *len, or NULL on ENOMEM. */
unsigned char *vigil_record_encode(const struct vigil_record *r, size_t *len);

/* Escapes path bytes for display and JSON: valid UTF-8 passes through,
 * other bytes become \xNN and a backslash becomes \\ so the text is lossless.
 * Returns a malloc'd string or NULL. */
char *vigil_path_escape(const char *path, size_t len);
/* 1 when buf is valid UTF-8 without NUL. */
int vigil_utf8_valid(const char *buf, size_t len);

#endif
