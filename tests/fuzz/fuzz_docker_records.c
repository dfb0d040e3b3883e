/* fuzz_docker_records.c - the Docker layer records that `check` reads back
 * from the baseline store (collectors/docker/docker_baseline.c,
 * vigil_docker_layers_check()): hostile object rows (kind, key, data) of
 * generation 1 against a real scratch data root with one layer (made once
 * with tests/unit/docker_fixture.c, found through /etc/docker/daemon.json's
 * "data-root").  The layer's chain id is printed at start, for seeds.
 *
 * Input: parts (fuzz_common.h) taken three at a time, kind, key, data; an
 * empty kind is "layer".  Up to 6 rows.  Dictionary: fuzz_docker_json.dict
 * (the records are JSON). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/crypto.h"
#include "vigil/docker.h"

#include "../unit/docker_fixture.h"
#include "fuzz_common.h"
#include "fuzz_store_fx.h"

static struct fz_store fx;
static sqlite3_stmt *ins;
static char *top, *fxroot;

static void cleanup(void)
{
	fx_rm(fxroot);
	free(fxroot);
	free(top);
}

static void init(void)
{
	static const struct fx_entry layer[] = {
		{ "etc/", '5', 0755, NULL, 1700000000 },
		{ "etc/hostname", '0', 0644, "fuzz\n", 1700000001 },
	};
	struct vigil_err err;
	char chain[72];

	setenv("FX_TMPDIR", fz_tmp(), 1);
	fxroot = fx_new_root();
	if (!fxroot || vigil_crypto_init(&err) || fx_layer(fxroot, "f0220002", layer, 2, chain))
		abort();
	top = strdup(fxroot);
	if (!top)
		abort();
	*strrchr(top, '/') = '\0';
	fz_put(top, "etc/docker/daemon.json", "{\"data-root\": \"/d\"}", 19);
	atexit(cleanup);
	fprintf(stderr, "fuzz_docker_records: layer %s\n", chain);
	fz_store_init(&fx, "docker-records");
	if (sqlite3_prepare_v2(fx.raw, "INSERT OR REPLACE INTO objects(first_gen, last_gen, kind, key, data) VALUES(1, 1, ?, ?, ?)", -1,
			       &ins, NULL) != SQLITE_OK)
		abort();
}

static int cb(void *arg, const char *action, int severity, const char *subject, const char *msg,
	      const char *extra_json)
{
	(*(size_t *)arg) += strlen(action) + (msg ? strlen(msg) : 0) + (extra_json ? strlen(extra_json) : 0);
	(void)severity;
	(void)subject;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[18];
	size_t len[18], n, seen = 0;
	struct vigil_err err;

	if (!ins)
		init();
	fz_store_exec(&fx, "DELETE FROM objects");
	n = fz_split(data, size, part, len, 18);
	for (size_t i = 0; i + 1 < n; i += 3) {
		if (len[i])
			sqlite3_bind_text(ins, 1, (const char *)part[i], (int)len[i], SQLITE_STATIC);
		else
			sqlite3_bind_text(ins, 1, "layer", 5, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, (const char *)part[i + 1], (int)len[i + 1], SQLITE_STATIC);
		if (i + 2 < n)
			sqlite3_bind_blob(ins, 3, part[i + 2], (int)len[i + 2], SQLITE_STATIC);
		else
			sqlite3_bind_blob(ins, 3, "", 0, SQLITE_STATIC);
		sqlite3_step(ins);
		sqlite3_reset(ins);
	}
	(void)vigil_docker_layers_check(top, fx.st, 1, 1, 1, cb, &seen, &err);
	return 0;
}
