/* capture_journal.c - the engine's journald logs: `journalctl -o export -u
 * docker.service -u containerd.service --no-pager` as docker/engine/journal.export.
 *
 * Only on the live host, and only when journald is there (journalctl
 * installed and /run/systemd/journal or /var/log/journal present); otherwise,
 * or when journalctl fails, the manifest says so and the capture goes on.
 * journalctl's output size is not known before it ends and a tar member's
 * size comes before its bytes: the output is spooled to an unlinked file in
 * the output dir (disk, not memory: bounded by the output fs's min-free),
 * then streamed into the archive and hashed as it is written.  The entry
 * records the command line, journalctl's exit status and its stderr's start.
 *
 * journalctl is started with posix_spawn (safe in the daemon's threads),
 * stdin from /dev/null, a fixed environment.  Test knob:
 * VIGIL_TEST_JOURNAL_DIR=DIR takes DIR as the only journal location and runs
 * `journalctl -D DIR ...` (README "Evidence capture").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "capture_priv.h"

#define JBUF (256u << 10)
#define JMEMBER "docker/engine/journal.export"

struct spool {
	int out, err;         /* unlinked files in the output dir */
	uint64_t bytes;
	int cut, status;
	char errtext[256];
};

static int tmpfile_in(const char *dir)
{
	char path[4200];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd < 0 ? -errno : fd;
	snprintf(path, sizeof(path), "%s/.journal.spool.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Runs journalctl (argv) with stdout into sp->out, stderr into sp->err. */
static int run(struct cctx *x, char *const *argv, struct spool *sp, char *buf)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "SYSTEMD_PAGER=",
				      "SYSTEMD_COLORS=0", NULL };
	posix_spawn_file_actions_t fa;
	uint64_t next = 4u << 20;
	int p[2], rc, wrc = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, sp->err, 2);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc) {
		close(p[0]);
		return -rc;
	}
	for (;;) {
		ssize_t n = read(p[0], buf, JBUF);
		struct statvfs sv;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (vigil_evw_cancelled(x->w) || (wrc = write_all(sp->out, buf, (size_t)n))) {
			sp->cut = 1;
			break;
		}
		sp->bytes += (uint64_t)n;
		if (sp->bytes >= next) {
			next += 4u << 20;
			if (!fstatvfs(sp->out, &sv) && (uint64_t)sv.f_bavail * sv.f_frsize < x->r->ev.min_free) {
				sp->cut = 1;
				break;
			}
		}
	}
	if (sp->cut)
		kill(pid, SIGKILL);
	close(p[0]);
	while (waitpid(pid, &sp->status, 0) < 0 && errno == EINTR)
		;
	if (pread(sp->err, sp->errtext, sizeof(sp->errtext) - 1, 0) > 0)
		sp->errtext[strcspn(sp->errtext, "\n")] = '\0';
	return wrc;
}

/* The spool into the archive as JMEMBER. */
static int put(struct cctx *x, const char *cmdline, json_t *extra, const char *note, struct spool *sp, char *buf)
{
	struct vigil_evw_stream *s;
	struct vigil_err err = { "" };
	uint64_t off = 0;
	int rc = vigil_evw_stream_begin(x->w, JMEMBER, cmdline, sp->bytes, &s);

	while (!rc && off < sp->bytes) {
		size_t want = sp->bytes - off < JBUF ? (size_t)(sp->bytes - off) : JBUF;
		ssize_t n = pread(sp->out, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* cannot happen on our own file; stream_end pads and says so */
		rc = vigil_evw_stream_write(s, buf, (size_t)n, &err);
		off += (uint64_t)n;
	}
	if (s) {
		int rc2 = vigil_evw_stream_end(s, extra, note);

		rc = rc ? rc : rc2;
	}
	return rc;
}

static const char *journalctl_path(void)
{
	static const char *const paths[] = { "/usr/bin/journalctl", "/bin/journalctl", NULL };

	for (const char *const *p = paths; *p; p++)
		if (!access(*p, X_OK))
			return *p;
	return NULL;
}

int capture_engine_journal(struct cctx *x)
{
	const char *dir = secure_getenv("VIGIL_TEST_JOURNAL_DIR"), *jctl = journalctl_path();
	char *argv[16], cmdline[4400] = "", note[512] = "", *buf = NULL;
	struct spool sp = { .out = -1, .err = -1 };
	json_t *extra = NULL, *cmd;
	int argc = 0, rc = 0, code;

	if (!x->live)
		return vigil_evw_note(x->w, "engine: journald logs not exported: not the live host "
					    "(nothing is read live under --root; journal files are not parsed)");
	if (!jctl)
		return vigil_evw_note(x->w, "engine: journald logs not exported: journalctl is not installed");
	if (dir ? access(dir, F_OK) : access("/run/systemd/journal", F_OK) && access("/var/log/journal", F_OK))
		return vigil_evw_note(x->w, "engine: journald logs not exported: no journald here (%s absent)",
				      dir ? dir : "/run/systemd/journal and /var/log/journal");
	argv[argc++] = (char *)jctl;
	if (dir) {
		argv[argc++] = "-D";
		argv[argc++] = (char *)dir;
	}
	for (const char *const *a = (const char *const[]){ "-o", "export", "-u", "docker.service", "-u",
							   "containerd.service", "--no-pager", NULL };
	     *a; a++)
		argv[argc++] = (char *)*a;
	argv[argc] = NULL;
	cmd = json_array();
	for (int i = 0; i < argc; i++) {
		size_t l = strlen(cmdline);

		snprintf(cmdline + l, sizeof(cmdline) - l, "%s%s", i ? " " : "", argv[i]);
		json_array_append_new(cmd, json_string(argv[i]));
	}
	buf = malloc(JBUF);
	sp.out = tmpfile_in(x->r->ev.out_dir);
	sp.err = tmpfile_in(x->r->ev.out_dir);
	if (!buf || sp.out < 0 || sp.err < 0) {
		rc = vigil_evw_note(x->w, "engine: journald logs not exported: no spool file in %s: %s",
				    x->r->ev.out_dir, strerror(!buf ? ENOMEM : sp.out < 0 ? -sp.out : -sp.err));
		goto out;
	}
	if ((rc = run(x, argv, &sp, buf))) {
		rc = vigil_evw_note(x->w, "engine: journald logs not exported: %s: %s", cmdline, strerror(-rc));
		goto out;
	}
	code = WIFEXITED(sp.status) ? WEXITSTATUS(sp.status) : 128 + WTERMSIG(sp.status);
	extra = json_pack("{s:O,s:i}", "command", cmd, "exit_status", code);
	if (sp.cut)
		snprintf(note, sizeof(note), "cut after %llu bytes: %s", (unsigned long long)sp.bytes,
			 vigil_evw_cancelled(x->w) ? "capture cancelled" : "the output fs reached min-free");
	else if (code)
		snprintf(note, sizeof(note), "journalctl failed (exit status %d): %s", code, sp.errtext);
	else if (!sp.bytes)
		snprintf(note, sizeof(note), "no entries: the journal holds none of docker.service or containerd.service");
	if (code && !sp.bytes && !sp.cut)
		rc = vigil_evw_add_missing(x->w, cmdline, note);
	else
		rc = put(x, cmdline, extra, note[0] ? note : NULL, &sp, buf);
out:
	json_decref(extra);
	json_decref(cmd);
	if (sp.out >= 0)
		close(sp.out);
	if (sp.err >= 0)
		close(sp.err);
	free(buf);
	return rc;
}
