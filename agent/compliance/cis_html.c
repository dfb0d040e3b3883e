/* cis_html.c - the HTML report: one self-contained page (inline CSS and
 * SVG, no script, no external asset) with the summary counts, a bar per
 * section (pass/fail/info/n-a/error), and every failure and error with its
 * evidence and remedy. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cis_priv.h"

static const char *const colour[VIGIL_CIS_N] = { "#2e7d32", "#c62828", "#1565c0", "#9e9e9e", "#ef6c00" };

static void section_chart(FILE *f, const struct vigil_cis_report *r)
{
	const int w = 560, bar = 22, gap = 10, left = 230;
	int y = 0;

	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\" "
		   "aria-label=\"results per section\">\n", left + w + 10, 5 * (bar + gap) + 30);
	for (char s = '1'; s <= '5'; s++, y += bar + gap) {
		size_t cnt[VIGIL_CIS_N] = { 0 }, total = 0;
		char id[2] = { s, 0 };
		double x = left;

		for (size_t i = 0; i < r->n; i++)
			if (r->v[i].check->id[0] == s) {
				cnt[r->v[i].verdict]++;
				total++;
			}
		fprintf(f, "<text x=\"0\" y=\"%d\" font-size=\"13\">%c ", y + 16, s);
		cis_xml(f, vigil_cis_section_title(id));
		fputs("</text>\n", f);
		for (int v = 0; v < VIGIL_CIS_N && total; v++) {
			double bw = (double)w * (double)cnt[v] / (double)total;

			if (!cnt[v])
				continue;
			fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s: %zu</title></rect>\n",
				x, y, bw, bar, colour[v], vigil_cis_verdict_name(v), cnt[v]);
			if (bw > 24)
				fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"12\" fill=\"#fff\">%zu</text>\n", x + 4,
					y + 16, cnt[v]);
			x += bw;
		}
	}
	y += 4;
	for (int v = 0, x = left; v < VIGIL_CIS_N; v++, x += 110)
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"%d\" "
			   "font-size=\"12\">%s</text>\n", x, y, colour[v], x + 16, y + 11, vigil_cis_verdict_name(v));
	fputs("</svg>\n", f);
}

static void findings(FILE *f, const struct vigil_cis_report *r)
{
	size_t shown = 0;

	fputs("<h2>Failures and errors</h2>\n<table>\n<tr><th>check</th><th>verdict</th><th>container / image</th>"
	      "<th>evidence</th><th>remedy</th></tr>\n", f);
	for (size_t i = 0; i < r->n; i++) {
		const struct vigil_cis_result *x = &r->v[i];

		if (x->verdict != VIGIL_CIS_FAIL && x->verdict != VIGIL_CIS_ERROR)
			continue;
		shown++;
		fprintf(f, "<tr class=\"%s\"><td><b>", vigil_cis_verdict_name(x->verdict));
		cis_xml(f, x->check->id);
		fputs("</b> ", f);
		cis_xml(f, x->check->title);
		fprintf(f, "</td><td>%s</td><td>", vigil_cis_verdict_name(x->verdict));
		cis_xml(f, x->container_name ? x->container_name : "");
		if (x->container_id) {
			fputs(" <code>", f);
			fprintf(f, "%.19s", x->container_id);
			fputs("</code>", f);
		}
		fputs("</td><td><code>", f);
		cis_xml(f, x->file ? x->file : "");
		fputs("</code>", f);
		if (x->key) {
			fputs("<br><code>", f);
			cis_xml(f, x->key);
			fputs(" = ", f);
			cis_xml(f, x->value ? x->value : "");
			fputs("</code>", f);
		}
		if (x->detail) {
			fputs("<br>", f);
			cis_xml(f, x->detail);
		}
		fputs("</td><td>", f);
		cis_xml(f, x->check->remedy);
		fputs("</td></tr>\n", f);
	}
	if (!shown)
		fputs("<tr><td colspan=\"5\">none</td></tr>\n", f);
	fputs("</table>\n", f);
}

/* Pass and fail counts of the stored runs, oldest first, as two lines. */
static void trend_chart(FILE *f, const struct vigil_cis_run *h, size_t n)
{
	const int w = 560, ht = 160, left = 40;
	size_t top = 1;

	fprintf(f, "<h2>Trend over %zu stored run%s</h2>\n", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++)
		for (int v = VIGIL_CIS_PASS; v <= VIGIL_CIS_FAIL; v++)
			top = h[i].counts[v] > top ? h[i].counts[v] : top;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\" "
		   "aria-label=\"pass and fail counts per stored run\">\n", left + w + 20, ht + 40);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n", left, ht, left + w, ht);
	fprintf(f, "<text x=\"0\" y=\"12\" font-size=\"11\">%zu</text><text x=\"0\" y=\"%d\" font-size=\"11\">0</text>\n",
		top, ht);
	for (int v = VIGIL_CIS_PASS; v <= VIGIL_CIS_FAIL; v++) {
		fprintf(f, "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"%s\" points=\"", colour[v]);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%.1f,%.1f ", left + (n > 1 ? (double)w * (double)i / (double)(n - 1) : 0.0),
				ht - (double)(ht - 10) * (double)h[i].counts[v] / (double)top);
		fputs("\"/>\n", f);
	}
	for (size_t i = 0; i < n; i++) {
		double x = left + (n > 1 ? (double)w * (double)i / (double)(n - 1) : 0.0);

		fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">g%lld</text>"
			   "<title>generation %lld: %zu pass, %zu fail</title>\n", x, ht + 14, (long long)h[i].gen,
			(long long)h[i].gen, h[i].counts[VIGIL_CIS_PASS], h[i].counts[VIGIL_CIS_FAIL]);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"%s\">pass</text>"
		   "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"%s\">fail</text>\n</svg>\n",
		left, ht + 32, colour[VIGIL_CIS_PASS], left + 50, ht + 32, colour[VIGIL_CIS_FAIL]);
}

int vigil_cis_write_html(const struct vigil_cis_report *r, const struct vigil_cis_run *hist, size_t n_hist,
			 FILE *f)
{
	char ts[64];
	time_t s = (time_t)(r->time_ns / 1000000000);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n"
	      "<title>vigil cis: ", f);
	cis_xml(f, r->host);
	fputs("</title>\n<style>\nbody{font-family:sans-serif;margin:2em;color:#222}\n"
	      "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 6px;"
	      "vertical-align:top;font-size:13px;text-align:left}\n"
	      "tr.fail td:nth-child(2){color:#c62828;font-weight:bold}tr.error td:nth-child(2){color:#ef6c00;font-weight:bold}\n"
	      ".counts span{display:inline-block;margin-right:1.5em;font-size:20px}\n"
	      "code{font-size:12px;word-break:break-all}\n</style></head><body>\n<h1>CIS Docker Benchmark v1.6.0</h1>\n<p>Host <b>", f);
	cis_xml(f, r->host);
	fprintf(f, "</b>, %s", ts);
	if (r->dockerd) {
		fputs(", dockerd's arguments from <code>", f);
		cis_xml(f, r->dockerd);
		fputs("</code>", f);
	}
	fputs("</p>\n<div class=\"counts\" id=\"summary\">", f);
	for (int v = 0; v < VIGIL_CIS_N; v++)
		fprintf(f, "<span style=\"color:%s\" id=\"count-%s\">%s: <b>%zu</b></span>", colour[v],
			vigil_cis_verdict_name(v), vigil_cis_verdict_name(v), r->counts[v]);
	fputs("</div>\n<h2>Per section</h2>\n", f);
	section_chart(f, r);
	if (n_hist)
		trend_chart(f, hist, n_hist);
	findings(f, r);
	fputs("<p>Generated by vigil cis (no script, no external resource).</p>\n</body></html>\n", f);
	return ferror(f) ? -EIO : 0;
}
