#!/bin/sh
# bench-cis.sh - `vigil cis` against docker-bench-security 1.6.0 on the same
# private dockerd (scripts/docker-harness.sh) with N containers (default 50):
# wall time of each (hyperfine when installed, else /usr/bin/time), over
# sections 1-5 only (docker-bench's other sections are not vigil's).
# docker-bench runs `docker inspect` per container per check; vigil reads the
# files once.  Not a test: it prints numbers.  Needs root.  Run it on an idle
# machine: figures taken under load are worthless.
# Usage: scripts/bench-cis.sh [VIGIL]   (env N=50 RUNS=5 DOCKER_BENCH_TGZ=...)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
VIGIL=${1:-${VIGIL:-$top/build/vigil}}
N=${N:-50}
RUNS=${RUNS:-5}
TGZ=${DOCKER_BENCH_TGZ:-/work/shared/peers/docker-bench-security.tar.gz}
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
[ -x "$VIGIL" ] || { echo "vigil not built at $VIGIL" >&2; exit 1; }
[ -f "$TGZ" ] || { echo "docker-bench-security not found at $TGZ (set DOCKER_BENCH_TGZ)" >&2; exit 1; }
. "$top/scripts/docker-harness.sh"
T=$(mktemp -d /tmp/vigil-bench-cis.XXXXXX)
cleanup() { harness_stop; rm -rf "$T"; }
trap cleanup EXIT INT TERM
harness_start
harness_build_images
DPID=$(cat "$HARNESS_PIDFILE")
i=0
while [ $i -lt "$N" ]; do
	hdocker run -d --network none --name "b$i" --memory 32m --pids-limit 32 vigil-base:1 sleep 86400 >/dev/null
	i=$((i + 1))
done
tar -C "$T" -xzf "$TGZ"
DB="cd $T/docker-bench-security && sh docker-bench-security.sh -b -l $T/db.log -c host_configuration,docker_daemon_configuration,docker_daemon_files,container_images,container_runtime >/dev/null 2>&1"
VC="$VIGIL cis --dockerd-pid $DPID --json >/dev/null; test \$? -le 1"
echo "== $N running containers, $(hdocker images -q | wc -l) images, $(nproc) cores" >&2
if command -v hyperfine >/dev/null; then
	hyperfine --runs "$RUNS" --warmup 1 "$VC"
	hyperfine --runs 1 "$DB"   # minutes: one run
else
	/usr/bin/time -f "vigil cis: %e s, %M KB max RSS" sh -c "$VC"
	/usr/bin/time -f "docker-bench-security (sections 1-5): %e s, %M KB max RSS" sh -c "$DB"
fi
