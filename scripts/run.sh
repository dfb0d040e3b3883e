#!/bin/sh
# The main job on a fresh Debian 12 machine: installs the build dependencies,
# builds vigil, then takes a signed baseline of this host with the embedded
# default configuration and checks the host against it.
#   scripts/run.sh [extra global options, e.g. --state-dir DIR]
# Exit code: check's (0 no difference, 1 differences, 2 usage, 3+ failure).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/setup.sh build
[ -f configure ] || ./autogen.sh >/dev/null 2>&1
mkdir -p build
cd build
[ -f Makefile ] || ../configure -q
make -s -j"$(nproc 2>/dev/null || echo 2)"
echo "== vigil baseline" >&2
set +e
./vigil "$@" baseline
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 4 ]; then
	exit $rc
fi
echo "== vigil check" >&2
./vigil "$@" check
