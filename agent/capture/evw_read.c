/* evw_read.c - reading sources into the archive, each once, hashed as written.
 *
 * Forensic soundness (DESIGN.md): opened O_PATH|O_NOFOLLOW, checked with
 * fstat, only regular files reopened for reading (O_RDONLY|O_NOATIME through
 * vigil_rootfs_reopen_regular), so a FIFO, socket or device is never opened
 * and never blocks; symlinks are stored as links, never followed; the stat
 * before and after reading both go into the manifest.  A file that shrinks
 * while read is zero-filled to the size its header announced (tar needs it),
 * one that grows is cut there; both are noted "changed while read".
 * Trees are walked with openat() from directory fds, so paths longer than
 * PATH_MAX work; only the recursion depth is bounded.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <archive.h>

#include "evw_priv.h"
#include "vigil/rootfs.h"

#define TREE_MAX_DEPTH 1024
#define LINK_MAX_LEN 65536

static json_t *note(json_t *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *note(json_t *notes, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!notes)
		notes = json_array();
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(notes, json_string(buf));
	return notes;
}

static const char *ename(int e)
{
	const char *n = strerrorname_np(e < 0 ? -e : e);

	return n ? n : "error";
}

static int changed(const struct stat *a, const struct stat *b)
{
	return a->st_size != b->st_size || a->st_ino != b->st_ino || a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
	       a->st_mtim.tv_nsec != b->st_mtim.tv_nsec || a->st_ctim.tv_sec != b->st_ctim.tv_sec ||
	       a->st_ctim.tv_nsec != b->st_ctim.tv_nsec;
}

/* The content of fd (a regular file, stat before), into member. */
static int read_regular(struct vigil_evw *w, int fd, const struct stat *before, const char *member,
			const char *src, size_t slen, int hash_only)
{
	struct vigil_digest *d;
	uint64_t want = (uint64_t)before->st_size, done = 0;
	json_t *notes = NULL;
	unsigned char sha[32];
	char hex[65];
	struct stat after;
	ssize_t n;
	int rc = 0;

	if (w->o.max_file_size && want > w->o.max_file_size) {
		close(fd);
		notes = note(notes, "skipped: larger than max-file-size (%" PRIu64 " bytes)", want);
		return evw_entry(w, "file", NULL, src, slen, before, NULL, NULL, 0, notes, NULL, 0);
	}
	d = vigil_digest_new(VIGIL_ALGOS_DEFAULT);
	if (!d) {
		close(fd);
		return evw_fail(w, -ENOMEM, "out of memory");
	}
	if (!hash_only && (rc = evw_header(w, member, before, want, NULL)))
		goto out;
	/* read into one half of buf while the hasher hashes the other */
	for (unsigned char *b = w->buf; done < want;) {
		size_t ask = want - done < EVW_BUF ? (size_t)(want - done) : EVW_BUF;

		if (vigil_evw_cancelled(w)) {
			rc = evw_fail(w, -ECANCELED, "capture cancelled");
			goto out;
		}
		n = read(fd, b, ask);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			notes = n < 0 ? note(notes, "read error: %s at offset %" PRIu64 ", zero-filled", ename(errno), done)
				      : note(notes, "changed while read: shorter than at open (%" PRIu64 " of %" PRIu64
					     " bytes), zero-filled", done, want);
			break;
		}
		vigil_hasher_write(w->hasher, d, b, (size_t)n);
		if (!hash_only && (rc = evw_data(w, b, (size_t)n)))
			goto out;
		done += (uint64_t)n;
		b = b == w->buf ? w->buf + EVW_BUF : w->buf;
	}
	vigil_hasher_sync(w->hasher);
	if (done < want) {
		memset(w->buf, 0, EVW_BUF);
		while (done < want) {
			size_t k = want - done < EVW_BUF ? (size_t)(want - done) : EVW_BUF;

			vigil_digest_write(d, w->buf, k);
			if (!hash_only && (rc = evw_data(w, w->buf, k)))
				goto out;
			done += k;
		}
	} else if (read(fd, w->buf, 1) > 0) {
		notes = note(notes, "changed while read: grew beyond %" PRIu64 " bytes, cut there", want);
	}
	if (fstat(fd, &after) < 0)
		after = *before;
	else if (!notes && changed(before, &after))
		notes = note(notes, "changed while read");
	if (!hash_only && archive_write_finish_entry(w->a) < ARCHIVE_WARN) {
		rc = evw_fail(w, -EIO, "%s: %s", member, archive_error_string(w->a));
		goto out;
	}
	vigil_digest_read(d, VIGIL_ALGO_SHA256, sha);
	vigil_hex(sha, 32, hex);
	rc = evw_entry(w, "file", hash_only ? NULL : member, src, slen, before, &after, hex, want, notes, NULL, 0);
	notes = NULL;
out:
	vigil_hasher_sync(w->hasher);
	json_decref(notes);
	vigil_digest_free(d);
	close(fd);
	return rc;
}

/* A symlink (pathfd: its O_PATH fd, closed here): stored as a link, never followed. */
static int put_link(struct vigil_evw *w, int pathfd, const struct stat *st, const char *member, const char *src,
		    size_t slen)
{
	char *target = malloc(LINK_MAX_LEN);
	ssize_t n = target ? readlinkat(pathfd, "", target, LINK_MAX_LEN - 1) : -1;
	json_t *notes = NULL;
	int rc;

	close(pathfd);
	if (n < 0) {
		notes = note(notes, "unreadable link: %s", ename(errno));
		free(target);
		return evw_entry(w, "symlink", NULL, src, slen, st, NULL, NULL, 0, notes, NULL, 0);
	}
	target[n] = '\0';
	rc = evw_header(w, member, st, 0, target);
	if (!rc)
		rc = evw_entry(w, "symlink", member, src, slen, st, NULL, NULL, 0, NULL,
			       json_pack("{s:s%}", "target", target, (size_t)n), 0);
	free(target);
	return rc;
}

/* One entry: pathfd is its O_PATH|O_NOFOLLOW fd (closed here), st its fstat. */
int evw_put_entry(struct vigil_evw *w, int pathfd, const struct stat *st, const char *member, const char *src,
		  size_t slen, int hash_only, int overlay)
{
	json_t *notes = NULL;
	int fd;

	switch (st->st_mode & S_IFMT) {
	case S_IFREG: {
		struct stat st2;

		fd = vigil_rootfs_reopen_regular(pathfd, &st2);
		if (fd < 0) {
			notes = note(notes, "unreadable: %s", ename(fd));
			return evw_entry(w, "file", NULL, src, slen, st, NULL, NULL, 0, notes, NULL, 0);
		}
		return read_regular(w, fd, &st2, member, src, slen, hash_only);
	}
	case S_IFLNK:
		return put_link(w, pathfd, st, member, src, slen);
	case S_IFCHR:
		close(pathfd);
		if (overlay && st->st_rdev == makedev(0, 0)) {
			notes = note(notes, "deleted: overlay whiteout");
			return evw_entry(w, "whiteout", NULL, src, slen, st, NULL, NULL, 0, notes, NULL, 1);
		}
		/* fall through */
	default:
		if ((st->st_mode & S_IFMT) != S_IFCHR)
			close(pathfd);
		notes = note(notes, "special file: metadata only");
		return evw_entry(w, "special", NULL, src, slen, st, NULL, NULL, 0, notes, NULL, 0);
	}
}

int vigil_evw_add_path(struct vigil_evw *w, int rootfd, const char *path, const char *member, int hash_only)
{
	struct stat st;
	int fd;

	if (w->failed)
		return w->failed;
	fd = vigil_rootfs_open(rootfd, path, O_PATH | O_NOFOLLOW);
	if (fd == -ENOENT)
		return 0; /* not there: not evidence */
	if (fd < 0)
		return evw_entry(w, "none", NULL, path, strlen(path), NULL, NULL, NULL, 0,
				 note(NULL, "unreadable: %s", ename(fd)), NULL, 0);
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return evw_entry(w, "none", NULL, path, strlen(path), NULL, NULL, NULL, 0,
				 note(NULL, "unreadable: %s", ename(e)), NULL, 0);
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return evw_entry(w, "dir", NULL, path, strlen(path), &st, NULL, NULL, 0, NULL, NULL, 0);
	}
	if (hash_only == VIGIL_EVW_META_ONLY) {
		close(fd);
		return evw_entry(w, "file", NULL, path, strlen(path), &st, NULL, NULL, 0,
				 note(NULL, "metadata only: content never read"), NULL, 0);
	}
	return evw_put_entry(w, fd, &st, member, path, strlen(path), hash_only, 0);
}

/* A growable byte string for names longer than PATH_MAX. */
struct str {
	char *s;
	size_t len, cap;
};

static int str_push(struct str *p, const char *name)
{
	size_t n = strlen(name), need = p->len + 1 + n + 1;

	if (need > p->cap) {
		char *s = realloc(p->s, need * 2);

		if (!s)
			return -ENOMEM;
		p->s = s;
		p->cap = need * 2;
	}
	p->s[p->len++] = '/';
	memcpy(p->s + p->len, name, n + 1);
	p->len += n;
	return 0;
}

int evw_opaque(int pathfd)
{
	char v[4];
	ssize_t n = vigil_rootfs_xattr_get(pathfd, "trusted.overlay.opaque", v, sizeof(v));

	if (n < 0)
		n = vigil_rootfs_xattr_get(pathfd, "user.overlay.opaque", v, sizeof(v));
	return n == 1 && v[0] == 'y';
}

struct tree {
	struct vigil_evw *w;
	struct str src, mem;
	int overlay;
	const char *const *skip;
};

static int skipped(const char *const *skip, const char *name)
{
	for (; skip && *skip; skip++)
		if (!strcmp(*skip, name))
			return 1;
	return 0;
}

static int walk(struct tree *t, int dfd, int depth);

static int walk_dir(struct tree *t, int dfd, const char *name, int pathfd, const struct stat *st, int depth)
{
	json_t *notes = NULL;
	int sub, rc;

	if (t->overlay && evw_opaque(pathfd))
		notes = note(notes, "opaque directory: the image's contents below it are deleted");
	close(pathfd);
	if ((rc = evw_header(t->w, t->mem.s, st, 0, NULL)))
		return rc;
	if (depth >= TREE_MAX_DEPTH) {
		notes = note(notes, "skipped: deeper than %d levels", TREE_MAX_DEPTH);
		return evw_entry(t->w, "dir", t->mem.s, t->src.s, t->src.len, st, NULL, NULL, 0, notes, NULL, 0);
	}
	sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		notes = note(notes, "unreadable: %s", ename(errno));
	rc = evw_entry(t->w, "dir", t->mem.s, t->src.s, t->src.len, st, NULL, NULL, 0, notes, NULL, 0);
	if (!rc && sub >= 0)
		rc = walk(t, sub, depth + 1);
	if (sub >= 0)
		close(sub);
	return rc;
}

static int walk_one(struct tree *t, int dfd, const char *name, int depth)
{
	struct stat st;
	int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return evw_entry(t->w, "none", NULL, t->src.s, t->src.len, NULL, NULL, NULL, 0,
				 note(NULL, e == ENOENT ? "vanished" : "unreadable: %s", ename(e)), NULL, 0);
	}
	if (S_ISDIR(st.st_mode))
		return walk_dir(t, dfd, name, fd, &st, depth);
	return evw_put_entry(t->w, fd, &st, t->mem.s, t->src.s, t->src.len, 0, t->overlay);
}

/* dfd is not closed here.  Readdir order: no name list held per directory. */
static int walk(struct tree *t, int dfd, int depth)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t slen = t->src.len, mlen = t->mem.len;
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return evw_entry(t->w, "dir", NULL, t->src.s, t->src.len, NULL, NULL, NULL, 0,
				 note(NULL, "unreadable: %s", ename(errno)), NULL, 0);
	}
	while (!rc && (errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (depth == 0 && skipped(t->skip, de->d_name))
			continue;
		if (vigil_evw_cancelled(t->w)) {
			rc = evw_fail(t->w, -ECANCELED, "capture cancelled");
			break;
		}
		if (str_push(&t->src, de->d_name) || str_push(&t->mem, de->d_name)) {
			rc = evw_fail(t->w, -ENOMEM, "out of memory");
			break;
		}
		rc = walk_one(t, dirfd(dir), de->d_name, depth);
		t->src.len = slen;
		t->src.s[slen] = '\0';
		t->mem.len = mlen;
		t->mem.s[mlen] = '\0';
	}
	closedir(dir);
	return rc ? rc : t->w->failed;
}

static int str_set(struct str *p, const char *s)
{
	p->len = 0;
	p->cap = strlen(s) + 256;
	p->s = malloc(p->cap);
	if (!p->s)
		return -ENOMEM;
	p->len = strlen(s);
	memcpy(p->s, s, p->len + 1);
	return 0;
}

int vigil_evw_add_tree(struct vigil_evw *w, int dirfd, const char *source, const char *member, int overlay,
		       const char *const *skip)
{
	struct tree t = { .w = w, .overlay = overlay, .skip = skip };
	int rc;

	if (w->failed)
		return w->failed;
	if (str_set(&t.src, source) || str_set(&t.mem, member))
		rc = evw_fail(w, -ENOMEM, "out of memory");
	else
		rc = walk(&t, dirfd, 0);
	free(t.src.s);
	free(t.mem.s);
	return rc;
}

int vigil_evw_add_buf(struct vigil_evw *w, const char *member, const char *source, const void *buf, size_t len,
		      const char *text)
{
	unsigned char sha[32];
	char hex[65];
	int rc;

	if (w->failed)
		return w->failed;
	if ((rc = evw_put(w, member, buf, len, sha)))
		return rc;
	vigil_hex(sha, 32, hex);
	return evw_entry(w, "file", member, source, source ? strlen(source) : 0, NULL, NULL, hex, len,
			 text ? note(NULL, "%s", text) : NULL, NULL, 0);
}

int vigil_evw_add_procfile(struct vigil_evw *w, const char *path, const char *member, size_t max)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int fd, rc, cut = 0;

	if (w->failed)
		return w->failed;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return evw_entry(w, "none", NULL, path, strlen(path), NULL, NULL, NULL, 0,
				 note(NULL, errno == ENOENT || errno == ESRCH ? "absent or vanished" : "unreadable: %s",
				      ename(errno)), NULL, 0);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *b;

			if (cap >= max) {
				cut = 1;
				break;
			}
			cap = cap ? (cap * 2 > max ? max : cap * 2) : 65536;
			b = realloc(buf, cap);
			if (!b) {
				free(buf);
				close(fd);
				return evw_fail(w, -ENOMEM, "out of memory");
			}
			buf = b;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			close(fd);
			return evw_entry(w, "none", NULL, path, strlen(path), NULL, NULL, NULL, 0,
					 note(NULL, e == ESRCH ? "vanished" : "unreadable: %s", ename(e)), NULL, 0);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	rc = vigil_evw_add_buf(w, member, path, buf ? buf : "", len, cut ? "skipped: cut at the size limit" : NULL);
	free(buf);
	return rc;
}

int vigil_evw_add_missing(struct vigil_evw *w, const char *source, const char *text)
{
	if (w->failed)
		return w->failed;
	return evw_entry(w, "none", NULL, source, strlen(source), NULL, NULL, NULL, 0, note(NULL, "%s", text), NULL,
			 0);
}
