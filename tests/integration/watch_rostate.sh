#!/bin/sh
# watch_rostate.sh - the state dir read-only (a bind mount, as under
# ProtectSystem=strict without ReadWritePaths): the daemon only reads the
# baseline, so it runs and reports; a scheduled baseline that cannot be
# written is an event, not a crash.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

mkdir -p "$TREE/d" "$STATE"
echo a > "$TREE/d/a"
write_config
baseline
mount --bind "$STATE" "$STATE" || skip "cannot bind-mount"
mounted "$STATE"
mount -o remount,bind,ro "$STATE" || skip "cannot make a bind mount read-only"
sed -i 's/^schedule: \[\]/schedule:\n  - action: baseline\n    every: 2s/' "$CONF"
start_daemon
echo b >> "$TREE/d/a"
has_event file-changed "$TREE/d/a" || fail "no event with a read-only state dir"
wait_for '"action":"baseline-failed"' 1 30 || fail "a baseline that cannot be written is not reported"
kill -0 "$DAEMON_PID" || fail "daemon died"
stop_daemon
echo "watch_rostate: ok"
