#!/bin/sh
# The whole test suite on a fresh Debian 12 machine: installs what it needs,
# builds, runs `make distcheck` (the tarball builds and its `make check` passes:
# unit tests + integration tests), `make check` again under ASan+UBSan, the
# daemon's tests under valgrind, LiME/kcore under qemu (make check-memdump),
# then every fuzz target briefly on its seed corpus.  Exit 0 only when all passed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)
scripts/setup.sh test
./autogen.sh >/dev/null 2>&1 || { ./autogen.sh; exit 1; }

# stage DIR TARGET configure-args...: configure in DIR, build, run TARGET; the
# output goes to DIR/stage.log, and the logs of failed tests are shown.
stage() {
	dir=$1 target=$2
	shift 2
	mkdir -p "$dir"
	if (cd "$dir" && "$top/configure" -q "$@" && make -s -j"$jobs" &&
		make -j"$jobs" "$target") >"$dir/stage.log" 2>&1; then
		grep -E '^(PASS|SKIP|XFAIL|# [A-Z]+:)' "$dir/stage.log" || true
		return 0
	fi
	grep -E '^(PASS|SKIP|FAIL|ERROR|XPASS)' "$dir/stage.log" || true
	tail -n 40 "$dir/stage.log"
	find "$dir" -name '*.trs' | while read -r trs; do
		grep -qE ':test-result: (FAIL|ERROR|XPASS)' "$trs" &&
			{ echo "==== ${trs%.trs}.log"; tail -n 60 "${trs%.trs}.log"; }
	done
	return 1
}

echo "== make distcheck (build from the tarball, make check)" >&2
stage build distcheck
echo "== make check under AddressSanitizer + UndefinedBehaviorSanitizer" >&2
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	stage build-asan check --enable-sanitizers
echo "== the daemon's tests under valgrind (memcheck: 0 errors, no definite leak)" >&2
stage build-valgrind check-valgrind
echo "== LiME and kcore on Debian's kernel under qemu (make check-memdump)" >&2
(cd build && make check-memdump) >build/memdump.log 2>&1 || { tail -n 60 build/memdump.log; exit 1; }
grep -E '^qemu-lime: ' build/memdump.log | tail -n 8 || true
echo "== fuzz targets (libFuzzer, short runs)" >&2
scripts/fuzz.sh --smoke
# One closing line over the three make-check runs (automake's summaries are above).
sum() { grep -h "^# $1:" build/stage.log build-asan/stage.log build-valgrind/stage.log | awk '{s += $3} END {print s + 0}'; }
skipped=$(sum SKIP)
echo "tests: $(sum PASS) passed, $(($(sum FAIL) + $(sum ERROR) + $(sum XPASS))) failed, $skipped skipped"
# Under CI=true a skip means a test that never ran (the tests fail instead of
# skipping there, tests/integration/lib.sh): the run fails.
if [ "${CI:-}" = true ] && [ "$skipped" -ne 0 ]; then
	echo "CI=true: $skipped test(s) skipped: every real-part test must run" >&2
	exit 1
fi
echo "all test stages passed" >&2
