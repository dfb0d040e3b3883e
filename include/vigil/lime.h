/* lime.h - the LiME memory dump format: range headers, a streaming validator,
 * and the output pipe every acquisition method writes through.
 *
 * Format (FORMATS.md): per range a 32-byte little-endian header
 *   u32 magic 0x4C694D45 | u32 version 1 | u64 start | u64 end (inclusive) | u64 reserved 0
 * then end - start + 1 bytes of memory.
 *
 * Validator lifecycle: vigil_lime_check_new() -> optionally
 * vigil_lime_check_expect(ranges) -> vigil_lime_check_feed(buf, len) as the
 * bytes arrive, in pieces of any size -> vigil_lime_check_finish() -> read the
 * result (status, ranges, gaps) -> vigil_lime_check_free().  Memory is bounded
 * whatever the input: at most VIGIL_LIME_MAX_RANGES ranges and
 * VIGIL_LIME_MAX_GAPS gap entries are kept (past that the stream is refused,
 * or the gaps are counted but not listed: never hidden).
 *
 * Output pipe lifecycle: vigil_lime_out_new(sink, ctx) -> _range() per range
 * -> _write() for exactly that range's bytes -> _finish() (SHA-256 of the
 * whole stream, validation result) -> _free().  The sink is any write
 * callback: a file today, the evidence archive's member writer later.
 */
#ifndef VIGIL_LIME_H
#define VIGIL_LIME_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/err.h"

#define VIGIL_LIME_MAGIC 0x4C694D45u
#define VIGIL_LIME_VERSION 1u
#define VIGIL_LIME_HDR_SIZE 32
#define VIGIL_LIME_PAGE 4096u
/* Real machines have tens of System RAM ranges; a stream with more is hostile. */
#define VIGIL_LIME_MAX_RANGES 4096
/* Runs of zero pages listed one by one (16 bytes each: 1 MiB at most). */
#define VIGIL_LIME_MAX_GAPS 65536

struct vigil_lime_range {
	uint64_t start, end; /* physical addresses, end inclusive */
};

/* What is wrong with a stream: the first problem found.  Every code past
 * VIGIL_LIME_OK means the stream is not a valid dump of what was expected. */
enum vigil_lime_status {
	VIGIL_LIME_OK = 0,
	VIGIL_LIME_BAD_MAGIC,
	VIGIL_LIME_BAD_VERSION,
	VIGIL_LIME_BAD_RESERVED,
	VIGIL_LIME_END_BEFORE_START,
	VIGIL_LIME_LENGTH_OVERFLOW, /* start 0, end 2^64-1: a length of 2^64 */
	VIGIL_LIME_UNORDERED,
	VIGIL_LIME_OVERLAP,
	VIGIL_LIME_TRUNCATED_HEADER,
	VIGIL_LIME_TRUNCATED_DATA,
	VIGIL_LIME_TOO_MANY_RANGES,
	VIGIL_LIME_EMPTY,           /* no range at all */
	VIGIL_LIME_UNEXPECTED_RANGE, /* differs from the expected System RAM range */
	VIGIL_LIME_MISSING_RANGE,    /* an expected range is absent */
	VIGIL_LIME_STATUS_COUNT
};

/* "bad-magic", "truncated-data", ... (stable: tests and JSON use them). */
const char *vigil_lime_status_name(enum vigil_lime_status s);

/* Encodes / decodes one range header.  decode returns a status for the header
 * alone (magic, version, reserved, start <= end, length overflow). */
void vigil_lime_header_encode(unsigned char out[VIGIL_LIME_HDR_SIZE], uint64_t start, uint64_t end);
enum vigil_lime_status vigil_lime_header_decode(const unsigned char in[VIGIL_LIME_HDR_SIZE],
						struct vigil_lime_range *r);

struct vigil_lime_check;
struct vigil_lime_check *vigil_lime_check_new(void);
/* The ranges the dump must hold, in order (iomem's System RAM, possibly cut
 * by a size limit).  Copied; at most VIGIL_LIME_MAX_RANGES.  0 or -errno. */
int vigil_lime_check_expect(struct vigil_lime_check *c, const struct vigil_lime_range *r, size_t n);
/* Feeds the next bytes of the stream.  Returns 0 while the stream is valid so
 * far, -EINVAL once a problem was found (later calls do nothing). */
int vigil_lime_check_feed(struct vigil_lime_check *c, const void *buf, size_t len);
/* End of stream: truncation, missing ranges.  0 or -EINVAL, detail in err. */
int vigil_lime_check_finish(struct vigil_lime_check *c, struct vigil_err *err);
enum vigil_lime_status vigil_lime_check_status(const struct vigil_lime_check *c);
/* The problem in words ("range 2 at offset 4128: bad magic 0x..."), or "". */
const char *vigil_lime_check_message(const struct vigil_lime_check *c);
size_t vigil_lime_check_n_ranges(const struct vigil_lime_check *c);
const struct vigil_lime_range *vigil_lime_check_ranges(const struct vigil_lime_check *c);
/* Runs of whole pages (page offsets from each range's start; the last page of
 * a range may be partial) that read back all zero: LiME zero-fills pages that
 * time out, kcore holes are zero-filled by our writer.  Adjacent zero pages
 * are merged into one run.  n_gaps counts every run; at most
 * VIGIL_LIME_MAX_GAPS are listed (gaps_listed()). */
uint64_t vigil_lime_check_n_gaps(const struct vigil_lime_check *c);
size_t vigil_lime_check_gaps_listed(const struct vigil_lime_check *c);
const struct vigil_lime_range *vigil_lime_check_gaps(const struct vigil_lime_check *c);
uint64_t vigil_lime_check_zero_bytes(const struct vigil_lime_check *c);
uint64_t vigil_lime_check_bytes(const struct vigil_lime_check *c); /* stream bytes seen */
void vigil_lime_check_free(struct vigil_lime_check *c);
/* Feeds the file at path through c and finishes it: 0, -EINVAL (does not
 * validate: detail in err), -errno (unreadable). */
int vigil_lime_check_file(const char *path, struct vigil_lime_check *c, struct vigil_err *err);

/* A sink: takes len bytes or fails (0 or -errno, detail in err). */
typedef int (*vigil_lime_sink_fn)(void *ctx, const void *buf, size_t len, struct vigil_err *err);

/* The output pipe: headers are written for you, every byte goes to the sink,
 * into SHA-256 and through a validator in the same pass. */
struct vigil_lime_out;
struct vigil_lime_out *vigil_lime_out_new(vigil_lime_sink_fn sink, void *ctx);
/* The validator of the pipe, to give it expected ranges before writing. */
struct vigil_lime_check *vigil_lime_out_check(struct vigil_lime_out *o);
/* Starts a range: writes its header.  The previous range must be complete. */
int vigil_lime_out_range(struct vigil_lime_out *o, uint64_t start, uint64_t end, struct vigil_err *err);
/* Body bytes of the current range (never more than it has left). */
int vigil_lime_out_write(struct vigil_lime_out *o, const void *buf, size_t len, struct vigil_err *err);
/* Passes raw stream bytes (headers included) through: for a stream that
 * arrives already formatted (the LiME module over TCP). */
int vigil_lime_out_raw(struct vigil_lime_out *o, const void *buf, size_t len, struct vigil_err *err);
/* Completes the stream: the SHA-256 (hex) and the validator's verdict.
 * 0, -EINVAL (the stream does not validate: detail in err), -errno. */
int vigil_lime_out_finish(struct vigil_lime_out *o, char sha256_hex[65], struct vigil_err *err);
uint64_t vigil_lime_out_bytes(const struct vigil_lime_out *o);
void vigil_lime_out_free(struct vigil_lime_out *o);

/* A sink writing to a file descriptor (full writes, EINTR retried). */
int vigil_lime_sink_fd(void *fdp, const void *buf, size_t len, struct vigil_err *err);

#endif
