#!/bin/sh
# The procs report goes with a memory acquisition: with a process that
# patched one of its own code pages running (tests/helpers/procs-helper.c),
# `vigil memdump` (synthetic kcore, tests/helpers/mkkcore.py) writes
# FILE.procs.json and `vigil capture --memory` the archive member
# memory/procs.json, both naming that page; the archive still verifies;
# --no-procs leaves the side file out.
set -eu
. "$(dirname "$0")/lib.sh"
need_root
command -v python3 >/dev/null || skip "python3 missing"
command -v bsdtar >/dev/null || skip "bsdtar missing"
HELPER="$top_builddir/tests/helpers/procs-helper"
[ -x "$HELPER" ] || fail "$HELPER not built"
H="$top_srcdir/tests/helpers/mkkcore.py"
python3 "$H" "$T/kcore" "$T/iomem"
printf '[none] integrity confidentiality\n' >"$T/lock"
K="--method kcore --kcore $T/kcore --iomem $T/iomem --lockdown $T/lock"

"$HELPER" patch >"$T/patch.out" &
PATCH=$!
on_exit "kill $PATCH"
i=0
until grep -q '^PATCHED ' "$T/patch.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "the helper did not patch itself"; sleep 0.05
done
PAGE=$(awk '{print $2}' "$T/patch.out")
# has_page FILE: the report in FILE names the helper's patched page
has_page() {
	python3 - "$1" "$PATCH" "$PAGE" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
pid, page = int(sys.argv[2]), sys.argv[3]
assert r["verified"] is True, r.keys()
hit = [f for f in r["findings"] if f["pid"] == pid and f["action"] == "process-code-modified" and f["address"] == page]
assert hit, [f for f in r["findings"] if f["pid"] == pid]
PY
}

# memdump: FILE.procs.json
# shellcheck disable=SC2086
"$VIGIL" -q memdump $K -o "$T/d.lime" >/dev/null || fail "memdump exited $?"
has_page "$T/d.lime.procs.json" || fail "memdump: FILE.procs.json does not name the page"
# shellcheck disable=SC2086
"$VIGIL" -q memdump $K --no-procs -o "$T/e.lime" >/dev/null || fail "memdump --no-procs exited $?"
[ ! -e "$T/e.lime.procs.json" ] || fail "--no-procs wrote FILE.procs.json"

# capture --memory: the member memory/procs.json
S="$T/state" D="$T/none"
mkdir -p "$D"
fim_config
V keygen >/dev/null
# shellcheck disable=SC2086
V capture --memory $K --case PROCS-1 -o "$T/out" >"$T/cap" || fail "capture --memory exited $?: $(cat "$T/cap")"
A=$(ls "$T"/out/PROCS-1-*.tar.zst)
V verify "$A" >"$T/ver" || fail "the archive does not verify: $(cat "$T/ver")"
bsdtar -xOf "$A" memory/procs.json >"$T/procs.json" || fail "no memory/procs.json in the archive"
has_page "$T/procs.json" || fail "capture: memory/procs.json does not name the page"
bsdtar -xOf "$A" MANIFEST.json | python3 -c '
import json, sys
m = json.load(sys.stdin)
assert [x for x in m["members"] if x.get("member") == "memory/procs.json"], "not in the manifest"
' || fail "memory/procs.json is not in the manifest"
echo "procs_capture: ok"
