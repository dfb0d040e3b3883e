#!/bin/sh
# watch_reload_statedir.sh - `vigil --state-dir DIR watch` keeps DIR after a
# reload (SIGHUP) and after re-discovery, even when the config names another
# state_dir: a capture asked for after the reload is signed with DIR's key,
# written to DIR/evidence and chained in DIR's custody ledger; nothing is made
# in the config's state dir.  (Before, a reload fell back to the config's
# state_dir: the capture then failed for want of a key.)
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

mkdir -p "$TREE"
mkdir -m 700 "$STATE"
echo one >"$TREE/file"
write_config
OTHER=$T/not-this-one
sed -i "s|^state_dir: .*|state_dir: $OTHER|" "$CONF"
V() { "$VIGIL" --config "$CONF" --state-dir "$STATE" "$@"; }
V -q keygen || fail "keygen failed"
V -q baseline || fail "baseline failed"
cat >"$T/vigil-sd" <<EOS
#!/bin/sh
exec "$VIGIL" --state-dir "$STATE" "\$@"
EOS
chmod +x "$T/vigil-sd"
VIGIL_REAL=$VIGIL
VIGIL=$T/vigil-sd start_daemon
VIGIL=$VIGIL_REAL

capture() { # case, number of completed captures to wait for
	V ctl capture --host --case "$1" >"$T/ctl.$1" || fail "ctl capture $1: $(cat "$T/ctl.$1")"
	i=0
	until [ $(($(count '"action":"capture-completed"') + $(count '"action":"capture-failed"'))) -ge "$2" ]; do
		i=$((i + 1)); [ $i -lt 600 ] || { grep capture "$EV" >&2; fail "capture $1 did not end"; }
		sleep 0.1
	done
	grep '"action":"capture-completed"' "$EV" | grep -q "\"case\":\"$1\"" ||
		fail "capture $1 did not complete: $(grep capture "$EV")"
}
capture BEFORE 1
kill -HUP "$DAEMON_PID"
wait_for '"action":"config-reloaded"' 1 20 || fail "reload not reported: $(cat "$T/daemon.log")"
capture AFTER 2
A=$(grep '"action":"capture-completed"' "$EV" | grep '"case":"AFTER"' | python3 -c '
import json, sys; print(json.loads(sys.stdin.readline())["vigil"]["capture"]["archive"])')
case "$A" in "$STATE/evidence/"*) ;; *) fail "the capture after the reload went to '$A'" ;; esac
V -q verify "$A" >/dev/null || fail "the capture after the reload does not verify with the state dir's key"
grep -q '"case":"AFTER"' "$STATE/custody.jsonl" || fail "the ledger in the state dir lacks the capture"
[ ! -e "$OTHER" ] || fail "the config's state dir was made: $(ls -R "$OTHER")"
stop_daemon
echo "ok: watch_reload_statedir"
