/* test_cis.c - the CIS checks on hand-made data roots (--root): one table
 * per check family, each row the files written and the verdict expected.
 * Rows that must fail were checked to fail against a wrong verdict. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil/compliance.h"

#include "docker_fixture.h"

#define CID1 "1111111111111111111111111111111111111111111111111111111111111111"
#define CID2 "2222222222222222222222222222222222222222222222222222222222222222"

struct file {
	const char *path;  /* inside the root; ending in '/' makes a directory */
	const char *text;
	unsigned mode;     /* 0: 0644 (files), 0755 (dirs) */
};

struct expect {
	const char *id;
	const char *container; /* NULL: the check's overall verdict */
	int verdict;
	const char *detail;    /* a substring of some result's detail, or NULL */
};

struct row {
	const char *name;
	struct file files[10];
	struct expect want[10];
};

static char *make_root(const struct file *f)
{
	char *d = fx_new_root(), path[4096];

	assert_non_null(d);
	for (; f->path; f++) {
		size_t l = strlen(f->path);

		snprintf(path, sizeof(path), "%s/%s", d, f->path);
		if (f->path[l - 1] == '/') {
			assert_int_equal(fx_mkdirs(path), 0);
			chmod(path, f->mode ? f->mode : 0755);
			continue;
		}
		{
			char dir[4096];

			snprintf(dir, sizeof(dir), "%s", path);
			*strrchr(dir, '/') = '\0';
			assert_int_equal(fx_mkdirs(dir), 0);
		}
		assert_int_equal(fx_write(path, f->text, strlen(f->text)), 0);
		chmod(path, f->mode ? f->mode : 0644);
	}
	return d;
}

static void check_row(const struct row *r)
{
	char *root = make_root(r->files);
	struct vigil_cis_opts o = { .root = root };
	struct vigil_cis_report *rep = NULL;
	struct vigil_err err = { "" };

	assert_int_equal(vigil_cis_run(&o, &rep, &err), 0);
	for (const struct expect *w = r->want; w->id; w++) {
		int got = -1, detail_seen = !w->detail;

		if (!w->container)
			got = vigil_cis_check_verdict(rep, w->id);
		for (size_t i = 0; i < rep->n; i++) {
			const struct vigil_cis_result *x = &rep->v[i];

			if (strcmp(x->check->id, w->id))
				continue;
			if (w->container && x->container_name && !strcmp(x->container_name, w->container))
				got = x->verdict;
			if (w->detail && x->detail && strstr(x->detail, w->detail))
				detail_seen = 1;
		}
		if (got != w->verdict || !detail_seen) {
			print_error("row '%s': check %s%s%s: verdict %s, want %s%s%s\n", r->name, w->id,
				    w->container ? " container " : "", w->container ? w->container : "",
				    vigil_cis_verdict_name(got), vigil_cis_verdict_name(w->verdict),
				    detail_seen ? "" : "; no detail holds: ", detail_seen ? "" : w->detail);
			vigil_cis_write_text(rep, stderr, 1);
			fail();
		}
	}
	vigil_cis_report_free(rep);
	fx_rm(root);
	free(root);
}

#define UNIT "lib/systemd/system/docker.service"
#define DJSON "etc/docker/daemon.json"

/* ---- 2.x: daemon.json merged with dockerd's arguments ---- */
static const struct row daemon_rows[] = {
	{ "defaults", { { UNIT, "[Service]\nExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\n" } },
	  { { "2.2", NULL, VIGIL_CIS_FAIL }, { "2.3", NULL, VIGIL_CIS_PASS }, { "2.16", NULL, VIGIL_CIS_FAIL },
	    { "2.7", NULL, VIGIL_CIS_NA }, { "2.13", NULL, VIGIL_CIS_FAIL }, { "2.9", NULL, VIGIL_CIS_FAIL } } },
	{ "daemon.json hardened", { { DJSON, "{\"icc\": false, \"log-level\": \"debug\", \"userland-proxy\": false,\n"
				 "\"live-restore\": true, \"no-new-privileges\": true, \"userns-remap\": \"default\",\n"
				 "\"log-driver\": \"syslog\", \"authorization-plugins\": [\"authz\"]}" } },
	  { { "2.2", NULL, VIGIL_CIS_PASS }, { "2.3", NULL, VIGIL_CIS_FAIL }, { "2.16", NULL, VIGIL_CIS_PASS },
	    { "2.15", NULL, VIGIL_CIS_PASS }, { "2.14", NULL, VIGIL_CIS_PASS }, { "2.9", NULL, VIGIL_CIS_PASS },
	    { "2.13", NULL, VIGIL_CIS_PASS }, { "2.12", NULL, VIGIL_CIS_PASS } } },
	{ "duplicate key", { { DJSON, "{\n  \"icc\": false,\n  \"icc\": true\n}\n" } },
	  { { "2.2", NULL, VIGIL_CIS_ERROR, "line 3" }, { "2.15", NULL, VIGIL_CIS_ERROR, "daemon.json" } } },
	{ "not JSON", { { DJSON, "{\n  \"icc\": false,\n  oops\n}\n" } },
	  { { "2.2", NULL, VIGIL_CIS_ERROR, "line 3" } } },
	{ "wrong type", { { DJSON, "{\n  \"live-restore\": true,\n  \"icc\": \"false\"\n}\n" } },
	  { { "2.2", NULL, VIGIL_CIS_ERROR, "line 3: \"icc\" must be a boolean" }, { "2.15", NULL, VIGIL_CIS_ERROR } } },
	{ "drop-in resets ExecStart", { { UNIT, "[Service]\nExecStart=/usr/bin/dockerd -H fd://\n" },
					{ "etc/systemd/system/docker.service.d/override.conf",
					  "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --icc=false \\\n  --insecure-registry 10.0.0.1:5000 -l warn\n" } },
	  { { "2.2", NULL, VIGIL_CIS_PASS }, { "2.5", NULL, VIGIL_CIS_FAIL }, { "2.3", NULL, VIGIL_CIS_FAIL } } },
	{ "flag and file both set", { { UNIT, "[Service]\nExecStart=/usr/bin/dockerd --icc=false\n" }, { DJSON, "{\"icc\": false}" } },
	  { { "2.2", NULL, VIGIL_CIS_ERROR, "dockerd refuses to start" }, { "2.16", NULL, VIGIL_CIS_FAIL } } },
	{ "tcp without tlsverify", { { DJSON, "{\"hosts\": [\"unix:///run/docker.sock\", \"tcp://0.0.0.0:2375\"]}" } },
	  { { "2.7", NULL, VIGIL_CIS_FAIL } } },
	{ "tcp with tlsverify", { { DJSON, "{\"hosts\": [\"tcp://0.0.0.0:2376\"], \"tlsverify\": true}" } },
	  { { "2.7", NULL, VIGIL_CIS_PASS } } },
	{ "DOCKER_OPTS", { { UNIT, "[Service]\nEnvironmentFile=-/etc/default/docker\nExecStart=/usr/bin/dockerd $DOCKER_OPTS\n" },
			   { "etc/default/docker", "# opts\nDOCKER_OPTS=\"--live-restore --iptables=false\"\n" } },
	  { { "2.15", NULL, VIGIL_CIS_PASS }, { "2.4", NULL, VIGIL_CIS_FAIL } } },
	{ "unconfined seccomp, experimental", { { DJSON, "{\"seccomp-profile\": \"unconfined\", \"experimental\": true,"
						    " \"storage-opts\": [\"dm.basesize=20G\"], \"cgroup-parent\": \"/x\"}" } },
	  { { "2.17", NULL, VIGIL_CIS_FAIL }, { "2.18", NULL, VIGIL_CIS_FAIL }, { "2.11", NULL, VIGIL_CIS_FAIL },
	    { "2.10", NULL, VIGIL_CIS_FAIL } } },
};

/* ---- 1.1.x: audit rules from the image's rules files ---- */
static const struct row audit_rows[] = {
	{ "watched and not", { { "usr/bin/dockerd", "elf" }, { "usr/bin/containerd", "elf" }, { "usr/bin/containerd-shim", "elf" },
			       { "etc/audit/rules.d/docker.rules",
				 "# docker\n-w /usr/bin/dockerd -p rwxa -k docker\n-w /usr/bin/containerd-shim -k docker\n" },
			       { "etc/audit/audit.rules", "-a always,exit -F path=/etc/docker -F perm=wa -k docker\n" },
			       { "etc/docker/", "", 0755 } },
	  { { "1.1.3", NULL, VIGIL_CIS_PASS }, { "1.1.14", NULL, VIGIL_CIS_FAIL }, { "1.1.15", NULL, VIGIL_CIS_PASS },
	    { "1.1.6", NULL, VIGIL_CIS_PASS }, { "1.1.18", NULL, VIGIL_CIS_NA } } },
	{ "commented rule", { { "usr/bin/dockerd", "elf" }, { "etc/audit/rules.d/d.rules", "#-w /usr/bin/dockerd -k docker\n" } },
	  { { "1.1.3", NULL, VIGIL_CIS_FAIL } } },
	{ "fstab partition", { { "etc/fstab", "/dev/sdb1 /var/lib/docker ext4 defaults 0 2\n" }, { "etc/group", "docker:x:999:alice,bob\n" } },
	  { { "1.1.1", NULL, VIGIL_CIS_PASS }, { "1.1.2", NULL, VIGIL_CIS_INFO, "alice,bob" } } },
	{ "no partition", { { "etc/fstab", "/dev/sda1 / ext4 defaults 0 1\n" } },
	  { { "1.1.1", NULL, VIGIL_CIS_FAIL } } },
};

/* ---- 3.x: modes (owners need root: below) ---- */
static const struct row file_rows[] = {
	{ "modes", { { "etc/docker/", "", 0775 }, { DJSON, "{}", 0666 }, { UNIT, "[Service]\n", 0644 },
		     { "etc/default/docker", "", 0600 }, { "etc/docker/certs.d/reg:5000/ca.crt", "x", 0644 } },
	  { { "3.6", NULL, VIGIL_CIS_FAIL }, { "3.18", NULL, VIGIL_CIS_FAIL }, { "3.2", NULL, VIGIL_CIS_PASS },
	    { "3.20", NULL, VIGIL_CIS_PASS }, { "3.8", NULL, VIGIL_CIS_FAIL }, { "3.21", NULL, VIGIL_CIS_NA },
	    { "3.9", NULL, VIGIL_CIS_NA } } },
	/* docker-bench compares "470" <= "644" as numbers and passes it: group may write */
	{ "numeric compare trap", { { DJSON, "{}", 0470 }, { "etc/docker/", "", 0700 } },
	  { { "3.18", NULL, VIGIL_CIS_FAIL }, { "3.6", NULL, VIGIL_CIS_PASS } } },
	{ "tls key", { { DJSON, "{\"tlskey\": \"/etc/docker/key.pem\", \"tlscacert\": \"/etc/docker/ca.pem\"}" },
		       { "etc/docker/key.pem", "k", 0440 }, { "etc/docker/ca.pem", "c", 0444 } },
	  { { "3.14", NULL, VIGIL_CIS_FAIL }, { "3.10", NULL, VIGIL_CIS_PASS }, { "3.12", NULL, VIGIL_CIS_NA } } },
};

/* ---- 4.5: DOCKER_CONTENT_TRUST in the login environment ---- */
#define DCT "DOCKER_CONTENT_TRUST"
static const struct row trust_rows[] = {
	{ "trust unset", { { "etc/environment", "PATH=/usr/bin:/bin\n" } },
	  { { "4.5", NULL, VIGIL_CIS_FAIL, "not set in /etc/environment" } } },
	{ "trust in /etc/environment", { { "etc/environment", "PATH=/usr/bin:/bin\n" DCT "=1\n" } },
	  { { "4.5", NULL, VIGIL_CIS_PASS, "line 2" } } },
	{ "trust quoted in profile.d", { { "etc/profile.d/docker.sh", "  export " DCT "=\"1\"  # signed only\n" } },
	  { { "4.5", NULL, VIGIL_CIS_PASS } } },
	{ "trust overridden later", { { "etc/environment", DCT "=1\n" }, { "etc/profile.d/zz.sh", "export " DCT "=0\n" } },
	  { { "4.5", NULL, VIGIL_CIS_FAIL, "sets it to '0'" } } },
	{ "trust unset by profile", { { "etc/environment", DCT "=1\n" }, { "etc/profile", "unset " DCT "\n" } },
	  { { "4.5", NULL, VIGIL_CIS_FAIL, "unsets it" } } },
	{ "trust commented", { { "etc/environment", "# " DCT "=1\n" DCT "X=1\n" } },
	  { { "4.5", NULL, VIGIL_CIS_FAIL } } },
	/* dockerd never reads it: the daemon's environment is not the clients' */
	{ "trust for dockerd only", { { UNIT, "[Service]\nEnvironment=" DCT "=1\nExecStart=/usr/bin/dockerd\n" },
				      { "etc/default/docker", DCT "=1\n" } },
	  { { "4.5", NULL, VIGIL_CIS_FAIL } } },
	{ "trust in a profile.d file that is not .sh", { { "etc/profile.d/docker.conf", DCT "=1\n" } },
	  { { "4.5", NULL, VIGIL_CIS_FAIL } } },
};

static void test_trust(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(trust_rows) / sizeof(trust_rows[0]); i++)
		check_row(&trust_rows[i]);
}

/* ---- 4.1, 5.x: containers ---- */
#define CONF(id, name, extra) "{\"ID\":\"" id "\",\"Name\":\"/" name "\",\"Image\":\"sha256:" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"State\":{\"Running\":false}" extra "}"
#define CPATH(id, f) "var/lib/docker/containers/" id "/" f

static const struct row container_rows[] = {
	{ "bad container",
	  { { "var/lib/docker/image/overlay2/", "" },
	    { CPATH(CID1, "config.v2.json"), CONF(CID1, "bad", ",\"Config\":{\"User\":\"root\"},\"MountPoints\":{\"/s\":"
		"{\"Source\":\"/etc\",\"Destination\":\"/s\",\"RW\":true,\"Propagation\":\"rshared\"},\"/d\":{\"Source\":"
		"\"/run/docker.sock\",\"Destination\":\"/var/run/docker.sock\",\"RW\":true}}") },
	    { CPATH(CID1, "hostconfig.json"), "{\"Privileged\":true,\"NetworkMode\":\"host\",\"PidMode\":\"host\",\"IpcMode\":\"host\","
		"\"UTSMode\":\"host\",\"UsernsMode\":\"host\",\"CapAdd\":[\"ALL\"],\"Memory\":0,\"CpuShares\":0,\"NanoCpus\":0,"
		"\"SecurityOpt\":[\"seccomp=unconfined\",\"no-new-privileges:false\"],\"RestartPolicy\":{\"Name\":\"always\","
		"\"MaximumRetryCount\":0},\"PidsLimit\":null,\"CgroupParent\":\"/evil\",\"ReadonlyRootfs\":false,"
		"\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"80\"}]}}" },
	    { CPATH(CID2, "config.v2.json"), CONF(CID2, "good", ",\"Config\":{\"User\":\"1000\"},\"State\":{\"Health\":"
		"{\"Status\":\"healthy\"}},\"MountPoints\":{\"/data\":{\"Source\":\"/srv/data\",\"Destination\":\"/data\",\"RW\":true}}") },
	    { CPATH(CID2, "hostconfig.json"), "{\"Privileged\":false,\"NetworkMode\":\"none\",\"CapAdd\":[\"CHOWN\"],"
		"\"Memory\":268435456,\"CpuShares\":512,\"SecurityOpt\":[\"no-new-privileges\"],\"RestartPolicy\":"
		"{\"Name\":\"on-failure\",\"MaximumRetryCount\":5},\"PidsLimit\":100,\"ReadonlyRootfs\":true,"
		"\"PortBindings\":{\"8080/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8080\"}]}}" } },
	  { { "5.5", "bad", VIGIL_CIS_FAIL }, { "5.5", "good", VIGIL_CIS_PASS }, { "5.4", "bad", VIGIL_CIS_FAIL },
	    { "5.4", "good", VIGIL_CIS_PASS }, { "5.15", "bad", VIGIL_CIS_FAIL }, { "5.15", "good", VIGIL_CIS_PASS },
	    { "5.26", "bad", VIGIL_CIS_FAIL }, { "5.26", "good", VIGIL_CIS_PASS } } },
	/* the same containers, the other checks (a row holds 8) */
};

static void test_daemon(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(daemon_rows) / sizeof(daemon_rows[0]); i++)
		check_row(&daemon_rows[i]);
}

static void test_audit_rules(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(audit_rows) / sizeof(audit_rows[0]); i++)
		check_row(&audit_rows[i]);
}

static void test_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(file_rows) / sizeof(file_rows[0]); i++)
		check_row(&file_rows[i]);
}

static void test_containers(void **state)
{
	struct row r = container_rows[0];
	static const struct expect more[][10] = {
		{ { "5.10", "bad", VIGIL_CIS_FAIL }, { "5.10", "good", VIGIL_CIS_PASS }, { "5.16", "bad", VIGIL_CIS_FAIL },
		  { "5.17", "bad", VIGIL_CIS_FAIL }, { "5.21", "bad", VIGIL_CIS_FAIL }, { "5.31", "bad", VIGIL_CIS_FAIL },
		  { "5.31", "good", VIGIL_CIS_PASS } },
		{ { "5.11", "bad", VIGIL_CIS_FAIL }, { "5.11", "good", VIGIL_CIS_PASS }, { "5.12", "bad", VIGIL_CIS_FAIL },
		  { "5.12", "good", VIGIL_CIS_PASS }, { "5.13", "bad", VIGIL_CIS_FAIL }, { "5.13", "good", VIGIL_CIS_PASS },
		  { "5.29", "bad", VIGIL_CIS_FAIL }, { "5.29", "good", VIGIL_CIS_PASS } },
		{ { "5.6", "bad", VIGIL_CIS_FAIL }, { "5.6", "good", VIGIL_CIS_PASS }, { "5.20", "bad", VIGIL_CIS_FAIL },
		  { "5.20", "good", VIGIL_CIS_PASS }, { "5.32", "bad", VIGIL_CIS_FAIL }, { "5.32", "good", VIGIL_CIS_PASS },
		  { "5.22", "bad", VIGIL_CIS_FAIL }, { "5.22", "good", VIGIL_CIS_PASS } },
		{ { "5.8", "bad", VIGIL_CIS_FAIL }, { "5.8", "good", VIGIL_CIS_PASS }, { "5.14", "bad", VIGIL_CIS_FAIL },
		  { "5.14", "good", VIGIL_CIS_PASS }, { "5.25", "bad", VIGIL_CIS_FAIL }, { "5.25", "good", VIGIL_CIS_PASS },
		  { "5.27", "bad", VIGIL_CIS_FAIL }, { "5.27", "good", VIGIL_CIS_PASS } },
		{ { "4.1", "bad", VIGIL_CIS_FAIL }, { "4.1", "good", VIGIL_CIS_PASS }, { "5.7", "bad", VIGIL_CIS_NA },
		  { "5.1", NULL, VIGIL_CIS_PASS }, { "5.5", NULL, VIGIL_CIS_FAIL } },
	};

	(void)state;
	check_row(&r);
	for (size_t k = 0; k < sizeof(more) / sizeof(more[0]); k++) {
		memcpy(r.want, more[k], sizeof(r.want));
		check_row(&r);
	}
}

/* A truncated hostconfig, a missing config.v2.json, hostile JSON: an error
 * naming the file for that container, the others still judged. */
static void test_container_errors(void **state)
{
	static const struct row r = {
		"broken containers",
		{ { "var/lib/docker/image/overlay2/", "" },
		  { CPATH(CID1, "config.v2.json"), CONF(CID1, "trunc", "") },
		  { CPATH(CID1, "hostconfig.json"), "{\"Privileged\":tr" },
		  { CPATH(CID2, "hostconfig.json"), "{\"Privileged\":false}" },
		  { "var/lib/docker/containers/3333333333333333333333333333333333333333333333333333333333333333/config.v2.json",
		    "[1,2,3]" } },
		{ { "5.5", NULL, VIGIL_CIS_ERROR, "hostconfig.json: line 1" },
		  { "5.11", NULL, VIGIL_CIS_ERROR, CID2 "/config.v2.json" },
		  { "4.1", NULL, VIGIL_CIS_ERROR, "not a JSON object" } },
	};

	(void)state;
	check_row(&r);
}

/* Owners: root makes the files another user's (skipped without root). */
static void test_owners(void **state)
{
	static const struct row r = {
		"owners",
		{ { "etc/docker/", "", 0755 }, { DJSON, "{}" }, { "etc/group", "root:x:0:\ndocker:x:999:\n" } },
		{ { "3.5", NULL, VIGIL_CIS_PASS }, { "3.17", NULL, VIGIL_CIS_FAIL } },
	};
	char *root;
	char path[4096];
	struct vigil_cis_opts o = { 0 };
	struct vigil_cis_report *rep = NULL;
	struct vigil_err err = { "" };

	(void)state;
	if (geteuid())
		skip();
	root = make_root(r.files);
	snprintf(path, sizeof(path), "%s/" DJSON, root);
	assert_int_equal(chown(path, 1000, 0), 0);
	o.root = root;
	assert_int_equal(vigil_cis_run(&o, &rep, &err), 0);
	assert_int_equal(vigil_cis_check_verdict(rep, "3.5"), geteuid() ? -1 : VIGIL_CIS_PASS);
	assert_int_equal(vigil_cis_check_verdict(rep, "3.17"), VIGIL_CIS_FAIL);
	vigil_cis_report_free(rep);
	fx_rm(root);
	free(root);
}

/* Every writer on one report: the counts appear, nothing external in HTML. */
static void test_writers(void **state)
{
	static const struct file files[] = { { DJSON, "{\"icc\": false}" }, { NULL, NULL, 0 } };
	char *root = make_root(files), *buf = NULL;
	size_t len = 0;
	struct vigil_cis_opts o = { .root = root };
	struct vigil_cis_report *rep = NULL;
	struct vigil_err err = { "" };
	FILE *f;

	(void)state;
	assert_int_equal(vigil_cis_run(&o, &rep, &err), 0);
	f = open_memstream(&buf, &len);
	assert_int_equal(vigil_cis_write_html(rep, NULL, 0, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "id=\"count-fail\""));
	assert_null(strstr(buf, "<script"));
	assert_null(strstr(buf, "src=\"http"));
	assert_null(strstr(buf, "href=\"http"));
	free(buf);
	f = open_memstream(&buf, &len);
	assert_int_equal(vigil_cis_write_json(rep, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "\"rule\":{\"id\":\"2.2\""));
	assert_non_null(strstr(buf, "\"ruleset\":\"CIS Docker Benchmark v1.6.0\""));
	free(buf);
	f = open_memstream(&buf, &len);
	assert_int_equal(vigil_cis_write_junit(rep, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "<testsuites"));
	free(buf);
	f = open_memstream(&buf, &len);
	assert_int_equal(vigil_cis_write_text(rep, f, 0), 0);
	fclose(f);
	assert_non_null(strstr(buf, "Summary: "));
	free(buf);
	vigil_cis_report_free(rep);
	fx_rm(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daemon),
		cmocka_unit_test(test_audit_rules),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_trust),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_container_errors),
		cmocka_unit_test(test_owners),
		cmocka_unit_test(test_writers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
