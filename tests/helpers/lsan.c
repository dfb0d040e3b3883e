/* lsan.c - linked into test programs that make keys (add it to a program's
 * _SOURCES).  libgcrypt's jitter entropy collector (128 KiB, allocated on the
 * first GCRY_VERY_STRONG_RANDOM) lives as long as the process and is reached
 * only through secure memory, which LeakSanitizer does not scan: it is
 * reported as a leak that is not ours.  Only that library is exempted; the
 * hook is ignored outside sanitizer builds. */
#include "config.h"

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libgcrypt.so\n";
}
