/* audit_krule.c - one rule as the kernel holds it (struct audit_rule_data):
 * its fields read back, its text as auditctl -l writes it (syscalls named
 * from the rule's own arch's table), ours built the way auditctl builds
 * them, and the comparison the kernel makes for duplicates.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libaudit.h>

#include "vigil/audit.h"

#include "audit_rules_priv.h"

static int field_is_string(uint32_t f)
{
	return (f >= AUDIT_SUBJ_USER && f <= AUDIT_OBJ_LEV_HIGH && f != 18) ||
	       f == AUDIT_WATCH || f == AUDIT_DIR || f == AUDIT_FILTERKEY || f == AUDIT_EXE;
}

/* The string of field i (NUL-terminated copy into buf), or NULL. */
static const char *kfield_str(const struct audit_rule_data *r, uint32_t i, char *buf, size_t len)
{
	size_t off = 0;

	for (uint32_t k = 0; k < r->field_count && k < AUDIT_MAX_FIELDS; k++) {
		if (!field_is_string(r->fields[k]))
			continue;
		if (off + r->values[k] > r->buflen)
			return NULL;
		if (k == i) {
			size_t n = r->values[k] < len - 1 ? r->values[k] : len - 1;

			memcpy(buf, r->buf + off, n);
			buf[n] = '\0';
			return buf;
		}
		off += r->values[k];
	}
	return NULL;
}

int audit_kfind(const struct audit_rule_data *r, uint32_t field)
{
	for (uint32_t k = 0; k < r->field_count && k < AUDIT_MAX_FIELDS; k++)
		if (r->fields[k] == field)
			return (int)k;
	return -1;
}

/* The keys this vigil makes (after VIGIL_AUDIT_KEY_PREFIX); a trailing '-'
 * is a family (scope-<name>). */
static const char *const known_keys[] = { "exec", "docker-engine", "docker-runtime", "docker-data",
					  "docker-config", "docker-sock", "scope-", NULL };

/* One of the rule's keys (they are joined by \001) starts with "vigil-":
 * 0 none, 1 a key this vigil no longer makes (stale), 2 a key it makes. */
int audit_kis_vigil(const struct audit_rule_data *r)
{
	char key[AUDIT_MAX_KEY_LEN * 4 + 1];
	int i = audit_kfind(r, AUDIT_FILTERKEY), found = 0;
	const char *k;
	size_t pl = strlen(VIGIL_AUDIT_KEY_PREFIX);

	if (i < 0 || !(k = kfield_str(r, (uint32_t)i, key, sizeof(key))))
		return 0;
	for (const char *p = k; p; p = strchr(p, AUDIT_KEY_SEPARATOR)) {
		const char *end;
		size_t n;

		if (*p == AUDIT_KEY_SEPARATOR)
			p++;
		if (strncmp(p, VIGIL_AUDIT_KEY_PREFIX, pl))
			continue;
		found = 1;
		p += pl;
		end = strchr(p, AUDIT_KEY_SEPARATOR);
		n = end ? (size_t)(end - p) : strlen(p);
		for (size_t j = 0; known_keys[j]; j++) {
			size_t kl = strlen(known_keys[j]);

			if (known_keys[j][kl - 1] == '-' ? n > kl && !strncmp(p, known_keys[j], kl) :
							   n == kl && !strncmp(p, known_keys[j], kl))
				return 2;
		}
	}
	return found;
}

/* The last word's top bits name syscall classes, which the kernel expands
 * into syscalls and does not give back: compare and print without them. */
static uint32_t mask_word(const struct audit_rule_data *r, uint32_t i)
{
	return i == AUDIT_BITMASK_SIZE - 1 ? r->mask[i] & 0xffffU : r->mask[i];
}

/* auditctl-like text of a kernel rule, for messages. */
void audit_kdescribe(const struct audit_rule_data *r, char *out, size_t len)
{
	const char *list = audit_flag_to_name((int)(r->flags & AUDIT_FILTER_MASK));
	const char *act = audit_action_to_name((int)r->action);
	int ai = audit_kfind(r, AUDIT_ARCH);
	/* Syscall numbers are the rule's arch's (execve is 11 on i386 and
	 * munmap on x86_64): name them from that arch's table. */
	int machine = ai >= 0 ? audit_elf_to_machine(r->values[ai]) : audit_detect_machine();
	size_t o;
	int n, all = 1;

	n = snprintf(out, len, "-a %s,%s", act ? act : "?", list ? list : "?");
	o = n > 0 && (size_t)n < len ? (size_t)n : len - 1;
	for (uint32_t i = 0; i < AUDIT_BITMASK_SIZE; i++)
		if (mask_word(r, i) != (i == AUDIT_BITMASK_SIZE - 1 ? 0xffffU : ~0U))
			all = 0;
	if (!all && (r->flags & AUDIT_FILTER_MASK) == AUDIT_FILTER_EXIT) {
		int any = 0;

		for (uint32_t s = 0; s < AUDIT_BITMASK_SIZE * 32 && s < 2048; s++) {
			const char *name;

			if (!(r->mask[s / 32] & (1U << (s % 32))))
				continue;
			name = machine >= 0 ? audit_syscall_to_name((int)s, machine) : NULL;
			n = snprintf(out + o, len - o, "%s%s", any ? "," : " -S ", name ? name : "?");
			if (n < 0 || (size_t)n >= len - o)
				return;
			o += (size_t)n;
			any = 1;
		}
	}
	for (uint32_t i = 0; i < r->field_count && i < AUDIT_MAX_FIELDS; i++) {
		char sbuf[PATH_MAX];
		const char *fname = audit_field_to_name((int)r->fields[i]);
		const char *op = audit_operator_to_symbol((int)r->fieldflags[i]);
		const char *s = field_is_string(r->fields[i]) ?
					kfield_str(r, i, sbuf, sizeof(sbuf)) : NULL;

		if (r->fields[i] == AUDIT_ARCH) {
			/* as auditctl -l: b64 or b32, never the raw AUDIT_ARCH_* */
			snprintf(sbuf, sizeof(sbuf), "%s", r->values[i] & __AUDIT_ARCH_64BIT ? "b64" : "b32");
			s = sbuf;
		} else if (r->fields[i] == AUDIT_LOGINUID && r->values[i] == (uint32_t)-1) {
			s = "unset";
		}
		if (r->fields[i] == AUDIT_PERM) {
			uint32_t v = r->values[i];

			snprintf(sbuf, sizeof(sbuf), "%s%s%s%s", v & AUDIT_PERM_READ ? "r" : "",
				 v & AUDIT_PERM_WRITE ? "w" : "", v & AUDIT_PERM_EXEC ? "x" : "",
				 v & AUDIT_PERM_ATTR ? "a" : "");
			s = sbuf;
		}
		if (s)
			n = snprintf(out + o, len - o, " -F %s%s%s", fname ? fname : "?", op ? op : "?",
				     s);
		else
			n = snprintf(out + o, len - o, " -F %s%s%d", fname ? fname : "?", op ? op : "?",
				     (int)r->values[i]);
		if (n < 0 || (size_t)n >= len - o)
			return;
		o += (size_t)n;
	}
}

/* Our rule as libaudit builds it (what auditctl would send). */
int audit_build_kernel_rule(const struct vigil_audit_rule *r, struct audit_rule_data **out,
			     struct vigil_err *err)
{
	struct audit_rule_data *d = audit_rule_create_data();
	char pair[PATH_MAX + 16];
	int rc = 0;

	*out = NULL;
	if (!d)
		return vigil_err_set(err, -ENOMEM, "audit: out of memory");
	/* arch first: libaudit resolves syscall names for the last arch seen. */
	if (r->arch) {
		snprintf(pair, sizeof(pair), "arch=%s", r->arch);
		rc = audit_rule_fieldpair_data(&d, pair, AUDIT_FILTER_EXIT);
		if (rc)
			goto out;
	}
	if (r->syscalls) {
		char list[128], *save = NULL;

		snprintf(list, sizeof(list), "%s", r->syscalls);
		for (char *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
			rc = audit_rule_syscallbyname_data(d, s);
			if (rc) {
				/* socketcall and the like are absent on some arches. */
				if (strcmp(s, r->syscalls))
					rc = 0;
				else
					goto out;
			}
		}
	} else {
		rc = audit_rule_syscallbyname_data(d, "all");
		if (rc)
			goto out;
	}
	if (r->path) {
		snprintf(pair, sizeof(pair), "%s=%s", r->is_dir ? "dir" : "path", r->path);
		if ((rc = audit_rule_fieldpair_data(&d, pair, AUDIT_FILTER_EXIT)))
			goto out;
	}
	if (r->perm) {
		snprintf(pair, sizeof(pair), "perm=%s", r->perm);
		if ((rc = audit_rule_fieldpair_data(&d, pair, AUDIT_FILTER_EXIT)))
			goto out;
	}
	/* libaudit cuts the pair at '=' in place: never hand it a literal. */
	if (r->filter) {
		snprintf(pair, sizeof(pair), "%s", r->filter);
		if ((rc = audit_rule_fieldpair_data(&d, pair, AUDIT_FILTER_EXIT)))
			goto out;
	}
	snprintf(pair, sizeof(pair), "key=%s", r->key);
	rc = audit_rule_fieldpair_data(&d, pair, AUDIT_FILTER_EXIT);
	/* What audit_add_rule_data sets on sending, so it compares with the
	 * kernel's list. */
	d->flags = AUDIT_FILTER_EXIT;
	d->action = AUDIT_ALWAYS;
out:
	if (rc) {
		char line[PATH_MAX + 512];

		audit_rule_free_data(d);
		vigil_audit_rule_text(r, line, sizeof(line));
		return vigil_err_set(err, -EINVAL, "audit: cannot build rule '%s' (libaudit error %d)",
				     line, rc);
	}
	*out = d;
	return 0;
}

/* Same rule: the comparison the kernel makes when it refuses a duplicate. */
int audit_krule_equal(const struct audit_rule_data *a, const struct audit_rule_data *b)
{
	if ((a->flags & AUDIT_FILTER_MASK) != (b->flags & AUDIT_FILTER_MASK) ||
	    a->action != b->action || a->field_count != b->field_count ||
	    a->buflen != b->buflen || a->field_count > AUDIT_MAX_FIELDS)
		return 0;
	for (uint32_t i = 0; i < a->field_count; i++)
		if (a->fields[i] != b->fields[i] || a->values[i] != b->values[i] ||
		    a->fieldflags[i] != b->fieldflags[i])
			return 0;
	if (memcmp(a->buf, b->buf, a->buflen))
		return 0;
	for (uint32_t i = 0; i < AUDIT_BITMASK_SIZE; i++)
		if (mask_word(a, i) != mask_word(b, i))
			return 0;
	return 1;
}

