/* statewatch.c - an inotify watch on the daemon's state dir and a fresh
 * verification of the newest generation (see statewatch.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "vigil/statewatch.h"
#include "vigil/store.h"

/* What changes content or which file is there.  Not IN_CLOSE_WRITE: SQLite
 * opens -wal read-write even for a reader, so closing it says nothing.  Not
 * IN_ATTRIB on the database's own files: SQLite running as root fchown()s
 * the -wal at every open, the daemon's own reads included. */
#define MASK (IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | \
	      IN_MOVE_SELF)

struct vigil_statewatch {
	struct vigil_loop *loop;
	struct vigil_loop_timer *quiet;
	int fd, quiet_ms;
	vigil_statewatch_fn fn;
	void *ctx;
	unsigned long long changes;
};

static int ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && !memcmp(s + n - k, suffix, k);
}

static int ignored(const struct inotify_event *ev)
{
	size_t n = ev->len ? strlen(ev->name) : 0;

	if (ends_with(ev->name, n, "-shm"))
		return 1;
	return (ev->mask & IN_ATTRIB) && n && !strncmp(ev->name, VIGIL_STORE_FILE, strlen(VIGIL_STORE_FILE));
}

static void on_readable(struct vigil_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct vigil_statewatch *sd = ctx;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int seen = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			/* An overflow may hide anything: counted as a change. */
			if ((ev->mask & IN_Q_OVERFLOW) || (!(ev->mask & IN_IGNORED) && !ignored(ev)))
				seen = 1;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (!seen)
		return;
	sd->changes++;
	/* Pushed back by every change: a baseline being written is verified once. */
	vigil_loop_timer_arm(sd->quiet, (uint64_t)sd->quiet_ms, 0);
}

static void on_quiet(struct vigil_loop_timer *t, uint64_t n, void *ctx)
{
	struct vigil_statewatch *sd = ctx;

	sd->fn(sd->ctx);
}

int vigil_statewatch_new(struct vigil_loop *loop, const char *dir, int quiet_ms, vigil_statewatch_fn fn, void *ctx,
		       struct vigil_statewatch **out, struct vigil_err *err)
{
	struct vigil_statewatch *sd = calloc(1, sizeof(*sd));
	int rc;

	*out = NULL;
	if (!sd)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	sd->loop = loop;
	sd->fn = fn;
	sd->ctx = ctx;
	sd->quiet_ms = quiet_ms > 0 ? quiet_ms : 1;
	sd->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (sd->fd < 0) {
		rc = vigil_err_set(err, -errno, "state dir '%s': inotify: %s", dir, strerror(errno));
		goto fail;
	}
	if (inotify_add_watch(sd->fd, dir, MASK | IN_ONLYDIR | IN_DONT_FOLLOW) < 0) {
		rc = vigil_err_set(err, -errno, "state dir '%s': cannot watch it: %s", dir, strerror(errno));
		goto fail;
	}
	rc = vigil_loop_timer_new(loop, CLOCK_MONOTONIC, on_quiet, sd, &sd->quiet);
	if (!rc)
		rc = vigil_loop_add(loop, sd->fd, EPOLLIN, on_readable, sd);
	if (rc) {
		vigil_err_set(err, rc, "state dir '%s': %s", dir, strerror(-rc));
		goto fail;
	}
	*out = sd;
	return 0;
fail:
	vigil_statewatch_free(sd);
	return rc;
}

void vigil_statewatch_free(struct vigil_statewatch *sd)
{
	if (!sd)
		return;
	if (sd->quiet)
		vigil_loop_timer_free(sd->quiet);
	if (sd->fd >= 0) {
		vigil_loop_del(sd->loop, sd->fd);
		close(sd->fd);
	}
	free(sd);
}

unsigned long long vigil_statewatch_changes(const struct vigil_statewatch *sd)
{
	return sd ? sd->changes : 0;
}
