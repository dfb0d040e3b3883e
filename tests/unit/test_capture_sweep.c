/* test_capture_sweep.c - the sweep of interrupted captures
 * (agent/capture/evw_sweep.c): eight sweepers forked at once on stale
 * temporary archives remove them and append exactly one `failed` record each
 * (the interleaving where a sweeper gets the lock after another unlinked the
 * file is not forced: st_nlink guards it, untested here); a temporary file
 * whose writer holds its lock is left alone (no record, `cases` says running);
 * an older record with no "tmp" is paired by the archive's name; files that
 * only look alike are left alone; `cases` lists an acquired record with no
 * outcome as interrupted.  test_ledger: the ledger's sweep (below). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/capture.h"
#include "vigil/crypto.h"

static char base[] = "/tmp/vigil-sweep.XXXXXX";
static char state[256], out[256];

static int setup(void **st)
{
	(void)st;
	if (!mkdtemp(base))
		return -1;
	snprintf(state, sizeof(state), "%s/state", base);
	snprintf(out, sizeof(out), "%s/out", base);
	return mkdir(state, 0700) || mkdir(out, 0700) || vigil_crypto_init(NULL) ? -1 : 0;
}

static int teardown(void **st)
{
	char cmd[PATH_MAX + 16];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) ? -1 : 0;
}

/* path of out/NAME, created empty */
static void touch(const char *name, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "%s/%s", out, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static void acquired(const char *case_id, const char *archive, const char *tmp)
{
	struct vigil_err err = { "" };
	char rec[2048];

	if (tmp)
		snprintf(rec, sizeof(rec), "{\"action\":\"acquired\",\"case\":\"%s\",\"archive\":\"%s\",\"tmp\":\"%s\"}",
			 case_id, archive, tmp);
	else
		snprintf(rec, sizeof(rec), "{\"action\":\"acquired\",\"case\":\"%s\",\"archive\":\"%s\"}", case_id,
			 archive);
	assert_int_equal(vigil_custody_append(state, rec, NULL, &err), 0);
}

/* count of ledger lines holding every one of the strings a and b */
static int lines_with(const char *a, const char *b)
{
	char path[PATH_MAX + 32], line[4096];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", state, VIGIL_CUSTODY_FILE);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, a) && (!b || strstr(line, b));
	fclose(f);
	return n;
}

static char *cases(void)
{
	static char buf[16384];
	struct vigil_err err = { "" };
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	assert_non_null(f);
	assert_int_equal(vigil_custody_cases(state, f, 0, &err), 0);
	fclose(f);
	return buf;
}

static void test_sweep(void **st)
{
	struct vigil_err err = { "" };
	char stale[PATH_MAX], live[PATH_MAX], old[PATH_MAX], p[PATH_MAX];
	unsigned n = 0, total = 0;
	int lfd;

	(void)st;
	/* a stale one, named by its acquired record's tmp */
	touch(".S-h-1.tar.zst.tmp.AbCdEf", stale, sizeof(stale));
	acquired("S", "S-h-1.tar.zst", stale);
	touch(".S-h-1.tar.zst.tmp.AbCdEf.minisig", p, sizeof(p));
	touch("S-h-1.tar.zst.sha256.tmp-0123456789ab", p, sizeof(p));
	/* a running one: its writer holds the lock */
	touch(".L-h-1.tar.zst.tmp.GhIjKl", live, sizeof(live));
	acquired("L", "L-h-1.tar.zst", live);
	lfd = open(live, O_RDWR);
	assert_true(lfd >= 0);
	assert_int_equal(flock(lfd, LOCK_EX), 0);
	touch("L-h-1.tar.zst.sha256.tmp-0123456789ab", p, sizeof(p));
	/* an older vigil's record: no tmp, paired by the name */
	touch(".O-h-1.tar.gz.tmp.MnOpQr", old, sizeof(old));
	acquired("O", "O-h-1.tar.gz", NULL);
	/* look-alikes, not ours */
	touch(".notes.tmp.abc", p, sizeof(p));
	touch("notes.sha256.tmp-1", p, sizeof(p));
	touch(".x.tmp.abcdef.other", p, sizeof(p));
	assert_non_null(strstr(cases(), "S\t"));
	assert_non_null(strstr(cases(), "\tinterrupted\tS-h-1.tar.zst\tinterrupted: no seal or failure recorded\n"));
	assert_non_null(strstr(cases(), "\trunning\tL-h-1.tar.zst\t"));

	/* eight sweepers at once */
	for (int i = 0; i < 8; i++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (!pid) {
			struct vigil_err e = { "" };

			close(lfd); /* the writer is the parent alone */
			_exit(vigil_evw_sweep(state, out, NULL, NULL, &n, &e) ? 100 : (int)n);
		}
	}
	for (int i = 0; i < 8; i++) {
		int status;

		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) < 100);
		total += (unsigned)WEXITSTATUS(status);
	}
	assert_int_equal(total, 2); /* S and O, once each */
	assert_int_equal(lines_with("\"action\":\"failed\"", NULL), 2);
	assert_int_equal(lines_with("\"action\":\"failed\"", "\"case\":\"S\""), 1);
	assert_int_equal(lines_with("\"action\":\"failed\"", "\"case\":\"O\""), 1);
	assert_int_equal(lines_with("interrupted: found unfinished at ", "temporary removed"), 2);
	assert_int_equal(access(stale, F_OK), -1);
	assert_int_equal(access(old, F_OK), -1);
	snprintf(p, sizeof(p), "%s/.S-h-1.tar.zst.tmp.AbCdEf.minisig", out);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/S-h-1.tar.zst.sha256.tmp-0123456789ab", out);
	assert_int_equal(access(p, F_OK), -1);
	/* the running capture's files stay */
	assert_int_equal(access(live, F_OK), 0);
	snprintf(p, sizeof(p), "%s/L-h-1.tar.zst.sha256.tmp-0123456789ab", out);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_equal(lines_with("\"action\":\"failed\"", "\"case\":\"L\""), 0);
	/* the look-alikes stay */
	snprintf(p, sizeof(p), "%s/.notes.tmp.abc", out);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/notes.sha256.tmp-1", out);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/.x.tmp.abcdef.other", out);
	assert_int_equal(access(p, F_OK), 0);
	assert_non_null(strstr(cases(), "\tfailed\tS-h-1.tar.zst\tinterrupted: found unfinished at "));
	assert_null(strstr(cases(), "\tinterrupted\t"));

	/* again: nothing more; the writer gone, its file is swept */
	assert_int_equal(vigil_evw_sweep(state, out, NULL, NULL, &n, &err), 0);
	assert_int_equal(n, 0);
	close(lfd);
	assert_non_null(strstr(cases(), "\tinterrupted\tL-h-1.tar.zst\t"));
	assert_int_equal(vigil_evw_sweep(state, out, NULL, NULL, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(access(live, F_OK), -1);
	assert_int_equal(lines_with("\"action\":\"failed\"", "\"case\":\"L\""), 1);
	assert_int_equal(vigil_custody_verify(state, NULL, &err), 0);
}

/* An `acquired` record (and a `sealed` one) of case c writing into dir d,
 * with d's identity as the writer records it (tmp: d/.ARCHIVE.tmp.ZzZzZz). */
static void opened(const char *c, const char *d, int sealed)
{
	struct vigil_err err = { "" };
	char rec[2048];
	struct stat st;
	int seq;

	if (stat(d, &st))
		memset(&st, 0, sizeof(st));
	snprintf(rec, sizeof(rec), "{\"action\":\"acquired\",\"case\":\"%s\",\"archive\":\"%s-h.tar.zst\","
		 "\"tmp\":\"%s/.%s-h.tar.zst.tmp.ZzZzZz\",\"dir_dev\":%llu,\"dir_ino\":%llu}", c, c, d, c,
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	assert_int_equal(vigil_custody_append(state, rec, NULL, &err), 0);
	seq = lines_with("\"action\"", NULL);
	snprintf(rec, sizeof(rec), "{\"action\":\"sealed\",\"case\":\"%s\",\"archive\":\"%s-h.tar.zst\","
		 "\"acquired_seq\":%d,\"seal\":\"%064d\"}", c, c, seq, 7);
	if (sealed)
		assert_int_equal(vigil_custody_append(state, rec, NULL, &err), 0);
}

/* The ledger's sweep (evw_recover.c): eight sweepers at once close a capture
 * whose files are both gone with exactly one `failed` record (the dir's
 * lock); a temporary archive in a dir other than the one given is removed
 * (every dir the open captures name is visited); a dir that is not there,
 * or is another one than the capture wrote into, is reported and the
 * capture left open, no dir created. */
static void test_ledger(void **st)
{
	struct vigil_evw_sweep_counts c;
	struct vigil_err err = { "" };
	char o2[PATH_MAX], o3[PATH_MAX], o4[PATH_MAX], p[PATH_MAX + 64];
	int fd;

	(void)st;
	snprintf(o2, sizeof(o2), "%s/o2", base);
	snprintf(o3, sizeof(o3), "%s/o3", base);
	snprintf(o4, sizeof(o4), "%s/o4", base);
	assert_int_equal(mkdir(o2, 0700), 0);
	assert_int_equal(mkdir(o4, 0700), 0);
	opened("GONE", out, 1);         /* neither file in out */
	opened("OTHER", o2, 0);         /* its stale temporary archive in o2 */
	snprintf(p, sizeof(p), "%s/.OTHER-h.tar.zst.tmp.ZzZzZz", o2);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	opened("NOTHERE", o3, 0);       /* o3 does not exist */
	opened("MOVED", o4, 1);         /* o4 replaced by another dir (unmounted media) */
	snprintf(p, sizeof(p), "%s.away", o4);
	assert_int_equal(rename(o4, p), 0);
	assert_int_equal(mkdir(o4, 0700), 0);

	for (int i = 0; i < 8; i++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (!pid) {
			struct vigil_err e = { "" };

			_exit(vigil_evw_sweep_ledger(state, NULL, VIGIL_EVW_SWEEP_ARCHIVES, NULL, NULL, &c, &e) ? 1 : 0);
		}
	}
	for (int i = 0; i < 8; i++) {
		int status;

		assert_true(wait(&status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(lines_with("\"action\":\"failed\"", "\"case\":\"GONE\""), 1);
	assert_int_equal(lines_with("\"case\":\"GONE\"", "interrupted after its seal: neither its archive nor"), 1);
	assert_int_equal(lines_with("\"action\":\"failed\"", "\"case\":\"OTHER\""), 1);
	assert_int_equal(lines_with("\"case\":\"OTHER\"", "temporary removed"), 1);
	snprintf(p, sizeof(p), "%s/.OTHER-h.tar.zst.tmp.ZzZzZz", o2);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(lines_with("\"action\":\"failed\"", "\"case\":\"NOTHERE\""), 0);
	assert_int_equal(lines_with("\"action\":\"failed\"", "\"case\":\"MOVED\""), 0);
	assert_int_equal(access(o3, F_OK), -1); /* never created */

	/* once more, in this process: what is left open is said, nothing recorded */
	assert_int_equal(vigil_evw_sweep_ledger(state, NULL, VIGIL_EVW_SWEEP_ARCHIVES, NULL, NULL, &c, &err), 0);
	assert_int_equal(c.failed + c.archived + c.removed, 0);
	assert_int_equal(c.skipped, 2);
	assert_non_null(strstr(cases(), "NOTHERE\t"));
	assert_non_null(strstr(cases(), "\tinterrupted\tMOVED-h.tar.zst\tinterrupted: sealed, but no archive"));
	/* o4 back in place: MOVED is closed, its archive gone */
	assert_int_equal(rmdir(o4), 0);
	snprintf(p, sizeof(p), "%s.away", o4);
	assert_int_equal(rename(p, o4), 0);
	assert_int_equal(vigil_evw_sweep_ledger(state, NULL, 0, NULL, NULL, &c, &err), 0);
	assert_int_equal(c.failed, 1);
	assert_int_equal(lines_with("\"action\":\"failed\"", "\"case\":\"MOVED\""), 1);
	assert_int_equal(vigil_custody_verify(state, NULL, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_ledger),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
