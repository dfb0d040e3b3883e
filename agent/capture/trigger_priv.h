/* trigger_priv.h - shared by agent/capture/trigger*.c only. */
#ifndef VIGIL_TRIGGER_PRIV_H
#define VIGIL_TRIGGER_PRIV_H

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

#endif
