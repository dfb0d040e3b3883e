/* err.c - error buffers and the one logger (stderr in the foreground, syslog
 * as a service). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "vigil/err.h"

/* The logger is process-wide by nature (one stderr, one syslog connection);
 * this is the only mutable global besides libgcrypt's own. */
static int log_level = VIGIL_LOG_NOTICE;
static int log_syslog;

int vigil_err_set(struct vigil_err *err, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return rc;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return rc;
}

int vigil_err_prefix(struct vigil_err *err, int rc, const char *fmt, ...)
{
	char old[VIGIL_ERR_MAX], pre[256];
	va_list ap;

	if (!err)
		return rc;
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	/* The message may be cut at VIGIL_ERR_MAX: the start says what failed first. */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %.*s", pre, (int)(sizeof(err->msg) - 300), old) < 0)
		err->msg[0] = '\0';
	return rc;
}

void vigil_log_set_level(int level)
{
	log_level = level;
}

int vigil_log_get_level(void)
{
	return log_level;
}

void vigil_log_use_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = 1;
}

void vigil_vlog(int level, const char *fmt, va_list ap)
{
	static const char *const prefix[] = {
		[VIGIL_LOG_ERR] = "error: ", [VIGIL_LOG_WARNING] = "warning: ",
		[VIGIL_LOG_NOTICE] = "", [VIGIL_LOG_INFO] = "", [VIGIL_LOG_DEBUG] = "debug: ",
	};
	int saved = errno;

	if (level > log_level)
		return;
	if (log_syslog) {
		vsyslog(level, fmt, ap);
	} else {
		char buf[4096];

		vsnprintf(buf, sizeof(buf), fmt, ap);
		fprintf(stderr, "vigil: %s%s\n",
			level >= VIGIL_LOG_ERR && level <= VIGIL_LOG_DEBUG ? prefix[level] : "", buf);
	}
	errno = saved;
}

void vigil_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vigil_vlog(level, fmt, ap);
	va_end(ap);
}
