#!/bin/sh
# capture_trigger_memory.sh - a trigger rule with `memory: true` captures
# physical memory first, as `vigil capture --memory` does: a watched change
# gives capture-completed and the archive holds memory/mem.lime, which
# `vigil verify` accepts (hash and LiME format) and which is the fixture's
# memory byte for byte.  No module can load here and /proc/kcore is the real
# one, so the daemon reads the synthetic kcore, iomem and lockdown of
# memdump_kcore.sh through the test knob VIGIL_TEST_MEMORY_FIXTURES; the
# config asks for auto in LiME's file mode with a module whose .modinfo fits
# the running kernel (made with objcopy) that the kernel refuses: the
# refusal is recorded (lime_mode file), kcore runs instead, and no spool is
# left in the evidence dir.  Then `vigil ctl capture --memory` does the same
# on request, and a rule without a target is refused by `vigil check-config`.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"
command -v objcopy >/dev/null || skip "objcopy missing"
command -v cc >/dev/null || skip "cc missing"

FIX=$T/fix
mkdir -p "$FIX/modules" "$TREE/etc"
python3 "$top_srcdir/tests/helpers/mkkcore.py" "$FIX/kcore" "$FIX/iomem"
printf '[none] integrity confidentiality\n' >"$FIX/lockdown"
sh "$top_srcdir/tests/helpers/fake-lime.sh" "$T/lime.ko"
VIGIL_TEST_MEMORY_FIXTURES=$FIX
export VIGIL_TEST_MEMORY_FIXTURES

mkdir -m 700 "$STATE"
echo one >"$TREE/etc/secret"
OUTPUTS_EXTRA="capture:
  evidence_dir: $T/evidence
  min_free: 1M
  memory_method: auto
  lime_mode: file
  lime_module: $T/lime.ko
  memory_timeout: 30s
triggers:
  - name: mem-touched
    action: file-changed
    paths: ['$TREE/etc/secret*']
    memory: true"
write_config
"$VIGIL" --config "$CONF" -q keygen || fail "keygen failed"
baseline
start_daemon

# archive_of CASE-GREP: the archive of the capture-completed event matching it
archive_of() {
	grep '"action":"capture-completed"' "$EV" | grep "$1" | python3 -c '
import json, sys; print(json.loads(sys.stdin.readline())["vigil"]["capture"]["archive"])'
}

# check_memory ARCHIVE: verify passes, the member is the fixture's memory, the
# records say kcore ran after LiME's file mode was refused
check_memory() {
	"$VIGIL" --config "$CONF" -q verify "$1" >"$T/ver" || fail "$1 does not verify: $(cat "$T/ver")"
	bsdtar -xOf "$1" memory/mem.lime >"$T/mem.lime" || fail "$1 has no memory/mem.lime"
	python3 "$top_srcdir/tests/helpers/mkkcore.py" check "$T/mem.lime" || fail "the member is not the fixture's memory"
	bsdtar -xOf "$1" MANIFEST.json >"$T/man.json"
	bsdtar -xOf "$1" custody.jsonl >"$T/cust.jsonl"
	python3 - "$T/man.json" "$T/cust.jsonl" <<'PY' || fail "the memory records of $1"
import json, sys
m = json.load(open(sys.argv[1]))
d = [x for x in m["members"] if x.get("member") == "memory/mem.lime"][0]["memdump"]
assert d["method"] == "kcore" and d["valid"] is True, d
assert d["not_run"]["lime"].startswith("lime failed before any byte: finit_module"), d["not_run"]
assert d["lime"]["mode"] == "file" and d["lime"]["loaded"] is False, d["lime"]
mem = [json.loads(l) for l in open(sys.argv[2]) if '"action":"memory"' in l]
assert len(mem) == 1 and mem[0]["method"] == "kcore" and mem[0]["lime_mode"] == "file", mem
PY
	left=$(find "$T/evidence" -mindepth 1 ! -name '*.tar.zst' ! -name '*.tar.zst.minisig' ! -name '*.tar.zst.sha256')
	[ -z "$left" ] || fail "left in the evidence dir: $left"
}

echo changed >>"$TREE/etc/secret"
wait_for '"action":"capture-started"' 1 20 || fail "no capture-started event"
wait_for '"action":"capture-completed"' 1 60 || { grep capture "$EV" >&2; fail "no capture-completed event"; }
grep -q '"action":"capture-failed"' "$EV" && fail "a capture failed: $(grep capture-failed "$EV")"
A=$(archive_of '"trigger":"mem-touched"') || fail "capture-completed event lacks its archive"
check_memory "$A"

# vigil ctl capture --memory: the same on request
"$VIGIL" --config "$CONF" ctl capture --memory --case CTL-MEM >"$T/ctl.out" || fail "ctl capture: $(cat "$T/ctl.out")"
grep -q '"case": "CTL-MEM"' "$T/ctl.out" || fail "ctl capture reply: $(cat "$T/ctl.out")"
wait_for '"action":"capture-completed"' 2 60 || { grep capture "$EV" >&2; fail "no capture-completed for ctl"; }
A2=$(archive_of '"case":"CTL-MEM"') || fail "no CTL-MEM archive"
check_memory "$A2"
alive "$DAEMON_PID" || fail "the daemon died"
stop_daemon

# a rule with no target at all is refused; memory alone is a target
sed -i 's/    memory: true/    freeze: true/' "$CONF"
set +e; "$VIGIL" --config "$CONF" check-config >"$T/chk" 2>&1; rc=$?; set -e
[ $rc -ne 0 ] && grep -q 'container, engine, host or memory' "$T/chk" || fail "a rule without a target: rc $rc $(cat "$T/chk")"
echo "ok: capture_trigger_memory"
