/* evw_seal.c - the evidence writer's end: the custody ledger's records of a
 * capture, then the seal (trigger.json, MANIFEST.json and the ledger's
 * acquired..sealed stretch as custody.jsonl), the archive's signature and
 * digest file, and the renames that put the three in place, the archive last.
 * The writer's open, output path and free are evw.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>

#include "evw_priv.h"
#include "vigil/sign.h"
#include "vigil/statedir.h"

int evw_ledger(struct vigil_evw *w, json_t *rec, char **line, struct vigil_err *err)
{
	char *text;
	int rc;

	json_object_set_new(rec, "case", json_string(w->case_id));
	json_object_set_new(rec, "examiner", json_string(w->examiner));
	if (w->acquired) /* the record this one is about (evw_sweep.c pairs them) */
		json_object_set_new(rec, "acquired_seq", json_integer((json_int_t)evw_seq_of(w->acquired)));
	text = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	if (!text)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	rc = vigil_custody_append(w->o.state_dir, text, line, err);
	free(text);
	return rc;
}

/* rename() that never replaces: evidence is never overwritten (EEXIST). */
static int install(const char *from, const char *to)
{
	return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}

/* The archive's companions under temporary names: NAME.minisig and NAME.sha256. */
static int sign(struct vigil_evw *w, const char *hex, struct vigil_err *err)
{
	struct vigil_seckey *key = NULL;
	unsigned char b2[64];
	char comment[512], *line = NULL, sumtmp[PATH_MAX], sumfile[PATH_MAX];
	int rc;

	snprintf(comment, sizeof(comment), "vigil evidence case:%s file:%s sha256:%s", w->case_id, w->name, hex);
	if ((rc = vigil_seckey_load(w->o.state_dir, &key, err)))
		return rc;
	/* the archive's BLAKE2b-512 (minisign's prehash) was taken as its bytes were written */
	vigil_digest_read(w->bd, VIGIL_ALGO_BLAKE2B512, b2);
	rc = vigil_minisign_file_hashed(key, w->tmp, b2, comment, err);
	vigil_seckey_free(key);
	if (rc)
		return rc;
	snprintf(sumfile, sizeof(sumfile), "%s.sha256", w->final);
	if (asprintf(&line, "%s  %s\n", hex, w->name) < 0)
		return -ENOMEM;
	rc = vigil_statedir_write_tmp(sumfile, line, strlen(line), 0644, sumtmp, sizeof(sumtmp), err);
	free(line);
	if (rc)
		return rc;
	/* companions first: the archive's final name appears last, complete */
	snprintf(sumfile, sizeof(sumfile), "%s.sha256", w->final);
	if (install(sumtmp, sumfile) < 0) {
		unlink(sumtmp);
		return vigil_err_set(err, -errno, "cannot install '%s': %s", sumfile, strerror(errno));
	}
	snprintf(sumtmp, sizeof(sumtmp), "%s.minisig", w->tmp);
	snprintf(comment, sizeof(comment), "%s.minisig", w->final);
	w->installed |= 1;
	if (install(sumtmp, comment) < 0) {
		rc = vigil_err_set(err, -errno, "cannot install '%s': %s", comment, strerror(errno));
		unlink(sumtmp);
		return rc;
	}
	w->installed |= 2;
	return 0;
}

static int seal(struct vigil_evw *w, char seal_hex[65], struct vigil_err *err)
{
	unsigned char d[32];
	char *sealed = NULL, *custody = NULL;
	size_t len = 0;
	json_t *rec;
	int rc;

	if ((rc = evw_put(w, "trigger.json", w->trigger, strlen(w->trigger), d)))
		return rc;
	vigil_hex(d, 32, seal_hex);
	if ((rc = evw_entry(w, "file", "trigger.json", NULL, 0, NULL, NULL, seal_hex, strlen(w->trigger), NULL, NULL,
			    0)))
		return rc;
	if ((rc = evw_write_manifest(w, seal_hex)))
		return rc;
	rec = json_pack("{s:s,s:s,s:s,s:I}", "action", "sealed", "archive", w->name, "seal", seal_hex,
			"members", (json_int_t)w->members);
	if ((rc = evw_ledger(w, rec, &sealed, err)))
		return evw_fail(w, rc, "%s", err->msg);
	/* the acquired..sealed stretch of the ledger, as it is there */
	rc = vigil_custody_segment(w->o.state_dir, evw_seq_of(w->acquired), evw_seq_of(sealed), &custody, &len, err);
	free(sealed);
	if (rc)
		return evw_fail(w, rc, "%s", err->msg);
	rc = evw_put(w, "custody.jsonl", custody, len, NULL);
	free(custody);
	return rc;
}

int vigil_evw_finish(struct vigil_evw *w, struct vigil_evw_result *res, struct vigil_err *err)
{
	unsigned char d[32];
	char hex[65], seal_hex[65];
	json_t *rec;
	int rc;

	memset(res, 0, sizeof(*res));
	if (w->failed)
		return vigil_err_set(err, w->failed, "%s", w->error);
	if (vigil_evw_cancelled(w))
		return vigil_err_set(err, evw_fail(w, -ECANCELED, "capture cancelled"), "capture cancelled");
	if ((rc = seal(w, seal_hex, err)))
		return vigil_err_set(err, rc, "%s", w->error);
	if (archive_write_close(w->a) != ARCHIVE_OK && !w->failed)
		evw_arch_err(w, "closing the archive");
	if (w->failed)
		return vigil_err_set(err, w->failed, "%s", w->error);
	if (fsync(w->fd) < 0)
		return vigil_err_set(err, evw_fail(w, -errno, "fsync '%s': %s", w->tmp, strerror(errno)), "%s",
				     w->error);
	evw_ahash_flush(w);
	vigil_hasher_sync(w->ahasher);
	vigil_hasher_sync(w->bhasher);
	vigil_digest_read(w->ad, VIGIL_ALGO_SHA256, d);
	vigil_hex(d, 32, hex);
	if ((rc = sign(w, hex, err)) || install(w->tmp, w->final) < 0) {
		char companion[PATH_MAX];

		if (!rc)
			rc = vigil_err_set(err, -errno, "cannot rename '%s' to '%s': %s", w->tmp, w->final,
					   strerror(errno));
		/* no signature or digest file of ours may stand for an archive that is not there */
		snprintf(companion, sizeof(companion), "%s.sha256", w->final);
		if (w->installed & 1)
			unlink(companion);
		snprintf(companion, sizeof(companion), "%s.minisig", w->final);
		if (w->installed & 2)
			unlink(companion);
		evw_fail(w, rc, "%s", err->msg);
		return rc;
	}
	w->tmp[0] = '\0';
	w->finished = 1;
	vigil_statedir_sync_dir(w->final);
	if (getenv("VIGIL_TEST_STOP_AFTER_RENAME")) /* tests: renamed, no `archived` record yet */
		raise(SIGSTOP);
	snprintf(res->path, sizeof(res->path), "%s", w->final);
	memcpy(res->sha256, hex, sizeof(hex));
	memcpy(res->seal, seal_hex, sizeof(seal_hex));
	res->members = w->members;
	res->entries = w->entries;
	res->bytes = w->written;
	res->problems = w->problems;
	rec = json_pack("{s:s,s:s,s:s,s:s}", "action", "archived", "archive", w->final, "sha256", hex, "seal",
			seal_hex);
	return evw_ledger(w, rec, NULL, err);
}
