#!/bin/sh
# audit_daemon.sh - audit inside `vigil watch`: the daemon loads its rules at
# start (a critical scope gets one), an inotify change made by a known
# process carries that process's pid and executable, a change in a scope
# without audit rules says that no audit record matched, and the rules are
# gone after the daemon stops.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

audit_two_scopes
# the audit block: on, rules installed by the daemon, no execve rule
python3 - "$CONF" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("audit:\n  enabled: false", "audit:\n  enabled: true\n  install_rules: true\n  execve: false\n  window_ms: 1500")
open(p, "w").write(s)
PY
audit_start_daemon

/usr/bin/cp /etc/hostname "$TREE/etc/content" &
pid=$!
wait $pid
has_event file-changed "$TREE/etc/content" || fail "content change not reported"
python3 - "$EV" "$TREE/etc/content" "$pid" <<'PY' || fail "the change does not name pid $pid and /usr/bin/cp"
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"]["action"] == "file-changed" and e.get("file", {}).get("path") == sys.argv[2]:
        p = e.get("process", {})
        ok = p.get("pid") == int(sys.argv[3]) and p.get("executable") == "/usr/bin/cp" \
            and e.get("user", {}).get("id") == "0" and e["vigil"].get("audit_key") == "vigil-scope-tree"
        sys.exit(0 if ok else 1)
sys.exit(1)
PY

echo changed >> "$T/plain/file"
has_event file-changed "$T/plain/file" || fail "plain change not reported"
python3 - "$EV" "$T/plain/file" <<'PY' || fail "a change without audit record does not say so"
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"]["action"] == "file-changed" and e.get("file", {}).get("path") == sys.argv[2]:
        sys.exit(0 if "process" not in e and e["vigil"].get("who", "").startswith("unknown") else 1)
sys.exit(1)
PY

stop_daemon
n=$(auditctl -l | grep -c -e 'key=vigil-' -e '-k vigil-' || true)
[ "$n" -eq 0 ] || fail "$n vigil rules left after the daemon stopped: $(auditctl -l)"
echo "daemon: rules in at start and out at stop; cp (pid $pid) named on the change"
