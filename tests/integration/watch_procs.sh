#!/bin/sh
# The daemon's `action: procs` schedule: with a process that patched one of
# its own code pages (tests/helpers/procs-helper.c) and one running from a
# memfd, the scheduled runs emit one event per finding, once while it persists
# (three runs, one event each): process-code-modified (critical, process.pid
# and executable, vigil.procs.address = the page) and process-memfd-exec (high)
# for those pids; a second patched process started later is reported too (by
# its own pid and start time); `check-config` takes the action.
. "$(dirname "$0")/watch_lib.sh"
HELPER="$top_builddir/tests/helpers/procs-helper"
[ -x "$HELPER" ] || fail "$HELPER not built"
mkdir -p "$TREE"
echo a >"$TREE/a"
SCHEDULE='schedule: [{action: procs, every: 2s}]'
write_config
"$VIGIL" --config "$CONF" check-config >/dev/null || fail "check-config refuses action: procs"
baseline
"$HELPER" patch >"$T/patch.out" &
PATCH=$!
"$HELPER" memfd "$(command -v sleep)" sleep 600 &
MEMFD=$!
CLEANUP_EXTRA="kill $PATCH $MEMFD 2>/dev/null || :"
for _ in $(seq 100); do grep -q '^PATCHED ' "$T/patch.out" 2>/dev/null && break; sleep 0.05; done
PAGE=$(awk '{print $2}' "$T/patch.out")
[ -n "$PAGE" ] || fail "the helper did not patch itself"
start_daemon
runs() { grep -c 'scheduled procs: ' "$T/daemon.log" || :; }
wait_runs() { # wait_runs N: N scheduled runs done
	for _ in $(seq 3000); do [ "$(runs)" -ge "$1" ] && return 0; sleep 0.1; done
	fail "not $1 scheduled procs runs in 300 s ($(runs)): $(tail -5 "$T/daemon.log")"
}
wait_runs 3
"$HELPER" patch >"$T/patch2.out" &
PATCH2=$!
CLEANUP_EXTRA="kill $PATCH $MEMFD $PATCH2 2>/dev/null || :"
for _ in $(seq 100); do grep -q '^PATCHED ' "$T/patch2.out" 2>/dev/null && break; sleep 0.05; done
wait_runs $(($(runs) + 2))
stop_daemon
kill $PATCH $MEMFD $PATCH2 2>/dev/null || :
python3 - "$EV" "$PATCH" "$PAGE" "$MEMFD" "$PATCH2" <<'PY' || fail "the events do not name the process and the page once"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
patch, page, memfd, patch2 = int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
hit = [e for e in ev if e["event"]["action"] == "process-code-modified" and e["process"]["pid"] == patch]
assert len(hit) == 1, "%d events for the patched process over 5 runs, not 1" % len(hit)
hit2 = [e for e in ev if e["event"]["action"] == "process-code-modified" and e["process"]["pid"] == patch2]
assert len(hit2) == 1, "%d events for the second patched process, not 1" % len(hit2)
e = hit[0]
assert e["vigil"]["procs"]["address"] == page and e["vigil"]["procs"]["bytes_differing"] == 1, e
assert e["event"]["severity"] == 99 and e["vigil"]["source"] == "procs", e
assert e["process"]["executable"].endswith("procs-helper"), e
m = [e for e in ev if e["event"]["action"] == "process-memfd-exec" and e["process"]["pid"] == memfd]
assert len(m) == 1 and m[0]["event"]["severity"] == 73, m
assert e["vigil"]["procs"]["start_time"] > 0, e
PY
echo "ok: scheduled procs"
