/* test_limemod.c - the LiME module side without loading a module (no module
 * can load on the test machine): .modinfo of a real lime.ko built by DKMS
 * against Debian's headers and of an in-tree module of that kernel, hostile
 * section tables, where the module is looked for, the vermagic check; and
 * our TCP client against a LiME protocol server run by this test on
 * 127.0.0.1 (a test of our client, not a mock of the kernel): the two
 * connections, LiME's digest, a server that is late, one that dies
 * mid-stream, a bad digest, no server at all; LiME's file mode up to the
 * load (refused paths, a planted digest name, a load the kernel refuses). */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/crypto.h"
#include "vigil/limemod.h"

static char dir[64];

/* The newest DKMS-built lime.ko on this machine (scripts/setup.sh installs
 * linux-headers-amd64 and lime-forensics-dkms, which builds it). */
static int real_lime(char *path, size_t len, char *release, size_t rlen)
{
	glob_t g;
	int ok = 0;

	if (glob("/lib/modules/*/updates/dkms/lime.ko", 0, NULL, &g) == 0 && g.gl_pathc) {
		const char *p = g.gl_pathv[g.gl_pathc - 1], *r = p + strlen("/lib/modules/");

		snprintf(path, len, "%s", p);
		snprintf(release, rlen, "%.*s", (int)(strchr(r, '/') - r), r);
		ok = 1;
	}
	globfree(&g);
	return ok;
}

static void test_real_module(void **state)
{
	struct vigil_modinfo mi;
	struct vigil_err err = { "" };
	char path[4096], rel[256], kv[256];

	(void)state;
	if (!real_lime(path, sizeof(path), rel, sizeof(rel)))
		skip(); /* no lime-forensics-dkms build: unit-run.sh fails this under CI */
	assert_int_equal(vigil_limemod_modinfo(path, &mi, &err), 0);
	print_message("%s: name=%s vermagic=\"%s\" version=%s\n", path, mi.name, mi.vermagic, mi.version);
	assert_string_equal(mi.name, "lime");
	assert_int_equal(strncmp(mi.vermagic, rel, strlen(rel)), 0);
	/* the kernel's own vermagic, from an in-tree module of that release */
	assert_int_equal(vigil_limemod_kernel_vermagic(NULL, rel, kv, sizeof(kv), &err), 0);
	print_message("kernel %s: \"%s\"\n", rel, kv);
	assert_int_equal(vigil_limemod_check_vermagic(&mi, rel, kv, &err), 0);
	/* another release, or the same release with other flags: refused, said why */
	assert_int_equal(vigil_limemod_check_vermagic(&mi, "0.0.1-not-this", NULL, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "vermagic mismatch"));
	assert_non_null(strstr(err.msg, "0.0.1-not-this"));
	assert_int_equal(vigil_limemod_check_vermagic(&mi, rel, "X SMP preempt", &err), -ENOEXEC);
	/* and found where DKMS put it */
	assert_int_equal(vigil_limemod_find(NULL, NULL, rel, kv, sizeof(kv), &err), 0);
	assert_string_equal(kv, path);
}

static void test_vermagic(void **state)
{
	struct vigil_modinfo mi = { .vermagic = "6.1.0-28-amd64 SMP preempt mod_unload modversions " };
	struct vigil_err err;

	(void)state;
	assert_int_equal(vigil_limemod_check_vermagic(&mi, "6.1.0-28-amd64", NULL, &err), 0);
	assert_int_equal(vigil_limemod_check_vermagic(&mi, "6.1.0-28-amd64",
						      "6.1.0-28-amd64 SMP preempt mod_unload modversions", &err), 0);
	assert_int_equal(vigil_limemod_check_vermagic(&mi, "6.1.0-28", NULL, &err), -ENOEXEC); /* prefix only */
	assert_int_equal(vigil_limemod_check_vermagic(&mi, "6.1.0-28-amd64",
						      "6.1.0-28-amd64 SMP mod_unload modversions", &err), -ENOEXEC);
}

static void write_file(const char *p, const void *buf, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* A minimal module: ELF header, .modinfo, .shstrtab, section table. */
static size_t make_ko(unsigned char *buf, const char *modinfo, size_t milen, int hostile)
{
	static const char names[] = "\0.modinfo\0.shstrtab";
	Elf64_Ehdr *e = (Elf64_Ehdr *)buf;
	Elf64_Shdr *sh;
	size_t off = sizeof(*e);

	memset(buf, 0, 4096);
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_type = ET_REL;
	e->e_shentsize = sizeof(Elf64_Shdr);
	e->e_shnum = 3;
	e->e_shstrndx = 2;
	memcpy(buf + off, modinfo, milen);
	memcpy(buf + off + milen, names, sizeof(names));
	e->e_shoff = 1024;
	sh = (Elf64_Shdr *)(buf + 1024);
	sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_offset = off, .sh_size = milen };
	sh[2] = (Elf64_Shdr){ .sh_name = 10, .sh_offset = off + milen, .sh_size = sizeof(names) };
	switch (hostile) {
	case 1: sh[1].sh_size = 1u << 30; break;          /* huge .modinfo */
	case 2: sh[1].sh_offset = 1ull << 40; break;      /* past the end */
	case 3: e->e_shoff = 1ull << 40; break;            /* section table past the end */
	case 4: e->e_shstrndx = 7; break;                  /* names index out of range */
	case 5: sh[1].sh_name = 5000; break;               /* name offset out of range */
	case 6: e->e_shentsize = 40; break;
	case 7: memcpy(buf, "\x28\xb5\x2f\xfd", 4); break; /* a zstd-compressed module */
	}
	return 1024 + 3 * sizeof(Elf64_Shdr);
}

static void test_synthetic_ko(void **state)
{
	static const char mi_text[] = "license=GPL\0name=lime\0vermagic=6.1.0-9-amd64 SMP preempt mod_unload \0";
	unsigned char buf[4096];
	struct vigil_modinfo mi;
	struct vigil_err err;
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/t.ko", dir);
	write_file(p, buf, make_ko(buf, mi_text, sizeof(mi_text), 0));
	assert_int_equal(vigil_limemod_modinfo(p, &mi, &err), 0);
	assert_string_equal(mi.name, "lime");
	assert_string_equal(mi.vermagic, "6.1.0-9-amd64 SMP preempt mod_unload ");
	for (int h = 1; h <= 7; h++) {
		write_file(p, buf, make_ko(buf, mi_text, sizeof(mi_text), h));
		assert_int_equal(vigil_limemod_modinfo(p, &mi, &err), -ENOEXEC);
		print_message("hostile %d: %s\n", h, err.msg);
	}
	/* no vermagic: refused */
	write_file(p, buf, make_ko(buf, "name=lime", 10, 0));
	assert_int_equal(vigil_limemod_modinfo(p, &mi, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "no vermagic"));
}

static void test_find(void **state)
{
	struct vigil_err err;
	char p[256], out[4096];

	(void)state;
	assert_int_equal(vigil_limemod_find(NULL, dir, "9.9.9-test", out, sizeof(out), &err), -ENOENT);
	assert_non_null(strstr(err.msg, "updates/dkms/lime.ko"));
	snprintf(p, sizeof(p), "%s/lib/modules/9.9.9-test/extra", dir);
	snprintf(out, sizeof(out), "mkdir -p %s && touch %s/lime.ko", p, p);
	assert_int_equal(system(out), 0);
	assert_int_equal(vigil_limemod_find(NULL, dir, "9.9.9-test", out, sizeof(out), &err), 0);
	assert_non_null(strstr(out, "/extra/lime.ko"));
	assert_int_equal(vigil_limemod_find("/nonexistent/lime.ko", dir, "9.9.9-test", out, sizeof(out), &err),
			 -ENOENT);
}

/* ---- a LiME protocol server on 127.0.0.1, in a child process ---------- */
enum srv_mode { SRV_GOOD, SRV_LATE, SRV_DIES, SRV_BAD_DIGEST, SRV_NO_DIGEST_LISTENER, SRV_DIGEST_CLOSED_FIRST };

static int listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1))
		_exit(2);
	return fd;
}

/* One accept on a fresh listener, send buf, close both (as LiME's tcp.c). */
static void serve_once(int port, const void *buf, size_t len)
{
	int l = listen_on(port), c = accept(l, NULL, NULL);
	const char *p = buf;

	while (c >= 0 && len) {
		ssize_t n = write(c, p, len > 7000 ? 7000 : len);

		if (n <= 0)
			break;
		p += n;
		len -= (size_t)n;
	}
	close(c);
	close(l);
}

static unsigned char stream[2 * VIGIL_LIME_HDR_SIZE + 0x3000];

static pid_t server(int port, enum srv_mode mode)
{
	pid_t pid = fork();
	unsigned char md[32];
	char hex[65];

	assert_true(pid >= 0);
	if (pid)
		return pid;
	vigil_sha256(stream, sizeof(stream), md);
	vigil_hex(md, 32, hex);
	if (mode == SRV_BAD_DIGEST)
		hex[0] = hex[0] == '0' ? '1' : '0';
	if (mode == SRV_LATE)
		usleep(300 * 1000);
	serve_once(port, stream, mode == SRV_DIES ? sizeof(stream) - 100 : sizeof(stream));
	if (mode == SRV_NO_DIGEST_LISTENER)
		_exit(0);
	if (mode == SRV_DIGEST_CLOSED_FIRST)
		serve_once(port, hex, 0); /* as the dump's listener closing under a connect: nothing, closed */
	usleep(100 * 1000); /* LiME sets up the second listener after the dump */
	serve_once(port, hex, 64);
	_exit(0);
}

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

struct mem {
	size_t len;
};

static int count_sink(void *ctx, const void *buf, size_t len, struct vigil_err *err)
{
	(void)buf;
	(void)err;
	((struct mem *)ctx)->len += len;
	return 0;
}

/* Runs the client against a server in `mode`: returns the client's rc;
 * ours and LiME's digests are compared when both exist. */
static int fetch(enum srv_mode mode, int timeout_ms, int *digests_equal, struct vigil_err *err)
{
	struct mem m = { 0 };
	struct vigil_lime_out *o = vigil_lime_out_new(count_sink, &m);
	struct vigil_lime_tcp t = { .port = free_port(), .timeout_ms = timeout_ms, .want_digest = 1 };
	pid_t pid = server(t.port, mode);
	char lime_hex[65], ours[65];
	struct vigil_err ferr;
	int rc, st;

	rc = vigil_lime_tcp_fetch(&t, o, lime_hex, err);
	*digests_equal = -1;
	if (vigil_lime_out_finish(o, ours, &ferr) && !rc)
		rc = vigil_err_set(err, -EINVAL, "%s", ferr.msg);
	if (!rc)
		*digests_equal = !strcmp(ours, lime_hex);
	vigil_lime_out_free(o);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return rc;
}

static void test_tcp(void **state)
{
	struct vigil_err err = { "" };
	int eq;

	(void)state;
	vigil_lime_header_encode(stream, 0x1000, 0x2fff);
	for (size_t i = 0; i < 0x2000; i++)
		stream[VIGIL_LIME_HDR_SIZE + i] = (unsigned char)(i * 7);
	vigil_lime_header_encode(stream + VIGIL_LIME_HDR_SIZE + 0x2000, 0x100000, 0x100fff);

	assert_int_equal(fetch(SRV_GOOD, 2000, &eq, &err), 0);
	assert_int_equal(eq, 1);
	assert_int_equal(fetch(SRV_LATE, 2000, &eq, &err), 0); /* connect retried */
	assert_int_equal(eq, 1);
	/* a first digest connection closed with nothing sent: connected again
	 * (seen under load as ECONNRESET: the dump's listener closing) */
	assert_int_equal(fetch(SRV_DIGEST_CLOSED_FIRST, 2000, &eq, &err), 0);
	assert_int_equal(eq, 1);
	assert_int_equal(fetch(SRV_BAD_DIGEST, 2000, &eq, &err), 0);
	assert_int_equal(eq, 0); /* the caller sees the difference */
	assert_int_equal(fetch(SRV_DIES, 2000, &eq, &err), -EINVAL);
	print_message("dies: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "truncated-data"));
	assert_int_equal(fetch(SRV_NO_DIGEST_LISTENER, 500, &eq, &err), -ETIMEDOUT);
	print_message("no digest: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "digest"));
}

/* Nobody listens: the connect stage times out and says which stage. */
static void test_tcp_nobody(void **state)
{
	struct mem m = { 0 };
	struct vigil_lime_out *o = vigil_lime_out_new(count_sink, &m);
	struct vigil_lime_tcp t = { .port = free_port(), .timeout_ms = 300, .want_digest = 1 };
	struct vigil_err err;
	char hex[65];

	(void)state;
	assert_int_equal(vigil_lime_tcp_fetch(&t, o, hex, &err), -ETIMEDOUT);
	assert_non_null(strstr(err.msg, "stream"));
	vigil_lime_out_free(o);
}

/* LiME's file mode, up to what runs without loading a module: the paths a
 * module parameter cannot carry, a digest file name planted beforehand
 * (refused, never written through), and a load the kernel refuses (a file
 * that is no module): recorded, and the digest file vigil made is gone. */
static void test_file_mode(void **state)
{
	struct mem m = { 0 };
	struct vigil_lime_out *o = vigil_lime_out_new(count_sink, &m);
	struct vigil_limemod_run run;
	struct vigil_err err;
	char ko[128], file[128], planted[140], target[128], digest[140];
	struct stat st;
	int fd;

	(void)state;
	snprintf(ko, sizeof(ko), "%s/notamodule.ko", dir);
	fd = open(ko, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a module\n", 13), 13);
	close(fd);
	assert_int_equal(vigil_limemod_acquire_file(ko, "lime", "mem.lime.part", 1000, o, &run, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "absolute"));
	assert_int_equal(vigil_limemod_acquire_file(ko, "lime", "/tmp/a b/mem.lime.part", 1000, o, &run, &err),
			 -EINVAL);
	assert_int_equal(vigil_limemod_acquire_file(ko, "lime", "/tmp/a\"b", 1000, o, &run, &err), -EINVAL);
	assert_string_equal(run.mode, "file");

	/* FILE.sha256 planted as a link: refused, its target never created */
	snprintf(file, sizeof(file), "%s/planted.part", dir);
	snprintf(planted, sizeof(planted), "%s.sha256", file);
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	assert_int_equal(symlink(target, planted), 0);
	assert_int_equal(vigil_limemod_acquire_file(ko, "lime", file, 1000, o, &run, &err), -EEXIST);
	assert_int_equal(lstat(target, &st), -1);
	assert_int_equal(lstat(planted, &st), 0);
	assert_true(S_ISLNK(st.st_mode));

	/* the kernel refuses the load: recorded, vigil's digest file removed */
	snprintf(file, sizeof(file), "%s/refused.part", dir);
	snprintf(digest, sizeof(digest), "%s.sha256", file);
	assert_true(vigil_limemod_acquire_file(ko, "lime", file, 1000, o, &run, &err) < 0);
	print_message("refused: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "finit_module"));
	assert_int_equal(run.loaded, 0);
	assert_int_not_equal(run.load_errno, 0);
	assert_int_equal(lstat(digest, &st), -1);
	assert_int_equal(vigil_lime_out_bytes(o), 0);
	vigil_lime_out_free(o);
}

static int setup(void **state)
{
	struct vigil_err err;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vigil-test-limemod-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return vigil_crypto_init(&err);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_module),
		cmocka_unit_test(test_vermagic),
		cmocka_unit_test(test_synthetic_ko),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_tcp_nobody),
		cmocka_unit_test(test_file_mode),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
