#!/bin/sh
# Audit benchmark (not a timed test): what `vigil watch` costs a workload of
# file writes in a watched, audited directory and of execs on the host, in
# three modes, alternating runs so that a machine whose load drifts weighs
# on every mode alike:
#   none   no vigil at all (no daemon, no vigil audit rule)
#   proc   `vigil watch` as configured by default: container-shell detection
#          from the proc connector (audit.execve: true), audit rules for the
#          critical scope (who-data of file changes), no execve audit rule
#   rules  `vigil watch` with the older execve audit rules instead
#          (audit.execve: false, audit.execve_rules: true)
# Reports per mode the median wall time and CPU time (user+sys of the
# workload and its children) of each workload, the daemon's CPU during it,
# slowdowns against `none`, the exec watcher's counters and the kernel's
# lost counter.
#   scripts/bench-audit.sh [BUILD_DIR]   (root; WRITES, EXECS, RUNS, BACKLOG,
#                                         MODES in the environment)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
V=$build/vigil
[ -x "$V" ] || { echo "bench-audit: build first (no $V)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bench-audit: needs root" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench-audit: needs /usr/bin/time (Debian package time)" >&2; exit 2; }
# the audit tests' lock: one user of the host's audit state at a time
exec 9>"${TMPDIR:-/tmp}/vigil-audit-tests.lock"
flock 9
WRITES=${WRITES:-100000}
EXECS=${EXECS:-10000}
RUNS=${RUNS:-3}
MODES=${MODES:-none proc rules}
D=$(mktemp -d /tmp/vigil-bench-audit.XXXXXX)
was=$(auditctl -s | awk '$1 == "enabled" { print $2 }')
# BACKLOG=N runs with the kernel's backlog_limit set to N (restored after):
# with the kernel's default of 64 an audited process sleeps whenever 64
# records wait for kauditd, which is most of the execve rules' cost.
backlog_was=$(auditctl -s | awk '$1 == "backlog_limit" { print $2 }')
dpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	"$V" -q rules remove >/dev/null 2>&1 || true
	auditctl -e "$was" >/dev/null 2>&1 || true
	auditctl -b "$backlog_was" >/dev/null 2>&1 || true
	rm -rf "$D"
}
trap cleanup EXIT INT TERM
mkdir -p "$D/scope" "$D/state"
i=0
while [ $i -lt 100 ]; do echo x >"$D/scope/f$i"; i=$((i + 1)); done
hz=$(getconf CLK_TCK)

# config MODE: the daemon's config for that mode (audit block as the
# embedded default has it, execve switched for `rules`)
config() {
	{
		cat <<EOC
state_dir: $D/state
scopes:
  - name: bench
    paths: [$D/scope]
    watch: true
    critical: true
watch:
  control_socket: $D/ctl.sock
outputs:
  - type: jsonl
    path: $D/events.jsonl
schedule: []
EOC
		"$V" check-config --print-default | sed -n '/^audit:/,$p' |
			if [ "$1" = rules ]; then
				sed -e 's/^  execve: true$/  execve: false/' -e 's/^  execve_rules: false$/  execve_rules: true/'
			else cat; fi
	} >"$D/$1.yaml"
}

PY='
import sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open("%s/f%d" % (d, i % 100), "w") as f:
        f.write("x")
'
dcpu() { # the daemon's CPU seconds so far (0 without a daemon)
	if [ -n "$dpid" ]; then
		awk -v hz="$hz" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$dpid/stat"
	else echo 0; fi
}
# measure MODE WORKLOAD: wall and CPU (user+sys, children included) of the
# workload, and the daemon's CPU over the same time plus a second to drain.
#   writes: WRITES opens for writing in the audited dir, 100 files rewritten
#   execs:  EXECS fork+exec of /bin/true from a shell loop
measure() {
	c0=$(dcpu)
	case $2 in
	writes) /usr/bin/time -f '%e %U %S' -o "$D/t" python3 -c "$PY" "$D/scope" "$WRITES" ;;
	execs) /usr/bin/time -f '%e %U %S' -o "$D/t" \
		sh -c 'i=0; while [ $i -lt "$1" ]; do /bin/true; i=$((i + 1)); done' sh "$EXECS" ;;
	esac
	sleep 1
	c1=$(dcpu)
	awk -v c0="$c0" -v c1="$c1" '{ printf "%.3f %.3f %.3f\n", $1, $2 + $3, c1 - c0 }' "$D/t" \
		>>"$D/$2.$1"
}
start_daemon() {
	: >"$D/daemon.log"
	"$V" --config "$D/$1.yaml" watch --pid-file "$D/vigil.pid" 2>>"$D/daemon.log" 9>&- &
	dpid=$!
	i=0
	until grep -q '"watch-started"' "$D/events.jsonl" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 600 ] || { cat "$D/daemon.log" >&2; echo "bench-audit: daemon did not start" >&2; exit 3; }
		sleep 0.05
	done
}
stop_daemon() {
	kill -TERM "$dpid"
	wait "$dpid" || true
	dpid=
	grep 'exec watcher: [0-9]* execs' "$D/daemon.log" >>"$D/watcher.$1" || true
	rm -f "$D/events.jsonl"
}

auditctl -e 1 >/dev/null
[ -n "${BACKLOG:-}" ] && auditctl -b "$BACKLOG" >/dev/null
lost0=$(auditctl -s | awk '$1 == "lost" { print $2 }')
echo "bench-audit: $WRITES writes, $EXECS execs, median of $RUNS runs per mode; kernel $(uname -r)," \
	"backlog_limit $(auditctl -s | awk '$1 == "backlog_limit" { print $2 }'), load $(cut -d' ' -f1 /proc/loadavg)," \
	"$(nproc) cores"
config proc
config rules
"$V" --config "$D/proc.yaml" -q baseline
r=0
while [ $r -lt "$RUNS" ]; do
	# rotate the order each run: none proc rules, proc rules none, ...
	order=$(echo $MODES | awk -v r="$r" '{ for (i = 0; i < NF; i++) printf "%s ", $(((i + r) % NF) + 1) }')
	for m in $order; do
		"$V" -q rules remove >/dev/null 2>&1 || true
		[ "$m" = none ] || start_daemon "$m"
		for f in writes execs; do measure "$m" "$f"; done
		[ "$m" = none ] || stop_daemon "$m"
	done
	r=$((r + 1))
done
lost1=$(auditctl -s | awk '$1 == "lost" { print $2 }')

med() { # FILE COLUMN
	awk -v c="$2" '{ print $c }' "$1" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
printf '%-6s %-30s %-30s\n' mode "writes: wall / CPU / daemon s" "execs: wall / CPU / daemon s"
for m in $MODES; do
	printf '%-6s %-30s %-30s\n' "$m" \
		"$(med "$D/writes.$m" 1) / $(med "$D/writes.$m" 2) / $(med "$D/writes.$m" 3)" \
		"$(med "$D/execs.$m" 1) / $(med "$D/execs.$m" 2) / $(med "$D/execs.$m" 3)"
done
case " $MODES " in *" none "*)
	for m in $MODES; do
		[ "$m" = none ] && continue
		awk -v a="$(med "$D/writes.none" 1)" -v b="$(med "$D/writes.$m" 1)" \
		    -v c="$(med "$D/writes.none" 2)" -v d="$(med "$D/writes.$m" 2)" \
		    -v e="$(med "$D/execs.none" 1)" -v f="$(med "$D/execs.$m" 1)" \
		    -v g="$(med "$D/execs.none" 2)" -v h="$(med "$D/execs.$m" 2)" -v m="$m" 'BEGIN {
			printf "%-6s vs none: writes wall %+.1f%% CPU %+.1f%%; execs wall %+.1f%% CPU %+.1f%%\n",
				m, (b / a - 1) * 100, (d / c - 1) * 100, (f / e - 1) * 100, (h / g - 1) * 100 }'
	done ;;
esac
for m in $MODES; do
	[ -s "$D/watcher.$m" ] && sed "s/^vigil: /$m, last run: /" "$D/watcher.$m" | tail -n 1
done
echo "kernel lost counter: +$((lost1 - lost0))"
