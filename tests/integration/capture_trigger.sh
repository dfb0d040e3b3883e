#!/bin/sh
# capture_trigger.sh - a trigger rule in the daemon's config starts a capture:
# a watched change to a file matching the rule gives capture-triggered,
# capture-started and capture-completed (the archive's path and digest), the
# archive verifies and its trigger.json is the triggering event; the daemon
# keeps reporting other changes meanwhile; a second match within the cooldown
# is skipped (capture-skipped); `vigil ctl capture` asks the daemon for one
# (not subject to the cooldown); after a reload that puts the evidence dir
# on a tiny tmpfs, a capture fails (capture-failed, a `failed` ledger record,
# nothing left there) and the daemon goes on reporting; the custody ledger
# verifies.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

mkdir -p "$TREE/etc"
mkdir -m 700 "$STATE"
echo one >"$TREE/etc/secret"
echo two >"$TREE/etc/other"
OUTPUTS_EXTRA="capture:
  evidence_dir: $T/evidence
  min_free: 1M
  cooldown: 1h
  max_concurrent: 2
triggers:
  - name: secret-touched
    action: file-changed
    paths: ['$TREE/etc/secret*']
    host: true"
write_config
"$VIGIL" --config "$CONF" -q keygen || fail "keygen failed"
baseline
start_daemon

echo changed >>"$TREE/etc/secret"
has_event file-changed "$TREE/etc/secret" || fail "the change itself not reported"
wait_for '"action":"capture-triggered"' 1 20 || fail "no capture-triggered event"
wait_for '"action":"capture-started"' 1 20 || fail "no capture-started event"
echo changed >>"$TREE/etc/other"
has_event file-changed "$TREE/etc/other" || fail "a change during the capture not reported"
wait_for '"action":"capture-completed"' 1 60 || { grep capture "$EV" >&2; fail "no capture-completed event"; }
grep -q '"action":"capture-failed"' "$EV" && fail "a capture failed: $(grep capture-failed "$EV")"
A=$(grep '"action":"capture-completed"' "$EV" | python3 -c '
import json, sys
e = json.loads(sys.stdin.readline())
c = e["vigil"]["capture"]
assert c["trigger"] == "secret-touched" and len(c["sha256"]) == 64, c
print(c["archive"])') || fail "capture-completed event lacks its archive"
[ -f "$A" ] || fail "the archive $A does not exist"
"$VIGIL" --config "$CONF" -q verify "$A" >/dev/null || fail "the triggered archive does not verify"
bsdtar -xOf "$A" trigger.json | python3 -c '
import json, sys
e = json.load(sys.stdin)
assert e["event"]["action"] == "file-changed", e["event"]
assert e["file"]["path"].endswith("/etc/secret"), e["file"]' || fail "trigger.json is not the triggering event"

echo again >>"$TREE/etc/secret"
wait_for '"action":"capture-skipped"' 1 20 || fail "no capture-skipped within the cooldown"
grep '"action":"capture-skipped"' "$EV" | grep -q '"why":"cooldown"' || fail "skipped, but not for the cooldown"
[ "$(count '"action":"capture-started"')" -eq 1 ] || fail "a second capture started within the cooldown"

# vigil ctl capture: the reply names the case, its outcome is an event
"$VIGIL" --config "$CONF" ctl capture --host --case CTL-1 >"$T/ctl.out" || fail "ctl capture failed: $(cat "$T/ctl.out")"
grep -q '"case": "CTL-1"' "$T/ctl.out" || fail "ctl capture reply: $(cat "$T/ctl.out")"
wait_for '"action":"capture-completed"' 2 60 || { grep capture "$EV" >&2; fail "no capture-completed for ctl capture"; }
A2=$(grep '"action":"capture-completed"' "$EV" | grep '"case":"CTL-1"' | python3 -c '
import json, sys; print(json.loads(sys.stdin.readline())["vigil"]["capture"]["archive"])') || fail "no CTL-1 archive"
"$VIGIL" --config "$CONF" -q verify "$A2" >/dev/null || fail "the ctl capture does not verify"
bsdtar -xOf "$A2" trigger.json | grep -q '"cmd":"capture"' || fail "trigger.json is not the ctl request"
set +e; "$VIGIL" --config "$CONF" ctl capture >"$T/ctl2.out" 2>&1; rc=$?; set -e
[ $rc -eq 3 ] && grep -q 'nothing to capture' "$T/ctl2.out" || fail "ctl capture without a target: rc $rc $(cat "$T/ctl2.out")"

# the evidence fs fills up: capture-failed, a failed record, the daemon goes on
mkdir "$T/small"
mount -t tmpfs -o size=8k vigil-capture-full "$T/small" || fail "cannot mount a tmpfs"
mounted "$T/small"
sed -i "s|evidence_dir: $T/evidence|evidence_dir: $T/small|" "$CONF"
kill -HUP "$DAEMON_PID"
wait_for '"action":"config-reloaded"' 1 20 || fail "reload not reported"
"$VIGIL" --config "$CONF" ctl capture --host --case FULL >"$T/ctl3.out" || fail "ctl capture FULL: $(cat "$T/ctl3.out")"
wait_for '"action":"capture-failed"' 1 60 || fail "no capture-failed on a full evidence fs"
grep '"action":"capture-failed"' "$EV" | grep -q '"case":"FULL"' || fail "capture-failed does not name the case"
tail -n 1 "$STATE/custody.jsonl" | grep -q '"action":"failed".*"case":"FULL"' || fail "no failed ledger record"
[ -z "$(ls -A "$T/small")" ] || fail "the full fs holds something: $(ls -a "$T/small")"
echo after >>"$TREE/etc/other"
wait_for "\"path\":\"$TREE/etc/other\"" 2 20 || fail "the daemon stopped reporting after a failed capture"
alive "$DAEMON_PID" || fail "the daemon died"
stop_daemon
"$VIGIL" --config "$CONF" -q verify --ledger >/dev/null || fail "the custody ledger does not verify"
"$VIGIL" --config "$CONF" -q cases | grep -q '^secret-touched-.*	archived	' || fail "vigil cases does not list it"
echo "ok: capture_trigger"
