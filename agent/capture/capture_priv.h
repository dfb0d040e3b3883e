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
};

/* text (malloc'd JSON, freed here; NULL: recorded as not collected) as member. */
int capture_add_json(struct cctx *x, const char *member, const char *source, char *text);
/* Every path inside the root matching one of pats, as prefix + path. */
int capture_globs(struct cctx *x, const char *const *pats, const char *prefix, int mode);

/* capture_host.c */
int capture_host(struct cctx *x);
int capture_engine(struct cctx *x);

/* capture_mem.c: memory/mem.lime and its record (x->r->memory set) */
int capture_memory(struct cctx *x);

#endif
