#!/bin/sh
# vigil memdump: the kcore method end to end on a synthetic /proc/kcore and
# /proc/iomem (tests/helpers/mkkcore.py: overlapping text segment, vmalloc
# p_paddr -1, a range ending mid-page past its segment, a range no segment
# covers fully); the file, FILE.sha256 (sha256sum -c) and FILE.json;
# --validate against iomem; a truncated or corrupted dump refused; auto under
# lockdown=integrity (kcore runs, LiME said why not) and confidentiality
# (nothing runs, both reasons); a real lime.ko whose vermagic does not fit the
# running kernel refused with the reason; iomem as non-root (addresses 0);
# and, where the kernel has /proc/kcore, a bounded real dump checked against
# the real /proc/iomem (this test machine's kernel has no /proc/kcore: that
# part says so and is not run).
set -eu
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
H="$top_srcdir/tests/helpers/mkkcore.py"
python3 "$H" "$T/kcore" "$T/iomem"
printf 'none [integrity] confidentiality\n' >"$T/lock-int"
printf 'none integrity [confidentiality]\n' >"$T/lock-conf"
printf '[none] integrity confidentiality\n' >"$T/lock-none"
K="--kcore $T/kcore --iomem $T/iomem"

# 1. kcore: valid, every byte the fixture's or a listed hole
# shellcheck disable=SC2086
"$VIGIL" memdump --method kcore $K --lockdown "$T/lock-none" -o "$T/d.lime" >"$T/out" || fail "kcore dump exited $?"
grep -q "kcore, 1059936 bytes, 3 ranges" "$T/out" || fail "summary: $(cat "$T/out")"
(cd "$T" && sha256sum -c d.lime.sha256 >/dev/null) || fail "FILE.sha256 does not match the dump"
python3 "$H" check "$T/d.lime" || fail "dump bytes differ from the fixture's memory"
"$VIGIL" memdump --validate "$T/d.lime" --iomem "$T/iomem" >"$T/val" || fail "--validate exited $?"
grep -q '^range 0x1000-0x9fbff$' "$T/val" && grep -q '^range 0x200000-0x203fff$' "$T/val" || fail "ranges: $(cat "$T/val")"
grep -q '^gap 0x9f000-0x9fbff$' "$T/val" || fail "the mid-page tail is not listed as a gap: $(cat "$T/val")"
python3 - "$T/d.lime.json" <<'PY' || fail "sidecar: $(cat "$T/d.lime.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["method"] == "kcore" and d["valid"] is True, d
assert d["not_run"]["lime"] == "not asked (--method kcore)", d["not_run"]
assert [r["start"] for r in d["ranges"]] == [r["start"] for r in d["system_ram"]] == ["0x1000", "0x100000", "0x200000"]
assert d["kcore"]["segments"] == 4 and d["kcore"]["holes"] == 2, d["kcore"]
assert d["kcore"]["hole_ranges"][0] == {"start": "0x9f000", "end": "0x9fbff", "bytes": 3072}
assert d["kernel"]["boot_id"] and d["kernel"]["release"]
PY
# 2. an existing output is never overwritten
# shellcheck disable=SC2086
expect_rc 2 "$VIGIL" memdump --method kcore $K -o "$T/d.lime" 2>/dev/null
# 3. --max-bytes: the ranges cut, still valid against the cut plan
# shellcheck disable=SC2086
"$VIGIL" memdump --method kcore $K --lockdown "$T/lock-none" --max-bytes 700K -o "$T/m.lime" >/dev/null
"$VIGIL" memdump --validate "$T/m.lime" --iomem "$T/iomem" --max-bytes 700K >"$T/val" || fail "cut dump invalid"
grep -q '^range 0x100000-0x1103ff$' "$T/val" || fail "cut ranges: $(cat "$T/val")"
expect_rc 3 "$VIGIL" memdump --validate "$T/m.lime" --iomem "$T/iomem" 2>"$T/err"
grep -q 'unexpected-range' "$T/err" || fail "a cut dump against the whole iomem: $(cat "$T/err")"
# 4. truncated and corrupted dumps are refused with the reason
head -c 500000 "$T/d.lime" >"$T/trunc.lime"
expect_rc 3 "$VIGIL" memdump --validate "$T/trunc.lime" 2>"$T/err"
grep -q 'truncated-data' "$T/err" || fail "truncation: $(cat "$T/err")"
cp "$T/d.lime" "$T/bad.lime"
flip_byte "$T/bad.lime" 0
expect_rc 3 "$VIGIL" memdump --validate "$T/bad.lime" 2>"$T/err"
grep -q 'bad-magic' "$T/err" || fail "bad magic: $(cat "$T/err")"
# 5. auto under lockdown=integrity: LiME is not tried (said why), kcore runs
# shellcheck disable=SC2086
"$VIGIL" memdump --method auto $K --lockdown "$T/lock-int" -o "$T/a.lime" >/dev/null || fail "auto/integrity exited $?"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['method']=='kcore' and 'lockdown (integrity)' in d['not_run']['lime'], d" "$T/a.lime.json" \
	|| fail "auto/integrity record: $(cat "$T/a.lime.json")"
# 6. confidentiality: nothing can run; both reasons; no dump file left
# shellcheck disable=SC2086
expect_rc 3 "$VIGIL" memdump --method auto $K --lockdown "$T/lock-conf" -o "$T/c.lime" 2>"$T/err"
grep -q 'confidentiality' "$T/err" || fail "confidentiality: $(cat "$T/err")"
[ ! -e "$T/c.lime" ] && [ ! -e "$T/c.lime.part" ] || fail "a failed dump left a file"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['method']=='none' and d['not_run']['lime'] and d['not_run']['kcore'], d" "$T/c.lime.json" \
	|| fail "confidentiality record"
# 7. kcore absent
expect_rc 3 "$VIGIL" memdump --method kcore --kcore "$T/none" --iomem "$T/iomem" --lockdown "$T/lock-none" -o "$T/n.lime" 2>"$T/err"
grep -q 'kcore absent' "$T/err" || fail "kcore absent: $(cat "$T/err")"
# 8. a real lime.ko (DKMS build for Debian's kernel) that does not fit the running kernel
ko=$(ls /lib/modules/*/updates/dkms/lime.ko 2>/dev/null | grep -v "/$(uname -r)/" | head -n1 || true)
if [ -n "$ko" ]; then
	# shellcheck disable=SC2086
	expect_rc 3 "$VIGIL" memdump --method lime --module "$ko" $K --lockdown "$T/lock-none" -o "$T/l.lime" 2>"$T/err"
	grep -q "vermagic mismatch.*$(uname -r)" "$T/err" || fail "vermagic: $(cat "$T/err")"
	# auto falls back to kcore and records why LiME did not run
	# shellcheck disable=SC2086
	"$VIGIL" memdump --module "$ko" $K --lockdown "$T/lock-none" -o "$T/f.lime" >/dev/null || fail "auto fallback exited $?"
	grep -q '"lime": "vermagic mismatch' "$T/f.lime.json" || fail "fallback record: $(cat "$T/f.lime.json")"
else
	skip "no lime.ko built by lime-forensics-dkms for another kernel (scripts/setup.sh test installs it)"
fi
# 9. iomem as non-root: every address reads 0; refused with the reason
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	chmod 1777 "$T"
	expect_rc 3 setpriv --reuid=65534 --regid=65534 --clear-groups "$VIGIL" memdump --method kcore \
		--kcore "$T/kcore" --lockdown "$T/lock-none" -o "$T/u.lime" 2>"$T/err"
	grep -q 'root only' "$T/err" || fail "non-root iomem: $(cat "$T/err")"
fi
# 10. the real /proc/kcore, bounded, against the real /proc/iomem
if [ -r /proc/kcore ] && [ "$(id -u)" -eq 0 ]; then
	"$VIGIL" memdump --method kcore --max-bytes 8M -o "$T/r.lime" >/dev/null || fail "real kcore dump exited $?"
	"$VIGIL" memdump --validate "$T/r.lime" --iomem /proc/iomem --max-bytes 8M >/dev/null || fail "real dump invalid"
	echo "real /proc/kcore: 8 MiB dumped and validated against /proc/iomem"
else
	echo "note: /proc/kcore is absent on this kernel ($(uname -r)) or not root: the real-kcore part did not run"
fi
echo "memdump_kcore: ok"
