/* test_walk.c - the walker, the hash pool and the attribute reader, on real
 * trees built in a mkdtemp directory.  Runs as root in CI (mknod, mount,
 * setuid); the parts that need what the machine lacks are skipped. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/attr.h"
#include "vigil/crypto.h"
#include "vigil/walk.h"

/* --- fixtures -------------------------------------------------------------- */

struct fx {
	char base[64];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->base, "/tmp/vigil-walk-XXXXXX");
	if (!mkdtemp(f->base)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int rm_tree(int at, const char *name)
{
	struct stat st;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;

		if (!d)
			return -1;
		fchmod(fd, 0700);
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				rm_tree(dirfd(d), de->d_name);
		closedir(d);
		return unlinkat(at, name, AT_REMOVEDIR);
	}
	return unlinkat(at, name, 0);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	umount2(f->base, MNT_DETACH); /* in case a test left its tmpfs */
	rm_tree(AT_FDCWD, f->base);
	free(f);
	return 0;
}

static char *P(const struct fx *f, const char *rel)
{
	static char buf[8][PATH_MAX];
	static int i;
	char *b = buf[i++ % 8];

	snprintf(b, PATH_MAX, "%s%s", f->base, rel);
	return b;
}

static void put_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	fchmod(fd, mode);
	close(fd);
}

/* --- hand-built configs ---------------------------------------------------- */

struct tscope {
	const char *name;
	const char *paths[6];
	const char *include[4];
	const char *exclude[4];
	int depth;
	int one_fs;
};

static void strv(struct vigil_strv *v, const struct fx *f, const char *const *src, int prefix)
{
	size_t n = 0;

	while (n < 6 && src[n])
		n++;
	v->v = calloc(n + 1, sizeof(char *));
	v->n = n;
	for (size_t i = 0; i < n; i++) {
		if (prefix && src[i][0] == '/') {
			v->v[i] = malloc(strlen(f->base) + strlen(src[i]) + 1);
			strcpy(v->v[i], f->base);
			strcat(v->v[i], src[i]);
		} else {
			v->v[i] = strdup(src[i]);
		}
	}
}

/* Paths, includes and excludes starting with '/' are taken below the fixture. */
static struct vigil_config *mkcfg(const struct fx *f, const struct tscope *ts, size_t n, int prefix)
{
	struct vigil_config *c = calloc(1, sizeof(*c));

	c->algos = VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256);
	c->scopes = calloc(n, sizeof(*c->scopes));
	c->n_scopes = n;
	for (size_t i = 0; i < n; i++) {
		struct vigil_scope *s = &c->scopes[i];

		s->name = strdup(ts[i].name);
		strv(&s->paths, f, ts[i].paths, prefix);
		strv(&s->include, f, ts[i].include, prefix);
		strv(&s->exclude, f, ts[i].exclude, prefix);
		s->depth = ts[i].depth;
		s->one_filesystem = ts[i].one_fs;
		s->attrs = VIGIL_ATTR_ALL;
	}
	return c;
}

static void freestrv(struct vigil_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
}

static void freecfg(struct vigil_config *c)
{
	for (size_t i = 0; i < c->n_scopes; i++) {
		free(c->scopes[i].name);
		freestrv(&c->scopes[i].paths);
		freestrv(&c->scopes[i].include);
		freestrv(&c->scopes[i].exclude);
	}
	free(c->scopes);
	free(c);
}

/* --- collecting records ---------------------------------------------------- */

struct coll {
	struct vigil_record *r;
	size_t n, cap;
	int fail_after; /* > 0: return -ECANCELED at that record */
	int progress_calls;
};

static int collect(void *arg, const struct vigil_record *rec, const struct vigil_scope *s)
{
	struct coll *c = arg;

	assert_non_null(s);
	assert_string_equal(rec->scope, s->name);
	if (c->fail_after && (int)c->n + 1 >= c->fail_after)
		return -ECANCELED;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->r = realloc(c->r, c->cap * sizeof(*c->r));
	}
	assert_int_equal(vigil_record_copy(&c->r[c->n], rec), 0);
	c->n++;
	return 0;
}

static void on_progress(void *arg, const struct vigil_walk_stats *st, uint64_t planned)
{
	struct coll *c = arg;

	(void)st;
	(void)planned;
	c->progress_calls++;
}

static void coll_free(struct coll *c)
{
	for (size_t i = 0; i < c->n; i++)
		vigil_record_clear(&c->r[i]);
	free(c->r);
	memset(c, 0, sizeof(*c));
}

static int count_path(const struct coll *c, const char *path, size_t len)
{
	int n = 0;

	for (size_t i = 0; i < c->n; i++)
		if (c->r[i].path_len == len && !memcmp(c->r[i].path, path, len))
			n++;
	return n;
}

static const struct vigil_record *find(const struct coll *c, const char *path)
{
	size_t len = strlen(path);

	assert_true(count_path(c, path, len) <= 1);
	for (size_t i = 0; i < c->n; i++)
		if (c->r[i].path_len == len && !memcmp(c->r[i].path, path, len))
			return &c->r[i];
	return NULL;
}

static const struct vigil_record *must(const struct coll *c, const char *path)
{
	const struct vigil_record *r = find(c, path);

	if (!r)
		fail_msg("no record for '%s'", path);
	return r;
}

static int run(struct vigil_config *cfg, struct coll *c, int threads, const char *root,
	       struct vigil_walk_stats *st)
{
	struct vigil_walk_opts o = { .cfg = cfg, .threads = threads, .root = root,
				     .cb = collect, .arg = c };
	struct vigil_err err = { { 0 } };

	return vigil_walk_run(&o, st, &err);
}

/* Every path reported at most once. */
static void assert_unique(const struct coll *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (count_path(c, c->r[i].path, c->r[i].path_len) != 1)
			fail_msg("'%s' reported %d times", c->r[i].path,
				 count_path(c, c->r[i].path, c->r[i].path_len));
}

static void sha256_hex_of(const void *buf, size_t len, char out[65])
{
	unsigned char d[32];

	vigil_sha256(buf, len, d);
	vigil_hex(d, 32, out);
}

static void digest_hex(const struct vigil_record *r, char out[65])
{
	assert_true(r->algos & VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256));
	vigil_hex(r->digest[VIGIL_ALGO_SHA256], 32, out);
}

/* --- tests ----------------------------------------------------------------- */

static void test_every_type(void **state)
{
	struct fx *f = *state;
	struct tscope ts[] = { { .name = "all", .paths = { "/t" }, .depth = -1 } };
	struct vigil_config *cfg;
	struct vigil_walk_stats st;
	struct coll c = { 0 };
	const struct vigil_record *r;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char hex[65], want[65];
	int sock, have_dev;

	assert_int_equal(mkdir(P(f, "/t"), 0755), 0);
	assert_int_equal(mkdir(P(f, "/t/d"), 0750), 0);
	put_file(P(f, "/t/d/file"), "hello\n", 04755);
	assert_int_equal(symlink("../nowhere/x", P(f, "/t/link")), 0);
	assert_int_equal(mkfifo(P(f, "/t/fifo"), 0600), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", P(f, "/t/sock"));
	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(sock >= 0);
	assert_int_equal(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	have_dev = mknod(P(f, "/t/chr"), S_IFCHR | 0600, makedev(1, 3)) == 0 &&
		   mknod(P(f, "/t/blk"), S_IFBLK | 0600, makedev(7, 200)) == 0;

	cfg = mkcfg(f, ts, 1, 1);
	assert_int_equal(run(cfg, &c, 2, NULL, &st), 0);
	assert_unique(&c);

	r = must(&c, P(f, "/t"));
	assert_int_equal(r->ftype, VIGIL_FT_DIR);
	r = must(&c, P(f, "/t/d"));
	assert_int_equal(r->ftype, VIGIL_FT_DIR);
	assert_int_equal(r->mode, 0750);
	r = must(&c, P(f, "/t/d/file"));
	assert_int_equal(r->ftype, VIGIL_FT_REG);
	assert_int_equal(r->mode, 04755);
	assert_int_equal(r->size, 6);
	assert_int_equal(r->status, 0);
	assert_int_equal(r->nlink, 1);
	assert_true(r->ino != 0 && r->mtime_ns > 0 && r->ctime_ns > 0);
	digest_hex(r, hex);
	sha256_hex_of("hello\n", 6, want);
	assert_string_equal(hex, want);
	assert_string_equal(r->scope, "all");
	r = must(&c, P(f, "/t/link"));
	assert_int_equal(r->ftype, VIGIL_FT_LNK);
	assert_int_equal(r->target_len, 12);
	assert_memory_equal(r->target, "../nowhere/x", 12);
	assert_int_equal(r->algos, 0);
	/* the FIFO is in the scope and nobody writes it: a read would hang */
	r = must(&c, P(f, "/t/fifo"));
	assert_int_equal(r->ftype, VIGIL_FT_FIFO);
	assert_true(r->status & VIGIL_REC_NOT_READ);
	assert_int_equal(r->algos, 0);
	r = must(&c, P(f, "/t/sock"));
	assert_int_equal(r->ftype, VIGIL_FT_SOCK);
	assert_true(r->status & VIGIL_REC_NOT_READ);
	if (have_dev) {
		r = must(&c, P(f, "/t/chr"));
		assert_int_equal(r->ftype, VIGIL_FT_CHR);
		assert_int_equal(r->rdev, makedev(1, 3));
		assert_true(r->status & VIGIL_REC_NOT_READ);
		r = must(&c, P(f, "/t/blk"));
		assert_int_equal(r->ftype, VIGIL_FT_BLK);
		assert_int_equal(r->rdev, makedev(7, 200));
	}
	assert_int_equal(st.files, 1);
	assert_int_equal(st.dirs, 2);
	assert_int_equal(st.others, have_dev ? 5 : 3);
	assert_int_equal(st.bytes, 6);
	assert_int_equal(st.errors, 0);
	close(sock);
	coll_free(&c);
	freecfg(cfg);
}

static void test_xattrs(void **state)
{
	struct fx *f = *state;
	struct tscope ts[] = { { .name = "x", .paths = { "/t" }, .depth = -1 } };
	struct vigil_config *cfg;
	struct coll c = { 0 };
	const struct vigil_record *r;
	static const unsigned char want[] = "\x06\0\0\0user.a\x01\0\0\0" "1"
					    "\x06\0\0\0user.b\x03\0\0\0" "two";

	assert_int_equal(mkdir(P(f, "/t"), 0755), 0);
	put_file(P(f, "/t/f"), "x", 0644);
	/* set in reverse order: the blob must come out sorted */
	if (setxattr(P(f, "/t/f"), "user.b", "two", 3, 0) < 0 && errno == ENOTSUP)
		skip();
	assert_int_equal(setxattr(P(f, "/t/f"), "user.a", "1", 1, 0), 0);
	assert_int_equal(setxattr(P(f, "/t"), "user.b", "two", 3, 0), 0);
	assert_int_equal(setxattr(P(f, "/t"), "user.a", "1", 1, 0), 0);
	cfg = mkcfg(f, ts, 1, 1);
	assert_int_equal(run(cfg, &c, 1, NULL, NULL), 0);
	r = must(&c, P(f, "/t/f"));
	assert_int_equal(r->xattrs_len, sizeof(want) - 1);
	assert_memory_equal(r->xattrs, want, sizeof(want) - 1);
	assert_false(r->status & VIGIL_REC_XATTR_ERR);
	r = must(&c, P(f, "/t"));
	assert_int_equal(r->xattrs_len, sizeof(want) - 1);
	assert_memory_equal(r->xattrs, want, sizeof(want) - 1);
	coll_free(&c);

	{
		/* Larger than the first read buffer: takes the size query.  ext4
		 * keeps a value within one block, tmpfs does not: use /dev/shm. */
		char big[8192], shm[] = "/dev/shm/vigil-xattr-XXXXXX";
		unsigned char *blob;
		size_t len;
		int fd = mkstemp(shm);

		memset(big, 'v', sizeof(big));
		if (fd >= 0 && fsetxattr(fd, "user.c", big, sizeof(big), 0) == 0) {
			assert_int_equal(fsetxattr(fd, "user.a", "1", 1, 0), 0);
			assert_int_equal(vigil_attr_xattrs(-1, shm, &blob, &len), 0);
			assert_int_equal(len, 4 + 6 + 4 + 1 + 4 + 6 + 4 + sizeof(big));
			assert_memory_equal(blob, want, 15);
			assert_memory_equal(blob + 15 + 4, "user.c", 6);
			assert_memory_equal(blob + 15 + 14, big, sizeof(big));
			free(blob);
			assert_int_equal(vigil_attr_xattrs(fd, NULL, &blob, &len), 0);
			assert_int_equal(len, 4 + 6 + 4 + 1 + 4 + 6 + 4 + sizeof(big));
			free(blob);
		} else {
			print_message("no 8 KiB user xattr on /dev/shm: large value not tested\n");
		}
		if (fd >= 0) {
			close(fd);
			unlink(shm);
		}
	}
	/* no xattrs: NULL blob, no error */
	put_file(P(f, "/t/plain"), "", 0644);
	{
		struct vigil_record rec;

		assert_int_equal(vigil_walk_one(NULL, P(f, "/t/plain"), strlen(P(f, "/t/plain")), 0, 0,
						&rec, NULL), 0);
		assert_null(rec.xattrs);
		assert_int_equal(rec.xattrs_len, 0);
		vigil_record_clear(&rec);
	}
	freecfg(cfg);
}

static void test_odd_names(void **state)
{
	struct fx *f = *state;
	struct tscope ts[] = { { .name = "odd", .paths = { "/t" }, .depth = -1 } };
	struct vigil_config *cfg;
	struct coll c = { 0 };
	char name255[256], path[PATH_MAX];
	const char *odd[] = { "new\nline", "bad\xff\xfe", "sp ace", "*glob?[x]", "back\\slash" };
	const struct vigil_record *r;

	assert_int_equal(mkdir(P(f, "/t"), 0755), 0);
	memset(name255, 'n', 255);
	name255[255] = '\0';
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", P(f, "/t"), odd[i]);
		put_file(path, odd[i], 0644);
	}
	snprintf(path, sizeof(path), "%s/%s", P(f, "/t"), name255);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s/%s", P(f, "/t"), name255, name255);
	put_file(path, "deep", 0644);

	cfg = mkcfg(f, ts, 1, 1);
	assert_int_equal(run(cfg, &c, 2, NULL, NULL), 0);
	assert_unique(&c);
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		char want[65], hex[65];

		snprintf(path, sizeof(path), "%s/%s", P(f, "/t"), odd[i]);
		r = must(&c, path);
		assert_int_equal(r->path_len, strlen(path));
		digest_hex(r, hex);
		sha256_hex_of(odd[i], strlen(odd[i]), want);
		assert_string_equal(hex, want);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", P(f, "/t"), name255, name255);
	r = must(&c, path);
	assert_int_equal(r->ftype, VIGIL_FT_REG);
	assert_int_equal(c.n, 1 + 5 + 2);
	coll_free(&c);
	freecfg(cfg);
}

/* A path longer than PATH_MAX, built with mkdirat from directory fds. */
static void test_deeper_than_path_max(void **state)
{
	struct fx *f = *state;
	struct tscope ts[] = { { .name = "deep", .paths = { "/t" }, .depth = -1 } };
	struct vigil_config *cfg;
	struct coll c = { 0 };
	char comp[201], *deep = NULL;
	size_t dl;
	int fd, levels = 30, maxlen_seen = 0;
	struct vigil_record rec;

	assert_int_equal(mkdir(P(f, "/t"), 0755), 0);
	memset(comp, 'd', 200);
	comp[200] = '\0';
	fd = open(P(f, "/t"), O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	dl = strlen(P(f, "/t"));
	deep = malloc(dl + (size_t)levels * 201 + 16);
	strcpy(deep, P(f, "/t"));
	for (int i = 0; i < levels; i++) {
		int nfd;

		assert_int_equal(mkdirat(fd, comp, 0755), 0);
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY);
		assert_true(nfd >= 0);
		close(fd);
		fd = nfd;
		strcat(deep, "/");
		strcat(deep, comp);
	}
	{
		int ffd = openat(fd, "leaf", O_WRONLY | O_CREAT, 0644);

		assert_true(ffd >= 0);
		assert_int_equal(write(ffd, "leaf", 4), 4);
		close(ffd);
	}
	close(fd);
	strcat(deep, "/leaf");
	assert_true(strlen(deep) > PATH_MAX);

	cfg = mkcfg(f, ts, 1, 1);
	assert_int_equal(run(cfg, &c, 2, NULL, NULL), 0);
	assert_int_equal(c.n, 1 + (size_t)levels + 1);
	for (size_t i = 0; i < c.n; i++)
		if ((int)c.r[i].path_len > maxlen_seen)
			maxlen_seen = (int)c.r[i].path_len;
	assert_int_equal(maxlen_seen, strlen(deep));
	assert_non_null(find(&c, deep));
	assert_int_equal(find(&c, deep)->size, 4);
	assert_int_equal(find(&c, deep)->algos, VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256));
	coll_free(&c);

	/* vigil_walk_one reaches it too */
	assert_int_equal(vigil_walk_one(NULL, deep, strlen(deep), 0, 0, &rec, NULL), 0);
	assert_int_equal(rec.ftype, VIGIL_FT_REG);
	assert_int_equal(rec.size, 4);
	vigil_record_clear(&rec);
	free(deep);
	freecfg(cfg);
}

static void test_symlink_loops(void **state)
{
	struct fx *f = *state;
	struct tscope ts[] = { { .name = "l", .paths = { "/t" }, .depth = -1 } };
	struct vigil_config *cfg;
	struct coll c = { 0 };

	assert_int_equal(mkdir(P(f, "/t"), 0755), 0);
	assert_int_equal(symlink("b", P(f, "/t/a")), 0);
	assert_int_equal(symlink("a", P(f, "/t/b")), 0);
	assert_int_equal(symlink(".", P(f, "/t/self")), 0);
	assert_int_equal(symlink(f->base, P(f, "/t/up")), 0);
	cfg = mkcfg(f, ts, 1, 1);
	assert_int_equal(run(cfg, &c, 2, NULL, NULL), 0);
	assert_int_equal(c.n, 5);
	assert_int_equal(must(&c, P(f, "/t/self"))->ftype, VIGIL_FT_LNK);
	assert_int_equal(must(&c, P(f, "/t/a"))->ftype, VIGIL_FT_LNK);
	coll_free(&c);
	freecfg(cfg);
}

/* Root cannot be refused by a mode, so a child drops to nobody (65534) and
 * walks a tree with a 0000 file and a 0000 directory in it. */
static void test_unreadable(void **state)
{
	struct fx *f = *state;
	struct tscope ts[] = { { .name = "u", .paths = { "/t" }, .depth = -1 } };
	struct vigil_config *cfg;
	pid_t pid;
	int status;

	if (geteuid() != 0)
		skip();
	assert_int_equal(chmod(f->base, 0755), 0);
	assert_int_equal(mkdir(P(f, "/t"), 0755), 0);
	put_file(P(f, "/t/secret"), "secret", 0000);
	put_file(P(f, "/t/open"), "open", 0644);
	assert_int_equal(mkdir(P(f, "/t/closed"), 0000), 0);
	cfg = mkcfg(f, ts, 1, 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct coll c = { 0 };
		struct vigil_walk_stats st;
		const struct vigil_record *r;
		int ok;

		if (setgid(65534) || setuid(65534))
			_exit(3);
		if (run(cfg, &c, 2, NULL, &st))
			_exit(4);
		r = find(&c, P(f, "/t/secret"));
		ok = r && r->ftype == VIGIL_FT_REG && (r->status & VIGIL_REC_UNREADABLE) &&
		     r->err == EACCES && r->algos == 0 && r->size == 6;
		r = find(&c, P(f, "/t/closed"));
		ok = ok && r && r->ftype == VIGIL_FT_DIR && (r->status & VIGIL_REC_UNREADABLE) &&
		     r->err == EACCES;
		r = find(&c, P(f, "/t/open"));
		ok = ok && r && r->status == 0 && r->algos;
		ok = ok && st.errors == 2 && c.n == 4;
		_exit(ok ? 0 : 5);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	freecfg(cfg);
}

static void test_include_exclude_depth(void **state)
{
	struct fx *f = *state;
	struct vigil_config *cfg;
	struct coll c = { 0 };

	assert_int_equal(mkdir(P(f, "/t"), 0755), 0);
	assert_int_equal(mkdir(P(f, "/t/a"), 0755), 0);
	assert_int_equal(mkdir(P(f, "/t/a/b"), 0755), 0);
	assert_int_equal(mkdir(P(f, "/t/skip"), 0755), 0);
	put_file(P(f, "/t/x.conf"), "1", 0644);
	put_file(P(f, "/t/x.txt"), "2", 0644);
	put_file(P(f, "/t/a/y.conf"), "3", 0644);
	put_file(P(f, "/t/a/b/z.conf"), "4", 0644);
	put_file(P(f, "/t/skip/w.conf"), "5", 0644);

	{
		/* include filters records, exclude prunes, both on the full path */
		struct tscope ts[] = { { .name = "ie", .paths = { "/t" }, .include = { "*.conf" },
					 .exclude = { "*/skip" }, .depth = -1 } };

		cfg = mkcfg(f, ts, 1, 1);
		assert_int_equal(run(cfg, &c, 2, NULL, NULL), 0);
		assert_int_equal(c.n, 3);
		must(&c, P(f, "/t/x.conf"));
		must(&c, P(f, "/t/a/y.conf"));
		must(&c, P(f, "/t/a/b/z.conf"));
		assert_int_equal(vigil_walk_scope_for(cfg, P(f, "/t/skip/w.conf"),
						      strlen(P(f, "/t/skip/w.conf"))), NULL);
		assert_ptr_equal(vigil_walk_scope_for(cfg, P(f, "/t/a/y.conf"),
						      strlen(P(f, "/t/a/y.conf"))), &cfg->scopes[0]);
		assert_null(vigil_walk_scope_for(cfg, P(f, "/t/x.txt"), strlen(P(f, "/t/x.txt"))));
		coll_free(&c);
		freecfg(cfg);
	}
	{
		struct tscope ts[] = { { .name = "d1", .paths = { "/t" }, .depth = 1 } };

		cfg = mkcfg(f, ts, 1, 1);
		assert_int_equal(run(cfg, &c, 2, NULL, NULL), 0);
		/* /t, a, skip, x.conf, x.txt */
		assert_int_equal(c.n, 5);
		assert_null(find(&c, P(f, "/t/a/y.conf")));
		must(&c, P(f, "/t/a"));
		coll_free(&c);
		freecfg(cfg);
	}
	{
		struct tscope ts[] = { { .name = "d0", .paths = { "/t/a", "/t/x.*" }, .depth = 0 } };

		cfg = mkcfg(f, ts, 1, 1);
		assert_int_equal(run(cfg, &c, 2, NULL, NULL), 0);
		assert_int_equal(c.n, 3);
		must(&c, P(f, "/t/a"));
		must(&c, P(f, "/t/x.conf"));
		must(&c, P(f, "/t/x.txt"));
		coll_free(&c);
		freecfg(cfg);
	}
}

static void test_scope_for_table(void **state)
{
	struct fx *f = *state;
	struct tscope ts[] = {
		{ .name = "a", .paths = { "/etc/docker", "/usr/bin/docker*" }, .depth = -1 },
		{ .name = "b", .paths = { "/etc" }, .exclude = { "/etc/adjtime" }, .depth = -1 },
		{ .name = "c", .paths = { "/usr/bin" }, .depth = 0 },
		{ .name = "d", .paths = { "/" }, .include = { "*.log" }, .depth = 3 },
	};
	static const struct {
		const char *path;
		const char *scope;
	} cases[] = {
		{ "/etc/docker", "a" },        { "/etc/docker/daemon.json", "a" },
		{ "/etc/dockerx", "b" },       { "/etc", "b" },
		{ "/etc/adjtime", NULL },      { "/etc/adjtime/x.log", "d" },
		{ "/usr/bin/dockerd", "a" },   { "/usr/bin/docker/sub", "a" },
		{ "/usr/bin", "c" },           { "/usr/bin/ls", NULL },
		{ "/var/a.log", "d" },         { "/var/a/b/c.log", NULL },
		{ "/usr/bin/.docker", NULL },  { "/etc/", "b" },
	};
	struct vigil_config *cfg = mkcfg(f, ts, 4, 0);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct vigil_scope *s =
			vigil_walk_scope_for(cfg, cases[i].path, strlen(cases[i].path));

		if (!cases[i].scope && s)
			fail_msg("'%s': scope '%s', want none", cases[i].path, s->name);
		if (cases[i].scope && (!s || strcmp(s->name, cases[i].scope)))
			fail_msg("'%s': scope '%s', want '%s'", cases[i].path, s ? s->name : "(none)",
				 cases[i].scope);
	}
	freecfg(cfg);
}

/* Overlapping scopes: every path once, by the first scope in config order that
 * reaches it; a later scope below a symlink or a mount is not hidden. */
static void test_overlap(void **state)
{
	struct fx *f = *state;
	struct tscope ts[] = {
		{ .name = "docker", .paths = { "/t/etc/docker" }, .depth = -1 },
		{ .name = "etc", .paths = { "/t/etc", "/t/etc/docker", "/t/etc" }, .depth = -1 },
		{ .name = "all", .paths = { "/t" }, .depth = -1 },
		{ .name = "vialink", .paths = { "/t/lnk/sub" }, .depth = -1 },
	};
	struct vigil_config *cfg;
	struct coll c = { 0 };

	assert_int_equal(mkdir(P(f, "/t"), 0755), 0);
	assert_int_equal(mkdir(P(f, "/t/etc"), 0755), 0);
	assert_int_equal(mkdir(P(f, "/t/etc/docker"), 0755), 0);
	assert_int_equal(mkdir(P(f, "/t/real"), 0755), 0);
	assert_int_equal(mkdir(P(f, "/t/real/sub"), 0755), 0);
	put_file(P(f, "/t/etc/docker/daemon.json"), "{}", 0600);
	put_file(P(f, "/t/etc/hosts"), "h", 0644);
	put_file(P(f, "/t/real/sub/f"), "f", 0644);
	assert_int_equal(symlink("real", P(f, "/t/lnk")), 0);

	cfg = mkcfg(f, ts, 4, 1);
	assert_int_equal(run(cfg, &c, 2, NULL, NULL), 0);
	assert_unique(&c);
	assert_string_equal(must(&c, P(f, "/t/etc/docker"))->scope, "docker");
	assert_string_equal(must(&c, P(f, "/t/etc/docker/daemon.json"))->scope, "docker");
	assert_string_equal(must(&c, P(f, "/t/etc"))->scope, "etc");
	assert_string_equal(must(&c, P(f, "/t/etc/hosts"))->scope, "etc");
	assert_string_equal(must(&c, P(f, "/t"))->scope, "all");
	assert_string_equal(must(&c, P(f, "/t/real/sub/f"))->scope, "all");
	assert_string_equal(must(&c, P(f, "/t/lnk"))->scope, "all");
	/* "all" never follows /t/lnk, so the later scope keeps what is below it */
	assert_string_equal(must(&c, P(f, "/t/lnk/sub"))->scope, "vialink");
	assert_string_equal(must(&c, P(f, "/t/lnk/sub/f"))->scope, "vialink");
	assert_int_equal(c.n, 11);
	coll_free(&c);

	/* only: the listed paths and below */
	{
		const char *only[] = { P(f, "/t/etc"), NULL };
		struct vigil_walk_opts o = { .cfg = cfg, .threads = 1, .only = only, .cb = collect,
					     .arg = &c };

		assert_int_equal(vigil_walk_run(&o, NULL, NULL), 0);
		assert_unique(&c);
		assert_int_equal(c.n, 4);
		assert_string_equal(must(&c, P(f, "/t/etc/docker/daemon.json"))->scope, "docker");
		assert_string_equal(must(&c, P(f, "/t/etc/hosts"))->scope, "etc");
		coll_free(&c);
	}
	freecfg(cfg);
}

static void test_one_filesystem(void **state)
{
	struct fx *f = *state;
	struct tscope ts[] = {
		{ .name = "onefs", .paths = { "/t" }, .depth = -1, .one_fs = 1 },
		{ .name = "mnt", .paths = { "/t/mnt" }, .depth = -1, .one_fs = 1 },
	};
	struct vigil_config *cfg;
	struct vigil_walk_stats st;
	struct coll c = { 0 };

	assert_int_equal(mkdir(P(f, "/t"), 0755), 0);
	assert_int_equal(mkdir(P(f, "/t/mnt"), 0755), 0);
	put_file(P(f, "/t/f"), "f", 0644);
	if (mount("tmpfs", P(f, "/t/mnt"), "tmpfs", 0, "size=1m") < 0) {
		print_message("cannot mount a tmpfs (%s): skipped\n", strerror(errno));
		skip();
	}
	put_file(P(f, "/t/mnt/inner"), "i", 0644);

	cfg = mkcfg(f, ts, 2, 1);
	cfg->n_scopes = 1;
	assert_int_equal(run(cfg, &c, 2, NULL, &st), 0);
	assert_int_equal(st.skipped_fs, 1);
	must(&c, P(f, "/t/mnt")); /* the mount point is recorded, not entered */
	assert_null(find(&c, P(f, "/t/mnt/inner")));
	assert_int_equal(c.n, 3);
	coll_free(&c);

	cfg->scopes[0].one_filesystem = 0;
	assert_int_equal(run(cfg, &c, 2, NULL, &st), 0);
	assert_int_equal(st.skipped_fs, 0);
	must(&c, P(f, "/t/mnt/inner"));
	assert_int_equal(c.n, 4);
	coll_free(&c);

	/* a later scope on the mounted file system is not hidden by the first */
	cfg->scopes[0].one_filesystem = 1;
	cfg->n_scopes = 2;
	assert_int_equal(run(cfg, &c, 2, NULL, &st), 0);
	assert_unique(&c);
	assert_string_equal(must(&c, P(f, "/t/mnt/inner"))->scope, "mnt");
	assert_string_equal(must(&c, P(f, "/t/mnt"))->scope, "onefs");
	assert_int_equal(c.n, 4);
	coll_free(&c);

	assert_int_equal(umount(P(f, "/t/mnt")), 0);
	freecfg(cfg);
}

/* --root: paths are inside the image; no symlink in the image leads out. */
static void test_root_confinement(void **state)
{
	struct fx *f = *state;
	struct tscope ts[] = {
		{ .name = "img", .paths = { "/etc", "/link", "/link/passwd", "/rel/etc/pass*",
					    "/l*nk/passwd" }, .depth = -1 },
	};
	struct vigil_config *cfg;
	struct coll c = { 0 };
	const struct vigil_record *r;
	struct vigil_record rec;
	char want[65], hex[65];
	const char *root = P(f, "/img");

	assert_int_equal(mkdir(P(f, "/img"), 0755), 0);
	assert_int_equal(mkdir(P(f, "/img/etc"), 0755), 0);
	put_file(P(f, "/img/etc/passwd"), "image passwd\n", 0644);
	assert_int_equal(symlink("/etc", P(f, "/img/link")), 0);
	assert_int_equal(symlink("../../../../../..", P(f, "/img/rel")), 0);
	sha256_hex_of("image passwd\n", 13, want);

	cfg = mkcfg(f, ts, 1, 0); /* paths as the image sees them */
	assert_int_equal(run(cfg, &c, 2, root, NULL), 0);
	assert_unique(&c);
	r = must(&c, "/link");
	assert_int_equal(r->ftype, VIGIL_FT_LNK);
	assert_memory_equal(r->target, "/etc", 4);
	/* "/link/passwd" resolves inside the image: the image's file, never the host's */
	r = must(&c, "/link/passwd");
	digest_hex(r, hex);
	assert_string_equal(hex, want);
	r = must(&c, "/rel/etc/passwd");
	digest_hex(r, hex);
	assert_string_equal(hex, want);
	must(&c, "/etc");
	must(&c, "/etc/passwd");
	for (size_t i = 0; i < c.n; i++)
		assert_int_equal(strncmp(c.r[i].path, f->base, strlen(f->base)) == 0, 0);
	coll_free(&c);

	assert_int_equal(vigil_walk_one(root, "/link/passwd", 12, 0, 0, &rec, NULL), 0);
	digest_hex(&rec, hex);
	assert_string_equal(hex, want);
	assert_string_equal(rec.path, "/link/passwd");
	vigil_record_clear(&rec);
	assert_int_equal(vigil_walk_one(root, "/link/shadow", 12, 0, 0, &rec, NULL), 0);
	assert_int_equal(rec.ftype, VIGIL_FT_NONE); /* the host's /etc/shadow exists */
	vigil_record_clear(&rec);
	freecfg(cfg);
}

/* The same tree with 1 and 4 threads gives the same records. */
static int cmp_rec(const void *a, const void *b)
{
	const struct vigil_record *x = a, *y = b;
	size_t n = x->path_len < y->path_len ? x->path_len : y->path_len;
	int c = memcmp(x->path, y->path, n);

	return c ? c : (x->path_len > y->path_len) - (x->path_len < y->path_len);
}

static void test_threads_identical(void **state)
{
	struct fx *f = *state;
	struct tscope ts[] = { { .name = "t", .paths = { "/t" }, .depth = -1 } };
	struct vigil_config *cfg;
	struct coll c1 = { 0 }, c4 = { 0 };
	char path[PATH_MAX];
	char *buf = malloc(3 << 20);

	assert_int_equal(mkdir(P(f, "/t"), 0755), 0);
	for (int d = 0; d < 8; d++) {
		snprintf(path, sizeof(path), "%s/d%d", P(f, "/t"), d);
		assert_int_equal(mkdir(path, 0755), 0);
		for (int i = 0; i < 40; i++) {
			size_t sz = (size_t)(i * 7919 + d * 104729) % (3u << 20);
			int fd;

			snprintf(path, sizeof(path), "%s/d%d/f%d", P(f, "/t"), d, i);
			for (size_t k = 0; k < sz; k++)
				buf[k] = (char)(k * 31 + (size_t)i);
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			assert_true(fd >= 0);
			assert_int_equal(write(fd, buf, sz), (ssize_t)sz);
			close(fd);
		}
	}
	free(buf);
	cfg = mkcfg(f, ts, 1, 1);
	cfg->algos = (1u << VIGIL_ALGO_COUNT) - 1;
	assert_int_equal(run(cfg, &c1, 1, NULL, NULL), 0);
	assert_int_equal(run(cfg, &c4, 4, NULL, NULL), 0);
	assert_int_equal(c1.n, 1 + 8 + 320);
	assert_int_equal(c1.n, c4.n);
	qsort(c1.r, c1.n, sizeof(*c1.r), cmp_rec);
	qsort(c4.r, c4.n, sizeof(*c4.r), cmp_rec);
	for (size_t i = 0; i < c1.n; i++) {
		size_t l1, l4;
		unsigned char *e1 = vigil_record_encode(&c1.r[i], &l1);
		unsigned char *e4 = vigil_record_encode(&c4.r[i], &l4);

		assert_non_null(e1);
		assert_non_null(e4);
		assert_int_equal(l1, l4);
		assert_memory_equal(e1, e4, l1);
		free(e1);
		free(e4);
	}
	coll_free(&c1);
	coll_free(&c4);
	freecfg(cfg);
}

/* A 4 GiB sparse file with a little data in the middle hashes to what reading
 * every byte would give (holes are zeros), computed here with libgcrypt. */
static void test_sparse_4g(void **state)
{
	struct fx *f = *state;
	const uint64_t size = 4ull << 30, at = 3ull << 30;
	static const char data[] = "data in the middle of nothing";
	struct vigil_digest *d;
	struct vigil_record rec;
	unsigned char want[32], *zeros;
	uint64_t left;
	int fd;

	fd = open(P(f, "/sparse"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		skip();
	}
	assert_int_equal(pwrite(fd, data, sizeof(data), (off_t)at), (ssize_t)sizeof(data));
	close(fd);

	zeros = calloc(1, 1 << 20);
	d = vigil_digest_new(VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256));
	for (left = at; left; left -= 1 << 20)
		vigil_digest_write(d, zeros, 1 << 20);
	vigil_digest_write(d, data, sizeof(data));
	for (left = size - at - sizeof(data); left;) {
		size_t n = left < (1 << 20) ? (size_t)left : 1 << 20;

		vigil_digest_write(d, zeros, n);
		left -= n;
	}
	vigil_digest_read(d, VIGIL_ALGO_SHA256, want);
	vigil_digest_free(d);
	free(zeros);

	assert_int_equal(vigil_walk_one(NULL, P(f, "/sparse"), strlen(P(f, "/sparse")), 0, 0, &rec,
					NULL), 0);
	assert_int_equal(rec.size, size);
	assert_int_equal(rec.status, 0);
	assert_memory_equal(rec.digest[VIGIL_ALGO_SHA256], want, 32);
	vigil_record_clear(&rec);
	unlink(P(f, "/sparse"));
}

static void test_max_file_size(void **state)
{
	struct fx *f = *state;
	struct tscope ts[] = { { .name = "m", .paths = { "/t" }, .depth = -1 } };
	struct vigil_config *cfg;
	struct coll c = { 0 };
	const struct vigil_record *r;

	assert_int_equal(mkdir(P(f, "/t"), 0755), 0);
	put_file(P(f, "/t/small"), "12345", 0644);
	put_file(P(f, "/t/big"), "123456", 0644);
	cfg = mkcfg(f, ts, 1, 1);
	cfg->max_file_size = 5;
	assert_int_equal(run(cfg, &c, 2, NULL, NULL), 0);
	r = must(&c, P(f, "/t/big"));
	assert_true(r->status & VIGIL_REC_TOO_LARGE);
	assert_int_equal(r->algos, 0);
	assert_int_equal(r->size, 6);
	r = must(&c, P(f, "/t/small"));
	assert_int_equal(r->status, 0);
	assert_int_not_equal(r->algos, 0);
	coll_free(&c);
	freecfg(cfg);
}

static void test_stat_changed_compare(void **state)
{
	struct stat a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.st_size = 10;
	a.st_ino = 5;
	a.st_mtim.tv_sec = 100;
	a.st_ctim.tv_sec = 100;
	for (int i = 0; i < 7; i++) {
		b = a;
		switch (i) {
		case 0: break;
		case 1: b.st_size = 11; break;
		case 2: b.st_ino = 6; break;
		case 3: b.st_mtim.tv_nsec = 1; break;
		case 4: b.st_ctim.tv_sec = 101; break;
		case 5: b.st_dev = 9; break;
		case 6: b.st_atim.tv_sec = 999; break; /* atime is not a change */
		}
		assert_int_equal(vigil_attr_stat_changed(&a, &b), i >= 1 && i <= 5);
	}
}

struct writer {
	const char *path;
	int done, started;
};

static void *appender(void *arg)
{
	struct writer *w = arg;
	char block[4096];
	int fd = open(w->path, O_WRONLY | O_APPEND);

	memset(block, 'w', sizeof(block));
	while (fd >= 0 && !__atomic_load_n(&w->done, __ATOMIC_RELAXED)) {
		if (write(fd, block, sizeof(block)) < 0)
			break;
		__atomic_store_n(&w->started, 1, __ATOMIC_RELAXED);
		/* stay bounded: truncate back now and then */
		if (lseek(fd, 0, SEEK_END) > (512 << 20))
			break;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* A writer appends all the time the file is hashed: the record says CHANGED.
 * Not timed: the writer runs from before the read starts until after it ends. */
static void test_changed_while_read(void **state)
{
	struct fx *f = *state;
	struct writer w = { .path = P(f, "/grow") };
	struct vigil_record rec;
	pthread_t t;
	char *buf = calloc(1, 64 << 20);
	int fd = open(w.path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, 64 << 20), 64 << 20);
	close(fd);
	free(buf);
	assert_int_equal(pthread_create(&t, NULL, appender, &w), 0);
	while (!__atomic_load_n(&w.started, __ATOMIC_RELAXED))
		usleep(1000);
	assert_int_equal(vigil_walk_one(NULL, w.path, strlen(w.path), 0, 0, &rec, NULL), 0);
	__atomic_store_n(&w.done, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	assert_true(rec.status & VIGIL_REC_CHANGED);
	vigil_record_clear(&rec);
	unlink(w.path);
}

static void test_walk_one(void **state)
{
	struct fx *f = *state;
	struct vigil_record rec;
	struct vigil_err err = { { 0 } };
	unsigned all = (1u << VIGIL_ALGO_COUNT) - 1;

	assert_int_equal(vigil_walk_one(NULL, P(f, "/absent/x"), strlen(P(f, "/absent/x")), 0, 0,
					&rec, &err), 0);
	assert_int_equal(rec.ftype, VIGIL_FT_NONE);
	assert_string_equal(rec.path, P(f, "/absent/x"));
	vigil_record_clear(&rec);

	put_file(P(f, "/f"), "abc", 0640);
	assert_int_equal(vigil_walk_one(NULL, P(f, "/f"), strlen(P(f, "/f")), all, 0, &rec, &err), 0);
	assert_int_equal(rec.ftype, VIGIL_FT_REG);
	assert_int_equal(rec.algos, all);
	{
		char hex[129];

		vigil_hex(rec.digest[VIGIL_ALGO_SHA3_256], 32, hex);
		assert_string_equal(hex, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
	}
	vigil_record_clear(&rec);

	assert_int_equal(mkfifo(P(f, "/fifo"), 0644), 0);
	assert_int_equal(vigil_walk_one(NULL, P(f, "/fifo"), strlen(P(f, "/fifo")), 0, 0, &rec, &err), 0);
	assert_int_equal(rec.ftype, VIGIL_FT_FIFO);
	assert_true(rec.status & VIGIL_REC_NOT_READ);
	vigil_record_clear(&rec);

	assert_int_equal(vigil_walk_one(NULL, f->base, strlen(f->base), 0, 0, &rec, &err), 0);
	assert_int_equal(rec.ftype, VIGIL_FT_DIR);
	vigil_record_clear(&rec);

	assert_int_equal(vigil_walk_one(NULL, "/", 1, 0, 0, &rec, &err), 0);
	assert_int_equal(rec.ftype, VIGIL_FT_DIR);
	vigil_record_clear(&rec);

	assert_int_equal(vigil_walk_one(NULL, "rel", 3, 0, 0, &rec, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "rel"));
}

static void test_callback_stops(void **state)
{
	struct fx *f = *state;
	struct tscope ts[] = { { .name = "s", .paths = { "/t" }, .depth = -1 } };
	struct vigil_config *cfg;
	struct coll c = { .fail_after = 3 };
	char path[PATH_MAX];
	struct vigil_walk_opts o = { .threads = 2, .cb = collect, .arg = &c,
				     .progress = on_progress, .progress_arg = &c };

	assert_int_equal(mkdir(P(f, "/t"), 0755), 0);
	for (int i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "%s/f%d", P(f, "/t"), i);
		put_file(path, "x", 0644);
	}
	cfg = mkcfg(f, ts, 1, 1);
	o.cfg = cfg;
	assert_int_equal(vigil_walk_run(&o, NULL, NULL), -ECANCELED);
	assert_int_equal(c.n, 2);
	assert_true(c.progress_calls >= 1);
	coll_free(&c);
	freecfg(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xattrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deeper_than_path_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_loops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_exclude_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scope_for_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_filesystem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_confinement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_identical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sparse_4g, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_file_size, setup, teardown),
		cmocka_unit_test(test_stat_changed_compare),
		cmocka_unit_test_setup_teardown(test_changed_while_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_stops, setup, teardown),
	};

	if (vigil_crypto_init(NULL))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
