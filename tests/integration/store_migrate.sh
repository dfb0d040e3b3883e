#!/bin/sh
# A schema 2 store written by the vigil before de-duplication
# (tests/fixtures/store-v2/state.tar.gz: made with main at 5bdecf4: a baseline
# of 30 files, then two `cis --record` runs, the second after one file
# changed, one removed and one added; see README.txt there) is migrated to
# schema 3 the first time it is opened (here by `generations`, a read-only
# command): every generation still verifies with its old signature, shared
# rows are stored once, diff shows the same changes, the next generation
# links on, and a tampered shared row is refused by every generation that
# holds it; on a read-only file system it is refused, saying why.
. "$(dirname "$0")/lib.sh"
set -e
[ -x "$VIGIL" ] || skip "vigil binary not built at $VIGIL"
command -v sqlite3 >/dev/null || skip "sqlite3 missing (apt-get install sqlite3)"
S=$T/state
R=$T/root
mkdir -m 700 "$S"
tar -xzf "$top_srcdir/tests/fixtures/store-v2/state.tar.gz" -C "$S"
chmod 600 "$S"/*
mkdir -p "$R/data" "$R/var/lib/docker/image/overlay2"
echo x >"$R/data/x"
printf 'state_dir: %s\nscopes:\n  - name: t\n    paths: [/data]\n' "$S" >"$T/vigil.yaml"
V() { "$VIGIL" -q --config "$T/vigil.yaml" "$@"; }
DB=$S/baseline.db
[ "$(sqlite3 "$DB" "select value from meta where key = 'schema'")" = 2 ] || fail "the fixture is not schema 2"
v2rows=$(sqlite3 "$DB" "select count(*) from records")
digests=$(sqlite3 "$DB" "select group_concat(hex(digest)) from generations")

expect_rc 0 V generations >"$T/gens"
[ "$(grep -c ' verified$' "$T/gens")" = 3 ] || { cat "$T/gens"; fail "not every migrated generation verifies"; }
[ "$(sqlite3 "$DB" "select value from meta where key = 'schema'")" = 3 ] || fail "not migrated to schema 3"
[ "$(sqlite3 "$DB" "pragma integrity_check")" = ok ] || fail "integrity_check after the migration"
[ "$(sqlite3 "$DB" "select group_concat(hex(digest)) from generations")" = "$digests" ] || fail "digests changed"
v3rows=$(sqlite3 "$DB" "select count(*) from records")
# 31 paths in generations 1 and 2, 31 in 3 of which /data, f3 and n are new rows
[ "$v2rows" = 93 ] && [ "$v3rows" = 34 ] || fail "records: $v2rows rows in schema 2, $v3rows in 3 (want 93, 34)"
[ "$(sqlite3 "$DB" "select count(*) from objects")" = 93 ] || fail "objects of generations 2 and 3 are not shared"
[ "$(sqlite3 "$DB" "select count(*) from records where first_gen = 1 and last_gen = 3")" = 28 ] ||
	fail "unchanged records do not span generations 1-3"
expect_rc 1 V diff 1 3 >"$T/diff"
grep -q '^changed: /data/f3$' "$T/diff" && grep -q '^removed: /data/f4$' "$T/diff" &&
	grep -q '^added: /data/n$' "$T/diff" || { cat "$T/diff"; fail "diff 1 3 after the migration"; }
expect_rc 0 V diff 2 2
# the chain goes on from the migrated generations
V --root "$R" baseline >/dev/null
expect_rc 0 V generations >"$T/gens"
[ "$(grep -c ' verified$' "$T/gens")" = 4 ] || { cat "$T/gens"; fail "generation 4 after the migration"; }
# one row, /data/f1, held by generations 1, 2 and 3: edited, all three are refused
sqlite3 "$DB" "update records set size = size + 1 where path = cast('/data/f1' as blob)"
expect_rc 3 V generations >"$T/gens"
[ "$(grep -c 'DOES NOT VERIFY' "$T/gens")" = 3 ] || { cat "$T/gens"; fail "a tampered shared row is not refused by 1, 2 and 3"; }
grep -q '^ *4 .* verified$' "$T/gens" || fail "generation 4 does not hold /data/f1 and should verify"
# schema 2 on a read-only file system (a mounted image): refused, saying why
if [ "$(id -u)" -eq 0 ]; then
	mkdir -m 700 "$T/src" "$T/ro"
	tar -xzf "$top_srcdir/tests/fixtures/store-v2/state.tar.gz" -C "$T/src"
	chmod 600 "$T/src"/*
	mount --bind "$T/src" "$T/ro" && on_exit "umount -l '$T/ro'" && mount -o remount,bind,ro "$T/ro" ||
		fail "cannot bind-mount a read-only copy"
	printf 'state_dir: %s\nscopes:\n  - name: t\n    paths: [/data]\n' "$T/ro" >"$T/ro.yaml"
	set +e
	"$VIGIL" -q --config "$T/ro.yaml" generations >/dev/null 2>"$T/ro.err"
	rc=$?
	set -e
	[ $rc = 3 ] && grep -q 'schema version 2 .* must be migrated, which needs write access' "$T/ro.err" ||
		fail "read-only schema 2: exit $rc, $(cat "$T/ro.err")"
elif [ "${CI:-}" = true ]; then
	fail "CI=true: the read-only case needs root"
fi
echo "store_migrate: ok ($v2rows record rows -> $v3rows)"
