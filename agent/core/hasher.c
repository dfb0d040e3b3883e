/* hasher.c - a digest on a second core (include/vigil/hasher.h). */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "vigil/hasher.h"

struct vigil_hasher {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct vigil_digest *d; /* the job; NULL when idle */
	const void *buf;
	size_t len;
	int stop;
};

static void *run(void *arg)
{
	struct vigil_hasher *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->d && !h->stop)
			pthread_cond_wait(&h->cv, &h->mu);
		if (!h->d)
			break;
		pthread_mutex_unlock(&h->mu);
		vigil_digest_write(h->d, h->buf, h->len);
		pthread_mutex_lock(&h->mu);
		h->d = NULL;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct vigil_hasher *vigil_hasher_new(void)
{
	struct vigil_hasher *h;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || !(h = calloc(1, sizeof(*h))))
		return NULL;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	if (pthread_create(&h->th, NULL, run, h)) {
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return NULL;
	}
	return h;
}

/* Called with mu held. */
static void wait_idle(struct vigil_hasher *h)
{
	while (h->d)
		pthread_cond_wait(&h->cv, &h->mu);
}

void vigil_hasher_write(struct vigil_hasher *h, struct vigil_digest *d, const void *buf, size_t len)
{
	if (!h) {
		vigil_digest_write(d, buf, len);
		return;
	}
	pthread_mutex_lock(&h->mu);
	wait_idle(h);
	h->d = d;
	h->buf = buf;
	h->len = len;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

void vigil_hasher_sync(struct vigil_hasher *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	wait_idle(h);
	pthread_mutex_unlock(&h->mu);
}

void vigil_hasher_free(struct vigil_hasher *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	wait_idle(h);
	h->stop = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->th, NULL);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
