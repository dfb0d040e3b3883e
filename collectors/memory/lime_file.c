/* lime_file.c - validate a LiME file already written (`vigil memdump
 * --validate FILE`): read back in bounded pieces through the same validator
 * the writer used. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/lime.h"

#define FILE_BUF (1u << 20)

int vigil_lime_check_file(const char *path, struct vigil_lime_check *c, struct vigil_err *err)
{
	unsigned char *buf = malloc(FILE_BUF);
	int fd, rc = 0;

	if (!buf)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = -errno;
		free(buf);
		return vigil_err_set(err, rc, "open %s: %s", path, strerror(-rc));
	}
	for (;;) {
		ssize_t n = read(fd, buf, FILE_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = vigil_err_set(err, -errno, "read %s: %s", path, strerror(errno));
			break;
		}
		/* at the end, or at the first problem (the rest cannot be parsed) */
		if (n == 0 || vigil_lime_check_feed(c, buf, (size_t)n)) {
			rc = vigil_lime_check_finish(c, err);
			break;
		}
	}
	close(fd);
	free(buf);
	return rc;
}
