#!/bin/sh
# vigil capture --memory on the synthetic /proc/kcore and /proc/iomem the
# memdump tests use (tests/helpers/mkkcore.py): the dump streams into the
# archive member memory/mem.lime (nothing else written), its bytes are the
# fixture's memory, the manifest entry carries the memdump record (method,
# why LiME did not run, ranges, gaps, holes), the ledger a `memory` record
# naming the method, and `vigil verify` passes; then a LiME header byte
# flipped inside the member, with the manifest's size and SHA-256 and the
# seal rewritten to match, is caught by verify's format check, naming the
# member and the fault; with no method able to run the archive still verifies
# and says why; --max-bytes without --method kcore is refused.
set -eu
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 missing"
command -v bsdtar >/dev/null || skip "bsdtar missing"
. "$(dirname "$0")/capture_lib.sh"
kcore_fixture
H="$top_srcdir/tests/helpers/mkkcore.py"

# 1. the member verifies, holds the fixture's memory, the record says how
# shellcheck disable=SC2086
V capture $M --case MEM-1 -o "$T/out" >"$T/cap" || fail "capture --memory exited $?: $(cat "$T/cap")"
A=$(ls "$T"/out/MEM-1-*.tar.zst)
[ "$(ls "$T/out" | wc -l)" -eq 3 ] || fail "more than the archive and its companions in the evidence dir: $(ls "$T/out")"
V verify "$A" >"$T/ver" || fail "the memory archive does not verify: $(cat "$T/ver")"
bsdtar -xOf "$A" memory/mem.lime >"$T/mem.lime"
python3 "$H" check "$T/mem.lime" || fail "the member's bytes differ from the fixture's memory"
bsdtar -xOf "$A" MANIFEST.json >"$T/man.json"
bsdtar -xOf "$A" custody.jsonl >"$T/cust.jsonl"
python3 - "$T/man.json" "$T/cust.jsonl" "$T/mem.lime" <<'PY' || fail "manifest or custody record"
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
e = [x for x in m["members"] if x.get("member") == "memory/mem.lime"][0]
d = e["memdump"]
assert e["sha256"] == hashlib.sha256(open(sys.argv[3], "rb").read()).hexdigest() == d["sha256"], e
assert d["method"] == "kcore" and d["valid"] is True, d
assert d["not_run"]["lime"] == "not asked (--method kcore)", d["not_run"]
assert [r["start"] for r in d["ranges"]] == ["0x1000", "0x100000", "0x200000"], d["ranges"]
assert d["kcore"]["holes"] == 2 and d["gaps"]["count"] == 2, d
assert d["kernel"]["boot_id"] and d["host_changes"] == [], d
recs = [json.loads(l) for l in open(sys.argv[2])]
mem = [r for r in recs if r["action"] == "memory"]
assert len(mem) == 1 and mem[0]["method"] == "kcore" and mem[0]["member"] == "memory/mem.lime", recs
assert mem[0]["lime_sha256"] == d["sha256"] and mem[0]["case"] == "MEM-1", mem
PY

# 2. a LiME header byte flipped, every hash and the seal made to match: only
#    the format check can see it
# shellcheck disable=SC2086
V capture $M --case MEM-2 --compress none -o "$T/out2" >/dev/null || fail "capture --compress none"
A2=$(ls "$T"/out2/MEM-2-*.tar)
V verify "$A2" >/dev/null || fail "the uncompressed memory archive does not verify"
python3 - "$A2" "$T/bad.tar" <<'PY' || fail "rebuilding the archive"
import hashlib, io, json, sys, tarfile
src = tarfile.open(sys.argv[1])
mem = bytearray(src.extractfile("memory/mem.lime").read())
mem[4] = 2  # version 1 -> 2 in the first range header
man = json.loads(src.extractfile("MANIFEST.json").read())
for e in man["members"]:
    if e.get("member") == "memory/mem.lime":
        e["sha256"] = hashlib.sha256(mem).hexdigest()
mtext = json.dumps(man).encode()
cust = src.extractfile("custody.jsonl").read().decode().splitlines()
last = json.loads(cust[-1])
last["seal"] = hashlib.sha256(mtext).hexdigest()
cust[-1] = json.dumps(last, separators=(",", ":"))
ctext = ("\n".join(cust) + "\n").encode()
out = tarfile.open(sys.argv[2], "w", format=tarfile.PAX_FORMAT)
for ti in src.getmembers():
    data = src.extractfile(ti).read()
    data = {"memory/mem.lime": bytes(mem), "MANIFEST.json": mtext, "custody.jsonl": ctext}.get(ti.name, data)
    ti.size = len(data)
    out.addfile(ti, io.BytesIO(data))
out.close()
PY
expect_rc 1 V verify "$T/bad.tar" >"$T/bad.out"
grep -q 'member memory/mem.lime: not a valid LiME dump (bad-version)' "$T/bad.out" ||
	fail "the flipped header byte not named: $(cat "$T/bad.out")"

# 3. no method can run (lockdown=confidentiality): the archive is still sealed
#    and verifies, memory/memdump.json says what was tried, the manifest and
#    the ledger say why nothing was acquired
printf 'none integrity [confidentiality]\n' >"$T/lock-conf"
V capture --memory --kcore "$T/kcore" --iomem "$T/iomem" --lockdown "$T/lock-conf" --case MEM-3 -o "$T/out4" \
	>/dev/null 2>"$T/err4" || fail "capture with memory refused exited $?"
A4=$(ls "$T"/out4/MEM-3-*.tar.zst)
bsdtar -xOf "$A4" MANIFEST.json | grep -q 'memory acquisition failed: no method can run' || fail "the manifest does not say why"
V verify "$A4" >/dev/null || fail "the archive without memory does not verify"
bsdtar -xOf "$A4" memory/memdump.json | grep -q 'closes /proc/kcore' || fail "memdump.json lacks the reason"
bsdtar -tf "$A4" | grep -q '^memory/mem.lime$' && fail "a memory member without memory"
bsdtar -xOf "$A4" custody.jsonl | grep '"action":"memory"' | grep -q '"method":"none"' || fail "no memory custody record"

# 4. --max-bytes bounds a kcore dump only
expect_rc 2 V capture --memory --max-bytes 1M -o "$T/out3" 2>/dev/null
[ ! -e "$T/out3" ] || fail "a refused capture left an output dir"
echo ok
