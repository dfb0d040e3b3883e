#!/bin/sh
# `vigil export ARCHIVE DEST_DIR` hands a verified archive over with custody:
#  1. an archive is copied with its .sha256 and .minisig; in DEST, stock
#     `sha256sum -c` and `minisign -V` accept the copy and `vigil verify` does;
#     the ledger gets one `exported` record (the archive's SHA-256, the copy's
#     path, the recipient, the capture's case) and still verifies; `vigil
#     cases` lists the export;
#  2. exporting again into the same dir replaces nothing (exit 3, the copy
#     unchanged, no record);
#  3. an archive with one byte flipped is not exported (exit 1, DEST empty, no
#     record);
#  4. a destination that fills up: exit 3, no file left in DEST (no partial
#     copy under any name), no record;
#  5. SIGTERM mid-copy: the same.
# The archive is a memory capture of the synthetic kcore: no dockerd needed.
set -eu
. "$(dirname "$0")/lib.sh"
need_root
for b in python3 minisign sha256sum; do
	command -v "$b" >/dev/null || skip "$b missing"
done
. "$(dirname "$0")/capture_lib.sh"
kcore_fixture
O="$T/out"
# shellcheck disable=SC2086
V capture $M --case EXP-1 -o "$O" >"$T/cap.out" 2>&1 || fail "capture: $(cat "$T/cap.out")"
A=$(head -n 1 "$T/cap.out")
B=$(basename "$A")
SUM=$(sed -n 's/^sha256 //p' "$T/cap.out")
count() { grep -c '"action":"exported"' "$S/custody.jsonl" || true; }
# refused RC OUT WHAT ARGS...: `vigil export ARGS` exits RC, its output in $T/OUT
refused() {
	_want=$1 _out=$T/$2 _what=$3
	shift 3
	set +e
	V export "$@" >"$_out" 2>&1
	_rc=$?
	set -e
	[ $_rc -eq "$_want" ] || fail "$_what: export exited $_rc, expected $_want: $(cat "$_out")"
}

# 1. exported, checked in DEST with stock tools and vigil
mkdir "$T/usb"
V export --to "Det. Smith, evidence room" --note "for the lab" "$A" "$T/usb" >"$T/e1" 2>&1 ||
	fail "export: $(cat "$T/e1")"
for f in "$B" "$B.sha256" "$B.minisig"; do
	[ -f "$T/usb/$f" ] || fail "export did not write $f: $(ls -A "$T/usb")"
done
[ "$(ls -A "$T/usb" | wc -l)" -eq 3 ] || fail "export left more than three files: $(ls -A "$T/usb")"
(cd "$T/usb" && sha256sum -c --quiet "$B.sha256") || fail "sha256sum -c rejects the copy"
minisign -Vm "$T/usb/$B" -p "$S/vigil.pub" >/dev/null || fail "minisign -V rejects the copy"
V verify "$T/usb/$B" >/dev/null || fail "vigil verify rejects the copy"
cmp -s "$A" "$T/usb/$B" || fail "the copy differs from the archive"
[ "$(count)" -eq 1 ] || fail "expected one exported record, got $(count)"
R=$(grep '"action":"exported"' "$S/custody.jsonl")
for want in "\"sha256\":\"$SUM\"" "\"destination\":\"$T/usb/$B\"" '"case":"EXP-1"' \
	'"to":"Det. Smith, evidence room"' '"note":"for the lab"' '"acquired_seq":'; do
	printf '%s' "$R" | grep -qF "$want" || fail "exported record lacks $want: $R"
done
grep -q "sha256 $SUM" "$T/e1" || fail "export does not print the digest: $(cat "$T/e1")"
V verify --ledger >/dev/null || fail "the ledger does not verify after the export"
V cases >"$T/cases"
grep -P "^EXP-1\t.*\texported\t$T/usb/$B\t$SUM" "$T/cases" >/dev/null || fail "cases lacks the export: $(cat "$T/cases")"

# 2. never replaces a file
refused 3 e2 "a second export into the same dir" "$A" "$T/usb"
grep -q "exists" "$T/e2" || fail "the refusal does not say the file exists: $(cat "$T/e2")"
cmp -s "$A" "$T/usb/$B" || fail "the second export changed the copy"
[ "$(ls -A "$T/usb" | wc -l)" -eq 3 ] || fail "the refused export left files: $(ls -A "$T/usb")"
[ "$(count)" -eq 1 ] || fail "a refused export was recorded"

# 3. a tampered archive is not exported
mkdir "$T/t" "$T/usb2"
cp "$A" "$A.sha256" "$A.minisig" "$T/t/"
flip_byte "$T/t/$B" $(($(stat -c %s "$A") / 2))
refused 1 e3 "a tampered archive" "$T/t/$B" "$T/usb2"
grep -q "NOT EXPORTED" "$T/e3" || fail "no NOT EXPORTED: $(cat "$T/e3")"
[ -z "$(ls -A "$T/usb2")" ] || fail "a tampered archive was copied: $(ls -A "$T/usb2")"
[ "$(count)" -eq 1 ] || fail "a tampered archive's export was recorded"

# 4. the destination fills up mid-copy: 8 KiB left for a larger archive
size=$(stat -c %s "$A")
[ "$size" -gt 16384 ] || fail "the archive is too small ($size bytes) to fill the tmpfs"
mkdir "$T/full"
mount -t tmpfs -o size=128k,mode=0700 vigil-export-full "$T/full" || fail "cannot mount a tmpfs"
on_exit "umount $T/full"
dd if=/dev/zero of="$T/full/filler" bs=4k count=30 2>/dev/null
refused 3 e4 "a full destination" "$A" "$T/full"
grep -q "No space left" "$T/e4" || fail "the error does not say the disk is full: $(cat "$T/e4")"
[ "$(ls -A "$T/full")" = filler ] || fail "a failed export left files: $(ls -A "$T/full")"
[ "$(count)" -eq 1 ] || fail "a failed export was recorded"

# 5. SIGTERM mid-copy (VIGIL_TEST_STOP_IN_EXPORT=1: stopped after the first
#    chunk): exit 3, cancelled, no file left in DEST, no record
mkdir "$T/usb3"
VIGIL_TEST_STOP_IN_EXPORT=1 "$VIGIL" -q --config "$T/vigil.yaml" export "$A" "$T/usb3" >"$T/e5" 2>&1 &
P=$!
on_exit "kill -KILL $P"
stopped "$P"
[ -n "$(ls -A "$T/usb3")" ] || fail "no temporary copy while the export is stopped mid-copy"
kill -TERM "$P"
kill -CONT "$P"
set +e
wait "$P"
rc=$?
set -e
[ $rc -eq 3 ] || fail "export after SIGTERM exited $rc: $(cat "$T/e5")"
grep -q "cancelled" "$T/e5" || fail "the error does not say cancelled: $(cat "$T/e5")"
[ -z "$(ls -A "$T/usb3")" ] || fail "a cancelled export left files: $(ls -A "$T/usb3")"
[ "$(count)" -eq 1 ] || fail "a cancelled export was recorded"
V verify --ledger >/dev/null || fail "the ledger does not verify at the end"
echo "ok: export copies, checks, records; refuses to replace, to export a tampered archive; a full disk and SIGTERM leave nothing"
