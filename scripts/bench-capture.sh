#!/bin/bash
# Benchmark: `vigil capture --container` against `tar -C UPPER -cf - . | zstd -1 -T0`
# alone over the same upper layer, on a private dockerd whose data root is on tmpfs
# (warm cache; this kernel drops page cache after ~30 s, so a disk-backed run measures
# the disk).  vigil also hashes every file, writes the manifest and the timeline, signs.
#
#   scripts/bench-capture.sh [VIGIL] [RUNS]     (root; needs docker.io, hyperfine, zstd)
#
# The container's upper layer: BENCH_FILES files (default 12000) of mixed sizes, at
# least BENCH_MB MB in total (default 1100), written into it through `docker exec`.
# Prints per command the median wall time and the CPU time (user + system), the ratio
# vigil/tar (the issue asks for <= 1.0) and vigil's peak RSS (asked: <= 64 MB), from
# /usr/bin/time -v on one extra run.  Output goes to a tmpfs too.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
VIGIL=${1:-$top/build/vigil}
RUNS=${2:-5}
FILES=${BENCH_FILES:-12000}
MB=${BENCH_MB:-1100}
for b in hyperfine zstd /usr/bin/time; do
	command -v $b >/dev/null || { echo "bench: $b missing (apt-get install hyperfine zstd time)" >&2; exit 77; }
done
[ -x "$VIGIL" ] || { echo "bench: no vigil binary at $VIGIL" >&2; exit 77; }
. "$top/scripts/docker-harness.sh"
OUT=
cleanup() { [ -n "$OUT" ] && umount "$OUT" 2>/dev/null; harness_stop; }
trap cleanup EXIT INT TERM
HARNESS_TMPFS=1 HARNESS_TMPFS_SIZE=4g harness_start || exit 77
harness_build_images || { echo "bench: base image build failed" >&2; exit 1; }
hdocker run -d --network none --name bench vigil-base:1 sleep 100000 >/dev/null || exit 1
upper=$(hdocker inspect -f '{{.GraphDriver.Data.UpperDir}}' bench)
# files straight into the upper dir (the same bytes docker exec would write there)
python3 - "$upper/data" "$FILES" "$MB" <<'PY' || exit 1
import os, sys
root, n, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
big = (mb << 20) // 2 // 10            # half the bytes in 10 large files
small = max(1, ((mb << 20) - big * 10) // (n - 10))
chunk = os.urandom(1 << 20)
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % 200))
    os.makedirs(d, exist_ok=True)
    size = big if i < 10 else small
    with open(os.path.join(d, "f%06d" % i), "wb") as f:
        while size > 0:
            # half random, half text-like: compressible as logs and binaries are
            f.write(chunk[: min(size, 1 << 20)] if i % 2 else (b"log line %d\n" % i) * min(size // 12 + 1, 90000))
            size -= 1 << 20
PY
bytes=$(du -sb "$upper" | cut -f1)
nfiles=$(find "$upper" -type f | wc -l)
echo "bench: upper layer $((bytes / 1000000)) MB in $nfiles files (tmpfs), $(nproc) cores" >&2
OUT=$HARNESS_DIR/out
mkdir -p "$OUT" && mount -t tmpfs -o size=3g vigil-bench-out "$OUT" || exit 1
S=$HARNESS_DIR/state
mkdir -m 700 "$S" && "$VIGIL" -q --state-dir "$S" keygen >/dev/null || exit 1
cap="$VIGIL -q --state-dir $S capture --data-root $HARNESS_DATA --container bench --min-free 0 -o $OUT"
json=$HARNESS_DIR/bench.json
hyperfine -N --style basic --warmup 1 --runs "$RUNS" --export-json "$json" \
	--prepare "sh -c 'rm -f $OUT/*'" \
	-n vigil "$cap" \
	-n tar-zstd "sh -c 'tar -C $upper -cf - . | zstd -q -1 -T0 >$OUT/tar.zst'" >&2 || exit 1
rm -f "$OUT"/*
/usr/bin/time -v $cap 2>"$HARNESS_DIR/time.txt" >/dev/null || exit 1
rss=$(awk -F: '/Maximum resident set size/ {print $2}' "$HARNESS_DIR/time.txt")
python3 - "$json" "$rss" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
for k in ("vigil", "tar-zstd"):
    x = r[k]
    cpu = (x.get("user", 0) + x.get("system", 0))
    print(f"{k:9s} wall median {x['median']:.3f} s (min {x['min']:.3f}, max {x['max']:.3f}), "
          f"cpu {cpu:.3f} s, runs {len(x['times'])}")
print(f"ratio vigil / tar-zstd (wall, median) = {r['vigil']['median'] / r['tar-zstd']['median']:.2f}")
print(f"vigil peak RSS {int(sys.argv[2]) / 1024:.1f} MB")
PY
