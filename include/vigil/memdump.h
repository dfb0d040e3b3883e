/* memdump.h - one memory acquisition: choose the method (LiME module or
 * /proc/kcore), say why the other did not run, write the LiME stream to a
 * sink, validate it against iomem's System RAM in the same pass.
 *
 * Lifecycle: fill struct vigil_memdump_opts -> vigil_memdump_run(opts, sink,
 * ctx, &res) -> vigil_memdump_result_json(&res) for a record ->
 * vigil_memdump_result_free(&res).  The sink is any write callback: a file
 * (vigil memdump -o FILE) now, the evidence archive's member later.
 */
#ifndef VIGIL_MEMDUMP_H
#define VIGIL_MEMDUMP_H

#include <stdint.h>

#include <jansson.h>

#include "vigil/kcore.h"
#include "vigil/lime.h"
#include "vigil/limemod.h"

enum vigil_memdump_method {
	VIGIL_MEMDUMP_AUTO = 0,
	VIGIL_MEMDUMP_LIME,
	VIGIL_MEMDUMP_KCORE,
};

struct vigil_memdump_opts {
	int method;
	const char *module;        /* LiME module path, NULL: look under /lib/modules */
	const char *modules_root;  /* prefix of /lib/modules (tests), NULL: "" */
	const char *kcore_path;    /* NULL: /proc/kcore */
	const char *iomem_path;    /* NULL: /proc/iomem */
	const char *lockdown_path; /* NULL: /sys/kernel/security/lockdown */
	uint64_t max_bytes;        /* kcore only: stop after this many bytes, 0: all */
	int timeout_ms;            /* per stage (LiME: connect, idle stream, digest, unload) */
	/* LiME's file mode: LiME writes the dump itself to this absolute path (the
	 * caller creates it in the evidence dir; the caller's sink writes the same
	 * file when kcore runs instead) and vigil reads it back; NULL: tcp mode */
	const char *lime_file;
	/* 1: what LiME wrote into lime_file is read back into the sink as well
	 * (`capture --memory`: the archive member; the file is the caller's to
	 * remove); 0: the sink gets nothing from LiME's file (memdump: it is the
	 * sink's own file) */
	int lime_file_to_sink;
};

struct vigil_memdump_result {
	int method; /* the one that ran: VIGIL_MEMDUMP_LIME or _KCORE, 0: none */
	char why_not_lime[768], why_not_kcore[768];
	char release[128], boot_id[64], lockdown[32];
	char module_path[4096];
	struct vigil_modinfo modinfo;
	char kernel_vermagic[256];
	struct vigil_limemod_run lime;
	char taint_before[32], taint_after[32]; /* /proc/sys/kernel/tainted around the load */
	struct vigil_kcore_result kcore;
	char sha256[65];
	uint64_t bytes;
	struct vigil_lime_range *ram; /* expected: iomem System RAM (cut by max_bytes) */
	size_t n_ram;
	char iomem_error[256];
	/* the validator's view of what was written */
	int valid;
	char verdict[256];
	struct vigil_lime_range *ranges, *gaps;
	size_t n_ranges, gaps_listed;
	uint64_t n_gaps, zero_bytes;
};

const char *vigil_memdump_method_name(int method);
int vigil_memdump_method_parse(const char *s);

/* 0 when a dump was written and validates; -errno otherwise (err says why,
 * res says what was tried).  res must be freed either way. */
int vigil_memdump_run(const struct vigil_memdump_opts *o, vigil_lime_sink_fn sink, void *ctx,
		      struct vigil_memdump_result *res, struct vigil_err *err);
void vigil_memdump_result_free(struct vigil_memdump_result *res);

/* The record of a run (method, why not the other, kernel, boot id, ranges,
 * gaps, holes, digests); NULL on ENOMEM. */
json_t *vigil_memdump_result_json(const struct vigil_memdump_result *res);

#endif
