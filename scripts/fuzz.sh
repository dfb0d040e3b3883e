#!/bin/sh
# Builds the libFuzzer targets with clang (build-fuzz/, ASan + UBSan, UBSan
# fatal) and runs them, each on its seed corpus and dictionary.
#   scripts/fuzz.sh --smoke            each target 20 s (CI)
#   scripts/fuzz.sh --long [TARGET..]  a campaign: each target (default all) in
#                                      turn, one process (-jobs=1), for
#                                      FUZZ_SECONDS (default 1800) or, when
#                                      FUZZ_RUNS is set, that many executions;
#                                      a summary line per target at the end
#   scripts/fuzz.sh TARGET [SECS]      one target for SECS seconds (default 600)
# The corpus grows in build-fuzz/corpus/TARGET; a crash is saved as
# build-fuzz/crash-TARGET-* and fails the run.
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
	exit 1
fi
# run TARGET LIMIT-OPTION: one libFuzzer process; its log in build-fuzz/TARGET.log
run() {
	t=$1 limit=$2
	corpus=$dir/corpus/$t
	mkdir -p "$corpus"
	seeds=$top/tests/fuzz/corpus/${t#fuzz_}
	[ -d "$seeds" ] || seeds=
	dict=$top/tests/fuzz/$t.dict
	[ -f "$dict" ] && dict="-dict=$dict" || dict=
	# TARGET.options: extra libFuzzer flags of one target (one line)
	[ -f "$top/tests/fuzz/$t.options" ] && dict="$dict $(cat "$top/tests/fuzz/$t.options")"
	echo "fuzz: $t ($limit)"
	# shellcheck disable=SC2086
	"$dir/tests/fuzz/$t" $limit $dict -timeout=10 -rss_limit_mb=1024 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$dir/crash-$t-" "$corpus" $seeds \
		>"$dir/$t.log" 2>&1 ||
		{ tail -n 40 "$dir/$t.log"; echo "fuzz: $t FAILED (log: $dir/$t.log)"; return 1; }
}
# summary TARGET: executions, coverage and features of its last run
summary() {
	awk -v t="$1" '
		/stat::number_of_executed_units/ { execs = $2 }
		/stat::average_exec_per_sec/ { rate = $2 }
		/^#[0-9]+/ && / cov: / { for (i = 1; i < NF; i++) { if ($i == "cov:") cov = $(i + 1); if ($i == "ft:") ft = $(i + 1); if ($i == "corp:") corp = $(i + 1) } }
		END { printf "%s: %s execs, %s/s, cov %s, ft %s, corpus %s\n", t, execs, rate, cov, ft, corp }
	' "$dir/$1.log"
}
case ${1:-} in
--smoke)
	rc=0
	for t in $targets; do run "$t" -max_total_time=20 || rc=1; done
	exit $rc
	;;
--long)
	shift
	[ $# -gt 0 ] && targets=$*
	if [ -n "${FUZZ_RUNS:-}" ]; then
		limit=-runs=$FUZZ_RUNS
	else
		limit=-max_total_time=${FUZZ_SECONDS:-1800}
	fi
	rc=0
	for t in $targets; do
		run "$t" "$limit" || rc=1
		summary "$t" | tee -a "$dir/campaign.txt"
	done
	exit $rc
	;;
'' | -*)
	echo "usage: $0 --smoke | --long [TARGET...] | TARGET [SECONDS]" >&2
	exit 2
	;;
esac
run "$1" "-max_total_time=${2:-600}" && summary "$1"
