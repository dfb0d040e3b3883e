#!/bin/sh
# qemu-lime.sh [VIGIL]: vigil memdump on a real Debian kernel under qemu.
#
# The guest (scripts/qemu-guest.sh: Debian's kernel, busybox, lime.ko, vigil)
# runs `vigil memdump` onto a second virtual disk.  One boot per case:
#   lime        --method lime: the module loads, streams over TCP to vigil,
#               LiME's digest equals ours, the module is unloaded
#   lime-file   --method lime --lime-mode file: LiME writes the dump and its
#               digest into the evidence dir itself, vigil reads it back,
#               digests equal, module unloaded, no other file left there
#   kcore       --method kcore (the guest's /proc/kcore)
#   integrity   lockdown=integrity, --method auto: LiME refused, kcore runs
#   confidentiality  lockdown=confidentiality: nothing runs, both reasons
#   integrity-lime   lockdown=integrity, --method lime: the kernel refuses
#               the unsigned module (finit_module EPERM, recorded), no dump
#   integrity-lime-file  the same with --lime-mode file: no file left behind
#   capture-lime-file  `vigil capture --memory --method lime --lime-mode file`:
#               LiME writes its spool in the output dir, vigil reads it back
#               into the archive's memory/mem.lime; the archive verifies, the
#               member validates against the guest's iomem, the records say
#               the file mode, no spool is left in the output dir
#   capture-lime  the same in the tcp mode (LiME streams into the archive)
#   capture-lime-file-term  capture-lime-file sent SIGTERM while LiME writes
#               its spool: the capture fails, the module is unloaded, the
#               output dir is left empty (no spool, no temporary archive),
#               the ledger has the `failed` record
# The host then validates each dump (vigil memdump --validate against the
# guest's own /proc/iomem: addresses move between boots) and checks
# FILE.sha256 and the JSON record.
#   QEMU_LIME_CASES="lime kcore"  only some cases; QEMU_MEM, QEMU_ACCEL: qemu-guest.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
VIGIL=${1:-${VIGIL:-$top/build/vigil}}
cases=${QEMU_LIME_CASES:-lime lime-file kcore integrity confidentiality integrity-lime integrity-lime-file capture-lime-file capture-lime capture-lime-file-term}
fail() { echo "qemu-lime: FAIL: $*" >&2; exit 1; }
. "$top/scripts/qemu-guest.sh"
qemu_setup

cat >"$W/payload" <<'PAYLOAD'
mode=$(sed -n 's/.*vigil_mode=\([a-z]*\).*/\1/p' /proc/cmdline)
limemode=$(sed -n 's/.*vigil_limemode=\([a-z]*\).*/\1/p' /proc/cmdline)
cat /sys/kernel/security/lockdown >/out/lockdown 2>/dev/null
start=$(cat /proc/uptime)
if grep -q vigil_capture=1 /proc/cmdline; then
	# capture --memory into an archive in /out/cap (its key's public half beside it)
	mkdir -p /tmp/state /tmp/none /out/cap
	printf 'state_dir: /tmp/state\nscopes:\n  - name: t\n    paths: [/tmp/none]\n' >/tmp/vigil.yaml
	/bin/vigil -q --config /tmp/vigil.yaml keygen >/out/log 2>&1
	cp /tmp/state/vigil.pub /out/vigil.pub
	term=$(sed -n 's/.*vigil_term=\([0-9]*\).*/\1/p' /proc/cmdline)
	/bin/vigil --config /tmp/vigil.yaml capture --memory --method "$mode" ${limemode:+--lime-mode $limemode} \
		--mem-timeout 300 --case QEMU -o /out/cap >>/out/log 2>&1 &
	pid=$!
	if [ -n "$term" ]; then
		sleep "$term"
		ls -a /out/cap >/out/capls_at_term
		kill -TERM "$pid"
	fi
	wait "$pid"
	echo $? >/out/rc
	cp /tmp/state/custody.jsonl /out/custody.jsonl
	ls -a /out/cap >/out/capls
	grep -c lime /proc/modules >/out/lime_loaded_after || true
	echo "guest: capture --memory --method $mode exited $(cat /out/rc): $(cat /out/log)"
	exit 0
fi
/bin/vigil memdump --method "$mode" ${limemode:+--lime-mode $limemode} --timeout 300 -o /out/mem.lime >/out/log 2>&1
echo $? >/out/rc
echo "$start $(cat /proc/uptime)" >/out/times
grep -c lime /proc/modules >/out/lime_loaded_after || true
cat /proc/sys/kernel/tainted >/out/tainted
ls -a /out >/out/ls
echo "guest: memdump --method $mode exited $(cat /out/rc): $(cat /out/log)"
PAYLOAD
qemu_initrd "$W/payload"

boot() { # boot CASE MODE APPEND: one guest; its disk read back into $W/CASE
	qemu_boot "$1" "vigil_mode=$2 $3" rc log lockdown times lime_loaded_after tainted ls mem.lime \
		mem.lime.sha256 mem.lime.json mem.lime.procs.json
	[ -s "$W/$1/rc" ] || fail "$1: the guest wrote no result (console: $(tail -20 "$W/$1.console"))"
	cat "$W/$1/log"
}

json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }

check_dump() { # check_dump CASE METHOD: the dump validates on the host against the guest's iomem
	c=$1
	[ "$(cat "$W/$c/rc")" = 0 ] || fail "$c: memdump exited $(cat "$W/$c/rc"): $(cat "$W/$c/log")"
	"$VIGIL" memdump --validate "$W/$c/mem.lime" --iomem "$W/$c/iomem" >"$W/$c/validate" ||
		fail "$c: the dump does not validate against the guest's iomem"
	head -n1 "$W/$c/validate"
	(cd "$W/$c" && sha256sum -c mem.lime.sha256 >/dev/null) || fail "$c: FILE.sha256 does not match"
	[ "$(json "$W/$c/mem.lime.json" 'd["method"]')" = "$2" ] || fail "$c: method is not $2"
	ram=$(grep -c ': System RAM$' "$W/$c/iomem")
	[ "$(grep -c '^range ' "$W/$c/validate")" -eq "$ram" ] || fail "$c: ranges differ from iomem's $ram"
}

check_capture() { # check_capture CASE MODE: the archive verifies, its member validates, records say MODE
	c=$1
	disk=${QEMU_DISK:-}
	QEMU_DISK=1G # the spool (all of the guest's memory) and the archive side by side
	boot "$c" lime "vigil_capture=1 $([ "$2" = file ] && echo vigil_limemode=file)"
	QEMU_DISK=$disk
	debugfs -R "rdump /cap $W/$c" "$W/disk.img" >/dev/null 2>&1 || fail "$c: cannot read the archive back"
	debugfs -R "dump /vigil.pub $W/$c/vigil.pub" "$W/disk.img" >/dev/null 2>&1
	debugfs -R "dump /capls $W/$c/capls" "$W/disk.img" >/dev/null 2>&1
	[ "$(cat "$W/$c/rc")" = 0 ] || fail "$c: capture exited $(cat "$W/$c/rc")"
	a=$(ls "$W/$c"/cap/QEMU-*.tar.zst) || fail "$c: no archive"
	mkdir -p "$W/$c/st"
	"$VIGIL" --state-dir "$W/$c/st" verify -p "$W/$c/vigil.pub" "$a" || fail "$c: the archive does not verify"
	bsdtar -xOf "$a" memory/mem.lime >"$W/$c/mem.lime"
	bsdtar -xOf "$a" MANIFEST.json >"$W/$c/man.json"
	bsdtar -xOf "$a" custody.jsonl >"$W/$c/cust.jsonl"
	rm -f "$a"
	"$VIGIL" memdump --validate "$W/$c/mem.lime" --iomem "$W/$c/iomem" >"$W/$c/validate" ||
		fail "$c: the member does not validate against the guest's iomem"
	head -n1 "$W/$c/validate"
	ram=$(grep -c ': System RAM$' "$W/$c/iomem")
	[ "$(grep -c '^range ' "$W/$c/validate")" -eq "$ram" ] || fail "$c: ranges differ from iomem's $ram"
	python3 - "$W/$c/man.json" "$W/$c/cust.jsonl" "$W/$c/mem.lime" "$2" <<'PY' || fail "$c: the records"
import hashlib, json, sys
man, mode = json.load(open(sys.argv[1])), sys.argv[4]
e = [x for x in man["members"] if x.get("member") == "memory/mem.lime"][0]
d = e["memdump"]
h = hashlib.sha256()
with open(sys.argv[3], "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""):
        h.update(b)
assert e["sha256"] == h.hexdigest() == d["sha256"] == d["lime"]["lime_sha256"], (e["sha256"], d["lime"])
assert d["method"] == "lime" and d["valid"] is True and d["lime"]["mode"] == mode, d["lime"]
assert d["lime"]["loaded"] and d["lime"]["unloaded"], d["lime"]
mem = [json.loads(l) for l in open(sys.argv[2]) if '"action":"memory"' in l]
assert len(mem) == 1 and mem[0]["lime_mode"] == mode and mem[0]["valid"], mem
PY
	[ "$(cat "$W/$c/lime_loaded_after")" = 0 ] || fail "$c: the module is still loaded"
	left=$(grep -v -x -e . -e .. -e 'QEMU-.*\.tar\.zst' -e 'QEMU-.*\.tar\.zst\.minisig' \
		-e 'QEMU-.*\.tar\.zst\.sha256' "$W/$c/capls" || true)
	[ -z "$left" ] || fail "$c: files left in the output dir: $left"
}

for c in $cases; do
	case $c in
	lime)
		boot lime lime ""
		check_dump lime lime
		[ "$(json "$W/lime/mem.lime.json" 'd["lime"]["lime_sha256"] == d["sha256"]')" = True ] ||
			fail "lime: LiME's digest differs from vigil's"
		[ "$(json "$W/lime/mem.lime.json" 'd["lime"]["loaded"] and d["lime"]["unloaded"]')" = True ] ||
			fail "lime: the module was not loaded and unloaded"
		[ "$(cat "$W/lime/lime_loaded_after")" = 0 ] || fail "lime: the module is still loaded"
		echo "qemu-lime: lime: kernel taint before/after the load: $(json "$W/lime/mem.lime.json" 'd["lime"]["taint_before"] + " -> " + d["lime"]["taint_after"]')"
		echo "qemu-lime: lime: guest times (uptime before/after): $(cat "$W/lime/times"), taint $(cat "$W/lime/tainted")"
		;;
	lime-file)
		boot lime-file lime "vigil_limemode=file"
		check_dump lime-file lime
		[ "$(json "$W/lime-file/mem.lime.json" 'd["lime"]["mode"]')" = file ] ||
			fail "lime-file: the record does not say the file mode ran"
		[ "$(json "$W/lime-file/mem.lime.json" 'd["lime"]["lime_sha256"] == d["sha256"]')" = True ] ||
			fail "lime-file: LiME's digest differs from vigil's"
		[ "$(json "$W/lime-file/mem.lime.json" 'd["lime"]["loaded"] and d["lime"]["unloaded"]')" = True ] ||
			fail "lime-file: the module was not loaded and unloaded"
		[ "$(cat "$W/lime-file/lime_loaded_after")" = 0 ] || fail "lime-file: the module is still loaded"
		# the evidence dir holds the dump and vigil's files only: no .part, no LiME digest file left
		left=$(grep -v -x -e . -e .. -e lost+found -e iomem -e lockdown -e log -e rc -e times -e tainted \
			-e ls -e lime_loaded_after -e mem.lime -e mem.lime.sha256 -e mem.lime.json \
			-e mem.lime.procs.json "$W/lime-file/ls" || true)
		[ -z "$left" ] || fail "lime-file: files left in the evidence dir: $left"
		json "$W/lime-file/mem.lime.procs.json" 'd["summary"]' >/dev/null ||
			fail "lime-file: no process report beside the dump"
		;;
	kcore)
		boot kcore kcore ""
		check_dump kcore kcore
		;;
	integrity)
		boot integrity auto "lockdown=integrity"
		check_dump integrity kcore
		json "$W/integrity/mem.lime.json" 'd["not_run"]["lime"]' | grep -q 'lockdown (integrity)' ||
			fail "integrity: the record does not say LiME was refused for lockdown"
		;;
	confidentiality)
		boot confidentiality auto "lockdown=confidentiality"
		[ "$(cat "$W/confidentiality/rc")" = 3 ] || fail "confidentiality: memdump exited $(cat "$W/confidentiality/rc")"
		[ ! -e "$W/confidentiality/mem.lime" ] || fail "confidentiality: a dump was written"
		json "$W/confidentiality/mem.lime.json" 'd["not_run"]' | grep -q 'confidentiality' ||
			fail "confidentiality: the record does not say why"
		;;
	integrity-lime)
		boot integrity-lime lime "lockdown=integrity"
		[ "$(cat "$W/integrity-lime/rc")" = 3 ] || fail "integrity-lime: memdump exited $(cat "$W/integrity-lime/rc")"
		grep -q 'finit_module.*Operation not permitted' "$W/integrity-lime/log" ||
			fail "integrity-lime: the refusal is not reported"
		[ "$(json "$W/integrity-lime/mem.lime.json" 'd["lime"]["loaded"] or d["lime"]["load_errno"] != 1')" = False ] ||
			fail "integrity-lime: the record does not say the load failed with EPERM"
		;;
	integrity-lime-file)
		boot integrity-lime-file lime "lockdown=integrity vigil_limemode=file"
		[ "$(cat "$W/integrity-lime-file/rc")" = 3 ] ||
			fail "integrity-lime-file: memdump exited $(cat "$W/integrity-lime-file/rc")"
		grep -q 'finit_module.*Operation not permitted' "$W/integrity-lime-file/log" ||
			fail "integrity-lime-file: the refusal is not reported"
		# what vigil made for LiME (FILE.part, LiME's digest file) is gone; the record stays
		left=$(grep -v -x -e . -e .. -e lost+found -e iomem -e lockdown -e log -e rc -e times -e tainted \
			-e ls -e lime_loaded_after -e mem.lime.json "$W/integrity-lime-file/ls" || true)
		[ -z "$left" ] || fail "integrity-lime-file: files left in the evidence dir: $left"
		[ "$(json "$W/integrity-lime-file/mem.lime.json" 'd["lime"]["mode"] + str(d["lime"]["load_errno"])')" = file1 ] ||
			fail "integrity-lime-file: the record does not say the file mode's load failed with EPERM"
		;;
	capture-lime-file) check_capture capture-lime-file file ;;
	capture-lime) check_capture capture-lime tcp ;;
	capture-lime-file-term)
		c=capture-lime-file-term
		disk=${QEMU_DISK:-}
		QEMU_DISK=1G
		boot "$c" lime "vigil_capture=1 vigil_limemode=file vigil_term=6"
		QEMU_DISK=$disk
		for f in capls capls_at_term custody.jsonl; do
			debugfs -R "dump /$f $W/$c/$f" "$W/disk.img" >/dev/null 2>&1
		done
		grep -q '\.mem\.lime$' "$W/$c/capls_at_term" ||
			fail "$c: no spool when SIGTERM was sent (too early or too late): $(cat "$W/$c/capls_at_term")"
		[ "$(cat "$W/$c/rc")" != 0 ] || fail "$c: the capture ended well despite SIGTERM"
		left=$(grep -v -x -e . -e .. "$W/$c/capls" || true)
		[ -z "$left" ] || fail "$c: files left in the output dir: $left"
		[ "$(cat "$W/$c/lime_loaded_after")" = 0 ] || fail "$c: the module is still loaded"
		tail -n 1 "$W/$c/custody.jsonl" | grep -q '"action":"failed".*cancelled' ||
			fail "$c: no failed ledger record: $(tail -n 1 "$W/$c/custody.jsonl")"
		;;
	*) fail "unknown case $c" ;;
	esac
	echo "qemu-lime: $c: ok"
done
echo "qemu-lime: all cases passed ($cases)"
