/* attr.h - the attributes of one path: stat fields, symlink target, extended
 * attributes (canonical blob) and inode flags.
 *
 * No handle: each call fills fields of a caller's struct vigil_record.  The
 * walker and vigil_walk_one() use it; so may anything that needs one record
 * without a walk.  Nothing here opens a FIFO, socket or device.
 */
#ifndef VIGIL_ATTR_H
#define VIGIL_ATTR_H

#include <sys/stat.h>

#include "vigil/record.h"

/* type, mode & 07777, uid, gid, size, mtime/ctime ns, inode, dev, rdev, nlink. */
void vigil_attr_from_stat(struct vigil_record *rec, const struct stat *st);

/* Reads the symlink target (for symlinks), the extended attributes and the
 * inode flags of `name` in directory dirfd, whose lstat is st.  fd is an open
 * descriptor of the object itself (a regular file or a directory) or -1:
 * then xattrs are read by path without following a symlink, and flags are
 * not read (they need an open descriptor, and special files are never
 * opened).  Failures are status bits on rec (VIGIL_REC_XATTR_ERR,
 * VIGIL_REC_FLAGS_ERR); a file system without xattrs or flags is not a
 * failure.  Returns 0, or -ENOMEM (rec then partially filled). */
int vigil_attr_read(int dirfd, const char *name, int fd, const struct stat *st,
		    struct vigil_record *rec);

/* Canonical xattr blob (sorted by name, u32le name_len | name | u32le
 * value_len | value) of an open fd (fd >= 0) or of a path not followed
 * (fd < 0).  *blob is NULL and *len 0 when there are none.  0, -ENOMEM, or
 * -errno when the list could not be read (ENOTSUP counts as "none"). */
int vigil_attr_xattrs(int fd, const char *path, unsigned char **blob, size_t *len);

/* 1 when a file's content may have changed between two stats of it taken
 * before and after reading (size, mtime, ctime, inode or device differ). */
int vigil_attr_stat_changed(const struct stat *before, const struct stat *after);

#endif
