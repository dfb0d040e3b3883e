/* test_packages.c - dpkg's records (collectors/packages/): the status file,
 * .md5sums, .list, diversions and dpkg.log, each parser fed good and hostile
 * text from a table; merged /usr and diversions in lookups; a whole database
 * read from a fixture root through rootfs. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "vigil/dpkg.h"
#include "vigil/record.h"
#include "vigil/rootfs.h"

#define MD5A "0123456789abcdef0123456789abcdef"
#define MD5B "fedcba9876543210fedcba9876543210"

static const struct {
	const char *name, *text;
	int rc;           /* 0 or -EBADMSG */
	const char *msg;  /* substring of the error: file and line */
	size_t n_pkgs, n_installed, n_sums;
} status_cases[] = {
	{ "one installed", "Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n", 0, NULL, 1, 1, 0 },
	{ "two, no final newline", "Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 2",
	  0, NULL, 2, 1, 0 },
	{ "half-configured counts", "Package: a\nStatus: install ok half-configured\nVersion: 1\n", 0, NULL, 1, 1, 0 },
	{ "no version: not installed", "Package: a\nStatus: install ok installed\n", 0, NULL, 1, 0, 0 },
	{ "conffiles with flags",
	  "Package: a\nStatus: install ok installed\nVersion: 1\nConffiles:\n /etc/a " MD5A "\n /etc/b " MD5B
	  " obsolete\n /etc/c " MD5A " remove-on-upgrade\n /etc/with space " MD5A "\n /etc/new newconffile\n"
	  "Description: x\n long text\n .\n more\n",
	  0, NULL, 1, 1, 3 },
	{ "comment and CRLF", "# c\r\nPackage: a\r\nStatus: install ok installed\r\nVersion: 1\r\n", 0, NULL, 1, 1, 0 },
	{ "continuation first", " oops\nPackage: a\n", -EBADMSG, "status:1: continuation", 0, 0, 0 },
	{ "no colon", "Package: a\nnonsense\n", -EBADMSG, "status:2: expected", 0, 0, 0 },
	{ "no Package", "Package: a\n\nVersion: 1\nStatus: x\n", -EBADMSG, "status:3: stanza without a Package", 0, 0, 0 },
	{ "duplicate field", "Package: a\nVersion: 1\nVersion: 2\n", -EBADMSG, "status:3: duplicate field", 0, 0, 0 },
	{ "bad md5", "Package: a\nConffiles:\n /etc/a 0123\n", -EBADMSG, "status:3: conffile hash", 0, 0, 0 },
	{ "conffile without hash", "Package: a\nConffiles:\n /etc/a\n", -EBADMSG, "status:3: conffile entry", 0, 0, 0 },
	{ "relative conffile", "Package: a\nConffiles:\n etc/a " MD5A "\n", -EBADMSG, "status:3: conffile entry", 0, 0, 0 },
	{ "NUL byte", "Package: a\nVersion: 1\0\n", -EBADMSG, "status:2: NUL", 0, 0, 0 },
	{ "continued Version", "Package: a\nVersion: 1\n 2\n", -EBADMSG, "status:3: continuation of a one-line", 0, 0, 0 },
	{ "empty Package", "Package:\n", -EBADMSG, "status:1: bad package name", 0, 0, 0 },
	{ "package with slash", "Package: ../x\n", -EBADMSG, "status:1: bad package name", 0, 0, 0 },
};

static void test_status_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(status_cases) / sizeof(status_cases[0]); i++) {
		struct vigil_dpkg *db = vigil_dpkg_new();
		struct vigil_err err = { "" };
		const char *t = status_cases[i].text;
		size_t len = strlen(t) + (strstr(status_cases[i].name, "NUL") ? 3 : 0), inst = 0;
		int rc;

		if (strstr(status_cases[i].name, "NUL"))
			len = strlen(t) + 1 + strlen(t + strlen(t) + 1);
		rc = vigil_dpkg_load_status(db, t, len, "status", &err);
		if (rc != status_cases[i].rc || (status_cases[i].msg && !strstr(err.msg, status_cases[i].msg)))
			fail_msg("%s: rc %d, err '%s'", status_cases[i].name, rc, err.msg);
		if (!rc) {
			assert_int_equal(vigil_dpkg_n_pkgs(db), status_cases[i].n_pkgs);
			for (size_t k = 0; k < vigil_dpkg_n_pkgs(db); k++)
				inst += vigil_dpkg_pkg(db, (uint32_t)k)->installed;
			assert_int_equal(inst, status_cases[i].n_installed);
			assert_int_equal(vigil_dpkg_n_sums(db), status_cases[i].n_sums);
		}
		vigil_dpkg_free(db);
	}
}

static void test_conffile_fields(void **state)
{
	const char *t = "Package: a\nStatus: install ok installed\nVersion: 1:2.3-4\nArchitecture: amd64\n"
			"Multi-Arch: same\nConffiles:\n /etc/with space " MD5A " obsolete\n /etc/r " MD5B
			" remove-on-upgrade\n";
	struct vigil_dpkg *db = vigil_dpkg_new();
	const struct vigil_dpkg_pkg *p;
	struct vigil_dpkg_owner o;

	(void)state;
	assert_int_equal(vigil_dpkg_load_status(db, t, strlen(t), "status", NULL), 0);
	p = vigil_dpkg_pkg(db, 0);
	assert_string_equal(p->id, "a:amd64");
	assert_string_equal(p->version, "1:2.3-4");
	assert_int_equal(p->n_conf, 2);
	assert_string_equal(p->conf[0].path, "/etc/with space");
	assert_int_equal(p->conf[0].flags, VIGIL_DPKG_CONF_OBSOLETE);
	assert_int_equal(p->conf[0].md5[0], 0x01);
	assert_int_equal(p->conf[1].flags, VIGIL_DPKG_CONF_REMOVE_ON_UPGRADE);
	/* obsolete is checked (debsums does unless --ignore-obsolete), remove-on-upgrade is not */
	assert_int_equal(vigil_dpkg_n_sums(db), 1);
	assert_int_equal(vigil_dpkg_lookup(db, "/etc/with space", &o), 1);
	assert_int_equal(o.n_sums, 1);
	assert_true(vigil_dpkg_sum(db, o.sums[0])->conffile);
	assert_int_equal(vigil_dpkg_find_pkg(db, "a"), 0);
	assert_int_equal(vigil_dpkg_find_pkg(db, "a:amd64"), 0);
	assert_int_equal(vigil_dpkg_find_pkg(db, "a:i386"), -1);
	vigil_dpkg_free(db);
}

static const struct {
	const char *name, *text;
	int rc;
	const char *msg;
	size_t n_sums;
} md5_cases[] = {
	{ "two spaces", MD5A "  usr/bin/a\n" MD5B "  usr/share/doc/a/x y\n", 0, NULL, 2 },
	{ "one space, ./ and no newline", MD5A " ./usr/bin/a", 0, NULL, 1 },
	{ "upper-case hex", "0123456789ABCDEF0123456789ABCDEF  usr/bin/a\n", 0, NULL, 1 },
	{ "empty file", "", 0, NULL, 0 },
	{ "short hash", "0123  usr/bin/a\n", -EBADMSG, "a.md5sums:1: expected", 0 },
	{ "no path", MD5A "  \n", -EBADMSG, "a.md5sums:1: no path", 0 },
	{ "no separator", MD5A "usr/bin/a\n", -EBADMSG, "a.md5sums:1: expected", 0 },
	{ "blank line", MD5A "  a\n\n", -EBADMSG, "a.md5sums:2: expected", 0 },
	{ "truncated in hash", MD5A "  a\n01234", -EBADMSG, "a.md5sums:2: expected", 0 },
	{ "non-hex", "0123456789abcdef0123456789abcdeg  a\n", -EBADMSG, "a.md5sums:1: expected", 0 },
};

static struct vigil_dpkg *one_pkg(void)
{
	const char *t = "Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n";
	struct vigil_dpkg *db = vigil_dpkg_new();

	assert_non_null(db);
	assert_int_equal(vigil_dpkg_load_status(db, t, strlen(t), "status", NULL), 0);
	return db;
}

static void test_md5sums_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(md5_cases) / sizeof(md5_cases[0]); i++) {
		struct vigil_dpkg *db = one_pkg();
		struct vigil_err err = { "" };
		int rc = vigil_dpkg_load_md5sums(db, 0, md5_cases[i].text, strlen(md5_cases[i].text), "a.md5sums", &err);

		if (rc != md5_cases[i].rc || (md5_cases[i].msg && !strstr(err.msg, md5_cases[i].msg)))
			fail_msg("%s: rc %d, err '%s'", md5_cases[i].name, rc, err.msg);
		if (!rc)
			assert_int_equal(vigil_dpkg_n_sums(db), md5_cases[i].n_sums);
		vigil_dpkg_free(db);
	}
}

static void test_usrmerge_and_owners(void **state)
{
	const char *t = "Package: a\nStatus: install ok installed\nVersion: 1\n\n"
			"Package: b\nStatus: install ok installed\nVersion: 2\n";
	const char *la = "/.\n/bin\n/bin/ls\n/usr/share/x\n/usr/share/x\n", *lb = "/usr/share/x\n/binx/y\n";
	struct vigil_dpkg *db = vigil_dpkg_new();
	struct vigil_dpkg_owner o;
	char *c;

	(void)state;
	vigil_dpkg_set_usrmerge(db, 1u << 0); /* /bin only */
	assert_int_equal(vigil_dpkg_load_status(db, t, strlen(t), "status", NULL), 0);
	assert_int_equal(vigil_dpkg_load_list(db, 0, la, strlen(la), "a.list", NULL), 0);
	assert_int_equal(vigil_dpkg_load_list(db, 1, lb, strlen(lb), "b.list", NULL), 0);
	assert_int_equal(vigil_dpkg_load_md5sums(db, 0, MD5A "  bin/ls\n", 41, "a.md5sums", NULL), 0);
	c = vigil_dpkg_canonical(db, "/bin/ls");
	assert_string_equal(c, "/usr/bin/ls");
	free(c);
	c = vigil_dpkg_canonical(db, "/binx/y");
	assert_string_equal(c, "/binx/y");
	free(c);
	/* either form finds it */
	assert_int_equal(vigil_dpkg_lookup(db, "/usr/bin/ls", &o), 1);
	assert_int_equal(o.n_owners, 1);
	assert_int_equal(o.n_sums, 1);
	assert_string_equal(vigil_dpkg_sum(db, o.sums[0])->path, "/bin/ls");
	assert_int_equal(vigil_dpkg_lookup(db, "/bin/ls", &o), 1);
	/* a path listed twice by a counts once; b lists it too */
	assert_int_equal(vigil_dpkg_lookup(db, "/usr/share/x", &o), 1);
	assert_int_equal(o.n_owners, 2);
	assert_int_equal(vigil_dpkg_lookup(db, "/nope", &o), 0);
	assert_int_equal(vigil_dpkg_load_list(db, 0, "bin/x\n", 6, "a.list", NULL), -EBADMSG);
	vigil_dpkg_free(db);
}

static void test_diversions(void **state)
{
	const char *t = "Package: a\nStatus: install ok installed\nVersion: 1\n\n"
			"Package: b\nStatus: install ok installed\nVersion: 2\n";
	const char *d = "/usr/bin/x\n/usr/bin/x.distrib\nb\n/etc/y\n/etc/y.orig\n:\n";
	struct vigil_dpkg *db = vigil_dpkg_new();
	struct vigil_err err;

	(void)state;
	assert_int_equal(vigil_dpkg_load_status(db, t, strlen(t), "status", NULL), 0);
	assert_int_equal(vigil_dpkg_load_diversions(db, d, strlen(d), "diversions", NULL), 0);
	/* a's /usr/bin/x lives at x.distrib; b (the diverter) keeps its own */
	assert_string_equal(vigil_dpkg_real_path(db, "/usr/bin/x", 0), "/usr/bin/x.distrib");
	assert_string_equal(vigil_dpkg_real_path(db, "/usr/bin/x", 1), "/usr/bin/x");
	assert_string_equal(vigil_dpkg_real_path(db, "/etc/y", 1), "/etc/y.orig");
	assert_string_equal(vigil_dpkg_real_path(db, "/etc/z", 1), "/etc/z");
	assert_int_equal(vigil_dpkg_load_diversions(db, "/a\n/b\n", 6, "diversions", &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "diversions:2: truncated diversion"));
	assert_int_equal(vigil_dpkg_load_diversions(db, "a\n/b\nc\n", 7, "diversions", &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "diversions:1: expected an absolute path"));
	vigil_dpkg_free(db);
}

struct logged {
	int n;
	char last[256];
};

static int on_log(void *arg, const struct vigil_dpkg_logev *ev)
{
	struct logged *l = arg;

	l->n++;
	snprintf(l->last, sizeof(l->last), "%lld %d %s %s %s", (long long)ev->time, ev->action, ev->pkg,
		 ev->old_ver ? ev->old_ver : "-", ev->new_ver ? ev->new_ver : "-");
	return 0;
}

static const struct {
	const char *name, *text;
	int rc, n;
	const char *last, *msg;
} log_cases[] = {
	{ "upgrade", "2025-06-24 14:36:25 upgrade libudev1:amd64 252.36-1~deb12u1 252.38-1~deb12u1\n", 0, 1,
	  "1750775785 2 libudev1:amd64 252.36-1~deb12u1 252.38-1~deb12u1", NULL },
	{ "install, status lines skipped",
	  "2025-06-24 14:36:25 startup archives unpack\n2025-06-24 14:36:26 install hello:amd64 <none> 2.10-3\n"
	  "2025-06-24 14:36:26 status half-installed hello:amd64 2.10-3\n"
	  "2025-06-24 14:36:27 conffile /etc/x keep\n",
	  0, 1, "1750775786 1 hello:amd64 - 2.10-3", NULL },
	{ "remove", "2025-06-24 14:36:25 remove hello:amd64 2.10-3 <none>", 0, 1, "1750775785 3 hello:amd64 2.10-3 -", NULL },
	{ "bad time", "2025-13-24 14:36:25 upgrade a 1 2\n", -EBADMSG, 0, NULL, "dpkg.log:1: expected" },
	{ "truncated", "2025-06-24 14:36:25 upgrade a 1 2\n2025-06-24 14:3", -EBADMSG, 1, NULL, "dpkg.log:2: expected" },
	{ "missing version", "2025-06-24 14:36:25 upgrade a 1\n", -EBADMSG, 0, NULL, "dpkg.log:1: 'upgrade' needs" },
	{ "extra words", "2025-06-24 14:36:25 upgrade a 1 2 3\n", -EBADMSG, 0, NULL, "dpkg.log:1: 'upgrade' needs" },
	{ "no action", "2025-06-24 14:36:25\n", -EBADMSG, 0, NULL, "dpkg.log:1: no action" },
};

static void test_log_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(log_cases) / sizeof(log_cases[0]); i++) {
		struct logged l = { 0, "" };
		struct vigil_err err = { "" };
		int rc = vigil_dpkg_log_parse(log_cases[i].text, strlen(log_cases[i].text), "dpkg.log", on_log, &l, &err);

		if (rc != log_cases[i].rc || l.n != log_cases[i].n ||
		    (log_cases[i].last && strcmp(l.last, log_cases[i].last)) ||
		    (log_cases[i].msg && !strstr(err.msg, log_cases[i].msg)))
			fail_msg("%s: rc %d n %d last '%s' err '%s'", log_cases[i].name, rc, l.n, l.last, err.msg);
	}
}

#define PUTS(dir, rel, text) put((dir), (rel), (text), strlen(text))

static void put(const char *dir, const char *rel, const void *data, size_t len)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* A root with merged /usr, a status, info files in both name forms, a
 * broken .md5sums, diversions and rotated logs (one gzip'd). */
static void test_open_root(void **state)
{
	char dir[] = "/tmp/vigil-pkg-XXXXXX", cmd[600], link[256];
	const char *status = "Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n"
			     "Package: m\nStatus: install ok installed\nVersion: 3\nArchitecture: amd64\nMulti-Arch: same\n\n"
			     "Package: bad\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n"
			     "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: all\n";
	const char *old = "2025-01-01 00:00:00 install a:amd64 <none> 0.9\n";
	unsigned char gz[256];
	uLongf gzlen = sizeof(gz);
	struct vigil_dpkg *db;
	struct vigil_dpkg_owner o;
	struct vigil_err err = { "" };
	struct logged l = { 0, "" };
	int rootfd, confined;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/usr/bin %s/var/lib/dpkg/info %s/var/log", dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(link, sizeof(link), "%s/bin", dir);
	assert_int_equal(symlink("usr/bin", link), 0);
	put(dir, "var/lib/dpkg/status", status, strlen(status));
	PUTS(dir, "var/lib/dpkg/info/a.list", "/bin\n/bin/a\n");
	PUTS(dir, "var/lib/dpkg/info/a.md5sums", MD5A "  bin/a\n");
	PUTS(dir, "var/lib/dpkg/info/m:amd64.list", "/usr/lib/m"); /* no last newline */
	PUTS(dir, "var/lib/dpkg/info/m:amd64.md5sums", MD5B "  usr/lib/m\n");
	PUTS(dir, "var/lib/dpkg/info/bad.list", "/usr/lib/bad\n");
	PUTS(dir, "var/lib/dpkg/info/bad.md5sums", "xyz\n");
	PUTS(dir, "var/lib/dpkg/diversions", "/usr/lib/m\n/usr/lib/m.real\n:\n");
	PUTS(dir, "var/log/dpkg.log", "2025-03-01 00:00:00 upgrade a:amd64 0.9 1\n");
	PUTS(dir, "var/log/dpkg.log.1", "");
	/* gzip header via deflateInit2 with windowBits 31 */
	{
		z_stream z;

		memset(&z, 0, sizeof(z));
		assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
		z.next_in = (unsigned char *)old;
		z.avail_in = (uInt)strlen(old);
		z.next_out = gz;
		z.avail_out = sizeof(gz);
		assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
		gzlen = sizeof(gz) - z.avail_out;
		deflateEnd(&z);
	}
	put(dir, "var/log/dpkg.log.2.gz", gz, gzlen);
	put(dir, "var/log/dpkg.log.3.gz", gz, gzlen / 2); /* truncated */

	rootfd = vigil_rootfs_open_root(dir, &confined);
	assert_true(rootfd >= 0);
	assert_int_equal(vigil_dpkg_open(rootfd, &db, &err), 0);
	assert_int_equal(vigil_dpkg_n_pkgs(db), 4);
	assert_true(vigil_dpkg_pkg(db, 0)->has_md5sums);
	assert_string_equal(vigil_dpkg_pkg(db, 1)->id, "m:amd64");
	assert_true(vigil_dpkg_pkg(db, 1)->has_md5sums);
	assert_true(vigil_dpkg_pkg(db, 2)->bad);
	assert_non_null(strstr(vigil_dpkg_warnings(db), "/var/lib/dpkg/info/bad.md5sums:1: expected"));
	assert_int_equal(vigil_dpkg_lookup(db, "/usr/bin/a", &o), 1); /* merged /usr seen in the root */
	assert_int_equal(o.n_sums, 1);
	assert_string_equal(vigil_dpkg_real_path(db, "/usr/lib/m", 1), "/usr/lib/m.real");
	vigil_dpkg_free(db);

	/* the lazy form: a package's files are read when a path its .list
	 * names is needed (dpkg's /bin/a found by its canonical /usr/bin/a),
	 * and lookups then answer as on the whole database */
	assert_int_equal(vigil_dpkg_open_lazy(rootfd, &db, &err), 0);
	assert_int_equal(vigil_dpkg_n_pkgs(db), 4);
	assert_int_equal(vigil_dpkg_n_sums(db), 0);
	assert_int_equal(vigil_dpkg_lookup(db, "/usr/bin/a", &o), 0);
	assert_int_equal(vigil_dpkg_need(db, rootfd, "/usr/lib/none"), 0);
	assert_int_equal(vigil_dpkg_n_sums(db), 0);
	assert_int_equal(vigil_dpkg_need(db, rootfd, "/usr/bin/a"), 0);
	assert_int_equal(vigil_dpkg_lookup(db, "/usr/bin/a", &o), 1);
	assert_int_equal(o.n_owners, 1);
	assert_int_equal(o.n_sums, 1);
	assert_true(vigil_dpkg_pkg(db, 0)->has_md5sums);
	assert_false(vigil_dpkg_pkg(db, 1)->has_md5sums); /* m: not read yet */
	assert_int_equal(vigil_dpkg_need(db, rootfd, "/usr/lib/m"), 0);
	assert_true(vigil_dpkg_pkg(db, 1)->has_md5sums);
	assert_int_equal(vigil_dpkg_lookup(db, "/usr/lib/m", &o), 1);
	assert_int_equal(o.n_owners, 1);
	assert_int_equal(o.n_sums, 1);
	assert_string_equal(vigil_dpkg_real_path(db, "/usr/lib/m", 1), "/usr/lib/m.real");
	assert_int_equal(vigil_dpkg_n_sums(db), 2);
	assert_int_equal(vigil_dpkg_need(db, rootfd, "/bin/a"), 0); /* read once */
	assert_int_equal(vigil_dpkg_n_sums(db), 2);
	assert_int_equal(vigil_dpkg_need(db, rootfd, "/usr/lib/bad"), 0); /* broken: a warning */
	assert_true(vigil_dpkg_pkg(db, 2)->bad);
	assert_non_null(strstr(vigil_dpkg_warnings(db), "/var/lib/dpkg/info/bad.md5sums:1: expected"));
	vigil_dpkg_free(db);

	/* the truncated .3.gz is refused, naming it */
	assert_int_equal(vigil_dpkg_log_read(rootfd, on_log, &l, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "dpkg.log.3.gz"));
	snprintf(link, sizeof(link), "%s/var/log/dpkg.log.3.gz", dir);
	unlink(link);
	l.n = 0;
	assert_int_equal(vigil_dpkg_log_read(rootfd, on_log, &l, &err), 0);
	assert_int_equal(l.n, 2); /* oldest first: .2.gz, then dpkg.log */
	assert_string_equal(l.last, "1740787200 2 a:amd64 0.9 1");
	close(rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* An in-memory view for vigil_dpkg_open_reader: NULL-terminated (path, text) pairs. */
static int mem_read(void *arg, const char *path, size_t max, char **buf, size_t *len)
{
	const char *const *f = arg;

	for (; f[0]; f += 2) {
		if (strcmp(f[0], path))
			continue;
		*len = strlen(f[1]);
		if (*len > max)
			return -EFBIG;
		*buf = strdup(f[1]);
		return *buf ? 0 : -ENOMEM;
	}
	return -ENOENT;
}

/* The container judgements on two in-memory databases: an image of a
 * merged-/usr kind (its .list says /bin/a, the file is /usr/bin/a), a
 * package upgraded, one installed, one removed (config-files) in the
 * container. */
/* dpkg's lock: held while another process holds an fcntl lock on
 * var/lib/dpkg/lock or lock-frontend under the root (as dpkg and apt do),
 * free when it lets go, and free without the files. */
static void test_lock_held(void **state)
{
	static const char *const names[] = { "lock", "lock-frontend" };
	char dir[] = "/tmp/vigil-pkg-XXXXXX", path[256];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(vigil_dpkg_lock_held(dir), 0); /* no dpkg at all */
	snprintf(path, sizeof(path), "mkdir -p '%s/var/lib/dpkg'", dir);
	assert_int_equal(system(path), 0);
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/var/lib/dpkg/%s", dir, names[i]);
		fd = open(path, O_RDWR | O_CREAT, 0640);
		assert_true(fd >= 0);
		close(fd);
	}
	assert_int_equal(vigil_dpkg_lock_held(dir), 0);
	for (size_t i = 0; i < 2; i++) {
		int go[2], done[2];
		char c = 0;
		pid_t pid;

		assert_int_equal(pipe(go), 0);
		assert_int_equal(pipe(done), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (!pid) { /* dpkg: the lock held until told */
			struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

			close(go[0]);
			close(done[1]);
			snprintf(path, sizeof(path), "%s/var/lib/dpkg/%s", dir, names[i]);
			fd = open(path, O_RDWR);
			if (fd < 0 || fcntl(fd, F_SETLK, &fl) < 0 || write(go[1], "x", 1) != 1)
				_exit(1);
			_exit(read(done[0], &c, 1) < 0);
		}
		close(go[1]);
		close(done[0]);
		assert_int_equal(read(go[0], &c, 1), 1);
		assert_int_equal(vigil_dpkg_lock_held(dir), 1);
		close(done[1]);
		close(go[0]);
		assert_int_equal(waitpid(pid, &fd, 0), pid);
		assert_int_equal(fd, 0);
		assert_int_equal(vigil_dpkg_lock_held(dir), 0);
	}
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

static void test_container(void **state)
{
	static const unsigned char a1[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
					      0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef }; /* MD5A */
	static const unsigned char other[16] = { 0 };
	const char *img[] = {
		"/var/lib/dpkg/status",
		"Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n"
		"Package: r\nStatus: install ok installed\nVersion: 5\nArchitecture: all\n",
		"/var/lib/dpkg/info/a.list", "/bin\n/bin/a\n",
		"/var/lib/dpkg/info/a.md5sums", MD5B "  bin/a\n",
		"/var/lib/dpkg/info/r.list", "/usr/share/r\n",
		"/var/lib/dpkg/info/r.md5sums", MD5B "  usr/share/r\n",
		NULL,
	};
	const char *ct[] = {
		"/var/lib/dpkg/status",
		"Package: a\nStatus: install ok installed\nVersion: 2\nArchitecture: amd64\n\n"
		"Package: n\nStatus: install ok installed\nVersion: 0.1\nArchitecture: all\n\n"
		"Package: r\nStatus: deinstall ok config-files\nVersion: 5\nArchitecture: all\n",
		"/var/lib/dpkg/info/a.list", "/bin\n/bin/a\n",
		"/var/lib/dpkg/info/a.md5sums", MD5A "  bin/a\n",
		"/var/lib/dpkg/info/n.list", "/usr/bin/n\n",
		"/var/lib/dpkg/info/n.md5sums", MD5B "  usr/bin/n\n",
		NULL,
	};
	const char *none[] = { NULL };
	struct vigil_dpkg_container *x;
	struct vigil_dpkg_judgement j;
	struct vigil_err err = { "" };
	const struct vigil_dpkg_installed *in;
	int seen = 0;

	(void)state;
	assert_int_equal(vigil_dpkg_container_open(mem_read, (void *)img, (void *)none, &x, &err), -ENOENT);
	assert_int_equal(vigil_dpkg_container_open(mem_read, (void *)img, (void *)ct, &x, &err), 0);
	assert_int_equal(vigil_dpkg_container_n_installed(x), 3); /* a upgraded, n installed, r removed */
	for (size_t i = 0; i < 3; i++) {
		in = vigil_dpkg_container_installed(x, i);
		if (!strcmp(in->pkg->name, "a"))
			seen |= 1, assert_string_equal(in->old_version, "1"), assert_false(in->removed);
		if (!strcmp(in->pkg->name, "n"))
			seen |= 2, assert_null(in->old_version), assert_false(in->removed);
		if (!strcmp(in->pkg->name, "r"))
			seen |= 4, assert_true(in->removed);
	}
	assert_int_equal(seen, 7);
	/* the upgraded file, found under its merged path: the upgrade explains it */
	assert_int_equal(vigil_dpkg_container_judge(x, "/usr/bin/a", 'C', VIGIL_FT_REG, a1, &j), 1);
	assert_string_equal(j.action, "package-upgrade");
	assert_non_null(strstr(j.message, "a upgraded in the container: 1 -> 2"));
	/* content no MD5 of it: tampered */
	assert_int_equal(vigil_dpkg_container_judge(x, "/usr/bin/a", 'C', VIGIL_FT_REG, other, &j), 1);
	assert_string_equal(j.action, "package-file-tampered");
	/* deleted with its package: said, not judged */
	assert_int_equal(vigil_dpkg_container_judge(x, "/usr/share/r", 'D', VIGIL_FT_NONE, NULL, &j), 1);
	assert_null(j.action);
	assert_non_null(strstr(j.message, "removed with it"));
	/* an unowned new binary; an unowned file elsewhere: nothing */
	assert_int_equal(vigil_dpkg_container_judge(x, "/usr/sbin/x", 'A', VIGIL_FT_REG, other, &j), 1);
	assert_string_equal(j.action, "unpackaged-file");
	assert_int_equal(vigil_dpkg_container_judge(x, "/srv/x", 'A', VIGIL_FT_REG, other, &j), 0);
	assert_int_equal(vigil_dpkg_container_log("/var/log/dpkg.log"), 1);
	assert_int_equal(vigil_dpkg_container_log("/var/log/other.log"), 0);
	vigil_dpkg_container_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_table), cmocka_unit_test(test_conffile_fields),
		cmocka_unit_test(test_md5sums_table), cmocka_unit_test(test_usrmerge_and_owners),
		cmocka_unit_test(test_diversions), cmocka_unit_test(test_log_table),
		cmocka_unit_test(test_open_root), cmocka_unit_test(test_container), cmocka_unit_test(test_lock_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
