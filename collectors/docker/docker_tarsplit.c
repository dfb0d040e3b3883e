/* docker_tarsplit.c - reading tar-split.json.gz (the tar headers of the
 * rebuilt stream are parsed by docker_tarhdr.c).
 *
 * tar-split (FORMATS.md) stores a layer's tar as JSON lines: segments (raw tar
 * bytes: headers, padding, end blocks) and file entries (name, size, CRC-64 of
 * the payload).  The payload itself is read from the layer's diff dir by
 * docker_layers.c.  Every line is untrusted: lengths are bounded, names must be
 * relative without '..' or NUL, and a line that does not parse stops that
 * layer with the line number in the message.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <zlib.h>

#include "vigil/base64.h"
#include "vigil/record.h"

#include "docker_priv.h"

/* A segment holds at most a few headers (pax records with xattrs can be
 * large, but not megabytes); a longer line is an attack or corruption. */
#define TS_LINE_MAX (16u << 20)
/* Sizes beyond 2^40 bytes (1 TiB) in one layer file are absurd. */
#define TS_SIZE_MAX (1ull << 40)

struct docker_ts {
	gzFile gz;
	const unsigned char *mem; /* docker_ts_open_mem */
	size_t mem_len, mem_off;
	char *buf;                /* read buffer: [start, end) unconsumed */
	size_t start, end, cap;
	int eof;
	uint64_t line;
	int64_t last_pos;
	char *name;
	unsigned char *payload;
	size_t payload_cap;
	char what[256];
};

static int ts_alloc(struct docker_ts **out)
{
	struct docker_ts *ts = calloc(1, sizeof(*ts));

	*out = NULL;
	if (!ts)
		return -ENOMEM;
	ts->cap = 256 * 1024;
	ts->buf = malloc(ts->cap);
	if (!ts->buf) {
		free(ts);
		return -ENOMEM;
	}
	ts->last_pos = -1;
	*out = ts;
	return 0;
}

int docker_ts_open(int fd, const char *what, struct docker_ts **out, struct vigil_err *err)
{
	struct docker_ts *ts;
	int rc = ts_alloc(&ts);

	if (rc) {
		close(fd);
		return vigil_err_set(err, rc, "%s: out of memory", what);
	}
	ts->gz = gzdopen(fd, "rb");
	if (!ts->gz) {
		close(fd);
		docker_ts_close(ts);
		return vigil_err_set(err, -ENOMEM, "%s: cannot start gzip reader", what);
	}
	gzbuffer(ts->gz, 128 * 1024);
	snprintf(ts->what, sizeof(ts->what), "%s", what);
	*out = ts;
	return 0;
}

int docker_ts_open_mem(const void *buf, size_t len, struct docker_ts **out)
{
	int rc = ts_alloc(out);

	if (rc)
		return rc;
	(*out)->mem = buf;
	(*out)->mem_len = len;
	snprintf((*out)->what, sizeof((*out)->what), "tar-split");
	return 0;
}

void docker_ts_close(struct docker_ts *ts)
{
	if (!ts)
		return;
	if (ts->gz)
		gzclose(ts->gz);
	free(ts->buf);
	free(ts->name);
	free(ts->payload);
	free(ts);
}

/* Refills buf; returns bytes added, 0 at EOF, -errno. */
static long ts_fill(struct docker_ts *ts, struct vigil_err *err)
{
	long r;

	if (ts->start > 0) {
		memmove(ts->buf, ts->buf + ts->start, ts->end - ts->start);
		ts->end -= ts->start;
		ts->start = 0;
	}
	if (ts->end == ts->cap) {
		size_t ncap = ts->cap * 2;
		char *nb;

		if (ncap > TS_LINE_MAX + 1)
			return vigil_err_set(err, -EFBIG, "%s: line %" PRIu64 " longer than %u bytes",
					     ts->what, ts->line + 1, TS_LINE_MAX);
		nb = realloc(ts->buf, ncap);
		if (!nb)
			return vigil_err_set(err, -ENOMEM, "%s: out of memory", ts->what);
		ts->buf = nb;
		ts->cap = ncap;
	}
	if (ts->gz) {
		int e;

		r = gzread(ts->gz, ts->buf + ts->end, (unsigned)(ts->cap - ts->end));
		if (r < 0) {
			const char *m = gzerror(ts->gz, &e);

			return vigil_err_set(err, -EIO, "%s: gzip: %s", ts->what, m ? m : "read error");
		}
		if (r == 0) {
			/* gzread returns 0 both at a clean end and on a truncated stream. */
			const char *m = gzerror(ts->gz, &e);

			if (e != Z_OK && e != Z_STREAM_END)
				return vigil_err_set(err, -EIO, "%s: gzip: %s", ts->what, m);
		}
	} else {
		size_t n = ts->mem_len - ts->mem_off;

		if (n > ts->cap - ts->end)
			n = ts->cap - ts->end;
		memcpy(ts->buf + ts->end, ts->mem + ts->mem_off, n);
		ts->mem_off += n;
		r = (long)n;
	}
	ts->end += (size_t)r;
	return r;
}

int docker_ts_name_ok(const char *name, size_t len)
{
	size_t i = 0;

	if (!len || memchr(name, '\0', len) || name[0] == '/')
		return -EINVAL;
	while (i < len) {
		size_t j = i;

		while (j < len && name[j] != '/')
			j++;
		if (j - i == 2 && name[i] == '.' && name[i + 1] == '.')
			return -EINVAL;
		i = j + 1;
	}
	return 0;
}

#define TS_BAD(...) vigil_err_set(err, -EINVAL, __VA_ARGS__)

/* "payload": base64 into ts->payload (e->payload points there). */
static int ts_payload(struct docker_ts *ts, json_t *v, struct docker_ts_entry *e, struct vigil_err *err)
{
	const char *s;
	size_t sl, need;
	long n;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return TS_BAD("%s: line %" PRIu64 ": 'payload' is not a string", ts->what, ts->line);
	s = json_string_value(v);
	sl = json_string_length(v);
	need = sl / 4 * 3 + 3;
	if (need > ts->payload_cap) {
		unsigned char *p = realloc(ts->payload, need);

		if (!p)
			return vigil_err_set(err, -ENOMEM, "%s: out of memory", ts->what);
		ts->payload = p;
		ts->payload_cap = need;
	}
	n = vigil_base64_decode(s, sl, ts->payload, ts->payload_cap);
	if (n < 0)
		return TS_BAD("%s: line %" PRIu64 ": 'payload' is not base64", ts->what, ts->line);
	e->payload = ts->payload;
	e->payload_len = (size_t)n;
	return 0;
}

/* A file entry's name: "name_raw" (base64, any bytes) or "name", checked
 * safe as tar has it ("./x" and a trailing '/' for dirs are fine). */
static int ts_name(struct docker_ts *ts, json_t *j, struct docker_ts_entry *e, struct vigil_err *err)
{
	json_t *v = json_object_get(j, "name_raw");
	const char *nm;
	size_t nl;

	free(ts->name);
	ts->name = NULL;
	if (v && json_is_string(v) && json_string_length(v) > 0) {
		size_t sl = json_string_length(v);
		long n;

		ts->name = malloc(sl / 4 * 3 + 4);
		if (!ts->name)
			return vigil_err_set(err, -ENOMEM, "%s: out of memory", ts->what);
		n = vigil_base64_decode(json_string_value(v), sl, (unsigned char *)ts->name, sl / 4 * 3 + 3);
		if (n < 0)
			return TS_BAD("%s: line %" PRIu64 ": 'name_raw' is not base64", ts->what, ts->line);
		ts->name[n] = '\0';
		e->name_len = (size_t)n;
	} else {
		v = json_object_get(j, "name");
		if (!json_is_string(v))
			return TS_BAD("%s: line %" PRIu64 ": file entry without a name", ts->what, ts->line);
		e->name_len = json_string_length(v);
		ts->name = malloc(e->name_len + 1);
		if (!ts->name)
			return vigil_err_set(err, -ENOMEM, "%s: out of memory", ts->what);
		memcpy(ts->name, json_string_value(v), e->name_len + 1);
	}
	e->name = ts->name;
	nm = e->name;
	nl = e->name_len;
	while (nl >= 2 && nm[0] == '.' && nm[1] == '/')
		nm += 2, nl -= 2;
	while (nl && nm[nl - 1] == '/')
		nl--;
	if (memchr(e->name, '\0', e->name_len) || (nl && docker_ts_name_ok(nm, nl))) {
		char *esc = vigil_path_escape(e->name, e->name_len);

		TS_BAD("%s: line %" PRIu64 ": unsafe name '%s' (absolute, '..' or NUL)", ts->what, ts->line,
		       esc ? esc : "?");
		free(esc);
		return -EINVAL;
	}
	return 0;
}

/* The rest of a file entry: its size and the CRC-64 its payload holds. */
static int ts_file(struct docker_ts *ts, json_t *j, struct docker_ts_entry *e, struct vigil_err *err)
{
	json_t *v;
	int rc = ts_name(ts, j, e, err);

	if (rc)
		return rc;
	v = json_object_get(j, "size");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > TS_SIZE_MAX)
			return TS_BAD("%s: line %" PRIu64 ": absurd size for '%s'", ts->what, ts->line, e->name);
		e->size = (uint64_t)json_integer_value(v);
	}
	if (e->payload) {
		if (e->payload_len != 8)
			return TS_BAD("%s: line %" PRIu64 ": checksum of '%s' is not 8 bytes", ts->what, ts->line,
				      e->name);
		e->has_crc = 1;
		for (int i = 0; i < 8; i++)
			e->crc = e->crc << 8 | e->payload[i];
		e->payload = NULL;
		e->payload_len = 0;
	}
	return 0;
}

/* One JSON line: 1 and e filled, or -errno (err names the line). */
static int ts_parse(struct docker_ts *ts, const char *line, size_t len, struct docker_ts_entry *e,
		    struct vigil_err *err)
{
	json_error_t jerr;
	json_t *j = json_loadb(line, len, 0, &jerr), *v;
	uint64_t ln = ts->line;
	int rc = -EINVAL;

	memset(e, 0, sizeof(*e));
	if (!j) {
		TS_BAD("%s: line %" PRIu64 ": bad JSON: %s", ts->what, ln, jerr.text);
		goto out;
	}
	if (!json_is_object(j)) {
		TS_BAD("%s: line %" PRIu64 ": not a JSON object", ts->what, ln);
		goto out;
	}
	v = json_object_get(j, "type");
	if (!json_is_integer(v) || (json_integer_value(v) != 1 && json_integer_value(v) != 2)) {
		TS_BAD("%s: line %" PRIu64 ": 'type' is not 1 or 2", ts->what, ln);
		goto out;
	}
	e->type = (int)json_integer_value(v);
	v = json_object_get(j, "position");
	if (v && json_is_integer(v)) {
		e->position = json_integer_value(v);
		if (e->position <= ts->last_pos) {
			TS_BAD("%s: line %" PRIu64 ": position %" PRId64 " out of order", ts->what, ln, e->position);
			goto out;
		}
		ts->last_pos = e->position;
	}
	rc = ts_payload(ts, json_object_get(j, "payload"), e, err);
	if (rc)
		goto out;
	if (e->type == DOCKER_TS_SEGMENT) {
		if (!e->payload)
			e->payload = ts->payload, e->payload_len = 0;
	} else {
		rc = ts_file(ts, j, e, err);
		if (rc)
			goto out;
	}
	rc = 1;
out:
	json_decref(j);
	return rc;
}

int docker_ts_next(struct docker_ts *ts, struct docker_ts_entry *e, struct vigil_err *err)
{
	for (;;) {
		char *nl = memchr(ts->buf + ts->start, '\n', ts->end - ts->start);
		size_t len;
		long r;

		if (nl || (ts->eof && ts->end > ts->start)) {
			char *line = ts->buf + ts->start;

			len = nl ? (size_t)(nl - line) : ts->end - ts->start;
			ts->start += len + (nl ? 1 : 0);
			ts->line++;
			while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
				len--;
			if (!len)
				continue;
			return ts_parse(ts, line, len, e, err);
		}
		if (ts->eof)
			return 0;
		r = ts_fill(ts, err);
		if (r < 0)
			return (int)r;
		if (r == 0)
			ts->eof = 1;
	}
}

