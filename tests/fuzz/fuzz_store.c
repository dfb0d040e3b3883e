/* fuzz_store.c - the baseline store's record reader (agent/core/store.c,
 * read_record(): "rows are hostile input too") and what consumes its
 * records.  Each input is up to 8 rows of the records table of generation 1,
 * every column typed and valued by the input (fuzz_store_fx.h), planted
 * through a raw SQLite handle; then the store's iterator and lookup read
 * them back, and each record is encoded (the generation digest's input),
 * diffed against the previous one, its attributes printed and rendered as an
 * event.  No dictionary: the input is binary. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/event.h"
#include "vigil/record.h"

#include "fuzz_common.h"
#include "fuzz_store_fx.h"

#define MAX_COLS 32

static struct fz_store fx;
static sqlite3_stmt *ins;
static int ncols;

static void init(void)
{
	sqlite3_stmt *s;
	char sql[2048] = "INSERT OR REPLACE INTO records(first_gen, last_gen", vals[256] = "VALUES(1, 1";
	size_t o = strlen(sql), vo = strlen(vals);

	fz_store_init(&fx, "store");
	/* the columns as the store made them: this follows its schema */
	if (sqlite3_prepare_v2(fx.raw, "SELECT name FROM pragma_table_info('records') WHERE name NOT IN ('first_gen', 'last_gen')", -1, &s,
			       NULL) != SQLITE_OK)
		abort();
	while (sqlite3_step(s) == SQLITE_ROW && ncols < MAX_COLS) {
		o += (size_t)snprintf(sql + o, sizeof(sql) - o, ", %s", (const char *)sqlite3_column_text(s, 0));
		vo += (size_t)snprintf(vals + vo, sizeof(vals) - vo, ", ?");
		ncols++;
	}
	sqlite3_finalize(s);
	snprintf(sql + o, sizeof(sql) - o, ") %s)", vals);
	if (!ncols || sqlite3_prepare_v2(fx.raw, sql, -1, &ins, NULL) != SQLITE_OK)
		abort();
}

static void consume(const struct vigil_record *r, const struct vigil_record *prev)
{
	struct vigil_event ev = { .action = VIGIL_ACTION_CHANGED, .old = prev, .cur = r, .time_ns = 1 };
	char buf[512], *json;
	size_t len;
	unsigned char *enc = vigil_record_encode(r, &len);

	free(enc);
	for (int i = 0; i < VIGIL_ATTR_COUNT; i++)
		vigil_record_attr_str(r, 1u << i, buf, sizeof(buf));
	if (prev)
		ev.changed = vigil_record_diff(prev, r, ~0u);
	json = vigil_event_json(&ev, "fuzz");
	free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_store_iter *it = NULL;
	struct vigil_record rec, prev, got;
	struct vigil_err err;
	int have_prev = 0;

	if (!ins)
		init();
	fz_store_exec(&fx, "DELETE FROM records");
	for (int row = 0; row < 8 && size; row++) {
		for (int c = 0; c < ncols; c++)
			fz_store_bind(ins, c + 1, &data, &size);
		sqlite3_step(ins);
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
	}
	vigil_record_init(&prev);
	if (vigil_store_iter_new(fx.st, 1, &it, &err))
		return 0;
	while (vigil_store_iter_next(it, &rec, &err) > 0) {
		consume(&rec, have_prev ? &prev : NULL);
		if (vigil_store_get(fx.st, 1, rec.path, rec.path_len, &got, &err) == 0)
			vigil_record_clear(&got);
		vigil_record_clear(&prev);
		have_prev = vigil_record_copy(&prev, &rec) == 0;
	}
	vigil_store_iter_free(it);
	vigil_record_clear(&prev);
	return 0;
}
