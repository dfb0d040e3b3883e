/* docker_fs.c - whole-file and id reads, CRC-64/ISO and string lists for the docker collector
 * (every open goes through agent/core/rootfs.c). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker_priv.h"

int docker_read_file(int dirfd, const char *rel, size_t max, char **buf, size_t *len)
{
	return vigil_rootfs_read_beneath(dirfd, rel, max, buf, len);
}

int docker_read_id(int dirfd, const char *rel, char **out)
{
	size_t len;
	char *s;
	int rc = docker_read_file(dirfd, rel, DOCKER_ID_MAX, &s, &len);

	*out = NULL;
	if (rc)
		return rc;
	while (len && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\r'))
		s[--len] = '\0';
	if (!len || strlen(s) != len) { /* empty or holds a NUL */
		free(s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

int docker_is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

int docker_is_digest(const char *s)
{
	return !strncmp(s, "sha256:", 7) && docker_is_hex64(s + 7);
}

/* Slicing-by-8: about 8x the byte-at-a-time speed, which matters because
 * every payload byte of every layer goes through it. */
static uint64_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint64_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0xD800000000000000ull : c >> 1;
		crc_tab[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
}

uint64_t docker_crc64(uint64_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		v = __builtin_bswap64(v);
#endif
		crc ^= v;
		crc = crc_tab[7][crc & 0xff] ^ crc_tab[6][(crc >> 8) & 0xff] ^
		      crc_tab[5][(crc >> 16) & 0xff] ^ crc_tab[4][(crc >> 24) & 0xff] ^
		      crc_tab[3][(crc >> 32) & 0xff] ^ crc_tab[2][(crc >> 40) & 0xff] ^
		      crc_tab[1][(crc >> 48) & 0xff] ^ crc_tab[0][crc >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

int docker_strv_push(struct vigil_strv *sv, const char *s)
{
	char **v = realloc(sv->v, (sv->n + 2) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	sv->v = v;
	v[sv->n] = strdup(s);
	if (!v[sv->n])
		return -ENOMEM;
	sv->n++;
	v[sv->n] = NULL;
	return 0;
}

void docker_strv_clear(struct vigil_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}
