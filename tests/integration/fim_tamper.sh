#!/bin/sh
# A baseline changed behind vigil's back, a wrong or missing key, a corrupt,
# truncated or locked database, a broken config: each is refused with a clear
# message and the documented exit code (3 for the baseline, 2 for the config).
. "$(dirname "$0")/lib.sh"
set -e
command -v sqlite3 >/dev/null || skip "sqlite3 missing"
command -v python3 >/dev/null || skip "python3 missing"
D=$T/tree
S=$T/state
mkdir -p "$D"
echo a >"$D/a"; echo b >"$D/b"
fim_config
DB=$S/baseline.db
V baseline
expect_rc 0 V check
cp -a "$S" "$T/good"
restore() { rm -rf "$S"; cp -a "$T/good" "$S"; }
# refuse: expect exit 3 and a message matching $1
refuse() { refuse_cmd check "$@"; }

sqlite3 "$DB" "UPDATE records SET mode = 511 WHERE path = CAST('$D/a' AS BLOB)"
refuse "modified|digest" "a record's mode changed in the database"
restore
sqlite3 "$DB" "DELETE FROM records WHERE path = CAST('$D/b' AS BLOB)"
refuse "modified|digest" "a record deleted from the database"
restore
sqlite3 "$DB" "INSERT INTO records SELECT first_gen, last_gen, CAST('$D/zz' AS BLOB), ftype, mode, uid, gid, size, mtime_ns, ctime_ns, ino, dev, rdev, nlink, target, xattrs, flags, has_flags, algos, digests, status, err, scope FROM records WHERE path = CAST('$D/a' AS BLOB)"
refuse "modified|digest" "a record added to the database"
restore
# an attacker who rewrites records and the stored digest still lacks the key
sqlite3 "$DB" "UPDATE generations SET digest = zeroblob(32)"
refuse "modified|digest|signature" "the stored digest replaced"
restore
# another key's public half
"$VIGIL" -q --state-dir "$T/other" keygen
cp "$T/other/vigil.pub" "$S/vigil.pub"
refuse "signature|key" "the public key replaced"
restore
rm "$S/vigil.pub"
refuse "vigil.pub" "the public key missing"
restore
# corrupt: truncated to half, then garbage in the middle
size=$(stat -c %s "$DB")
truncate -s $((size / 2)) "$DB"
rm -f "$DB-wal" "$DB-shm"
refuse "baseline|database|corrupt|malformed" "a truncated database"
restore
rm -f "$DB-wal" "$DB-shm"
dd if=/dev/urandom of="$DB" bs=1 seek=100 count=3000 conv=notrunc 2>/dev/null
refuse "baseline|database|corrupt|malformed|not a database" "a database with garbage inside"
restore
: >"$DB"
refuse "baseline|database|no baseline" "an empty database file"
restore
# locked by another writer: baseline waits a little, then says so
python3 - "$DB" "$T/locked" <<'PY' &
import sqlite3, sys, time, os
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(60)
PY
locker=$!
on_exit "kill $locker"
i=0; while [ ! -e "$T/locked" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
set +e
V baseline 2>"$T/err"
rc=$?
set -e
kill $locker; wait $locker 2>/dev/null || true
[ $rc -eq 3 ] || fail "baseline on a locked database exited $rc, expected 3"
grep -qi "locked\|busy" "$T/err" || fail "locked database not said: $(cat "$T/err")"
restore
expect_rc 0 V check
# the secret key gone while baselines exist: baseline refuses to mint a new one
rm "$S/vigil.key"
set +e
V baseline 2>"$T/err"
rc=$?
set -e
[ $rc -eq 3 ] || fail "baseline without its key exited $rc"
grep -q "vigil.key" "$T/err" || fail "missing key not named"
restore
# a broken config: exit 2, file and line named, nothing run
printf 'state_dir: %s\nscopes:\n  - name: t\n    paths: [%s]\n    severty: high\n' "$S" "$D" >"$T/bad.yaml"
set +e
"$VIGIL" --config "$T/bad.yaml" check 2>"$T/err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "broken config exited $rc, expected 2"
grep -q "bad.yaml:5" "$T/err" || fail "config error lacks file:line: $(cat "$T/err")"
grep -q "severty" "$T/err" || fail "config error lacks the key: $(cat "$T/err")"
echo "ok: tampering, corruption, locks and bad config refused"
