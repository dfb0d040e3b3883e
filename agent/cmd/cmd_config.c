/* cmd_config.c - `vigil check-config [--print-default]`: main() has already
 * loaded (and so validated) the config; this says which config it is (a
 * --config file, the installed one, or the embedded default), warns about the
 * traps vigil_scope_lint() finds (a scope shadowing a later one), or prints
 * the embedded default so it can be copied and edited. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "vigil/cli.h"
#include "vigil/config.h"
#include "vigil/err.h"
#include "vigil/scope.h"

/* Which config this is: a --config file, the installed one, or the embedded
 * default (and where the installed one would be). */
static void print_source(const struct vigil_cli *cli, const struct vigil_config *cfg)
{
	const char *installed = vigil_config_installed_file();
	const char *s = cfg->n_scopes == 1 ? "" : "s";

	if (cli->config_file)
		printf("config OK: %s, %zu scope%s\n", cfg->source, cfg->n_scopes, s);
	else if (!strcmp(cfg->source, VIGIL_CONFIG_EMBEDDED))
		printf("config OK: embedded default (no %s), %zu scope%s\n", installed, cfg->n_scopes, s);
	else
		printf("config OK: %s (the installed config), %zu scope%s\n", cfg->source, cfg->n_scopes, s);
}

static void lint_cb(void *arg, int is_warning, const char *msg)
{
	(void)arg;
	vigil_log(is_warning ? VIGIL_LOG_WARNING : VIGIL_LOG_NOTICE, "%s", msg);
}

int vigil_cmd_check_config(struct vigil_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "print-default", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vigil_config *own = NULL;
	const struct vigil_config *cfg = cli->cfg;
	struct vigil_err err = { "" };
	int c, print_default = 0, rc;

	while ((c = getopt_long(argc, argv, "ph", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			print_default = 1;
			break;
		case 'h':
			printf("usage: vigil [--config FILE] check-config [--print-default]\n");
			return VIGIL_EXIT_OK;
		default:
			return VIGIL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		vigil_log_err("check-config: unexpected argument '%s'", argv[optind]);
		return VIGIL_EXIT_USAGE;
	}
	if (print_default) {
		const char *text = vigil_config_default_text();

		if (fwrite(text, 1, strlen(text), stdout) != strlen(text) || fflush(stdout)) {
			vigil_log_err("check-config: writing to stdout failed");
			return VIGIL_EXIT_FAIL;
		}
		return VIGIL_EXIT_OK;
	}
	/* main() loads the config for commands that need one; load it here too
	 * when called some other way, so the command never reports on nothing. */
	if (!cfg) {
		rc = vigil_config_load(cli->config_file, &own, &err);
		if (rc) {
			vigil_log_err("%s", err.msg);
			return rc == -ENOMEM ? VIGIL_EXIT_FAIL : VIGIL_EXIT_USAGE;
		}
		cfg = own;
	}
	print_source(cli, cfg);
	vigil_scope_lint(cfg, lint_cb, NULL);
	vigil_config_free(own);
	return VIGIL_EXIT_OK;
}
