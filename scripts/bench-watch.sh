#!/bin/sh
# bench-watch.sh - figures for `vigil watch` (README "The watch daemon"):
#   time to be ready on FILES files in DIRS directories, against
#   `inotifywait -m -r` on the same tree; idle RSS; idle wake-ups over a
#   minute; write-to-event latency (median, p99) over 1,000 single-file
#   changes at the default debounce; a burst of BURST changes, all reported,
#   peak RSS.  Not a test: it prints numbers.  Needs root.
# Usage: scripts/bench-watch.sh [VIGIL] (env FILES=100000 DIRS=10000 BURST=50000 IDLE_S=60)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
VIGIL=${1:-${VIGIL:-$top/build/vigil}}
FILES=${FILES:-100000}
DIRS=${DIRS:-10000}
BURST=${BURST:-50000}
IDLE_S=${IDLE_S:-60}
LAT_N=${LAT_N:-1000}
command -v inotifywait >/dev/null || { echo "inotifywait missing (apt-get install inotify-tools)" >&2; exit 1; }
T=$(mktemp -d /tmp/vigil-bench.XXXXXX)
OLDW=$(cat /proc/sys/fs/inotify/max_user_watches)
cleanup() {
	[ -f "$T/pid" ] && kill "$(cat "$T/pid")" 2>/dev/null
	sleep 0.5
	echo "$OLDW" > /proc/sys/fs/inotify/max_user_watches
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
[ "$OLDW" -ge $((DIRS * 2)) ] || echo $((DIRS * 4)) > /proc/sys/fs/inotify/max_user_watches

echo "== tree: $FILES files in $DIRS directories" >&2
python3 - "$T/tree" "$FILES" "$DIRS" <<'PY'
import os, sys
top, files, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = max(1, dirs // 100)
for d in range(dirs):
    os.makedirs(f"{top}/g{d // per}/d{d}", exist_ok=True)
for i in range(files):
    with open(f"{top}/g{(i % dirs) // per}/d{i % dirs}/f{i}", "w") as f:
        f.write(f"content {i}\n")
PY
mkdir -p "$T/state"
cat > "$T/vigil.yaml" <<EOC
state_dir: $T/state
scopes:
  - name: bench
    paths: [$T/tree]
    watch: true
watch:
  control_socket: $T/ctl.sock
  pid_file: $T/pid
outputs:
  - type: jsonl
    path: $T/events.jsonl
schedule: []
audit:
  enabled: false
EOC
"$VIGIL" --config "$T/vigil.yaml" -q baseline

# Ready: from start to the watch-started event (every watch in place).
t0=$(date +%s%N)
"$VIGIL" --config "$T/vigil.yaml" watch 2>"$T/daemon.log" &
until grep -q '"watch-started"' "$T/events.jsonl" 2>/dev/null; do sleep 0.01; done
t1=$(date +%s%N)
ready_ms=$(( (t1 - t0) / 1000000 ))
# inotifywait says "Watches established." on stderr once it is ready.
iw_ms=$(
	python3 - "$T/tree" <<'PY'
import subprocess, sys, time, os
t = time.time()
p = subprocess.Popen(["inotifywait", "-m", "-r", sys.argv[1]], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
for line in p.stderr:
    if "Watches established" in line:
        break
print(int((time.time() - t) * 1000))
p.kill()
PY
)
pid=$(cat "$T/pid")
status() { "$VIGIL" --config "$T/vigil.yaml" ctl --socket "$T/ctl.sock" status; }
sleep 2
rss=$(status | python3 -c 'import json,sys; print(json.load(sys.stdin)["rss_kb"])')
watches=$(status | python3 -c 'import json,sys; print(json.load(sys.stdin)["watches"])')

# Idle: voluntary + involuntary context switches of every thread over IDLE_S.
ctx() { cat /proc/"$pid"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}'; }
c0=$(ctx); cpu0=$(awk '{print $14 + $15}' /proc/"$pid"/stat)
sleep "$IDLE_S"
c1=$(ctx); cpu1=$(awk '{print $14 + $15}' /proc/"$pid"/stat)
wakeups=$((c1 - c0))
idle_ticks=$((cpu1 - cpu0))

# Latency: one file changed at a time, time until its event is in the file.
lat=$(python3 - "$T/tree" "$T/events.jsonl" "$LAT_N" "$DIRS" <<'PY'
import os, sys, time
top, ev, n, dirs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
per = max(1, dirs // 100)
f = open(ev); f.seek(0, 2)
lat = []
for i in range(n):
    d = (i * 7) % dirs
    path = f"{top}/g{d // per}/d{d}/f{d}"
    t = time.monotonic()
    with open(path, "a") as w:
        w.write("x")
    needle = f'"path":"{path}"'
    buf = ""
    while True:
        buf += f.read()
        if needle in buf:
            break
        time.sleep(0.002)
    lat.append(time.monotonic() - t)
lat.sort()
print(f"{lat[len(lat)//2]*1000:.0f} {lat[int(len(lat)*0.99)]*1000:.0f}")
PY
)

# Burst: BURST files changed at once; all reported; peak RSS.
t0=$(date +%s%N)
python3 - "$T/tree" "$BURST" "$DIRS" <<'PY'
import sys
top, n, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = max(1, dirs // 100)
for i in range(n):
    d = i % dirs
    with open(f"{top}/g{d // per}/d{d}/burst{i}", "w") as w:
        w.write("b")
PY
python3 - "$T/events.jsonl" "$BURST" <<'PY'
import sys, time, re
ev, n = sys.argv[1], int(sys.argv[2])
pat = re.compile(r'"path":"[^"]*/burst(\d+)"')
seen = set()
f = open(ev)
end = time.time() + 900
while len(seen) < n and time.time() < end:
    chunk = f.read()
    if not chunk:
        time.sleep(0.2)
        continue
    seen.update(pat.findall(chunk))
print(f"burst: {len(seen)} of {n} new files reported", file=sys.stderr)
sys.exit(0 if len(seen) == n else 1)
PY
t1=$(date +%s%N)
burst_s=$(( (t1 - t0) / 1000000 ))
peak=$(awk '/VmHWM/ {print $2}' /proc/"$pid"/status)
overflows=$(status | python3 -c 'import json,sys; print(json.load(sys.stdin)["overflows"])')

cat <<EOR
vigil watch benchmark ($(nproc) cores, $(uname -r))
  tree                      $FILES files, $DIRS directories ($watches watches)
  ready (all watches)       ${ready_ms} ms   (inotifywait -m -r: ${iw_ms} ms)
  idle RSS                  ${rss} kB
  idle over ${IDLE_S} s         ${wakeups} context switches, ${idle_ticks} CPU ticks
  latency write -> event    median $(echo $lat | cut -d' ' -f1) ms, p99 $(echo $lat | cut -d' ' -f2) ms (n=$LAT_N, default debounce)
  burst of $BURST           all reported in $(( burst_s / 1000 )).$(( burst_s % 1000 / 100 )) s, $overflows overflow(s), peak RSS ${peak} kB
EOR
