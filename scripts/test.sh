#!/bin/sh
# The whole test suite on a fresh Debian 12 machine: installs what it needs,
# builds, runs `make check` twice (plain, and under ASan+UBSan), then runs every
# fuzz target briefly on its seed corpus.  Exit 0 only when all of it passed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)
scripts/setup.sh test
./autogen.sh >/dev/null 2>&1 || { ./autogen.sh; exit 1; }

run_check() { # dir configure-args...
	dir=$1; shift
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" -q "$@" && make -s -j"$jobs" &&
		make -s -j"$jobs" check) || {
		for f in "$dir"/tests/*/*.log "$dir"/tests/*.log; do
			[ -f "$f" ] && grep -qE '^(FAIL|ERROR)' "${f%.log}.trs" 2>/dev/null &&
				{ echo "==== $f"; tail -n 60 "$f"; }
		done
		return 1
	}
}

echo "== build and make check" >&2
run_check build
echo "== make check under AddressSanitizer + UndefinedBehaviorSanitizer" >&2
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_check build-asan --enable-sanitizers
echo "== fuzz targets (libFuzzer, short runs)" >&2
scripts/fuzz.sh --smoke
echo "all test stages passed" >&2
