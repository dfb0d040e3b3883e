/* lime_load.c - load the LiME module, read its dump, unload it.
 *
 * Two modes.  tcp (below): LiME streams the dump to us over 127.0.0.1.
 * file (vigil_limemod_acquire_file, at the end): LiME writes the dump into a
 * file of the evidence dir itself and its digest beside it; we wait for the
 * load to return, unload, then read the file back through the output pipe.
 *
 * finit_module(2) does not return until LiME's init has written the whole
 * dump and its digest (both over TCP), so the load runs in a thread while
 * this one reads.  If reading fails half-way, LiME's init is still waiting
 * (in send, or in accept for the digest connection): we close our socket and
 * open, then close, one more connection so its init can finish, then wait
 * for the loading thread at most timeout_ms, and unload with
 * delete_module(2) whenever the module loaded: a module left loaded on a
 * suspect host is a change we must not leave behind.  What happened (loaded,
 * unloaded, errors) is returned for the record. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vigil/limemod.h"

struct loader {
	int fd;
	char params[1200]; /* a charp parameter holds at most 1024 bytes */
	atomic_int done;
	int rc, err;
};

static void *load_thread(void *arg)
{
	struct loader *l = arg;

	l->rc = (int)syscall(SYS_finit_module, l->fd, l->params, 0);
	l->err = l->rc ? errno : 0;
	atomic_store(&l->done, 1);
	return NULL;
}

static int load_ended(void *arg)
{
	return atomic_load(&((struct loader *)arg)->done);
}

/* A port free on 127.0.0.1 now (another program could take it before LiME
 * binds: LiME's bind then fails and the load reports it). */
static int free_port(struct vigil_err *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &len))
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port > 0 ? port : vigil_err_set(err, -EADDRNOTAVAIL, "no free port on 127.0.0.1");
}

/* One connection opened and closed: lets a LiME init blocked in accept go on. */
static void poke(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0) {
		connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
	}
}

static int join_within(pthread_t th, struct loader *l, int port, int timeout_ms)
{
	struct timespec ts;

	for (int waited = 0; !atomic_load(&l->done); waited += 100) {
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		poke(port);
		ts = (struct timespec){ 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
	}
	pthread_join(th, NULL);
	return 0;
}

/* After the load returned: the record, and the unload whenever it loaded. */
static void unload(const struct loader *l, const char *modname, struct vigil_limemod_run *run)
{
	run->load_errno = l->err;
	run->loaded = l->rc == 0;
	if (!run->loaded)
		return;
	if (syscall(SYS_delete_module, modname, O_NONBLOCK) == 0)
		run->unloaded = 1;
	else
		snprintf(run->unload_error, sizeof(run->unload_error), "delete_module %s: %s", modname,
			 strerror(errno));
}

/* The load, in a thread, on a loader of its own: when the load does not
 * return in time the thread is detached and the loader left to it (a few
 * bytes leaked on purpose: the thread still writes into it when, if ever,
 * the kernel returns). */
static int start_load(const char *path, const char *params, pthread_t *th, struct loader **out,
		      struct vigil_err *err)
{
	struct loader *l = calloc(1, sizeof(*l));
	sigset_t all, old;
	int rc;

	if (!l)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	snprintf(l->params, sizeof(l->params), "%s", params);
	l->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (l->fd < 0) {
		rc = -errno;
		free(l);
		return vigil_err_set(err, rc, "open %s: %s", path, strerror(-rc));
	}
	/* signals stay with the other threads: a SIGTERM for the capture must
	 * not land in the thread that sits in finit_module (LiME's init would
	 * see it pending and could cut its writes short) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(th, NULL, load_thread, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		close(l->fd);
		free(l);
		return vigil_err_set(err, -rc, "thread: %s", strerror(rc));
	}
	*out = l;
	return 0;
}

/* The load did not return: the module cannot be removed; the record says so. */
static void abandon(struct loader *l, pthread_t th, struct vigil_limemod_run *run, const char *why)
{
	close(l->fd);
	pthread_detach(th);
	snprintf(run->unload_error, sizeof(run->unload_error), "%s: left loading", why);
	run->loaded = 1;
}

int vigil_limemod_acquire(const char *path, const char *modname, int timeout_ms, struct vigil_lime_out *out,
			  struct vigil_limemod_run *run, struct vigil_err *err)
{
	struct vigil_lime_tcp t = { .timeout_ms = timeout_ms, .want_digest = 1, .alive = load_ended };
	struct vigil_err ferr = { "" };
	struct loader *l;
	char params[128];
	pthread_t th;
	int rc, port;

	memset(run, 0, sizeof(*run));
	snprintf(run->mode, sizeof(run->mode), "tcp");
	port = free_port(err);
	if (port < 0)
		return port;
	snprintf(params, sizeof(params), "format=lime localhostonly=1 path=tcp:%d digest=sha256", port);
	if ((rc = start_load(path, params, &th, &l, err)))
		return rc;
	t.port = port;
	t.alive_ctx = l;
	rc = vigil_lime_tcp_fetch(&t, out, run->lime_digest, &ferr);
	if (join_within(th, l, port, timeout_ms)) {
		abandon(l, th, run, "the module's init did not end in time");
		return vigil_err_set(err, -ETIMEDOUT, "finit_module %s did not return within %d ms after the "
				     "dump%s%s", path, timeout_ms, rc ? ": " : "", rc ? ferr.msg : "");
	}
	close(l->fd);
	unload(l, modname, run);
	if (l->rc)
		rc = vigil_err_set(err, -l->err, "finit_module %s: %s%s%s", path, strerror(l->err),
				   rc ? "; " : "", rc ? ferr.msg : "");
	else if (rc)
		rc = vigil_err_set(err, rc, "%s", ferr.msg);
	else if (!run->unloaded)
		rc = vigil_err_set(err, -EBUSY, "%s", run->unload_error);
	free(l);
	return rc;
}

/* ---- file mode: LiME writes FILE and FILE.sha256 itself ---- */

/* What a module parameter can carry: an absolute path of at most 1000 bytes
 * without blanks, quotes or control bytes (the kernel splits parameters on
 * blanks and strips quotes; LiME opens the path as given, as root). */
static int param_path_ok(const char *file, struct vigil_err *err)
{
	if (file[0] != '/')
		return vigil_err_set(err, -EINVAL, "'%s': LiME's path must be absolute", file);
	if (strlen(file) > 1000)
		return vigil_err_set(err, -ENAMETOOLONG, "'%s': too long for a module parameter", file);
	for (const unsigned char *p = (const unsigned char *)file; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '\'' || *p == 0x7f)
			return vigil_err_set(err, -EINVAL, "'%s': a blank, quote or control byte cannot be "
					     "passed to LiME as a path", file);
	return 0;
}

/* Waits for the load, watching the file grow: timeout_ms without a byte
 * written is a timeout (the dump of a large machine takes as long as it takes). */
static int wait_file(struct loader *l, pthread_t th, const char *file, int timeout_ms)
{
	struct timespec ts;
	off_t last = -1;
	struct stat st;

	for (int idle = 0; !atomic_load(&l->done); idle += 100) {
		if (!stat(file, &st) && st.st_size != last) {
			last = st.st_size;
			idle = 0;
		}
		if (idle >= timeout_ms)
			return -ETIMEDOUT;
		ts = (struct timespec){ 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
	}
	pthread_join(th, NULL);
	return 0;
}

/* LiME's digest file: 64 hex digits (no newline).  Removed once read: the
 * record keeps the digest, and FILE.sha256 is ours (sha256sum's format). */
static int read_lime_digest(const char *dfile, char hex[65], struct vigil_err *err)
{
	char buf[80];
	int fd = open(dfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	int e = errno;

	if (fd >= 0)
		close(fd);
	unlink(dfile);
	if (n < 0)
		return vigil_err_set(err, -e, "LiME's digest %s: %s", dfile, strerror(e));
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
		n--;
	buf[n] = '\0';
	if (n != 64 || strspn(buf, "0123456789abcdef") != 64)
		return vigil_err_set(err, -EPROTO, "LiME's digest %s: %zd bytes, not 64 lower-case hex digits%s",
				     dfile, n, n ? "" : " (LiME could not write it)");
	memcpy(hex, buf, 65);
	return 0;
}

/* FILE read back through the pipe: our SHA-256 and the validator. */
static int read_dump(const char *file, struct vigil_lime_out *out, struct vigil_err *err)
{
	enum { BUF = 1 << 20 };
	unsigned char *buf = malloc(BUF);
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;
	struct stat st;

	if (!buf || fd < 0) {
		rc = fd < 0 ? -errno : -ENOMEM;
		vigil_err_set(err, rc, "read back %s: %s", file, strerror(-rc));
		goto out;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		rc = vigil_err_set(err, -EINVAL, "read back %s: not a regular file", file);
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		ssize_t n = read(fd, buf, BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = vigil_err_set(err, -errno, "read back %s: %s", file, strerror(errno));
			break;
		}
		if (n == 0 || (rc = vigil_lime_out_raw(out, buf, (size_t)n, err)))
			break;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

int vigil_limemod_acquire_file(const char *path, const char *modname, const char *file, int timeout_ms,
			       struct vigil_lime_out *out, struct vigil_limemod_run *run, struct vigil_err *err)
{
	char dfile[1100], params[1100];
	struct loader *l;
	pthread_t th;
	int rc, dfd;

	memset(run, 0, sizeof(*run));
	snprintf(run->mode, sizeof(run->mode), "file");
	if ((rc = param_path_ok(file, err)))
		return rc;
	snprintf(dfile, sizeof(dfile), "%s.sha256", file);
	/* ours before LiME opens it (O_CREAT|O_TRUNC, following links): a name
	 * planted in the evidence dir is refused, never written through */
	dfd = open(dfile, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dfd < 0) {
		rc = -errno;
		return vigil_err_set(err, rc, "create %s: %s", dfile, strerror(-rc));
	}
	close(dfd);
	snprintf(params, sizeof(params), "format=lime path=%s digest=sha256", file);
	if ((rc = start_load(path, params, &th, &l, err))) {
		unlink(dfile);
		return rc;
	}
	if (wait_file(l, th, file, timeout_ms)) {
		abandon(l, th, run, "the module's init did not end in time");
		return vigil_err_set(err, -ETIMEDOUT, "finit_module %s: %s stopped growing for %d ms and the "
				     "load did not return", path, file, timeout_ms);
	}
	close(l->fd);
	unload(l, modname, run);
	if (l->rc) {
		unlink(dfile);
		rc = vigil_err_set(err, -l->err, "finit_module %s: %s", path, strerror(l->err));
		free(l);
		return rc;
	}
	free(l);
	rc = read_lime_digest(dfile, run->lime_digest, err);
	if (!rc)
		rc = read_dump(file, out, err);
	if (!rc && !run->unloaded)
		rc = vigil_err_set(err, -EBUSY, "%s", run->unload_error);
	return rc;
}
