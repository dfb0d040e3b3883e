/* test_audit.c - audit parser on recorded kernel text, value decoding,
 * cgroup attribution, shell detection, the rule set under a fake root and
 * who-data matching.  Kernel-side rule loading is tested by
 * tests/integration/audit_rules.sh (it needs root and a real kernel). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/audit.h"
#include "vigil/docker.h"

struct collected {
	struct vigil_audit_event ev[64];
	char *names[64][4];
	char *argv2[64];
	char *exe[64], *key[64], *cwd[64], *cmdline[64];
	size_t n;
};

static char *dup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void collect(const struct vigil_audit_event *ev, void *ctx)
{
	struct collected *c = ctx;
	size_t i = c->n;

	if (i >= 64)
		return;
	c->ev[i] = *ev;
	for (size_t k = 0; k < 4; k++)
		c->names[i][k] = k < ev->n_paths ? dup0(ev->paths[k].name) : NULL;
	c->argv2[i] = ev->argc > 2 ? dup0(ev->argv[2]) : NULL;
	c->exe[i] = dup0(ev->exe);
	c->key[i] = dup0(ev->key);
	c->cwd[i] = dup0(ev->cwd);
	c->cmdline[i] = dup0(ev->cmdline);
	c->n++;
}

static void collected_free(struct collected *c)
{
	for (size_t i = 0; i < c->n; i++) {
		for (size_t k = 0; k < 4; k++)
			free(c->names[i][k]);
		free(c->argv2[i]);
		free(c->exe[i]);
		free(c->key[i]);
		free(c->cwd[i]);
		free(c->cmdline[i]);
	}
}

static char *slurp(const char *rel, size_t *len)
{
	const char *top = getenv("top_srcdir");
	char path[PATH_MAX];
	struct stat st;
	char *buf;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", top ? top : "..", rel);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	*len = fread(buf, 1, (size_t)st.st_size, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static size_t find_serial(const struct collected *c, uint64_t serial)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->ev[i].serial == serial)
			return i;
	fail_msg("serial %llu not found", (unsigned long long)serial);
	return 0;
}

static void check_recorded(const struct collected *c)
{
	size_t i;

	assert_int_equal(c->n, 16);
	/* mv renaming f1 to "f 2": four items, the new name hex-encoded */
	i = find_serial(c, 5);
	assert_int_equal(c->ev[i].syscall, 316);
	assert_int_equal(c->ev[i].success, 1);
	assert_int_equal(c->ev[i].pid, 31663);
	assert_int_equal(c->ev[i].ppid, 31607);
	assert_int_equal(c->ev[i].uid, 0);
	assert_int_equal(c->ev[i].auid, -1);
	assert_int_equal(c->ev[i].n_paths, 4);
	assert_string_equal(c->names[i][2], "/tmp/arec/w/f1");
	assert_string_equal(c->names[i][3], "/tmp/arec/w/f 2");
	assert_string_equal(c->ev[i].paths[3].nametype, "CREATE");
	assert_int_equal(c->ev[i].paths[3].inode, 10954257);
	assert_int_equal(c->ev[i].paths[3].mode, 0100644);
	assert_int_equal(c->ev[i].paths[3].dev_major, 0xfe);
	assert_string_equal(c->exe[i], "/usr/bin/mv");
	assert_string_equal(c->key[i], "vigil-test");
	assert_string_equal(c->cwd[i], "/tmp/arec");
	assert_string_equal(c->cmdline[i], "mv /tmp/arec/w/f1 /tmp/arec/w/f 2");
	assert_int_equal(c->ev[i].time_ns, 1795339011332000000LL);
	/* sh -c with a hex-encoded argument from EXECVE */
	i = find_serial(c, 8);
	assert_int_equal(c->ev[i].syscall, 59);
	assert_int_equal(c->ev[i].argc, 3);
	assert_string_equal(c->argv2[i], "true \"a b\" $(printf \"\\x01x\")");
	assert_string_equal(c->exe[i], "/usr/bin/dash");
	assert_int_equal(c->ev[i].malformed, 0);
	/* a record with key=(null) has no key */
	i = find_serial(c, 2);
	assert_null(c->key[i]);
}

static void test_parse_recorded(void **state)
{
	struct collected c = { 0 };
	struct vigil_audit_parser *p = vigil_audit_parser_new(collect, &c);
	size_t len;
	char *text = slurp("tests/fixtures/audit/host-records.txt", &len);

	(void)state;
	assert_non_null(p);
	assert_int_equal(vigil_audit_parser_feed(p, text, len), 0);
	vigil_audit_parser_flush(p);
	check_recorded(&c);
	assert_int_equal(vigil_audit_parser_events(p), 16);
	vigil_audit_parser_free(p);
	collected_free(&c);
	free(text);
}

/* Records cut anywhere (netlink reads, pipe reads) give the same events. */
static void test_parse_split(void **state)
{
	struct collected c = { 0 };
	struct vigil_audit_parser *p = vigil_audit_parser_new(collect, &c);
	size_t len;
	char *text = slurp("tests/fixtures/audit/host-records.txt", &len);

	(void)state;
	for (size_t o = 0; o < len; o += 7)
		vigil_audit_parser_feed(p, text + o, len - o < 7 ? len - o : 7);
	vigil_audit_parser_flush(p);
	check_recorded(&c);
	vigil_audit_parser_free(p);
	collected_free(&c);
	free(text);
}

static void test_parse_hostile(void **state)
{
	static const char *const inputs[] = {
		"type=SYSCALL msg=audit(1700000000.100:1): pid=abc syscall=99999999999 exe=ZZ\n",
		"type=SYSCALL msg=audit(1700000000.100:2): arch=c000003e syscall=59 pid=-4 key=\"x\n",
		"type=EXECVE msg=audit(1700000000.100:3): argc=2 a99999999999999999999=\"x\" a1[0]=41 a1[1]=42\n",
		"type=PATH msg=audit(1700000000.100:4): item=0 name=\"\" inode=-1 dev=zz:zz mode=99999999\n",
		"type=PROCTITLE msg=audit(1700000000.100:5): proctitle=00000000\n",
		"garbage without structure\n\n\n",
		"type=SYSCALL msg=audit(1.1:7): pid=1 syscall=2\n", /* odd stamp: dropped */
		"type=SYSCALL msg=audit(1700000000.100:6): pid=1 syscall=2 key=6100620063\n",
	};
	struct collected c = { 0 };
	struct vigil_audit_parser *p = vigil_audit_parser_new(collect, &c);

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
		vigil_audit_parser_feed(p, inputs[i], strlen(inputs[i]));
	vigil_audit_parser_flush(p);
	print_message("hostile: %zu events\n", c.n);
	assert_true(c.n >= 5);
	assert_int_equal(c.ev[0].malformed, 1); /* no usable pid */
	assert_int_equal(c.ev[0].pid, 0);
	/* the key with \001 separators keeps its first key */
	for (size_t i = 0; i < c.n; i++)
		if (c.ev[i].serial == 6)
			assert_string_equal(c.key[i], "a");
	vigil_audit_parser_free(p);
	collected_free(&c);
}

static void test_decode(void **state)
{
	static const struct {
		const char *in, *out;
		size_t len;
	} t[] = {
		{ "\"/etc/passwd\"", "/etc/passwd", 11 },
		{ "2F746D702F662032", "/tmp/f 2", 8 },
		{ "666F6F00626172", "foo\0bar", 7 },
		{ "(null)", NULL, 0 },
		{ "123", "123", 3 },      /* odd hex: raw */
		{ "12xy", "12xy", 4 },    /* not hex: raw */
		{ "\"unterminated", "unterminated", 12 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t len;
		char *o = vigil_audit_decode_value(t[i].in, &len);

		if (!t[i].out) {
			assert_null(o);
			continue;
		}
		assert_non_null(o);
		assert_int_equal(len, t[i].len);
		assert_memory_equal(o, t[i].out, len);
		free(o);
	}
}

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_cgroup(void **state)
{
	static const struct {
		const char *text;
		int found;
	} t[] = {
		{ "0::/system.slice/docker-" ID ".scope\n", 1 },
		{ "12:pids:/docker/" ID "\n11:memory:/docker/" ID "\n", 1 },
		{ "0::/docker/" ID "/init.scope\n", 1 },
		{ "1:name=systemd:/system.slice/docker-" ID ".scope\n", 1 },
		{ "0::/kubepods/burstable/pod1/cri-containerd-" ID ".scope\n", 1 },
		{ "0::/user.slice/user-0.slice/session-1.scope\n", 0 },
		{ "0::/docker/0123\n", 0 },                       /* too short */
		{ "0::/docker-" ID "\n", 0 },                     /* no .scope */
		{ "0::/notdocker/" ID "\n", 0 },                  /* wrong parent */
		{ "0::/docker/" "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF" "\n", 0 },
		{ "garbage", 0 },
		{ "", 0 },
		{ "4:memory:/process_api/324ff49a431f96cb01789f8404675715\n0::/\n", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char id[65];
		int r = vigil_audit_cgroup_container(t[i].text, strlen(t[i].text), id);

		assert_int_equal(r, t[i].found);
		if (r)
			assert_string_equal(id, ID);
	}
}

static void test_shim(void **state)
{
	char root[] = "/tmp/vigil-audit-proc.XXXXXX", p[PATH_MAX], id[65];
	static const char args[] = "/usr/bin/containerd-shim-runc-v2\0-namespace\0moby\0-id\0" ID
				   "\0-address\0/run/containerd/containerd.sock";
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(p, sizeof(p), "%s/123", root);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/123/exe", root);
	assert_int_equal(symlink("/usr/bin/containerd-shim-runc-v2", p), 0);
	snprintf(p, sizeof(p), "%s/123/cmdline", root);
	f = fopen(p, "w");
	fwrite(args, 1, sizeof(args), f);
	fclose(f);
	assert_int_equal(vigil_audit_shim_container(root, 123, id), 1);
	assert_string_equal(id, ID);
	/* not a shim: its -id means nothing */
	snprintf(p, sizeof(p), "%s/124", root);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/124/exe", root);
	assert_int_equal(symlink("/usr/bin/python3", p), 0);
	assert_int_equal(vigil_audit_shim_container(root, 124, id), 0);
	assert_true(vigil_audit_shim_container(root, 999, id) < 0);
	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	assert_int_equal(system(p), 0);
}

static void test_shell(void **state)
{
	char *bb_sh[] = { (char *)"sh", (char *)"-c", (char *)"id" };
	char *bb_cmd[] = { (char *)"busybox", (char *)"sh" };
	char *bb_ls[] = { (char *)"ls", (char *)"-l" };
	char *login[] = { (char *)"-bash" };

	(void)state;
	assert_true(vigil_audit_is_shell("/bin/bash", "bash", NULL, 0));
	assert_true(vigil_audit_is_shell("/usr/bin/dash", "sh", NULL, 0));
	assert_true(vigil_audit_is_shell("/bin/zsh", "zsh", NULL, 0));
	assert_true(vigil_audit_is_shell("/bin/ash", "ash", NULL, 0));
	assert_true(vigil_audit_is_shell("/bin/ksh", "ksh", NULL, 0));
	assert_true(vigil_audit_is_shell("/bin/busybox", "busybox", bb_sh, 3));
	assert_true(vigil_audit_is_shell("/bin/busybox", "busybox", bb_cmd, 2));
	assert_true(vigil_audit_is_shell("/bin/busybox", "sh", NULL, 0));
	assert_false(vigil_audit_is_shell("/bin/busybox", "ls", bb_ls, 2));
	assert_false(vigil_audit_is_shell("/usr/bin/python3", "python3", NULL, 0));
	assert_false(vigil_audit_is_shell("/usr/bin/shred", "shred", NULL, 0));
	assert_true(vigil_audit_is_shell(NULL, "bash", login, 1));
	assert_false(vigil_audit_is_shell(NULL, NULL, NULL, 0));
}

static void mk(const char *root, const char *rel, int dir)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s%s", root, rel);
	if (dir) {
		assert_int_equal(mkdir(p, 0755), 0);
		return;
	}
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	if (strstr(rel, "daemon.json"))
		assert_int_equal(write(fd, "{\"data-root\":\"/srv/docker\"}", 27), 27);
	close(fd);
}

static void test_rules_root(void **state)
{
	static const char *const dirs[] = { "/usr", "/usr/bin", "/usr/sbin", "/etc", "/etc/docker",
					    "/lib", "/lib/systemd", "/lib/systemd/system", "/srv",
					    "/srv/docker", "/var", "/data", "/data/a b", NULL };
	static const char *const files[] = { "/usr/sbin/dockerd", "/usr/bin/runc",
					     "/etc/docker/daemon.json",
					     "/lib/systemd/system/docker.service", NULL };
	const char *paths[] = { "/data/a b", "/data", "/nonexistent", NULL };
	char root[] = "/tmp/vigil-audit-root.XXXXXX", *text = NULL, cmd[PATH_MAX + 16];
	struct vigil_audit_rules_opts o = { .execve = 1, .b32 = -1, .paths = paths };
	struct vigil_audit_ruleset *set;
	struct vigil_err err = { "" };
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(root));
	for (size_t i = 0; dirs[i]; i++)
		mk(root, dirs[i], 1);
	for (size_t i = 0; files[i]; i++)
		mk(root, files[i], 0);
	o.root = root;
	assert_int_equal(vigil_audit_rules_build(&o, &set, &err), 0);
	f = open_memstream(&text, &len);
	assert_int_equal(vigil_audit_rules_print(set, f), 0);
	fclose(f);
	/* what exists, under its host name; dir= for directories */
	assert_non_null(strstr(text, "-a always,exit -F path=/usr/sbin/dockerd -F perm=wa -F key=vigil-docker-engine\n"));
	assert_non_null(strstr(text, "-F path=/usr/bin/runc -F perm=wa -F key=vigil-docker-engine\n"));
	assert_non_null(strstr(text, "-F dir=/etc/docker -F perm=wa -F key=vigil-docker-config\n"));
	assert_non_null(strstr(text, "-F path=/etc/docker/daemon.json -F perm=wa -F key=vigil-docker-config\n"));
	assert_non_null(strstr(text, "-F path=/lib/systemd/system/docker.service -F perm=wa"));
	assert_non_null(strstr(text, "-F dir=/srv/docker -F perm=wa -F key=vigil-docker-data\n"));
	assert_non_null(strstr(text, "-F dir=/data -F perm=wa -F key=vigil-scope-cli\n"));
	assert_non_null(strstr(text, "-F arch=b64 -S execve,execveat -F auid=unset -F key=vigil-exec\n"));
	/* absent paths are left out, blanks cannot be written */
	assert_null(strstr(text, "containerd"));
	assert_null(strstr(text, "dir=/var/lib/docker"));
	assert_null(strstr(text, "nonexistent"));
	assert_null(strstr(text, "arch=b32"));
	assert_non_null(strstr(text, "## skipped /data/a b: blank or control character"));
	assert_null(strstr(text, root));
	/* every rule is keyed vigil-* */
	for (size_t i = 0; i < set->n; i++)
		assert_memory_equal(set->v[i].key, "vigil-", 6);
	vigil_audit_rules_free(set);
	free(text);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

/* An image whose absolute symlinks point at host files and dirs: the rules
 * name nothing the host holds (every look goes through rootfs). */
/* The rules built for o, as `vigil rules print` writes them: malloc'd. */
static char *rules_text(const struct vigil_audit_rules_opts *o)
{
	struct vigil_audit_ruleset *set;
	struct vigil_err err = { "" };
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	assert_int_equal(vigil_audit_rules_build(o, &set, &err), 0);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(vigil_audit_rules_print(set, f), 0);
	fclose(f);
	vigil_audit_rules_free(set);
	return text;
}

static void test_rules_root_confined(void **state)
{
	const char *paths[] = { "/data/*", "/data/secret", "/etc/x/*", NULL };
	char root[] = "/tmp/vigil-audit-root.XXXXXX", host[] = "/tmp/vigil-audit-host.XXXXXX";
	char cmd[3 * PATH_MAX], *text;
	struct vigil_audit_rules_opts o = { .execve = 0, .b32 = -1, .paths = paths };

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_non_null(mkdtemp(host));
	/* host side: a daemon.json and a drop-in moving the data root, a dir of files */
	snprintf(cmd, sizeof(cmd),
		 "set -e; cd '%s'; mkdir d; touch d/secret; printf '{\"data-root\":\"/hostleak\"}' >daemon.json;"
		 "printf '[Service]\\nExecStart=\\nExecStart=/usr/bin/dockerd --data-root /hostleak2\\n' >x.conf;"
		 "cd '%s'; mkdir -p usr/sbin etc/docker etc/systemd/system/docker.service.d hostleak hostleak2;"
		 "touch usr/sbin/dockerd; ln -s '%s/daemon.json' etc/docker/daemon.json;"
		 "ln -s '%s/x.conf' etc/systemd/system/docker.service.d/x.conf;"
		 "ln -s '%s/d' data; ln -s /etc etc/x",
		 host, root, host, host, host);
	assert_int_equal(system(cmd), 0);
	o.root = root;
	text = rules_text(&o);
	/* /etc/x -> /etc is the image's own /etc: its entries, never the host's */
	if (strstr(text, "hostleak") || strstr(text, "secret") || strstr(text, host) ||
	    strstr(text, "/etc/x/passwd") || strstr(text, "x.conf"))
		fail_msg("a host file reached the rules:\n%s", text);
	assert_non_null(strstr(text, "-F dir=/etc/x/docker -F perm=wa -F key=vigil-scope-cli\n"));
	assert_non_null(strstr(text, "-F path=/usr/sbin/dockerd -F perm=wa -F key=vigil-docker-engine\n"));
	free(text);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, host);
	assert_int_equal(system(cmd), 0);
}

static void noop_emit(const struct vigil_event *ev, void *ctx)
{
	int *n = ctx;

	(void)ev;
	(*n)++;
}

static void test_who(void **state)
{
	struct vigil_audit_engine_opts o = { .window_ms = 500, .proc = "/nonexistent-proc" };
	struct vigil_audit_engine *e;
	struct vigil_who who;
	int emitted = 0;
	size_t len;
	char *text = slurp("tests/fixtures/audit/host-records.txt", &len);
	/* the fixture's key is vigil-test: any vigil- key is kept for who-data */
	const int64_t t5 = 1795339011332000000LL;

	(void)state;
	e = vigil_audit_engine_new(&o, noop_emit, &emitted);
	assert_non_null(e);
	vigil_audit_engine_feed(e, text, len);
	vigil_audit_parser_flush(vigil_audit_engine_parser(e));
	assert_int_equal(vigil_audit_engine_who(e, "/tmp/arec/w/f 2", 0, t5 + 1000000, &who), 1);
	assert_int_equal(who.known, 1);
	assert_int_equal(who.pid, 31663);
	assert_string_equal(who.exe, "/usr/bin/mv");
	assert_string_equal(who.comm, "mv");
	assert_int_equal(who.uid, 0);
	assert_null(who.container_id); /* no /proc here: not guessed */
	/* by inode, whatever the name */
	assert_int_equal(vigil_audit_engine_who(e, "/elsewhere", 10954257, t5, &who), 1);
	assert_int_equal(who.pid, 31663);
	/* later, the last writer is named: rm (pid 31667) removed it */
	assert_int_equal(vigil_audit_engine_who(e, "/tmp/arec/w/f 2", 0, t5 + 100000000, &who), 1);
	assert_int_equal(who.pid, 31667);
	assert_string_equal(who.exe, "/usr/bin/rm");
	/* outside the window: unknown, said so */
	assert_int_equal(vigil_audit_engine_who(e, "/tmp/arec/w/f 2", 0, t5 + 5000000000LL, &who), 0);
	assert_int_equal(who.known, 0);
	assert_int_equal(vigil_audit_engine_who(e, "/never/seen", 0, t5, &who), 0);
	vigil_audit_engine_free(e);
	free(text);
}

struct seen {
	char actions[32][40];
	char extra[32][200];
	size_t n;
};

static void seen_emit(const struct vigil_event *ev, void *ctx)
{
	struct seen *s = ctx;

	if (s->n >= 32)
		return;
	snprintf(s->actions[s->n], sizeof(s->actions[0]), "%s", ev->action ? ev->action : "");
	snprintf(s->extra[s->n], sizeof(s->extra[0]), "%s", ev->extra_json ? ev->extra_json : "");
	s->n++;
}

static size_t seen_count(const struct seen *s, const char *action)
{
	size_t k = 0;

	for (size_t i = 0; i < s->n; i++)
		k += !strcmp(s->actions[i], action);
	return k;
}

/* Synthetic records in the kernel's form: engine binary and config changes,
 * a failed attempt (no detection), lost records and an exec flood. */
static void test_detections(void **state)
{
	static const char text[] =
		"type=SYSCALL msg=audit(1700000000.100:10): arch=c000003e syscall=82 success=yes exit=0 items=4 ppid=1 pid=4242 auid=4294967295 uid=0 gid=0 euid=0 comm=\"dpkg\" exe=\"/usr/bin/dpkg\" key=\"vigil-docker-engine\"\n"
		"type=CWD msg=audit(1700000000.100:10): cwd=\"/\"\n"
		"type=PATH msg=audit(1700000000.100:10): item=0 name=\"/usr/sbin/\" inode=1 dev=fe:00 mode=040755 nametype=PARENT\n"
		"type=PATH msg=audit(1700000000.100:10): item=1 name=\"/usr/sbin/dockerd\" inode=7 dev=fe:00 mode=0100755 nametype=DELETE\n"
		"type=EOE msg=audit(1700000000.100:10): \n"
		"type=SYSCALL msg=audit(1700000000.200:11): arch=c000003e syscall=257 success=yes exit=3 items=1 ppid=1 pid=4243 auid=0 uid=0 gid=0 euid=0 comm=\"vi\" exe=\"/usr/bin/vi\" key=\"vigil-docker-config\"\n"
		"type=CWD msg=audit(1700000000.200:11): cwd=\"/etc/docker\"\n"
		"type=PATH msg=audit(1700000000.200:11): item=0 name=\"daemon.json\" inode=9 dev=fe:00 mode=0100644 nametype=NORMAL\n"
		"type=EOE msg=audit(1700000000.200:11): \n"
		"type=SYSCALL msg=audit(1700000000.300:12): arch=c000003e syscall=257 success=no exit=-13 items=1 ppid=1 pid=4244 auid=1000 uid=1000 gid=1000 euid=1000 comm=\"sh\" exe=\"/bin/sh\" key=\"vigil-docker-config\"\n"
		"type=PATH msg=audit(1700000000.300:12): item=0 name=\"/etc/docker/daemon.json\" inode=9 dev=fe:00 mode=0100644 nametype=NORMAL\n"
		"type=EOE msg=audit(1700000000.300:12): \n";
	struct vigil_audit_engine_opts o = { .window_ms = 500, .proc = "/nonexistent-proc",
					     .exec_rate = 2 };
	struct vigil_audit_kstatus ks = { .enabled = 1, .backlog_limit = 64 };
	struct vigil_audit_counters c;
	struct vigil_audit_engine *e;
	struct vigil_who who;
	struct seen s = { 0 };
	char line[512];

	(void)state;
	e = vigil_audit_engine_new(&o, seen_emit, &s);
	assert_non_null(e);
	vigil_audit_engine_feed(e, text, strlen(text));
	assert_int_equal(seen_count(&s, VIGIL_ACTION_DOCKER_BINARY), 1);
	assert_int_equal(seen_count(&s, VIGIL_ACTION_DOCKER_CONFIG), 1); /* the refused one: none */
	/* relative name resolved against the cwd, for who-data too */
	assert_int_equal(vigil_audit_engine_who(e, "/etc/docker/daemon.json", 0,
						1700000000250000000LL, &who), 1);
	assert_int_equal(who.pid, 4243);
	assert_int_equal(who.auid, 0);

	/* lost records: the first reading is the baseline, growth is an event */
	ks.lost = 5;
	vigil_audit_engine_tick(e, &ks, 0);
	assert_int_equal(seen_count(&s, VIGIL_ACTION_AUDIT_LOST), 0);
	ks.lost = 9;
	vigil_audit_engine_tick(e, &ks, 0);
	assert_int_equal(seen_count(&s, VIGIL_ACTION_AUDIT_LOST), 1);
	assert_non_null(strstr(s.extra[s.n - 1], "\"lost\":4"));
	vigil_audit_engine_tick(e, &ks, 2); /* our socket overflowed twice */
	assert_int_equal(seen_count(&s, VIGIL_ACTION_AUDIT_LOST), 2);

	/* an exec flood: 2 per second examined, the rest counted and reported */
	for (int i = 0; i < 6; i++) {
		snprintf(line, sizeof(line),
			 "type=SYSCALL msg=audit(1700000001.%03d:%d): arch=c000003e syscall=59 success=yes exit=0 items=1 ppid=1 pid=%d auid=4294967295 uid=0 gid=0 euid=0 comm=\"true\" exe=\"/bin/true\" key=\"vigil-exec\"\n"
			 "type=EXECVE msg=audit(1700000001.%03d:%d): argc=1 a0=\"true\"\n"
			 "type=EOE msg=audit(1700000001.%03d:%d): \n",
			 i, 100 + i, 5000 + i, i, 100 + i, i, 100 + i);
		vigil_audit_engine_feed(e, line, strlen(line));
	}
	vigil_audit_engine_tick(e, &ks, 2);
	vigil_audit_engine_counters(e, &c);
	assert_int_equal(c.execs, 6);
	assert_int_equal(c.execs_suppressed, 4);
	assert_int_equal(seen_count(&s, VIGIL_ACTION_AUDIT_RATE), 1);
	assert_non_null(strstr(s.extra[s.n - 1], "\"execs_suppressed\":4"));
	vigil_audit_engine_free(e);
}

static void test_container_meta(void **state)
{
	char root[] = "/tmp/vigil-audit-data.XXXXXX", p[PATH_MAX], *name, *image;
	struct vigil_err err = { "" };
	const char *json = "{\"ID\":\"" ID "\",\"Name\":\"/web\",\"Image\":\"sha256:abc\","
			   "\"Config\":{\"Image\":\"busybox:latest\"}}";
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(p, sizeof(p), "%s/containers", root);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/containers/%s", root, ID);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/containers/%s/config.v2.json", root, ID);
	f = fopen(p, "w");
	fputs(json, f);
	fclose(f);
	assert_int_equal(vigil_docker_container_lookup(NULL, root, ID, &name, &image, &err), 0);
	assert_string_equal(name, "web");
	assert_string_equal(image, "busybox:latest");
	free(name);
	free(image);
	assert_int_equal(vigil_docker_container_lookup(NULL, root, "../../etc", &name, &image, &err), -EINVAL);
	assert_int_equal(vigil_docker_container_lookup(NULL, root, ID2, &name, &image, &err), -ENOENT);
	f = fopen(p, "w");
	fputs("{broken", f);
	fclose(f);
	assert_int_equal(vigil_docker_container_lookup(NULL, root, ID, &name, &image, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "config.v2.json"));
	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	assert_int_equal(system(p), 0);

	/* a moved data root ("data-root" in daemon.json), found by the collector */
	assert_non_null(mkdtemp(strcpy(root, "/tmp/vigil-audit-data.XXXXXX")));
	snprintf(p, sizeof(p), "mkdir -p '%s/etc/docker' '%s/srv/moved/containers/%s'", root, root, ID);
	assert_int_equal(system(p), 0);
	snprintf(p, sizeof(p), "%s/etc/docker/daemon.json", root);
	f = fopen(p, "w");
	fputs("{\"data-root\": \"/srv/moved\"}", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/srv/moved/containers/%s/config.v2.json", root, ID);
	f = fopen(p, "w");
	fputs(json, f);
	fclose(f);
	assert_int_equal(vigil_docker_container_lookup(root, NULL, ID, &name, &image, &err), 0);
	assert_string_equal(name, "web");
	assert_string_equal(image, "busybox:latest");
	free(name);
	free(image);
	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	assert_int_equal(system(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_recorded),
		cmocka_unit_test(test_parse_split),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_cgroup),
		cmocka_unit_test(test_shim),
		cmocka_unit_test(test_shell),
		cmocka_unit_test(test_rules_root),
		cmocka_unit_test(test_rules_root_confined),
		cmocka_unit_test(test_who),
		cmocka_unit_test(test_container_meta),
		cmocka_unit_test(test_detections),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
