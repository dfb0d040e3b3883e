#!/bin/sh
# watch_lost.sh - files reported as added and then deleted while inotify's
# queue overflowed get file-removed from the rescan that follows: the rescan
# compares the disk with the baseline, where these paths are in neither, so
# the daemon must look again at what it reported.  A `ctl rescan` afterwards
# reports nothing twice; one after files were hidden by a mount (no inotify
# event at all) reports them removed.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

N=200
QF=/proc/sys/fs/inotify/max_queued_events
[ -w "$QF" ] || skip "cannot set $QF"
OLDQ=$(cat "$QF")
CLEANUP_EXTRA="echo $OLDQ > $QF"

mkdir -p "$TREE/b" "$STATE"
write_config
baseline
limits_exclusive
echo 256 > "$QF"
start_daemon
echo "$OLDQ" > "$QF"
limits_shared

mkdir "$TREE/x"
i=0; while [ $i -lt $N ]; do : > "$TREE/x/n$i"; i=$((i + 1)); done
wait_for "\"path\":\"$TREE/x/n" $N "$STARTUP_S" || fail "the $N new files were not all reported"
kill -STOP "$DAEMON_PID"
rm "$TREE"/x/n*
python3 -c 'import sys
for i in range(3000): open(f"{sys.argv[1]}/b/o{i}", "w").close()' "$TREE"
kill -CONT "$DAEMON_PID"
wait_for '"action":"watch-overflow"' 1 "$STARTUP_S" || fail "no overflow (queue of 256 vs 3,000 new files)"

# last ACTION of each x/n* path: all must be file-removed
last_added() {
	python3 - "$EV" "$TREE/x/" <<'PY'
import json, sys
last = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    p = e.get("file", {}).get("path", "")
    if p.startswith(sys.argv[2] + "n"):
        last[p] = e["event"]["action"]
print(sum(1 for a in last.values() if a != "file-removed"))
PY
}
for _ in $(seq $((STARTUP_S * 2))); do
	[ "$(last_added)" = 0 ] && break
	sleep 0.5
done
[ "$(last_added)" = 0 ] || fail "$(last_added) of $N deleted files never reported removed after the overflow rescan"
before=$(count '"action":"file-removed"')
ctl rescan >/dev/null || fail "ctl rescan failed"
sleep 3
[ "$(count '"action":"file-removed"')" = "$before" ] || fail "ctl rescan reported removals twice"

# `ctl rescan` alone: files reported as added, then hidden by a mount over
# their directory (inotify says nothing about a mount), are gone for the
# rescan that is asked for, which must report them removed.
command -v mount >/dev/null || skip "mount missing"
# idle: nothing queued or running (a rescan still running, slow under
# valgrind, would rightly find the hidden files itself)
idle() {
	python3 - "$VIGIL" "$CONF" "$SOCK" "$STARTUP_S" <<'PY' || fail "the daemon never became idle"
import json, subprocess, sys, time
end = time.time() + float(sys.argv[4])
while time.time() < end:
    r = subprocess.run([sys.argv[1], "--config", sys.argv[2], "ctl", "--socket", sys.argv[3], "status"],
                       capture_output=True, text=True)
    if r.returncode == 0 and json.loads(r.stdout)["queue"]["depth"] == 0:
        sys.exit(0)
    time.sleep(0.5)
sys.exit(1)
PY
}
mkdir "$TREE/y"
i=0; while [ $i -lt 20 ]; do : > "$TREE/y/m$i"; i=$((i + 1)); done
wait_for "\"path\":\"$TREE/y/m" 20 "$STARTUP_S" || fail "the 20 files in y were not reported"
idle
mount -t tmpfs -o size=64k tmpfs "$TREE/y" || skip "cannot mount tmpfs"
mounted "$TREE/y"
sleep 1
[ "$(n_events file-removed "$TREE/y/m0")" = 0 ] || fail "a removal reported before the rescan (the mount said nothing)"
ctl rescan >/dev/null || fail "ctl rescan failed"
for i in 0 7 19; do
	has_event file-removed "$TREE/y/m$i" "$STARTUP_S" || fail "ctl rescan did not report y/m$i removed"
done
stop_daemon
echo "watch_lost: ok"
