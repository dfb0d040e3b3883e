#!/bin/sh
# `check` on a full state file system (issue 8, defect 8): a read-only check
# must not need to create -wal/-shm files in the state dir.  A small tmpfs is
# filled up; check still works, still sees a change, and creates nothing there.
. "$(dirname "$0")/lib.sh"
set -e
need_root
D=$T/tree
S=$T/state
mkdir -p "$D" "$S"
mount -t tmpfs -o size=1m,mode=0700 vigil-fullfs "$S" || skip "cannot mount a tmpfs"
on_exit "umount '$S'"
echo a >"$D/a"
echo b >"$D/b"
fim_config
V baseline
# As after any clean close of the writer: no -wal or -shm for a reader to reuse.
[ ! -e "$S/baseline.db-shm" ] || fail "baseline left $S/baseline.db-shm behind"
dd if=/dev/zero of="$S/fill" bs=4k 2>/dev/null || true
avail=$(df --output=avail "$S" | tail -1 | tr -d ' ')
[ "$avail" -eq 0 ] || fail "the tmpfs is not full ($avail KiB left)"
ls -A "$S" >"$T/before"
expect_rc 0 V check
echo changed >"$D/b"
expect_rc 1 V check
ls -A "$S" >"$T/after"
cmp -s "$T/before" "$T/after" || fail "check created files in the full state dir: $(diff "$T/before" "$T/after" | tr '\n' ' ')"
echo "ok: check works on a full state file system and creates nothing there"
