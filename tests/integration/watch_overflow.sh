#!/bin/sh
# watch_overflow.sh - 20,000 files made faster than a tiny inotify queue
# (fs.inotify.max_queued_events lowered for the daemon's instance, restored in
# the trap) are all reported after the overflow rescan, and no state twice
# (a file seen empty and then written is two states, so two events).
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

N=${N_FILES:-20000}
QF=/proc/sys/fs/inotify/max_queued_events
[ -w "$QF" ] || skip "cannot set $QF"
OLDQ=$(cat "$QF")
CLEANUP_EXTRA="echo $OLDQ > $QF"

mkdir -p "$TREE/d" "$STATE"
echo base > "$TREE/d/base"
write_config
baseline
# The limit is read when an inotify instance is made: only the daemon's gets it.
limits_exclusive
echo 64 > "$QF"
start_daemon
echo "$OLDQ" > "$QF"
limits_shared

python3 - "$TREE" "$N" <<'PY'
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
for d in range(20):  # new directories too: made while events are being lost
    os.mkdir(f"{top}/burst{d}")
for i in range(n):
    with open(f"{top}/burst{i % 20}/f{i}", "w") as f:
        f.write(str(i))
PY
wait_for '"action":"watch-overflow"' 1 30 || fail "no overflow reported (queue of 64 should overflow)"
python3 - "$EV" "$TREE" "$N" <<'PY' || fail "not every file was reported"
import json, sys, time
ev, top, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
want = {f"{top}/burst{i % 20}/f{i}" for i in range(n)}
end = time.time() + 300
while True:
    seen, states, dup = set(), set(), 0
    for line in open(ev):
        e = json.loads(line)
        f = e.get("file", {})
        p = f.get("path")
        if e["event"]["action"] == "file-added" and p in want:
            st = (p, f.get("size"), f.get("mtime"), json.dumps(f.get("hash")))
            dup += st in states
            states.add(st)
            seen.add(p)
    if len(seen) == n or time.time() > end:
        break
    time.sleep(1)
print(f"reported {len(seen)} of {n} new files, {dup} states twice")
sys.exit(0 if len(seen) == n and dup == 0 else 1)
PY
# Still watching the directories made during the overflow.
echo after > "$TREE/burst7/after"
has_event file-added "$TREE/burst7/after" || fail "a directory made during the overflow is not watched"
ctl status | grep -q '"overflows": [1-9]' || fail "status does not count the overflow"
stop_daemon
echo "watch_overflow: ok"
