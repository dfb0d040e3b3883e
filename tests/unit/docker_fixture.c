/* docker_fixture.c - see docker_fixture.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <zlib.h>

#include "vigil/crypto.h"

#include "../../collectors/docker/docker_priv.h"
#include "docker_fixture.h"

int fx_write(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (len && write(fd, data, len) != (ssize_t)len)
		rc = -EIO;
	close(fd);
	return rc;
}

int fx_mkdirs(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	return mkdir(buf, 0755) && errno != EEXIST ? -errno : 0;
}

char *fx_b64(const unsigned char *in, size_t len)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(len / 3 * 4 + 8), *o = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*o++ = t[in[i] >> 2];
		*o++ = t[(in[i] & 3) << 4 | in[i + 1] >> 4];
		*o++ = t[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
		*o++ = t[in[i + 2] & 63];
	}
	if (i < len) {
		*o++ = t[in[i] >> 2];
		if (i + 1 < len) {
			*o++ = t[(in[i] & 3) << 4 | in[i + 1] >> 4];
			*o++ = t[(in[i + 1] & 15) << 2];
		} else {
			*o++ = t[(in[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static void tar_header(unsigned char h[512], const struct fx_entry *e, size_t size)
{
	unsigned sum = 0;

	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", e->name);
	snprintf((char *)h + 100, 8, "%07o", e->mode);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011zo", size);
	snprintf((char *)h + 136, 12, "%011llo", (unsigned long long)e->mtime);
	h[156] = (unsigned char)e->type;
	if (e->type == '2')
		snprintf((char *)h + 157, 100, "%s", e->data);
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static int gz_write(const char *path, const char *text)
{
	gzFile gz = gzopen(path, "wb");

	if (!gz)
		return -EIO;
	gzwrite(gz, text, (unsigned)strlen(text));
	return gzclose(gz) == Z_OK ? 0 : -EIO;
}

static void append(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);

	*buf = realloc(*buf, *len + n + 1);
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

int fx_layer(const char *data_root, const char *cache_id, const struct fx_entry *e, size_t n,
	     char chain_out[72])
{
	struct vigil_digest *md = vigil_digest_new(VIGIL_ALGO_BIT(VIGIL_ALGO_SHA256));
	char *lines = NULL, path[4096], diff_id[72], line[8192];
	size_t llen = 0, pos = 0;
	unsigned char hdr[512], sum[32], zero[1024] = { 0 };
	int rc;

	for (size_t i = 0; i < n; i++) {
		size_t size = e[i].type == '0' ? strlen(e[i].data) : 0;
		char *b;
		struct timespec ts[2];

		tar_header(hdr, &e[i], size);
		vigil_digest_write(md, hdr, 512);
		b = fx_b64(hdr, 512);
		snprintf(line, sizeof(line), "{\"type\":2,\"payload\":\"%s\",\"position\":%zu}\n", b, pos++);
		free(b);
		append(&lines, &llen, line);
		if (e[i].type == '0') {
			unsigned char crc[8];
			uint64_t c = docker_crc64(0, e[i].data, size);

			for (int k = 0; k < 8; k++)
				crc[k] = (unsigned char)(c >> (56 - 8 * k));
			b = fx_b64(crc, 8);
			snprintf(line, sizeof(line), "{\"type\":1,\"name\":\"%s\",\"size\":%zu,\"payload\":\"%s\",\"position\":%zu}\n",
				 e[i].name, size, b, pos++);
			free(b);
			append(&lines, &llen, line);
			vigil_digest_write(md, e[i].data, size);
			if (size % 512) {
				vigil_digest_write(md, zero, 512 - size % 512);
				b = fx_b64(zero, 512 - size % 512);
				snprintf(line, sizeof(line), "{\"type\":2,\"payload\":\"%s\",\"position\":%zu}\n", b, pos++);
				free(b);
				append(&lines, &llen, line);
			}
		} else {
			snprintf(line, sizeof(line), "{\"type\":1,\"name\":\"%s\",\"payload\":null,\"position\":%zu}\n",
				 e[i].name, pos++);
			append(&lines, &llen, line);
		}
		/* the diff dir */
		snprintf(path, sizeof(path), "%s/overlay2/%s/diff/%s", data_root, cache_id, e[i].name);
		if (e[i].type == '5') {
			fx_mkdirs(path);
			chmod(path, e[i].mode);
		} else if (e[i].type == '2') {
			symlink(e[i].data, path);
		} else {
			fx_write(path, e[i].data, size);
			chmod(path, e[i].mode);
		}
		ts[0].tv_sec = ts[1].tv_sec = e[i].mtime;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
	}
	/* dir mtimes again: creating entries inside moved them */
	for (size_t i = 0; i < n; i++)
		if (e[i].type == '5') {
			struct timespec ts[2] = { { e[i].mtime, 0 }, { e[i].mtime, 0 } };

			snprintf(path, sizeof(path), "%s/overlay2/%s/diff/%s", data_root, cache_id, e[i].name);
			utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
		}
	vigil_digest_write(md, zero, 1024);
	{
		char *b = fx_b64(zero, 1024);

		snprintf(line, sizeof(line), "{\"type\":2,\"payload\":\"%s\",\"position\":%zu}\n", b, pos++);
		free(b);
		append(&lines, &llen, line);
	}
	vigil_digest_read(md, VIGIL_ALGO_SHA256, sum);
	vigil_digest_free(md);
	memcpy(diff_id, "sha256:", 7);
	vigil_hex(sum, 32, diff_id + 7);
	snprintf(path, sizeof(path), "%s/overlay2/%s/diff", data_root, cache_id);
	fx_mkdirs(path);
	rc = fx_layer_raw(data_root, diff_id + 7, cache_id, diff_id, lines, NULL, 0);
	free(lines);
	snprintf(chain_out, 72, "%s", diff_id);
	return rc;
}

int fx_layer_raw(const char *data_root, const char *chain_hex, const char *cache_id, const char *diff_id,
		 const char *tarsplit_lines, const void *raw_gz, size_t raw_len)
{
	char dir[4096], path[4200];

	snprintf(dir, sizeof(dir), "%s/image/overlay2/layerdb/sha256/%s", data_root, chain_hex);
	fx_mkdirs(dir);
	snprintf(path, sizeof(path), "%s/diff", dir);
	fx_write(path, diff_id, strlen(diff_id));
	if (cache_id) {
		snprintf(path, sizeof(path), "%s/cache-id", dir);
		fx_write(path, cache_id, strlen(cache_id));
		snprintf(path, sizeof(path), "%s/overlay2/%s/diff", data_root, cache_id);
		fx_mkdirs(path);
	}
	snprintf(path, sizeof(path), "%s/size", dir);
	fx_write(path, "100", 3);
	snprintf(path, sizeof(path), "%s/tar-split.json.gz", dir);
	if (raw_gz)
		return fx_write(path, raw_gz, raw_len);
	return gz_write(path, tarsplit_lines ? tarsplit_lines : "");
}

char *fx_new_root(void)
{
	const char *base = getenv("FX_TMPDIR"); /* fuzz targets: a tmpfs */
	char tmpl[4096], *d;

	snprintf(tmpl, sizeof(tmpl), "%s/vigil-dfx.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(tmpl))
		return NULL;
	if (asprintf(&d, "%s/d", tmpl) < 0)
		return NULL;
	fx_mkdirs(d);
	{
		char p[4200];

		snprintf(p, sizeof(p), "%s/image/overlay2/imagedb/content/sha256", d);
		fx_mkdirs(p);
		snprintf(p, sizeof(p), "%s/overlay2/l", d);
		fx_mkdirs(p);
		snprintf(p, sizeof(p), "%s/containers", d);
		fx_mkdirs(p);
	}
	return d;
}

void fx_rm(const char *dir)
{
	char cmd[4200];
	const char *slash = strrchr(dir, '/');

	/* the temp dir holding data root d */
	if (!slash || !strstr(dir, "/vigil-dfx."))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(slash - dir), dir);
	if (system(cmd))
		return;
}
