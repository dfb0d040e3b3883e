/* fuzz_common.h - what the libFuzzer targets share: one input split into
 * parts (one per file or row the target writes), and a scratch directory
 * made once per process and removed at exit.
 *
 * Parts are separated by FZ_SEP; the dictionaries name it, so the fuzzer
 * learns to make and move parts.  A target that reads N parts treats a part
 * that is not there as "file absent", not as an empty file. */
#ifndef VIGIL_FUZZ_COMMON_H
#define VIGIL_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define FZ_SEP "\n%%\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Splits data at FZ_SEP into at most max parts (the last one keeps the
 * rest, separators included).  Returns the number of parts (>= 1). */
size_t fz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, size_t max);
/* A fresh /tmp/vigil-fuzz-TAG.XXXXXX (removed at exit); aborts on failure,
 * since a target without its scratch dir would test nothing. */
/* The dir scratch files go in: $FUZZ_TMPDIR, else /dev/shm, else /tmp. */
const char *fz_tmp(void);
const char *fz_dir(const char *tag);
/* Writes dir/rel (parents made), or removes it when data is NULL. */
void fz_put(const char *dir, const char *rel, const void *data, size_t len);
/* Writes part i of the split, or removes the file when there is no part i. */
void fz_put_part(const char *dir, const char *rel, size_t i, size_t n, const uint8_t *const *part,
		 const size_t *len);
void fz_mkdirs(const char *dir, const char *rel);

#endif
