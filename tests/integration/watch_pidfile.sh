#!/bin/sh
# watch_pidfile.sh - the pid file named in the config (not on the command
# line) holds the daemon's pid while it runs and is gone after SIGTERM.  The
# daemon used to unlink() the path after freeing the config that held it (a
# root daemon unlinking heap garbage, the pid file left behind); ASan does not
# see that (it does not intercept unlink), valgrind does: run this test with
# VIGIL_VALGRIND=1 too (make check-valgrind).
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

mkdir -p "$TREE" "$STATE"
echo a > "$TREE/a"
write_config
baseline
PIDFILE_OPT=no start_daemon
[ -f "$PIDF" ] || fail "no pid file '$PIDF' while the daemon runs"
[ "$(cat "$PIDF")" = "$DAEMON_PID" ] || fail "pid file holds '$(cat "$PIDF")', the daemon is $DAEMON_PID"
# a reload frees the config the path came from once more (and the state
# dir's path, which the daemon used after a reload too: a check reads it)
kill -HUP "$DAEMON_PID"
wait_for '"action":"config-reloaded"' 1 "$STARTUP_S" || fail "no reload"
echo b > "$TREE/b"
has_event file-added "$TREE/b" "$STARTUP_S" || fail "no event after the reload"
rc=0; ctl check >/dev/null || rc=$?
[ $rc -eq 1 ] || fail "ctl check after a reload: exit $rc, expected 1"
stop_daemon # fails when the pid file is left behind
echo "watch_pidfile: ok"
