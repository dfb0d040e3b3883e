# capture_lib.sh - helpers of the capture tests that need no dockerd (sourced
# after lib.sh): memory captures of the synthetic kcore, captures stopped by a
# test knob, the daemon's start.

# kcore_fixture: $T/kcore, $T/iomem, $T/lock (tests/helpers/mkkcore.py), the
# state dir $S with a signing key, the scope $D, and $M: the capture options
# of a memory capture of that kcore.
kcore_fixture() {
	python3 "$top_srcdir/tests/helpers/mkkcore.py" "$T/kcore" "$T/iomem"
	printf '[none] integrity confidentiality\n' >"$T/lock"
	S="$T/state" D="$T/none"
	mkdir -p "$D"
	fim_config
	V keygen >/dev/null
	M="--memory --method kcore --kcore $T/kcore --iomem $T/iomem --lockdown $T/lock"
}

# stopped PID: waits (bounded) until PID is stopped; fails if it exits first
stopped() {
	_i=0
	while [ "$_i" -lt 3000 ]; do
		[ -r "/proc/$1/stat" ] || fail "capture $1 exited before it stopped itself"
		# field 3 of /proc/PID/stat, after the ")" closing the command name
		[ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" = T ] && return 0
		sleep 0.05
		_i=$((_i + 1))
	done
	fail "capture $1 never stopped"
}

# daemon_start: `vigil watch` with the state dir $S (its evidence dir the
# default) and the scope $D, started until it says watch-started (pid in $W);
# its events in $T/events, its stderr in $T/daemon.err.
daemon_start() {
	cat >"$T/daemon.yaml" <<EOC
state_dir: $S
scopes:
  - name: t
    paths: [$D]
    watch: true
watch:
  control_socket: $T/sock
  pid_file: $T/pid
outputs:
  - type: jsonl
    path: $T/events
schedule: []
audit:
  enabled: false
EOC
	if command -v flock >/dev/null; then # as watch_lib.sh: the inotify limits tests' lock, shared
		exec 9>"$( [ -d /run/lock ] && echo /run/lock || echo /tmp)/vigil-watch-tests.lock"
		flock -s 9
	fi
	"$VIGIL" -q --config "$T/daemon.yaml" baseline || fail "baseline"
	"$VIGIL" --config "$T/daemon.yaml" watch 2>"$T/daemon.err" 9>&- &
	W=$!
	on_exit "kill -TERM $W"
	daemon_wait watch-started
}

# daemon_wait ACTION [TEXT]: until an event line has action ACTION (and TEXT)
daemon_wait() {
	_i=0
	while ! grep "\"action\":\"$1\"" "$T/events" 2>/dev/null | grep -qF -- "${2:-\"}" && [ "$_i" -lt 600 ]; do
		kill -0 "$W" 2>/dev/null || fail "the daemon exited: $(cat "$T/daemon.err")"
		sleep 0.05
		_i=$((_i + 1))
	done
}

daemon_stop() {
	kill -TERM "$W"
	wait "$W" || fail "the daemon exited $?: $(cat "$T/daemon.err")"
}

# daemon_start_stop [ACTION TEXT]: daemon_start, daemon_wait ACTION TEXT
# (the sweep runs on a thread), daemon_stop.
daemon_start_stop() {
	daemon_start
	[ $# -eq 0 ] || daemon_wait "$@"
	daemon_stop
}
