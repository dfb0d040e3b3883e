#!/bin/sh
# Audit benchmark (not a timed test): with vigil's rules loaded and its audit
# reader running, 100,000 file writes in an audited directory and 10,000
# execs on the host.  Reports the reader's CPU time and peak RSS, audit
# events it parsed, records lost (kernel counter, socket overflows), and the
# workload's slowdown against the same workload with no vigil rule.
#   scripts/bench-audit.sh [BUILD_DIR]      (root; restores the audit state)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
V=$build/vigil
[ -x "$V" ] || { echo "bench-audit: build first (no $V)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bench-audit: needs root" >&2; exit 2; }
# the audit tests' lock: one user of the host's audit state at a time
exec 9>"${TMPDIR:-/tmp}/vigil-audit-tests.lock"
flock 9
WRITES=${WRITES:-100000}
EXECS=${EXECS:-10000}
RUNS=${RUNS:-3}
D=$(mktemp -d /tmp/vigil-bench-audit.XXXXXX)
was=$(auditctl -s | awk '$1 == "enabled" { print $2 }')
# BACKLOG=N runs with the kernel's backlog_limit set to N (restored after):
# with the kernel's default of 64 an audited writer sleeps whenever 64
# records wait for kauditd, which is most of the rules' cost.
backlog_was=$(auditctl -s | awk '$1 == "backlog_limit" { print $2 }')
tail_pid=
cleanup() {
	[ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
	"$V" -q rules remove >/dev/null 2>&1 || true
	auditctl -e "$was" >/dev/null 2>&1 || true
	auditctl -b "$backlog_was" >/dev/null 2>&1 || true
	rm -rf "$D"
}
trap cleanup EXIT INT TERM
mkdir -p "$D/scope"

now() { date +%s.%N; }
writes() { # WRITES opens for writing in the audited dir, 100 files rewritten
	python3 -c '
import sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open("%s/f%d" % (d, i % 100), "w") as f:
        f.write("x")
' "$D/scope" "$WRITES"
}
execs() {
	i=0
	while [ $i -lt "$EXECS" ]; do /bin/true; i=$((i + 1)); done
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

auditctl -e 1 >/dev/null
[ -n "${BACKLOG:-}" ] && auditctl -b "$BACKLOG" >/dev/null
lost0=$(auditctl -s | awk '$1 == "lost" { print $2 }')
echo "bench-audit: $WRITES writes, $EXECS execs, median of $RUNS runs; kernel $(uname -r)," \
	"backlog_limit $(auditctl -s | awk '$1 == "backlog_limit" { print $2 }'), load $(cut -d' ' -f1 /proc/loadavg)," \
	"$(nproc) cores"
# The reader runs throughout; runs alternate without and with vigil's rules,
# so a machine whose load drifts weighs on both sides alike.
"$V" -v audit-tail >"$D/tail.out" 2>"$D/tail.err" &
tail_pid=$!
until grep -q 'reading the audit multicast group' "$D/tail.err"; do sleep 0.05; done
r=0
while [ $r -lt "$RUNS" ]; do
	"$V" -q rules remove >/dev/null 2>&1
	for f in writes execs; do s=$(now); $f; e=$(now); echo "$s $e" | awk '{ printf "%.3f\n", $2 - $1 }' >>"$D/$f.0"; done
	"$V" -q rules install --execve --path "$D/scope" >/dev/null 2>&1
	for f in writes execs; do s=$(now); $f; e=$(now); echo "$s $e" | awk '{ printf "%.3f\n", $2 - $1 }' >>"$D/$f.1"; done
	r=$((r + 1))
done
w0=$(median <"$D/writes.0"); x0=$(median <"$D/execs.0")
w1=$(median <"$D/writes.1"); x1=$(median <"$D/execs.1")
echo "no vigil rules:      writes ${w0}s  execs ${x0}s"
sleep 2 # let the reader drain and age the last events
hz=$(getconf CLK_TCK)
cpu=$(awk -v hz="$hz" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$tail_pid/stat")
rss=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$tail_pid/status")
kill -TERM "$tail_pid"
wait "$tail_pid" 2>/dev/null || true
tail_pid=
lost1=$(auditctl -s | awk '$1 == "lost" { print $2 }')
echo "with rules + reader: writes ${w1}s  execs ${x1}s"
awk -v a="$w0" -v b="$w1" -v c="$x0" -v d="$x1" 'BEGIN {
	printf "slowdown:            writes %+.1f%%  execs %+.1f%%\n", (b / a - 1) * 100, (d / c - 1) * 100 }'
echo "reader (vigil audit-tail, the daemon's audit engine): cpu ${cpu}s for all $((2 * RUNS)) rounds, peak RSS ${rss} KiB"
grep 'audit:' "$D/tail.err" | sed 's/^vigil: /reader counters: /'
echo "kernel lost counter: +$((lost1 - lost0))"
