#!/bin/sh
# watch_syslog.sh - events to a real rsyslog over TCP (RFC 5424, octet
# counting) on loopback; the collector stops, events wait in the bounded
# backlog (the oldest dropped and counted), and arrive after it comes back,
# after a notice of how many were lost.  rsyslogd runs with a private config
# and is stopped by its pid file in the trap.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[ -x "$RSYSLOGD" ] || skip "rsyslogd missing (Debian package rsyslog)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RS=$T/rsyslog
mkdir -p "$RS/work"
cat > "$RS/rsyslog.conf" <<EOC
global(workDirectory="$RS/work")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$PORT")
template(name="raw" type="string" string="%pri% %app-name% %msgid% %msg%\n")
action(type="omfile" file="$RS/out.log" template="raw")
EOC
start_rsyslog() {
	"$RSYSLOGD" -n -f "$RS/rsyslog.conf" -i "$RS/pid" >"$RS/stderr" 2>&1 &
	for _ in $(seq 100); do
		python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1)' "$PORT" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$RS/stderr" >&2
	fail "rsyslogd did not start"
}
stop_rsyslog() {
	[ -f "$RS/pid" ] && kill "$(cat "$RS/pid")"
	for _ in $(seq 100); do [ -f "$RS/pid" ] || return 0; sleep 0.1; done
}
CLEANUP_EXTRA='[ -f "$RS/pid" ] && kill "$(cat "$RS/pid")"'
in_syslog() { grep -cF -- "$1" "$RS/out.log" 2>/dev/null || true; }
wait_syslog() { for _ in $(seq 200); do [ "$(in_syslog "$1")" -ge 1 ] && return 0; sleep 0.1; done; return 1; }

mkdir -p "$TREE/d" "$STATE"
OUTPUTS_EXTRA="  - type: syslog
    target: tcp://127.0.0.1:$PORT
    facility: local3
    backlog: 5"
write_config
baseline
start_rsyslog
start_daemon

echo x > "$TREE/d/first"
wait_syslog "\"path\":\"$TREE/d/first\"" || fail "event not received by rsyslog"
# local3 (19) * 8 + high -> err (3) = 155; app-name vigil; MSGID = the action
grep -F "\"path\":\"$TREE/d/first\"" "$RS/out.log" | grep -q '^155 vigil file-added {' || {
	cat "$RS/out.log" >&2; fail "not an RFC 5424 message with PRI, APP-NAME and MSGID"; }

stop_rsyslog
i=0; while [ $i -lt 12 ]; do echo "$i" > "$TREE/d/while-down-$i"; i=$((i + 1)); done
has_event file-added "$TREE/d/while-down-11" || fail "jsonl output stopped while syslog was down"
sleep 0.5
start_rsyslog
wait_syslog '"action":"output-dropped"' || fail "no loss notice after the collector came back"
wait_syslog "\"path\":\"$TREE/d/while-down-11\"" || fail "backlog not delivered after reconnect"
python3 - "$RS/out.log" <<'PY' || fail "loss notice does not count the dropped events"
import json, sys
for line in open(sys.argv[1]):
    if '"output-dropped"' in line:
        e = json.loads(line.split(" ", 3)[3])
        assert e["vigil"]["dropped"] >= 7, e   # 12 files (+ the directory) into a backlog of 5
        sys.exit(0)
sys.exit(1)
PY
stop_daemon
stop_rsyslog
echo "watch_syslog: ok"
