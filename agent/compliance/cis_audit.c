/* cis_audit.c - the audit rules the 1.1.x checks look for: the kernel's
 * (through libaudit, as auditctl -l lists them) on the running host, the
 * files auditd loads at boot (etc/audit/rules.d/ *.rules, etc/audit/audit.rules)
 * with --root.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/audit.h"
#include "vigil/rootfs.h"

#include "cis_priv.h"

static int add_lines(struct cis_ctx *c, const char *path)
{
	char *text = NULL, *save = NULL;
	int rc = vigil_rootfs_read(c->rootfd, path, 8u << 20, &text, NULL);

	if (rc)
		return rc;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		while (*l == ' ' || *l == '\t')
			l++;
		if (*l && *l != '#' && cis_strv_push(&c->audit, l)) {
			free(text);
			return -ENOMEM;
		}
	}
	free(text);
	return 0;
}

static int add_file_cb(void *arg, const char *path)
{
	return add_lines(arg, path) == -ENOMEM ? -ENOMEM : 0;
}

void cis_audit_load(struct cis_ctx *c)
{
	struct vigil_err err = { "" };

	if (c->host) {
		char **lines = NULL;
		size_t n = 0;
		int rc = vigil_audit_rules_list(&lines, &n, &err);

		if (rc) {
			c->audit_error = strdup(err.msg);
		} else {
			for (size_t i = 0; i < n; i++)
				cis_strv_push(&c->audit, lines[i]);
			c->audit_source = strdup("kernel audit rules");
		}
		for (size_t i = 0; i < n; i++)
			free(lines[i]);
		free(lines);
		return;
	}
	vigil_rootfs_glob(c->rootfd, "/etc/audit/rules.d/*.rules", add_file_cb, c);
	add_lines(c, "/etc/audit/audit.rules");
	c->audit_source = strdup("/etc/audit/rules.d/*.rules, /etc/audit/audit.rules");
}

/* path appears as a whole word after "-w ", "path=" or "dir=" */
static int names(const char *rule, const char *path)
{
	static const char *const lead[] = { "-w ", "path=", "dir=", NULL };
	size_t pl = strlen(path);

	for (int k = 0; lead[k]; k++)
		for (const char *p = strstr(rule, lead[k]); p; p = strstr(p + 1, lead[k])) {
			const char *v = p + strlen(lead[k]);

			while (*v == ' ')
				v++;
			if (!strncmp(v, path, pl) && (v[pl] == '\0' || v[pl] == ' ' || v[pl] == '\t'))
				return 1;
		}
	return 0;
}

int cis_audit_covers(const struct cis_ctx *c, const char *path, const char **rule)
{
	for (size_t i = 0; i < c->audit.n; i++)
		if (names(c->audit.v[i], path)) {
			*rule = c->audit.v[i];
			return 1;
		}
	return 0;
}
