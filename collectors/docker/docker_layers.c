/* docker_layers.c - `layers verify`: each image layer's tar stream rebuilt
 * from tar-split.json.gz and the files of its diff dir, hashed with SHA-256
 * and compared with the layer's diff ID; and the diff dir walked against the
 * tar headers (files the layer never had, mode/owner/mtime/link/xattrs).
 *
 * Cost: one read of every payload byte (CRC-64 and SHA-256 in the same pass),
 * one open per tar entry, one readdir pass over the diff dir, and a hash set
 * of the layer's names (about 64 bytes per entry).  Layers are independent
 * and verified by a pool of threads, one per core by default.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
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

#define READ_BUF (1u << 20)

/* ---- a string set (open addressing, FNV-1a) ---- */
struct nameset {
	char **slot;
	size_t cap, n;
};

static uint64_t fnv(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static int set_grow(struct nameset *s)
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

static int set_add(struct nameset *s, const char *name, size_t len)
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

static int set_has(const struct nameset *s, const char *name, size_t len)
{
	if (!s->cap)
		return 0;
	for (size_t k = fnv(name, len) & (s->cap - 1); s->slot[k]; k = (k + 1) & (s->cap - 1))
		if (strlen(s->slot[k]) == len && !memcmp(s->slot[k], name, len))
			return 1;
	return 0;
}

static void set_free(struct nameset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

/* ---- one layer ---- */
struct vctx {
	struct vigil_docker_verify *v;
	int difffd;
	struct nameset names;
	int pending_fd;       /* the regular file whose header was just seen */
	char *pending_name;
	int fatal;            /* tar stream unusable: stop */
	const char *where;    /* the layer's tar-split.json.gz, under the data root */
	unsigned char *buf;
};

static void finding(struct vctx *c, int kind, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void finding(struct vctx *c, int kind, const char *path, const char *fmt, ...)
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

static void set_error(struct vigil_docker_verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct vigil_docker_verify *v, const char *fmt, ...)
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
static void layerdb_bad(struct vctx *c, const char *abs, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void layerdb_bad(struct vctx *c, const char *abs, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	while (*abs == '/')
		abs++;
	finding(c, VIGIL_DOCKER_F_LAYERDB, abs, "%s", msg);
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

static void check_xattrs(struct vctx *c, int fd, const char *name, const struct docker_tar_hdr *h)
{
	unsigned char val[4096];
	char list[4096];
	ssize_t n;

	for (size_t i = 0; i < h->n_xattrs; i++) {
		n = vigil_rootfs_xattr_get(fd, h->xattrs[i].name, val, sizeof(val));
		if (n < 0)
			finding(c, VIGIL_DOCKER_F_META, name, "xattr %s missing", h->xattrs[i].name);
		else if ((size_t)n != h->xattrs[i].len || memcmp(val, h->xattrs[i].value, (size_t)n))
			finding(c, VIGIL_DOCKER_F_META, name, "xattr %s differs", h->xattrs[i].name);
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
			finding(c, VIGIL_DOCKER_F_META, name, "xattr %s added", list + off);
	}
}

static void check_whiteout(struct vctx *c, const struct docker_tar_hdr *h, const char *base)
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
			finding(c, VIGIL_DOCKER_F_META, dir[0] ? dir : ".",
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
		finding(c, VIGIL_DOCKER_F_MISSING, path, "whiteout missing");
	else if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(0, 0))
		finding(c, VIGIL_DOCKER_F_META, path, "whiteout replaced by a %s", st_type_name(st.st_mode));
	if (fd >= 0)
		close(fd);
	free(path);
}

static void on_header(void *arg, const struct docker_tar_hdr *h)
{
	struct vctx *c = arg;
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
		layerdb_bad(c, c->where, "tar header names an unsafe path '%s'", h->name);
		return;
	}
	base = strrchr(h->name, '/');
	base = base ? base + 1 : h->name;
	if (!strncmp(base, ".wh.", 4)) {
		check_whiteout(c, h, base);
		return;
	}
	set_add(&c->names, h->name, strlen(h->name));
	/* Regular files are opened for reading only once known to be regular:
	 * a device or FIFO swapped into the layer is never opened. */
	fd = -EINVAL;
	if (h->type == '0' || h->type == '7')
		fd = docker_open_regular(c->difffd, h->name, NULL);
	if (fd == -EINVAL)
		fd = docker_open_beneath(c->difffd, h->name, O_PATH | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st)) {
		int e = fd < 0 ? -fd : errno;

		finding(c, VIGIL_DOCKER_F_MISSING, h->name, "%s in the layer: %s", type_name(h->type),
			e == ELOOP || e == EXDEV ? "path goes through a symlink in diff/" : strerror(e));
		if (fd >= 0)
			close(fd);
		return;
	}
	switch (h->type) {
	case '0': case '7':
		if (!S_ISREG(st.st_mode))
			goto badtype;
		if ((uint64_t)st.st_size != h->size)
			finding(c, VIGIL_DOCKER_F_SHORT, h->name, "size %" PRIu64 " -> %jd", h->size,
				(intmax_t)st.st_size);
		break;
	case '1': {
		int tfd = docker_open_beneath(c->difffd, h->linkname, O_PATH | O_NOFOLLOW);
		struct stat ts;

		if (tfd < 0 || fstat(tfd, &ts) || ts.st_ino != st.st_ino || ts.st_dev != st.st_dev)
			finding(c, VIGIL_DOCKER_F_META, h->name, "no longer a hard link to /%s", h->linkname);
		if (tfd >= 0)
			close(tfd);
		close(fd);
		return;
	}
	case '2': {
		char t[4096];
		ssize_t n;

		if (!S_ISLNK(st.st_mode))
			goto badtype;
		n = readlinkat(fd, "", t, sizeof(t) - 1);
		if (n < 0 || (size_t)n != strlen(h->linkname) || memcmp(t, h->linkname, (size_t)n))
			finding(c, VIGIL_DOCKER_F_META, h->name, "link target '%s' -> '%.*s'", h->linkname,
				n < 0 ? 0 : (int)n, t);
		break;
	}
	case '3': case '4':
		if (h->type == '3' ? !S_ISCHR(st.st_mode) : !S_ISBLK(st.st_mode))
			goto badtype;
		if (st.st_rdev != makedev(h->devmajor, h->devminor))
			finding(c, VIGIL_DOCKER_F_META, h->name, "device %u:%u -> %u:%u", h->devmajor,
				h->devminor, major(st.st_rdev), minor(st.st_rdev));
		break;
	case '5':
		if (!S_ISDIR(st.st_mode))
			goto badtype;
		break;
	case '6':
		if (!S_ISFIFO(st.st_mode))
			goto badtype;
		break;
	default:
		break;
	}
	if (!S_ISLNK(st.st_mode) && (st.st_mode & 07777) != h->mode)
		finding(c, VIGIL_DOCKER_F_META, h->name, "mode %04o -> %04o", (unsigned)h->mode,
			(unsigned)(st.st_mode & 07777));
	if (st.st_uid != h->uid || st.st_gid != h->gid)
		finding(c, VIGIL_DOCKER_F_META, h->name, "owner %" PRIu64 ":%" PRIu64 " -> %u:%u", h->uid,
			h->gid, (unsigned)st.st_uid, (unsigned)st.st_gid);
	if (st.st_mtim.tv_sec != h->mtime_s || (h->has_ns && st.st_mtim.tv_nsec != h->mtime_ns))
		finding(c, VIGIL_DOCKER_F_META, h->name, "mtime %" PRId64 " -> %jd", h->mtime_s,
			(intmax_t)st.st_mtim.tv_sec);
	check_xattrs(c, fd, h->name, h);
	if (S_ISREG(st.st_mode) && h->size) {
		c->pending_fd = fd;
		c->pending_name = strdup(h->name);
		return;
	}
	close(fd);
	return;
badtype:
	finding(c, VIGIL_DOCKER_F_META, h->name, "type %s -> %s", type_name(h->type), st_type_name(st.st_mode));
	close(fd);
}

/* ---- the hashing pipe: SHA-256 of the stream runs in its own thread ----
 * The reader (tar-split, file opens and reads, header checks) and SHA-256
 * cost about the same; splitting them uses two cores even for one big layer
 * (tar | sha256sum does the same with two processes).  Four 512 KiB slots
 * bound the memory; when the thread cannot start, hashing is done inline. */
#define HP_SLOTS 4
#define HP_SLOT (512u << 10)

struct hpipe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *slot[HP_SLOTS];
	size_t len[HP_SLOTS];
	unsigned head, count; /* filled slots: [head - count, head) */
	int done, threaded;
	pthread_t tid;
	struct vigil_digest *md;
	unsigned cur;         /* the slot the reader fills */
	size_t fill;
	int have_cur;
	int inited;
};

static void *hp_hasher(void *arg)
{
	struct hpipe *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		unsigned i;

		while (!h->count && !h->done)
			pthread_cond_wait(&h->cv, &h->mu);
		if (!h->count)
			break;
		i = (h->head + HP_SLOTS - h->count) % HP_SLOTS;
		pthread_mutex_unlock(&h->mu);
		vigil_digest_write(h->md, h->slot[i], h->len[i]);
		pthread_mutex_lock(&h->mu);
		h->count--;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static int hp_start(struct hpipe *h, struct vigil_digest *md)
{
	memset(h, 0, sizeof(*h));
	h->md = md;
	for (int i = 0; i < HP_SLOTS; i++) {
		h->slot[i] = malloc(HP_SLOT);
		if (!h->slot[i])
			return -ENOMEM;
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->inited = 1;
	h->threaded = !pthread_create(&h->tid, NULL, hp_hasher, h);
	return 0;
}

static void hp_submit(struct hpipe *h)
{
	if (!h->have_cur)
		return;
	h->have_cur = 0;
	if (!h->threaded) {
		vigil_digest_write(h->md, h->slot[h->cur], h->fill);
		return;
	}
	pthread_mutex_lock(&h->mu);
	h->len[h->cur] = h->fill;
	h->head = (h->head + 1) % HP_SLOTS;
	h->count++;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* Free space in the current slot (a fresh one when needed). */
static unsigned char *hp_space(struct hpipe *h, size_t *avail)
{
	if (h->have_cur && h->fill == HP_SLOT)
		hp_submit(h);
	if (!h->have_cur) {
		if (h->threaded) {
			pthread_mutex_lock(&h->mu);
			while (h->count == HP_SLOTS)
				pthread_cond_wait(&h->cv, &h->mu);
			h->cur = h->head;
			pthread_mutex_unlock(&h->mu);
		} else {
			h->cur = 0;
		}
		h->fill = 0;
		h->have_cur = 1;
	}
	*avail = HP_SLOT - h->fill;
	return h->slot[h->cur] + h->fill;
}

static void hp_commit(struct hpipe *h, size_t n)
{
	h->fill += n;
}

static void hp_write(struct hpipe *h, const unsigned char *b, size_t n)
{
	while (n) {
		size_t avail, k;
		unsigned char *p = hp_space(h, &avail);

		k = n < avail ? n : avail;
		memcpy(p, b, k);
		hp_commit(h, k);
		b += k;
		n -= k;
	}
}

/* Hashes what is left and stops the thread; the digest is complete after. */
static void hp_finish(struct hpipe *h)
{
	hp_submit(h);
	if (h->threaded) {
		pthread_mutex_lock(&h->mu);
		h->done = 1;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->tid, NULL);
		h->threaded = 0;
	}
}

static void hp_free(struct hpipe *h)
{
	if (h->threaded)
		hp_finish(h);
	for (int i = 0; i < HP_SLOTS; i++)
		free(h->slot[i]);
	if (h->inited) {
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv);
	}
}

static void feed(struct vctx *c, struct hpipe *hp, struct docker_tarp *tp, const unsigned char *b, size_t n,
		 const char *where)
{
	if (!c->fatal && docker_tarp_feed(tp, b, n))
		layerdb_bad(c, where, "tar header: %s", docker_tarp_error(tp));
	hp_write(hp, b, n);
	c->v->bytes += n;
}

/* Pass 1: the payload goes into the stream digest; no CRC here, since a
 * matching digest proves every payload matches (CRC-64 would double the CPU
 * cost of the common case).  Missing or short files are zero-filled so the
 * stream keeps its length. */
static void file_payload(struct vctx *c, struct hpipe *hp, struct docker_tarp *tp,
			 const struct docker_ts_entry *e, const char *name)
{
	uint64_t left = e->size;
	int fd = -1, gone = 0;

	if (c->pending_fd >= 0 && c->pending_name && !strcmp(c->pending_name, name)) {
		fd = c->pending_fd;
		c->pending_fd = -1;
	}
	if (fd < 0)
		gone = 1; /* missing, not a regular file, or out of order: reported by on_header */
	while (left) {
		size_t avail, want;
		unsigned char *p = hp_space(hp, &avail);
		ssize_t r = 0;

		want = left < avail ? (size_t)left : avail;
		if (!gone) {
			r = read(fd, p, want);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				finding(c, VIGIL_DOCKER_F_SHORT, name, "content ends %" PRIu64 " bytes early%s%s",
					left, r < 0 ? ": " : "", r < 0 ? strerror(errno) : "");
				gone = 1;
			}
		}
		if (gone) {
			memset(p, 0, want);
			r = (ssize_t)want;
		}
		if (!c->fatal && docker_tarp_feed(tp, p, (size_t)r)) {
			set_error(c->v, "%s: %s", name, docker_tarp_error(tp));
			c->fatal = 1;
		}
		hp_commit(hp, (size_t)r);
		c->v->bytes += (uint64_t)r;
		left -= (uint64_t)r;
	}
	if (fd >= 0)
		close(fd);
}

/* Strips "./" and trailing '/' from a tar-split file name: malloc'd. */
static char *ts_name(const struct docker_ts_entry *e)
{
	const char *nm = e->name;
	size_t nl = e->name_len;

	while (nl >= 2 && nm[0] == '.' && nm[1] == '/')
		nm += 2, nl -= 2;
	while (nl && nm[nl - 1] == '/')
		nl--;
	return strndup(nm, nl);
}

/* Pass 2, only when the digest differs: CRC-64 of each file against
 * tar-split's, to name the files whose content changed. */
static void find_content(struct vctx *c, struct vigil_docker *d, const char *rel, const char *where)
{
	struct vigil_docker_verify *v = c->v;
	struct vigil_err err = { "" };
	struct docker_ts *ts = NULL;
	struct docker_ts_entry e;
	int fd = docker_open_beneath(d->datafd, rel, O_RDONLY), rc, any = 0;

	if (fd < 0 || docker_ts_open(fd, where, &ts, &err))
		return;
	free(v->first_bad);
	v->first_bad = NULL;
	while ((rc = docker_ts_next(ts, &e, &err)) > 0) {
		char *name;
		uint64_t left = e.size, crc = 0;
		int ffd, bad = 0;

		if (e.type != DOCKER_TS_FILE || !e.size)
			continue;
		name = ts_name(&e);
		if (!name)
			break;
		ffd = docker_open_regular(c->difffd, name, NULL);
		while (ffd >= 0 && left) {
			ssize_t r = read(ffd, c->buf, left < READ_BUF ? (size_t)left : READ_BUF);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			crc = docker_crc64(crc, c->buf, (size_t)r);
			left -= (uint64_t)r;
		}
		if (ffd < 0 || left) {
			bad = 1; /* missing or short: already a finding of pass 1 */
		} else if (e.has_crc && crc != e.crc) {
			bad = 1;
			finding(c, VIGIL_DOCKER_F_CONTENT, name,
				"content differs (CRC-64 %016" PRIx64 ", layer has %016" PRIx64 ")", crc, e.crc);
		}
		if (bad) {
			any = 1;
			if (!v->first_bad && asprintf(&v->first_bad, "/%s", name) < 0)
				v->first_bad = NULL;
		}
		if (ffd >= 0)
			close(ffd);
		free(name);
	}
	if (!any && rc == 0)
		finding(c, VIGIL_DOCKER_F_META, "",
			"stream digest differs while every file matches its CRC-64: tar-split.json.gz "
			"(headers) or the layer's diff id was altered");
	docker_ts_close(ts);
}

static void walk_extra(struct vctx *c, int dirfd, char *path, size_t plen, int depth)
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
			finding(c, VIGIL_DOCKER_F_EXTRA, path, "not in the layer");
		if (depth < 256 && !fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) && S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0) {
				walk_extra(c, sub, path, np + nl, depth + 1);
				close(sub);
			}
		}
		path[plen] = '\0';
	}
	closedir(dir);
}

/* Pass 1 over tar-split: the stream rebuilt, headers checked, digest fed. */
static void rebuild(struct vctx *c, struct docker_ts *ts, struct docker_tarp *tp, struct hpipe *hp,
		    const char *where)
{
	struct vigil_docker_verify *v = c->v;
	struct vigil_err err = { "" };
	struct docker_ts_entry e;
	int rc;

	while (!c->fatal && (rc = docker_ts_next(ts, &e, &err)) > 0) {
		char *name;

		if (e.type == DOCKER_TS_SEGMENT) {
			feed(c, hp, tp, e.payload, e.payload_len, where);
			continue;
		}
		name = ts_name(&e);
		if (!name) {
			set_error(v, "out of memory");
			return;
		}
		if (docker_tarp_data_left(tp) != e.size) {
			layerdb_bad(c, where, "entry '%s' says %" PRIu64 " bytes, its tar header %" PRIu64, name,
				    e.size, docker_tarp_data_left(tp));
			free(name);
			return;
		}
		if (e.size)
			file_payload(c, hp, tp, &e, name);
		free(name);
	}
	if (!c->fatal && rc < 0)
		layerdb_bad(c, where, "%s", err.msg);
	else if (!c->fatal && !docker_tarp_ended(tp))
		layerdb_bad(c, where, "tar stream has no end blocks (tar-split truncated?)");
}

/* Opens the layer's diff dir (c->difffd) and tar-split (*ts, where names it).
 * 0, or -1 when the layer is settled already (error or finding set). */
static int open_layer(struct vigil_docker *d, struct vctx *c, char *where, size_t wlen, struct docker_ts **ts)
{
	struct vigil_docker_verify *v = c->v;
	const struct vigil_docker_layer *l = v->layer;
	struct vigil_err err = { "" };
	char rel[512];
	int fd;

	if (l->error && !l->meta_bad) {
		set_error(v, "%s", l->error);
		return -1;
	}
	if (l->error) {
		/* "<data root>/image/.../diff: why": the file first, then why */
		const char *colon = strstr(l->error, ": ");
		char file[1024];

		snprintf(file, sizeof(file), "%.*s", colon ? (int)(colon - l->error) : 0, l->error);
		layerdb_bad(c, file[0] ? file : d->data_root, "%s", colon ? colon + 2 : l->error);
		if (!l->cache_id || !l->diff_id[0])
			return -1;
		c->fatal = 0; /* the content can still be compared with the diff id it names */
	}
	if (d->o2fd < 0) {
		set_error(v, "%s/overlay2: missing", d->data_root);
		return -1;
	}
	snprintf(rel, sizeof(rel), "%s/diff", l->cache_id);
	c->difffd = docker_open_beneath(d->o2fd, rel, O_RDONLY | O_DIRECTORY);
	if (c->difffd < 0) {
		set_error(v, "%s/overlay2/%s: %s", d->data_root, rel, strerror(-c->difffd));
		return -1;
	}
	snprintf(where, wlen, "%s/image/overlay2/layerdb/sha256/%s/tar-split.json.gz", d->data_root,
		 l->chain_id + 7);
	fd = docker_open_beneath(d->datafd, where + strlen(d->data_root) + 1, O_RDONLY);
	if (fd == -ENOENT) {
		layerdb_bad(c, where, "missing");
		return -1;
	}
	if (fd < 0) {
		set_error(v, "%s: %s", where, strerror(-fd));
		return -1;
	}
	if (docker_ts_open(fd, where, ts, &err)) {
		layerdb_bad(c, where, "%s", err.msg);
		return -1;
	}
	return 0;
}

static void verify_layer(struct vigil_docker *d, struct vigil_docker_verify *v, unsigned char *buf)
{
	const struct vigil_docker_layer *l = v->layer;
	struct vctx c = { .v = v, .difffd = -1, .pending_fd = -1, .buf = buf };
	struct docker_ts *ts = NULL;
	struct docker_tarp *tp = NULL;
	struct vigil_digest *md = NULL;
	struct hpipe hp = { 0 };
	char where[1024] = "";
	unsigned char sum[32];

	c.where = where;
	if (open_layer(d, &c, where, sizeof(where), &ts))
		goto out;
	md = vigil_digest_new(VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256));
	tp = docker_tarp_new(on_header, &c);
	if (!md || !tp || hp_start(&hp, md)) {
		set_error(v, "out of memory");
		goto out;
	}
	rebuild(&c, ts, tp, &hp, where);
	if (v->error || c.fatal)
		goto out;
	hp_finish(&hp);
	vigil_digest_read(md, VIGIL_ALGO_SHA256, sum);
	memcpy(v->digest, "sha256:", 7);
	vigil_hex(sum, 32, v->digest + 7);
	{
		char path[4096] = "";

		walk_extra(&c, c.difffd, path, 0, 0);
	}
	if (strcmp(v->digest, l->diff_id))
		find_content(&c, d, where + strlen(d->data_root) + 1, where);
out:
	if (!v->error)
		v->status = (v->digest[0] && strcmp(v->digest, l->diff_id)) || v->n_findings || v->findings_dropped ?
				    VIGIL_DOCKER_LAYER_MODIFIED : VIGIL_DOCKER_LAYER_OK;
	if (c.pending_fd >= 0)
		close(c.pending_fd);
	free(c.pending_name);
	set_free(&c.names);
	hp_free(&hp);
	docker_tarp_free(tp);
	vigil_digest_free(md);
	docker_ts_close(ts);
	if (c.difffd >= 0)
		close(c.difffd);
}

struct pool {
	struct vigil_docker *d;
	struct vigil_docker_verify *v;
	size_t *order; /* largest layer first: the pool's finish time is not held up by one big layer started last */
	size_t n;
	size_t next;
	pthread_mutex_t lock;
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	unsigned char *buf = malloc(READ_BUF);

	for (;;) {
		size_t i;

		pthread_mutex_lock(&p->lock);
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n)
			break;
		if (!buf) {
			set_error(&p->v[p->order[i]], "out of memory");
			continue;
		}
		verify_layer(p->d, &p->v[p->order[i]], buf);
	}
	free(buf);
	return NULL;
}

static int cmp_vlayer(const void *a, const void *b)
{
	return strcmp((*(const struct vigil_docker_layer *const *)a)->chain_id,
		      (*(const struct vigil_docker_layer *const *)b)->chain_id);
}

int vigil_docker_verify(struct vigil_docker *d, const char *const *refs, size_t n, int threads,
			struct vigil_docker_verify **out, size_t *n_out, struct vigil_err *err)
{
	const struct vigil_docker_layer **sel = NULL;
	size_t ns = 0, cap = 0, k;
	struct pool p = { .d = d };
	pthread_t tid[64];
	int nt = 0, rc = 0;

	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; i < (n ? n : d->n_layers); i++) {
		const struct vigil_docker_layer *one = n ? NULL : &d->layers[i];
		const struct vigil_docker_image *im = NULL;
		struct vigil_err e1 = { "" }, e2 = { "" };
		size_t cnt;

		if (n) {
			im = vigil_docker_find_image(d, refs[i], &e1);
			if (!im)
				one = vigil_docker_find_layer(d, refs[i], &e2);
			if (!im && !one) {
				rc = vigil_err_set(err, -ENOENT, "'%s': no such image or layer in %s", refs[i],
						   d->data_root);
				goto out;
			}
		}
		cnt = im ? im->chain_ids.n : 1;
		if (ns + cnt > cap) {
			const struct vigil_docker_layer **ns2;

			cap = (ns + cnt) * 2;
			ns2 = realloc(sel, cap * sizeof(*sel));
			if (!ns2) {
				rc = vigil_err_set(err, -ENOMEM, "out of memory");
				goto out;
			}
			sel = ns2;
		}
		for (k = 0; k < cnt; k++) {
			const struct vigil_docker_layer *l = im ? docker_layer_by_chain(d, im->chain_ids.v[k]) : one;

			if (!l) {
				rc = vigil_err_set(err, -ENOENT, "image '%s': layer %s is not in the layer store",
						   refs[i], im->chain_ids.v[k]);
				goto out;
			}
			sel[ns++] = l;
		}
	}
	if (ns > 1)
		qsort(sel, ns, sizeof(*sel), cmp_vlayer);
	for (size_t i = 0; i < ns; i++) /* a layer shared by several images is verified once */
		if (!p.n || sel[p.n - 1] != sel[i])
			sel[p.n++] = sel[i];
	p.v = calloc(p.n ? p.n : 1, sizeof(*p.v));
	if (!p.v) {
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	p.order = calloc(p.n ? p.n : 1, sizeof(*p.order));
	if (!p.order) {
		rc = vigil_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < p.n; i++) {
		size_t pos = i;

		p.v[i].layer = sel[i];
		for (; pos > 0 && sel[p.order[pos - 1]]->size < sel[i]->size; pos--)
			p.order[pos] = p.order[pos - 1];
		p.order[pos] = i;
	}
	if (threads <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		threads = cpus > 0 ? (int)cpus : 1;
	}
	if (threads > 64)
		threads = 64;
	if ((size_t)threads > p.n)
		threads = (int)p.n;
	pthread_mutex_init(&p.lock, NULL);
	for (nt = 0; nt < threads - 1; nt++)
		if (pthread_create(&tid[nt], NULL, worker, &p))
			break;
	worker(&p);
	for (int i = 0; i < nt; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&p.lock);
	*out = p.v;
	*n_out = p.n;
	p.v = NULL;
out:
	free(sel);
	free(p.order);
	free(p.v);
	return rc;
}

void vigil_docker_verify_free(struct vigil_docker_verify *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < v[i].n_findings; k++) {
			free(v[i].findings[k].path);
			free(v[i].findings[k].detail);
		}
		free(v[i].findings);
		free(v[i].first_bad);
		free(v[i].error);
	}
	free(v);
}
