#!/bin/bash
# Benchmark: `vigil layers verify` against `tar -C DIFF -cf - . | sha256sum` over the
# same diff dirs, on a private dockerd whose data root is on tmpfs (this kernel drops
# page cache after ~30 s, so a disk-backed run measures the disk, not the tools).
#
#   scripts/bench-layers.sh [VIGIL] [RUNS]      (root; needs docker.io and hyperfine)
#
# The image: vigil-base:1 (busybox) plus one layer per directory of Debian files
# (BENCH_DIRS, default about 590 MB).  Both sides use both cores: vigil verifies
# layers in parallel (one thread per core); the tar side runs one pipeline per layer
# with xargs -P"$(nproc)".  A sequential tar run is measured too, for reference.
# Prints the medians and the ratio vigil/tar (<= 1.0 means vigil is no slower).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
VIGIL=${1:-$top/build/vigil}
RUNS=${2:-7}
BENCH_DIRS=${BENCH_DIRS:-"/usr/lib/gcc /usr/share/locale /usr/share/doc /usr/lib/python3.11"}
command -v hyperfine >/dev/null || { echo "bench: hyperfine missing (apt-get install hyperfine)" >&2; exit 77; }
[ -x "$VIGIL" ] || { echo "bench: no vigil binary at $VIGIL" >&2; exit 77; }
. "$top/scripts/docker-harness.sh"
trap harness_stop EXIT INT TERM
HARNESS_TMPFS=1 HARNESS_TMPFS_SIZE=6g harness_start || exit 77
harness_build_images || { echo "bench: base image build failed" >&2; exit 1; }
# shellcheck disable=SC2086
harness_build_big_image vigil-big:1 $BENCH_DIRS || { echo "bench: big image build failed" >&2; exit 1; }
upper=$(hdocker image inspect -f '{{.GraphDriver.Data.UpperDir}}' vigil-big:1)
lower=$(hdocker image inspect -f '{{.GraphDriver.Data.LowerDir}}' vigil-big:1)
dirs=$(printf '%s:%s' "$upper" "$lower" | tr ':' '\n' | grep -v '^$')
ndirs=$(printf '%s\n' "$dirs" | wc -l)
bytes=$(printf '%s\n' "$dirs" | xargs du -scb | tail -n1 | cut -f1)
echo "bench: vigil-big:1 has $ndirs layers, $((bytes / 1000000)) MB in diff dirs (tmpfs), $(nproc) cores" >&2
printf '%s\n' "$dirs" >"$HARNESS_DIR/dirs"
"$VIGIL" layers verify --data-root "$HARNESS_DATA" vigil-big:1 >/dev/null ||
	{ echo "bench: vigil layers verify failed on the fresh image" >&2; exit 1; }
out=$HARNESS_DIR/bench.json
hyperfine -N --style basic --warmup 1 --runs "$RUNS" --export-json "$out" \
	-n vigil "$VIGIL layers verify --data-root $HARNESS_DATA vigil-big:1" \
	-n tar-parallel "sh -c 'xargs -P$(nproc) -I{} sh -c \"tar -C {} -cf - . | sha256sum\" <$HARNESS_DIR/dirs >/dev/null'" \
	-n tar-sequential "sh -c 'while read d; do tar -C \$d -cf - . | sha256sum; done <$HARNESS_DIR/dirs >/dev/null'" \
	>&2 || exit 1
python3 - "$out" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
m = {k: v["median"] for k, v in r.items()}
for k in ("vigil", "tar-parallel", "tar-sequential"):
    print(f"{k:15s} median {m[k]:.3f} s  (min {r[k]['min']:.3f}, max {r[k]['max']:.3f}, runs {len(r[k]['times'])})")
print(f"ratio vigil / tar-parallel   = {m['vigil'] / m['tar-parallel']:.2f}")
print(f"ratio vigil / tar-sequential = {m['vigil'] / m['tar-sequential']:.2f}")
PY
