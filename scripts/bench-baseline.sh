#!/bin/sh
# Benchmark: `vigil baseline` / `vigil check` against AIDE 0.18 on the same tree,
# plus a floor (a minimal reader that only reads and SHA-256-hashes every file on
# two threads with libgcrypt).  The tree is a copy of SRC (default /usr) on tmpfs,
# because this kernel evicts file pages left unread for ~30 s: warm-cache figures
# are only stable on tmpfs.  Every tool runs RUNS times (default 3) after one
# warm-up; medians are printed, with ratios and peak RSS.
#   scripts/bench-baseline.sh [SRC] [RUNS] [AIDE_RUNS]
# AIDE_RUNS (default RUNS) can be set lower: AIDE's check takes minutes a run.
# Needs root (tmpfs mount), aide, GNU time; builds vigil in build/ if needed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-/usr}
runs=${2:-3}
aide_runs=${3:-$runs}
vigil=${VIGIL:-$top/build/vigil}
[ -x "$vigil" ] || { echo "build vigil first (scripts/run.sh or make)" >&2; exit 2; }
command -v aide >/dev/null || { echo "aide missing: apt-get install aide" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time missing: apt-get install time" >&2; exit 2; }

w=$(mktemp -d /tmp/vigil-bench.XXXXXX)
mnt=$w/tmpfs
mkdir -p "$mnt"
cleanup() { umount "$mnt" 2>/dev/null || true; rm -rf "$w"; }
trap cleanup EXIT INT TERM
size_kb=$(du -sk "$src" | cut -f1)
mount -t tmpfs -o size=$((size_kb / 1024 + 2048))m tmpfs "$mnt"
tree=$mnt/tree
echo "copying $src to tmpfs ..." >&2
cp -a "$src" "$tree"
nfiles=$(find "$tree" | wc -l)
bytes=$(du -sb "$tree" | cut -f1)

cc -O2 -o "$w/floor" "$top/scripts/floor-sha256.c" $(pkg-config --cflags --libs libgcrypt) -lpthread

cat >"$w/vigil.yaml" <<YAML
state_dir: $w/state
scopes:
  - name: bench
    paths: [$tree]
    attributes: [all]
    one_filesystem: true
YAML
# AIDE with SHA-256 and the same attributes vigil compares (no atime).
aide_conf() { # workers
	cat <<CONF
database_in=file:$w/aide.db
database_out=file:$w/aide.db.new
gzip_dbout=no
num_workers=$1
report_url=file:/dev/null
VIGIL = ftype+p+i+n+u+g+s+m+c+l+xattrs+acl+e2fsattrs+sha256
$tree VIGIL
CONF
}
aide_conf 1 >"$w/aide1.conf"
aide_conf 2 >"$w/aide2.conf"

# run N NAME CMD...: N timed runs; records wall s, peak RSS KiB, user s, sys s.
# The tree is warm: it lives on tmpfs and the floor reads all of it first.
run() {
	n=$1 name=$2; shift 2
	i=0
	while [ $i -lt "$n" ]; do
		/usr/bin/time -f "%e %M %U %S" -o "$w/t" "$@" >/dev/null 2>"$w/err" || true
		tail -n 1 "$w/t" >>"$w/$name.times"
		i=$((i + 1))
	done
}
median() { # file column
	sort -n -k"$2" "$1" | awk -v c="$2" '{v[NR]=$c} END {print v[int((NR+1)/2)]}'
}

echo "tree: $nfiles entries, $bytes bytes; $runs runs each ($aide_runs for aide)" >&2
find "$tree" -type f -print0 >"$w/list"
run "$runs" floor sh -c "exec '$w/floor' 2 <'$w/list'"
run "$runs" vigil_baseline "$vigil" -q --config "$w/vigil.yaml" baseline
run "$runs" vigil_check "$vigil" -q --config "$w/vigil.yaml" check
run "$aide_runs" aide1_init aide -c "$w/aide1.conf" --init
cp "$w/aide.db.new" "$w/aide.db"
run "$aide_runs" aide1_check aide -c "$w/aide1.conf" --check
run "$aide_runs" aide2_init aide -c "$w/aide2.conf" --init
run "$aide_runs" aide2_check aide -c "$w/aide2.conf" --check

for n in floor vigil_baseline vigil_check aide1_init aide1_check aide2_init aide2_check; do
	awk '{print $0, $3 + $4}' "$w/$n.times" >"$w/$n.t2" && mv "$w/$n.t2" "$w/$n.times"
done
printf '\n%-16s %10s %12s %12s\n' "tool" "median s" "median CPU s" "peak RSS MB"
for n in floor vigil_baseline vigil_check aide1_init aide1_check aide2_init aide2_check; do
	printf '%-16s %10s %12s %12s\n' "$n" "$(median "$w/$n.times" 1)" "$(median "$w/$n.times" 5)" \
		"$(echo "$(median "$w/$n.times" 2)" | awk '{printf "%.1f", $1/1024}')"
done
# ratios of median wall times (and, in brackets, of median CPU times: steadier
# on a shared machine)
r() {
	awk -v a="$(median "$w/$1.times" 1)" -v b="$(median "$w/$2.times" 1)" \
		-v c="$(median "$w/$1.times" 5)" -v d="$(median "$w/$2.times" 5)" \
		'BEGIN {printf "%.2f (CPU %.2f)", a/b, c/d}'
}
echo
echo "aide --init (1 worker) / vigil baseline:  $(r aide1_init vigil_baseline)x"
echo "aide --init (2 workers) / vigil baseline: $(r aide2_init vigil_baseline)x"
echo "vigil baseline / floor:                   $(r vigil_baseline floor)x"
echo "aide --check (1 worker) / vigil check:    $(r aide1_check vigil_check)x"
echo "aide --check (2 workers) / vigil check:   $(r aide2_check vigil_check)x"
