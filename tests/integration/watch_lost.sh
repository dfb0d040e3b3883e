#!/bin/sh
# watch_lost.sh - files reported as added and then deleted while inotify's
# queue overflowed get file-removed from the rescan that follows: the rescan
# compares the disk with the baseline, where these paths are in neither, so
# the daemon must look again at what it reported.  A `ctl rescan` afterwards
# reports nothing twice.
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
stop_daemon
echo "watch_lost: ok"
