/* procs_priv.h - what procs.c and procverify.c share (not public: procs.h is). */
#ifndef VIGIL_PROCS_PRIV_H
#define VIGIL_PROCS_PRIV_H

#include <jansson.h>

#include "vigil/procs.h"

/* A finding about the process proc (its pid, comm, exe, container copied in),
 * appended to findings; the object is returned for more fields (borrowed). */
json_t *procs_finding(json_t *findings, json_t *proc, const char *action, int severity, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* A note (not a finding: nothing suspicious, something not done). */
void procs_note(json_t *notes, json_t *proc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* summary[key] += n */
void procs_count(json_t *summary, const char *key, json_int_t n);
/* An escaped string (names come from whoever runs the process). */
json_t *procs_str(const char *s);

#endif
