#!/bin/sh
# capture_trigger.sh - a trigger rule in the daemon's config starts a capture:
# a watched change to a file matching the rule gives capture-triggered,
# capture-started and capture-completed (the archive's path and digest), the
# archive verifies and its trigger.json is the triggering event; the daemon
# keeps reporting other changes meanwhile; a second match within the cooldown
# is skipped (capture-skipped), and the custody ledger verifies.
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
stop_daemon
"$VIGIL" --config "$CONF" -q verify --ledger >/dev/null || fail "the custody ledger does not verify"
"$VIGIL" --config "$CONF" -q cases | grep -q '^secret-touched-.*	archived	' || fail "vigil cases does not list it"
echo "ok: capture_trigger"
