/* fuzz_common.c - see fuzz_common.h. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"

size_t fz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, size_t max)
{
	const size_t sl = sizeof(FZ_SEP) - 1;
	size_t n = 0;

	while (n + 1 < max) {
		const uint8_t *p = size >= sl ? memmem(data, size, FZ_SEP, sl) : NULL;

		if (!p)
			break;
		part[n] = data;
		len[n++] = (size_t)(p - data);
		size -= (size_t)(p - data) + sl;
		data = p + sl;
	}
	part[n] = data;
	len[n++] = size;
	return n;
}

static char scratch[8][64];
static int n_scratch;

static void rm_scratch(void)
{
	for (int i = 0; i < n_scratch; i++) {
		char cmd[96];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch[i]);
		if (system(cmd))
			continue;
	}
}

/* Scratch files go to a tmpfs when there is one: a target that writes a data
 * root per input runs several times faster than on a journaling disk. */
const char *fz_tmp(void)
{
	static const char *t;
	struct stat sb;

	if (!t)
		t = getenv("FUZZ_TMPDIR") ? getenv("FUZZ_TMPDIR")
		    : !stat("/dev/shm", &sb) && S_ISDIR(sb.st_mode) && !access("/dev/shm", W_OK) ? "/dev/shm"
												: "/tmp";
	return t;
}

const char *fz_dir(const char *tag)
{
	char *d;

	if (n_scratch == 8)
		abort();
	d = scratch[n_scratch];
	snprintf(d, sizeof(scratch[0]), "%s/vigil-fuzz-%.20s.XXXXXX", fz_tmp(), tag);
	if (!mkdtemp(d))
		abort();
	if (!n_scratch++)
		atexit(rm_scratch);
	return d;
}

void fz_mkdirs(const char *dir, const char *rel)
{
	char path[1024], *p;

	if (snprintf(path, sizeof(path), "%s/%s", dir, rel) >= (int)sizeof(path))
		abort();
	for (p = path + strlen(dir) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	mkdir(path, 0755);
}

void fz_put(const char *dir, const char *rel, const void *data, size_t len)
{
	char path[1024];
	const char *slash = strrchr(rel, '/');
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, rel) >= (int)sizeof(path))
		abort();
	if (!data) {
		unlink(path);
		return;
	}
	if (slash) {
		char parent[1024];

		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - rel), rel);
		fz_mkdirs(dir, parent);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (len && write(fd, data, len) != (ssize_t)len)
		(void)0; /* a short write is one more odd input */
	close(fd);
}

void fz_put_part(const char *dir, const char *rel, size_t i, size_t n, const uint8_t *const *part,
		 const size_t *len)
{
	fz_put(dir, rel, i < n ? part[i] : NULL, i < n ? len[i] : 0);
}

const char *__lsan_default_suppressions(void);
/* libauparse 3.0.9 leaks a field copy on some malformed records (a quoted
 * value left open with a second "name=" inside it, which the kernel never
 * writes: it hex-encodes any value holding a quote).  That is the library's
 * allocation, not ours: suppressed by library, so a leak in vigil's own code
 * still fails the run.  In every target (fuzz_audit and fuzz_audit_link feed
 * libauparse; the others do not load it). */
const char *__lsan_default_suppressions(void)
{
	return "leak:libauparse.so\n";
}
