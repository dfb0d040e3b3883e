/* trigger_cfg.c - what the capture triggers keep of the config: their copy
 * of the rules and capture keys (running captures and the rules outlive a
 * reload of the daemon's config), and the memory options a job's capture
 * gets. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trigger_priv.h"

static void strv_free(struct vigil_strv *v)
{
	for (size_t k = 0; k < v->n; k++)
		free(v->v[k]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

/* 0, or 1 when out of memory (d then holds what was copied: strv_free it). */
static int strv_copy(struct vigil_strv *d, const struct vigil_strv *s)
{
	d->n = 0;
	d->v = calloc(s->n + 1, sizeof(char *));
	if (!d->v)
		return 1;
	for (; d->n < s->n; d->n++)
		if (!(d->v[d->n] = strdup(s->v[d->n])))
			return 1;
	return 0;
}

void trigger_cfg_free(struct vigil_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_triggers; i++) {
		free(c->triggers[i].name);
		free(c->triggers[i].action);
		free(c->triggers[i].scope);
		strv_free(&c->triggers[i].paths);
		strv_free(&c->triggers[i].containers);
	}
	free(c->triggers);
	free(c->evidence_dir);
	free(c->capture_data_root);
	free(c->capture_lime_module);
	free(c->state_dir);
	free(c);
}

#define DUP(dst, src) ((src) && !((dst) = strdup(src)))

struct vigil_config *trigger_cfg_copy(const struct vigil_config *cfg)
{
	struct vigil_config *c = calloc(1, sizeof(*c));
	int bad = !c;

	if (bad)
		return NULL;
	c->capture_min_free = cfg->capture_min_free;
	c->capture_quota = cfg->capture_quota;
	c->capture_max_file_size = cfg->capture_max_file_size;
	c->capture_max_concurrent = cfg->capture_max_concurrent;
	c->capture_cooldown_s = cfg->capture_cooldown_s;
	c->capture_memory_method = cfg->capture_memory_method;
	c->capture_lime_file = cfg->capture_lime_file;
	c->capture_memory_timeout_s = cfg->capture_memory_timeout_s;
	bad = DUP(c->evidence_dir, cfg->evidence_dir) || DUP(c->state_dir, cfg->state_dir) ||
	      DUP(c->capture_data_root, cfg->capture_data_root) ||
	      DUP(c->capture_lime_module, cfg->capture_lime_module);
	c->triggers = calloc(cfg->n_triggers + 1, sizeof(*c->triggers));
	bad |= !c->triggers;
	for (size_t i = 0; !bad && i < cfg->n_triggers; i++) {
		const struct vigil_trigger *r = &cfg->triggers[i];
		struct vigil_trigger *d = &c->triggers[i];

		*d = *r;
		d->name = d->action = d->scope = NULL;
		d->paths = d->containers = (struct vigil_strv){ NULL, 0 };
		c->n_triggers++;
		bad = DUP(d->name, r->name) || DUP(d->action, r->action) || DUP(d->scope, r->scope) ||
		      strv_copy(&d->paths, &r->paths) || strv_copy(&d->containers, &r->containers);
	}
	if (bad) {
		trigger_cfg_free(c);
		return NULL;
	}
	return c;
}

/* DIR/name, malloc'd; 1 when out of memory. */
static int fixture(char **out, const char *dir, const char *name)
{
	if (!dir)
		return 0;
	return asprintf(out, "%s/%s", dir, name) < 0 ? (*out = NULL, 1) : 0;
}

int trigger_mem_init(struct trigger_mem *m, const struct vigil_config *cfg)
{
	const char *fix = secure_getenv("VIGIL_TEST_MEMORY_FIXTURES");
	int bad;

	memset(m, 0, sizeof(*m));
	m->o.method = cfg->capture_memory_method;
	m->o.timeout_ms = (cfg->capture_memory_timeout_s > 0 ? cfg->capture_memory_timeout_s : 600) * 1000;
	m->o.lime_file = cfg->capture_lime_file ? "" : NULL; /* capture_mem.c makes the spool's path */
	bad = DUP(m->module, cfg->capture_lime_module) || fixture(&m->kcore, fix, "kcore") ||
	      fixture(&m->iomem, fix, "iomem") || fixture(&m->lockdown, fix, "lockdown") ||
	      fixture(&m->modules_root, fix, "modules");
	if (bad) {
		trigger_mem_clear(m);
		return -ENOMEM;
	}
	m->o.module = m->module;
	m->o.kcore_path = m->kcore;
	m->o.iomem_path = m->iomem;
	m->o.lockdown_path = m->lockdown;
	m->o.modules_root = m->modules_root;
	return 0;
}

void trigger_mem_clear(struct trigger_mem *m)
{
	free(m->module);
	free(m->kcore);
	free(m->iomem);
	free(m->lockdown);
	free(m->modules_root);
	memset(m, 0, sizeof(*m));
}
