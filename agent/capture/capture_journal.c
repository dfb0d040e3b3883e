/* capture_journal.c - the engine's journald logs: `journalctl -o export -u
 * docker.service -u containerd.service --no-pager` as docker/engine/journal.export.
 *
 * Live host, when journald is there (journalctl installed and
 * /run/systemd/journal or /var/log/journal present): one journalctl reading
 * the host's journal as journald serves it.  Under --root (a mounted disk
 * image): the image's journal files (/var/log/journal/X/ and
 * /run/log/journal/X/, *.journal and *.journal~) are found through the rootfs
 * door (symlinks resolved inside the image), each opened and checked to be a
 * regular file, and handed to its own journalctl as fd 3
 * (`--file /proc/self/fd/3`): journalctl never opens a path of its own, so it
 * cannot read the host's journal nor follow a link out of the image.  One run
 * per file: a corrupt file fails alone (its exit status and stderr in a note
 * and in the entry's "files"), the others are still exported; the export
 * streams are concatenated (each entry carries its own timestamps).
 * Whatever fails, the manifest says so and the capture goes on.
 * journalctl's output size is not known before it ends and a tar member's
 * size comes before its bytes: the output is spooled to an unlinked file in
 * the output dir (disk, not memory: bounded by the output fs's min-free),
 * then streamed into the archive and hashed as it is written.
 *
 * journalctl is started with posix_spawn (safe in the daemon's threads),
 * stdin from /dev/null, a fixed environment.  Test knobs:
 * VIGIL_TEST_JOURNAL_DIR=DIR takes DIR as the only journal location of the
 * live host and runs `journalctl -D DIR ...` (ignored under --root);
 * VIGIL_TEST_JOURNALCTL=PATH takes PATH as journalctl (README "Evidence capture").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "capture_priv.h"
#include "vigil/rootfs.h"
#include "vigil/statedir.h"

#define JBUF (256u << 10)
#define JMEMBER "docker/engine/journal.export"
#define JFD 3 /* the image's journal file in journalctl: /proc/self/fd/3 */

struct spool {
	int out, err;         /* unlinked files in the output dir */
	int in;               /* >= 0: given to journalctl as fd JFD */
	uint64_t bytes;       /* in out, all runs together */
	int cut, status;      /* status: the last run's */
	char errtext[256];    /* the last run's stderr, first line */
};

/* One export: journalctl's argv (the same for every run), the spool, the buffer. */
struct job {
	struct cctx *x;
	struct spool sp;
	char *buf, *argv[16], cmdline[4400];
	json_t *cmd;
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

static int spawn(char *const *argv, struct spool *sp, int out, pid_t *pid)
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "SYSTEMD_PAGER=",
				      "SYSTEMD_COLORS=0", NULL };
	posix_spawn_file_actions_t fa;
	int in = sp->in, rc;

	/* dup2(JFD, JFD) would keep its close-on-exec flag */
	if (in == JFD && (in = fcntl(sp->in, F_DUPFD_CLOEXEC, JFD + 1)) < 0)
		return -errno;
	if (ftruncate(sp->err, 0) || lseek(sp->err, 0, SEEK_SET) < 0) {
		rc = -errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, sp->err, 2);
	if (in >= 0)
		posix_spawn_file_actions_adddup2(&fa, in, JFD);
	rc = -posix_spawn(pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
out:
	if (in != sp->in)
		close(in);
	return rc;
}

/* Runs journalctl (argv) with stdout appended to sp->out, stderr into sp->err. */
static int run(struct cctx *x, char *const *argv, struct spool *sp, char *buf)
{
	uint64_t next = (sp->bytes | ((4u << 20) - 1)) + 1;
	int p[2], rc, wrc = 0;
	pid_t pid;

	sp->errtext[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	rc = spawn(argv, sp, p[1], &pid);
	close(p[1]);
	if (rc) {
		close(p[0]);
		return rc;
	}
	for (;;) {
		ssize_t n = read(p[0], buf, JBUF);
		struct statvfs sv;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (vigil_evw_cancelled(x->w) || (wrc = vigil_write_all(sp->out, buf, (size_t)n))) {
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

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The spool into the archive as JMEMBER. */
static int put(struct job *j, json_t *extra, const char *note)
{
	struct vigil_evw_stream *s;
	struct vigil_err err = { "" };
	uint64_t off = 0;
	int rc = vigil_evw_stream_begin(j->x->w, JMEMBER, j->cmdline, j->sp.bytes, &s);

	while (!rc && off < j->sp.bytes) {
		size_t want = j->sp.bytes - off < JBUF ? (size_t)(j->sp.bytes - off) : JBUF;
		ssize_t n = pread(j->sp.out, j->buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* cannot happen on our own file; stream_end pads and says so */
		rc = vigil_evw_stream_write(s, j->buf, (size_t)n, &err);
		off += (uint64_t)n;
	}
	if (s) {
		int rc2 = vigil_evw_stream_end(s, extra, note);

		rc = rc ? rc : rc2;
	}
	return rc;
}

static int executable(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

static const char *journalctl_path(void)
{
	static const char *const paths[] = { "/usr/bin/journalctl", "/bin/journalctl", NULL };
	const char *knob = secure_getenv("VIGIL_TEST_JOURNALCTL");

	if (knob)
		return executable(knob) ? knob : NULL;
	for (const char *const *p = paths; *p; p++)
		if (executable(*p))
			return *p;
	return NULL;
}

/* argv: jctl [opt arg] -o export -u docker.service -u containerd.service --no-pager */
static int job_open(struct job *j, struct cctx *x, const char *jctl, const char *opt, const char *arg)
{
	int argc = 0;

	j->x = x;
	j->argv[argc++] = (char *)jctl;
	if (opt) {
		j->argv[argc++] = (char *)opt;
		j->argv[argc++] = (char *)arg;
	}
	for (const char *const *a = (const char *const[]){ "-o", "export", "-u", "docker.service", "-u",
							   "containerd.service", "--no-pager", NULL };
	     *a; a++)
		j->argv[argc++] = (char *)*a;
	j->argv[argc] = NULL;
	j->cmd = json_array();
	for (int i = 0; i < argc; i++) {
		size_t l = strlen(j->cmdline);

		snprintf(j->cmdline + l, sizeof(j->cmdline) - l, "%s%s", i ? " " : "", j->argv[i]);
		json_array_append_new(j->cmd, json_string(j->argv[i]));
	}
	j->buf = malloc(JBUF);
	j->sp.out = tmpfile_in(x->r->ev.out_dir);
	j->sp.err = tmpfile_in(x->r->ev.out_dir);
	return !j->buf ? -ENOMEM : j->sp.out < 0 ? j->sp.out : j->sp.err < 0 ? j->sp.err : 0;
}

static void job_close(struct job *j)
{
	json_decref(j->cmd);
	if (j->sp.out >= 0)
		close(j->sp.out);
	if (j->sp.err >= 0)
		close(j->sp.err);
	free(j->buf);
}

static const char *cut_why(struct job *j)
{
	return vigil_evw_cancelled(j->x->w) ? "capture cancelled" : "the output fs reached min-free";
}

/* The live host: one journalctl over the journal journald serves. */
static int export_live(struct job *j)
{
	json_t *extra;
	char note[512] = "";
	int rc, code;

	if ((rc = run(j->x, j->argv, &j->sp, j->buf)))
		return vigil_evw_note(j->x->w, "engine: journald logs not exported: %s: %s", j->cmdline,
				      strerror(-rc));
	code = exit_code(j->sp.status);
	if (j->sp.cut)
		snprintf(note, sizeof(note), "cut after %llu bytes: %s", (unsigned long long)j->sp.bytes, cut_why(j));
	else if (code)
		snprintf(note, sizeof(note), "journalctl failed (exit status %d): %s", code, j->sp.errtext);
	else if (!j->sp.bytes)
		snprintf(note, sizeof(note), "no entries: the journal holds none of docker.service or containerd.service");
	if (code && !j->sp.bytes && !j->sp.cut)
		return vigil_evw_add_missing(j->x->w, j->cmdline, note);
	extra = json_pack("{s:O,s:i}", "command", j->cmd, "exit_status", code);
	rc = put(j, extra, note[0] ? note : NULL);
	json_decref(extra);
	return rc;
}

/* Journal files (--engine under --root exports them, --host copies them);
 * the glob resolves each inside the root. */
const char *const capture_journal_globs[] = {
	"/var/log/journal/*/*.journal", "/var/log/journal/*/*.journal~",
	"/run/log/journal/*/*.journal", "/run/log/journal/*/*.journal~", NULL,
};

struct imagerun {
	struct job *j;
	json_t *files;        /* per file: path, size, exit_status, bytes[, stderr] or error */
	unsigned n, ok;
};

static int image_failed(struct imagerun *r, const char *path, const char *why, json_t *f)
{
	if (!f)
		f = json_pack("{s:s,s:s}", "path", path, "error", why);
	json_array_append_new(r->files, f);
	return vigil_evw_note(r->j->x->w, "engine: journal file %s not exported: %s", path, why);
}

/* One journal file of the image, opened here and given to journalctl as fd JFD.
 * Returns 1 when the spool was cut (stop), -errno on a writer failure. */
static int image_file(void *arg, const char *path)
{
	struct imagerun *r = arg;
	struct job *j = r->j;
	uint64_t before = j->sp.bytes;
	struct stat st;
	char why[400];
	int fd = vigil_rootfs_reopen_regular(vigil_rootfs_open(j->x->rootfd, path, O_PATH), &st), rc, code;
	json_t *f;

	r->n++;
	if (fd < 0)
		return image_failed(r, path, fd == -EINVAL ? "not a regular file" : strerror(-fd), NULL);
	j->sp.in = fd;
	rc = run(j->x, j->argv, &j->sp, j->buf);
	j->sp.in = -1;
	close(fd);
	if (rc && !j->sp.cut) {
		snprintf(why, sizeof(why), "journalctl: %s", strerror(-rc));
		return image_failed(r, path, why, NULL);
	}
	code = exit_code(j->sp.status);
	f = json_pack("{s:s,s:I,s:i,s:I}", "path", path, "size", (json_int_t)st.st_size, "exit_status", code,
		      "bytes", (json_int_t)(j->sp.bytes - before));
	if (j->sp.cut) {
		json_array_append_new(r->files, f);
		return 1;
	}
	if (!code) {
		r->ok++;
		return json_array_append_new(r->files, f) ? -ENOMEM : 0;
	}
	json_object_set_new(f, "stderr", json_string(j->sp.errtext));
	snprintf(why, sizeof(why), "journalctl failed (exit status %d): %s", code, j->sp.errtext);
	return image_failed(r, path, why, f);
}

/* Under --root: the image's journal files, one journalctl each; never the host's. */
static int export_image(struct job *j)
{
	struct imagerun r = { j, json_array(), 0, 0 };
	char note[512] = "";
	json_t *extra;
	int rc = 0;

	for (const char *const *p = capture_journal_globs; *p && !rc; p++)
		rc = vigil_rootfs_glob(j->x->rootfd, *p, image_file, &r);
	if (rc < 0)
		goto out;
	if (!r.n) {
		rc = vigil_evw_note(j->x->w, "engine: journald logs not exported: the image holds no journal file "
					     "(/var/log/journal/*/, /run/log/journal/*/)");
		goto out;
	}
	if (!r.ok && !j->sp.bytes && !j->sp.cut) {
		snprintf(note, sizeof(note), "not exported: none of the image's %u journal files could be read "
					     "(the notes say why)", r.n);
		rc = vigil_evw_add_missing(j->x->w, j->cmdline, note);
		goto out;
	}
	if (j->sp.cut)
		snprintf(note, sizeof(note), "cut after %llu bytes: %s", (unsigned long long)j->sp.bytes, cut_why(j));
	else if (r.ok < r.n)
		snprintf(note, sizeof(note), "exported from %u of the image's %u journal files (see files)", r.ok, r.n);
	else if (!j->sp.bytes)
		snprintf(note, sizeof(note), "no entries: the image's journal holds none of docker.service or "
					     "containerd.service");
	extra = json_pack("{s:O,s:O}", "command", j->cmd, "files", r.files);
	rc = put(j, extra, note[0] ? note : NULL);
	json_decref(extra);
out:
	json_decref(r.files);
	return rc;
}

int capture_engine_journal(struct cctx *x)
{
	const char *dir = x->live ? secure_getenv("VIGIL_TEST_JOURNAL_DIR") : NULL, *jctl = journalctl_path();
	struct job j = { .sp = { .out = -1, .err = -1, .in = -1 } };
	int rc;

	if (!jctl)
		return vigil_evw_note(x->w, "engine: journald logs not exported: journalctl is not installed%s",
				      x->live ? "" : " (the image's journal files are copied raw with --host)");
	if (x->live && (dir ? access(dir, F_OK) : access("/run/systemd/journal", F_OK) && access("/var/log/journal", F_OK)))
		return vigil_evw_note(x->w, "engine: journald logs not exported: no journald here (%s absent)",
				      dir ? dir : "/run/systemd/journal and /var/log/journal");
	if (x->live)
		rc = job_open(&j, x, jctl, dir ? "-D" : NULL, dir);
	else
		rc = job_open(&j, x, jctl, "--file", "/proc/self/fd/3");
	if (rc)
		rc = vigil_evw_note(x->w, "engine: journald logs not exported: no spool file in %s: %s",
				    x->r->ev.out_dir, strerror(-rc));
	else
		rc = x->live ? export_live(&j) : export_image(&j);
	if (rc > 0)
		rc = 0;
	job_close(&j);
	return rc;
}
