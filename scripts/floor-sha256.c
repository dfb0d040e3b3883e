/* floor-sha256.c - the floor a hashing walker is measured against: read every
 * file of a list and SHA-256 it with libgcrypt, in N threads, nothing else
 * (no attributes, no xattrs, no walk: the list is built beforehand).
 *
 * Build:  cc -O2 -o floor-sha256 scripts/floor-sha256.c \
 *             $(pkg-config --cflags --libs libgcrypt) -lpthread
 * Use:    find /mnt/x/usr -type f -print0 > list
 *         /usr/bin/time -v ./floor-sha256 2 < list      (2 = threads)
 * Prints the files and bytes hashed.  Not part of the build or the tests.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gcrypt.h>

#define BUF (256 * 1024)

static char **files;
static size_t n_files, next;
static unsigned long long total_bytes;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *run(void *arg)
{
	unsigned char *buf = malloc(BUF);
	unsigned long long bytes = 0;
	gcry_md_hd_t md;

	(void)arg;
	if (!buf || gcry_md_open(&md, GCRY_MD_SHA256, 0))
		return NULL;
	for (;;) {
		size_t i = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
		ssize_t n;
		int fd;

		if (i >= n_files)
			break;
		fd = open(files[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		gcry_md_reset(md);
		while ((n = read(fd, buf, BUF)) > 0) {
			gcry_md_write(md, buf, (size_t)n);
			bytes += (unsigned long long)n;
		}
		(void)gcry_md_read(md, GCRY_MD_SHA256);
		close(fd);
	}
	pthread_mutex_lock(&lock);
	total_bytes += bytes;
	pthread_mutex_unlock(&lock);
	gcry_md_close(md);
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 2;
	size_t cap = 0, len = 0;
	char *line = NULL;
	ssize_t n;
	pthread_t *t;

	if (threads < 1)
		threads = 1;
	gcry_check_version(NULL);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	while ((n = getdelim(&line, &len, '\0', stdin)) > 0) {
		if (n_files == cap) {
			cap = cap ? 2 * cap : 4096;
			files = realloc(files, cap * sizeof(*files));
			if (!files)
				return 1;
		}
		files[n_files++] = strdup(line);
	}
	t = calloc((size_t)threads, sizeof(*t));
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, run, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("%zu files, %llu bytes\n", n_files, total_bytes);
	return 0;
}
