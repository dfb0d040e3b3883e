/* fuzz_audit_exec.c - the proc connector message parser and the exec
 * watcher behind it on arbitrary datagrams; /proc is a directory that does
 * not exist, so every exec is "gone" and nothing on the host is read.  The
 * watcher is made once and reused (its caches are part of what is tested). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vigil/audit_exec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(const struct vigil_event *ev, void *ctx)
{
	size_t *n = ctx;

	(*n) += ev->action ? strlen(ev->action) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const roots[] = { "/nonexistent", NULL };
	static struct vigil_audit_exec_opts o = { .proc = "/nonexistent", .data_roots = roots,
						  .exec_rate = 100 };
	static struct vigil_audit_exec *x;
	static size_t n;
	struct vigil_audit_exec_msg m[16];
	uint64_t bad = 0;

	if (!x)
		x = vigil_audit_exec_new(&o, sink, &n);
	if (!x)
		return 0;
	vigil_audit_exec_parse(data, size, m, 16, &bad);
	vigil_audit_exec_handle(x, data, size);
	vigil_audit_exec_tick(x);
	return 0;
}
