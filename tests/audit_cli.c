/* audit_cli.c - the audit commands without the rest of vigil, for the
 * integration tests while the `vigil` binary is not built on this branch
 * (its foundation modules are merged elsewhere).  It calls the same command
 * functions agent/main.c dispatches to, with the embedded-default config
 * replaced by none (no critical scopes). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "vigil/cli.h"
#include "vigil/err.h"

/* Until agent/config.c is on main: event.c names severities through it.  Weak,
 * so the real one wins as soon as it is linked. */
__attribute__((weak)) const char *vigil_severity_name(int sev)
{
	static const char *const names[] = { "none", "low", "medium", "high", "critical" };

	return sev >= 0 && sev <= 4 ? names[sev] : "none";
}

int main(int argc, char **argv)
{
	struct vigil_cli cli = { 0 };
	int i = 1;

	vigil_log_set_level(VIGIL_LOG_NOTICE);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--root") && i + 1 < argc)
			cli.root = argv[++i];
		else if (!strcmp(argv[i], "-v"))
			vigil_log_set_level(VIGIL_LOG_DEBUG);
		else if (!strcmp(argv[i], "-q"))
			cli.quiet = 1;
		else
			break;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: audit_cli [--root DIR] rules|audit-plugin|audit-tail ...\n");
		return 2;
	}
	if (!strcmp(argv[i], "rules"))
		return vigil_cmd_rules(&cli, argc - i, argv + i);
	if (!strcmp(argv[i], "audit-plugin"))
		return vigil_cmd_audit_plugin(&cli, argc - i, argv + i);
	if (!strcmp(argv[i], "audit-tail"))
		return vigil_cmd_audit_tail(&cli, argc - i, argv + i);
	fprintf(stderr, "audit_cli: unknown command '%s'\n", argv[i]);
	return 2;
}
