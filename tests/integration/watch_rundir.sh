#!/bin/sh
# watch_rundir.sh - `vigil watch` by hand, where no unit made /run/vigil: the
# pid file's and the control socket's directories are made (0755), and with a
# local syslog output and nobody listening at /dev/log the daemon says so at
# start, on stderr and as an event, instead of queueing events it will drop.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

mkdir -p "$TREE" "$STATE"
PIDF=$T/run/vigil/vigil.pid
SOCK=$T/run/ctl/sub/ctl.sock
OUTPUTS_EXTRA="  - type: syslog"
write_config
baseline
# No /dev/log here: in a private mount namespace, /dev/null over it.
if [ -e /dev/log ]; then
	command -v unshare >/dev/null || skip "unshare missing (util-linux) and /dev/log exists"
	cat > "$T/nodevlog" <<'EOS'
#!/bin/sh
exec unshare -m sh -c 'mount --bind /dev/null /dev/log && exec "$0" "$@"' "$@"
EOS
	chmod +x "$T/nodevlog"
	DAEMON_WRAP=$T/nodevlog
fi
PIDFILE_OPT=no start_daemon
for d in "$T/run/vigil" "$T/run/ctl" "$T/run/ctl/sub"; do
	[ -d "$d" ] || fail "directory '$d' not made"
	[ "$(stat -c %a "$d")" = 755 ] || fail "directory '$d' has mode $(stat -c %a "$d"), not 755"
done
[ "$(cat "$PIDF")" = "$DAEMON_PID" ] || fail "pid file not written"
ctl status >/dev/null || fail "control socket not answering"
grep -q "/dev/log" "$T/daemon.log" || { cat "$T/daemon.log" >&2; fail "nothing said on stderr about /dev/log"; }
wait_for '"action":"output-unavailable"' 1 "$STARTUP_S" || fail "no output-unavailable event"
grep -F '"action":"output-unavailable"' "$EV" | grep -q '"severity":73' || fail "output-unavailable is not high severity"
stop_daemon
echo "watch_rundir: ok"
