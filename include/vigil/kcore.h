/* kcore.h - physical memory from userland: /proc/iomem's System RAM ranges
 * and /proc/kcore's ELF core, written as a LiME stream.
 *
 * Lifecycle: vigil_iomem_read() (or _parse()) -> ranges the caller frees;
 * optionally vigil_iomem_limit() to cut them to a byte budget; then
 * vigil_kcore_dump(path, ranges, out, &res) writes one LiME range per System
 * RAM range through a vigil_lime_out pipe; vigil_kcore_result_free(&res).
 */
#ifndef VIGIL_KCORE_H
#define VIGIL_KCORE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"
#include "vigil/lime.h"

/* Top-level "System RAM" lines of an iomem text, in order.  -EPERM when every
 * address reads as 0 (the kernel shows iomem's addresses to root only: run
 * as root), -EINVAL for unordered/overlapping/unparsable lines (err names
 * the line), -E2BIG past VIGIL_LIME_MAX_RANGES. */
int vigil_iomem_parse(const char *text, size_t len, struct vigil_lime_range **ranges, size_t *n,
		      struct vigil_err *err);
/* Reads path (at most 1 MiB) and parses it. */
int vigil_iomem_read(const char *path, struct vigil_lime_range **ranges, size_t *n, struct vigil_err *err);
/* Keeps the first max_bytes of the ranges (the last kept range cut short);
 * 0 keeps everything.  Updates *n. */
void vigil_iomem_limit(struct vigil_lime_range *ranges, size_t *n, uint64_t max_bytes);

/* A PT_LOAD segment of kcore that maps physical memory. */
struct vigil_kcore_seg {
	uint64_t paddr, size, offset;
};

/* The usable segments of the ELF64 core on fd: PT_LOAD with p_paddr != -1,
 * p_filesz > 0, no overflow of paddr+size or offset+size; sorted by paddr.
 * Segments may overlap (the kernel text is also in the direct map).  *dropped
 * counts PT_LOAD segments refused as hostile.  -EINVAL for a bad ELF header. */
int vigil_kcore_segments(int fd, struct vigil_kcore_seg **segs, size_t *n, size_t *dropped,
			 struct vigil_err *err);

/* What the dump could not read: holes are zero-filled in the stream and
 * listed here (not in kcore, read error, past the end of the file). */
struct vigil_kcore_result {
	size_t n_segments, dropped_segments;
	uint64_t n_holes, hole_bytes;
	size_t holes_listed;
	struct vigil_lime_range *holes; /* at most VIGIL_LIME_MAX_GAPS */
};

/* Writes ranges[0..n) from the kcore file at path into out (the pipe's
 * validator is told to expect exactly these ranges).  0 or -errno. */
int vigil_kcore_dump(const char *path, const struct vigil_lime_range *ranges, size_t n,
		     struct vigil_lime_out *out, struct vigil_kcore_result *res, struct vigil_err *err);
void vigil_kcore_result_free(struct vigil_kcore_result *res);

#endif
