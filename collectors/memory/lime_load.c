/* lime_load.c - load the LiME module, read its dump, unload it.
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
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vigil/limemod.h"

struct loader {
	int fd;
	char params[128];
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

int vigil_limemod_acquire(const char *path, const char *modname, int timeout_ms, struct vigil_lime_out *out,
			  struct vigil_limemod_run *run, struct vigil_err *err)
{
	struct loader l = { .fd = -1 };
	struct vigil_lime_tcp t = { .timeout_ms = timeout_ms, .want_digest = 1, .alive = load_ended };
	struct vigil_err ferr = { "" };
	pthread_t th;
	int rc, port;

	memset(run, 0, sizeof(*run));
	port = free_port(err);
	if (port < 0)
		return port;
	snprintf(l.params, sizeof(l.params), "format=lime localhostonly=1 path=tcp:%d digest=sha256", port);
	l.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (l.fd < 0) {
		rc = -errno;
		return vigil_err_set(err, rc, "open %s: %s", path, strerror(-rc));
	}
	rc = pthread_create(&th, NULL, load_thread, &l);
	if (rc) {
		close(l.fd);
		return vigil_err_set(err, -rc, "thread: %s", strerror(rc));
	}
	t.port = port;
	t.alive_ctx = &l;
	rc = vigil_lime_tcp_fetch(&t, out, run->lime_digest, &ferr);
	if (join_within(th, &l, port, timeout_ms)) {
		/* init still running: the module cannot be removed; say so */
		close(l.fd);
		snprintf(run->unload_error, sizeof(run->unload_error), "the module's init did not end "
			 "within %d ms: left loading", timeout_ms);
		run->loaded = 1;
		return vigil_err_set(err, -ETIMEDOUT, "finit_module %s did not return within %d ms after the "
				     "dump%s%s", path, timeout_ms, rc ? ": " : "", rc ? ferr.msg : "");
	}
	close(l.fd);
	run->load_errno = l.err;
	run->loaded = l.rc == 0;
	if (run->loaded) {
		if (syscall(SYS_delete_module, modname, O_NONBLOCK) == 0)
			run->unloaded = 1;
		else
			snprintf(run->unload_error, sizeof(run->unload_error), "delete_module %s: %s", modname,
				 strerror(errno));
	}
	if (l.rc)
		return vigil_err_set(err, -l.err, "finit_module %s: %s%s%s", path, strerror(l.err),
				     rc ? "; " : "", rc ? ferr.msg : "");
	if (rc)
		return vigil_err_set(err, rc, "%s", ferr.msg);
	if (!run->unloaded)
		return vigil_err_set(err, -EBUSY, "%s", run->unload_error);
	return 0;
}
