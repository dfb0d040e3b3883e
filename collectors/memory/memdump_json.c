/* memdump_json.c - the record of one acquisition, as JSON: the sidecar of
 * `vigil memdump -o FILE` now, the archive manifest's memory entry later. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vigil/memdump.h"

static json_t *ranges_json(const struct vigil_lime_range *r, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		char s[20], e[20];

		snprintf(s, sizeof(s), "0x%" PRIx64, r[i].start);
		snprintf(e, sizeof(e), "0x%" PRIx64, r[i].end);
		json_array_append_new(a, json_pack("{s:s, s:s, s:I}", "start", s, "end", e, "bytes",
						   (json_int_t)(r[i].end - r[i].start + 1)));
	}
	return a;
}

static json_t *lime_json(const struct vigil_memdump_result *res)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:i, s:s, s:s, s:s, s:s}",
			 "mode", res->lime.mode, "module", res->module_path, "module_name", res->modinfo.name,
			 "module_vermagic", res->modinfo.vermagic, "kernel_vermagic", res->kernel_vermagic,
			 "loaded", res->lime.loaded, "unloaded", res->lime.unloaded,
			 "load_errno", res->lime.load_errno, "lime_sha256", res->lime.lime_digest,
			 "unload_error", res->lime.unload_error, "taint_before", res->taint_before,
			 "taint_after", res->taint_after);
}

static json_t *kcore_json(const struct vigil_memdump_result *res)
{
	const struct vigil_kcore_result *k = &res->kcore;

	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}", "segments", (json_int_t)k->n_segments,
			 "dropped_segments", (json_int_t)k->dropped_segments, "holes", (json_int_t)k->n_holes,
			 "hole_bytes", (json_int_t)k->hole_bytes, "holes_listed", (json_int_t)k->holes_listed,
			 "hole_ranges", ranges_json(k->holes, k->holes_listed));
}

/* What vigil changed on the host: the module's load and unload, the taint. */
static json_t *changes_json(const struct vigil_memdump_result *res)
{
	json_t *a = json_array();
	char line[512];

	if (!a || !res->lime.loaded)
		return a;
	snprintf(line, sizeof(line), "module %s loaded (finit_module)", res->modinfo.name);
	json_array_append_new(a, json_string(line));
	if (res->lime.unloaded)
		snprintf(line, sizeof(line), "module %s unloaded (delete_module)", res->modinfo.name);
	else
		snprintf(line, sizeof(line), "module %s NOT unloaded: %s", res->modinfo.name, res->lime.unload_error);
	json_array_append_new(a, json_string(line));
	if (strcmp(res->taint_before, res->taint_after)) {
		snprintf(line, sizeof(line), "kernel taint %s -> %s", res->taint_before, res->taint_after);
		json_array_append_new(a, json_string(line));
	}
	return a;
}

json_t *vigil_memdump_result_json(const struct vigil_memdump_result *res)
{
	json_t *j = json_pack("{s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:s, s:s, s:I, s:b, s:s, s:o, s:o,"
			      " s:{s:I, s:I, s:I, s:o, s:s}}",
			      "method", res->method ? vigil_memdump_method_name(res->method) : "none",
			      "kernel", "release", res->release, "boot_id", res->boot_id, "lockdown", res->lockdown,
			      "not_run", "lime", res->method == VIGIL_MEMDUMP_LIME ? "" : res->why_not_lime,
			      "kcore", res->method == VIGIL_MEMDUMP_KCORE ? "" : res->why_not_kcore,
			      "format", "lime", "sha256", res->sha256, "bytes", (json_int_t)res->bytes,
			      "valid", res->valid, "validation", res->verdict,
			      "ranges", ranges_json(res->ranges, res->n_ranges),
			      "system_ram", ranges_json(res->ram, res->n_ram),
			      "gaps", "count", (json_int_t)res->n_gaps, "listed", (json_int_t)res->gaps_listed,
			      "zero_bytes", (json_int_t)res->zero_bytes, "ranges",
			      ranges_json(res->gaps, res->gaps_listed),
			      "meaning", "runs of pages that read back all zero: LiME zero-fills pages that "
			      "time out, kcore holes are zero-filled; genuinely zero memory is listed too");

	if (!j)
		return NULL;
	json_object_set_new(j, "host_changes", changes_json(res));
	if (res->iomem_error[0])
		json_object_set_new(j, "iomem_error", json_string(res->iomem_error));
	if (res->method == VIGIL_MEMDUMP_LIME || res->module_path[0])
		json_object_set_new(j, "lime", lime_json(res));
	if (res->method == VIGIL_MEMDUMP_KCORE)
		json_object_set_new(j, "kcore", kcore_json(res));
	return j;
}
