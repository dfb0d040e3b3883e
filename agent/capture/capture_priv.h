/* capture_priv.h - shared by agent/capture/capture*.c only. */
#ifndef VIGIL_CAPTURE_PRIV_H
#define VIGIL_CAPTURE_PRIV_H

#include "vigil/capture.h"
#include "vigil/docker.h"

#define PROC_MAX (16u << 20)

struct cctx {
	const struct vigil_capture_req *r;
	struct vigil_evw *w;
	struct vigil_docker *d;
	const struct vigil_docker_container **list;
	size_t n_list;
	int rootfd, live;
	char freezer[4300];   /* the one frozen cgroup, thawed before the next */
	int frozen, freezer_v2;
	int crash_slot;       /* capture_crash.c's slot while frozen, else -1 */
};

/* text (malloc'd JSON, freed here; NULL: recorded as not collected) as member. */
int capture_add_json(struct cctx *x, const char *member, const char *source, char *text);
/* Every path inside the root matching one of pats, as prefix + path. */
int capture_globs(struct cctx *x, const char *const *pats, const char *prefix, int mode);

/* capture_host.c */
int capture_host(struct cctx *x);
int capture_engine(struct cctx *x);

/* capture_journal.c: docker/engine/journal.export (journalctl -o export), or a note */
int capture_engine_journal(struct cctx *x);
/* The journal files' globs (/var/log/journal/X/, /run/log/journal/X/), NULL-ended. */
extern const char *const capture_journal_globs[];

/* capture_mem.c: memory/mem.lime and its record (x->r->memory set) */
int capture_memory(struct cctx *x);

/* capture_crash.c: while frozen, a crash (SIGSEGV, SIGBUS, SIGABRT, SIGFPE,
 * SIGILL) thaws: arm holds the freezer file open (slot >= 0, or -errno),
 * disarm releases it. */
int capture_crash_arm(const char *freezer, int v2);
void capture_crash_disarm(int slot);
/* Raises SIGSEGV when VIGIL_TEST_CRASH_AFTER_FREEZE=1 (tests). */
void capture_crash_test_hook(void);

#endif
