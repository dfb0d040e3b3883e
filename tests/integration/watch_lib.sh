# watch_lib.sh - sourced by the watch_*.sh integration tests: a temp tree, a
# config, a baseline, the daemon started in the foreground with a pid file,
# and helpers that wait for events in its JSON-lines output.  Every daemon is
# stopped by its pid file in the trap, whatever happens.
set -eu

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; [ -f "${EV:-/nonexistent}" ] && tail -n 20 "$EV" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root (inotify limits, mounts)"
[ -n "${VIGIL:-}" ] && [ -x "$VIGIL" ] || skip "the vigil binary is not built (\$VIGIL='${VIGIL:-}')"
command -v python3 >/dev/null || skip "python3 missing (scripts/setup.sh installs it)"

T=$(mktemp -d /tmp/vigil-watch-test.XXXXXX)
TREE=$T/tree
STATE=$T/state
CONF=$T/vigil.yaml
EV=$T/events.jsonl
PIDF=$T/vigil.pid
SOCK=$T/ctl.sock
CLEANUP_EXTRA=""

cleanup() {
	set +e
	if [ -f "$PIDF" ]; then
		kill "$(cat "$PIDF")" 2>/dev/null
		for _ in $(seq 50); do [ -f "$PIDF" ] || break; sleep 0.1; done
		[ -f "$PIDF" ] && kill -9 "$(cat "$PIDF")" 2>/dev/null
	fi
	eval "$CLEANUP_EXTRA"
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM

# write_config [extra yaml appended]
write_config() {
	cat > "$CONF" <<EOC
state_dir: $STATE
scopes:
  - name: tree
    paths: [$TREE]
    watch: true
    severity: high
${SCOPE_EXTRA:-}
watch:
  debounce_ms: ${DEBOUNCE_MS:-200}
  rescan_interval: ${RESCAN_INTERVAL:-300}
  control_socket: $SOCK
  pid_file: $PIDF
outputs:
  - type: jsonl
    path: $EV
${OUTPUTS_EXTRA:-}
schedule: []
audit:
  enabled: false
EOC
}

baseline() { "$VIGIL" --config "$CONF" -q baseline || fail "vigil baseline failed"; }

start_daemon() {
	"$VIGIL" --config "$CONF" watch --pid-file "$PIDF" 2>>"$T/daemon.log" &
	DAEMON_PID=$!
	wait_for '"action":"watch-started"' 1 30 || { cat "$T/daemon.log" >&2; fail "daemon did not start"; }
}

stop_daemon() {
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID" || fail "daemon exited with $?"
	[ ! -f "$PIDF" ] || fail "pid file left behind"
}

# count PATTERN: lines of the event file matching the fixed string
count() { _c=$(grep -cF -- "$1" "$EV" 2>/dev/null) || true; echo "${_c:-0}"; }

# wait_for PATTERN [N [SECONDS]]: until N lines match (never a pass by timeout)
wait_for() {
	_n=${2:-1}; _t=${3:-20}
	for _ in $(seq $((_t * 10))); do
		[ "$(count "$1")" -ge "$_n" ] && return 0
		sleep 0.1
	done
	return 1
}

# event ACTION PATH: the fixed string identifying a file event in a line
ev() { printf '"action":"%s"' "$1"; }
has_event() { # ACTION PATH [SECONDS]
	python3 - "$EV" "$1" "$2" "${3:-20}" <<'PY' || return 1
import json, sys, time
f, action, path, t = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
end = time.time() + t
while time.time() < end:
    try:
        for line in open(f):
            e = json.loads(line)
            if e["event"]["action"] == action and e.get("file", {}).get("path") == path:
                sys.exit(0)
    except (OSError, ValueError):
        pass
    time.sleep(0.1)
sys.exit(1)
PY
}
# n_events ACTION PATH: how many events of that action for exactly that path
n_events() {
	python3 - "$EV" "$1" "$2" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"]["action"] == sys.argv[2] and e.get("file", {}).get("path") == sys.argv[3]:
        n += 1
print(n)
PY
}
ctl() { "$VIGIL" --config "$CONF" ctl --socket "$SOCK" "$@"; }
