#!/bin/sh
# watch_faults.sh - what goes wrong around a long-running daemon: a watched
# directory deleted and recreated, a watched file system unmounted, the output
# file's disk full, control clients that send garbage or hang, and the inotify
# watch limit.  (The read-only state dir: watch_rostate.sh.)
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

command -v mount >/dev/null || skip "mount missing"
WF=/proc/sys/fs/inotify/max_user_watches
OLDW=$(cat "$WF")
MNT_SUB=$T/tree/mnt
FULL=$T/full
CLEANUP_EXTRA="echo $OLDW > $WF"

mkdir -p "$TREE/victim/sub" "$TREE/mnt" "$STATE" "$FULL"
echo v > "$TREE/victim/sub/file"
mount -t tmpfs -o size=1m tmpfs "$MNT_SUB" || skip "cannot mount tmpfs"
mounted "$MNT_SUB"
echo inside > "$MNT_SUB/on-tmpfs"
mount -t tmpfs -o size=64k tmpfs "$FULL" || skip "cannot mount tmpfs"
mounted "$FULL"
SCOPE_EXTRA="    one_filesystem: false"
OUTPUTS_EXTRA="  - type: jsonl
    path: $FULL/events.jsonl"
write_config
baseline
start_daemon

# 1. A watched directory deleted and recreated.
rm -rf "$TREE/victim"
has_event file-removed "$TREE/victim/sub/file" || fail "removal in a deleted directory not reported"
mkdir -p "$TREE/victim/sub2"
echo again > "$TREE/victim/sub2/new"
has_event file-added "$TREE/victim/sub2/new" || fail "file in the recreated directory not reported"
echo later > "$TREE/victim/sub2/later"
has_event file-added "$TREE/victim/sub2/later" || fail "recreated directory not watched"

# 2. A watched file system unmounted.
umount "$MNT_SUB"
wait_for '"action":"watch-unmounted"' 1 || fail "unmount not reported"
has_event file-removed "$MNT_SUB/on-tmpfs" || fail "what the unmounted file system held not reported"
echo under > "$MNT_SUB/under"
has_event file-added "$MNT_SUB/under" || fail "the uncovered mount point is not watched"

# 3. The second output's disk fills up: events queued (1000 at most, the
# default backlog), the rest dropped and counted, no crash.
dd if=/dev/zero of="$FULL/filler" bs=1k count=40 2>/dev/null || true
python3 -c 'import sys
for i in range(1500): open(f"{sys.argv[1]}/fill{i}", "w").write("x")' "$TREE"
has_event file-added "$TREE/fill1499" 60 || fail "events stopped while a disk was full"
kill -0 "$DAEMON_PID" || fail "daemon died on a full disk"
ctl status > "$T/st.json" || fail "status"
python3 - "$T/st.json" <<'PY' || fail "a full disk is not visible in status"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["events"]["dropped"] > 0 and s["events"]["queued"] > 0, s["events"]
PY
rm -f "$FULL/filler"
echo free > "$TREE/after-free"
has_event file-added "$TREE/after-free" || fail "no event after space came back"
for _ in $(seq 100); do grep -q '"action":"output-dropped"' "$FULL/events.jsonl" && break; sleep 0.1; done
python3 - "$FULL/events.jsonl" <<'PY' || fail "the full disk's file is not one JSON object a line with a loss notice"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert any(e["event"]["action"] == "output-dropped" and e["vigil"]["dropped"] > 0 for e in lines)
PY

# 4. Control clients: garbage gets an error, too much garbage or a huge line
# closes the connection, a silent client is dropped, the daemon stays.
python3 - "$SOCK" <<'PY' || fail "control socket misbehaves with bad clients"
import json, socket, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(20)
    return s
s = conn()
s.sendall(b"garbage\n")
r = json.loads(s.makefile().readline())
assert r["ok"] is False and "JSON" in r["error"], r
s.sendall(b'{"cmd":"nope"}\n')
assert "unknown command" in json.loads(s.makefile().readline())["error"]
s.sendall(b"\x00\xff{{\n")
f = s.makefile()
f.readline()
assert f.readline() == "", "not closed after 3 bad requests"
s = conn()
s.sendall(b"x" * 10000)
f = s.makefile(errors="replace")
assert "too long" in f.readline()
assert f.readline() == ""
hung = conn()   # says nothing
s = conn()
s.sendall(b'{"cmd":"status"}\n')
assert json.loads(s.makefile().readline())["ok"] is True
t = time.time()
assert hung.recv(10) == b"", "silent client not closed"
assert time.time() - t < 20
PY
kill -0 "$DAEMON_PID" || fail "daemon died on bad control clients"

# 5. The watch limit: new directories cannot be watched; that is said, and
# what is not watched is scanned every rescan interval.
stop_daemon
RESCAN_INTERVAL=1
write_config
start_daemon
limits_exclusive
echo 1 > "$WF"   # below what root holds already: every new watch fails
mkdir -p "$TREE/nowatch/deep"
wait_for '"action":"watch-limit"' 1 || fail "watch limit not reported"
grep -F 'max_user_watches' "$EV" >/dev/null || fail "no advice on fs.inotify.max_user_watches"
echo x > "$TREE/nowatch/deep/unseen"
has_event file-added "$TREE/nowatch/deep/unseen" 30 || fail "unwatched directory not scanned"
echo "$OLDW" > "$WF"
stop_daemon
echo "watch_faults: ok"
