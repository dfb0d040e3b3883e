/* statedir.h - the state dir's rules: who may own and write what vigil trusts,
 * and how its small files are replaced.
 *
 * Like sshd's StrictModes, everything vigil trusts from the state dir (the dir
 * itself and the directories above it, baseline.db, baseline.head, vigil.key,
 * vigil.pub) must be owned by root or by the running user and must not be
 * writable by group or others; otherwise another user could plant a key, a
 * public key and a baseline of their own that root's `check` would accept.
 * A directory above the state dir may be writable by others only when it has
 * the sticky bit (/tmp): there nobody else can rename or remove what is ours.
 *
 * No state: plain functions, errors with the path and the fix in err.
 */
#ifndef VIGIL_STATEDIR_H
#define VIGIL_STATEDIR_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "vigil/err.h"

/* Checks sb (of path, described as what, e.g. "signing key") against the rules
 * above: -EPERM with the path and the fix when it breaks them. */
int vigil_statedir_check_stat(const struct stat *sb, const char *path, const char *what,
			      struct vigil_err *err);
/* lstat()s path (a symbolic link is refused) and checks it; -ENOENT when it
 * does not exist. */
int vigil_statedir_check_path(const char *path, const char *what, struct vigil_err *err);
/* Checks the state dir and every directory above it (those may be symbolic
 * links; what they point to is checked). */
int vigil_statedir_check_dir(const char *dir, struct vigil_err *err);

/* Reads a whole regular file of at most max bytes, NUL-terminated, into a
 * malloc'd *buf (wiped before it is freed on error); no symbolic links. */
int vigil_statedir_read_small(const char *file, const char *what, size_t max, char **buf, size_t *len,
			      struct vigil_err *err);

/* Splits the next line off *p (within end); returns it NUL-terminated
 * without "\n" or "\r\n", or NULL at the end. */
char *vigil_statedir_next_line(char **p, char *end);

/* write(2) until all of data is written (EINTR retried): 0 or -errno. */
int vigil_write_all(int fd, const void *data, size_t len);
/* Writes data to a fresh temporary name beside file (O_EXCL, exactly mode,
 * fsync'ed) and returns that name in tmp; the caller renames or links it. */
int vigil_statedir_write_tmp(const char *file, const void *data, size_t len, mode_t mode, char *tmp,
			     size_t tmpsize, struct vigil_err *err);
/* fsync()s the directory that holds file: a rename is durable only then. */
int vigil_statedir_sync_dir(const char *file);
/* Replaces file atomically: tmp + fsync + rename + fsync of the directory.
 * A crash leaves the old file or the new one, never a mix. */
int vigil_statedir_replace(const char *file, const void *data, size_t len, mode_t mode,
			   struct vigil_err *err);

#endif
