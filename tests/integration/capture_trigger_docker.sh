#!/bin/sh
# capture_trigger_docker.sh - a trigger on audit's container-shell detection
# (`docker exec CONTAINER sh`, through the proc connector) captures the
# container the event names, frozen while it is read: capture-completed
# names the archive, which verifies, holds that container's files, upper
# layer and processes, and whose trigger.json is the container-shell event;
# the container runs (thawed) afterwards.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"
. "${top_srcdir:-.}/scripts/docker-harness.sh"

command -v bsdtar >/dev/null 2>&1 || skip "bsdtar not installed (Debian package libarchive-tools)"
audit_docker_on

mkdir -p "$TREE"
mkdir -m 700 "$STATE"
echo one >"$TREE/file"
write_config
"$VIGIL" check-config --print-default | awk '/^[a-z_]+:/ { on = /^audit:/ } on' >"$T/audit.yaml"
cat >>"$T/audit.yaml" <<EOC
capture:
  evidence_dir: $T/evidence
  data_root: $HARNESS_DATA
  min_free: 1M
triggers:
  - name: shell
    action: container-shell
    containers: ['shell*']
    container: true
    freeze: true
EOC
python3 - "$CONF" "$T/audit.yaml" <<'PY'
import sys
p, a = sys.argv[1], open(sys.argv[2]).read()
s = open(p).read()
assert "audit:\n  enabled: false\n" in s
open(p, "w").write(s.replace("audit:\n  enabled: false\n", a))
PY
"$VIGIL" --config "$CONF" -q keygen || fail "keygen failed"
baseline
start_daemon
# no shell until the exec below: sleep and touch are not shells
cid=$(hdocker run -d --name shelled --network none vigil-base:1 sleep 600)
[ ${#cid} -eq 64 ] || fail "docker run gave '$cid'"
hdocker exec shelled touch /tmp/x
# a shell in a container the rule does not name: reported, never captured
hdocker run -d --name other --network none vigil-base:1 sleep 600 >/dev/null
hdocker exec other sh -c 'echo hi' >/dev/null
wait_for '"name":"other"' 1 20 || fail "no container-shell event for other: $(cat "$T/daemon.log")"
hdocker exec shelled sh -c 'echo hi' >/dev/null
wait_for '"action":"capture-completed"' 1 60 || { grep capture "$EV" >&2; fail "no capture-completed"; }
# (other tests' containers on this host may shell too: only `shelled` may trigger)
[ "$(count '"action":"capture-triggered"')" -eq 1 ] || fail "not exactly one trigger: $(grep capture "$EV")"
grep '"action":"capture-triggered"' "$EV" | grep -q "\"container\":\"$cid\"" ||
	fail "the trigger is not for shelled: $(grep capture-triggered "$EV")"
A=$(grep '"action":"capture-completed"' "$EV" | head -n 1 | python3 -c '
import json, sys; print(json.loads(sys.stdin.readline())["vigil"]["capture"]["archive"])')
"$VIGIL" --config "$CONF" -q verify "$A" >/dev/null || fail "the archive does not verify"
bsdtar -tf "$A" >"$T/list"
grep -qx "containers/$cid/config.v2.json" "$T/list" || fail "the container's config is not in the archive"
grep -qx "containers/$cid/upper/tmp/x" "$T/list" || fail "the container's upper layer is not in the archive"
grep -q "^containers/$cid/proc/[0-9]*/cmdline\$" "$T/list" || fail "the container's processes are not in the archive"
bsdtar -xOf "$A" trigger.json | grep -q '"action":"container-shell"' || fail "trigger.json is not the container-shell event"
bsdtar -xOf "$A" MANIFEST.json | grep -q 'frozen' || fail "the manifest does not say the container was frozen"
hdocker exec shelled true || fail "the container is not running (thawed) after the capture"
stop_daemon
echo "ok: capture_trigger_docker"
