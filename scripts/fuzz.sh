#!/bin/sh
# Builds the libFuzzer targets with clang and runs them.
#   scripts/fuzz.sh --smoke        each target 20 s on its seed corpus (CI)
#   scripts/fuzz.sh TARGET [SECS]  one target for SECS seconds (default 600)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/build-fuzz
mkdir -p "$dir"
[ -f "$top/configure" ] || (cd "$top" && ./autogen.sh >/dev/null 2>&1)
if [ ! -f "$dir/Makefile" ]; then
	(cd "$dir" && CC=clang "$top/configure" -q --enable-fuzzing)
fi
make -s -C "$dir" -j"$(nproc)" fuzz >/dev/null
targets=$(cd "$dir/tests/fuzz" 2>/dev/null && ls fuzz_* 2>/dev/null | grep -v '\.o$' || true)
if [ -z "$targets" ]; then
	echo "fuzz: no fuzz targets built yet"
	exit 0
fi
run() { # target seconds
	corpus=$dir/corpus/$1
	mkdir -p "$corpus"
	seeds=$top/tests/fuzz/corpus/${1#fuzz_}
	set -- "$1" "$2"
	[ -d "$seeds" ] || seeds=
	echo "fuzz: $1 for $2 s"
	"$dir/tests/fuzz/$1" -max_total_time="$2" -timeout=10 -rss_limit_mb=1024 \
		-print_final_stats=0 "$corpus" $seeds 2>"$dir/$1.log" ||
		{ tail -n 40 "$dir/$1.log"; echo "fuzz: $1 FAILED (log: $dir/$1.log)"; return 1; }
}
if [ "${1:-}" = --smoke ]; then
	rc=0
	for t in $targets; do run "$t" 20 || rc=1; done
	exit $rc
fi
run "$1" "${2:-600}"
