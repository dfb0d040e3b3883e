/* dpkg_info.c - a package's info/PKG.md5sums and info/PKG.list, and the
 * diversions file. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpkg_priv.h"

/* "<32 hex>  usr/bin/ls": dpkg writes two spaces; debsums splits on any
 * whitespace, so one or more spaces or tabs are taken.  A path given as
 * "./x" or "/x" is taken as "x" too. */
int vigil_dpkg_load_md5sums(struct vigil_dpkg *db, uint32_t pkg, const char *buf, size_t len,
			    const char *file, struct vigil_err *err)
{
	struct dpkg_lines l = { .buf = buf, .len = len, .file = file };
	const char *line;
	size_t n;
	int rc;

	if (pkg >= db->n_pkgs)
		return vigil_err_set(err, -EINVAL, "%s: no such package", file);
	while ((rc = dpkg_lines_next(&l, &line, &n, err)) > 0) {
		unsigned char md5[16];
		const char *p = line + 32;
		char *path;

		if (n < 34 || dpkg_md5_parse(line, 32, md5) || (line[32] != ' ' && line[32] != '\t'))
			return dpkg_bad(err, &l, "expected '<md5>  <path>'");
		while (p < line + n && (*p == ' ' || *p == '\t'))
			p++;
		if (p + 2 <= line + n && p[0] == '.' && p[1] == '/')
			p += 2;
		while (p < line + n && *p == '/')
			p++;
		if (p == line + n)
			return dpkg_bad(err, &l, "no path after the md5");
		path = malloc((size_t)(line + n - p) + 2);
		if (!path)
			return -ENOMEM;
		path[0] = '/';
		memcpy(path + 1, p, (size_t)(line + n - p));
		path[line + n - p + 1] = '\0';
		rc = dpkg_add_sum(db, pkg, path, (size_t)(line + n - p) + 1, md5, 0, 0);
		free(path);
		if (rc)
			return rc;
	}
	return rc;
}

/* One absolute path a line ("/." is the root); directories included. */
int vigil_dpkg_load_list(struct vigil_dpkg *db, uint32_t pkg, const char *buf, size_t len, const char *file,
			 struct vigil_err *err)
{
	struct dpkg_lines l = { .buf = buf, .len = len, .file = file };
	const char *line;
	size_t n;
	int rc;

	if (pkg >= db->n_pkgs)
		return vigil_err_set(err, -EINVAL, "%s: no such package", file);
	while ((rc = dpkg_lines_next(&l, &line, &n, err)) > 0) {
		struct dpkg_entry *e;
		char *path;

		if (!n)
			continue;
		if (line[0] != '/')
			return dpkg_bad(err, &l, "not an absolute path");
		path = malloc(n + 1);
		if (!path)
			return -ENOMEM;
		memcpy(path, line, n);
		path[n] = '\0';
		e = dpkg_entry_get(db, path, 1);
		free(path);
		if (!e)
			return -ENOMEM;
		if (e->last_owner_plus1 == pkg + 1)
			continue;
		if (!e->n_owners)
			e->owner = pkg;
		e->n_owners++;
		e->last_owner_plus1 = pkg + 1;
	}
	return rc;
}

/* Groups of three lines: the diverted path, where it lives now, the
 * diverting package (":" for a local diversion). */
int vigil_dpkg_load_diversions(struct vigil_dpkg *db, const char *buf, size_t len, const char *file,
			       struct vigil_err *err)
{
	struct dpkg_lines l = { .buf = buf, .len = len, .file = file };
	const char *line;
	size_t n;
	char *part[3] = { NULL, NULL, NULL };
	int k = 0, rc;

	while ((rc = dpkg_lines_next(&l, &line, &n, err)) > 0) {
		struct dpkg_entry *e;

		if (!n || (k < 2 && line[0] != '/')) {
			rc = dpkg_bad(err, &l, k < 2 ? "expected an absolute path" : "expected a package name");
			goto out;
		}
		if (!(part[k] = malloc(n + 1))) {
			rc = -ENOMEM;
			goto out;
		}
		memcpy(part[k], line, n);
		part[k][n] = '\0';
		if (++k < 3)
			continue;
		if (db->n_divs >= INT32_MAX) {
			rc = dpkg_bad(err, &l, "too many diversions");
			goto out;
		}
		if (db->n_divs == db->cap_divs) {
			size_t cap = db->cap_divs * 2 + 8;
			void *t = realloc(db->divs, cap * sizeof(*db->divs));

			if (!t) {
				rc = -ENOMEM;
				goto out;
			}
			db->divs = t;
			db->cap_divs = cap;
		}
		if (!(e = dpkg_entry_get(db, part[0], 1))) {
			rc = -ENOMEM;
			goto out;
		}
		e->div = (int32_t)db->n_divs;
		db->divs[db->n_divs++] = (struct dpkg_div){ part[0], part[1], part[2] };
		part[0] = part[1] = part[2] = NULL;
		k = 0;
	}
	if (!rc && k)
		rc = dpkg_bad(err, &l, "truncated diversion: %d of 3 lines", k);
out:
	for (int i = 0; i < 3; i++)
		free(part[i]);
	return rc;
}
