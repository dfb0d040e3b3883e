/* rootfs.h - the ONE confined door to files under --root (a mounted disk
 * image, or "/"), used by every reader of the host's or an image's files.
 *
 * Lifecycle: fd = vigil_rootfs_open_root(root, &confined) -> the calls below
 *   with that fd (or a directory fd opened through them) -> close(fd).
 *
 * Two ways to resolve a path, both through openat2() (Linux 5.6):
 *   in root  (vigil_rootfs_open and friends): symlinks resolve as if the root
 *            directory were "/", so an image's absolute link /etc/x -> /etc/y
 *            lands on ROOT/etc/y, never on the host's /etc/y
 *            (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
 *   beneath  (vigil_rootfs_open_beneath): no symlink at all, no "..", for
 *            trees whose every name is data (layer diff dirs, Docker's
 *            metadata) (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS).
 * Without openat2 (ENOSYS, or EPERM from a seccomp filter) both walk the path
 * one component at a time with O_NOFOLLOW: every symlink is then refused
 * (ELOOP), an image's internal links do not resolve, and nothing escapes.
 * Every fd is O_CLOEXEC; regular files are opened O_PATH first, checked with
 * fstat, and only then reopened for reading (a FIFO or device swapped in is
 * never opened), O_NOATIME when permitted.  Functions return -errno.
 */
#ifndef VIGIL_ROOTFS_H
#define VIGIL_ROOTFS_H

#include <dirent.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* An O_PATH fd of root (NULL or "" = "/"); *confined = 1 unless it is "/". */
int vigil_rootfs_open_root(const char *root, int *confined);
/* 1 when root names the running host ("/", "", NULL, "//"). */
int vigil_rootfs_is_host(const char *root);

/* path (absolute or relative, inside the root dir rootfd), symlinks resolved
 * within it; with O_NOFOLLOW in flags the last component is not followed. */
int vigil_rootfs_open(int rootfd, const char *path, int flags);
/* rel beneath dirfd, no symlink anywhere, ".." refused (-EXDEV). */
int vigil_rootfs_open_beneath(int dirfd, const char *rel, int flags);
/* An O_PATH fd turned into an O_RDONLY one when it is a regular file
 * (-EINVAL otherwise); pathfd is closed either way; st gets its fstat. */
int vigil_rootfs_reopen_regular(int pathfd, struct stat *st);

/* lstat of path inside the root: its parents resolved within it. */
int vigil_rootfs_lstat(int rootfd, const char *path, struct stat *st);
/* The directory path inside the root, for reading (closedir closes it). */
DIR *vigil_rootfs_opendir(int rootfd, const char *path, int *errp);
/* The target of the symlink path inside the root, NUL-terminated; its length. */
ssize_t vigil_rootfs_readlink(int rootfd, const char *path, char *buf, size_t len);
/* A whole regular file inside the root (at most max bytes, else -EFBIG),
 * NUL-terminated and malloc'd in *buf. */
int vigil_rootfs_read(int rootfd, const char *path, size_t max, char **buf, size_t *len);
/* The same, for rel below dirfd resolved as vigil_rootfs_open_beneath does. */
int vigil_rootfs_read_beneath(int dirfd, const char *rel, size_t max, char **buf, size_t *len);

/* The paths inside the root matching pattern (shell glob, '*', '?', '[...]'
 * within one component, no '.' entries unless asked), each resolved within
 * the root, in sorted order per directory.  cb's non-zero return stops the
 * walk and is returned. */
int vigil_rootfs_glob(int rootfd, const char *pattern, int (*cb)(void *arg, const char *path), void *arg);

/* Extended attributes of the inode fd refers to (any fd, O_PATH included):
 * never lgetxattr on "/proc/self/fd/N", which reads the magic link itself.
 * A symlink has none worth reading (-ENODATA).  Length or -errno. */
ssize_t vigil_rootfs_xattr_get(int fd, const char *name, void *val, size_t len);
ssize_t vigil_rootfs_xattr_list(int fd, char *list, size_t len);

#endif
