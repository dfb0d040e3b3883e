#!/bin/sh
# Benchmark (issue 11): in the qemu guest of scripts/qemu-guest.sh, vigil's
# LiME acquisition into a zstd evidence archive
#   vigil capture --memory --method lime --compress zstd
# (LiME streams over 127.0.0.1 into the archive member memory/mem.lime, hashed and
# validated as it streams; the archive is then fsync'ed, signed and sealed; the
# capture also writes memory/procs.json, a few processes in this guest) against
#   insmod lime.ko "path=/out/plain.lime format=lime" && sha256sum /out/plain.lime && sync
# (LiME writing a plain file, then hashed; the sync because vigil's archive is
# fsync'ed before it counts as written).  Both write to the same virtio disk.
# The guest runs the two alternately, RUNS times each, dropping the page cache
# between runs, timing each with busybox time (wall, user, system: the module's
# init runs in the loading process, so LiME's own work is in both CPU figures);
# the host prints the medians and the ratio vigil/plain (the issue: <= 1.0).
#
#   scripts/bench-memdump.sh [VIGIL] [RUNS]   (root; RUNS default 5; QEMU_MEM (256M),
#                                              QEMU_ACCEL (tcg): see qemu-guest.sh)
# Under TCG the figures are emulation's, not a real machine's: compare the ratio.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
VIGIL=${1:-${VIGIL:-$top/build/vigil}}
RUNS=${2:-5}
fail() { echo "bench-memdump: FAIL: $*" >&2; exit 1; }
case $RUNS in '' | *[!0-9]*) fail "RUNS '$RUNS' is not a number" ;; esac
. "$top/scripts/qemu-guest.sh"
qemu_setup

cat >"$W/payload" <<'PAYLOAD'
runs=$(sed -n 's/.*bench_runs=\([0-9]*\).*/\1/p' /proc/cmdline)
ko=$(ls /lib/modules/*/updates/dkms/lime.ko)
mkdir -p /tmp/state /tmp/none
printf 'state_dir: /tmp/state\nscopes:\n  - name: t\n    paths: [/tmp/none]\n' >/tmp/vigil.yaml
vigil -q --config /tmp/vigil.yaml keygen >/out/log 2>&1
: >/out/times
i=1
while [ "$i" -le "$runs" ]; do
	mkdir /out/cap
	time -o /out/t -f "%e %U %S" vigil -q --config /tmp/vigil.yaml capture --memory --method lime \
		--compress zstd --case "B$i" -o /out/cap >>/out/log 2>&1 || echo "vigil run $i exited $?" >>/out/errors
	echo "vigil $(cat /out/t)" >>/out/times
	ls -l /out/cap >>/out/log
	rm -rf /out/cap
	sync; echo 3 >/proc/sys/vm/drop_caches
	time -o /out/t -f "%e %U %S" sh -c "insmod $ko 'path=/out/plain.lime format=lime' &&
		sha256sum /out/plain.lime >/out/plain.sum && sync" >>/out/log 2>&1 || echo "plain run $i failed" >>/out/errors
	rmmod lime || echo "plain run $i: rmmod failed" >>/out/errors
	echo "plain $(cat /out/t)" >>/out/times
	ls -l /out/plain.lime >>/out/log
	rm -f /out/plain.lime
	sync; echo 3 >/proc/sys/vm/drop_caches
	# the same with LiME's own digest (vigil loads LiME with digest=sha256 and
	# compares it with its own): what that in-kernel pass costs, for the record
	time -o /out/t -f "%e %U %S" sh -c "insmod $ko 'path=/out/plain.lime format=lime digest=sha256' &&
		sha256sum /out/plain.lime >/out/plain.sum && sync" >>/out/log 2>&1 || echo "plaind run $i failed" >>/out/errors
	rmmod lime || echo "plaind run $i: rmmod failed" >>/out/errors
	echo "plaind $(cat /out/t)" >>/out/times
	rm -f /out/plain.lime /out/plain.lime.sha256
	sync; echo 3 >/proc/sys/vm/drop_caches
	i=$((i + 1))
done
cp /tmp/state/custody.jsonl /out/custody.jsonl
echo finished >/out/finished
PAYLOAD
qemu_initrd "$W/payload"
qemu_boot bench "bench_runs=$RUNS" finished times log errors custody.jsonl
[ -s "$W/bench/finished" ] || fail "the guest did not finish (console: $(tail -20 "$W/bench.console"))"
[ ! -s "$W/bench/errors" ] || fail "$(cat "$W/bench/errors"); log: $(tail -20 "$W/bench/log")"
python3 - "$W/bench/times" "$W/bench/custody.jsonl" "$RUNS" <<'PY'
import json, statistics, sys
times, ledger, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
mem = [json.loads(l) for l in open(ledger) if '"memory"' in l]
mem = [r for r in mem if r.get("action") == "memory"]
bad = [r for r in mem if r.get("method") != "lime" or not r.get("valid")]
if len(mem) != runs or bad:
    sys.exit("bench-memdump: FAIL: vigil's ledger has %d memory records for %d runs, not all valid LiME: %s"
             % (len(mem), runs, bad[:1]))
t = {"vigil": [], "plain": [], "plaind": []}
for line in open(times):
    k, e, u, s = line.split()
    t[k].append((float(e), float(u) + float(s)))
if len(t["vigil"]) != runs or len(t["plain"]) != runs:
    sys.exit("bench-memdump: FAIL: %s" % t)
med = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for k, v in t.items()}
print("runs: %d each (guest times; median)" % runs)
for k, label in (("vigil", "vigil capture --memory --method lime (zstd archive)"),
                 ("plain", "insmod lime path=FILE + sha256sum + sync"),
                 ("plaind", "the same with LiME's digest=sha256 (not the target)")):
    print("  %-52s wall %7.2f s  cpu %7.2f s" % (label, med[k][0], med[k][1]))
print("ratio vigil/plain: wall %.2f, cpu %.2f (target: wall <= 1.0)"
      % (med["vigil"][0] / med["plain"][0], med["vigil"][1] / med["plain"][1]))
print("ratio vigil/plain with LiME's digest: wall %.2f, cpu %.2f"
      % (med["vigil"][0] / med["plaind"][0], med["vigil"][1] / med["plaind"][1]))
PY
