/* test_sign.c - Ed25519 keys, signatures and minisign files. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#include "vigil/crypto.h"
#include "vigil/sign.h"

static char dir[64];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vigil-test-sign-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void path_of(char *buf, size_t size, const char *name)
{
	assert_true((size_t)snprintf(buf, size, "%s/%s", dir, name) < size);
}

static void write_file(const char *name, const void *data, size_t len, mode_t mode)
{
	char p[256];
	int fd;

	path_of(p, sizeof(p), name);
	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void write_str(const char *name, const char *s, mode_t mode)
{
	write_file(name, s, strlen(s), mode);
}

static char *read_str(const char *name)
{
	char p[256], *buf = calloc(1, 65536);
	int fd;
	ssize_t n;

	path_of(p, sizeof(p), name);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, 65535);
	assert_true(n >= 0);
	close(fd);
	return buf;
}

static void unhex(const char *hex, unsigned char *out, size_t len)
{
	assert_int_equal(vigil_unhex(hex, out, len), 0);
}

/* Independent of sign.c's encoder, so a shared bug cannot hide. */
static void b64(const unsigned char *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);

		out[o++] = t[v >> 18];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = '\0';
}

static void write_pub(const char *name, const char *alg, const unsigned char id[8], const unsigned char pk[32])
{
	unsigned char raw[42];
	char text[128], enc[64];

	memcpy(raw, alg, 2);
	memcpy(raw + 2, id, 8);
	memcpy(raw + 10, pk, 32);
	b64(raw, sizeof(raw), enc);
	snprintf(text, sizeof(text), "untrusted comment: test key\n%s\n", enc);
	write_str(name, text, 0644);
}

static struct vigil_pubkey *load_pub(const char *name)
{
	struct vigil_err err = { "" };
	struct vigil_pubkey *pk = NULL;
	char p[256];

	path_of(p, sizeof(p), name);
	assert_int_equal(vigil_pubkey_load_file(p, &pk, &err), 0);
	return pk;
}

static const unsigned char test_id[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

/* RFC 8032 section 7.1, tests 1-3: the seed gives the public key and the
 * (deterministic) signature. */
static void test_rfc8032_vectors(void **state)
{
	static const struct {
		const char *seed, *pk, *msg, *sig;
	} v[] = {
		{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
		  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
		{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
		  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
		{ "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
		  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
		  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct vigil_err err = { "" };
		struct vigil_seckey *sk = NULL;
		struct vigil_pubkey *pk;
		unsigned char pkb[32], msg[2] = { 0 }, want[64], sig[64];
		char text[256];
		size_t mlen = strlen(v[i].msg) / 2;

		snprintf(text, sizeof(text), "vigil-ed25519-secret-v1\n0102030405060708\n%s\n", v[i].seed);
		write_str("vigil.key", text, 0600);
		assert_int_equal(vigil_seckey_load(dir, &sk, &err), 0);
		unhex(v[i].pk, pkb, 32);
		write_pub("rfc.pub", "Ed", test_id, pkb);
		pk = load_pub("rfc.pub");
		if (mlen)
			unhex(v[i].msg, msg, mlen);
		unhex(v[i].sig, want, 64);
		assert_int_equal(vigil_sign(sk, msg, mlen, sig, &err), 0);
		assert_memory_equal(sig, want, 64);
		assert_int_equal(vigil_verify(pk, msg, mlen, sig, &err), 0);
		sig[5] ^= 0x10;
		assert_int_equal(vigil_verify(pk, msg, mlen, sig, &err), -EBADMSG);
		assert_non_null(strstr(err.msg, "0807060504030201"));
		vigil_seckey_free(sk);
		vigil_pubkey_free(pk);
	}
}

static void test_key_id_str(void **state)
{
	char s[17];

	(void)state;
	vigil_sign_key_id_str(test_id, s);
	assert_string_equal(s, "0807060504030201");
}

static void test_keygen(void **state)
{
	struct vigil_err err = { "" };
	struct vigil_seckey *sk = NULL;
	struct vigil_pubkey *pk = NULL, *pk2 = NULL;
	unsigned char id1[8], id2[8], sig[64];
	char p[256], *pub, *key, ids[17], line[64];
	struct stat sb;

	(void)state;
	assert_int_equal(vigil_sign_keygen(dir, 0, &err), 0);
	path_of(p, sizeof(p), "vigil.key");
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	path_of(p, sizeof(p), "vigil.pub");
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);

	key = read_str("vigil.key");
	assert_int_equal(strncmp(key, "vigil-ed25519-secret-v1\n", 24), 0);
	assert_int_equal(strlen(key), 24 + 17 + 65);
	assert_int_equal(vigil_seckey_load(dir, &sk, &err), 0);
	assert_int_equal(vigil_pubkey_load(dir, &pk, &err), 0);
	vigil_seckey_id(sk, id1);
	vigil_pubkey_id(pk, id2);
	assert_memory_equal(id1, id2, 8);
	/* The key file's id hex is the byte order of the pub file. */
	{
		char hex[17];

		vigil_hex(id1, 8, hex);
		assert_int_equal(strncmp(key + 24, hex, 16), 0);
	}
	pub = read_str("vigil.pub");
	vigil_sign_key_id_str(id1, ids);
	snprintf(line, sizeof(line), "untrusted comment: vigil public key %s\n", ids);
	assert_int_equal(strncmp(pub, line, strlen(line)), 0);
	assert_int_equal(strlen(pub), strlen(line) + 56 + 1);
	assert_int_equal(strncmp(pub + strlen(line), "RW", 2), 0); /* base64 of "Ed" */

	assert_int_equal(vigil_sign(sk, "msg", 3, sig, &err), 0);
	assert_int_equal(vigil_verify(pk, "msg", 3, sig, &err), 0);
	assert_int_equal(vigil_verify(pk, "msh", 3, sig, &err), -EBADMSG);

	/* No silent replacement of a key. */
	assert_int_equal(vigil_sign_keygen(dir, 0, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "already exists"));
	{
		char *again = read_str("vigil.key");

		assert_string_equal(again, key);
		free(again);
	}
	/* force: a new key; the old public key no longer verifies its signatures. */
	assert_int_equal(vigil_sign_keygen(dir, 1, &err), 0);
	assert_int_equal(vigil_pubkey_load(dir, &pk2, &err), 0);
	vigil_pubkey_id(pk2, id2);
	assert_memory_not_equal(id1, id2, 8);
	assert_int_equal(vigil_verify(pk2, "msg", 3, sig, &err), -EBADMSG);
	/* No temporary files left behind. */
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 2", dir);
		assert_int_equal(system(cmd), 0);
	}
	vigil_seckey_free(sk);
	vigil_pubkey_free(pk);
	vigil_pubkey_free(pk2);
	free(key);
	free(pub);
}

/* Every way a secret key file can be wrong gives a clear error naming it. */
static void test_seckey_errors(void **state)
{
	static const char good_id[] = "0102030405060708\n";
	static const char good_seed[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n";
	static const struct {
		const char *text;
		mode_t mode;
		int rc;
		const char *msg;
	} v[] = {
		{ NULL, 0, -ENOENT, "vigil keygen" },
		{ "", 0600, -EINVAL, "line 1" },
		{ "vigil-ed25519-secret-v2\n", 0600, -EINVAL, "line 1" },
		{ "vigil-ed25519-secret-v1\n", 0600, -EINVAL, "line 2" },
		{ "vigil-ed25519-secret-v1\n01020304050607\n", 0600, -EINVAL, "line 2" },
		{ "vigil-ed25519-secret-v1\n01020304050607zz\n", 0600, -EINVAL, "line 2" },
		{ "vigil-ed25519-secret-v1\n0102030405060708\n", 0600, -EINVAL, "line 3" },
		{ "vigil-ed25519-secret-v1\n0102030405060708\n9d61b19deffd5a60\n", 0600, -EINVAL, "line 3" },
		{ "vigil-ed25519-secret-v1\n0102030405060708\n9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f6\n",
		  0600, -EINVAL, "line 3" },
		{ "vigil-ed25519-secret-v1\n0102030405060708\n9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\nextra\n",
		  0600, -EINVAL, "unexpected text" },
		{ NULL, 0644, -EPERM, "chmod 600" },
		{ NULL, 0640, -EPERM, "group or others" },
		{ NULL, 0602, -EPERM, "group or others" },
	};
	char p[256], good[256];

	(void)state;
	snprintf(good, sizeof(good), "vigil-ed25519-secret-v1\n%s%s", good_id, good_seed);
	path_of(p, sizeof(p), "vigil.key");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct vigil_err err = { "" };
		struct vigil_seckey *sk = (struct vigil_seckey *)1;

		unlink(p);
		if (v[i].text)
			write_str("vigil.key", v[i].text, v[i].mode);
		else if (v[i].mode)
			write_str("vigil.key", good, v[i].mode);
		assert_int_equal(vigil_seckey_load(dir, &sk, &err), v[i].rc);
		assert_null(sk);
		if (!strstr(err.msg, v[i].msg) || !strstr(err.msg, p))
			fail_msg("case %zu: '%s' lacks '%s' or the path", i, err.msg, v[i].msg);
	}
	/* Owned by someone else. */
	{
		struct vigil_err err = { "" };
		struct vigil_seckey *sk;

		write_str("vigil.key", good, 0600);
		assert_int_equal(chown(p, 65534, 65534), 0);
		assert_int_equal(vigil_seckey_load(dir, &sk, &err), -EPERM);
		assert_non_null(strstr(err.msg, "owned by uid 65534"));
		assert_int_equal(chown(p, getuid(), getgid()), 0);
		assert_int_equal(vigil_seckey_load(dir, &sk, &err), 0);
		vigil_seckey_free(sk);
	}
	/* A symbolic link or a directory in its place. */
	{
		struct vigil_err err = { "" };
		struct vigil_seckey *sk;
		char q[256];

		path_of(q, sizeof(q), "real.key");
		assert_int_equal(rename(p, q), 0);
		assert_int_equal(symlink(q, p), 0);
		assert_int_equal(vigil_seckey_load(dir, &sk, &err), -ELOOP);
		assert_non_null(strstr(err.msg, "symbolic link"));
		unlink(p);
		unlink(q);
		assert_int_equal(mkdir(p, 0700), 0);
		assert_int_equal(vigil_seckey_load(dir, &sk, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "not a regular file"));
		assert_int_equal(rmdir(p), 0);
	}
}

static void test_pubkey_errors(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} v[] = {
		{ "", "line 1" },
		{ "untrusted comment: x\n", "line 2" },
		{ "untrusted comment: x\nRWQBpyqWqGM2gHbK7nwgn1LtS5lZJV4dnX5gdiD/y6SI6XWAZtepXes\n", "line 2" },
		{ "untrusted comment: x\nRWQBpyqWqGM2gHbK7nwgn1LtS5lZJV4dnX5gdiD/y6SI6XWAZtepXess=\n", "line 2" },
		{ "untrusted comment: x\nRWQBpyqWqGM2gHbK7nwgn1LtS5lZJV4dnX5gdiD/y6SI6XWAZtepXe*s\n", "line 2" },
		{ "untrusted comment: x\nRWQBpyqWqGM2gHbK7nwgn1LtS5lZJV4dnX5gdiD/y6SI6XWAZtepXessRWQB\n", "line 2" },
		{ "garbage\n", "line 1" },
		/* "Ex" instead of "Ed" */
		{ "untrusted comment: x\nRXgBpyqWqGM2gHbK7nwgn1LtS5lZJV4dnX5gdiD/y6SI6XWAZtepXess\n", "unsupported algorithm" },
	};
	char p[256];

	(void)state;
	path_of(p, sizeof(p), "x.pub");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct vigil_err err = { "" };
		struct vigil_pubkey *pk = (struct vigil_pubkey *)1;

		write_str("x.pub", v[i].text, 0644);
		assert_int_equal(vigil_pubkey_load_file(p, &pk, &err), -EINVAL);
		assert_null(pk);
		if (!strstr(err.msg, v[i].msg) || !strstr(err.msg, p))
			fail_msg("case %zu: '%s' lacks '%s' or the path", i, err.msg, v[i].msg);
	}
	/* The stock layout, and the bare base64 `minisign -P` takes. */
	{
		struct vigil_err err = { "" };
		struct vigil_pubkey *pk;

		write_str("x.pub", "untrusted comment: minisign public key 803663A8962AA701\n"
			  "RWQBpyqWqGM2gHbK7nwgn1LtS5lZJV4dnX5gdiD/y6SI6XWAZtepXess\n", 0644);
		assert_int_equal(vigil_pubkey_load_file(p, &pk, &err), 0);
		vigil_pubkey_free(pk);
		write_str("x.pub", "RWQBpyqWqGM2gHbK7nwgn1LtS5lZJV4dnX5gdiD/y6SI6XWAZtepXess", 0644);
		assert_int_equal(vigil_pubkey_load_file(p, &pk, &err), 0);
		vigil_pubkey_free(pk);
		unlink(p);
		assert_int_equal(vigil_pubkey_load_file(p, &pk, &err), -ENOENT);
		assert_non_null(strstr(err.msg, p));
		assert_int_equal(vigil_pubkey_load(dir, &pk, &err), -ENOENT);
		assert_non_null(strstr(err.msg, "vigil keygen"));
	}
}

static void replace_line(const char *name, int lineno, const char *with)
{
	char *s = read_str(name), *out = calloc(1, 65536), *p = s, *nl;
	int n = 1;

	while ((nl = strchr(p, '\n'))) {
		*nl = '\0';
		strcat(out, n == lineno ? with : p);
		strcat(out, "\n");
		p = nl + 1;
		n++;
	}
	write_str(name, out, 0644);
	free(s);
	free(out);
}

static void test_minisign(void **state)
{
	struct vigil_err err = { "" };
	struct vigil_seckey *sk;
	struct vigil_pubkey *pk, *other;
	char file[256], sig[256], saved[4096], *s;
	char big[5000];

	(void)state;
	assert_int_equal(vigil_sign_keygen(dir, 0, &err), 0);
	assert_int_equal(vigil_seckey_load(dir, &sk, &err), 0);
	assert_int_equal(vigil_pubkey_load(dir, &pk, &err), 0);
	path_of(file, sizeof(file), "evidence.tar");
	path_of(sig, sizeof(sig), "evidence.tar.minisig");
	write_str("evidence.tar", "some evidence\n", 0600);

	assert_int_equal(vigil_minisign_file(sk, file, "case 42\tseal abc", &err), 0);
	s = read_str("evidence.tar.minisig");
	assert_non_null(strstr(s, "\ntrusted comment: case 42\tseal abc\n"));
	assert_int_equal(strncmp(s, "untrusted comment: ", 19), 0);
	assert_non_null(strstr(s, "\nRU")); /* base64 of "ED" + id */
	snprintf(saved, sizeof(saved), "%s", s);
	free(s);
	assert_int_equal(vigil_minisign_verify(pk, file, NULL, &err), 0);
	assert_int_equal(vigil_minisign_verify(pk, file, sig, &err), 0);

	/* The file changed. */
	write_str("evidence.tar", "some evidencE\n", 0600);
	assert_int_equal(vigil_minisign_verify(pk, file, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "file modified"));
	write_str("evidence.tar", "some evidence\n", 0600);
	assert_int_equal(vigil_minisign_verify(pk, file, NULL, &err), 0);

	/* The trusted comment changed. */
	replace_line("evidence.tar.minisig", 3, "trusted comment: case 43\tseal abc");
	assert_int_equal(vigil_minisign_verify(pk, file, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "comment modified"));
	/* The untrusted comment is not covered, as in minisign. */
	write_str("evidence.tar.minisig", saved, 0644);
	replace_line("evidence.tar.minisig", 1, "untrusted comment: whatever");
	assert_int_equal(vigil_minisign_verify(pk, file, NULL, &err), 0);

	/* Broken signature files. */
	replace_line("evidence.tar.minisig", 2, "RUTnotbase64!!");
	assert_int_equal(vigil_minisign_verify(pk, file, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "line 2"));
	write_str("evidence.tar.minisig", saved, 0644);
	replace_line("evidence.tar.minisig", 3, "comment: x");
	assert_int_equal(vigil_minisign_verify(pk, file, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "line 3"));
	write_str("evidence.tar.minisig", saved, 0644);
	replace_line("evidence.tar.minisig", 4, "AAAA");
	assert_int_equal(vigil_minisign_verify(pk, file, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "line 4"));
	write_str("evidence.tar.minisig", "", 0644);
	assert_int_equal(vigil_minisign_verify(pk, file, NULL, &err), -EBADMSG);
	write_str("evidence.tar.minisig", saved, 0644);
	unlink(sig);
	assert_int_equal(vigil_minisign_verify(pk, file, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, sig));
	write_str("evidence.tar.minisig", saved, 0644);

	/* Another key: refused by key id first. */
	assert_int_equal(mkdir(strcat(strcpy(big, dir), "/other"), 0700), 0);
	assert_int_equal(vigil_sign_keygen(big, 0, &err), 0);
	assert_int_equal(vigil_pubkey_load(big, &other, &err), 0);
	assert_int_equal(vigil_minisign_verify(other, file, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "was made with key"));

	/* Comments minisign could not carry are refused. */
	assert_int_equal(vigil_minisign_file(sk, file, "two\nlines", &err), -EINVAL);
	memset(big, 'a', 2000);
	big[2000] = '\0';
	assert_int_equal(vigil_minisign_file(sk, file, big, &err), -EINVAL);
	/* The default comment; a missing file. */
	assert_int_equal(vigil_minisign_file(sk, file, NULL, &err), 0);
	s = read_str("evidence.tar.minisig");
	assert_non_null(strstr(s, "\tfile:evidence.tar\thashed\n"));
	free(s);
	assert_int_equal(vigil_minisign_verify(pk, file, NULL, &err), 0);
	path_of(file, sizeof(file), "missing");
	assert_int_equal(vigil_minisign_file(sk, file, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, file));

	vigil_seckey_free(sk);
	vigil_pubkey_free(pk);
	vigil_pubkey_free(other);
}

/* Legacy "Ed" signatures (over the raw file) verify too; built by hand here,
 * the shell test checks the same against stock minisign -l. */
static void test_minisign_legacy(void **state)
{
	struct vigil_err err = { "" };
	struct vigil_seckey *sk;
	struct vigil_pubkey *pk;
	unsigned char blk[74], sig[64], global[64], msg[64 + 8];
	char text[512], e1[128], e2[128], file[256];
	unsigned char id[8];

	(void)state;
	assert_int_equal(vigil_sign_keygen(dir, 0, &err), 0);
	assert_int_equal(vigil_seckey_load(dir, &sk, &err), 0);
	assert_int_equal(vigil_pubkey_load(dir, &pk, &err), 0);
	vigil_seckey_id(sk, id);
	write_str("f", "raw content", 0644);
	assert_int_equal(vigil_sign(sk, "raw content", 11, sig, &err), 0);
	memcpy(blk, "Ed", 2);
	memcpy(blk + 2, id, 8);
	memcpy(blk + 10, sig, 64);
	memcpy(msg, sig, 64);
	memcpy(msg + 64, "legacy!!", 8);
	assert_int_equal(vigil_sign(sk, msg, sizeof(msg), global, &err), 0);
	b64(blk, sizeof(blk), e1);
	b64(global, sizeof(global), e2);
	snprintf(text, sizeof(text), "untrusted comment: x\n%s\ntrusted comment: legacy!!\n%s\n", e1, e2);
	write_str("f.minisig", text, 0644);
	path_of(file, sizeof(file), "f");
	assert_int_equal(vigil_minisign_verify(pk, file, NULL, &err), 0);
	write_str("f", "raw contenT", 0644);
	assert_int_equal(vigil_minisign_verify(pk, file, NULL, &err), -EBADMSG);
	vigil_seckey_free(sk);
	vigil_pubkey_free(pk);
}

int main(void)
{
	struct vigil_err err = { "" };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rfc8032_vectors, setup, teardown),
		cmocka_unit_test(test_key_id_str),
		cmocka_unit_test_setup_teardown(test_keygen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seckey_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pubkey_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_minisign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_minisign_legacy, setup, teardown),
	};

	if (vigil_crypto_init(&err))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
