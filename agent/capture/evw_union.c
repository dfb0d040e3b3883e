/* evw_union.c - a merged view computed from overlay layers, as overlayfs
 * would show it, for a container whose overlay is not mounted (stopped, or a
 * disk image under --root).
 *
 * The layers come top first (upper dir, init layer, image layers down to the
 * base).  Each directory is resolved on its own: the names of every layer
 * holding it are read, the topmost entry of each name wins; a whiteout (a
 * char 0/0 device, or a `.wh.NAME` file as aufs-style layers have) hides the
 * name in every layer below; a non-directory hides lower ones; an opaque
 * directory (trusted.overlay.opaque or user.overlay.opaque = y, or a
 * `.wh..wh..opq` file in it) hides the contents of the same directory in the
 * layers below.  aufs-style `.wh.` names count only in the layers from
 * aufs_from down (the image's): overlayfs gives them no meaning, so in a
 * container's own layers a `.wh.NAME` file is the container's file, shown as
 * the mounted overlay shows it (it must not hide NAME from the evidence);
 * where they count, they never appear themselves.  Files are read once
 * from the layer that wins, through the writer's ordinary entry code (regular
 * files reopened O_NOATIME, symlinks stored, special files metadata only); a
 * hard link is stored as a file of its own, as a walk of the mounted overlay
 * stores it.  Not handled: overlayfs' redirect_dir, metacopy and xattr
 * whiteouts (Docker's overlay2 uses none of them).
 *
 * Memory: the names of the directories on the current path only (one sorted
 * list per level), never a list of the whole tree; fds: one per layer holding
 * each directory on the current path.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "evw_priv.h"
#include "vigil/rootfs.h"

#define UNION_MAX_DEPTH 256

enum { K_DIR, K_OTHER, K_WHITEOUT }; /* within one layer, a real entry sorts before a whiteout */

struct uent {
	char *name;
	unsigned layer; /* index into the directory's layer list (0: topmost) */
	int kind;
};

struct ubuf {
	char *s;
	size_t len, cap;
};

struct uctx {
	struct vigil_evw *w;
	const char *const *sources;
	size_t aufs_from;
	struct ubuf rel, mem, src;
};

static int ubuf_put(struct ubuf *b, size_t at, const char *a, const char *c)
{
	size_t na = strlen(a), nc = c ? strlen(c) : 0, need = at + na + nc + 2;

	if (need > b->cap) {
		char *s = realloc(b->s, need * 2);

		if (!s)
			return -ENOMEM;
		b->s = s;
		b->cap = need * 2;
	}
	memcpy(b->s + at, a, na);
	b->len = at + na;
	if (c) {
		b->s[b->len++] = '/';
		memcpy(b->s + b->len, c, nc);
		b->len += nc;
	}
	b->s[b->len] = '\0';
	return 0;
}

static int cmp_uent(const void *a, const void *b)
{
	const struct uent *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->layer != y->layer)
		return x->layer < y->layer ? -1 : 1;
	return x->kind - y->kind;
}

static void free_ents(struct uent *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

static int push(struct uent **e, size_t *n, size_t *cap, const char *name, unsigned layer, int kind)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct uent *x = realloc(*e, nc * sizeof(*x));

		if (!x)
			return -ENOMEM;
		*e = x;
		*cap = nc;
	}
	(*e)[*n].name = strdup(name);
	if (!(*e)[*n].name)
		return -ENOMEM;
	(*e)[*n].layer = layer;
	(*e)[(*n)++].kind = kind;
	return 0;
}

/* Layer src's copy of the directory at u->rel could not be read (e: errno):
 * its names are missing from the view, and the manifest says so, naming the
 * layer and the path in it ("unreadable: EACCES ..." as the writer's other
 * notes; "vanished ..." when it went away meanwhile). */
static int layer_unreadable(struct uctx *u, unsigned src, int e)
{
	const char *dir = u->rel.len ? u->rel.s : "/";
	struct ubuf p = { 0 };
	char text[512];
	int rc;

	if (ubuf_put(&p, 0, u->sources[src], NULL) || ubuf_put(&p, p.len, u->rel.s, NULL)) {
		free(p.s);
		return evw_fail(u->w, -ENOMEM, "out of memory");
	}
	if (e == ENOENT)
		snprintf(text, sizeof(text), "vanished: layer %u's directory %s, its entries are missing from the "
			 "merged view", src, dir);
	else
		snprintf(text, sizeof(text), "unreadable: %s: layer %u's directory %s, its entries are missing from "
			 "the merged view", strerrorname_np(e) ? strerrorname_np(e) : "error", src, dir);
	rc = vigil_evw_add_missing(u->w, p.s, text);
	free(p.s);
	return rc;
}

/* One layer's names of this directory; *opq set when it hides the layers below;
 * *bad an errno when the layer's copy could not be read (whole or in part). */
static int read_layer(int dfd, unsigned layer, int aufs, struct uent **e, size_t *n, size_t *cap, int *opq,
		      int *bad)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	struct dirent *de;
	DIR *dir = NULL;

	*bad = fd < 0 ? errno : 0;
	if (fd >= 0 && !(dir = fdopendir(fd)))
		*bad = errno;
	*opq = evw_opaque(dfd);
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return 0; /* its names are missing from the view: the caller notes it */
	}
	for (errno = 0; !rc && (de = readdir(dir)); errno = 0) {
		const char *nm = de->d_name;
		struct stat st;

		if (!strcmp(nm, ".") || !strcmp(nm, ".."))
			continue;
		if (aufs && !strncmp(nm, ".wh.", 4)) {
			if (!strcmp(nm, ".wh..wh..opq"))
				*opq = 1;
			else if (strncmp(nm, ".wh..wh.", 8) && nm[4]) /* .wh..wh.*: aufs bookkeeping */
				rc = push(e, n, cap, nm + 4, layer, K_WHITEOUT);
			continue;
		}
		if (fstatat(dirfd(dir), nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* vanished meanwhile */
		rc = push(e, n, cap, nm, layer,
			  S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0) ? K_WHITEOUT
			  : S_ISDIR(st.st_mode)				 ? K_DIR
									 : K_OTHER);
	}
	if (!rc && errno)
		*bad = errno; /* readdir failed part way: the names read so far are kept */
	closedir(dir);
	return rc;
}

static int walk(struct uctx *u, const int *fds, const unsigned *idx, size_t m, int depth);

/* The directory named by group g[0..ng) (g[0] wins: a directory). */
static int put_dir(struct uctx *u, const int *fds, const unsigned *idx, const struct uent *g, size_t ng, int depth)
{
	int top = fds[g[0].layer], pfd, rc = 0, *cfd;
	unsigned *cidx;
	size_t cm = 0;
	struct stat st;

	pfd = openat(top, g[0].name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		if (pfd >= 0)
			close(pfd);
		return vigil_evw_add_missing(u->w, u->src.s, "vanished");
	}
	close(pfd);
	if ((rc = evw_header(u->w, u->mem.s, &st, 0, NULL)))
		return rc;
	if ((rc = evw_entry(u->w, "dir", u->mem.s, u->src.s, u->src.len, &st, NULL, NULL, 0, NULL, NULL, 0)))
		return rc;
	if (depth >= UNION_MAX_DEPTH)
		return vigil_evw_add_missing(u->w, u->src.s, "skipped: deeper than 256 levels");
	cfd = malloc(ng * sizeof(*cfd));
	cidx = malloc(ng * sizeof(*cidx));
	if (!cfd || !cidx) {
		free(cfd);
		free(cidx);
		return evw_fail(u->w, -ENOMEM, "out of memory");
	}
	/* the same directory in the layers below, until a non-directory or a whiteout */
	for (size_t i = 0; i < ng && g[i].kind == K_DIR && !rc; i++) {
		int fd = openat(fds[g[i].layer], g[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0) {
			rc = layer_unreadable(u, idx[g[i].layer], errno);
			continue;
		}
		cfd[cm] = fd;
		cidx[cm++] = idx[g[i].layer];
	}
	if (!rc)
		rc = walk(u, cfd, cidx, cm, depth + 1);
	for (size_t i = 0; i < cm; i++)
		close(cfd[i]);
	free(cfd);
	free(cidx);
	return rc;
}

/* The winner of one name: sets rel, member and source, then stores it. */
static int put_name(struct uctx *u, const int *fds, const unsigned *idx, const struct uent *g, size_t ng, int depth)
{
	size_t rlen = u->rel.len, mlen = u->mem.len;
	struct stat st;
	int rc, pfd;

	if (ubuf_put(&u->rel, rlen, "", g[0].name) || ubuf_put(&u->mem, mlen, "", g[0].name) ||
	    ubuf_put(&u->src, 0, u->sources[idx[g[0].layer]], u->rel.s + 1)) {
		rc = evw_fail(u->w, -ENOMEM, "out of memory");
		goto out;
	}
	if (g[0].kind == K_DIR) {
		rc = put_dir(u, fds, idx, g, ng, depth);
		goto out;
	}
	pfd = openat(fds[g[0].layer], g[0].name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, &st) < 0) {
		if (pfd >= 0)
			close(pfd);
		rc = vigil_evw_add_missing(u->w, u->src.s, "vanished");
		goto out;
	}
	rc = evw_put_entry(u->w, pfd, &st, u->mem.s, u->src.s, u->src.len, 0, 0);
out:
	u->rel.len = rlen;
	u->rel.s[rlen] = '\0';
	u->mem.len = mlen;
	u->mem.s[mlen] = '\0';
	return rc;
}

/* One directory: fds[0..m) hold it, top first; idx maps them to sources. */
static int walk(struct uctx *u, const int *fds, const unsigned *idx, size_t m, int depth)
{
	struct uent *e = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	for (size_t k = 0; k < m && !rc; k++) {
		int opq = 0, bad = 0;

		rc = read_layer(fds[k], (unsigned)k, idx[k] >= u->aufs_from, &e, &n, &cap, &opq, &bad);
		if (rc) {
			free_ents(e, n);
			return evw_fail(u->w, -ENOMEM, "out of memory");
		}
		if (bad)
			rc = layer_unreadable(u, idx[k], bad);
		if (opq)
			break;
	}
	if (rc) {
		free_ents(e, n);
		return rc;
	}
	if (n > 1)
		qsort(e, n, sizeof(*e), cmp_uent);
	for (size_t i = 0, j; i < n && !rc; i = j) {
		for (j = i + 1; j < n && !strcmp(e[j].name, e[i].name); j++)
			;
		if (vigil_evw_cancelled(u->w))
			rc = evw_fail(u->w, -ECANCELED, "capture cancelled");
		else if (e[i].kind != K_WHITEOUT)
			rc = put_name(u, fds, idx, e + i, j - i, depth);
	}
	free_ents(e, n);
	return rc ? rc : u->w->failed;
}

int vigil_evw_add_union(struct vigil_evw *w, const int *layers, const char *const *sources, size_t n,
			size_t aufs_from, const char *member)
{
	struct uctx u = { .w = w, .sources = sources, .aufs_from = aufs_from };
	unsigned *idx;
	int rc;

	if (w->failed)
		return w->failed;
	idx = calloc(n ? n : 1, sizeof(*idx));
	if (!idx || ubuf_put(&u.rel, 0, "", NULL) || ubuf_put(&u.mem, 0, member, NULL) || ubuf_put(&u.src, 0, "", NULL)) {
		rc = evw_fail(w, -ENOMEM, "out of memory");
	} else {
		for (size_t i = 0; i < n; i++)
			idx[i] = (unsigned)i;
		rc = walk(&u, layers, idx, n, 0);
	}
	free(idx);
	free(u.rel.s);
	free(u.mem.s);
	free(u.src.s);
	return rc;
}
