/* fuzz_audit.c - the audit record parser and the engine behind it (who-data
 * ring, detections) on arbitrary text; seeds are records recorded from this
 * kernel (tests/fuzz/corpus/audit/), dictionary fuzz_audit.dict. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(const struct vigil_event *ev, void *ctx)
{
	size_t *n = ctx;

	(*n) += ev->action ? strlen(ev->action) : 0;
}

/* One engine for the whole run, as in the daemon: setting up and freeing the
 * 4,096-entry who-data ring for every input took most of the time (127
 * exec/s).  The ring, the rate limiter and the counters carry over from one
 * input to the next, which also exercises the ring's wrap-around; each input
 * ends with a flush, so no half-read record leaks into the next one. */
static struct vigil_audit_engine *engine;
static size_t sunk;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vigil_audit_engine_opts o = { .window_ms = 1000, .proc = "/nonexistent",
							  .all_execs = 1, .all_files = 1, .exec_rate = 100 };
	struct vigil_who who;
	size_t half = size / 2;
	char id[65];

	if (!engine && !(engine = vigil_audit_engine_new(&o, sink, &sunk)))
		abort();
	/* two feeds: a record cut in the middle must be reassembled */
	vigil_audit_engine_feed(engine, (const char *)data, half);
	vigil_audit_engine_feed(engine, (const char *)data + half, size - half);
	vigil_audit_parser_flush(vigil_audit_engine_parser(engine));
	vigil_audit_engine_who(engine, "/tmp/arec/w/f1", 1, 0, &who);
	vigil_audit_cgroup_container((const char *)data, size, id);
	return 0;
}
