#!/bin/sh
# Captures interrupted after their archive's rename, and interrupted captures
# in other output dirs, closed by the ledger's sweep
# (agent/capture/evw_recover.c); memory captures of the synthetic kcore (as
# capture_interrupted.sh): no dockerd.
#  1. capture A stops itself right after the rename, before its `archived`
#     record (VIGIL_TEST_STOP_AFTER_RENAME=1 raises SIGSTOP): `cases` says
#     running and `cases --sweep` leaves it alone while its writer lives
#     (it holds the archive's lock); SIGKILLed: `cases` says "interrupted:
#     sealed, but no archive ..."; two `cases --sweep` at once append exactly
#     one `archived` record ("recovered": "sweep", with when) with the
#     archive's SHA-256; the archive is untouched and verifies; again: nothing;
#  2. the same with a byte of the archive flipped before the sweep: one
#     `failed` record naming why, the archive left as it is;
#  3. the same with the archive removed: one `failed` record;
#  4. an interrupted capture in another dir (-o O2): the next capture, into
#     O1, removes its temporary archive and records it (the sweep visits
#     every dir the ledger's open captures name);
#  5. dirs not there, or not the one written into (media "unmounted": the
#     dir moved away, an empty one in its place): reported, left open, no dir
#     created, exit 0; back in place: closed;
#  6. the daemon's start sweeps a dir other than its evidence dir: the
#     archive of a capture killed after its rename recorded, a
#     capture-completed event with "recovered"; the sweep runs on its own
#     thread (delayed by VIGIL_TEST_SWEEP_DELAY_MS): a file added meanwhile
#     is reported before the sweep's event;
#  7. a dir gone for good: left open by the sweep, closed by hand (`cases
#     --close SEQ --why TEXT`: a `failed` record saying why and who); refused
#     for a capture whose dir is there, and for one already closed.
set -eu
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
. "$(dirname "$0")/capture_lib.sh"
kcore_fixture
L="$S/custody.jsonl"

# killed KNOB CASE DIR: a capture stopped by the test knob KNOB, then SIGKILLed
killed() {
	# shellcheck disable=SC2086
	env "VIGIL_TEST_STOP_AFTER_$1=1" "$VIGIL" -q --config "$T/vigil.yaml" capture $M --case "$2" -o "$3" \
		>"$T/$2.out" 2>&1 &
	_p=$!
	on_exit "kill -KILL $_p"
	stopped "$_p"
	[ "$1" = RENAME ] && [ -n "${HOLD:-}" ] && { HELD=$_p; return 0; }
	kill -KILL "$_p"
	wait "$_p" 2>/dev/null || true
}
n() { grep '"case":"'"$1"'"' "$L" | grep -c "\"action\":\"$2\"" || true; }
sweep() { "$VIGIL" --config "$T/vigil.yaml" cases --sweep >"$T/cases" 2>"$T/sweep.err" || fail "cases --sweep: $(cat "$T/sweep.err")"; }

# 1. killed after the rename
HOLD=1 killed RENAME REC-A "$T/o1"
A=$(ls "$T"/o1/REC-A-*.tar.zst) || fail "A's archive is not under its final name: $(ls -a "$T/o1")"
ls "$T"/o1/.REC-A-* 2>/dev/null && fail "A's temporary archive is still there"
[ "$(n REC-A sealed)" -eq 1 ] && [ "$(n REC-A archived)" -eq 0 ] || fail "A: not sealed-only: $(cat "$L")"
V cases | grep -P '^REC-A\t.*\trunning\t' >/dev/null || fail "cases does not say A runs: $(V cases)"
sweep
[ "$(n REC-A archived)" -eq 0 ] && [ "$(n REC-A failed)" -eq 0 ] || fail "the sweep closed A while its writer lives"
kill -KILL "$HELD"
wait "$HELD" 2>/dev/null || true
HOLD=
V cases | grep -P '^REC-A\t.*\tinterrupted\t.*\tinterrupted: sealed, but no archive or failure recorded$' \
	>/dev/null || fail "cases does not say A was interrupted: $(V cases)"
SUM=$(sha256sum "$A" | cut -d' ' -f1)
STAT=$(stat -c '%i %s %Y %Z' "$A")
sweep & P1=$!
V cases --sweep >/dev/null 2>&1 & P2=$!
wait "$P1" || fail "the first sweep"
wait "$P2" || fail "the second sweep"
[ "$(n REC-A archived)" -eq 1 ] && [ "$(n REC-A failed)" -eq 0 ] || fail "A: not one archived record: $(cat "$L")"
python3 - "$L" "$A" "$SUM" <<'PY' || fail "A's archived record"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
acq = [r for r in recs if r["case"] == "REC-A" and r["action"] == "acquired"][0]
sea = [r for r in recs if r["case"] == "REC-A" and r["action"] == "sealed"][0]
a = [r for r in recs if r["case"] == "REC-A" and r["action"] == "archived"][0]
assert a["archive"] == sys.argv[2] and a["sha256"] == sys.argv[3] and a["seal"] == sea["seal"], a
assert a["acquired_seq"] == acq["seq"] and a["recovered"] == "sweep" and a["recovered_at"].endswith("Z"), a
assert "interrupted after the rename" in a["note"], a
PY
[ "$(sha256sum "$A" | cut -d' ' -f1)" = "$SUM" ] && [ "$(stat -c '%i %s %Y %Z' "$A")" = "$STAT" ] ||
	fail "the sweep changed the archive"
V cases | grep -P '^REC-A\t.*\tarchived\t'"$A"'\t'"$SUM"' \(recovered by the sweep' >/dev/null ||
	fail "cases: A not archived: $(V cases)"
V verify "$A" >/dev/null || fail "A's archive does not verify"
V verify --ledger >"$T/vl" || fail "the ledger does not verify: $(cat "$T/vl")"
grep -q interrupted "$T/vl" && fail "verify --ledger still counts an interrupted capture: $(cat "$T/vl")"
N=$(wc -l <"$L")
sweep
[ "$(wc -l <"$L")" -eq "$N" ] || fail "a second sweep appended: $(tail -n +$((N + 1)) "$L")"

# 2. killed after the rename, a byte of its archive flipped
killed RENAME REC-B "$T/o1"
B=$(ls "$T"/o1/REC-B-*.tar.zst)
flip_byte "$B" 100
SUM=$(sha256sum "$B" | cut -d' ' -f1)
sweep
[ "$(n REC-B failed)" -eq 1 ] && [ "$(n REC-B archived)" -eq 0 ] || fail "B: not one failed record: $(cat "$L")"
grep '"case":"REC-B"' "$L" | grep '"action":"failed"' |
	grep -Eq 'interrupted after the rename: found at [^,]*, (it does not verify|.*does not name its SHA-256).*left as it is' ||
	fail "B's failed record does not say why: $(grep REC-B "$L")"
[ "$(sha256sum "$B" | cut -d' ' -f1)" = "$SUM" ] || fail "the sweep changed B's archive"
grep -q "case REC-B: archive '$B': interrupted after the rename" "$T/sweep.err" || fail "not said: $(cat "$T/sweep.err")"

# 3. killed after the rename, its archive removed
killed RENAME REC-C "$T/o1"
rm "$T"/o1/REC-C-*.tar.zst
sweep
[ "$(n REC-C failed)" -eq 1 ] || fail "C: not one failed record: $(grep REC-C "$L")"
grep '"case":"REC-C"' "$L" | grep '"action":"failed"' |
	grep -q 'interrupted after its seal: neither its archive nor its temporary archive is in' ||
	fail "C's failed record does not say why: $(grep REC-C "$L")"

# 4. another dir's interrupted capture, swept by a capture into o1
killed ACQUIRED REC-D "$T/o2"
TMPD=$(ls -d "$T"/o2/.REC-D-*.tmp.*) || fail "no temporary archive of D"
# shellcheck disable=SC2086
V capture $M --case REC-E -o "$T/o1" >"$T/e.out" 2>&1 || fail "capture E: $(cat "$T/e.out")"
[ ! -e "$TMPD" ] || fail "the capture into o1 did not sweep o2"
[ "$(n REC-D failed)" -eq 1 ] || fail "D: not one failed record: $(grep REC-D "$L")"

# 5. a dir that is not there, one that is another dir; back in place: closed
killed ACQUIRED REC-F "$T/o3"
mv "$T/o3" "$T/o3.away"
killed RENAME REC-G "$T/o4"
mv "$T/o4" "$T/o4.away"
mkdir "$T/o4"
N=$(wc -l <"$L")
sweep
[ "$(wc -l <"$L")" -eq "$N" ] || fail "records for dirs not there: $(tail -n +$((N + 1)) "$L")"
[ ! -e "$T/o3" ] || fail "the sweep created o3"
grep -q "not a directory" "$T/sweep.err" && fail "a dir not there said to be no directory: $(cat "$T/sweep.err")"
grep -q "case REC-F: .*'$T/o3', which is not there" "$T/sweep.err" || fail "F not said: $(cat "$T/sweep.err")"
grep -q "case REC-G: .*'$T/o4', which is not the dir it wrote into" "$T/sweep.err" ||
	fail "G not said: $(cat "$T/sweep.err")"
grep -P '^REC-F\t.*\tinterrupted\t' "$T/cases" >/dev/null || fail "F not listed: $(cat "$T/cases")"
rmdir "$T/o4"
mv "$T/o3.away" "$T/o3"
mv "$T/o4.away" "$T/o4"
sweep
[ "$(n REC-F failed)" -eq 1 ] && [ "$(n REC-G archived)" -eq 1 ] || fail "F, G not closed: $(grep 'REC-[FG]' "$L")"
[ -z "$(ls -A "$T/o3")" ] || fail "F's temporary archive left: $(ls -a "$T/o3")"

# 6. the daemon's start sweeps another dir
killed RENAME REC-H "$T/o5"
VIGIL_TEST_SWEEP_DELAY_MS=1500
export VIGIL_TEST_SWEEP_DELAY_MS
daemon_start
unset VIGIL_TEST_SWEEP_DELAY_MS
echo x >"$D/during-the-sweep"
daemon_wait file-added "$D/during-the-sweep"
grep -q '"file-added".*during-the-sweep' "$T/events" || fail "no file-added event while the sweep ran"
grep '"capture-completed"' "$T/events" | grep -q REC-H && fail "the sweep held the loop: its event came first"
daemon_wait capture-completed REC-H
daemon_stop
[ "$(n REC-H archived)" -eq 1 ] || fail "the daemon did not record H's archive: $(grep REC-H "$L")"
grep '"capture-completed"' "$T/events" | grep 'REC-H' | grep -q '"recovered":true' ||
	fail "no capture-completed event for H: $(cat "$T/events")"
# 7. a dir gone for good: the sweep leaves it open, the examiner closes it by
#    hand (`cases --close SEQ --why`); not a running capture, nor one whose
#    dir is there (the sweep's), nor one already closed
seq_of() { python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("action") == "acquired" and r.get("case") == sys.argv[2]: print(r["seq"])' "$L" "$1"; }
killed ACQUIRED REC-I "$T/o6"
rm -rf "$T/o6"
sweep
[ "$(n REC-I failed)" -eq 0 ] || fail "I closed by a sweep with its dir gone"
killed ACQUIRED REC-J "$T/o7"
SI=$(seq_of REC-I) SJ=$(seq_of REC-J)
set +e
"$VIGIL" -q --config "$T/vigil.yaml" cases --close "$SJ" --why "J's dir is there" 2>"$T/close.err"
rc=$?
set -e
[ $rc -eq 3 ] && grep -q "its output dir '$T/o7' is there: .vigil cases --sweep. closes it" "$T/close.err" ||
	fail "closing J (its dir there) by hand: exit $rc: $(cat "$T/close.err")"
expect_rc 2 "$VIGIL" -q --config "$T/vigil.yaml" cases --close "$SI"
"$VIGIL" -q --config "$T/vigil.yaml" cases --close "$SI" --why "USB stick lost in transit" >"$T/close.out" ||
	fail "cases --close: $(cat "$T/close.out")"
[ "$(n REC-I failed)" -eq 1 ] || fail "I: not one failed record: $(grep REC-I "$L")"
grep '"case":"REC-I"' "$L" | grep '"action":"failed"' | grep -q '"error":"closed by hand: USB stick lost in transit"' ||
	fail "I's record does not say why: $(grep REC-I "$L")"
grep '"case":"REC-I"' "$L" | grep '"action":"failed"' | grep -q '"closed_by":' || fail "I's record lacks closed_by"
expect_rc 3 "$VIGIL" -q --config "$T/vigil.yaml" cases --close "$SI" --why again
[ "$(n REC-I failed)" -eq 1 ] || fail "I closed twice"
[ ! -e "$T/o6" ] || fail "closing by hand created the dir"
sweep
[ "$(n REC-J failed)" -eq 1 ] || fail "J not closed by the sweep: $(grep REC-J "$L")"
V verify --ledger >/dev/null || fail "the ledger does not verify at the end"
echo "ok"
