/* cis_trust.c - 4.5, content trust (DOCKER_CONTENT_TRUST=1).
 *
 * Content trust is the docker CLI's setting, read from the environment of
 * whoever runs `docker pull` or `docker run`: dockerd never reads it (its
 * unit's Environment= and its /proc/PID/environ say nothing about the
 * clients).  What the disk decides is the environment every login session
 * starts with: /etc/environment (pam_env, every PAM session), then
 * /etc/profile and the /etc/profile.d/ scripts (*.sh) (login shells), in that order, the
 * last assignment or `unset` winning, as a login shell ends up with it.
 * The benchmark's remedy is the line in /etc/environment.  docker-bench
 * judges the environment of the shell it runs in, which on a host says
 * whether the auditor exported it, not whether users get it.
 *
 * A line counts when it assigns the variable at its start (after `export`),
 * quoted or not; a value set for one command only (`VAR=1 cmd`) or inside
 * an `if` is counted too (a shell would need running to tell). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/rootfs.h"

#include "cis_priv.h"

#define VAR "DOCKER_CONTENT_TRUST"

struct trust {
	struct cis_ctx *c;
	int set;         /* the last assignment seen: 1 set, 0 unset or none */
	char value[64];
	char src[4096];  /* the file that made it so */
	int line;
};

static const char *skip_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* "word" followed by a blank at p: past both; else NULL. */
static const char *word(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(end - p) > n && !memcmp(p, w, n) && (p[n] == ' ' || p[n] == '\t'))
		return skip_blank(p + n, end);
	return NULL;
}

static void one_line(struct trust *t, const char *file, int lineno, const char *p, const char *end)
{
	const char *q;
	size_t n = strlen(VAR), len;

	p = skip_blank(p, end);
	if ((q = word(p, end, "unset")) && (size_t)(end - q) >= n && !memcmp(q, VAR, n) &&
	    (q + n == end || q[n] == ' ' || q[n] == '\t' || q[n] == ';')) {
		t->set = 0;
		snprintf(t->src, sizeof(t->src), "%s", file);
		t->line = lineno;
		return;
	}
	if ((q = word(p, end, "export")))
		p = q;
	if ((size_t)(end - p) <= n || memcmp(p, VAR, n) || p[n] != '=')
		return;
	p += n + 1;
	if (p < end && (*p == '"' || *p == '\'')) {
		q = memchr(p + 1, *p, (size_t)(end - p - 1));
		p++;
		len = q ? (size_t)(q - p) : (size_t)(end - p);
	} else {
		for (q = p; q < end && !strchr(" \t;#", *q); q++)
			;
		len = (size_t)(q - p);
	}
	if (len >= sizeof(t->value))
		len = sizeof(t->value) - 1;
	memcpy(t->value, p, len);
	t->value[len] = '\0';
	t->set = 1;
	snprintf(t->src, sizeof(t->src), "%s", file);
	t->line = lineno;
}

static int one_file(void *arg, const char *path)
{
	struct trust *t = arg;
	char *text = NULL;
	size_t len = 0;
	int lineno = 0;

	if (vigil_rootfs_read(t->c->rootfd, path, 1 << 20, &text, &len))
		return 0; /* absent or unreadable: it sets nothing for anyone either */
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		one_line(t, path, ++lineno, p, nl ? nl : end);
		p = nl ? nl + 1 : end;
	}
	free(text);
	return 0;
}

void cis_eval_trust(struct cis_ctx *c, const struct vigil_cis_check *chk)
{
	struct trust t = { .c = c };

	one_file(&t, "/etc/environment");
	one_file(&t, "/etc/profile");
	vigil_rootfs_glob(c->rootfd, "/etc/profile.d/*.sh", one_file, &t);
	if (t.set && !strcmp(t.value, "1"))
		cis_add(c, chk, VIGIL_CIS_PASS, t.src, VAR, t.value, NULL, NULL,
			"login sessions get %s=1 (line %d)", VAR, t.line);
	else if (t.set)
		cis_add(c, chk, VIGIL_CIS_FAIL, t.src, VAR, t.value, NULL, NULL,
			"line %d sets it to '%s', not 1: the docker CLI pulls unsigned images", t.line, t.value);
	else if (t.src[0])
		cis_add(c, chk, VIGIL_CIS_FAIL, t.src, VAR, "(unset)", NULL, NULL,
			"line %d unsets it: the docker CLI pulls unsigned images", t.line);
	else
		cis_add(c, chk, VIGIL_CIS_FAIL, "/etc/environment", VAR, "(unset)", NULL, NULL,
			"not set in /etc/environment, /etc/profile or /etc/profile.d/*.sh: the docker CLI "
			"pulls unsigned images");
}
