#!/bin/sh
# A baseline rolled back behind vigil's back (issue 8, defect 2): the newest
# generation's `complete` flag cleared, the newest generation deleted, an old
# copy of the database put back, the head removed or edited.  Each is refused
# with exit 3 and a message saying what happened; a head one generation
# behind (a crash between the database commit and the head write) is not.
. "$(dirname "$0")/lib.sh"
set -e
command -v sqlite3 >/dev/null || skip "sqlite3 missing"
D=$T/tree
S=$T/state
mkdir -p "$D"
fim_config "    attributes: [content]"
DB=$S/baseline.db
HEAD=$S/baseline.head
echo 'vulnerable v1' >"$D/sudo"
V baseline
cp -a "$S" "$T/gen1"
echo 'patched v2' >"$D/sudo"
V baseline
cp -a "$S" "$T/gen2"
echo 'vulnerable v1' >"$D/sudo"
expect_rc 1 V check
restore() { rm -rf "$S"; cp -a "$T/gen2" "$S"; }
refuse() { refuse_cmd check "$@"; }

sqlite3 "$DB" "UPDATE generations SET complete = 0 WHERE id = 2"
refuse "rolled back.*newest generation is 1.*says 2" "the newest generation's complete flag cleared"
restore
sqlite3 "$DB" "PRAGMA foreign_keys = ON; DELETE FROM generations WHERE id = 2"
refuse "rolled back" "the newest generation deleted"
restore
cp "$T/gen1/baseline.db" "$DB"
refuse "rolled back" "an old copy of the database put back"
restore
[ -f "$HEAD" ] || fail "no head file beside the database"
grep -q '^generation 2$' "$HEAD" || fail "head does not name generation 2: $(cat "$HEAD")"
c2=$(sed -n 's/^counter //p' "$HEAD")
rm "$HEAD"
refuse "head .* is missing" "the head removed"
restore
sed -i "s/^counter .*/counter 999/" "$HEAD"
refuse "signature of baseline head .* does not verify" "the head's counter edited"
restore
sed -i "s/^generation 2/generation 1/" "$HEAD"
refuse "signature of baseline head|does not link to it" "the head pointed at generation 1"
restore
printf 'garbage\n' >"$HEAD"
refuse "head .* is malformed" "a malformed head"
restore
sqlite3 "$DB" "UPDATE generations SET prev_digest = zeroblob(32) WHERE id = 2"
refuse "modified|digest" "the link to the previous generation edited"
restore

# A crash between the database commit and the head write: the head is one
# generation behind and generation 2 links to it: accepted.
cp "$T/gen1/baseline.head" "$HEAD"
expect_rc 1 V check
# ... and the next baseline writes a head with a larger counter.
V baseline
grep -q '^generation 3$' "$HEAD" || fail "head does not name generation 3"
c3=$(sed -n 's/^counter //p' "$HEAD")
[ "$c3" -gt "$c2" ] || fail "head counter did not grow: $c2 -> $c3"
expect_rc 0 V check

# Starting over on purpose: remove the head and run baseline.
restore
cp "$T/gen1/baseline.db" "$DB"
rm "$HEAD"
V baseline
expect_rc 0 V check

# A baseline written before the head existed (schema 1): refused, saying what to do.
sqlite3 "$DB" "UPDATE meta SET value = 1 WHERE key = 'schema'"
refuse "older vigil.*run 'vigil baseline' again" "a schema 1 database"
echo "ok: rollbacks refused"
