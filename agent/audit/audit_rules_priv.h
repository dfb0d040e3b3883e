/* audit_rules_priv.h - shared by audit_rules.c (the policy) and
 * audit_kernel.c (the kernel side) only (not an API). */
#ifndef VIGIL_AUDIT_RULES_PRIV_H
#define VIGIL_AUDIT_RULES_PRIV_H

#include <stddef.h>
#include <stdint.h>

/* Appends a formatted, malloc'd string to a NULL-terminated list: 0 or -ENOMEM. */
int audit_strv_push(char ***v, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void audit_strv_free(char **v, size_t n);

/* ---- audit_krule.c: a kernel rule (struct audit_rule_data) ---- */
struct audit_rule_data;
struct vigil_audit_rule;
struct vigil_err;
/* The index of the rule's first field of this type, or -1. */
int audit_kfind(const struct audit_rule_data *r, uint32_t field);
/* 0: no "vigil-" key; 1: a vigil key this vigil no longer makes (stale);
 * 2: a key it makes (exec, docker-*, scope-*). */
int audit_kis_vigil(const struct audit_rule_data *r);
/* auditctl -l text of the rule, for messages. */
void audit_kdescribe(const struct audit_rule_data *r, char *out, size_t len);
/* Our rule as libaudit builds it (what auditctl would send): 0 or -errno. */
int audit_build_kernel_rule(const struct vigil_audit_rule *r, struct audit_rule_data **out,
			    struct vigil_err *err);
/* The same rule, as the kernel compares them when it refuses a duplicate. */
int audit_krule_equal(const struct audit_rule_data *a, const struct audit_rule_data *b);

#endif
