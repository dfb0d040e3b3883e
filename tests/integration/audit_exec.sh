#!/bin/sh
# audit_exec.sh - container-shell detection is on by default and comes from
# the proc connector (no execve audit rule): with the audit block of the
# embedded default config, `vigil watch` reports a shell exec'd in a
# container of a real private dockerd with the container's id, name and
# image; a shell on the host gives no event; a burst of 2,000 short execs in
# the container does not stall the daemon, and what it could not examine is
# counted and reported.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"
. "${top_srcdir:-.}/scripts/docker-harness.sh"

audit_docker_on

mkdir -p "$TREE" "$STATE"
echo one > "$TREE/file"
write_config
# the audit block exactly as the embedded default has it
"$VIGIL" check-config --print-default | sed -n '/^audit:/,$p' >"$T/audit.yaml"
grep -q '^  execve: true$' "$T/audit.yaml" || fail "the default config does not turn execve on: $(cat "$T/audit.yaml")"
python3 - "$CONF" "$T/audit.yaml" <<'PY'
import sys
p, a = sys.argv[1], open(sys.argv[2]).read()
s = open(p).read()
assert "audit:\n  enabled: false\n" in s
open(p, "w").write(s.replace("audit:\n  enabled: false\n", a))
PY
baseline
start_daemon
grep -q 'exec watcher: proc connector subscribed' "$T/daemon.log" ||
	fail "the exec watcher did not start: $(cat "$T/daemon.log")"
auditctl -l | grep -q 'vigil-exec' && fail "an execve audit rule was loaded: $(auditctl -l)"

cid=$(hdocker run -d --name vigil-exec-test --network none vigil-base:1 sleep 600)
[ ${#cid} -eq 64 ] || fail "docker run gave '$cid'"
# a shell on the host, then one in the container
sh -c 'sleep 1; true' &
hostpid=$!
wait $hostpid
hdocker exec vigil-exec-test sh -c 'sleep 1; echo hello' >/dev/null

# shell_event PYTHON-EXPR [SECONDS]: a container-shell event satisfying EXPR
shell_event() {
	python3 - "$EV" "$1" "${2:-20}" <<'PY'
import json, sys, time
def g(e, path):
    for k in path.split("."):
        if not isinstance(e, dict) or k not in e:
            return None
        e = e[k]
    return e
end = time.time() + float(sys.argv[3])
while True:
    for line in open(sys.argv[1]):
        e = json.loads(line)
        if g(e, "event.action") == "container-shell" and eval(sys.argv[2]):
            sys.exit(0)
    if time.time() > end:
        sys.exit(1)
    time.sleep(0.2)
PY
}
shell_event "g(e,'container.id') == '$cid' and g(e,'container.name') == 'vigil-exec-test' and g(e,'container.image.name') == 'vigil-base:1' and g(e,'event.severity') == 73 and g(e,'process.name') == 'sh' and g(e,'process.executable') == '/bin/busybox' and 'echo hello' in (g(e,'process.command_line') or '')" ||
	fail "no container-shell event with the container's id, name and image for $cid: $(cat "$T/daemon.log")"
shell_event "g(e,'process.pid') == $hostpid" 0 && fail "the host shell (pid $hostpid) was reported as a container shell"
# other containers may run on this host (other tests' dockerds): their
# shells are reported too, but every event must name a container
shell_event "len(g(e,'container.id') or '') != 64" 0 && fail "a container-shell event names no container"
echo "container-shell for $cid (vigil-exec-test, vigil-base:1); host shell $hostpid not reported"

# Shells that exit at once (a builtin only) race vigil's read of /proc: how
# many were seen is said, not asserted (the rest are counted as gone).
for i in 1 2 3 4 5; do hdocker exec vigil-exec-test sh -c "echo quick$i >/dev/null"; done
sleep 2
quick=$(grep -c '"command_line":"sh -c echo quick' "$EV" || true)
echo "shells that exit at once: $quick of 5 reported"

# A burst: 2,000 short execs in the container.  The daemon keeps answering
# and reporting file changes while it runs, and says what it could not
# examine (rate limit, processes gone before /proc was read).
start=$(date +%s)
hdocker exec vigil-exec-test sh -c 'i=0; while [ $i -lt 2000 ]; do /bin/true; i=$((i + 1)); done' &
burst=$!
sleep 0.5
ctl status >/dev/null || fail "the control socket did not answer during the burst"
echo two >> "$TREE/file"
has_event file-changed "$TREE/file" 20 || fail "a file change during the burst was not reported within 20 s"
wait $burst || fail "the burst in the container failed"
echo "burst of 2,000 execs in $(($(date +%s) - start)) s; status and a file change answered during it"
ctl status >/dev/null || fail "the control socket did not answer after the burst"
stop_daemon
line=$(grep 'exec watcher: [0-9]* execs' "$T/daemon.log") || fail "no exec watcher summary at stop: $(cat "$T/daemon.log")"
echo "$line"
python3 - "$line" "$EV" <<'PY' || fail "the burst's execs are not all accounted for: $line"
import json, re, sys
m = re.search(r"(\d+) execs, (\d+) examined \((\d+) in containers, (\d+) shells\), (\d+) over the rate, "
              r"(\d+) gone, (\d+) superseded, (\d+) socket overflows", sys.argv[1])
execs, examined, cont, shells, rate, gone, sup, ovf = map(int, m.groups())
# every exec of the burst reached vigil (or the overflows say how often not)
assert execs >= 2000 or ovf > 0, "execs %d" % execs
assert examined + rate == execs
# what could not be examined was reported in events, with the same counts
rep = {"suppressed": 0, "gone": 0, "superseded": 0}
for l in open(sys.argv[2]):
    e = json.loads(l)
    if e["event"]["action"] in ("audit-exec-rate-limited", "exec-unexamined"):
        for k, v in e["vigil"].get("exec", {}).items():
            if k in rep:
                rep[k] += v
assert rep["suppressed"] == rate and rep["gone"] == gone and rep["superseded"] == sup, rep
print("reported as not examined:", rep)
PY
