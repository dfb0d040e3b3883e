# watch_lib.sh - sourced by the watch_*.sh integration tests: a temp tree, a
# config, a baseline, the daemon started in the foreground with a pid file,
# and helpers that wait for events in its JSON-lines output.
#
# The trap stops every daemon the test started by the pid recorded when it was
# started (not by the pid file, which may be gone), waits until the process is
# really gone, and only then unmounts what the test mounted (mounted PATH),
# last mounted first.  A daemon that needs SIGKILL, or a mount that cannot be
# unmounted, fails the test.
set -eu

# Under CI=true a missing part fails the test instead (see lib.sh's skip).
skip() {
	[ "${CI:-}" = true ] && { echo "FAIL: CI=true and a part is missing: $*"; exit 1; }
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*" >&2
	# Seen once: a concurrent script removed this test's directory.
	[ -f "$EV" ] || echo "FAIL: $EV is gone: was $T removed by something else while the test ran?" >&2
	[ -f "$EV" ] && tail -n 20 "$EV" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || skip "needs root (inotify limits, mounts)"
[ -n "${VIGIL:-}" ] && [ -x "$VIGIL" ] || skip "the vigil binary is not built (\$VIGIL='${VIGIL:-}')"
command -v python3 >/dev/null || skip "python3 missing (scripts/setup.sh installs it)"

T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-watch-test.XXXXXX")
TREE=$T/tree
STATE=$T/state
CONF=$T/vigil.yaml
EV=$T/events.jsonl
PIDF=$T/vigil.pid
SOCK=$T/ctl.sock
CLEANUP_EXTRA=""
DAEMON_PID=""
DAEMON_PIDS="" # every daemon started and not yet reaped by stop_daemon
MOUNTS=""      # what the test mounted, in order

# alive PID: a process of ours that still runs (a zombie does not; a pid
# reused by a process that is not our child is not ours)
alive() {
	_st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	_st=${_st##*) }
	set -- $_st
	[ "$1" != Z ] && [ "$1" != X ] && [ "$2" = "$$" ]
}
# gone_within PID SECONDS: 0 once PID does not run any more
gone_within() {
	for _ in $(seq $(($2 * 10))); do
		alive "$1" || return 0
		sleep 0.1
	done
	! alive "$1"
}
# mounted PATH: the test mounted PATH; unmounted in the trap after the daemons
mounted() { MOUNTS="$1 $MOUNTS"; }

cleanup() {
	_rc=$?
	set +e
	for _p in $DAEMON_PIDS; do
		alive "$_p" || continue
		kill -TERM "$_p"
		gone_within "$_p" 30 && continue
		echo "FAIL: vigil watch (pid $_p) still runs 30 s after SIGTERM: killed" >&2
		_rc=1
		kill -KILL "$_p"
		gone_within "$_p" 30 || echo "FAIL: vigil watch (pid $_p) survives SIGKILL" >&2
	done
	for _p in $DAEMON_PIDS; do wait "$_p" 2>/dev/null; done
	eval "$CLEANUP_EXTRA"
	for _m in $MOUNTS; do
		mountpoint -q "$_m" || continue
		umount "$_m" && continue
		echo "FAIL: cannot unmount $_m (still in use?): detached lazily" >&2
		_rc=1
		umount -l "$_m"
	done
	# --one-file-system: never delete what a mount still shows
	[ -n "${KEEP:-}" ] || rm -rf --one-file-system "$T"
	trap - EXIT
	exit "$_rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# fs.inotify.* limits are system-wide: a test that lowers one starves every
# daemon running at the time (seen: make check -j2 next to another worktree's
# watch_faults.sh).  Every watch test holds this lock shared; limits_exclusive
# takes it alone before changing a limit, limits_shared gives it back.
if command -v flock >/dev/null; then
	exec 9>"$( [ -d /run/lock ] && echo /run/lock || echo /tmp)/vigil-watch-tests.lock"
	flock -s 9
fi
limits_exclusive() { ! command -v flock >/dev/null || flock -x 9; }
limits_shared() { ! command -v flock >/dev/null || flock -s 9; }

# audit_on: for audit inside the daemon.  Skips without a usable audit, runs
# one audit test at a time (the kernel's audit state is the host's: the audit
# tests' lock, on fd 8, fd 9 being the limits lock), and in the trap removes
# vigil's rules and puts the enabled flag back.
audit_on() {
	command -v auditctl >/dev/null 2>&1 || skip "auditctl not installed (Debian package auditd)"
	auditctl -s >/dev/null 2>&1 || skip "the kernel has no usable audit"
	command -v flock >/dev/null 2>&1 || skip "flock not installed (util-linux)"
	exec 8>"${TMPDIR:-/tmp}/vigil-audit-tests.lock"
	flock 8
	AUDIT_WAS=$(auditctl -s | awk '$1 == "enabled" { print $2 }')
	[ "$AUDIT_WAS" = 2 ] && skip "audit rules are immutable (enabled 2) on this host"
	CLEANUP_EXTRA="\"$VIGIL\" -q rules remove; auditctl -e $AUDIT_WAS >/dev/null"
}

# audit_on, then a private dockerd (scripts/docker-harness.sh, sourced by the
# caller) with the test images, stopped on exit; dockerd, containerd and the
# shims must not inherit the tests' lock fds.
audit_docker_on() {
	audit_on
	CLEANUP_EXTRA="harness_stop 8>&- 9>&- || true; $CLEANUP_EXTRA"
	harness_start 8>&- 9>&- || skip "cannot start a private dockerd (see above)"
	harness_build_images >/dev/null 8>&- 9>&- || fail "cannot build the test images"
}

# audit_two_scopes: audit_on, then $CONF (audit still off in it) with two
# watched scopes: tree, critical ($TREE/etc/content), and plain
# ($T/plain/file), not critical.
audit_two_scopes() {
	audit_on
	mkdir -p "$TREE/etc" "$T/plain" "$STATE"
	echo one > "$TREE/etc/content"
	echo two > "$T/plain/file"
	SCOPE_EXTRA="    critical: true
  - name: plain
    paths: [$T/plain]
    watch: true"
	write_config
}

# audit_start_daemon: with audit turned on in $CONF (install_rules): the
# baseline, the kernel's audit enabled, the daemon started, and its rule for
# the critical scope tree loaded.
audit_start_daemon() {
	grep -q 'install_rules: true' "$CONF" || fail "config not rewritten"
	baseline
	auditctl -e 1 >/dev/null
	start_daemon
	auditctl -l | grep -q -- "-w $TREE -p wa -k vigil-scope-tree" ||
		{ cat "$T/daemon.log" >&2; fail "no rule for the critical scope tree at start: $(auditctl -l)"; }
}

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
${SCHEDULE:-schedule: []}
audit:
  enabled: false
EOC
}

baseline() { "$VIGIL" --config "$CONF" -q baseline || fail "vigil baseline failed"; }

# VIGIL_VALGRIND=1: every daemon runs under valgrind (memcheck), which exits
# with 99 on any error or definite leak (stop_daemon fails the test then; its
# report is in $T/valgrind.PID.log and shown).  ASan misses some (it does not
# intercept unlink(): a use-after-free of the pid file's path went unseen).
# Under valgrind the daemon is ~20x slower: STARTUP_S and the tests' own
# waits allow for it.
VALGRIND=""
DAEMON_WRAP=""
STARTUP_S=30
if [ -n "${VIGIL_VALGRIND:-}" ]; then
	command -v valgrind >/dev/null || skip "VIGIL_VALGRIND set and valgrind missing (Debian package valgrind)"
	VALGRIND="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
		--show-leak-kinds=definite --track-fds=no --log-file=$T/valgrind.%p.log"
	STARTUP_S=180
fi
valgrind_report() { cat "$T"/valgrind.*.log >&2 2>/dev/null || true; }

# start_daemon [watch options]: with --pid-file $PIDF unless PIDFILE_OPT=no;
# DAEMON_WRAP: a command word list that execs its arguments (same pid)
start_daemon() {
	_popt="--pid-file $PIDF"
	[ "${PIDFILE_OPT:-yes}" = yes ] || _popt=""
	# shellcheck disable=SC2086 # VALGRIND and _popt are word lists
	_started=$(count '"action":"watch-started"')
	_compared=$(count '"action":"startup-check"')
	$DAEMON_WRAP $VALGRIND "$VIGIL" --config "$CONF" watch $_popt "$@" 2>>"$T/daemon.log" 8>&- 9>&- &
	DAEMON_PID=$!
	DAEMON_PIDS="$DAEMON_PIDS $DAEMON_PID"
	wait_for '"action":"watch-started"' $((_started + 1)) "$STARTUP_S" ||
		{ cat "$T/daemon.log" >&2; fail "daemon did not start"; }
	# The comparison at start reports what changed before: a test's own
	# changes must come after it (or they may be reported by it, as a
	# comparison reports them: without renamed_from, say).  STARTUP_WAIT=no
	# for a tree that takes long to hash.
	[ "${STARTUP_WAIT:-yes}" = yes ] || return 0
	wait_for '"action":"startup-check"' $((_compared + 1)) "$STARTUP_S" ||
		{ cat "$T/daemon.log" >&2; fail "no startup-check after the daemon started"; }
}

stop_daemon() {
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID" || { _rc=$?; valgrind_report; fail "daemon exited with $_rc"; }
	DAEMON_PIDS=$(echo "$DAEMON_PIDS" | tr ' ' '\n' | grep -vx "$DAEMON_PID" | tr '\n' ' ')
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
