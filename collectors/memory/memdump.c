/* memdump.c - one acquisition: pick LiME or kcore, record why the other did
 * not run, write through the output pipe, keep the validator's verdict.
 *
 * auto: LiME first (it reads memory from inside the kernel, nothing mapped
 * by a userland reader), unless no module fits this kernel or the kernel is
 * locked down; kcore when LiME cannot run or failed before writing a byte
 * (once bytes reached the sink there is no going back: the dump fails).
 * Lockdown (/sys/kernel/security/lockdown, "[integrity]" or
 * "[confidentiality]"): integrity refuses modules the kernel cannot verify,
 * confidentiality also closes /proc/kcore. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "vigil/memdump.h"

const char *vigil_memdump_method_name(int method)
{
	switch (method) {
	case VIGIL_MEMDUMP_AUTO: return "auto";
	case VIGIL_MEMDUMP_LIME: return "lime";
	case VIGIL_MEMDUMP_KCORE: return "kcore";
	}
	return "none";
}

int vigil_memdump_method_parse(const char *s)
{
	if (!strcmp(s, "auto"))
		return VIGIL_MEMDUMP_AUTO;
	if (!strcmp(s, "lime"))
		return VIGIL_MEMDUMP_LIME;
	if (!strcmp(s, "kcore"))
		return VIGIL_MEMDUMP_KCORE;
	return -1;
}

/* Copies src into dst, cut to fit (messages: the start says what failed). */
static void copy_cut(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n > len - 1)
		n = len - 1;

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* First line of a small file, without its newline; "" when unreadable. */
static void read_line(const char *path, char *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, out, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

/* "none [integrity] confidentiality" -> "integrity"; "none" when absent. */
static void lockdown_mode(const char *path, char *out, size_t len)
{
	char line[128], *a, *b;

	read_line(path, line, sizeof(line));
	a = strchr(line, '[');
	b = a ? strchr(a, ']') : NULL;
	if (!a || !b) {
		copy_cut(out, len, line[0] ? line : "none");
		return;
	}
	*b = '\0';
	copy_cut(out, len, a + 1);
}

/* Can LiME run?  0, or -errno with the reason in res->why_not_lime. */
static int lime_ready(const struct vigil_memdump_opts *o, struct vigil_memdump_result *res)
{
	struct vigil_err e = { "" };
	int rc;

	if (strcmp(res->lockdown, "none") && o->method == VIGIL_MEMDUMP_AUTO) {
		snprintf(res->why_not_lime, sizeof(res->why_not_lime), "kernel lockdown (%s): the kernel "
			 "refuses modules it cannot verify", res->lockdown);
		return -EPERM;
	}
	rc = vigil_limemod_find(o->module, o->modules_root, res->release, res->module_path,
				sizeof(res->module_path), &e);
	if (!rc)
		rc = vigil_limemod_modinfo(res->module_path, &res->modinfo, &e);
	if (!rc) {
		struct vigil_err ke;

		if (vigil_limemod_kernel_vermagic(o->modules_root, res->release, res->kernel_vermagic,
						  sizeof(res->kernel_vermagic), &ke))
			res->kernel_vermagic[0] = '\0'; /* only the release can be compared */
		rc = vigil_limemod_check_vermagic(&res->modinfo, res->release, res->kernel_vermagic, &e);
	}
	if (rc)
		copy_cut(res->why_not_lime, sizeof(res->why_not_lime), e.msg);
	return rc;
}

static int kcore_ready(const struct vigil_memdump_opts *o, struct vigil_memdump_result *res)
{
	const char *kc = o->kcore_path ? o->kcore_path : "/proc/kcore";

	if (!strcmp(res->lockdown, "confidentiality")) {
		snprintf(res->why_not_kcore, sizeof(res->why_not_kcore),
			 "kernel lockdown (confidentiality) closes /proc/kcore");
		return -EPERM;
	}
	if (access(kc, F_OK)) {
		snprintf(res->why_not_kcore, sizeof(res->why_not_kcore), "kcore absent: %s: %s%s", kc,
			 strerror(errno), errno == ENOENT ? " (kernel built without CONFIG_PROC_KCORE)" : "");
		return -ENOENT;
	}
	if (!res->n_ram) {
		copy_cut(res->why_not_kcore, sizeof(res->why_not_kcore), res->iomem_error);
		return -EPERM;
	}
	return 0;
}

static void keep_verdict(struct vigil_memdump_result *res, struct vigil_lime_out *out)
{
	struct vigil_lime_check *c = vigil_lime_out_check(out);
	size_t n = vigil_lime_check_n_ranges(c), g = vigil_lime_check_gaps_listed(c);

	res->bytes = vigil_lime_out_bytes(out);
	res->n_gaps = vigil_lime_check_n_gaps(c);
	res->zero_bytes = vigil_lime_check_zero_bytes(c);
	res->ranges = n ? malloc(n * sizeof(*res->ranges)) : NULL;
	res->gaps = g ? malloc(g * sizeof(*res->gaps)) : NULL;
	if (res->ranges) {
		memcpy(res->ranges, vigil_lime_check_ranges(c), n * sizeof(*res->ranges));
		res->n_ranges = n;
	}
	if (res->gaps) {
		memcpy(res->gaps, vigil_lime_check_gaps(c), g * sizeof(*res->gaps));
		res->gaps_listed = g;
	}
}

/* The caller's sink, shut while LiME's file mode reads back the file LiME
 * wrote itself when that file is the sink's own (memdump: the bytes are
 * already where they belong); open when the sink is elsewhere (an archive
 * member: the read-back is what goes in). */
struct gate {
	vigil_lime_sink_fn sink;
	void *ctx;
	int shut;
};

static int gate_sink(void *ctx, const void *buf, size_t len, struct vigil_err *err)
{
	struct gate *g = ctx;

	return g->shut ? 0 : g->sink(g->ctx, buf, len, err);
}

static int run_lime(const struct vigil_memdump_opts *o, struct vigil_lime_out *out, struct gate *g,
		    struct vigil_memdump_result *res, struct vigil_err *err)
{
	const char *name = res->modinfo.name[0] ? res->modinfo.name : "lime";
	int rc;

	if (res->n_ram && vigil_lime_check_expect(vigil_lime_out_check(out), res->ram, res->n_ram))
		return vigil_err_set(err, -ENOMEM, "out of memory");
	read_line("/proc/sys/kernel/tainted", res->taint_before, sizeof(res->taint_before));
	if (o->lime_file) {
		g->shut = !o->lime_file_to_sink;
		rc = vigil_limemod_acquire_file(res->module_path, name, o->lime_file, o->timeout_ms, out,
						&res->lime, err);
		g->shut = 0;
	} else {
		rc = vigil_limemod_acquire(res->module_path, name, o->timeout_ms, out, &res->lime, err);
	}
	read_line("/proc/sys/kernel/tainted", res->taint_after, sizeof(res->taint_after));
	res->method = VIGIL_MEMDUMP_LIME;
	return rc;
}

int vigil_memdump_run(const struct vigil_memdump_opts *o, vigil_lime_sink_fn sink, void *ctx,
		      struct vigil_memdump_result *res, struct vigil_err *err)
{
	struct gate g = { sink, ctx, 0 };
	struct vigil_lime_out *out = vigil_lime_out_new(gate_sink, &g);
	struct vigil_err ie = { "" };
	struct utsname u;
	int rc, lime_ok = -1, kcore_ok = -1;

	memset(res, 0, sizeof(*res));
	snprintf(res->lime.mode, sizeof(res->lime.mode), "%s", o->lime_file ? "file" : "tcp");
	if (!out)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	uname(&u);
	snprintf(res->release, sizeof(res->release), "%s", u.release);
	read_line("/proc/sys/kernel/random/boot_id", res->boot_id, sizeof(res->boot_id));
	lockdown_mode(o->lockdown_path ? o->lockdown_path : "/sys/kernel/security/lockdown", res->lockdown,
		      sizeof(res->lockdown));
	if (vigil_iomem_read(o->iomem_path ? o->iomem_path : "/proc/iomem", &res->ram, &res->n_ram, &ie))
		copy_cut(res->iomem_error, sizeof(res->iomem_error), ie.msg);
	if (o->method != VIGIL_MEMDUMP_KCORE)
		lime_ok = lime_ready(o, res);
	else
		snprintf(res->why_not_lime, sizeof(res->why_not_lime), "not asked (--method kcore)");
	if (o->method == VIGIL_MEMDUMP_LIME) {
		snprintf(res->why_not_kcore, sizeof(res->why_not_kcore), "not asked (--method lime)");
		rc = lime_ok ? vigil_err_set(err, lime_ok, "lime: %s", res->why_not_lime) : run_lime(o, out, &g, res, err);
		goto out;
	}
	if (o->method == VIGIL_MEMDUMP_AUTO && !lime_ok) {
		rc = run_lime(o, out, &g, res, err);
		/* LiME's file mode wrote the file once it loaded: no going back either */
		if (!rc || vigil_lime_out_bytes(out) || (o->lime_file && res->lime.loaded)) {
			snprintf(res->why_not_kcore, sizeof(res->why_not_kcore), "not needed: lime ran");
			goto out;
		}
		copy_cut(res->why_not_lime, sizeof(res->why_not_lime), "lime failed before any byte: ");
		copy_cut(res->why_not_lime + strlen(res->why_not_lime),
			 sizeof(res->why_not_lime) - strlen(res->why_not_lime), err->msg);
		res->method = 0;
	}
	kcore_ok = kcore_ready(o, res);
	if (kcore_ok) {
		if (o->method == VIGIL_MEMDUMP_AUTO)
			rc = vigil_err_set(err, kcore_ok, "no method can run: lime: %s; kcore: %s",
					   res->why_not_lime, res->why_not_kcore);
		else
			rc = vigil_err_set(err, kcore_ok, "kcore: %s", res->why_not_kcore);
		goto out;
	}
	vigil_iomem_limit(res->ram, &res->n_ram, o->max_bytes);
	res->method = VIGIL_MEMDUMP_KCORE;
	rc = vigil_kcore_dump(o->kcore_path ? o->kcore_path : "/proc/kcore", res->ram, res->n_ram, out,
			      &res->kcore, err);
out:
	if (res->method) {
		struct vigil_err ve = { "" };
		int vrc = vigil_lime_out_finish(out, res->sha256, &ve);

		keep_verdict(res, out);
		res->valid = vrc == 0;
		copy_cut(res->verdict, sizeof(res->verdict), vrc ? ve.msg : "valid");
		if (!rc && vrc)
			rc = vigil_err_set(err, vrc, "the dump does not validate: %s", ve.msg);
		if (!rc && res->method == VIGIL_MEMDUMP_LIME && strcmp(res->lime.lime_digest, res->sha256))
			rc = vigil_err_set(err, -EBADMSG, "LiME's digest %s differs from ours %s",
					   res->lime.lime_digest, res->sha256);
	}
	vigil_lime_out_free(out);
	return rc;
}

void vigil_memdump_result_free(struct vigil_memdump_result *res)
{
	if (!res)
		return;
	vigil_kcore_result_free(&res->kcore);
	free(res->ram);
	free(res->ranges);
	free(res->gaps);
	res->ram = res->ranges = res->gaps = NULL;
}
