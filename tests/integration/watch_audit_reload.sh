#!/bin/sh
# watch_audit_reload.sh - SIGHUP reloads audit too (it used to keep the
# settings it started with): a scope made critical in the config gets its
# audit rule after SIGHUP and its changes name who made them; audit turned
# off by a second SIGHUP removes vigil's rules while the daemon runs on.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

audit_two_scopes
# audit on, the daemon's rules, no execve rule; "plain" not critical yet
set_audit() { # ENABLED PLAIN_CRITICAL
	python3 - "$CONF" "$1" "$2" <<'PY'
import re, sys
p, enabled, crit = sys.argv[1], sys.argv[2], sys.argv[3]
s = open(p).read()
s = re.sub(r"audit:\n(  .*\n)*", "audit:\n  enabled: %s\n  install_rules: true\n  execve: false\n"
           "  window_ms: 1500\n" % enabled, s)
s = re.sub(r"(  - name: plain\n    paths: \[.*\]\n    watch: true\n)(    critical: true\n)?",
           lambda m: m.group(1) + ("    critical: true\n" if crit == "true" else ""), s)
open(p, "w").write(s)
PY
}
set_audit true false
audit_start_daemon
auditctl -l | grep -q -- "-k vigil-scope-plain" && fail "a rule for plain before it is critical"

set_audit true true
grep -q 'critical: true' "$CONF" || fail "config not rewritten"
kill -HUP "$DAEMON_PID"
wait_for '"action":"config-reloaded"' 1 "$STARTUP_S" || fail "no reload"
for _ in $(seq 50); do auditctl -l | grep -q -- "-k vigil-scope-plain" && break; sleep 0.1; done
auditctl -l | grep -q -- "-w $T/plain -p wa -k vigil-scope-plain" ||
	{ cat "$T/daemon.log" >&2; fail "SIGHUP did not load the rule of the scope made critical: $(auditctl -l)"; }
/usr/bin/cp /etc/hostname "$T/plain/file" &
pid=$!
wait $pid
has_event file-changed "$T/plain/file" "$STARTUP_S" || fail "change not reported"
python3 - "$EV" "$T/plain/file" "$pid" <<'PY' || fail "the change does not name cp (pid $pid) after the reload"
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"]["action"] == "file-changed" and e.get("file", {}).get("path") == sys.argv[2]:
        p = e.get("process", {})
        sys.exit(0 if p.get("pid") == int(sys.argv[3]) and e["vigil"].get("audit_key") == "vigil-scope-plain" else 1)
sys.exit(1)
PY

set_audit false true
kill -HUP "$DAEMON_PID"
wait_for '"action":"config-reloaded"' 2 "$STARTUP_S" || fail "no second reload"
for _ in $(seq 50); do auditctl -l | grep -q -e 'key=vigil-' -e '-k vigil-' || break; sleep 0.1; done
n=$(auditctl -l | grep -c -e 'key=vigil-' -e '-k vigil-' || true)
[ "$n" -eq 0 ] || fail "$n vigil rules left after audit was turned off by SIGHUP: $(auditctl -l)"
echo again >> "$TREE/etc/content"
has_event file-changed "$TREE/etc/content" "$STARTUP_S" || fail "no event after audit was turned off"
stop_daemon
echo "watch_audit_reload: ok"
