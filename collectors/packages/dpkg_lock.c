/* dpkg_lock.c - is dpkg (or apt in front of it) running?  dpkg and apt take
 * fcntl locks on /var/lib/dpkg/lock and lock-frontend for as long as they
 * change packages; the files stay when they stop.  The lock is asked about
 * (F_OFD_GETLK, else F_GETLK) on the file opened read-only through the root,
 * never taken. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vigil/compare.h"
#include "vigil/dpkg.h"
#include "vigil/rootfs.h"

static int held(int rootfd, const char *path)
{
	int fd = vigil_rootfs_open(rootfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	struct flock fl;
	int rc;

	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK; /* anything anyone holds conflicts with it */
	fl.l_whence = SEEK_SET;
#ifdef F_OFD_GETLK
	rc = fcntl(fd, F_OFD_GETLK, &fl);
	if (rc < 0 && errno == EINVAL) {
		fl.l_type = F_WRLCK;
		fl.l_pid = 0;
		rc = fcntl(fd, F_GETLK, &fl);
	}
#else
	rc = fcntl(fd, F_GETLK, &fl);
#endif
	rc = rc < 0 ? -errno : fl.l_type != F_UNLCK;
	close(fd);
	return rc;
}

int vigil_dpkg_lock_held(const char *root)
{
	static const char *const locks[] = { VIGIL_DPKG_LOCK_FRONTEND, VIGIL_DPKG_LOCK };
	int confined, rootfd = vigil_rootfs_open_root(root, &confined);
	int rc = 0;

	if (rootfd < 0)
		return rootfd;
	for (size_t i = 0; i < sizeof(locks) / sizeof(*locks) && rc == 0; i++)
		rc = held(rootfd, locks[i]);
	close(rootfd);
	return rc;
}

void vigil_dpkg_note(struct vigil_decision *d, const char *note)
{
	size_t n;

	if (d->message && d->message != d->msg_buf)
		snprintf(d->msg_buf, sizeof(d->msg_buf), "%s", d->message);
	else if (!d->message)
		d->msg_buf[0] = '\0';
	n = strlen(d->msg_buf);
	snprintf(d->msg_buf + n, sizeof(d->msg_buf) - n, "%s%s", n ? "; " : "", note);
	d->message = d->msg_buf;
}
