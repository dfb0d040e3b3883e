/* docker_layers.c - `layers verify`: each image layer's tar stream rebuilt
 * from tar-split.json.gz and the files of its diff dir, hashed with SHA-256
 * and compared with the layer's diff ID (the headers are checked against
 * the diff dir by docker_vcheck.c, SHA-256 runs in docker_hpipe.c).
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

#include "docker_verify.h"

#define READ_BUF (1u << 20)

static void feed(struct docker_vctx *c, struct docker_hpipe *hp, struct docker_tarp *tp, const unsigned char *b, size_t n,
		 const char *where)
{
	if (!c->fatal && docker_tarp_feed(tp, b, n))
		docker_layerdb_bad(c, where, "tar header: %s", docker_tarp_error(tp));
	docker_hp_write(hp, b, n);
	c->v->bytes += n;
}

/* Pass 1: the payload goes into the stream digest; no CRC here, since a
 * matching digest proves every payload matches (CRC-64 would double the CPU
 * cost of the common case).  Missing or short files are zero-filled so the
 * stream keeps its length. */
static void file_payload(struct docker_vctx *c, struct docker_hpipe *hp, struct docker_tarp *tp,
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
		unsigned char *p = docker_hp_space(hp, &avail);
		ssize_t r = 0;

		want = left < avail ? (size_t)left : avail;
		if (!gone) {
			r = read(fd, p, want);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				docker_finding(c, VIGIL_DOCKER_F_SHORT, name, "content ends %" PRIu64 " bytes early%s%s",
					left, r < 0 ? ": " : "", r < 0 ? strerror(errno) : "");
				gone = 1;
			}
		}
		if (gone) {
			memset(p, 0, want);
			r = (ssize_t)want;
		}
		if (!c->fatal && docker_tarp_feed(tp, p, (size_t)r)) {
			docker_set_error(c->v, "%s: %s", name, docker_tarp_error(tp));
			c->fatal = 1;
		}
		docker_hp_commit(hp, (size_t)r);
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
static void find_content(struct docker_vctx *c, struct vigil_docker *d, const char *rel, const char *where)
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
			docker_finding(c, VIGIL_DOCKER_F_CONTENT, name,
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
		docker_finding(c, VIGIL_DOCKER_F_META, "",
			"stream digest differs while every file matches its CRC-64: tar-split.json.gz "
			"(headers) or the layer's diff id was altered");
	docker_ts_close(ts);
}

/* Pass 1 over tar-split: the stream rebuilt, headers checked, digest fed. */
static void rebuild(struct docker_vctx *c, struct docker_ts *ts, struct docker_tarp *tp, struct docker_hpipe *hp,
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
			docker_set_error(v, "out of memory");
			return;
		}
		if (docker_tarp_data_left(tp) != e.size) {
			docker_layerdb_bad(c, where, "entry '%s' says %" PRIu64 " bytes, its tar header %" PRIu64, name,
				    e.size, docker_tarp_data_left(tp));
			free(name);
			return;
		}
		if (e.size)
			file_payload(c, hp, tp, &e, name);
		free(name);
	}
	if (!c->fatal && rc < 0)
		docker_layerdb_bad(c, where, "%s", err.msg);
	else if (!c->fatal && !docker_tarp_ended(tp))
		docker_layerdb_bad(c, where, "tar stream has no end blocks (tar-split truncated?)");
}

/* Opens the layer's diff dir (c->difffd) and tar-split (*ts, where names it).
 * 0, or -1 when the layer is settled already (error or finding set). */
static int open_layer(struct vigil_docker *d, struct docker_vctx *c, char *where, size_t wlen, struct docker_ts **ts)
{
	struct vigil_docker_verify *v = c->v;
	const struct vigil_docker_layer *l = v->layer;
	struct vigil_err err = { "" };
	char rel[512];
	int fd;

	if (l->error && !l->meta_bad) {
		docker_set_error(v, "%s", l->error);
		return -1;
	}
	if (l->error) {
		/* "<data root>/image/.../diff: why": the file first, then why */
		const char *colon = strstr(l->error, ": ");
		char file[1024];

		snprintf(file, sizeof(file), "%.*s", colon ? (int)(colon - l->error) : 0, l->error);
		docker_layerdb_bad(c, file[0] ? file : d->data_root, "%s", colon ? colon + 2 : l->error);
		if (!l->cache_id || !l->diff_id[0])
			return -1;
		c->fatal = 0; /* the content can still be compared with the diff id it names */
	}
	if (d->o2fd < 0) {
		docker_set_error(v, "%s/overlay2: missing", d->data_root);
		return -1;
	}
	snprintf(rel, sizeof(rel), "%s/diff", l->cache_id);
	c->difffd = docker_open_beneath(d->o2fd, rel, O_RDONLY | O_DIRECTORY);
	if (c->difffd < 0) {
		docker_set_error(v, "%s/overlay2/%s: %s", d->data_root, rel, strerror(-c->difffd));
		return -1;
	}
	snprintf(where, wlen, "%s/image/overlay2/layerdb/sha256/%s/tar-split.json.gz", d->data_root,
		 l->chain_id + 7);
	fd = docker_open_beneath(d->datafd, where + strlen(d->data_root) + 1, O_RDONLY);
	if (fd == -ENOENT) {
		docker_layerdb_bad(c, where, "missing");
		return -1;
	}
	if (fd < 0) {
		docker_set_error(v, "%s: %s", where, strerror(-fd));
		return -1;
	}
	if (docker_ts_open(fd, where, ts, &err)) {
		docker_layerdb_bad(c, where, "%s", err.msg);
		return -1;
	}
	return 0;
}

static void verify_layer(struct vigil_docker *d, struct vigil_docker_verify *v, unsigned char *buf)
{
	const struct vigil_docker_layer *l = v->layer;
	struct docker_vctx c = { .v = v, .difffd = -1, .pending_fd = -1, .buf = buf };
	struct docker_ts *ts = NULL;
	struct docker_tarp *tp = NULL;
	struct vigil_digest *md = NULL;
	struct docker_hpipe hp = { 0 };
	char where[1024] = "";
	unsigned char sum[32];

	c.where = where;
	if (open_layer(d, &c, where, sizeof(where), &ts))
		goto out;
	md = vigil_digest_new(VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256));
	tp = docker_tarp_new(docker_on_header, &c);
	if (!md || !tp || docker_hp_start(&hp, md)) {
		docker_set_error(v, "out of memory");
		goto out;
	}
	rebuild(&c, ts, tp, &hp, where);
	if (v->error || c.fatal)
		goto out;
	docker_hp_finish(&hp);
	vigil_digest_read(md, VIGIL_ALGO_SHA256, sum);
	memcpy(v->digest, "sha256:", 7);
	vigil_hex(sum, 32, v->digest + 7);
	{
		char path[4096] = "";

		docker_walk_extra(&c, c.difffd, path, 0, 0);
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
	docker_nameset_free(&c.names);
	docker_hp_free(&hp);
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
			docker_set_error(&p->v[p->order[i]], "out of memory");
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

/* The layers refs name (images expand to their layers), or all of them
 * when n == 0: sorted by chain id, each once, in *sel (malloc'd). */
static int select_layers(struct vigil_docker *d, const char *const *refs, size_t n,
			 const struct vigil_docker_layer ***out, size_t *n_out, struct vigil_err *err)
{
	const struct vigil_docker_layer **sel = NULL, **ns2;
	size_t ns = 0, cap = 0, u = 0;

	for (size_t i = 0; i < (n ? n : d->n_layers); i++) {
		const struct vigil_docker_layer *one = n ? NULL : &d->layers[i];
		const struct vigil_docker_image *im = NULL;
		struct vigil_err e1 = { "" }, e2 = { "" };
		size_t cnt;

		if (n && !(im = vigil_docker_find_image(d, refs[i], &e1)) &&
		    !(one = vigil_docker_find_layer(d, refs[i], &e2))) {
			free(sel);
			return vigil_err_set(err, -ENOENT, "'%s': no such image or layer in %s", refs[i], d->data_root);
		}
		cnt = im ? im->chain_ids.n : 1;
		if (ns + cnt > cap) {
			cap = (ns + cnt) * 2;
			ns2 = realloc(sel, cap * sizeof(*sel));
			if (!ns2) {
				free(sel);
				return vigil_err_set(err, -ENOMEM, "out of memory");
			}
			sel = ns2;
		}
		for (size_t k = 0; k < cnt; k++) {
			const struct vigil_docker_layer *l = im ? docker_layer_by_chain(d, im->chain_ids.v[k]) : one;

			if (!l) {
				free(sel);
				return vigil_err_set(err, -ENOENT, "image '%s': layer %s is not in the layer store",
						     refs[i], im->chain_ids.v[k]);
			}
			sel[ns++] = l;
		}
	}
	if (ns > 1)
		qsort(sel, ns, sizeof(*sel), cmp_vlayer);
	for (size_t i = 0; i < ns; i++) /* a layer shared by several images is verified once */
		if (!u || sel[u - 1] != sel[i])
			sel[u++] = sel[i];
	*out = sel;
	*n_out = u;
	return 0;
}

/* Runs p's layers on threads workers (0: one per core, at most 64). */
static void run_pool(struct pool *p, int threads)
{
	pthread_t tid[64];
	int nt;

	if (threads <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		threads = cpus > 0 ? (int)cpus : 1;
	}
	if (threads > 64)
		threads = 64;
	if ((size_t)threads > p->n)
		threads = (int)p->n;
	pthread_mutex_init(&p->lock, NULL);
	for (nt = 0; nt < threads - 1; nt++)
		if (pthread_create(&tid[nt], NULL, worker, p))
			break;
	worker(p);
	for (int i = 0; i < nt; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&p->lock);
}

int vigil_docker_verify(struct vigil_docker *d, const char *const *refs, size_t n, int threads,
			struct vigil_docker_verify **out, size_t *n_out, struct vigil_err *err)
{
	const struct vigil_docker_layer **sel = NULL;
	struct pool p = { .d = d };
	int rc;

	*out = NULL;
	*n_out = 0;
	rc = select_layers(d, refs, n, &sel, &p.n, err);
	if (rc)
		return rc;
	p.v = calloc(p.n ? p.n : 1, sizeof(*p.v));
	p.order = calloc(p.n ? p.n : 1, sizeof(*p.order));
	if (!p.v || !p.order) {
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
	run_pool(&p, threads);
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
