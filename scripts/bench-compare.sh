#!/bin/sh
# Two vigil binaries on the same tmpfs copy of a tree, alternating, RUNS times
# each (default 3): `baseline`, a second `baseline` of the unchanged tree, then
# `check`; wall, CPU (user+sys) and peak RSS of each, and the database's size.
# For regressions: the vigil of before a change against the one after it.
#   scripts/bench-compare.sh OLD_VIGIL NEW_VIGIL [TREE] [RUNS]   (root: tmpfs mount)
# TREE defaults to /usr/lib.  Run it on an idle machine.
set -eu
OLD=$1 NEW=$2 src=${3:-/usr/lib} runs=${4:-3}
w=$(mktemp -d /tmp/vigil-bench-compare.XXXXXX)
mnt=$w/t
mkdir -p "$mnt"
trap 'umount "$mnt" 2>/dev/null; rm -rf "$w"' EXIT INT TERM
size_kb=$(du -sk "$src" | cut -f1)
mount -t tmpfs -o size=$((size_kb / 1024 + 1024))m tmpfs "$mnt"
cp -a "$src" "$mnt/tree"
for v in old new; do
	mkdir -m 700 "$w/$v"
	printf 'state_dir: %s/%s/state\nscopes: [{name: bench, paths: [%s/tree]}]\naudit: {enabled: false}\n' \
		"$w" "$v" "$mnt" >"$w/$v/cfg.yaml"
done
i=0
while [ $i -lt "$runs" ]; do
	for v in old new; do
		b=$OLD
		[ $v = new ] && b=$NEW
		rm -rf "$w/$v/state"
		for step in baseline baseline2 check; do
			cmd=${step%2}
			/usr/bin/time -f "$v $step %e %U %S %M" -a -o "$w/times" "$b" --config "$w/$v/cfg.yaml" -q "$cmd" ||
				[ "$cmd" = check ]
		done
		echo "$v db $(du -k "$w/$v/state/baseline.db" | cut -f1)" >>"$w/times"
	done
	i=$((i + 1))
done
python3 - "$w/times" <<'PY'
import collections, statistics, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    f = line.split()
    if f[1] == "db":
        d[(f[0], "db")].append(int(f[2]))
    elif len(f) == 6:
        d[(f[0], f[1])].append((float(f[2]), float(f[3]) + float(f[4]), int(f[5])))
print("| step | old wall s | new wall s | old CPU s | new CPU s | old RSS MB | new RSS MB |")
print("|---|---|---|---|---|---|---|")
for step in ("baseline", "baseline2", "check"):
    o, n = d[("old", step)], d[("new", step)]
    med = lambda v, i: statistics.median(x[i] for x in v)
    print("| %s | %.2f | %.2f | %.2f | %.2f | %.1f | %.1f |" % (step, med(o, 0), med(n, 0), med(o, 1), med(n, 1),
          med(o, 2) / 1024, med(n, 2) / 1024))
print("database after two generations: old %.1f MB, new %.1f MB" % (statistics.median(d[("old", "db")]) / 1024,
      statistics.median(d[("new", "db")]) / 1024))
PY
