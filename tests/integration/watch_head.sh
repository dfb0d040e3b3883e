#!/bin/sh
# The daemon's scheduled baseline writes a new signed head and reports it
# (issue 8, defect 2): the baseline-generation event carries vigil.head with
# the generation, its digest and a counter that grows, as baseline.head says.
. "$(dirname "$0")/watch_lib.sh"
mkdir -p "$TREE"
echo a >"$TREE/a"
write_config
python3 - "$CONF" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().replace("schedule: []", "schedule:\n  - action: baseline\n    every: 2s")
open(p, "w").write(s)
PY
baseline
c1=$(sed -n 's/^counter //p' "$STATE/baseline.head")
start_daemon
wait_for '"action":"baseline-generation"' 2 60 || fail "no two scheduled baselines"
stop_daemon
python3 - "$EV" "$STATE/baseline.head" "$c1" <<'PY' || fail "head event wrong"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
heads = [e["vigil"]["head"] for e in evs if e["event"]["action"] == "baseline-generation"]
assert len(heads) >= 2, heads
counters = [h["counter"] for h in heads]
assert counters == sorted(counters) and len(set(counters)) == len(counters), counters
assert counters[0] > int(sys.argv[3]), (counters, sys.argv[3])
f = dict(l.split(" ", 1) for l in open(sys.argv[2]).read().splitlines() if " " in l)
last = heads[-1]
assert str(last["generation"]) == f["generation"] and last["digest"] == f["digest"] \
    and str(last["counter"]) == f["counter"], (last, f)
print("ok: heads", heads)
PY
"$VIGIL" --config "$CONF" -q check || fail "check after scheduled baselines exited $?"
echo "ok: the daemon reports each new head"
