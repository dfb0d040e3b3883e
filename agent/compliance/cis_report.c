/* cis_report.c - the report writers for people and machines: text (grouped
 * by section, one line per check, the evidence of what is not a pass, a
 * summary line), JSON (one ECS-style object per result per line) and JUnit
 * XML (one test case per result, so CI pipelines show it). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cis_priv.h"

#define RULESET "CIS Docker Benchmark v1.6.0"

static const char *const upper[VIGIL_CIS_N] = { "PASS", "FAIL", "INFO", "N/A", "ERROR" };

static void short_id(const struct vigil_cis_result *x, char *buf, size_t len)
{
	if (!x->container_id) {
		buf[0] = '\0';
		return;
	}
	if (x->container_name)
		snprintf(buf, len, "%s (%.12s)", x->container_name, x->container_id);
	else
		snprintf(buf, len, "%.19s", x->container_id);
}

static void evidence_line(FILE *f, const struct vigil_cis_result *x)
{
	char who[128];

	short_id(x, who, sizeof(who));
	fprintf(f, "        %s%s%s", who, who[0] ? ": " : "", x->file ? x->file : "");
	if (x->key)
		fprintf(f, "%s%s = %s", x->file ? ": " : "", x->key, x->value ? x->value : "");
	if (x->detail)
		fprintf(f, "%s%s", x->file || x->key ? " - " : "", x->detail);
	fputc('\n', f);
}

int vigil_cis_write_text(const struct vigil_cis_report *r, FILE *f, int verbose)
{
	const struct vigil_cis_check *t;
	size_t n, checks = 0;
	char section = 0;

	t = vigil_cis_table(&n);
	fprintf(f, "%s on %s%s%s\n", RULESET, r->host ? r->host : "?", r->dockerd ? ", dockerd from " : "",
		r->dockerd ? r->dockerd : "");
	for (size_t i = 0; i < n; i++) {
		int v = vigil_cis_check_verdict(r, t[i].id);

		if (v < 0)
			continue;
		checks++;
		if (t[i].id[0] != section) {
			section = t[i].id[0];
			fprintf(f, "\n[%c] %s\n", section, vigil_cis_section_title(t[i].id));
		}
		fprintf(f, "  %-5s %-6s %s%s\n", upper[v], t[i].id, t[i].title, t[i].automated ? "" : " (Manual)");
		for (size_t k = 0; k < r->n; k++) {
			const struct vigil_cis_result *x = &r->v[k];

			if (x->check == &t[i] && (verbose || x->verdict == VIGIL_CIS_FAIL || x->verdict == VIGIL_CIS_ERROR ||
						  (x->verdict == VIGIL_CIS_INFO && !x->container_id)))
				evidence_line(f, x);
		}
	}
	fprintf(f, "\nSummary: %zu checks, %zu results: %zu pass, %zu fail, %zu info, %zu not applicable, %zu error\n",
		checks, r->n, r->counts[VIGIL_CIS_PASS], r->counts[VIGIL_CIS_FAIL], r->counts[VIGIL_CIS_INFO],
		r->counts[VIGIL_CIS_NA], r->counts[VIGIL_CIS_ERROR]);
	return ferror(f) ? -EIO : 0;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

static void timestamp(int64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *cis_result_json(const struct vigil_cis_report *r, const struct vigil_cis_result *x)
{
	json_t *o = json_object(), *rule = json_object(), *vg = json_object(), *evd = json_object(),
	       *host = json_object(), *event = json_object();
	char ts[64], *line;

	timestamp(r->time_ns, ts, sizeof(ts));
	json_object_set_new(o, "@timestamp", json_string(ts));
	set_str(event, "kind", "state");
	set_str(event, "category", "configuration");
	set_str(event, "outcome", x->verdict == VIGIL_CIS_PASS ? "success" :
				  x->verdict == VIGIL_CIS_FAIL ? "failure" : "unknown");
	json_object_set_new(o, "event", event);
	set_str(rule, "id", x->check->id);
	set_str(rule, "name", x->check->title);
	set_str(rule, "ruleset", RULESET);
	set_str(rule, "category", vigil_cis_section_title(x->check->id));
	json_object_set_new(o, "rule", rule);
	set_str(host, "name", r->host);
	json_object_set_new(o, "host", host);
	if (x->container_id && x->container_name) {
		json_t *ct = json_object();

		set_str(ct, "id", x->container_id);
		set_str(ct, "name", x->container_name);
		json_object_set_new(o, "container", ct);
	}
	if (x->detail)
		set_str(o, "message", x->detail);
	set_str(vg, "verdict", vigil_cis_verdict_name(x->verdict));
	json_object_set_new(vg, "automated", json_boolean(x->check->automated));
	set_str(vg, "remedy", x->check->remedy);
	if (x->container_id && !x->container_name)
		set_str(vg, "image_id", x->container_id);
	set_str(evd, "file", x->file);
	set_str(evd, "key", x->key);
	set_str(evd, "value", x->value);
	json_object_set_new(vg, "evidence", evd);
	json_object_set_new(o, "vigil", vg);
	line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return line;
}

int vigil_cis_write_json(const struct vigil_cis_report *r, FILE *f)
{
	for (size_t i = 0; i < r->n; i++) {
		char *line = cis_result_json(r, &r->v[i]);

		if (!line)
			return -ENOMEM;
		fprintf(f, "%s\n", line);
		free(line);
	}
	return ferror(f) ? -EIO : 0;
}

/* XML text: the five entities, and control characters dropped. */
void cis_xml(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				fputc(*s, f);
		}
	}
}

static void junit_case(FILE *f, const struct vigil_cis_result *x)
{
	char who[128];

	short_id(x, who, sizeof(who));
	fputs("    <testcase classname=\"cis.", f);
	cis_xml(f, x->check->id);
	fputs("\" name=\"", f);
	cis_xml(f, x->check->id);
	fputc(' ', f);
	cis_xml(f, x->check->title);
	if (who[0]) {
		fputs(" [", f);
		cis_xml(f, who);
		fputc(']', f);
	}
	fputs("\">", f);
	if (x->verdict != VIGIL_CIS_PASS) {
		const char *tag = x->verdict == VIGIL_CIS_FAIL ? "failure" : x->verdict == VIGIL_CIS_ERROR ? "error" : "skipped";

		fprintf(f, "<%s message=\"", tag);
		cis_xml(f, vigil_cis_verdict_name(x->verdict));
		if (x->detail) {
			fputs(": ", f);
			cis_xml(f, x->detail);
		}
		fputs("\">", f);
		if (x->file || x->key) {
			cis_xml(f, x->file ? x->file : "");
			fputs(": ", f);
			cis_xml(f, x->key ? x->key : "");
			fputs(" = ", f);
			cis_xml(f, x->value ? x->value : "");
			fputs("\nremedy: ", f);
			cis_xml(f, x->check->remedy);
		}
		fprintf(f, "</%s>", tag);
	}
	fputs("</testcase>\n", f);
}

int vigil_cis_write_junit(const struct vigil_cis_report *r, FILE *f)
{
	char ts[64];

	timestamp(r->time_ns, ts, sizeof(ts));
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f, "<testsuites name=\"%s\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\">\n", RULESET, r->n,
		r->counts[VIGIL_CIS_FAIL], r->counts[VIGIL_CIS_ERROR]);
	for (char s = '1'; s <= '5'; s++) {
		size_t tests = 0, fails = 0, errors = 0, skipped = 0;
		char id[2] = { s, 0 };

		for (size_t i = 0; i < r->n; i++)
			if (r->v[i].check->id[0] == s) {
				tests++;
				fails += r->v[i].verdict == VIGIL_CIS_FAIL;
				errors += r->v[i].verdict == VIGIL_CIS_ERROR;
				skipped += r->v[i].verdict == VIGIL_CIS_INFO || r->v[i].verdict == VIGIL_CIS_NA;
			}
		fprintf(f, "  <testsuite name=\"%c ", s);
		cis_xml(f, vigil_cis_section_title(id));
		fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" timestamp=\"%s\" hostname=\"",
			tests, fails, errors, skipped, ts);
		cis_xml(f, r->host);
		fputs("\">\n", f);
		for (size_t i = 0; i < r->n; i++)
			if (r->v[i].check->id[0] == s)
				junit_case(f, &r->v[i]);
		fputs("  </testsuite>\n", f);
	}
	fputs("</testsuites>\n", f);
	return ferror(f) ? -EIO : 0;
}
