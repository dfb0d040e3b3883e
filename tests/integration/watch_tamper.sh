#!/bin/sh
# watch_tamper.sh - a row of the baseline edited behind the daemon's back,
# right after the watched file was changed to match it (daemon-tamper.sh):
# the daemon sees its state dir change, verifies the baseline again and says
# it was tampered with (critical); `ctl check`, a scheduled check and a reload
# refuse to run against it.  Once a new signed baseline is made by hand, the
# daemon verifies and uses it.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

mkdir -p "$TREE" "$STATE"
echo good > "$TREE/f2"
DEBOUNCE_MS=300
write_config
sed -i 's/^schedule: \[\]$/schedule: [{action: check, every: 2s}]/' "$CONF"
baseline
start_daemon

python3 - "$TREE/f2" "$STATE/baseline.db" <<'PY' || fail "could not edit the baseline"
import hashlib, os, sqlite3, sys
p, dbf = sys.argv[1], sys.argv[2]
data = b"BACKDOOR\n"
db = sqlite3.connect(dbf, timeout=5)
open(p, "wb").write(data)
st = os.lstat(p)  # the write, then (inside the debounce) the row edit
db.execute("update records set size=?,mtime_ns=?,ctime_ns=?,digests=? where path=?",
           (st.st_size, st.st_mtime_ns, st.st_ctime_ns, hashlib.sha256(data).digest(), p.encode()))
db.commit()
db.close()
PY
wait_for '"action":"baseline-tampered"' 1 "$STARTUP_S" || fail "no baseline-tampered event"
grep -F '"action":"baseline-tampered"' "$EV" | head -1 | grep -q '"severity":99' || fail "baseline-tampered is not critical"
wait_for 'refusing to check against baseline' 1 "$STARTUP_S" || fail "the scheduled check ran against a tampered baseline"
rc=0; ctl check > "$T/check.out" 2>&1 || rc=$?
[ $rc -ge 2 ] || { cat "$T/check.out" >&2; fail "ctl check exit $rc against a tampered baseline"; }
grep -q "refusing to check" "$T/check.out" || { cat "$T/check.out" >&2; fail "ctl check does not say why"; }
kill -HUP "$DAEMON_PID"
wait_for '"action":"config-reload-failed"' 1 "$STARTUP_S" || fail "reload not refused"
grep -F '"action":"config-reload-failed"' "$EV" | grep -q "refusing to reload" || fail "reload refused for another reason"

# A new baseline made by hand verifies: the daemon takes it up.
"$VIGIL" --config "$CONF" -q baseline || fail "vigil baseline failed"
wait_for '"action":"baseline-verified"' 1 "$STARTUP_S" || fail "no baseline-verified after a new baseline"
wait_for 'made outside the daemon' 1 "$STARTUP_S" || fail "the new generation was not taken up"
rc=0; ctl check > "$T/check2.out" 2>&1 || rc=$?
[ $rc -le 1 ] || { cat "$T/check2.out" >&2; fail "ctl check exit $rc after a new baseline"; }
grep -q '"generation": 2' "$T/check2.out" || ctl status | grep -q '"generation": 2' || fail "status does not show generation 2"
stop_daemon
echo "watch_tamper: ok"
