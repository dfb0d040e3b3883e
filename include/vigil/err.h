/* err.h - error detail buffers and the one logger.
 *
 * Library and collector code returns 0 or -errno and writes the detail into a
 * caller's struct vigil_err; it never prints above debug.  Only agent/main.c and
 * the daemon's top level log with vigil_log() at info and above.
 */
#ifndef VIGIL_ERR_H
#define VIGIL_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define VIGIL_ERR_MAX 1024

struct vigil_err {
	char msg[VIGIL_ERR_MAX];
};

/* Sets err->msg (when err is not NULL) and returns rc, so callers can write
 * `return vigil_err_set(err, -EINVAL, "bad %s", what);`. */
int vigil_err_set(struct vigil_err *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes the existing message: "ctx: old message". */
int vigil_err_prefix(struct vigil_err *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

enum vigil_log_level {
	VIGIL_LOG_ERR = 3,
	VIGIL_LOG_WARNING = 4,
	VIGIL_LOG_NOTICE = 5,
	VIGIL_LOG_INFO = 6,
	VIGIL_LOG_DEBUG = 7,
};

/* Messages go to stderr (foreground) or syslog (after vigil_log_use_syslog). */
void vigil_log_set_level(int level);
int vigil_log_get_level(void);
void vigil_log_use_syslog(const char *ident);
void vigil_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vigil_vlog(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define vigil_log_err(...) vigil_log(VIGIL_LOG_ERR, __VA_ARGS__)
#define vigil_log_warn(...) vigil_log(VIGIL_LOG_WARNING, __VA_ARGS__)
#define vigil_log_info(...) vigil_log(VIGIL_LOG_INFO, __VA_ARGS__)
#define vigil_log_debug(...) vigil_log(VIGIL_LOG_DEBUG, __VA_ARGS__)

#endif
