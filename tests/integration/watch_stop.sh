#!/bin/sh
# watch_stop.sh - SIGTERM at the worst moment: an output's disk is full with
# events queued for it, thousands of changes are still being evaluated, and a
# check is hashing a tree far too large to finish (sparse files: minutes of
# SHA-256, no disk space).  The daemon must stop in bounded time: the check
# cancelled, what it could not evaluate or write counted and said in its log,
# the pid file removed, no process left (the recorded pid) and the full file
# system unmountable (watch_lib's trap fails the test otherwise).
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

command -v mount >/dev/null || skip "mount missing"
command -v truncate >/dev/null || skip "truncate missing"
FULL=$T/full
mkdir -p "$TREE/small" "$STATE" "$FULL"
mount -t tmpfs -o size=64k tmpfs "$FULL" || skip "cannot mount tmpfs"
mounted "$FULL"
OUTPUTS_EXTRA="  - type: jsonl
    path: $FULL/events.jsonl"
write_config
baseline
# After the baseline and before the daemon: only the check reads them.
mkdir "$TREE/big"
for i in $(seq 256); do truncate -s 1G "$TREE/big/f$i" || skip "cannot make sparse files"; done
STARTUP_WAIT=no start_daemon # its comparison at start hashes them too

dd if=/dev/zero of="$FULL/filler" bs=1k count=64 2>/dev/null || true
python3 -c 'import sys
for i in range(3000): open(f"{sys.argv[1]}/small/f{i}", "w").write("x")' "$TREE"
has_event file-added "$TREE/small/f0" 60 || fail "no event for the new files"
ctl check > "$T/check.out" 2>&1 &
CHECK_PID=$!
CLEANUP_EXTRA="kill $CHECK_PID 2>/dev/null"
python3 - "$VIGIL" "$CONF" "$SOCK" <<'PY' || fail "no check running with events queued for the full disk"
import json, subprocess, sys, time
end = time.time() + 60
while time.time() < end:
    r = subprocess.run([sys.argv[1], "--config", sys.argv[2], "ctl", "--socket", sys.argv[3], "status"],
                       capture_output=True, text=True)
    if r.returncode == 0:
        s = json.loads(r.stdout)
        if s["queue"]["slow_jobs"] > 0 and s["events"]["queued"] > 0:
            sys.exit(0)
    time.sleep(0.2)
sys.exit(1)
PY

kill -TERM "$DAEMON_PID"
gone_within "$DAEMON_PID" 30 || fail "still running 30 s after SIGTERM"
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PIDS=""
[ "$rc" -eq 0 ] || { cat "$T/daemon.log" >&2; fail "daemon exited with $rc"; }
[ ! -f "$PIDF" ] || fail "pid file left behind"
wait "$CHECK_PID" 2>/dev/null || true
grep -q "could not be written to '$FULL/events.jsonl' before stopping" "$T/daemon.log" ||
	{ cat "$T/daemon.log" >&2; fail "the events lost on the full disk are not said in the log"; }
wait_for '"action":"watch-stopped"' 1 1 || fail "no watch-stopped event"
# The full file system is not held any more.
umount "$FULL" || fail "the full file system is still in use after the daemon stopped"
echo "watch_stop: ok"
