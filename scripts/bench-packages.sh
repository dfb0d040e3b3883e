#!/bin/sh
# Benchmark: `vigil packages verify` against Debian's `debsums -a` on this
# host's installed packages, on the same tree: a tmpfs copy of /usr, /etc and
# /var/lib/dpkg with the merged-/usr links (this kernel evicts file pages left
# unread for ~30 s, so warm-cache figures are only stable on tmpfs), both run
# with --root on it.  Every tool runs RUNS times (default 3) after one warm-up;
# medians of wall and CPU (user+sys) time and peak RSS are printed, with the
# ratio debsums / vigil (the issue's target: at least 10x).
#   scripts/bench-packages.sh [RUNS]
# Before timing, the two tools' lists of changed files are compared (they
# must be equal, else the run stops).  Needs root (tmpfs mount), debsums,
# GNU time; vigil built in build/ (or VIGIL=...).  Do not run it on a loaded
# machine: the figures would say nothing.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-3}
vigil=${VIGIL:-$top/build/vigil}
[ -x "$vigil" ] || { echo "build vigil first (make)" >&2; exit 2; }
command -v debsums >/dev/null || { echo "debsums missing: apt-get install debsums" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time missing: apt-get install time" >&2; exit 2; }

w=$(mktemp -d /tmp/vigil-bench-pkg.XXXXXX)
mnt=$w/tmpfs
mkdir -p "$mnt"
cleanup() { umount "$mnt" 2>/dev/null || true; rm -rf "$w"; }
trap cleanup EXIT INT TERM
size_kb=$(du -sk /usr /etc /var/lib/dpkg 2>/dev/null | awk '{s += $1} END {print s}')
mount -t tmpfs -o size=$((size_kb / 1024 + 2048))m tmpfs "$mnt"
R=$mnt/root
mkdir -p "$R/var/lib" "$R/var/log"
echo "copying /usr, /etc, /var/lib/dpkg to tmpfs ..." >&2
cp -a /usr /etc "$R/"
cp -a /var/lib/dpkg "$R/var/lib/"
for d in bin sbin lib lib32 lib64 libx32; do
	[ -L "/$d" ] && cp -a "/$d" "$R/"
done
npkg=$(grep -c '^Package:' "$R/var/lib/dpkg/status")
bytes=$(du -sb "$R" | cut -f1)

# equal lists first: the comparison is only fair when both do the same work
"$vigil" -q --root "$R" packages verify --changed >"$w/v.out" 2>/dev/null || true
debsums --root "$R" -a -c >"$w/d.out" 2>/dev/null || true
sed "s#^$R##" "$w/d.out" | sort >"$w/d.sorted"
sort "$w/v.out" >"$w/v.sorted"
if ! cmp -s "$w/d.sorted" "$w/v.sorted"; then
	diff "$w/d.sorted" "$w/v.sorted" | head -20 >&2
	echo "vigil and debsums disagree: not timing" >&2
	exit 1
fi

# run N NAME CMD...: N timed runs after the warm-up above; wall s, peak RSS KiB, user s, sys s
run() {
	n=$1 name=$2; shift 2
	i=0
	while [ $i -lt "$n" ]; do
		/usr/bin/time -f "%e %M %U %S" -o "$w/t" "$@" >/dev/null 2>&1 || true
		tail -n 1 "$w/t" >>"$w/$name.times"
		i=$((i + 1))
	done
}
median() { # file column
	sort -n -k"$2" "$1" | awk -v c="$2" '{v[NR]=$c} END {print v[int((NR+1)/2)]}'
}
cpu() { # file: median of user+sys
	awk '{print $3 + $4}' "$1" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}

echo "tree: $npkg packages, $bytes bytes; $runs runs each; $(nproc) cores" >&2
run "$runs" vigil "$vigil" -q --root "$R" packages verify
run "$runs" debsums debsums --root "$R" -a

printf '| tool | median wall s | median CPU s | peak RSS MB |\n|---|---|---|---|\n'
for t in vigil debsums; do
	printf '| %s | %s | %s | %.1f |\n' "$t" "$(median "$w/$t.times" 1)" "$(cpu "$w/$t.times")" \
		"$(echo "$(median "$w/$t.times" 2) / 1024" | bc -l)"
done
vw=$(median "$w/vigil.times" 1) dw=$(median "$w/debsums.times" 1)
vc=$(cpu "$w/vigil.times") dc=$(cpu "$w/debsums.times")
printf '\n| ratio | wall | CPU | target |\n|---|---|---|---|\n'
printf '| debsums -a / vigil packages verify | %.2fx | %.2fx | >= 10x |\n' \
	"$(echo "$dw / $vw" | bc -l)" "$(echo "$dc / $vc" | bc -l)"
echo "command: scripts/bench-packages.sh $runs ($(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
