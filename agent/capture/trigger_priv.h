/* trigger_priv.h - shared by agent/capture/trigger*.c only. */
#ifndef VIGIL_TRIGGER_PRIV_H
#define VIGIL_TRIGGER_PRIV_H

#include "vigil/capture.h"
#include "vigil/config.h"
#include "vigil/memdump.h"

/* trigger_cfg.c: the triggers' own copy of what they read of the config (a
 * reload frees the daemon's); NULL when out of memory. */
struct vigil_config *trigger_cfg_copy(const struct vigil_config *cfg);
void trigger_cfg_free(struct vigil_config *c);

/* A capture job's memory options (`memory: true`, `vigil ctl capture
 * --memory`): capture.memory_method, .lime_mode, .lime_module,
 * .memory_timeout, with copies of the strings the job owns.  The test knob
 * VIGIL_TEST_MEMORY_FIXTURES=DIR (environment, as the other VIGIL_TEST_
 * knobs) reads DIR/kcore, DIR/iomem, DIR/lockdown and DIR/modules instead of
 * the kernel's (`vigil capture`'s --kcore --iomem --lockdown --modules-root). */
struct trigger_mem {
	struct vigil_memdump_opts o;
	char *module, *kcore, *iomem, *lockdown, *modules_root;
};
int trigger_mem_init(struct trigger_mem *m, const struct vigil_config *cfg);
void trigger_mem_clear(struct trigger_mem *m);

/* trigger_sweep.c: the sweep of interrupted captures (vigil_evw_sweep_ledger,
 * archives checked) on a thread of its own.  start: *s made on first use;
 * while one runs, one more is run after it (a reload).  notify(arg) is
 * called from the thread when it has something to say; the loop thread then
 * calls drain, which hands each outcome to fn and joins a finished sweep.
 * free waits for a running sweep, drains, frees (s may be NULL). */
struct trigger_sweeper;
int trigger_sweep_start(struct trigger_sweeper **s, const char *state_dir, const char *dir,
			void (*notify)(void *arg), void *arg);
void trigger_sweep_drain(struct trigger_sweeper *s, vigil_evw_sweep_fn fn, void *arg);
void trigger_sweep_free(struct trigger_sweeper *s, vigil_evw_sweep_fn fn, void *arg);

#endif
