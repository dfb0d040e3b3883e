/* store_head.c - the signed head of the baseline: which generation is
 * current, kept OUTSIDE the database so that a rollback of the database alone
 * (an old copy put back, the newest generation deleted, its `complete` flag
 * cleared) is refused instead of silently checking against an older baseline.
 *
 * File baseline.head beside baseline.db, replaced atomically (tmp + fsync +
 * rename + fsync of the dir), text, canonical (re-rendered and compared byte
 * for byte on read):
 *   vigil-baseline-head-v1
 *   generation N
 *   digest <64 hex: the generation's signed digest>
 *   counter C          (+1 on every write: never goes down on a live host)
 *   key <16 hex: key id>
 *   signature <128 hex: Ed25519 over the five lines above, newlines included>
 *
 * Its limit: an attacker who puts back BOTH an old database and an old head
 * (a full backup of the state dir) is only caught by someone who remembers the
 * counter; the daemon sends it in an event each time it changes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "vigil/crypto.h"
#include "vigil/statedir.h"
#include "vigil/store.h"

#define HEAD_MAGIC "vigil-baseline-head-v1"
#define HEAD_MAX 1024

/* The signed part; returns its length or -1 when it does not fit. */
static int head_render(const struct vigil_store_head *h, char *out, size_t size)
{
	char dg[65], id[17];
	int n;

	vigil_hex(h->digest, sizeof(h->digest), dg);
	vigil_hex(h->key_id, sizeof(h->key_id), id);
	n = snprintf(out, size, HEAD_MAGIC "\ngeneration %" PRId64 "\ndigest %s\ncounter %" PRIu64 "\nkey %s\n",
		     h->gen, dg, h->counter, id);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

static int head_file(const char *dir, char *out, size_t size, struct vigil_err *err)
{
	if ((size_t)snprintf(out, size, "%s/%s", dir, VIGIL_STORE_HEAD_FILE) >= size)
		return vigil_err_set(err, -ENAMETOOLONG, "state directory name too long: '%s'", dir);
	return 0;
}

/* Fills h from text (NUL-terminated); -EBADMSG unless it is canonical. */
static int head_parse(const char *file, const char *text, size_t len, struct vigil_store_head *h,
		      struct vigil_err *err)
{
	char dg[65] = "", id[17] = "", sig[129] = "", again[HEAD_MAX];
	int n;

	memset(h, 0, sizeof(*h));
	if (sscanf(text, HEAD_MAGIC "\ngeneration %" SCNd64 "\ndigest %64[0-9a-f]\ncounter %" SCNu64
		   "\nkey %16[0-9a-f]\nsignature %128[0-9a-f]", &h->gen, dg, &h->counter, id, sig) != 5 ||
	    h->gen <= 0 || vigil_unhex(dg, h->digest, sizeof(h->digest)) || strlen(dg) != 64 ||
	    vigil_unhex(id, h->key_id, sizeof(h->key_id)) || strlen(id) != 16 ||
	    vigil_unhex(sig, h->sig, sizeof(h->sig)) || strlen(sig) != 128)
		goto bad;
	n = head_render(h, again, sizeof(again));
	if (n < 0 || len != (size_t)n + strlen("signature \n") + 128 || memcmp(again, text, (size_t)n) ||
	    memcmp(text + n, "signature ", 10) || text[len - 1] != '\n')
		goto bad;
	return 0;
bad:
	return vigil_err_set(err, -EBADMSG, "baseline head '%s' is malformed (not what vigil writes): "
			     "refusing to guess which generation is current", file);
}

int vigil_store_head_read(const char *dir, const struct vigil_pubkey *pub, struct vigil_store_head *h,
			  struct vigil_err *err)
{
	char file[PATH_MAX], signed_part[HEAD_MAX], id_head[17], id_pub[17], *text = NULL;
	unsigned char pubid[8];
	size_t len = 0;
	int rc, n;

	memset(h, 0, sizeof(*h));
	rc = head_file(dir, file, sizeof(file), err);
	if (rc)
		return rc;
	rc = vigil_statedir_check_path(file, "baseline head", err);
	if (!rc)
		rc = vigil_statedir_read_small(file, "baseline head", HEAD_MAX, &text, &len, err);
	if (!rc)
		rc = head_parse(file, text, len, h, err);
	free(text);
	if (rc || !pub)
		return rc;
	vigil_pubkey_id(pub, pubid);
	vigil_sign_key_id_str(h->key_id, id_head);
	vigil_sign_key_id_str(pubid, id_pub);
	if (memcmp(pubid, h->key_id, sizeof(pubid)))
		return vigil_err_set(err, -EBADMSG, "baseline head '%s' was signed with key %s, not with key %s",
				     file, id_head, id_pub);
	n = head_render(h, signed_part, sizeof(signed_part));
	if (n < 0 || vigil_verify(pub, signed_part, (size_t)n, h->sig, NULL))
		return vigil_err_set(err, -EBADMSG, "signature of baseline head '%s' does not verify with key %s",
				     file, id_pub);
	return 0;
}

/* Signs h and replaces the head file with it. */
static int head_put(const char *file, const struct vigil_seckey *key, struct vigil_store_head *h,
		    struct vigil_err *err)
{
	char text[HEAD_MAX + 160], sig[129];
	int rc, n;

	vigil_seckey_id(key, h->key_id);
	n = head_render(h, text, sizeof(text));
	if (n < 0)
		return vigil_err_set(err, -EOVERFLOW, "baseline head '%s': text does not fit", file);
	rc = vigil_sign(key, text, (size_t)n, h->sig, err);
	if (rc)
		return rc;
	vigil_hex(h->sig, sizeof(h->sig), sig);
	snprintf(text + n, sizeof(text) - (size_t)n, "signature %s\n", sig);
	rc = vigil_statedir_replace(file, text, strlen(text), 0644, err);
	if (rc)
		vigil_err_prefix(err, rc, "writing baseline head");
	return rc;
}

int vigil_store_head_write(const char *dir, const struct vigil_seckey *key, struct vigil_store_head *h,
			   struct vigil_err *err)
{
	struct vigil_store_head old;
	char file[PATH_MAX];
	int rc, lock;

	rc = head_file(dir, file, sizeof(file), err);
	if (rc)
		return rc;
	/* Two writers commit one after the other but write their heads after
	 * their commits: the lock and the check below keep the newer head, so
	 * the head never goes back (generation ids only grow). */
	lock = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		rc = vigil_err_set(err, -errno, "cannot lock state directory '%s': %s", dir, strerror(errno));
		goto out;
	}
	rc = vigil_store_head_read(dir, NULL, &old, NULL);
	if (rc == 0 && old.gen > h->gen) {
		*h = old;
		goto out;
	}
	/* The counter goes on from the head there is, whoever signed it: it only
	 * ever grows, so a restored old head shows as a smaller number. */
	h->counter = rc == 0 ? old.counter + 1 : 1;
	if (h->counter < (uint64_t)h->gen)
		h->counter = (uint64_t)h->gen;
	rc = head_put(file, key, h, err);
out:
	if (lock >= 0)
		close(lock);
	return rc;
}

int vigil_store_head_json(const struct vigil_store_head *h, char *out, size_t size)
{
	char dg[65];
	int n;

	vigil_hex(h->digest, sizeof(h->digest), dg);
	n = snprintf(out, size, "{\"head\":{\"generation\":%" PRId64 ",\"digest\":\"%s\",\"counter\":%" PRIu64 "}}",
		     h->gen, dg, h->counter);
	return n < 0 || (size_t)n >= size ? -EOVERFLOW : 0;
}
