/* evw_close.c - `vigil cases --close SEQ --why TEXT`: an interrupted capture
 * that no sweep can close, closed by hand with a `failed` record.
 *
 * The sweep (evw_recover.c) closes an open capture from what it finds in the
 * dir the capture wrote into; when that dir is gone for good (the media lost,
 * the dir removed) the capture would stay open forever.  An examiner closes it
 * here, saying why.  Only such a capture: not one still running, nor one
 * whose dir is there (the sweep decides that one from its files, so the two
 * never both write an outcome).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "evw_priv.h"
#include "vigil/capture.h"

/* 1 when a sweep can close x: its output dir is there and is the one it
 * wrote into, or (an older record naming no dir) one of its files is there. */
static int sweepable(const struct evw_pending *x, char *dir, size_t len)
{
	const char *slash = strrchr(x->tmp, '/');
	char final[PATH_MAX];
	struct stat st;

	if (x->tmp[0] != '/' || !slash)
		return 0;
	snprintf(dir, len, "%.*s", (int)(slash - x->tmp), x->tmp);
	if (stat(dir[0] ? dir : "/", &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (x->has_dir)
		return (uint64_t)st.st_dev == x->dir_dev && (uint64_t)st.st_ino == x->dir_ino;
	return !lstat(x->tmp, &st) || (!evw_pending_final(x, final, sizeof(final)) && !lstat(final, &st));
}

static int close_one(const char *state_dir, const struct evw_pending *x, const char *why, struct vigil_err *err)
{
	char dir[PATH_MAX], msg[2048], login[256];

	if (evw_pending_live(x))
		return vigil_err_set(err, -EBUSY, "capture %" PRIu64 " (case %s) is running: its writer holds its "
				     "archive", x->seq, x->case_id);
	if (sweepable(x, dir, sizeof(dir)))
		return vigil_err_set(err, -EEXIST, "capture %" PRIu64 " (case %s): its output dir '%s' is there: "
				     "`vigil cases --sweep` closes it from what it finds", x->seq, x->case_id, dir);
	snprintf(msg, sizeof(msg), "closed by hand: %s", why);
	return evw_pending_append(state_dir, x, "failed",
				  json_pack("{s:s,s:s,s:s,s:s}", "archive", x->archive, "tmp", x->tmp, "error", msg,
					    "closed_by", evw_login_name(login, sizeof(login))),
				  err);
}

int vigil_evw_close(const char *state_dir, uint64_t seq, const char *why, struct vigil_err *err)
{
	struct evw_pendings p;
	int rc = evw_pendings_load(state_dir, &p, err);
	size_t i;

	if (rc)
		return rc;
	for (i = 0; i < p.n && p.v[i].seq != seq; i++)
		;
	if (i == p.n)
		rc = vigil_err_set(err, -ENOENT, "no open capture has acquired_seq %" PRIu64 " (`vigil cases --json` "
				   "lists the open ones with theirs)", seq);
	else
		rc = close_one(state_dir, &p.v[i], why, err);
	evw_pendings_free(&p);
	return rc;
}
