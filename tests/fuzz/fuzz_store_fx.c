/* fuzz_store_fx.c - see fuzz_store_fx.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_store_fx.h"

void fz_store_init(struct fz_store *f, const char *tag)
{
	struct vigil_err err;
	char path[256];

	f->dir = fz_dir(tag);
	if (vigil_store_open(f->dir, VIGIL_STORE_CREATE, &f->st, &err)) {
		fprintf(stderr, "fuzz: %s\n", err.msg);
		abort();
	}
	snprintf(path, sizeof(path), "%s/" VIGIL_STORE_FILE, f->dir);
	if (sqlite3_open_v2(path, &f->raw, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		abort();
	sqlite3_busy_timeout(f->raw, 1000);
	if (fz_store_exec(f, "PRAGMA synchronous=OFF;"
			  "INSERT OR IGNORE INTO generations(id, created, host, kind, n_records, complete)"
			  " VALUES(1, 1700000000, 'fuzz', 'baseline', 0, 1);")) {
		fprintf(stderr, "fuzz: %s\n", sqlite3_errmsg(f->raw));
		abort();
	}
}

int fz_store_exec(struct fz_store *f, const char *sql)
{
	return sqlite3_exec(f->raw, sql, NULL, NULL, NULL);
}

static uint64_t take_u64(const uint8_t **p, size_t *left)
{
	uint64_t v = 0;

	for (int k = 0; k < 8 && *left; k++, (*p)++, (*left)--)
		v |= (uint64_t)**p << (8 * k);
	return v;
}

void fz_store_bind(sqlite3_stmt *s, int i, const uint8_t **p, size_t *left)
{
	unsigned t = *left ? **p : 0;
	size_t n;

	if (*left)
		(*p)++, (*left)--;
	switch (t % 5) {
	case 0:
		sqlite3_bind_null(s, i);
		break;
	case 1: {
		uint64_t v = take_u64(p, left);

		sqlite3_bind_int64(s, i, (sqlite3_int64)v);
		break;
	}
	case 2: {
		uint64_t v = take_u64(p, left);
		double d;

		memcpy(&d, &v, sizeof(d));
		sqlite3_bind_double(s, i, d);
		break;
	}
	default:
		n = *left ? **p : 0;
		if (*left)
			(*p)++, (*left)--;
		if (n > *left)
			n = *left;
		if (t % 5 == 3)
			sqlite3_bind_text(s, i, (const char *)*p, (int)n, SQLITE_TRANSIENT);
		else
			sqlite3_bind_blob(s, i, *p, (int)n, SQLITE_TRANSIENT);
		*p += n;
		*left -= n;
	}
}
