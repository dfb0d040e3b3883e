#!/bin/sh
# vigil capture --memory --lime-mode file, up to what runs without loading a
# module (a real LiME run is `make check-memdump`'s capture-lime-file case):
# a module whose .modinfo fits the running kernel (made with objcopy) that the
# kernel refuses to load.  With --method lime the refusal is recorded (mode
# file, the load's errno) and LiME's spool, created in the evidence dir for
# the module to write, is gone afterwards; with auto, kcore runs instead into
# memory/mem.lime (the fixture's memory, verify passes) and again no spool is
# left; a spool left by a killed capture is removed by the next capture's
# sweep with its temporary archive; --lime-mode with --method kcore is refused.
set -eu
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
command -v bsdtar >/dev/null || skip "bsdtar missing"
command -v objcopy >/dev/null || skip "objcopy missing"
command -v cc >/dev/null || skip "cc missing"
H="$top_srcdir/tests/helpers/mkkcore.py"
python3 "$H" "$T/kcore" "$T/iomem"
printf '[none] integrity confidentiality\n' >"$T/lock"
sh "$top_srcdir/tests/helpers/fake-lime.sh" "$T/lime.ko"
mkdir -p "$T/mods"
S="$T/state" D="$T/none"
mkdir -p "$D"
fim_config
V keygen >/dev/null
M="--memory --kcore $T/kcore --iomem $T/iomem --lockdown $T/lock --modules-root $T/mods --module $T/lime.ko"

only_archive() { # DIR: the archive and its two companions, nothing else (no spool)
	[ "$(ls -A "$1" | wc -l)" -eq 3 ] || fail "$1 holds more than the archive and its companions: $(ls -A "$1")"
}

# 1. --method lime, file mode, the load refused: recorded, no spool left
# shellcheck disable=SC2086
V capture $M --method lime --lime-mode file --case LF-1 -o "$T/out1" >/dev/null 2>"$T/err1" ||
	fail "capture exited $?: $(cat "$T/err1")"
A=$(ls "$T"/out1/LF-1-*.tar.zst)
only_archive "$T/out1"
V verify "$A" >/dev/null || fail "the archive does not verify"
bsdtar -xOf "$A" memory/memdump.json >"$T/rec1.json"
bsdtar -xOf "$A" custody.jsonl >"$T/cust1.jsonl"
python3 - "$T/rec1.json" "$T/cust1.jsonl" <<'PY' || fail "record: $(cat "$T/rec1.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["method"] == "lime" and d["lime"]["mode"] == "file", d
assert d["lime"]["loaded"] is False and d["lime"]["load_errno"] != 0, d["lime"]
assert d["error"].startswith("finit_module"), d
mem = [json.loads(l) for l in open(sys.argv[2]) if '"action":"memory"' in l]
assert len(mem) == 1 and mem[0]["lime_mode"] == "file" and mem[0]["valid"] is False, mem
PY

# 2. auto, file mode, the load refused: kcore runs into the member instead
# shellcheck disable=SC2086
V capture $M --lime-mode file --case LF-2 -o "$T/out2" >/dev/null 2>"$T/err2" ||
	fail "capture exited $?: $(cat "$T/err2")"
A=$(ls "$T"/out2/LF-2-*.tar.zst)
only_archive "$T/out2"
V verify "$A" >"$T/ver2" || fail "the archive does not verify: $(cat "$T/ver2")"
bsdtar -xOf "$A" memory/mem.lime >"$T/mem.lime"
python3 "$H" check "$T/mem.lime" || fail "the member's bytes differ from the fixture's memory"
bsdtar -xOf "$A" custody.jsonl | grep '"action":"memory"' >"$T/mem2.json"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["method"]=="kcore" and m["lime_mode"]=="file" and m["valid"] and "lime failed before any byte: finit_module" in m["why_not_lime"], m' \
	"$T/mem2.json" || fail "custody record: $(cat "$T/mem2.json")"

# 3. a killed capture's spool (and LiME's digest beside it): the next
#    capture's sweep removes them with their temporary archive
mkdir -p "$T/out3"
tmp="$T/out3/.X-vm-20260101T000000Z.tar.zst.tmp.AbCdEf"
: >"$tmp"
: >"$tmp.mem.lime"
: >"$tmp.mem.lime.sha256"
V capture --memory --method kcore --kcore "$T/kcore" --iomem "$T/iomem" --lockdown "$T/lock" --case LF-3 \
	-o "$T/out3" >/dev/null 2>"$T/err3" || fail "capture exited $?: $(cat "$T/err3")"
only_archive "$T/out3"

# 4. --lime-mode is LiME's
expect_rc 2 V capture --memory --method kcore --lime-mode file -o "$T/out4" 2>/dev/null
expect_rc 2 V capture --memory --lime-mode disk -o "$T/out4" 2>/dev/null
[ ! -e "$T/out4" ] || fail "a refused capture left an output dir"
echo ok
