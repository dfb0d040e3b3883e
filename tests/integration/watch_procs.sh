#!/bin/sh
# The daemon's `action: procs` schedule: with a process that patched one of
# its own code pages (tests/helpers/procs-helper.c) and one running from a
# memfd, each scheduled run emits one event per finding: process-code-modified
# (critical, process.pid and executable, vigil.procs.address = the page) and
# process-memfd-exec (high) for those pids; `check-config` takes the action.
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
wait_for '"action":"process-code-modified"' 2 60 || fail "no two scheduled runs reporting the patched page"
wait_for '"action":"process-memfd-exec"' 1 20 || fail "no process-memfd-exec event"
stop_daemon
kill $PATCH $MEMFD 2>/dev/null || :
python3 - "$EV" "$PATCH" "$PAGE" "$MEMFD" <<'PY' || fail "the events do not name the process and the page"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
patch, page, memfd = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
hit = [e for e in ev if e["event"]["action"] == "process-code-modified" and e["process"]["pid"] == patch]
assert hit, "no event for the patched process"
e = hit[0]
assert e["vigil"]["procs"]["address"] == page and e["vigil"]["procs"]["bytes_differing"] == 1, e
assert e["event"]["severity"] == 99 and e["vigil"]["source"] == "procs", e
assert e["process"]["executable"].endswith("procs-helper"), e
m = [e for e in ev if e["event"]["action"] == "process-memfd-exec" and e["process"]["pid"] == memfd]
assert m and m[0]["event"]["severity"] == 73, m
PY
echo "ok: scheduled procs"
