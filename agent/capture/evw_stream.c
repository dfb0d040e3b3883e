/* evw_stream.c - a member whose bytes arrive as they are made (a memory dump
 * from LiME's socket or /proc/kcore): its size is declared up front (tar
 * needs it), the bytes are hashed and written in the same pass, nothing is
 * spooled.  A stream that ends short is zero-padded to the declared size and
 * the manifest entry says how many bytes are padding; one that would run past
 * it is refused (-EFBIG), the archive stays well formed either way. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>

#include "vigil/crypto.h"
#include "evw_priv.h"

struct vigil_evw_stream {
	struct vigil_evw *w;
	char *member, *source;
	uint64_t size, done;
	struct vigil_digest *d;
};

int vigil_evw_stream_begin(struct vigil_evw *w, const char *member, const char *source, uint64_t size,
			   struct vigil_evw_stream **out)
{
	struct vigil_evw_stream *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s || !(s->member = strdup(member)) || !(s->source = strdup(source ? source : member)) ||
	    !(s->d = vigil_digest_new(VIGIL_ALGOS_DEFAULT))) {
		if (s) {
			free(s->member);
			free(s->source);
		}
		free(s);
		return evw_fail(w, -ENOMEM, "out of memory");
	}
	s->w = w;
	s->size = size;
	if ((rc = evw_header(w, member, NULL, size, NULL))) {
		vigil_digest_free(s->d);
		free(s->member);
		free(s->source);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int vigil_evw_stream_write(struct vigil_evw_stream *s, const void *buf, size_t len, struct vigil_err *err)
{
	int rc;

	if (vigil_evw_cancelled(s->w))
		return vigil_err_set(err, -ECANCELED, "capture cancelled");
	if (len > s->size - s->done)
		return vigil_err_set(err, -EFBIG, "member %s: the stream runs past its declared %" PRIu64 " bytes",
				     s->member, s->size);
	if ((rc = evw_data(s->w, buf, len)))
		return vigil_err_set(err, rc, "%s", s->w->error);
	vigil_digest_write(s->d, buf, len);
	s->done += len;
	return 0;
}

uint64_t vigil_evw_stream_bytes(const struct vigil_evw_stream *s)
{
	return s->done;
}

int vigil_evw_stream_end(struct vigil_evw_stream *s, json_t *extra, const char *note)
{
	static const unsigned char zero[65536];
	struct vigil_evw *w = s->w;
	json_t *notes = json_array();
	unsigned char sha[32];
	char hex[65];
	int rc = 0;

	if (note)
		json_array_append_new(notes, json_string(note));
	if (s->done < s->size) {
		char msg[160];

		snprintf(msg, sizeof(msg), "stream ended short: the last %" PRIu64 " bytes are zero padding",
			 s->size - s->done);
		json_array_append_new(notes, json_string(msg));
	}
	while (!rc && s->done < s->size) {
		size_t k = s->size - s->done > sizeof(zero) ? sizeof(zero) : (size_t)(s->size - s->done);

		rc = evw_data(w, zero, k);
		vigil_digest_write(s->d, zero, k);
		s->done += k;
	}
	if (!rc && archive_write_finish_entry(w->a) < ARCHIVE_WARN)
		rc = evw_fail(w, -EIO, "member %s: %s", s->member, archive_error_string(w->a));
	vigil_digest_read(s->d, VIGIL_ALGO_SHA256, sha);
	vigil_hex(sha, 32, hex);
	/* evw_entry takes both references; extra stays the caller's */
	if (!rc)
		rc = evw_entry(w, "file", s->member, s->source, strlen(s->source), NULL, NULL, hex, s->size, notes,
			       json_incref(extra), 0);
	else
		json_decref(notes);
	vigil_digest_free(s->d);
	free(s->member);
	free(s->source);
	free(s);
	return rc;
}

int vigil_evw_custody(struct vigil_evw *w, json_t *fields, struct vigil_err *err)
{
	char *text;
	int rc;

	json_object_set_new(fields, "case", json_string(w->case_id));
	json_object_set_new(fields, "examiner", json_string(w->examiner));
	text = json_dumps(fields, JSON_COMPACT);
	if (!text)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	rc = vigil_custody_append(w->o.state_dir, text, NULL, err);
	free(text);
	return rc;
}

int vigil_evw_spool_path(const struct vigil_evw *w, const char *suffix, char *out, size_t len)
{
	char cwd[4096] = "";

	if (!w->tmp || !w->tmp[0])
		return -ENOENT;
	if (w->tmp[0] != '/' && !getcwd(cwd, sizeof(cwd)))
		return -errno;
	if ((size_t)snprintf(out, len, "%s%s%s%s", cwd, cwd[0] ? "/" : "", w->tmp, suffix) >= len)
		return -ENAMETOOLONG;
	return 0;
}
