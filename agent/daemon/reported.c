/* reported.c - the last reported state of each path (see reported.h): a
 * hash table with an LRU list, one mutex, and an observation clock. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/reported.h"

struct rep {
	struct rep *hnext, *older, *newer;
	uint64_t stamp;    /* observation that set the entry */
	int clean;         /* back in its baseline state: kept for its stamp */
	unsigned char fp[VIGIL_REPORTED_FP_LEN];
	size_t len;
	char path[];
};

struct vigil_reported {
	pthread_mutex_t mu;
	struct rep **hash;
	size_t nbuckets, n, max;
	struct rep *oldest, *newest;
	uint64_t clock;    /* atomic */
};

static uint64_t hash_bytes(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

struct vigil_reported *vigil_reported_new(size_t max)
{
	struct vigil_reported *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->nbuckets = 1024;
	r->hash = calloc(r->nbuckets, sizeof(*r->hash));
	if (!r->hash) {
		free(r);
		return NULL;
	}
	r->max = max ? max : 1;
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

static struct rep **slot(struct vigil_reported *r, const char *path, size_t len)
{
	struct rep **pp = &r->hash[hash_bytes(path, len) & (r->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->len == len && !memcmp((*pp)->path, path, len))
			break;
	return pp;
}

static void lru_unlink(struct vigil_reported *r, struct rep *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		r->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		r->newest = e->older;
}

static void lru_append(struct vigil_reported *r, struct rep *e)
{
	e->older = r->newest;
	e->newer = NULL;
	if (r->newest)
		r->newest->newer = e;
	else
		r->oldest = e;
	r->newest = e;
}

static void drop(struct vigil_reported *r, struct rep **pp)
{
	struct rep *e = *pp;

	*pp = e->hnext;
	lru_unlink(r, e);
	r->n--;
	free(e);
}

static void grow(struct vigil_reported *r)
{
	size_t nb = r->nbuckets * 2;
	struct rep **h = calloc(nb, sizeof(*h));

	if (!h)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < r->nbuckets; i++) {
		struct rep *e = r->hash[i], *next;

		for (; e; e = next) {
			size_t s = hash_bytes(e->path, e->len) & (nb - 1);

			next = e->hnext;
			e->hnext = h[s];
			h[s] = e;
		}
	}
	free(r->hash);
	r->hash = h;
	r->nbuckets = nb;
}

/* A new entry, most recently used; NULL on ENOMEM.  Caller holds r->mu. */
static struct rep *insert(struct vigil_reported *r, const char *path, size_t len)
{
	struct rep **pp, *e;

	if (r->n >= r->max)
		drop(r, slot(r, r->oldest->path, r->oldest->len));
	if (r->n + 1 > r->nbuckets)
		grow(r);
	e = calloc(1, sizeof(*e) + len);
	if (!e)
		return NULL;
	e->len = len;
	memcpy(e->path, path, len);
	pp = slot(r, path, len);
	e->hnext = *pp;
	*pp = e;
	lru_append(r, e);
	r->n++;
	return e;
}

uint64_t vigil_reported_stamp(struct vigil_reported *r)
{
	return __atomic_add_fetch(&r->clock, 1, __ATOMIC_SEQ_CST);
}

int vigil_reported_claim(struct vigil_reported *r, const char *path, size_t len, uint64_t stamp,
			 const unsigned char *fp, int force, vigil_reported_emit_fn emit, void *arg)
{
	struct rep *e;
	int stale, rc = 0;

	pthread_mutex_lock(&r->mu);
	e = *slot(r, path, len);
	stale = e && e->stamp > stamp;
	if (!fp) {
		/* Baseline state: a restore only after a reported change. */
		if (!e || stale)
			goto out;
		if (e->clean || force) {
			if (!force)
				e->stamp = stamp;
			goto out;
		}
	} else if (e && !e->clean && !force && !memcmp(e->fp, fp, VIGIL_REPORTED_FP_LEN)) {
		if (!stale)
			e->stamp = stamp;
		goto out;
	} else if (stale && !force) {
		goto out;
	}
	rc = emit(arg);
	if (rc < 0)
		goto out;
	rc = 1;
	if (stale)
		goto out; /* a forced report of an old observation: keep the newer state */
	if (!e)
		e = insert(r, path, len);
	if (!e)
		goto out; /* unrecorded: at worst reported again */
	e->stamp = stamp;
	e->clean = !fp;
	if (fp)
		memcpy(e->fp, fp, VIGIL_REPORTED_FP_LEN);
	lru_unlink(r, e);
	lru_append(r, e);
out:
	pthread_mutex_unlock(&r->mu);
	return rc;
}

void vigil_reported_clear(struct vigil_reported *r)
{
	pthread_mutex_lock(&r->mu);
	while (r->oldest)
		drop(r, slot(r, r->oldest->path, r->oldest->len));
	pthread_mutex_unlock(&r->mu);
}

size_t vigil_reported_changed(struct vigil_reported *r, vigil_reported_path_fn fn, void *arg)
{
	size_t n = 0;

	pthread_mutex_lock(&r->mu);
	for (struct rep *e = r->oldest; e; e = e->newer) {
		if (e->clean)
			continue;
		n++;
		if (fn(arg, e->path, e->len))
			break;
	}
	pthread_mutex_unlock(&r->mu);
	return n;
}

size_t vigil_reported_count(struct vigil_reported *r)
{
	size_t n;

	pthread_mutex_lock(&r->mu);
	n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

void vigil_reported_free(struct vigil_reported *r)
{
	if (!r)
		return;
	vigil_reported_clear(r);
	free(r->hash);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
