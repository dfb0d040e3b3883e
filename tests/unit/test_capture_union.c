/* test_capture_union.c - the merged view computed from overlay layers
 * (vigil_evw_add_union, agent/capture/evw_union.c) on layers made here with
 * every kind of hiding: an aufs-style `.wh.NAME` file, a char 0/0 whiteout, a
 * `.wh..wh..opq` opaque dir, a trusted.overlay.opaque dir, a file over a lower
 * directory, aufs bookkeeping names (aufs names count in the image's layers
 * only: in the container's own top layer they are ordinary files, as the
 * mounted overlay shows them); the archive holds exactly the union.  A lower
 * layer's directory that cannot be opened (openat wrapped at link time to
 * fail it with EACCES, EIO or ENOENT, since root reads every directory) is
 * missing from the view with a manifest entry naming the layer and path. */
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
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include <jansson.h>

#include "vigil/capture.h"
#include "vigil/crypto.h"
#include "vigil/sign.h"

static char base[] = "/tmp/vigil-union.XXXXXX";
static char state[PATH_MAX], out[PATH_MAX];

/* openat() of this directory (O_DIRECTORY opens only) fails with fail_errno. */
static char fail_path[PATH_MAX];
static int fail_errno;

int __real_openat(int dfd, const char *path, int flags, ...);
int __wrap_openat(int dfd, const char *path, int flags, ...);
int __wrap_openat(int dfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (fail_path[0] && (flags & O_DIRECTORY) && !(flags & O_PATH)) {
		char link[64], at[PATH_MAX], full[PATH_MAX * 2];
		ssize_t n = -1;

		if (path[0] == '/') {
			snprintf(full, sizeof(full), "%s", path);
		} else {
			snprintf(link, sizeof(link), "/proc/self/fd/%d", dfd);
			n = readlink(link, at, sizeof(at) - 1);
			at[n > 0 ? n : 0] = '\0';
			snprintf(full, sizeof(full), strcmp(path, ".") ? "%s/%s" : "%s", at, path);
		}
		if (!strcmp(full, fail_path)) {
			errno = fail_errno;
			return -1;
		}
	}
	return __real_openat(dfd, path, flags, mode);
}

static void put(const char *rel, const char *content)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void dir(const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static int setup(void **state_)
{
	(void)state_;
	if (!mkdtemp(base) || vigil_crypto_init(NULL))
		return -1;
	snprintf(state, sizeof(state), "%s/state", base);
	snprintf(out, sizeof(out), "%s/out", base);
	if (mkdir(state, 0700) || vigil_sign_keygen(state, 0, NULL))
		return -1;
	return 0;
}

static int teardown(void **state_)
{
	char cmd[PATH_MAX + 16];

	(void)state_;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) ? -1 : 0;
}

/* The archive's members under pfx (sorted, '\n' separated), d's content in dcontent. */
static char *members(const char *archive, const char *pfx, char *dcontent, size_t dlen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *list = calloc(1, 65536);

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, archive, 65536), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);

		if (strncmp(p, pfx, strlen(pfx)))
			continue;
		strcat(list, p + strlen(pfx));
		strcat(list, "\n");
		if (!strcmp(p + strlen(pfx), "d")) {
			la_ssize_t n = archive_read_data(a, dcontent, dlen - 1);

			dcontent[n > 0 ? n : 0] = '\0';
		}
	}
	archive_read_free(a);
	return list;
}

/* The three layers src[] open in fds[], and a writer for case case_id. */
static struct vigil_evw *open_layers(const char *const src[3], int fds[3], const char *case_id)
{
	struct vigil_evw_opts o = { 0 };
	struct vigil_err err = { "" };
	struct vigil_evw *w = NULL;
	char path[PATH_MAX * 2];

	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", base, src[i]);
		fds[i] = open(path, O_RDONLY | O_DIRECTORY);
		assert_true(fds[i] >= 0);
	}
	o.out_dir = out;
	o.state_dir = state;
	o.case_id = case_id;
	assert_int_equal(vigil_evw_open(&o, &w, &err), 0);
	return w;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_union(void **state_)
{
	struct vigil_evw_result res;
	struct vigil_err err = { "" };
	struct vigil_evw *w = NULL;
	const char *src[3] = { "L0", "L1", "L2" };
	char path[PATH_MAX * 2], dcontent[64], *list, *names[64];
	int fds[3], n = 0;

	(void)state_;
	/* L2: the base */
	dir("L2");
	dir("L2/a"), put("L2/a/x", "x"), put("L2/a/y", "y");
	dir("L2/b"), put("L2/b/z", "z"), put("L2/b/stays", "s");
	put("L2/c", "c");
	dir("L2/d"), put("L2/d/under", "u");
	dir("L2/e"), put("L2/e/keep", "k");
	dir("L2/g"), put("L2/g/g1", "1");
	/* L1: an aufs whiteout, an aufs opaque dir, a char 0/0 whiteout */
	dir("L1");
	put("L1/.wh.c", "");
	dir("L1/a"), put("L1/a/.wh..wh..opq", ""), put("L1/a/new", "n");
	dir("L1/b");
	snprintf(path, sizeof(path), "%s/L1/b/z", base);
	assert_int_equal(mknod(path, S_IFCHR | 0600, makedev(0, 0)), 0);
	/* L0: a file over a lower dir, an xattr-opaque dir, aufs bookkeeping */
	dir("L0");
	put("L0/d", "file over a directory");
	dir("L0/g"), put("L0/g/g2", "2");
	snprintf(path, sizeof(path), "%s/L0/g", base);
	assert_int_equal(setxattr(path, "trusted.overlay.opaque", "y", 1, 0), 0);
	dir("L0/h"), put("L0/h/.wh..wh.plnk", ""), put("L0/top", "t");
	/* in the container's own layer (above aufs_from) a .wh. name is an ordinary file */
	put("L0/.wh.top2", "mine"), put("L2/top2", "stays visible");
	w = open_layers(src, fds, "UNION");
	assert_int_equal(vigil_evw_add_union(w, fds, src, 3, 1, "m"), 0);
	assert_int_equal(vigil_evw_finish(w, &res, &err), 0);
	vigil_evw_free(w);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	list = members(res.path, "m/", dcontent, sizeof(dcontent));
	for (char *s = strtok(list, "\n"); s && n < 64; s = strtok(NULL, "\n"))
		names[n++] = s;
	qsort(names, (size_t)n, sizeof(names[0]), cmp);
	{
		static const char *const want[] = { ".wh.top2", "a/", "a/new", "b/", "b/stays", "d", "e/", "e/keep",
						    "g/", "g/g2", "h/", "h/.wh..wh.plnk", "top", "top2" };
		size_t nw = sizeof(want) / sizeof(want[0]);
		char got[2048] = "";

		for (int i = 0; i < n; i++)
			strcat(strcat(got, names[i]), " ");
		assert_int_equal((size_t)n, nw);
		for (size_t i = 0; i < nw; i++)
			if (strcmp(names[i], want[i]))
				fail_msg("member %zu is %s, expected %s (got: %s)", i, names[i], want[i], got);
	}
	assert_string_equal(dcontent, "file over a directory");
	free(list);
}

/* MANIFEST.json's entry whose source is src: its notes joined by "|" ("" when
 * there is no such entry). */
static void entry_notes(const char *archive, const char *src, char *buf, size_t len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	json_t *m = NULL, *ent;
	size_t i;

	buf[0] = '\0';
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, archive, 65536), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		static char text[1 << 20];
		la_ssize_t n;

		if (strcmp(archive_entry_pathname(e), "MANIFEST.json"))
			continue;
		n = archive_read_data(a, text, sizeof(text) - 1);
		assert_true(n > 0);
		text[n] = '\0';
		m = json_loads(text, 0, NULL);
		break;
	}
	archive_read_free(a);
	assert_non_null(m);
	json_array_foreach(json_object_get(m, "members"), i, ent) {
		const char *s = json_string_value(json_object_get(ent, "source"));
		json_t *nt;
		size_t k;

		if (!s || strcmp(s, src))
			continue;
		json_array_foreach(json_object_get(ent, "notes"), k, nt) {
			strncat(buf, json_string_value(nt), len - strlen(buf) - 2);
			strcat(buf, "|");
		}
		if (!buf[0])
			strcpy(buf, "(no notes)");
	}
	json_decref(m);
}

/* Lower layers' copies of a directory that cannot be read: each named in the
 * manifest (layer, path, errno), their names missing from the view, the
 * other layers' names there. */
static void test_unreadable_layer(void **state_)
{
	struct vigil_evw_result res;
	struct vigil_err err = { "" };
	struct vigil_evw *w = NULL;
	const char *src[3] = { "U0", "U1", "U2" };
	char dcontent[64], notes[2048], *list;
	int fds[3];

	(void)state_;
	dir("U0"), dir("U1"), dir("U2");
	dir("U0/a"), put("U0/a/top", "0");
	dir("U1/a"), put("U1/a/mid", "1");
	dir("U2/a"), put("U2/a/low", "2");
	dir("U1/b"), put("U1/b/gone", "g");
	dir("U2/b"), put("U2/b/here", "h");
	put("U2/base", "b");
	dir("U2/v"), put("U2/v/v1", "v");
	dir("U1/v");
	w = open_layers(src, fds, "UNREAD");
	/* U1/a: EACCES when opened below the winner; U2/v: vanished */
	snprintf(fail_path, sizeof(fail_path), "%s/U1/a", base);
	fail_errno = EACCES;
	assert_int_equal(vigil_evw_add_union(w, fds, src, 3, 1, "m"), 0);
	snprintf(fail_path, sizeof(fail_path), "%s/U2/v", base);
	fail_errno = ENOENT;
	assert_int_equal(vigil_evw_add_union(w, fds, src, 3, 1, "n"), 0);
	/* the whole of layer 2 (its root, read through its fd) fails with EIO */
	snprintf(fail_path, sizeof(fail_path), "%s/U2", base);
	fail_errno = EIO;
	assert_int_equal(vigil_evw_add_union(w, fds, src, 3, 1, "o"), 0);
	fail_path[0] = '\0';
	assert_int_equal(vigil_evw_finish(w, &res, &err), 0);
	vigil_evw_free(w);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	/* m: U1/a's names are missing, U0's and U2's are there; b and v whole */
	list = members(res.path, "m/", dcontent, sizeof(dcontent));
	assert_string_equal(list, "a/\na/low\na/top\nb/\nb/gone\nb/here\nbase\nv/\nv/v1\n");
	free(list);
	/* n: U2/v's names are missing */
	list = members(res.path, "n/", dcontent, sizeof(dcontent));
	assert_string_equal(list, "a/\na/low\na/mid\na/top\nb/\nb/gone\nb/here\nbase\nv/\n");
	free(list);
	/* o: all of U2's names are missing */
	list = members(res.path, "o/", dcontent, sizeof(dcontent));
	assert_string_equal(list, "a/\na/mid\na/top\nb/\nb/gone\nv/\n");
	free(list);
	entry_notes(res.path, "U1/a", notes, sizeof(notes));
	assert_string_equal(notes, "unreadable: EACCES: layer 1's directory /a, its entries are missing from the "
				   "merged view|");
	entry_notes(res.path, "U2/v", notes, sizeof(notes));
	assert_string_equal(notes, "vanished: layer 2's directory /v, its entries are missing from the merged view|");
	entry_notes(res.path, "U2", notes, sizeof(notes));
	assert_string_equal(notes, "unreadable: EIO: layer 2's directory /, its entries are missing from the merged "
				   "view|");
	/* readable copies get no note */
	entry_notes(res.path, "U0/a", notes, sizeof(notes));
	assert_string_equal(notes, "(no notes)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_union),
		cmocka_unit_test(test_unreadable_layer),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
