#!/bin/sh
# watch_stale.sh - a rescan reads the tree long before it compares it (it
# walks everything first; a big sparse file makes that long).  Files written
# just after the walk read them are reported by the path worker meanwhile, so
# the rescan holds older states than the ones already reported: it must not
# report them again.  Every state of every file once, and each file's last
# event is its final content.  The writes start when the walk opens the
# directory (seen with inotifywait), nothing is timed; the old daemon reported
# thousands of states twice here.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

# watch_open OUT LOG: inotifywait on a/ in the background (pid in IP), until
# its watch is set.  Retried: watch_faults.sh briefly sets
# fs.inotify.max_user_watches to 1, and may run at the same time (20 s at most).
watch_open() {
	for _ in $(seq 200); do
		inotifywait -t 60 -e open,close_nowrite "$TREE/a" > "$1" 2> "$2" &
		IP=$!
		while kill -0 "$IP" 2>/dev/null && ! grep -qF "Watches established" "$2"; do
			sleep 0.05
		done
		grep -qF "Watches established" "$2" && return 0
		wait "$IP" || true
		sleep 0.1
	done
	return 1
}

command -v inotifywait >/dev/null || skip "inotifywait missing (inotify-tools)"
IP=
CLEANUP_EXTRA='[ -n "$IP" ] && kill "$IP" 2>/dev/null'
N=${N_FILES:-3000}
ROUNDS=3
DEBOUNCE_MS=50
# A directory the daemon could not watch (watch_faults.sh may hold
# max_user_watches at 1 as it starts) is retried every second, not 300.
RESCAN_INTERVAL=1
mkdir -p "$TREE/a" "$STATE"
write_config
baseline
# Hashing it keeps each rescan's compare well after its walk read a/ (sparse:
# no disk; made after the baseline, so only the rescans hash it).
truncate -s "${BIG:-1G}" "$TREE/big" || skip "cannot make a sparse file in $TREE"
start_daemon
python3 - "$TREE" "$N" <<'PY'
import sys
top, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    open(f"{top}/a/f{i}", "w").close()
PY
python3 - "$EV" "$TREE" "$N" <<'PY' || fail "the empty files were not all reported"
import json, sys, time
ev, top, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
want = {f"{top}/a/f{i}" for i in range(n)}
end = time.time() + 60
while time.time() < end:
    seen = {json.loads(l).get("file", {}).get("path") for l in open(ev)}
    if want <= seen:
        sys.exit(0)
    time.sleep(0.2)
sys.exit(1)
PY
for r in $(seq $ROUNDS); do
	# Appended to as soon as the rescan starts reading a/ (the daemon's walk
	# opens it; nothing else reads there now): the walk reads many files
	# before their write, the path worker reports the writes meanwhile.
	watch_open "$T/walked.$r" "$T/inw.$r" || fail "inotifywait did not start: $(cat "$T/inw.$r")"
	ctl rescan > "$T/rescan.$r" &
	RP=$!
	wait "$IP" || fail "the rescan did not read $TREE/a: $(cat "$T/inw.$r")"
	python3 - "$TREE" "$N" "$r" <<'PY'
import sys
top, n, r = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(n):
    with open(f"{top}/a/f{i}", "a") as f:
        f.write(r)
PY
	wait "$RP" || fail "ctl rescan failed: $(cat "$T/rescan.$r")"
done
# A last rescan after every write: it must find nothing left to report.
ctl rescan > "$T/rescan.last" || fail "ctl rescan failed"
# Until nothing is pending, queued, being compared or waiting to be written,
# so that a late report of an old state is in the file when it is read.
idle=0
for _ in $(seq 1200); do
	ctl status 2>/dev/null | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["queue"]["depth"] != 0)' \
		&& { idle=1; break; }
	sleep 0.1
done
[ "$idle" = 1 ] || fail "the daemon did not become idle: $(ctl status)"
python3 - "$EV" "$TREE" "$N" "$ROUNDS" <<'PY' || fail "a state reported twice or a final state not reported last"
import json, sys
ev, top, n, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
final = {f"{top}/a/f{i}": rounds for i in range(n)}  # one byte per round
states, last, twice = set(), {}, 0
for line in open(ev):
    e = json.loads(line)
    f = e.get("file", {})
    p = f.get("path")
    if p in final and e["event"]["action"].startswith("file-"):
        st = (p, f.get("size"), f.get("mtime"), json.dumps(f.get("hash")))
        twice += st in states
        states.add(st)
        last[p] = f.get("size")
stale = sum(last.get(p) != size for p, size in final.items())
print(f"{len(states)} states of {n} files, {twice} reported twice, "
      f"{stale} files whose last event is not their final state")
sys.exit(1 if twice or stale else 0)
PY
stop_daemon
echo "watch_stale: ok"
