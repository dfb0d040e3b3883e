/* test_reported.c - the reported map: one state of a path is emitted once,
 * whatever the order in which observations come to be claimed.  The table
 * replays the interleavings that made `vigil watch` emit a state twice (a
 * rescan's record read before a write, compared after the path worker had
 * reported the write); the threaded test claims snapshots late and in any
 * order from several threads while a writer changes the paths, and checks
 * the outcome only (no timing). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/reported.h"

/* ---- table-driven sequences ---- */

struct emits {
	int n;
	int rc; /* what emit returns */
};

static int count_emit(void *arg)
{
	struct emits *e = arg;

	if (e->rc)
		return e->rc;
	e->n++;
	return 0;
}

static void fp_of(int state, unsigned char fp[VIGIL_REPORTED_FP_LEN])
{
	memset(fp, 0, VIGIL_REPORTED_FP_LEN);
	memcpy(fp, &state, sizeof(state));
}

#define BASE 0 /* the state of the baseline: claimed with fp NULL */

struct step {
	const char *path;
	int obs;       /* observation index: stamps are taken in this order */
	int state;     /* BASE or a state number */
	int force;
	int emit_rc;   /* emit fails with this */
	int want;      /* claim's return */
};

static const struct {
	const char *name;
	size_t max;
	struct step steps[8];
} cases[] = {
	{ "the race: a rescan read empty, the worker reported the write meanwhile", 16, {
		{ "/f", 1, 1, 0, 0, 1 },   /* worker: empty */
		{ "/f", 3, 2, 0, 0, 1 },   /* worker: written */
		{ "/f", 2, 1, 0, 0, 0 },   /* rescan walked before the write: stale */
		{ "/f", 4, 2, 0, 0, 0 },   /* next rescan: nothing new */
	} },
	{ "a stale observation of the baseline state is no restore", 16, {
		{ "/f", 1, 1, 0, 0, 1 },
		{ "/f", 3, 2, 0, 0, 1 },
		{ "/f", 2, BASE, 0, 0, 0 },
		{ "/f", 4, 2, 0, 0, 0 },
	} },
	{ "restored: kept with its stamp, an older change is not reported over it", 16, {
		{ "/f", 1, 1, 0, 0, 1 },
		{ "/f", 3, BASE, 0, 0, 1 },
		{ "/f", 2, 1, 0, 0, 0 },
		{ "/f", 4, BASE, 0, 0, 0 },
		{ "/f", 5, 1, 0, 0, 1 },   /* really changed again: reported again */
	} },
	{ "same state, newer observation: once; A to B to A is three events", 16, {
		{ "/f", 1, 1, 0, 0, 1 },
		{ "/f", 2, 1, 0, 0, 0 },
		{ "/f", 3, 2, 0, 0, 1 },
		{ "/f", 4, 1, 0, 0, 1 },
	} },
	{ "baseline state never reported: nothing", 16, {
		{ "/f", 1, BASE, 0, 0, 0 },
		{ "/f", 2, BASE, 1, 0, 0 },
	} },
	{ "checks report again but never over a newer state, and no restore", 16, {
		{ "/f", 1, 1, 0, 0, 1 },
		{ "/f", 2, 1, 1, 0, 1 },
		{ "/f", 4, 2, 0, 0, 1 },
		{ "/f", 3, 1, 1, 0, 1 },   /* forced, stale: reported, not recorded */
		{ "/f", 5, 2, 0, 0, 0 },   /* still state 2 on record */
		{ "/f", 6, BASE, 1, 0, 0 },
	} },
	{ "paths are independent", 16, {
		{ "/a", 1, 1, 0, 0, 1 },
		{ "/b", 3, 1, 0, 0, 1 },
		{ "/a", 2, 2, 0, 0, 1 },
		{ "/b", 2, 2, 0, 0, 0 },
	} },
	{ "emit failed: nothing recorded, reported by the next observation", 16, {
		{ "/f", 1, 1, 0, -ENOBUFS, -ENOBUFS },
		{ "/f", 2, 1, 0, 0, 1 },
		{ "/f", 3, 1, 0, 0, 0 },
	} },
	{ "full: the least recently reported is forgotten (a repeat at worst)", 2, {
		{ "/a", 1, 1, 0, 0, 1 },
		{ "/b", 2, 1, 0, 0, 1 },
		{ "/a", 3, 2, 0, 0, 1 },   /* /a used last: /b is the oldest now */
		{ "/c", 4, 1, 0, 0, 1 },   /* forgets /b */
		{ "/a", 5, 2, 0, 0, 0 },
		{ "/b", 6, 1, 0, 0, 1 },   /* forgotten: reported again */
	} },
};

static void test_sequences(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vigil_reported *r = vigil_reported_new(cases[i].max);
		uint64_t stamps[16];

		assert_non_null(r);
		for (size_t k = 0; k < 16; k++)
			stamps[k] = vigil_reported_stamp(r);
		for (size_t k = 0; k < 8 && cases[i].steps[k].path; k++) {
			const struct step *s = &cases[i].steps[k];
			struct emits e = { 0, s->emit_rc };
			unsigned char fp[VIGIL_REPORTED_FP_LEN];
			int rc;

			fp_of(s->state, fp);
			rc = vigil_reported_claim(r, s->path, strlen(s->path), stamps[s->obs],
						  s->state == BASE ? NULL : fp, s->force, count_emit, &e);
			if (rc != s->want)
				fail_msg("case '%s' step %zu: claim returned %d, want %d", cases[i].name, k, rc,
					 s->want);
			assert_int_equal(e.n, rc == 1);
		}
		vigil_reported_clear(r);
		assert_int_equal(vigil_reported_count(r), 0);
		vigil_reported_free(r);
	}
	vigil_reported_free(NULL);
}

/* ---- threads ---- */

#define NPATHS 64
#define NSTATES 200 /* states 1..NSTATES, in that order */
#define BATCH 16

struct world {
	struct vigil_reported *r;
	/* A file system whose reads are instantaneous: a stamp and the states
	 * read after it are taken under one lock, so a later stamp never reads
	 * an older state.  Claims come whenever the threads get to them. */
	pthread_mutex_t fs;
	int cur[NPATHS];
	int done;
	/* what was emitted, written by emit under the map's lock */
	unsigned char emitted[NPATHS][NSTATES + 1];
	int last[NPATHS];
	int out_of_order;
};

struct claim {
	struct world *wd;
	int path, state;
};

static int record_emit(void *arg)
{
	struct claim *c = arg;
	struct world *wd = c->wd;

	if (c->state <= wd->last[c->path])
		wd->out_of_order++;
	wd->last[c->path] = c->state;
	if (wd->emitted[c->path][c->state] < 255)
		wd->emitted[c->path][c->state]++;
	return 0;
}

static void claim(struct world *wd, int path, uint64_t stamp, int st)
{
	struct claim c = { wd, path, st };
	unsigned char fp[VIGIL_REPORTED_FP_LEN];
	char name[32];

	snprintf(name, sizeof(name), "/tree/f%d", path);
	fp_of(st, fp);
	vigil_reported_claim(wd->r, name, strlen(name), stamp, fp, 0, record_emit, &c);
}

static void *writer(void *arg)
{
	struct world *wd = arg;

	for (int s = 1; s <= NSTATES; s++)
		for (int p = 0; p < NPATHS; p++) {
			pthread_mutex_lock(&wd->fs);
			wd->cur[p] = s;
			pthread_mutex_unlock(&wd->fs);
			if (!(p % 8))
				sched_yield();
		}
	__atomic_store_n(&wd->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* The path worker: a few paths observed one by one, claimed later in
 * reverse order. */
static void *path_worker(void *arg)
{
	struct world *wd = arg;
	unsigned seed = 1;

	while (!__atomic_load_n(&wd->done, __ATOMIC_ACQUIRE)) {
		int path[BATCH], st[BATCH];
		uint64_t stamp[BATCH];

		for (int i = 0; i < BATCH; i++) {
			path[i] = rand_r(&seed) % NPATHS;
			pthread_mutex_lock(&wd->fs);
			stamp[i] = vigil_reported_stamp(wd->r);
			st[i] = wd->cur[path[i]];
			pthread_mutex_unlock(&wd->fs);
		}
		sched_yield();
		for (int i = BATCH - 1; i >= 0; i--)
			if (st[i])
				claim(wd, path[i], stamp[i], st[i]);
	}
	return NULL;
}

/* A rescan: the whole tree read under one stamp, compared much later. */
static void *rescanner(void *arg)
{
	struct world *wd = arg;

	while (!__atomic_load_n(&wd->done, __ATOMIC_ACQUIRE)) {
		int st[NPATHS];
		uint64_t stamp;

		pthread_mutex_lock(&wd->fs);
		stamp = vigil_reported_stamp(wd->r);
		memcpy(st, wd->cur, sizeof(st));
		pthread_mutex_unlock(&wd->fs);
		for (int k = 0; k < 4; k++)
			sched_yield();
		for (int p = 0; p < NPATHS; p++)
			if (st[p])
				claim(wd, p, stamp, st[p]);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct world *wd = calloc(1, sizeof(*wd));
	pthread_t th[5];
	int twice = 0, lost = 0;

	(void)state;
	assert_non_null(wd);
	wd->r = vigil_reported_new(NPATHS * 2);
	assert_non_null(wd->r);
	pthread_mutex_init(&wd->fs, NULL);
	assert_int_equal(pthread_create(&th[0], NULL, path_worker, wd), 0);
	assert_int_equal(pthread_create(&th[1], NULL, path_worker, wd), 0);
	assert_int_equal(pthread_create(&th[2], NULL, rescanner, wd), 0);
	assert_int_equal(pthread_create(&th[3], NULL, rescanner, wd), 0);
	assert_int_equal(pthread_create(&th[4], NULL, writer, wd), 0);
	for (int i = 0; i < 5; i++)
		pthread_join(th[i], NULL);
	/* The change events after the last write: each path observed once more. */
	for (int p = 0; p < NPATHS; p++)
		claim(wd, p, vigil_reported_stamp(wd->r), wd->cur[p]);
	for (int p = 0; p < NPATHS; p++) {
		for (int s = 1; s <= NSTATES; s++)
			twice += wd->emitted[p][s] > 1;
		lost += wd->last[p] != NSTATES || wd->emitted[p][NSTATES] != 1;
	}
	if (twice || lost || wd->out_of_order)
		fail_msg("%d states emitted twice, %d paths whose final state is not the last event, "
			 "%d events older than the one before", twice, lost, wd->out_of_order);
	pthread_mutex_destroy(&wd->fs);
	vigil_reported_free(wd->r);
	free(wd);
}

/* ---- what the rescans look at again: paths whose last report was a change ---- */

struct seen {
	char paths[4][16];
	int n;
	int stop_after;
};

static int collect(void *arg, const char *path, size_t len)
{
	struct seen *s = arg;

	assert_true(s->n < 4 && len < sizeof(s->paths[0]));
	memcpy(s->paths[s->n], path, len);
	s->paths[s->n][len] = '\0';
	s->n++;
	return s->stop_after && s->n == s->stop_after;
}

static void test_changed(void **state)
{
	struct vigil_reported *r = vigil_reported_new(16);
	unsigned char fp[VIGIL_REPORTED_FP_LEN];
	struct emits e = { 0 };
	struct seen s = { 0 };

	(void)state;
	assert_non_null(r);
	fp_of(1, fp);
	/* /a added, /b added then back in its baseline state, /c added */
	assert_int_equal(vigil_reported_claim(r, "/a", 2, vigil_reported_stamp(r), fp, 0, count_emit, &e), 1);
	assert_int_equal(vigil_reported_claim(r, "/b", 2, vigil_reported_stamp(r), fp, 0, count_emit, &e), 1);
	assert_int_equal(vigil_reported_claim(r, "/b", 2, vigil_reported_stamp(r), NULL, 0, count_emit, &e), 1);
	assert_int_equal(vigil_reported_claim(r, "/c", 2, vigil_reported_stamp(r), fp, 0, count_emit, &e), 1);
	assert_int_equal(vigil_reported_changed(r, collect, &s), 2);
	assert_string_equal(s.paths[0], "/a"); /* oldest first */
	assert_string_equal(s.paths[1], "/c");
	/* a non-zero return stops */
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	assert_int_equal(vigil_reported_changed(r, collect, &s), 1);
	vigil_reported_clear(r);
	memset(&s, 0, sizeof(s));
	assert_int_equal(vigil_reported_changed(r, collect, &s), 0);
	vigil_reported_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequences),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_changed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
