/* docker_vcheck.c - `layers verify`, the header side: every tar header of a
 * layer's rebuilt stream checked against its diff dir (type, size, link,
 * device, mode, owner, mtime, xattrs, whiteouts and opaque markers), and the
 * diff dir walked for files the layer never had.  The stream side (tar-split,
 * payloads, the digest) is docker_layers.c.
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

#include "docker_verify.h"

/* ---- the layer's names: a string set (open addressing, FNV-1a) ---- */

static uint64_t fnv(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static int set_grow(struct docker_nameset *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 1024;
	char **ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		size_t k;

		if (!s->slot[i])
			continue;
		for (k = fnv(s->slot[i], strlen(s->slot[i])) & (ncap - 1); ns[k]; k = (k + 1) & (ncap - 1))
			;
		ns[k] = s->slot[i];
	}
	free(s->slot);
	s->slot = ns;
	s->cap = ncap;
	return 0;
}

static int set_add(struct docker_nameset *s, const char *name, size_t len)
{
	size_t k;

	if ((s->n + 1) * 2 > s->cap && set_grow(s))
		return -ENOMEM;
	for (k = fnv(name, len) & (s->cap - 1); s->slot[k]; k = (k + 1) & (s->cap - 1))
		if (strlen(s->slot[k]) == len && !memcmp(s->slot[k], name, len))
			return 0;
	s->slot[k] = strndup(name, len);
	if (!s->slot[k])
		return -ENOMEM;
	s->n++;
	return 0;
}

static int set_has(const struct docker_nameset *s, const char *name, size_t len)
{
	if (!s->cap)
		return 0;
	for (size_t k = fnv(name, len) & (s->cap - 1); s->slot[k]; k = (k + 1) & (s->cap - 1))
		if (strlen(s->slot[k]) == len && !memcmp(s->slot[k], name, len))
			return 1;
	return 0;
}

void docker_nameset_free(struct docker_nameset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

void docker_finding(struct docker_vctx *c, int kind, const char *path, const char *fmt, ...)
{
	struct vigil_docker_verify *v = c->v;
	struct vigil_docker_finding *f;
	char *p = NULL, *d = NULL;
	va_list ap;

	if ((kind == VIGIL_DOCKER_F_MISSING || kind == VIGIL_DOCKER_F_SHORT) && !v->first_bad &&
	    asprintf(&v->first_bad, "/%s", path) < 0)
		v->first_bad = NULL;
	if (v->n_findings >= VIGIL_DOCKER_MAX_FINDINGS) {
		v->findings_dropped++;
		return;
	}
	f = realloc(v->findings, (v->n_findings + 1) * sizeof(*f));
	if (!f)
		return;
	v->findings = f;
	va_start(ap, fmt);
	if (vasprintf(&d, fmt, ap) < 0)
		d = NULL;
	va_end(ap);
	if (asprintf(&p, "/%s", path) < 0)
		p = NULL;
	f[v->n_findings].kind = kind;
	f[v->n_findings].path = p;
	f[v->n_findings].detail = d;
	v->n_findings++;
}

void docker_set_error(struct vigil_docker_verify *v, const char *fmt, ...)
{
	va_list ap;

	if (v->error)
		return;
	va_start(ap, fmt);
	if (vasprintf(&v->error, fmt, ap) < 0)
		v->error = NULL;
	va_end(ap);
	v->status = VIGIL_DOCKER_LAYER_ERROR;
}

/* The layer's own metadata (a layerdb file, tar-split.json.gz) is missing or
 * altered: a finding naming that file (abs, under the data root), not an
 * ERROR.  The rebuilt stream cannot be trusted after it: stop. */
void docker_layerdb_bad(struct docker_vctx *c, const char *abs, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	while (*abs == '/')
		abs++;
	docker_finding(c, VIGIL_DOCKER_F_LAYERDB, abs, "%s", msg);
	c->fatal = 1;
}

static const char *type_name(char t)
{
	switch (t) {
	case '0': case '7': return "file";
	case '1': return "hard link";
	case '2': return "symlink";
	case '3': return "char device";
	case '4': return "block device";
	case '5': return "directory";
	case '6': return "fifo";
	default: return "entry";
	}
}

static const char *st_type_name(mode_t m)
{
	return S_ISREG(m) ? "file" : S_ISDIR(m) ? "directory" : S_ISLNK(m) ? "symlink" :
	       S_ISCHR(m) ? "char device" : S_ISBLK(m) ? "block device" : S_ISFIFO(m) ? "fifo" : "socket";
}

static void check_xattrs(struct docker_vctx *c, int fd, const char *name, const struct docker_tar_hdr *h)
{
	unsigned char val[4096];
	char list[4096];
	ssize_t n;

	for (size_t i = 0; i < h->n_xattrs; i++) {
		n = vigil_rootfs_xattr_get(fd, h->xattrs[i].name, val, sizeof(val));
		if (n < 0)
			docker_finding(c, VIGIL_DOCKER_F_META, name, "xattr %s missing", h->xattrs[i].name);
		else if ((size_t)n != h->xattrs[i].len || memcmp(val, h->xattrs[i].value, (size_t)n))
			docker_finding(c, VIGIL_DOCKER_F_META, name, "xattr %s differs", h->xattrs[i].name);
	}
	/* Docker 20.10 records only security.capability in layer tars, so other
	 * xattrs on disk may be legitimate; a capability the layer lacks is not. */
	n = vigil_rootfs_xattr_list(fd, list, sizeof(list));
	for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(list + off) + 1) {
		int known = 0;

		if (strcmp(list + off, "security.capability"))
			continue;
		for (size_t i = 0; i < h->n_xattrs && !known; i++)
			known = !strcmp(h->xattrs[i].name, list + off);
		if (!known)
			docker_finding(c, VIGIL_DOCKER_F_META, name, "xattr %s added", list + off);
	}
}

static void check_whiteout(struct docker_vctx *c, const struct docker_tar_hdr *h, const char *base)
{
	size_t dlen = (size_t)(base - h->name);
	char *path;
	int fd;
	struct stat st;

	if (!strcmp(base, ".wh..wh..opq")) {
		char dir[4096];
		char val[8];
		ssize_t n;

		snprintf(dir, sizeof(dir), "%.*s", (int)(dlen ? dlen - 1 : 0), h->name);
		fd = docker_open_beneath(c->difffd, dir[0] ? dir : ".", O_PATH | O_NOFOLLOW);
		n = fd >= 0 ? vigil_rootfs_xattr_get(fd, "trusted.overlay.opaque", val, sizeof(val)) : -1;
		if (n != 1 || val[0] != 'y')
			docker_finding(c, VIGIL_DOCKER_F_META, dir[0] ? dir : ".",
				"opaque directory marker (trusted.overlay.opaque) missing");
		if (fd >= 0)
			close(fd);
		return;
	}
	if (asprintf(&path, "%.*s%s", (int)dlen, h->name, base + 4) < 0)
		return;
	set_add(&c->names, path, strlen(path));
	fd = docker_open_beneath(c->difffd, path, O_PATH | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st))
		docker_finding(c, VIGIL_DOCKER_F_MISSING, path, "whiteout missing");
	else if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(0, 0))
		docker_finding(c, VIGIL_DOCKER_F_META, path, "whiteout replaced by a %s", st_type_name(st.st_mode));
	if (fd >= 0)
		close(fd);
	free(path);
}

/* The entry opened beneath the diff dir: a regular file for reading (only
 * once known to be regular: a device or FIFO swapped in is never opened),
 * anything else O_PATH.  An fd and *st, or -1 after a finding. */
static int open_entry(struct docker_vctx *c, const struct docker_tar_hdr *h, struct stat *st)
{
	int fd = -EINVAL;

	if (h->type == '0' || h->type == '7')
		fd = docker_open_regular(c->difffd, h->name, NULL);
	if (fd == -EINVAL)
		fd = docker_open_beneath(c->difffd, h->name, O_PATH | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, st)) {
		int e = fd < 0 ? -fd : errno;

		docker_finding(c, VIGIL_DOCKER_F_MISSING, h->name, "%s in the layer: %s", type_name(h->type),
			       e == ELOOP || e == EXDEV ? "path goes through a symlink in diff/" : strerror(e));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The entry's type and what only that type has (size, link, device):
 * 0, or -1 when the type itself differs (a finding). */
static int check_type(struct docker_vctx *c, const struct docker_tar_hdr *h, int fd, const struct stat *st)
{
	static const struct { char t; mode_t m; } types[] = {
		{ '0', S_IFREG }, { '7', S_IFREG }, { '2', S_IFLNK }, { '3', S_IFCHR },
		{ '4', S_IFBLK }, { '5', S_IFDIR }, { '6', S_IFIFO },
	};
	char t[4096];
	ssize_t n;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].t == h->type && (st->st_mode & S_IFMT) != types[i].m) {
			docker_finding(c, VIGIL_DOCKER_F_META, h->name, "type %s -> %s", type_name(h->type),
				       st_type_name(st->st_mode));
			return -1;
		}
	switch (h->type) {
	case '0': case '7':
		if ((uint64_t)st->st_size != h->size)
			docker_finding(c, VIGIL_DOCKER_F_SHORT, h->name, "size %" PRIu64 " -> %jd", h->size,
				       (intmax_t)st->st_size);
		break;
	case '2':
		n = readlinkat(fd, "", t, sizeof(t) - 1);
		if (n < 0 || (size_t)n != strlen(h->linkname) || memcmp(t, h->linkname, (size_t)n))
			docker_finding(c, VIGIL_DOCKER_F_META, h->name, "link target '%s' -> '%.*s'", h->linkname,
				       n < 0 ? 0 : (int)n, t);
		break;
	case '3': case '4':
		if (st->st_rdev != makedev(h->devmajor, h->devminor))
			docker_finding(c, VIGIL_DOCKER_F_META, h->name, "device %u:%u -> %u:%u", h->devmajor,
				       h->devminor, major(st->st_rdev), minor(st->st_rdev));
		break;
	default:
		break;
	}
	return 0;
}

/* A hard link ('1') names another entry: the same inode in diff/. */
static void check_hardlink(struct docker_vctx *c, const struct docker_tar_hdr *h, const struct stat *st)
{
	int tfd = docker_open_beneath(c->difffd, h->linkname, O_PATH | O_NOFOLLOW);
	struct stat ts;

	if (tfd < 0 || fstat(tfd, &ts) || ts.st_ino != st->st_ino || ts.st_dev != st->st_dev)
		docker_finding(c, VIGIL_DOCKER_F_META, h->name, "no longer a hard link to /%s", h->linkname);
	if (tfd >= 0)
		close(tfd);
}

/* Mode, owner, mtime, xattrs. */
static void check_attrs(struct docker_vctx *c, const struct docker_tar_hdr *h, int fd, const struct stat *st)
{
	if (!S_ISLNK(st->st_mode) && (st->st_mode & 07777) != h->mode)
		docker_finding(c, VIGIL_DOCKER_F_META, h->name, "mode %04o -> %04o", (unsigned)h->mode,
			       (unsigned)(st->st_mode & 07777));
	if (st->st_uid != h->uid || st->st_gid != h->gid)
		docker_finding(c, VIGIL_DOCKER_F_META, h->name, "owner %" PRIu64 ":%" PRIu64 " -> %u:%u", h->uid,
			       h->gid, (unsigned)st->st_uid, (unsigned)st->st_gid);
	if (st->st_mtim.tv_sec != h->mtime_s || (h->has_ns && st->st_mtim.tv_nsec != h->mtime_ns))
		docker_finding(c, VIGIL_DOCKER_F_META, h->name, "mtime %" PRId64 " -> %jd", h->mtime_s,
			       (intmax_t)st->st_mtim.tv_sec);
	check_xattrs(c, fd, h->name, h);
}

void docker_on_header(void *arg, const struct docker_tar_hdr *h)
{
	struct docker_vctx *c = arg;
	const char *base;
	struct stat st;
	int fd;

	if (c->pending_fd >= 0) {
		close(c->pending_fd);
		c->pending_fd = -1;
	}
	free(c->pending_name);
	c->pending_name = NULL;
	c->v->files++;
	if (!h->name[0])
		return; /* the layer's root "./" */
	if (docker_ts_name_ok(h->name, strlen(h->name))) {
		docker_layerdb_bad(c, c->where, "tar header names an unsafe path '%s'", h->name);
		return;
	}
	base = strrchr(h->name, '/');
	base = base ? base + 1 : h->name;
	if (!strncmp(base, ".wh.", 4)) {
		check_whiteout(c, h, base);
		return;
	}
	set_add(&c->names, h->name, strlen(h->name));
	fd = open_entry(c, h, &st);
	if (fd < 0)
		return;
	if (h->type == '1') {
		check_hardlink(c, h, &st);
	} else if (!check_type(c, h, fd, &st)) {
		check_attrs(c, h, fd, &st);
		if (S_ISREG(st.st_mode) && h->size) {
			c->pending_fd = fd; /* its payload comes next */
			c->pending_name = strdup(h->name);
			return;
		}
	}
	close(fd);
}

void docker_walk_extra(struct docker_vctx *c, int dirfd, char *path, size_t plen, int depth)
{
	DIR *dir;
	struct dirent *de;
	int fd = dup(dirfd);

	if (fd < 0)
		return;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return;
	}
	while ((de = readdir(dir))) {
		size_t nl = strlen(de->d_name), np;
		struct stat st;

		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (plen + nl + 2 >= 4096)
			continue;
		np = plen;
		if (np)
			path[np++] = '/';
		memcpy(path + np, de->d_name, nl + 1);
		if (!set_has(&c->names, path, np + nl))
			docker_finding(c, VIGIL_DOCKER_F_EXTRA, path, "not in the layer");
		if (depth < 256 && !fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) && S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0) {
				docker_walk_extra(c, sub, path, np + nl, depth + 1);
				close(sub);
			}
		}
		path[plen] = '\0';
	}
	closedir(dir);
}

