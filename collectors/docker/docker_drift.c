/* docker_drift.c - what a container changed against its image, read from its
 * upper layer (overlay2/<mount-id>/diff) and its lower layers.
 *
 * The rules are those of `docker diff` as Docker 20.10 computes it for
 * containers on overlay2 (moby's "naive" ChangesDirs over the merged views,
 * which is what it uses for a container's RW layer): a path is added (A) when
 * the image has none, deleted (D) when a whiteout or an opaque directory hides
 * the image's entry, changed (C) when type, mode, owner, device, or (not for
 * directories) size or mtime differ, or its security.capability xattr does;
 * every directory with a change inside is listed as changed too.  The image's
 * view is resolved layer by layer from the upper layer's paths alone (whiteouts
 * and opaque directories of lower layers honoured), so the cost is a few opens
 * per changed path, not a walk of the image.
 *
 * Lower layers are found through the layer store's parent chain (never
 * through the overlay2/l/ symlinks), and every open is confined beneath the
 * layer's diff dir without following symlinks.
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

#include "vigil/crypto.h"
#include "vigil/record.h"

#include "docker_model.h"
#include "docker_priv.h"

#define DRIFT_MAX_DEPTH 256
#define DRIFT_MAX_LOWER 256

struct dctx {
	int lower[DRIFT_MAX_LOWER]; /* init layer first, then the image's layers top-down */
	size_t n_lower;
	struct vigil_docker_change *ch;
	size_t n, cap;
	unsigned char *buf;
	unsigned flags; /* VIGIL_DOCKER_DRIFT_* */
	int rc;
};

static const char *const sensitive[] = {
	"/etc", "/bin", "/sbin", "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/boot",
	"/root/.ssh", "/var/spool/cron", "/var/spool/cron/crontabs", NULL,
};

static unsigned path_flags(const char *p)
{
	for (int i = 0; sensitive[i]; i++) {
		size_t n = strlen(sensitive[i]);

		if (!strncmp(p, sensitive[i], n) && (p[n] == '/' || !p[n]))
			return VIGIL_DOCKER_CH_SENSITIVE;
	}
	if (!strncmp(p, "/home/", 6)) {
		const char *s = strchr(p + 6, '/');

		if (s && !strncmp(s, "/.ssh", 5) && (s[5] == '/' || !s[5]))
			return VIGIL_DOCKER_CH_SENSITIVE;
	}
	return 0;
}

static struct vigil_docker_change *emit(struct dctx *c, char kind, const char *path)
{
	struct vigil_docker_change *x;

	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;

		x = realloc(c->ch, ncap * sizeof(*x));
		if (!x) {
			c->rc = -ENOMEM;
			return NULL;
		}
		c->ch = x;
		c->cap = ncap;
	}
	x = &c->ch[c->n];
	memset(x, 0, sizeof(*x));
	x->path = strdup(path);
	if (!x->path) {
		c->rc = -ENOMEM;
		return NULL;
	}
	x->kind = kind;
	x->flags = path_flags(path);
	c->n++;
	return x;
}

/* SHA-256 and the first bytes of a regular file in the upper layer. */
static void hash_file(struct dctx *c, int dirfd, const char *name, struct vigil_docker_change *x)
{
	struct vigil_digest *md;
	unsigned char head[4] = { 0 }, sum[32];
	size_t got = 0;
	ssize_t r;
	/* The upper layer of a running container changes under us: open only
	 * what is a regular file at open time (never a device or FIFO). */
	int fd = docker_open_regular(dirfd, name, NULL);

	if (fd < 0)
		return;
	if (c->flags & VIGIL_DOCKER_DRIFT_NO_HASH) {
		/* the caller hashes the file itself (capture): only the first bytes */
		r = pread(fd, head, sizeof(head), 0);
		got = r > 0 ? (size_t)r : 0;
		goto kind;
	}
	md = vigil_digest_new(VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256) |
			      (c->flags & VIGIL_DOCKER_DRIFT_MD5 ? VIGIL_ALGO_BIT(VIGIL_ALGO_MD5) : 0));
	if (!md) {
		close(fd);
		return;
	}
	while ((r = read(fd, c->buf, 1 << 20)) > 0) {
		if (got < 4) {
			size_t k = (size_t)r < 4 - got ? (size_t)r : 4 - got;

			memcpy(head + got, c->buf, k);
			got += k;
		}
		vigil_digest_write(md, c->buf, (size_t)r);
	}
	if (r == 0) {
		vigil_digest_read(md, VIGIL_ALGO_SHA256, sum);
		vigil_hex(sum, 32, x->sha256);
		x->has_hash = 1;
		if (c->flags & VIGIL_DOCKER_DRIFT_MD5) { /* packages: dpkg's sums */
			vigil_digest_read(md, VIGIL_ALGO_MD5, x->md5);
			x->has_md5 = 1;
		}
	}
	vigil_digest_free(md);
kind:
	if ((got >= 4 && !memcmp(head, "\x7f" "ELF", 4)) || (got >= 2 && head[0] == '#' && head[1] == '!'))
		x->flags |= VIGIL_DOCKER_CH_EXEC;
	close(fd);
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && (a->tv_nsec == b->tv_nsec || !a->tv_nsec || !b->tv_nsec);
}

static int is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static int fd_opaque(int fd)
{
	char val[4];

	return vigil_rootfs_xattr_get(fd, "trusted.overlay.opaque", val, sizeof(val)) == 1 && val[0] == 'y';
}

/* The capability's length, or -1 when there is none (or it cannot be read). */
static ssize_t fd_cap(int fd, unsigned char *buf, size_t len)
{
	ssize_t n = vigil_rootfs_xattr_get(fd, "security.capability", buf, len);

	return n < 0 ? -1 : n;
}

int docker_layers_lookup(const int *lower, size_t n_lower, const char *rel, struct stat *st, int *fd_out)
{
	for (size_t k = 0; k < n_lower; k++) {
		int fd = docker_open_beneath(lower[k], rel, O_PATH | O_NOFOLLOW);
		char anc[4096];
		size_t n;

		if (fd >= 0) {
			if (fstat(fd, st) || is_whiteout(st)) {
				close(fd);
				return -1;
			}
			if (fd_out)
				*fd_out = fd;
			else
				close(fd);
			return (int)k;
		}
		/* Not in this layer: is it hidden here by a whiteout, an opaque
		 * directory or a non-directory at an ancestor? */
		n = strlen(rel);
		if (n >= sizeof(anc))
			return -1;
		memcpy(anc, rel, n + 1);
		for (char *slash = strrchr(anc, '/'); slash; slash = strrchr(anc, '/')) {
			struct stat as;
			int afd;

			*slash = '\0';
			afd = docker_open_beneath(lower[k], anc, O_PATH | O_NOFOLLOW);
			if (afd < 0)
				continue;
			if (fstat(afd, &as) || !S_ISDIR(as.st_mode) || fd_opaque(afd)) {
				close(afd);
				return -1;
			}
			close(afd);
			break; /* the nearest existing ancestor is a plain directory: look below */
		}
	}
	return -1;
}

/* Why the upper entry a differs from the image's b (0: it does not). */
static unsigned differs(const struct stat *a, const struct stat *b)
{
	unsigned why = 0;

	if ((a->st_mode & S_IFMT) != (b->st_mode & S_IFMT))
		return VIGIL_DOCKER_WHY_TYPE;
	if ((a->st_mode & 07777) != (b->st_mode & 07777))
		why |= VIGIL_DOCKER_WHY_MODE;
	if (a->st_uid != b->st_uid || a->st_gid != b->st_gid)
		why |= VIGIL_DOCKER_WHY_OWNER;
	if (a->st_rdev != b->st_rdev)
		why |= VIGIL_DOCKER_WHY_DEVICE;
	if (!S_ISDIR(a->st_mode) && a->st_size != b->st_size)
		why |= VIGIL_DOCKER_WHY_SIZE;
	if (!S_ISDIR(a->st_mode) && !same_time(&a->st_mtim, &b->st_mtim))
		why |= VIGIL_DOCKER_WHY_MTIME;
	return why;
}

/* The directories on the current path, for listing parents of a change once. */
struct anc {
	size_t plen;  /* length of its path */
	int listed;   /* already in the change list */
	int added;    /* itself added: its entries are all new */
	struct stat st; /* the upper directory */
	unsigned why; /* how it differs from the image's (0: only its contents do) */
};

static void list_ancestors(struct dctx *c, struct anc *stack, int depth, char *path)
{
	for (int i = 0; i < depth && !c->rc; i++) {
		char save;
		struct vigil_docker_change *x;

		if (stack[i].listed)
			continue;
		save = path[stack[i].plen];
		path[stack[i].plen] = '\0';
		x = emit(c, 'C', path);
		if (x) {
			x->ftype = VIGIL_FT_DIR;
			x->mode = stack[i].st.st_mode & 07777;
			x->uid = stack[i].st.st_uid;
			x->gid = stack[i].st.st_gid;
			x->why = stack[i].why | VIGIL_DOCKER_WHY_CHILD;
		}
		path[stack[i].plen] = save;
		stack[i].listed = 1;
	}
}

static void fill(struct dctx *c, struct vigil_docker_change *x, int dirfd, const char *name, const struct stat *st)
{
	x->ftype = vigil_ftype_from_mode(st->st_mode);
	x->mode = st->st_mode & 07777;
	x->uid = st->st_uid;
	x->gid = st->st_gid;
	x->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	if (S_ISREG(st->st_mode))
		hash_file(c, dirfd, name, x);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_names(int dirfd, struct vigil_strv *names)
{
	int fd = dup(dirfd);
	DIR *dir;
	struct dirent *de;

	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(dir)))
		if (!(de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))))
			docker_strv_push(names, de->d_name);
	closedir(dir);
	if (names->n > 1)
		qsort(names->v, names->n, sizeof(char *), cmp_name);
	return 0;
}

/* An opaque directory hides the image's entries below it: each one visible
 * in the image and not recreated in the upper layer is deleted. */
static void opaque_deletions(struct dctx *c, const char *rel, const struct vigil_strv *upper_names,
			     struct anc *stack, int depth, char *path)
{
	struct vigil_strv seen = { 0 };

	for (size_t k = 0; k < c->n_lower && !c->rc; k++) {
		struct vigil_strv names = { 0 };
		struct stat st;
		int fd = docker_open_beneath(c->lower[k], rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW), stop;

		if (fd < 0) {
			if (fd == -ENOENT)
				continue;
			break;
		}
		stop = fd_opaque(fd);
		read_names(fd, &names);
		for (size_t i = 0; i < names.n; i++) {
			int dup_ = 0, wh;

			for (size_t s = 0; s < seen.n && !dup_; s++)
				dup_ = !strcmp(seen.v[s], names.v[i]);
			if (dup_)
				continue;
			docker_strv_push(&seen, names.v[i]);
			wh = !fstatat(fd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) && is_whiteout(&st);
			if (wh || (upper_names->n &&
				   bsearch(&names.v[i], upper_names->v, upper_names->n, sizeof(char *), cmp_name)))
				continue;
			list_ancestors(c, stack, depth, path);
			{
				char *p = NULL;

				if (asprintf(&p, "/%s/%s", rel, names.v[i]) >= 0) {
					emit(c, 'D', p);
					free(p);
				}
			}
		}
		docker_strv_clear(&names);
		close(fd);
		if (stop)
			break;
	}
	docker_strv_clear(&seen);
}

static void walk(struct dctx *c, int dirfd, char *path, size_t plen, struct anc *stack, int depth);

/* Compares one upper entry (path) with the image's (k >= 0: lower layer k,
 * lfd its O_PATH fd): why it differs, 0 when it does not. */
static unsigned compare_lower(int dirfd, const char *name, const struct stat *st, int lfd, const struct stat *ls)
{
	unsigned char ca[256], cb[256];
	ssize_t na, nb = -1;
	unsigned why = differs(st, ls);
	int cfd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	na = cfd >= 0 ? fd_cap(cfd, ca, sizeof(ca)) : -1;
	if (lfd >= 0)
		nb = fd_cap(lfd, cb, sizeof(cb));
	if (cfd >= 0)
		close(cfd);
	if (na != nb || (na > 0 && memcmp(ca, cb, (size_t)na)))
		why |= VIGIL_DOCKER_WHY_CAP;
	return why;
}

/* One entry of an upper directory: emits what it is, then descends. */
static void visit(struct dctx *c, int dirfd, const char *name, char *path, size_t plen, struct anc *stack,
		  int depth)
{
	size_t nl = strlen(name);
	struct stat st, ls;
	struct vigil_docker_change *x;
	int k = -1, lfd = -1, listed;
	unsigned why = 0;

	if (plen + nl + 2 >= 4096 || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return;
	path[plen] = '/';
	memcpy(path + plen + 1, name, nl + 1);
	if (!(depth > 0 && stack[depth - 1].added))
		k = docker_layers_lookup(c->lower, c->n_lower, path + 1, &ls, &lfd);
	if (is_whiteout(&st)) {
		if (k >= 0) {
			list_ancestors(c, stack, depth, path);
			emit(c, 'D', path);
		}
	} else if (k < 0) {
		list_ancestors(c, stack, depth, path);
		x = emit(c, 'A', path);
		if (x)
			fill(c, x, dirfd, name, &st);
	} else if ((why = compare_lower(dirfd, name, &st, lfd, &ls))) {
		list_ancestors(c, stack, depth, path);
		x = emit(c, 'C', path);
		if (x) {
			fill(c, x, dirfd, name, &st);
			x->why = why;
		}
	}
	listed = k < 0 || (why && !is_whiteout(&st));
	if (lfd >= 0)
		close(lfd);
	if (S_ISDIR(st.st_mode) && depth < DRIFT_MAX_DEPTH) {
		int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (sub >= 0) {
			stack[depth].plen = plen + 1 + nl;
			stack[depth].listed = listed;
			stack[depth].added = k < 0;
			stack[depth].st = st;
			stack[depth].why = why;
			walk(c, sub, path, plen + 1 + nl, stack, depth + 1);
			close(sub);
		}
	}
	path[plen] = '\0';
}

static void walk(struct dctx *c, int dirfd, char *path, size_t plen, struct anc *stack, int depth)
{
	struct vigil_strv names = { 0 };

	if (read_names(dirfd, &names))
		return;
	if (depth > 0 && !stack[depth - 1].added) {
		int fd = openat(dirfd, ".", O_PATH | O_CLOEXEC);

		if (fd >= 0) {
			if (fd_opaque(fd))
				opaque_deletions(c, path + 1, &names, stack, depth, path);
			close(fd);
		}
	}
	for (size_t i = 0; i < names.n && !c->rc; i++)
		visit(c, dirfd, names.v[i], path, plen, stack, depth);
	docker_strv_clear(&names);
}

static int cmp_change(const void *a, const void *b)
{
	return strcmp(((const struct vigil_docker_change *)a)->path, ((const struct vigil_docker_change *)b)->path);
}

int docker_open_lowers(struct vigil_docker *d, const struct vigil_docker_container *ct, int with_init, int *lower,
		       size_t max, size_t *n, struct vigil_err *err)
{
	const char *chain = ct->parent;
	char rel[600];

	*n = 0;
	if (d->o2fd < 0)
		return vigil_err_set(err, -ENOENT, "%s/overlay2: missing", d->data_root);
	if (with_init && ct->init_id && max) {
		snprintf(rel, sizeof(rel), "%s/diff", ct->init_id);
		lower[*n] = docker_open_beneath(d->o2fd, rel, O_PATH | O_DIRECTORY);
		if (lower[*n] >= 0)
			(*n)++;
	}
	while (chain && chain[0]) {
		const struct vigil_docker_layer *l = docker_layer_by_chain(d, chain);

		if (!l || !l->cache_id || *n >= max)
			return vigil_err_set(err, -ENOENT, "container %.12s: image layer %s: %s", ct->id, chain,
					     !l ? "not in the layer store" : !l->cache_id ? "no cache-id" : "chain too long");
		snprintf(rel, sizeof(rel), "%s/diff", l->cache_id);
		lower[*n] = docker_open_beneath(d->o2fd, rel, O_PATH | O_DIRECTORY);
		if (lower[*n] < 0)
			return vigil_err_set(err, lower[*n], "container %.12s: %s/overlay2/%s: %s", ct->id,
					     d->data_root, rel, strerror(-lower[*n]));
		(*n)++;
		chain = l->parent;
	}
	return 0;
}

int vigil_docker_drift(struct vigil_docker *d, const struct vigil_docker_container *ct,
		       struct vigil_docker_change **out, size_t *n_out, struct vigil_err *err)
{
	return vigil_docker_drift_flags(d, ct, 0, out, n_out, err);
}

int vigil_docker_drift_flags(struct vigil_docker *d, const struct vigil_docker_container *ct, unsigned flags,
			     struct vigil_docker_change **out, size_t *n_out, struct vigil_err *err)
{
	struct dctx c = { .flags = flags };
	char rel[600], path[4096] = "";
	int upper = -1, rc = 0;

	*out = NULL;
	*n_out = 0;
	if (!ct->mount_id)
		return vigil_err_set(err, -ENOENT, "container %.12s: no layer mount (%s)", ct->id,
				     ct->error ? ct->error : "layerdb/mounts entry missing");
	if (d->o2fd < 0)
		return vigil_err_set(err, -ENOENT, "%s/overlay2: missing", d->data_root);
	snprintf(rel, sizeof(rel), "%s/diff", ct->mount_id);
	upper = docker_open_beneath(d->o2fd, rel, O_RDONLY | O_DIRECTORY);
	if (upper < 0)
		return vigil_err_set(err, upper, "container %.12s: %s/overlay2/%s: %s", ct->id, d->data_root, rel,
				     strerror(-upper));
	if ((rc = docker_open_lowers(d, ct, 1, c.lower, DRIFT_MAX_LOWER, &c.n_lower, err)))
		goto out;
	c.buf = malloc(1 << 20);
	if (!c.buf) {
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	{
		struct anc *stack = calloc(DRIFT_MAX_DEPTH + 1, sizeof(*stack));

		if (!stack) {
			rc = vigil_err_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		walk(&c, upper, path, 0, stack, 0);
		free(stack);
	}
	if (c.n > 1)
		qsort(c.ch, c.n, sizeof(*c.ch), cmp_change);
	if (c.rc) {
		rc = vigil_err_set(err, c.rc, "container %.12s: %s", ct->id, strerror(-c.rc));
		goto out;
	}
	*out = c.ch;
	*n_out = c.n;
	c.ch = NULL;
	c.n = 0;
out:
	vigil_docker_drift_free(c.ch, c.n);
	free(c.buf);
	for (size_t i = 0; i < c.n_lower; i++)
		close(c.lower[i]);
	close(upper);
	return rc;
}

const char *vigil_docker_why_str(unsigned why, char *buf, size_t len)
{
	static const char *const names[] = { "type", "mode", "owner", "device", "size", "mtime",
					     "capability", "contents" };
	size_t off = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n;

		if (!(why & (1u << i)))
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? "," : "", names[i]);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	return buf;
}

void vigil_docker_drift_free(struct vigil_docker_change *ch, size_t n)
{
	if (!ch)
		return;
	for (size_t i = 0; i < n; i++)
		free(ch[i].path);
	free(ch);
}
