/* docker_hpipe.c - the hashing pipe of `layers verify`: SHA-256 of the
 * rebuilt stream runs in its own thread.
 * The reader (tar-split, file opens and reads, header checks) and SHA-256
 * cost about the same; splitting them uses two cores even for one big layer
 * (tar | sha256sum does the same with two processes).  Four 512 KiB slots
 * bound the memory; a stream that fits in one slot is hashed inline (no
 * thread, one slot), and when the thread cannot start, hashing is done
 * inline. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/crypto.h"

#include "docker_verify.h"

static void *hp_hasher(void *arg)
{
	struct docker_hpipe *h = arg;

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

int docker_hp_start(struct docker_hpipe *h, struct vigil_digest *md)
{
	memset(h, 0, sizeof(*h));
	h->md = md;
	h->slot[0] = malloc(HP_SLOT);
	if (!h->slot[0])
		return -ENOMEM;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->inited = 1;
	return 0;
}

/* The stream outgrew its first slot: the other slots and the thread.  Slot 0
 * (full) is then the first the thread takes: cur and head are both 0. */
static void hp_go_threaded(struct docker_hpipe *h)
{
	h->tried = 1;
	for (int i = 1; i < HP_SLOTS; i++)
		if (!h->slot[i] && !(h->slot[i] = malloc(HP_SLOT)))
			return; /* inline, in slot 0 */
	h->threaded = !pthread_create(&h->tid, NULL, hp_hasher, h);
}

static void hp_submit(struct docker_hpipe *h)
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
unsigned char *docker_hp_space(struct docker_hpipe *h, size_t *avail)
{
	if (h->have_cur && h->fill == HP_SLOT) {
		if (!h->threaded && !h->tried) /* more is coming: the thread now */
			hp_go_threaded(h);
		hp_submit(h);
	}
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

void docker_hp_commit(struct docker_hpipe *h, size_t n)
{
	h->fill += n;
}

void docker_hp_write(struct docker_hpipe *h, const unsigned char *b, size_t n)
{
	while (n) {
		size_t avail, k;
		unsigned char *p = docker_hp_space(h, &avail);

		k = n < avail ? n : avail;
		memcpy(p, b, k);
		docker_hp_commit(h, k);
		b += k;
		n -= k;
	}
}

/* Hashes what is left and stops the thread; the digest is complete after. */
void docker_hp_finish(struct docker_hpipe *h)
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

void docker_hp_free(struct docker_hpipe *h)
{
	if (h->threaded)
		docker_hp_finish(h);
	for (int i = 0; i < HP_SLOTS; i++)
		free(h->slot[i]);
	if (h->inited) {
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv);
	}
}

