#!/bin/sh
# A state dir inside a scope (issue 8, defect 10): vigil's own database
# changes on every run, so it is left out of every walk automatically;
# otherwise every check reports it.
. "$(dirname "$0")/lib.sh"
set -e
D=$T/tree
S=$D/var/vigil
mkdir -p "$D/etc"
echo a >"$D/etc/a"
fim_config
V baseline
expect_rc 0 V check
V baseline
expect_rc 0 V check
expect_rc 1 V show "$S/baseline.db"
expect_rc 1 V show "$S"
V show "$D/etc/a" >/dev/null || fail "a file of the scope is missing from the baseline"
echo b >"$D/etc/a"
expect_rc 1 V check
echo "ok: the state dir is left out of the walk"
