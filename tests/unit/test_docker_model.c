/* test_docker_model.c - the overlay2 model, layer verification and drift on
 * hand-made data roots, with one hostile or broken piece per case: every
 * broken image, layer or container gets its own clear error and the rest is
 * still processed; nothing outside a layer's diff dir is ever read. */
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
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/crypto.h"
#include "vigil/docker.h"

#include "docker_fixture.h"

static const struct fx_entry base[] = {
	{ "etc/", '5', 0755, NULL, 1700000000 },
	{ "etc/passwd", '0', 0644, "root:x:0:0:root:/root:/bin/sh\n", 1700000001 },
	{ "bin/", '5', 0755, NULL, 1700000002 },
	{ "bin/busybox", '0', 0755, "\x7f" "ELF pretend", 1700000003 },
	{ "bin/sh", '2', 0777, "busybox", 1700000004 },
};

static const char *hex(const char *digest)
{
	return digest + 7;
}

static void put(const char *root, const char *rel, const char *text)
{
	char path[4096], dir[4096];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	fx_mkdirs(dir);
	assert_int_equal(fx_write(path, text, strlen(text)), 0);
}

/* An image config named by its own SHA-256, referencing diff ids. */
static void put_image(const char *root, const char *json, char id_out[72])
{
	unsigned char md[32];
	char rel[256];

	vigil_sha256(json, strlen(json), md);
	memcpy(id_out, "sha256:", 7);
	vigil_hex(md, 32, id_out + 7);
	snprintf(rel, sizeof(rel), "image/overlay2/imagedb/content/sha256/%s", id_out + 7);
	put(root, rel, json);
}

static const struct vigil_docker_verify *find_v(const struct vigil_docker_verify *v, size_t n, const char *chain)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].layer->chain_id, chain))
			return &v[i];
	fail_msg("layer %s not in the verify results", chain);
	return NULL;
}

struct fx {
	char *root;       /* data root */
	char good[72], tampered[72], escape[72];
	char bad_dotdot[72], bad_abs[72], bad_size[72], bad_nul[72], bad_json[72], bad_gz[72], no_cache[72];
	char img_good[72], img_badjson[72], img_trunc[72];
};

static void fake_digest(char out[72], int n)
{
	char buf[32];
	unsigned char md[32];

	snprintf(buf, sizeof(buf), "fake layer %d", n);
	vigil_sha256(buf, strlen(buf), md);
	memcpy(out, "sha256:", 7);
	vigil_hex(md, 32, out + 7);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char json[1024], path[4096];
	static const struct fx_entry t2[] = {
		{ "app/", '5', 0755, NULL, 1700000100 },
		{ "app/data", '0', 0644, "original content of app/data", 1700000101 },
		{ "app/run.sh", '0', 0755, "#!/bin/sh\necho hi\n", 1700000102 },
	};
	static const struct fx_entry t3[] = {
		{ "a/", '5', 0755, NULL, 1700000200 },
		{ "a/secret", '0', 0600, "TOPSECRET", 1700000201 },
	};

	f->root = fx_new_root();
	assert_non_null(f->root);
	assert_int_equal(fx_layer(f->root, "c0ffee01", base, 5, f->good), 0);
	assert_int_equal(fx_layer(f->root, "c0ffee02", t2, 3, f->tampered), 0);
	/* one byte of one file changed, mtime kept */
	snprintf(path, sizeof(path), "%s/overlay2/c0ffee02/diff/app/data", f->root);
	{
		int fd = open(path, O_WRONLY);
		struct timespec ts[2] = { { 1700000101, 0 }, { 1700000101, 0 } };

		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "O", 1, 0), 1);
		close(fd);
		utimensat(AT_FDCWD, path, ts, 0);
	}
	/* a layer whose diff/a is swapped for a symlink to a dir outside holding
	 * the very same bytes: following it would make the digest match */
	assert_int_equal(fx_layer(f->root, "c0ffee03", t3, 2, f->escape), 0);
	snprintf(path, sizeof(path), "%s/../outside", f->root);
	fx_mkdirs(path);
	snprintf(path, sizeof(path), "%s/../outside/secret", f->root);
	fx_write(path, "TOPSECRET", 9);
	chmod(path, 0600);
	snprintf(path, sizeof(path), "%s/overlay2/c0ffee03/diff/a/secret", f->root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/overlay2/c0ffee03/diff/a", f->root);
	rmdir(path);
	assert_int_equal(symlink("../../../../outside", path), 0);

	/* hostile tar-splits */
	fake_digest(f->bad_dotdot, 1);
	fx_layer_raw(f->root, hex(f->bad_dotdot), "bad01", f->bad_dotdot,
		     "{\"type\":1,\"name\":\"../../../outside/secret\",\"size\":9,\"position\":0}\n", NULL, 0);
	fake_digest(f->bad_abs, 2);
	fx_layer_raw(f->root, hex(f->bad_abs), "bad02", f->bad_abs,
		     "{\"type\":1,\"name\":\"/etc/shadow\",\"size\":9,\"position\":0}\n", NULL, 0);
	fake_digest(f->bad_size, 3);
	fx_layer_raw(f->root, hex(f->bad_size), "bad03", f->bad_size,
		     "{\"type\":1,\"name\":\"x\",\"size\":99999999999999999,\"position\":0}\n", NULL, 0);
	fake_digest(f->bad_nul, 4);
	fx_layer_raw(f->root, hex(f->bad_nul), "bad04", f->bad_nul,
		     "{\"type\":1,\"name_raw\":\"YQBi\",\"size\":1,\"position\":0}\n", NULL, 0);
	fake_digest(f->bad_json, 5);
	fx_layer_raw(f->root, hex(f->bad_json), "bad05", f->bad_json, "{\"type\":2,\"payload\":\"AAAA\"\n", NULL, 0);
	fake_digest(f->bad_gz, 6);
	fx_layer_raw(f->root, hex(f->bad_gz), "bad06", f->bad_gz, NULL, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xab\x56", 12);
	fake_digest(f->no_cache, 7);
	fx_layer_raw(f->root, hex(f->no_cache), NULL, f->no_cache, "", NULL, 0);

	/* images: one good, one malformed JSON, one truncated */
	snprintf(json, sizeof(json),
		 "{\"created\":\"2026-01-02T03:04:05Z\",\"config\":{\"Entrypoint\":[\"/bin/sh\"]},"
		 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}", f->good);
	put_image(f->root, json, f->img_good);
	put_image(f->root, "{\"rootfs\": {\"diff_ids\": [1, }", f->img_badjson);
	put_image(f->root, "{\"created\":\"2026", f->img_trunc);
	snprintf(json, sizeof(json), "{\"Repositories\":{\"base\":{\"base:1\":\"%s\",\"base@sha256:%s\":\"%s\"}}}",
		 f->img_good, hex(f->good), f->img_good);
	put(f->root, "image/overlay2/repositories.json", json);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	fx_rm(f->root);
	free(f->root);
	free(f);
	return 0;
}

static void test_images(void **state)
{
	struct fx *f = *state;
	struct vigil_docker *d;
	struct vigil_err err = { "" };
	const struct vigil_docker_image *im;
	size_t bad = 0;

	assert_int_equal(vigil_docker_load("/", f->root, &d, &err), 0);
	assert_int_equal(vigil_docker_n_images(d), 3);
	im = vigil_docker_find_image(d, "base:1", &err);
	assert_non_null(im);
	assert_string_equal(im->id, f->img_good);
	assert_int_equal(im->tags.n, 1); /* the digest reference is not a tag */
	assert_true(im->id_ok);
	assert_null(im->error);
	assert_int_equal(im->chain_ids.n, 1);
	assert_string_equal(im->chain_ids.v[0], f->good);
	assert_string_equal(im->entrypoint, "[\"/bin/sh\"]");
	assert_ptr_equal(vigil_docker_find_image(d, "base", &err), NULL); /* base:latest */
	assert_ptr_equal(vigil_docker_find_image(d, f->img_good + 7 + 0, &err), im);
	for (size_t i = 0; i < vigil_docker_n_images(d); i++) {
		const struct vigil_docker_image *x = vigil_docker_image(d, i);

		if (x->error) {
			bad++;
			assert_non_null(strstr(x->error, "imagedb/content/sha256/"));
			assert_non_null(strstr(x->error, "line"));
		}
	}
	assert_int_equal(bad, 2);
	vigil_docker_free(d);
}

static void test_layers_model(void **state)
{
	struct fx *f = *state;
	struct vigil_docker *d;
	struct vigil_err err = { "" };
	const struct vigil_docker_layer *l;

	{ /* a parent that does not produce this chain id */
		char rel[256];

		snprintf(rel, sizeof(rel), "image/overlay2/layerdb/sha256/%s/parent", hex(f->bad_abs));
		put(f->root, rel, f->good);
	}
	assert_int_equal(vigil_docker_load(NULL, f->root, &d, &err), 0);
	assert_int_equal(vigil_docker_n_layers(d), 10);
	l = vigil_docker_find_layer(d, f->good, &err);
	assert_non_null(l);
	assert_true(l->chain_ok);
	assert_string_equal(l->cache_id, "c0ffee01");
	assert_ptr_equal(vigil_docker_find_layer(d, "c0ffee01", &err), l);
	l = vigil_docker_find_layer(d, f->no_cache, &err);
	assert_non_null(l);
	assert_non_null(l->error);
	assert_non_null(strstr(l->error, "missing cache-id"));
	l = vigil_docker_find_layer(d, f->bad_abs, &err);
	assert_false(l->chain_ok);
	assert_non_null(strstr(l->error, "chain id does not match"));
	assert_true(vigil_docker_find_layer(d, f->bad_dotdot, &err)->chain_ok);
	vigil_docker_free(d);
}

static void test_verify(void **state)
{
	struct fx *f = *state;
	struct vigil_docker *d;
	struct vigil_err err = { "" };
	struct vigil_docker_verify *v;
	const struct vigil_docker_verify *x;
	size_t n;

	assert_int_equal(vigil_docker_load(NULL, f->root, &d, &err), 0);
	assert_int_equal(vigil_docker_verify(d, NULL, 0, 2, &v, &n, &err), 0);
	assert_int_equal(n, 10);

	x = find_v(v, n, f->good);
	if (x->status != VIGIL_DOCKER_LAYER_OK)
		fail_msg("good layer: %s %s", x->error ? x->error : "", x->n_findings ? x->findings[0].detail : "");
	assert_string_equal(x->digest, f->good);

	x = find_v(v, n, f->tampered);
	assert_int_equal(x->status, VIGIL_DOCKER_LAYER_MODIFIED);
	assert_string_equal(x->first_bad, "/app/data");
	assert_int_equal(x->n_findings, 1);
	assert_int_equal(x->findings[0].kind, VIGIL_DOCKER_F_CONTENT);

	/* never followed out: the file is reported missing, digest differs */
	x = find_v(v, n, f->escape);
	assert_int_equal(x->status, VIGIL_DOCKER_LAYER_MODIFIED);
	assert_string_not_equal(x->digest, f->escape);
	assert_string_equal(x->first_bad, "/a/secret");

	/* hostile or broken layer metadata is tampering: a finding naming the
	 * file (MODIFIED), not a failure to verify */
	static const struct {
		size_t off;
		const char *msg, *file;
	} bad[] = {
		{ offsetof(struct fx, bad_dotdot), "unsafe name", "/tar-split.json.gz" },
		{ offsetof(struct fx, bad_abs), "unsafe name", "/tar-split.json.gz" },
		{ offsetof(struct fx, bad_size), "absurd size", "/tar-split.json.gz" },
		{ offsetof(struct fx, bad_nul), "unsafe name", "/tar-split.json.gz" },
		{ offsetof(struct fx, bad_json), "bad JSON", "/tar-split.json.gz" },
		{ offsetof(struct fx, bad_gz), "gzip", "/tar-split.json.gz" },
		{ offsetof(struct fx, no_cache), "missing cache-id", "/cache-id" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct vigil_docker_finding *fd;
		size_t pl;

		x = find_v(v, n, (const char *)f + bad[i].off);
		assert_int_equal(x->status, VIGIL_DOCKER_LAYER_MODIFIED);
		assert_null(x->error);
		assert_true(x->n_findings >= 1);
		fd = &x->findings[0];
		assert_int_equal(fd->kind, VIGIL_DOCKER_F_LAYERDB);
		pl = strlen(fd->path);
		if (!fd->detail || !strstr(fd->detail, bad[i].msg) || pl < strlen(bad[i].file) ||
		    strcmp(fd->path + pl - strlen(bad[i].file), bad[i].file) || strncmp(fd->path, f->root, strlen(f->root)))
			fail_msg("case %zu: %s: '%s', wanted %s: '%s'", i, fd->path, fd->detail ? fd->detail : "(none)",
				 bad[i].file, bad[i].msg);
	}
	vigil_docker_verify_free(v, n);

	/* by image name: only that image's layer */
	{
		const char *refs[] = { "base:1" };

		assert_int_equal(vigil_docker_verify(d, refs, 1, 0, &v, &n, &err), 0);
		assert_int_equal(n, 1);
		assert_int_equal(v[0].status, VIGIL_DOCKER_LAYER_OK);
		vigil_docker_verify_free(v, n);
		refs[0] = "nosuch:image";
		assert_int_equal(vigil_docker_verify(d, refs, 1, 0, &v, &n, &err), -ENOENT);
		assert_non_null(strstr(err.msg, "nosuch:image"));
	}
	vigil_docker_free(d);
}

static void test_containers_and_drift(void **state)
{
	struct fx *f = *state;
	struct vigil_docker *d;
	struct vigil_err err = { "" };
	const struct vigil_docker_container *c;
	struct vigil_docker_change *ch;
	size_t n;
	char id1[65], id2[65], rel[512], json[2048], path[4096];

	memset(id1, 'a', 64);
	id1[64] = '\0';
	memset(id2, 'b', 64);
	id2[64] = '\0';
	snprintf(json, sizeof(json),
		 "{\"ID\":\"%s\",\"Name\":\"/web\",\"Image\":\"%s\",\"Created\":\"2026-01-02T03:04:06Z\","
		 "\"Path\":\"/bin/sh\",\"Args\":[\"-c\",\"true\"],\"Config\":{\"Image\":\"base:1\"},"
		 "\"State\":{\"Running\":true,\"Pid\":4242,\"StartedAt\":\"2026-01-02T03:04:07Z\"},"
		 "\"MountPoints\":{\"/data\":{\"Source\":\"/srv\",\"Destination\":\"/data\",\"RW\":true,\"Type\":\"bind\"}}}",
		 id1, f->img_good);
	snprintf(rel, sizeof(rel), "containers/%s/config.v2.json", id1);
	put(f->root, rel, json);
	snprintf(rel, sizeof(rel), "containers/%s/hostconfig.json", id1);
	put(f->root, rel, "{\"Privileged\":true,\"PidMode\":\"host\",\"CapAdd\":[\"SYS_ADMIN\"],"
			  "\"Binds\":[\"/srv:/data\"],\"ReadonlyRootfs\":false}");
	snprintf(rel, sizeof(rel), "image/overlay2/layerdb/mounts/%s/mount-id", id1);
	put(f->root, rel, "feed01");
	snprintf(rel, sizeof(rel), "image/overlay2/layerdb/mounts/%s/init-id", id1);
	put(f->root, rel, "feed01-init");
	snprintf(rel, sizeof(rel), "image/overlay2/layerdb/mounts/%s/parent", id1);
	put(f->root, rel, f->good);
	/* a second container whose config is truncated */
	snprintf(rel, sizeof(rel), "containers/%s/config.v2.json", id2);
	put(f->root, rel, "{\"ID\":\"bbbb");
	snprintf(rel, sizeof(rel), "image/overlay2/layerdb/mounts/%s/mount-id", id2);
	put(f->root, rel, "../../../etc");

	/* the upper layer: passwd changed, sh deleted (whiteout), a new ELF under /usr/bin,
	 * an opaque /bin would hide busybox too: use it on a new dir instead */
	snprintf(path, sizeof(path), "%s/overlay2/feed01-init/diff", f->root);
	fx_mkdirs(path);
	snprintf(path, sizeof(path), "%s/overlay2/feed01/diff/etc", f->root);
	fx_mkdirs(path);
	chmod(path, 0755);
	snprintf(path, sizeof(path), "%s/overlay2/feed01/diff/etc/passwd", f->root);
	fx_write(path, "root:x:0:0::/root:/bin/sh\nevil::0:0::/:/bin/sh\n", 48);
	snprintf(path, sizeof(path), "%s/overlay2/feed01/diff/bin", f->root);
	fx_mkdirs(path);
	chmod(path, 0755);
	snprintf(path, sizeof(path), "%s/overlay2/feed01/diff/bin/sh", f->root);
	assert_int_equal(mknod(path, S_IFCHR | 0000, makedev(0, 0)), 0);
	snprintf(path, sizeof(path), "%s/overlay2/feed01/diff/usr/bin", f->root);
	fx_mkdirs(path);
	snprintf(path, sizeof(path), "%s/overlay2/feed01/diff/usr/bin/x", f->root);
	fx_write(path, "\x7f" "ELFxx", 6);
	{ /* keep the dirs' metadata as the lower's so only real changes show */
		struct timespec ts[2] = { { 1700000000, 0 }, { 1700000000, 0 } };

		snprintf(path, sizeof(path), "%s/overlay2/feed01/diff/etc", f->root);
		utimensat(AT_FDCWD, path, ts, 0);
	}

	assert_int_equal(vigil_docker_load(NULL, f->root, &d, &err), 0);
	assert_int_equal(vigil_docker_n_containers(d), 2);
	c = vigil_docker_find_container(d, "web", &err);
	assert_non_null(c);
	assert_string_equal(c->state, "running");
	assert_int_equal(c->pid, 4242);
	assert_true(c->privileged);
	assert_string_equal(c->pid_mode, "host");
	assert_int_equal(c->cap_add.n, 1);
	assert_int_equal(c->n_mounts, 1);
	assert_string_equal(c->mounts[0].source, "/srv");
	assert_string_equal(c->command, "/bin/sh -c true");
	assert_null(c->error);
	{
		const struct vigil_docker_container *c2 = vigil_docker_find_container(d, "bbbb", &err);

		assert_non_null(c2);
		assert_non_null(c2->error);
		assert_non_null(strstr(c2->error, "config.v2.json"));
		assert_null(c2->mount_id); /* "../../../etc" refused as a mount id */
		assert_int_not_equal(vigil_docker_drift(d, c2, &ch, &n, &err), 0);
	}

	assert_int_equal(vigil_docker_drift(d, c, &ch, &n, &err), 0);
	{
		static const struct {
			char kind;
			const char *path;
			unsigned flags;
		} want[] = {
			{ 'C', "/bin", VIGIL_DOCKER_CH_SENSITIVE },
			{ 'D', "/bin/sh", VIGIL_DOCKER_CH_SENSITIVE },
			{ 'C', "/etc", VIGIL_DOCKER_CH_SENSITIVE },
			{ 'C', "/etc/passwd", VIGIL_DOCKER_CH_SENSITIVE },
			{ 'A', "/usr", VIGIL_DOCKER_CH_SENSITIVE },
			{ 'A', "/usr/bin", VIGIL_DOCKER_CH_SENSITIVE },
			{ 'A', "/usr/bin/x", VIGIL_DOCKER_CH_SENSITIVE | VIGIL_DOCKER_CH_EXEC },
		};

		if (n != sizeof(want) / sizeof(want[0])) {
			for (size_t i = 0; i < n; i++)
				print_message("%c %s\n", ch[i].kind, ch[i].path);
			fail_msg("%zu changes", n);
		}
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(ch[i].kind, want[i].kind);
			assert_string_equal(ch[i].path, want[i].path);
			assert_int_equal(ch[i].flags, want[i].flags);
		}
		assert_true(ch[3].has_hash);
	}
	vigil_docker_drift_free(ch, n);
	vigil_docker_free(d);
}

static void test_missing_root(void **state)
{
	struct vigil_docker *d;
	struct vigil_err err = { "" };

	(void)state;
	assert_int_equal(vigil_docker_load(NULL, "/nonexistent/docker", &d, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/docker"));
	assert_int_equal(vigil_docker_load(NULL, "/tmp", &d, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "overlay2"));
}

/* One file of a fixture root: text, or a symlink to link (HOST = the host
 * file planted outside the root). */
struct dfile {
	const char *path, *text, *link;
};
#define HOST "@host@"

static void plant(const char *root, const char *host, const struct dfile *f)
{
	char path[4096], *slash;

	snprintf(path, sizeof(path), "%s%s", root, f->path);
	slash = strrchr(path, '/');
	*slash = '\0';
	fx_mkdirs(path);
	*slash = '/';
	if (f->link)
		assert_int_equal(symlink(strcmp(f->link, HOST) ? f->link : host, path), 0);
	else
		assert_int_equal(fx_write(path, f->text, strlen(f->text)), 0);
}

/* Where the data root is said to be: daemon.json, docker.service and its
 * drop-ins, DOCKER_OPTS; and an image's absolute symlinks never reach the
 * host's files. */
static void test_discover_data_root(void **state)
{
	static const char unit[] = "/lib/systemd/system/docker.service";
	static const struct {
		const char *want;
		struct dfile f[4];
	} cases[] = {
		{ "/srv/json", { { "/etc/docker/daemon.json", "{\"data-root\": \"/srv/json\"}" } } },
		{ "/mnt/dropin", { { unit, "[Service]\nExecStart=/usr/bin/dockerd -H fd://\n" },
				   { "/etc/systemd/system/docker.service.d/10-root.conf",
				     "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd:// --data-root /mnt/dropin\n" } } },
		{ "/mnt/b", { { unit, "[Service]\nExecStart=/usr/bin/dockerd --data-root=/mnt/unit\n" },
			      { "/etc/systemd/system/docker.service.d/20-b.conf", "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -g /mnt/b\n" },
			      { "/run/systemd/system/docker.service.d/10-a.conf", "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -g /mnt/a\n" } } },
		{ "/var/lib/docker", { { unit, "[Service]\nExecStart=/usr/bin/dockerd --data-root /mnt/unit\n" },
				       { "/etc/systemd/system/docker.service.d/override.conf", "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd\n" } } },
		{ "/mnt/opts", { { unit, "[Service]\nEnvironmentFile=-/etc/default/docker\nExecStart=/usr/bin/dockerd -H fd:// $DOCKER_OPTS\n" },
				 { "/etc/default/docker", "# comment\nDOCKER_OPTS=\"--dns 8.8.8.8 -g /mnt/opts\"\n" } } },
		{ "/var/lib/docker", { { unit, "[Service]\nExecStart=/usr/bin/dockerd -H fd://\n" },
				       { "/etc/default/docker", "DOCKER_OPTS=\"--data-root /mnt/unused\"\n" } } },
		{ "/mnt/sysv", { { "/etc/default/docker", "DOCKER_OPTS='--data-root=/mnt/sysv'\n" } } },
		/* absolute links in the image point into the image, never at the host */
		{ "/var/lib/docker", { { "/etc/docker/daemon.json", NULL, HOST } } },
		{ "/var/lib/docker", { { "/etc/systemd/system/docker.service.d/x.conf", NULL, HOST } } },
		{ "/var/lib/docker", { { "/etc/default/docker", NULL, HOST } } },
		{ "/srv/inside", { { "/etc/docker/daemon.json", NULL, "/etc/real.json" },
				   { "/etc/real.json", "{\"data-root\": \"/srv/inside\"}" } } },
	};
	char host[] = "/tmp/vigil-dhost.XXXXXX", hostfile[4096];
	int fd;

	(void)state;
	fd = mkstemp(host);
	assert_true(fd >= 0);
	close(fd);
	/* the host file would move the data root if it were ever read */
	snprintf(hostfile, sizeof(hostfile), "{\"data-root\": \"/host-leak\"}\n"
		 "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --data-root /host-leak\n"
		 "DOCKER_OPTS=\"-g /host-leak\"\n");
	assert_int_equal(fx_write(host, hostfile, strlen(hostfile)), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char tmpl[] = "/tmp/vigil-droot.XXXXXX";
		struct vigil_docker_engine eng;
		struct vigil_err err = { "" };

		assert_non_null(mkdtemp(tmpl));
		for (size_t k = 0; k < 4 && cases[i].f[k].path; k++)
			plant(tmpl, host, &cases[i].f[k]);
		assert_int_equal(vigil_docker_discover(tmpl, &eng, &err), 0);
		if (strcmp(eng.data_root, cases[i].want))
			fail_msg("case %zu: data root %s, wanted %s", i, eng.data_root, cases[i].want);
		vigil_docker_engine_clear(&eng);
		fx_rm(tmpl);
	}
	unlink(host);
}

/* dockerd installed and its data root missing: baseline is told why. */
static void test_discover_warning(void **state)
{
	char tmpl[] = "/tmp/vigil-dwarn.XXXXXX", path[4096], *w;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	w = vigil_docker_layers_warning(tmpl);
	assert_null(w); /* no dockerd: nothing to say */
	plant(tmpl, NULL, &(struct dfile){ "/usr/bin/dockerd", "x" });
	plant(tmpl, NULL, &(struct dfile){ "/etc/docker/daemon.json", "{\"data-root\": \"/srv/moved\"}" });
	w = vigil_docker_layers_warning(tmpl);
	assert_non_null(w);
	assert_non_null(strstr(w, "/srv/moved"));
	assert_non_null(strstr(w, "/usr/bin/dockerd"));
	free(w);
	snprintf(path, sizeof(path), "%s/srv/moved", tmpl);
	fx_mkdirs(path);
	assert_null(vigil_docker_layers_warning(tmpl));
	fx_rm(tmpl);
}

static void test_discover(void **state)
{
	char tmpl[] = "/tmp/vigil-deng.XXXXXX", path[4096];
	struct vigil_docker_engine eng;
	struct vigil_err err = { "" };
	int found_dockerd = 0, found_unit = 0, found_link = 0, found_target = 0;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	snprintf(path, sizeof(path), "%s/usr/sbin", tmpl);
	fx_mkdirs(path);
	snprintf(path, sizeof(path), "%s/usr/sbin/dockerd", tmpl);
	fx_write(path, "x", 1);
	snprintf(path, sizeof(path), "%s/usr/sbin/runc", tmpl);
	fx_write(path, "x", 1);
	snprintf(path, sizeof(path), "%s/usr/bin", tmpl);
	fx_mkdirs(path);
	snprintf(path, sizeof(path), "%s/usr/bin/runc", tmpl);
	assert_int_equal(symlink("../sbin/runc", path), 0);
	snprintf(path, sizeof(path), "%s/opt/bin", tmpl);
	fx_mkdirs(path);
	snprintf(path, sizeof(path), "%s/opt/bin/containerd", tmpl);
	fx_write(path, "x", 1);
	snprintf(path, sizeof(path), "%s/lib/systemd/system", tmpl);
	fx_mkdirs(path);
	snprintf(path, sizeof(path), "%s/lib/systemd/system/containerd.service", tmpl);
	fx_write(path, "[Service]\nExecStart=-/opt/bin/containerd --log-level debug\n", 58);
	snprintf(path, sizeof(path), "%s/etc/docker", tmpl);
	fx_mkdirs(path);
	snprintf(path, sizeof(path), "%s/etc/docker/daemon.json", tmpl);
	fx_write(path, "{\"data-root\": \"/srv/docker\"}", 28);
	/* an absolute symlink must resolve inside the root, not on the host */
	snprintf(path, sizeof(path), "%s/etc/default", tmpl);
	fx_mkdirs(path);
	snprintf(path, sizeof(path), "%s/etc/default/docker", tmpl);
	assert_int_equal(symlink("/etc/passwd", path), 0);

	assert_int_equal(vigil_docker_discover(tmpl, &eng, &err), 0);
	assert_string_equal(eng.data_root, "/srv/docker");
	for (size_t i = 0; i < eng.binaries.n; i++) {
		found_dockerd |= !strcmp(eng.binaries.v[i], "/usr/sbin/dockerd");
		found_link |= !strcmp(eng.binaries.v[i], "/usr/bin/runc");
		found_target |= !strcmp(eng.binaries.v[i], "/usr/sbin/runc");
		found_unit |= !strcmp(eng.binaries.v[i], "/opt/bin/containerd");
	}
	assert_true(found_dockerd && found_link && found_target && found_unit);
	for (size_t i = 0; i < eng.configs.n; i++)
		assert_string_not_equal(eng.configs.v[i], "/etc/passwd"); /* root's /etc/passwd absent */
	vigil_docker_engine_clear(&eng);

	{ /* the auto scopes of a config get those paths; others are left alone */
		struct vigil_scope sc[3] = { { .name = "b", .auto_kind = VIGIL_AUTO_DOCKER_BINARIES },
					     { .name = "c", .auto_kind = VIGIL_AUTO_DOCKER_CONFIGS },
					     { .name = "l", .auto_kind = VIGIL_AUTO_DOCKER_LAYERS } };
		struct vigil_config cfg = { .scopes = sc, .n_scopes = 3 };
		int has_runc = 0, has_json = 0;

		assert_int_equal(vigil_docker_fill_scopes(&cfg, tmpl, &err), 0);
		for (size_t i = 0; i < sc[0].paths.n; i++)
			has_runc |= !strcmp(sc[0].paths.v[i], "/usr/bin/runc");
		for (size_t i = 0; i < sc[1].paths.n; i++)
			has_json |= !strcmp(sc[1].paths.v[i], "/etc/docker/daemon.json");
		assert_true(has_runc && has_json);
		assert_int_equal(sc[2].paths.n, 0);
		for (int k = 0; k < 3; k++) {
			for (size_t i = 0; i < sc[k].paths.n; i++)
				free(sc[k].paths.v[i]);
			free(sc[k].paths.v);
		}
	}

	/* malformed daemon.json: a warning, the default data root */
	snprintf(path, sizeof(path), "%s/etc/docker/daemon.json", tmpl);
	fx_write(path, "{\"data-root\": ", 14);
	assert_int_equal(vigil_docker_discover(tmpl, &eng, &err), 0);
	assert_string_equal(eng.data_root, "/var/lib/docker");
	/* and dockerd without its data root: said too */
	assert_int_equal(eng.warnings.n, 2);
	assert_non_null(strstr(eng.warnings.v[0], "daemon.json: line"));
	assert_non_null(strstr(eng.warnings.v[1], "data root /var/lib/docker does not exist"));
	vigil_docker_engine_clear(&eng);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_images, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layers_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_containers_and_drift, setup, teardown),
		cmocka_unit_test(test_missing_root),
		cmocka_unit_test(test_discover),
		cmocka_unit_test(test_discover_data_root),
		cmocka_unit_test(test_discover_warning),
	};

	vigil_crypto_init(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
