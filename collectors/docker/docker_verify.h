/* docker_verify.h - one layer's verification, shared by docker_layers.c (the
 * stream: tar-split, payloads, digest, the thread pool) and docker_vcheck.c
 * (the headers against the diff dir) only (not an API). */
#ifndef VIGIL_DOCKER_VERIFY_H
#define VIGIL_DOCKER_VERIFY_H

#include "docker_model.h"
#include "docker_priv.h"

#include <pthread.h>

struct vigil_digest;

struct docker_nameset {
	char **slot;
	size_t cap, n;
};
void docker_nameset_free(struct docker_nameset *s);

struct docker_vctx {
	struct vigil_docker_verify *v;
	int difffd;
	struct docker_nameset names;
	int pending_fd;       /* the regular file whose header was just seen */
	char *pending_name;
	int fatal;            /* tar stream unusable: stop */
	const char *where;    /* the layer's tar-split.json.gz, under the data root */
	unsigned char *buf;
};

#define HP_SLOTS 4
#define HP_SLOT (512u << 10)
struct docker_hpipe {
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
	int tried;            /* the thread was asked for (the stream outgrew a slot) */
};
/* Readies the pipe with one slot: a stream that fits in it (most layers'
 * small files, every fuzz input) is hashed inline; the hasher thread and the
 * other slots start when it outgrows it (inline still when they cannot):
 * 0 or -ENOMEM. */
int docker_hp_start(struct docker_hpipe *h, struct vigil_digest *md);
/* Room for at most *avail bytes in the slot being filled; then commit n. */
unsigned char *docker_hp_space(struct docker_hpipe *h, size_t *avail);
void docker_hp_commit(struct docker_hpipe *h, size_t n);
/* Copies n bytes in (space + commit). */
void docker_hp_write(struct docker_hpipe *h, const unsigned char *b, size_t n);
/* Hashes what is left and stops the thread: the digest is complete after. */
void docker_hp_finish(struct docker_hpipe *h);
void docker_hp_free(struct docker_hpipe *h);

/* A finding on path (inside the layer); MISSING and SHORT set first_bad. */
void docker_finding(struct docker_vctx *c, int kind, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The layer cannot be verified (status ERROR); the first reason is kept. */
void docker_set_error(struct vigil_docker_verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The layer's own metadata (abs: a file under the data root) is missing or
 * altered: a LAYERDB finding, and the stream is not trusted further. */
void docker_layerdb_bad(struct docker_vctx *c, const char *abs, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The tar parser's callback: one header checked against diff/. */
void docker_on_header(void *arg, const struct docker_tar_hdr *h);
/* Files in diff/ (below path, plen long) that no header named. */
void docker_walk_extra(struct docker_vctx *c, int dirfd, char *path, size_t plen, int depth);

#endif
