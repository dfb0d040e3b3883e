/* daemon.h - `vigil watch` put together (agent/daemon/daemon.c): the watch
 * daemon (watch.h) with the modules plugged into it through its hooks.
 */
#ifndef VIGIL_DAEMON_H
#define VIGIL_DAEMON_H

#include "vigil/cli.h"

/* pid_file: NULL for the config's, "" for none.  Takes cli->cfg.  Runs until
 * SIGTERM/SIGINT; returns an exit code. */
int vigil_daemon_run(struct vigil_cli *cli, const char *pid_file);

#endif
