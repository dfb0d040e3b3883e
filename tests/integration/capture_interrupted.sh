#!/bin/sh
# A capture killed hard leaves its temporary archive `.NAME.tmp.XXXXXX` and an
# `acquired` ledger record with nothing after it: made visible, then cleaned,
# never silently (agent/capture/evw_sweep.c).
#  1. capture A stops itself right after its `acquired` record
#     (VIGIL_TEST_STOP_AFTER_ACQUIRED=1 raises SIGSTOP: no race with a fast
#     capture); capture B runs to the end meanwhile: B's sweep leaves A's
#     temporary archive alone (A's writer holds its lock), `vigil cases` says A
#     is running;
#  2. A is SIGKILLed: `vigil cases` says "interrupted: no seal or failure
#     recorded", `vigil verify --ledger` passes and counts it;
#  3. the next capture removes A's temporary archive and its signature's and
#     digest's leftovers, the ledger gets exactly one `failed` record for A
#     ("interrupted: found unfinished at ..., temporary removed"), cases says
#     failed, the ledger still verifies; a second sweep adds nothing;
#  4. the daemon sweeps at start: an interrupted capture's file is removed, a
#     `failed` record and a capture-failed event.
# Memory captures of the synthetic kcore (as capture_memory.sh): no dockerd.
set -eu
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
. "$(dirname "$0")/capture_lib.sh"
kcore_fixture
O="$T/out"
count() { grep -c "$1" "$S/custody.jsonl" || true; }

# 1. A stops after `acquired`; B runs meanwhile
# shellcheck disable=SC2086
VIGIL_TEST_STOP_AFTER_ACQUIRED=1 "$VIGIL" -q --config "$T/vigil.yaml" capture $M --case INT-A -o "$O" \
	>"$T/a.out" 2>&1 &
A=$!
on_exit "kill -KILL $A"
stopped "$A"
TMPA=$(ls -d "$O"/.INT-A-*.tmp.* 2>/dev/null) || fail "no temporary archive of A in $O: $(ls -a "$O")"
[ "$(printf '%s\n' "$TMPA" | wc -l)" -eq 1 ] || fail "A has more than one temporary file: $TMPA"
grep '"action":"acquired"' "$S/custody.jsonl" | grep -q '"case":"INT-A"' || fail "no acquired record for A"
# shellcheck disable=SC2086
V capture $M --case INT-B -o "$O" >"$T/b.out" 2>&1 || fail "capture B: $(cat "$T/b.out")"
[ -f "$TMPA" ] || fail "B's sweep removed the running capture A's temporary archive"
[ "$(count '"action":"failed"')" -eq 0 ] || fail "B's sweep recorded a failure: $(grep failed "$S/custody.jsonl")"
V cases >"$T/cases1"
grep -P '^INT-A\t.*\trunning\t' "$T/cases1" >/dev/null || fail "cases does not say A runs: $(cat "$T/cases1")"
grep -P '^INT-B\t.*\tarchived\t' "$T/cases1" >/dev/null || fail "cases does not list B: $(cat "$T/cases1")"

# 2. A killed hard: interrupted, visible
kill -KILL "$A"
wait "$A" 2>/dev/null || true
[ -f "$TMPA" ] || fail "A's temporary archive vanished with A (the test proves nothing)"
# leftovers of a kill during the signing: the signature's and the digest's temporaries
NAME=$(basename "$TMPA" | sed 's/^\.//; s/\.tmp\.[^.]*$//')
: >"$TMPA.minisig"
: >"$TMPA.minisig.tmp-0123456789ab"
: >"$O/$NAME.sha256.tmp-0123456789ab"
V cases >"$T/cases2"
grep -P '^INT-A\t.*\tinterrupted\t'"$NAME"'\tinterrupted: no seal or failure recorded$' "$T/cases2" >/dev/null ||
	fail "cases does not say A was interrupted: $(cat "$T/cases2")"
V cases --json | grep '"action":"interrupted"' | grep -q '"case":"INT-A"' || fail "cases --json: no interrupted A"
V verify --ledger >"$T/vl1" || fail "the ledger does not verify: $(cat "$T/vl1")"
grep -q '1 capture interrupted' "$T/vl1" || fail "verify --ledger does not count the interrupted capture: $(cat "$T/vl1")"

# 3. the next capture sweeps: everything of A removed, one `failed` record
# shellcheck disable=SC2086
V capture $M --case INT-C -o "$O" >"$T/c.out" 2>&1 || fail "capture C: $(cat "$T/c.out")"
for f in "$TMPA" "$TMPA.minisig" "$TMPA.minisig.tmp-0123456789ab" "$O/$NAME.sha256.tmp-0123456789ab"; do
	[ ! -e "$f" ] || fail "the sweep left $f"
done
for f in "$O"/.[!.]* "$O"/*; do
	case "$f" in "$O"/*.tar.zst | "$O"/*.tar.zst.sha256 | "$O"/*.tar.zst.minisig | "$O/.[!.]*") ;; *) fail "left in $O: $f" ;; esac
done
[ "$(count '"action":"failed"')" -eq 1 ] || fail "not exactly one failed record: $(grep failed "$S/custody.jsonl")"
python3 - "$S/custody.jsonl" "$TMPA" "$NAME" <<'PY' || fail "the failed record"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
acq = [r for r in recs if r["action"] == "acquired" and r["case"] == "INT-A"][0]
f = [r for r in recs if r["action"] == "failed"][0]
assert f["case"] == "INT-A" and f["archive"] == sys.argv[3] and f["acquired_seq"] == acq["seq"], f
assert f["tmp"].endswith("/" + sys.argv[2].rsplit("/", 1)[1]) and acq["tmp"] == sys.argv[2], (f, acq)
assert f["error"].startswith("interrupted: found unfinished at ") and f["error"].endswith(", temporary removed"), f
# C's own records come after the failure: the sweep ran before C began
c = [r["seq"] for r in recs if r["case"] == "INT-C"]
assert f["seq"] < min(c), (f, c)
PY
V cases >"$T/cases3"
grep -P '^INT-A\t.*\tfailed\t'"$NAME"'\tinterrupted: found unfinished at .*, temporary removed$' "$T/cases3" \
	>/dev/null || fail "cases does not say A failed: $(cat "$T/cases3")"
grep -q 'interrupted: no seal' "$T/cases3" && fail "A is still listed as interrupted: $(cat "$T/cases3")"
V verify --ledger >"$T/vl2" || fail "the ledger does not verify after the sweep: $(cat "$T/vl2")"
grep -q 'interrupted' "$T/vl2" && fail "verify --ledger still counts an interrupted capture: $(cat "$T/vl2")"
V verify "$(ls "$O"/INT-C-*.tar.zst)" >/dev/null || fail "C's archive does not verify"
# a second sweep: nothing more
N=$(wc -l <"$S/custody.jsonl")
# shellcheck disable=SC2086
V capture $M --case INT-D -o "$O" >"$T/d.out" 2>&1 || fail "capture D: $(cat "$T/d.out")"
[ "$(count '"action":"failed"')" -eq 1 ] || fail "the second sweep appended a failed record"
[ "$(grep -vc '"case":"INT-D"' "$S/custody.jsonl")" -eq "$N" ] || fail "the second sweep appended records"

# 4. the daemon sweeps at start
# shellcheck disable=SC2086
VIGIL_TEST_STOP_AFTER_ACQUIRED=1 "$VIGIL" -q --config "$T/vigil.yaml" capture $M --case INT-E -o "$S/evidence" \
	>"$T/e.out" 2>&1 &
E=$!
on_exit "kill -KILL $E"
stopped "$E"
kill -KILL "$E"
wait "$E" 2>/dev/null || true
TMPE=$(ls -d "$S"/evidence/.INT-E-*.tmp.*) || fail "no temporary archive of E"
daemon_start_stop capture-failed INT-E
[ ! -e "$TMPE" ] || fail "the daemon did not sweep $TMPE at start: $(cat "$T/daemon.err")"
grep 'capture-failed' "$T/events" | grep -q 'INT-E' || fail "no capture-failed event for E: $(cat "$T/events")"
grep '"action":"failed"' "$S/custody.jsonl" | grep -q '"case":"INT-E"' || fail "no failed record for E"
[ "$(count '"action":"failed"')" -eq 2 ] || fail "not exactly two failed records"
V verify --ledger >/dev/null || fail "the ledger does not verify after the daemon's sweep"
echo "ok"
