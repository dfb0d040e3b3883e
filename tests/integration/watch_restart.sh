#!/bin/sh
# watch_restart.sh - changes made while the daemon was not running (killed
# with SIGKILL) are reported when it starts again, by one comparison of every
# scope with the baseline in the background (Samhain does the same), summed
# up in a startup-check event; the daemon answers its socket meanwhile.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

mkdir -p "$TREE/d" "$STATE" "$T/cold"
echo keep > "$TREE/d/changed"
echo gone > "$TREE/d/removed"
echo cold > "$T/cold/file"
# a scope the daemon does not watch: compared at start too
SCOPE_EXTRA="  - name: cold
    paths: [$T/cold]
    watch: false"
write_config
baseline
start_daemon
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
echo evil > "$TREE/d/dropped"
echo tampered >> "$TREE/d/changed"
rm "$TREE/d/removed"
echo warm >> "$T/cold/file"
: > "$EV"
start_daemon
has_event file-added "$TREE/d/dropped" "$STARTUP_S" || fail "file added while down not reported"
has_event file-changed "$TREE/d/changed" "$STARTUP_S" || fail "file changed while down not reported"
has_event file-removed "$TREE/d/removed" "$STARTUP_S" || fail "file removed while down not reported"
has_event file-changed "$T/cold/file" "$STARTUP_S" || fail "change in an unwatched scope not reported"
wait_for '"action":"startup-check"' 1 "$STARTUP_S" || fail "no startup-check summary"
grep -F '"action":"startup-check"' "$EV" | grep -q '"added":1' || fail "startup-check summary wrong"
[ "$(n_events file-added "$TREE/d/dropped")" -eq 1 ] || fail "the startup comparison reported a file twice"
# later changes as usual, and no second report of the startup ones
echo later > "$TREE/d/later"
has_event file-added "$TREE/d/later" "$STARTUP_S" || fail "no event after the startup comparison"
[ "$(n_events file-added "$TREE/d/dropped")" -eq 1 ] || fail "reported twice"
stop_daemon
echo "watch_restart: ok"
