# audit_lib.sh - shared by the audit integration tests (sourced after lib.sh).
# Picks the binary, checks the kernel's audit, and restores the host's audit
# state on exit: the enabled flag as it was, vigil's rules removed, nobody
# else's rules touched (never auditctl -D).

need_root
command -v auditctl >/dev/null 2>&1 || skip "auditctl not installed (Debian package auditd)"
command -v python3 >/dev/null 2>&1 || skip "python3 not installed"
auditctl -s >/dev/null 2>&1 || skip "the kernel has no usable audit (auditctl -s failed)"
V=$VIGIL
[ -x "$V" ] || fail "vigil is not built ($V)"
# The kernel's audit state is one per host: audit tests run one at a time
# (make check -j runs them in parallel otherwise), or one would record the
# other's enabled flag as the host's and remove its rules mid-test.
command -v flock >/dev/null 2>&1 || skip "flock not installed (util-linux)"
exec 9>"${TMPDIR:-/tmp}/vigil-audit-tests.lock"
flock 9

audit_enabled() { auditctl -s | awk '$1 == "enabled" { print $2 }'; }
AUDIT_WAS=$(audit_enabled)
[ "$AUDIT_WAS" = 2 ] && skip "audit rules are immutable (enabled 2) on this host"
on_exit "auditctl -e $AUDIT_WAS || true"
on_exit "\"$V\" -q rules remove || true"

# Starts `audit-tail ARGS` in the background, output in $T/tail.out, and
# waits until it reads the multicast group.
# TAIL_WRAP, when set, is a command audit-tail runs under (e.g. unshare).
start_tail() {
	${TAIL_WRAP:-} "$V" ${VIGIL_CONFIG:+--config "$VIGIL_CONFIG"} audit-tail "$@" >"$T/tail.out" 2>"$T/tail.err" &
	TAIL_PID=$!
	on_exit "kill $TAIL_PID || true"
	i=0
	until grep -q 'reading the audit multicast group' "$T/tail.err" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 200 ] || fail "audit-tail did not start: $(cat "$T/tail.err")"
		kill -0 $TAIL_PID 2>/dev/null || fail "audit-tail exited: $(cat "$T/tail.err")"
		sleep 0.05
	done
}

# stop_tail: SIGTERM and wait; audit-tail flushes what it holds first.
stop_tail() {
	kill -TERM $TAIL_PID 2>/dev/null || true
	wait $TAIL_PID 2>/dev/null || true
}

# json_find FILE PYTHON-EXPR: exits 0 when one JSON line satisfies EXPR
# (e is the parsed event; g(e, "a.b.c") gets a nested field or None).
json_find() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
def g(e, path):
    for k in path.split("."):
        if not isinstance(e, dict) or k not in e:
            return None
        e = e[k]
    return e
expr = sys.argv[2]
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if eval(expr):
        sys.exit(0)
sys.exit(1)
EOF
}
