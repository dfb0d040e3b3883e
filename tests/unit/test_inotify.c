/* test_inotify.c - the recursive watcher on real temp trees: new directories,
 * renames paired by cookie, moves in and out, roots deleted and recreated,
 * glob and file roots. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/inotify.h"

struct rec {
	int kind;
	char path[512];
	char from[512];
};

struct ctx {
	struct rec ev[4096];
	size_t n;
	char exclude[512];
	char top[256];
};

static void on_ev(void *arg, const struct vigil_inotify_ev *ev)
{
	struct ctx *c = arg;

	if (c->n == 4096)
		return;
	c->ev[c->n].kind = ev->kind;
	snprintf(c->ev[c->n].path, sizeof(c->ev[0].path), "%s", ev->path);
	snprintf(c->ev[c->n].from, sizeof(c->ev[0].from), "%s", ev->from ? ev->from : "");
	c->n++;
}

static int filter(void *arg, const char *path, size_t len)
{
	struct ctx *c = arg;

	return !c->exclude[0] || strcmp(path, c->exclude) != 0;
}

/* Reads events until none came for 100 ms. */
static void pump(struct vigil_inotify *w)
{
	struct pollfd p = { vigil_inotify_fd(w), POLLIN, 0 };

	while (poll(&p, 1, 100) > 0)
		assert_int_equal(vigil_inotify_process(w), 0);
	vigil_inotify_flush(w);
}

static int seen(const struct ctx *c, int kind, const char *fmt, ...)
{
	char want[512];
	va_list ap;
	int count = 0;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < c->n; i++)
		if (c->ev[i].kind == kind && !strcmp(c->ev[i].path, want))
			count++;
	return count;
}

static void touch(const char *fmt, ...)
{
	char p[512];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	snprintf(c->top, sizeof(c->top), "/tmp/vigil-inotify-XXXXXX");
	assert_non_null(mkdtemp(c->top));
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	sh("rm -rf '%s'", c->top);
	free(c);
	return 0;
}

static struct vigil_inotify *start(struct ctx *c, const char *root)
{
	struct vigil_inotify *w;
	struct vigil_err err;

	assert_int_equal(vigil_inotify_new(on_ev, filter, c, &w, &err), 0);
	assert_int_equal(vigil_inotify_add_root(w, root, 0, &err), 0);
	c->n = 0;
	return w;
}

static void test_tree_and_new_dirs(void **state)
{
	struct ctx *c = *state;
	struct vigil_inotify_stats st;
	struct vigil_inotify *w;
	char root[300];

	snprintf(root, sizeof(root), "%s/r", c->top);
	sh("mkdir -p %s/a/b %s/x && echo 1 > %s/a/b/f", root, root, root);
	w = start(c, root);
	vigil_inotify_stats(w, &st);
	assert_int_equal(st.watches, 4 + 1); /* r a b x, plus the sentinel on top */

	touch("%s/a/b/f", root);
	/* A directory tree made at once: files inside exist before any watch. */
	sh("mkdir -p %s/n1/n2/n3 && echo x > %s/n1/n2/n3/deep", root, root);
	pump(w);
	assert_true(seen(c, VIGIL_INOTIFY_PATH, "%s/a/b/f", root) >= 1);
	assert_true(seen(c, VIGIL_INOTIFY_PATH, "%s/n1", root) >= 1);
	assert_true(seen(c, VIGIL_INOTIFY_PATH, "%s/n1/n2/n3/deep", root) >= 1);

	c->n = 0;
	touch("%s/n1/n2/n3/later", root);
	sh("rm -f %s/a/b/f", root);
	pump(w);
	assert_true(seen(c, VIGIL_INOTIFY_PATH, "%s/n1/n2/n3/later", root) >= 1);
	assert_true(seen(c, VIGIL_INOTIFY_PATH, "%s/a/b/f", root) >= 1);
	vigil_inotify_stats(w, &st);
	assert_int_equal(st.watches, 7 + 1);

	/* rm -r: the watches go away with the directories. */
	sh("rm -rf %s/n1", root);
	pump(w);
	vigil_inotify_stats(w, &st);
	assert_int_equal(st.watches, 4 + 1);
	vigil_inotify_free(w);
}

static void test_renames(void **state)
{
	struct ctx *c = *state;
	struct vigil_inotify_stats st;
	struct vigil_inotify *w;
	char root[300];

	snprintf(root, sizeof(root), "%s/r", c->top);
	sh("mkdir -p %s/d1/sub %s/out && echo 1 > %s/f && echo 2 > %s/d1/sub/g", root, c->top, root, root);
	w = start(c, root);

	sh("mv %s/f %s/f2", root, root);
	pump(w);
	for (size_t i = 0;; i++) {
		assert_true(i < c->n);
		if (c->ev[i].kind == VIGIL_INOTIFY_RENAME) {
			assert_true(strstr(c->ev[i].from, "/r/f") != NULL);
			assert_true(strstr(c->ev[i].path, "/r/f2") != NULL);
			break;
		}
	}
	assert_true(seen(c, VIGIL_INOTIFY_PATH, "%s/f", root) >= 1);
	assert_true(seen(c, VIGIL_INOTIFY_PATH, "%s/f2", root) >= 1);

	/* A directory renamed inside the tree keeps its watches under the new name. */
	c->n = 0;
	sh("mv %s/d1 %s/d2", root, root);
	pump(w);
	assert_int_equal(seen(c, VIGIL_INOTIFY_SUBTREE, "%s/d1", root), 1);
	assert_int_equal(seen(c, VIGIL_INOTIFY_SUBTREE, "%s/d2", root), 1);
	c->n = 0;
	touch("%s/d2/sub/g", root);
	pump(w);
	assert_true(seen(c, VIGIL_INOTIFY_PATH, "%s/d2/sub/g", root) >= 1);
	assert_int_equal(seen(c, VIGIL_INOTIFY_PATH, "%s/d1/sub/g", root), 0);

	/* Moved out: the subtree must be compared again and its watches dropped. */
	c->n = 0;
	sh("mv %s/d2 %s/out/", root, c->top);
	pump(w);
	assert_int_equal(seen(c, VIGIL_INOTIFY_SUBTREE, "%s/d2", root), 1);
	vigil_inotify_stats(w, &st);
	assert_int_equal(st.watches, 1 + 1);
	c->n = 0;
	touch("%s/out/d2/sub/g", c->top);
	pump(w);
	assert_int_equal(c->n, 0);

	/* Moved back in: watched again, and its content reported. */
	sh("mv %s/out/d2 %s/d3", c->top, root);
	pump(w);
	assert_int_equal(seen(c, VIGIL_INOTIFY_SUBTREE, "%s/d3", root), 1);
	assert_true(seen(c, VIGIL_INOTIFY_PATH, "%s/d3/sub/g", root) >= 1);
	vigil_inotify_stats(w, &st);
	assert_int_equal(st.watches, 3 + 1);
	vigil_inotify_free(w);
}

static void test_root_recreated(void **state)
{
	struct ctx *c = *state;
	struct vigil_inotify_stats st;
	struct vigil_inotify *w;
	char root[300];

	snprintf(root, sizeof(root), "%s/r", c->top);
	sh("mkdir -p %s/a && echo 1 > %s/a/f", root, root);
	w = start(c, root);
	sh("rm -rf %s", root);
	pump(w);
	assert_int_equal(seen(c, VIGIL_INOTIFY_ROOT_GONE, "%s", root), 1);
	assert_true(seen(c, VIGIL_INOTIFY_PATH, "%s/a/f", root) >= 1);
	vigil_inotify_stats(w, &st);
	assert_int_equal(st.watches, 1); /* the sentinel */

	c->n = 0;
	sh("mkdir -p %s/b && echo 2 > %s/b/g", root, root);
	pump(w);
	assert_true(seen(c, VIGIL_INOTIFY_PATH, "%s/b/g", root) >= 1);
	c->n = 0;
	touch("%s/b/h", root);
	pump(w);
	assert_true(seen(c, VIGIL_INOTIFY_PATH, "%s/b/h", root) >= 1);
	vigil_inotify_free(w);
}

static void test_glob_and_file_roots(void **state)
{
	struct ctx *c = *state;
	struct vigil_inotify *w;
	struct vigil_err err;

	sh("mkdir -p %s/bin/sub && echo 1 > %s/bin/dockerd && echo 1 > %s/bin/other", c->top, c->top, c->top);
	w = start(c, "/nonexistent-vigil/x");
	assert_int_equal(vigil_inotify_add_root(w, "/tmp/vigil-inotify-*/bin/docker*", 1, &err), 0);
	touch("%s/bin/dockerd", c->top);
	touch("%s/bin/other", c->top);
	touch("%s/bin/docker-new", c->top);
	pump(w);
	assert_true(seen(c, VIGIL_INOTIFY_PATH, "%s/bin/dockerd", c->top) >= 1);
	assert_true(seen(c, VIGIL_INOTIFY_PATH, "%s/bin/docker-new", c->top) >= 1);
	assert_int_equal(seen(c, VIGIL_INOTIFY_PATH, "%s/bin/other", c->top), 0);
	/* A new directory matching the glob becomes a watched tree. */
	c->n = 0;
	sh("mkdir %s/bin/docker.d", c->top);
	pump(w);
	touch("%s/bin/docker.d/conf", c->top);
	pump(w);
	assert_true(seen(c, VIGIL_INOTIFY_PATH, "%s/bin/docker.d/conf", c->top) >= 1);
	vigil_inotify_free(w);
}

static void test_excluded_dir(void **state)
{
	struct ctx *c = *state;
	struct vigil_inotify_stats st;
	struct vigil_inotify *w;
	char root[300];

	snprintf(root, sizeof(root), "%s/r", c->top);
	snprintf(c->exclude, sizeof(c->exclude), "%s/skip", root);
	sh("mkdir -p %s/skip/deep %s/keep", root, root);
	w = start(c, root);
	vigil_inotify_stats(w, &st);
	assert_int_equal(st.watches, 2 + 1);
	touch("%s/skip/deep/f", root);
	pump(w);
	assert_int_equal(c->n, 0);
	c->exclude[0] = '\0';
	vigil_inotify_free(w);
}

/* The lock tests/integration/watch_lib.sh holds shared around every watch
 * test and alone while it lowers a system-wide fs.inotify limit: held shared
 * here, so a neighbour's max_user_watches=1 never starves these watches.
 * Kept open (and so held) until the process exits. */
static void hold_limits_lock(void)
{
	struct stat st;
	const char *dir = stat("/run/lock", &st) == 0 && S_ISDIR(st.st_mode) ? "/run/lock" : "/tmp";
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "%s/vigil-watch-tests.lock", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		flock(fd, LOCK_SH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tree_and_new_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_renames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_recreated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glob_and_file_roots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_excluded_dir, setup, teardown),
	};

	hold_limits_lock();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
