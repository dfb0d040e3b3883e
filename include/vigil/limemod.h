/* limemod.h - the LiME kernel module: find it, read its .modinfo, check its
 * vermagic against the running kernel, load it with finit_module(2), fetch
 * the dump over its TCP protocol, unload it with delete_module(2).
 *
 * Lifecycle of a run: vigil_limemod_find() -> vigil_limemod_modinfo() and
 * vigil_limemod_check_vermagic() (refuse a mismatch with the reason) ->
 * vigil_limemod_acquire(), which loads, streams into a vigil_lime_out pipe,
 * fetches LiME's own digest, and unloads whatever happened.
 * vigil_lime_tcp_fetch() is the client alone (tests run it against a LiME
 * protocol server of their own on 127.0.0.1).
 */
#ifndef VIGIL_LIMEMOD_H
#define VIGIL_LIMEMOD_H

#include <stddef.h>

#include "vigil/err.h"
#include "vigil/lime.h"

#define VIGIL_MODINFO_MAX 256

struct vigil_modinfo {
	char name[VIGIL_MODINFO_MAX];     /* "lime" */
	char vermagic[VIGIL_MODINFO_MAX]; /* "6.1.0-28-amd64 SMP preempt mod_unload modversions " */
	char version[VIGIL_MODINFO_MAX];
};

/* Reads the .modinfo section of the ELF64 module at path (a .ko, not
 * compressed: .ko.xz/.ko.zst are refused with that reason).  Bounded reads;
 * a hostile section table is refused.  0 or -errno, detail in err. */
int vigil_limemod_modinfo(const char *path, struct vigil_modinfo *mi, struct vigil_err *err);

/* The module to load: `configured` when set (it must exist), else the first
 * of MODDIR/updates/dkms/lime.ko, MODDIR/updates/lime.ko, MODDIR/extra/lime.ko
 * with MODDIR = moddir_root/lib/modules/RELEASE.  -ENOENT with the places
 * looked at in err. */
int vigil_limemod_find(const char *configured, const char *moddir_root, const char *release, char *out,
		       size_t outlen, struct vigil_err *err);

/* The running kernel's vermagic: that of an in-tree module of
 * moddir_root/lib/modules/RELEASE/kernel (any .ko; -ENOENT when none). */
int vigil_limemod_kernel_vermagic(const char *moddir_root, const char *release, char *out, size_t outlen,
				  struct vigil_err *err);

/* 0 when the module's vermagic fits: its first word is release, and it
 * equals kernel_vermagic (when known, else only the release is compared).
 * -ENOEXEC with the reason otherwise. */
int vigil_limemod_check_vermagic(const struct vigil_modinfo *mi, const char *release,
				 const char *kernel_vermagic, struct vigil_err *err);

/* LiME's TCP protocol on 127.0.0.1:port: the first connection carries the
 * whole stream (into out, raw), the second, when want_digest, LiME's SHA-256
 * in hex (into digest_hex).  Connections are retried until the listener is
 * up; each stage (connect, stream idle, digest) has timeout_ms.  `alive`,
 * when set, is polled while waiting: a non-zero return (the loader failed)
 * stops the wait.  0 or -errno (-ETIMEDOUT names the stage). */
struct vigil_lime_tcp {
	int port;
	int timeout_ms;
	int want_digest;
	int (*alive)(void *ctx); /* 0: keep waiting */
	void *alive_ctx;
};
int vigil_lime_tcp_fetch(const struct vigil_lime_tcp *t, struct vigil_lime_out *out, char digest_hex[65],
			 struct vigil_err *err);

/* What an acquisition through the module did on the host. */
struct vigil_limemod_run {
	int loaded, unloaded;
	int load_errno;  /* finit_module's errno, 0 when it loaded */
	char mode[8];    /* "tcp" or "file" */
	char lime_digest[65];
	char unload_error[128];
};

/* Loads path with `format=lime localhostonly=1 path=tcp:PORT digest=sha256`
 * (a free port is picked), fetches the stream into out and LiME's digest
 * into run->lime_digest, unloads the module (delete_module, whatever
 * happened).  The caller compares run->lime_digest with the pipe's SHA-256
 * (vigil_lime_out_finish).  0 or -errno. */
int vigil_limemod_acquire(const char *path, const char *modname, int timeout_ms, struct vigil_lime_out *out,
			  struct vigil_limemod_run *run, struct vigil_err *err);

/* The file mode: loads path with `format=lime path=FILE digest=sha256`;
 * LiME writes the dump to FILE and its digest to FILE.sha256 itself (FILE
 * absolute, without blanks or quotes: it travels as a module parameter; the
 * caller creates FILE, in the evidence dir; FILE.sha256 is created here
 * with O_EXCL so that LiME never writes through a planted name, and removed
 * once read).  The load returns when both are written; a file that stops
 * growing for timeout_ms is a timeout.  Then the module is unloaded, LiME's
 * digest goes into run->lime_digest and FILE is read through out (SHA-256
 * and validation; out's sink must not write FILE again).  0 or -errno. */
int vigil_limemod_acquire_file(const char *path, const char *modname, const char *file, int timeout_ms,
			       struct vigil_lime_out *out, struct vigil_limemod_run *run, struct vigil_err *err);

#endif
