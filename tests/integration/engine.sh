#!/bin/sh
# engine.sh - one engine for the CLI and the daemon (issue 8, section 1), on a real
# private dockerd whose data root the engine discovers from daemon.json (a tmpfs over
# /etc/docker in a private mount namespace, so the host's files are never touched):
#  - a baseline made by the daemon (schedule) is one `vigil check` agrees with: 0
#    differences (it fills the auto: scopes, stores layer and image records);
#  - a binary found by engine discovery (/usr/bin/tini-static behind docker-init) has
#    the same scope in the daemon's baseline as in the CLI's;
#  - a file appended, chmod'ed and added in an image layer's diff dir each give a
#    daemon event naming the layer, the images using it and the path in the image;
#  - an image built while the daemon runs is re-discovered: a change in its layer too;
#  - a file added in a container's upper dir gives an event naming the container
#    (ECS container.id/name/image.name) and vigil.container_path, and so does
#    `vigil check` (JSON and text);
#  - `vigil ctl check` and `vigil check` report the same differences, and a scope on
#    the whole overlay2 dir never makes records of a layer's files.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"
. "$top_srcdir/scripts/docker-harness.sh"
command -v unshare >/dev/null || skip "unshare missing (util-linux)"
[ -d /etc/docker ] || skip "/etc/docker missing: cannot mount a private daemon.json over it"
CLEANUP_EXTRA="harness_stop"
harness_start || skip "cannot start a private dockerd (see the message above)"
harness_build_images || fail "building the test images failed"
DR=$HARNESS_DATA

# in_ns CMD...: CMD in a mount namespace whose /etc/docker/daemon.json names the data
# root (unshare and sh exec, so CMD keeps the pid: a daemon is signalled directly)
NS_SH='mount -t tmpfs -o mode=0755,size=1m vigil-engine-test /etc/docker &&
	printf "{\"data-root\": \"%s\"}\n" "$0" >/etc/docker/daemon.json && exec "$@"'
in_ns() { unshare -m --propagation private sh -c "$NS_SH" "$DR" "$@"; }
V() { in_ns "$VIGIL" --config "$CONF" "$@"; }

cid=$(hdocker create --network none --name vigil-c1 vigil-base:1 sh) || fail "docker create"
mid=$(cat "$DR/image/overlay2/layerdb/mounts/$cid/mount-id") || fail "no mount id for $cid"
UPPER=$DR/overlay2/$mid/diff
[ -d "$UPPER" ] || fail "container upper dir $UPPER missing"

# config SCHEDULE_YAML
config() {
	cat >"$CONF" <<EOC
state_dir: $STATE
scopes:
  - name: docker-engine-binaries
    auto: docker-binaries
    severity: critical
  - name: docker-layers
    auto: docker-layers
    severity: critical
    watch: true
  - name: containers
    paths: [$UPPER]
    severity: high
    watch: true
  - name: docker-data
    paths: [$DR/overlay2]
    severity: low
  - name: host-binaries
    paths: [/usr/bin/tini-static, /usr/bin/tini]
    depth: 0
watch:
  debounce_ms: 200
  control_socket: $SOCK
  pid_file: $PIDF
outputs:
  - type: jsonl
    path: $EV
schedule: $1
audit:
  enabled: false
EOC
}
start_ns_daemon() {
	unshare -m --propagation private sh -c "$NS_SH" "$DR" "$VIGIL" --config "$CONF" watch --pid-file "$PIDF" \
		2>>"$T/daemon.log" 9>&- &
	DAEMON_PID=$!
	DAEMON_PIDS="$DAEMON_PIDS $DAEMON_PID"
	wait_for '"action":"watch-started"' "$1" 60 || { cat "$T/daemon.log" >&2; fail "daemon did not start"; }
}
scope_of() { V show --json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["vigil"]["scope"])'; }

# --- a baseline made by the daemon ---------------------------------------------
mkdir -p "$STATE"
config '[{action: baseline, every: 2s}]'
V -q baseline 2>"$T/cli-baseline.err" || { cat "$T/cli-baseline.err" >&2; fail "vigil baseline failed"; }
cli_scope=$(scope_of /usr/bin/tini-static)
[ "$cli_scope" = docker-engine-binaries ] || fail "the CLI puts /usr/bin/tini-static in '$cli_scope'"
start_ns_daemon 1
wait_for '"action":"baseline-generation"' 1 60 || { cat "$T/daemon.log" >&2; fail "no scheduled baseline"; }
stop_daemon
grep -q '"action":"baseline-failed"' "$EV" && fail "a scheduled baseline failed"
set +e
V check >"$T/check0.out" 2>&1
rc=$?
set -e
[ $rc -eq 0 ] || { cat "$T/check0.out" >&2; fail "vigil check after the daemon's baseline exited $rc, expected 0"; }
d_scope=$(scope_of /usr/bin/tini-static)
[ "$d_scope" = "$cli_scope" ] || fail "/usr/bin/tini-static: scope '$d_scope' in the daemon's baseline, '$cli_scope' in the CLI's"

# --- changes in a layer's diff dir and a container's upper dir, live -----------
config '[]'
: >"$EV"
start_ns_daemon 1
grep -q "docker: data root '$DR'.*diff dirs are watched" "$T/daemon.log" || fail "no log line says the layers are watched"
set -- $(V layers list --json | python3 -c '
import json, os, sys
for l in json.load(sys.stdin):
    d = os.path.join(sys.argv[1], "overlay2", l["cache_id"], "diff")
    if os.path.exists(d + "/app/blob.bin"): print(l["chain_id"], d)' "$DR")
[ $# -eq 2 ] || fail "no layer holds /app/blob.bin"
CHAIN=$1 LDIR=$2
# layer_event IMAGE_PATH: a layer-changed event from inotify names the layer, the
# images using it and that path in the image
layer_event() {
	python3 - "$EV" "$CHAIN" "$1" <<'PY' || fail "no layer-changed event for $1 in layer $CHAIN"
import json, sys, time
f, chain, path = sys.argv[1:]
end = time.time() + 30
while time.time() < end:
    for e in (json.loads(l) for l in open(f)):
        v = e["vigil"]
        if e["event"]["action"] == "layer-changed" and v.get("source") == "inotify" and v.get("image_path") == path:
            assert v["layer"]["chain_id"] == chain, e
            assert "vigil-multi:1" in v["layer"]["images"], e
            assert v["severity"] == "critical", e
            assert e["file"]["path"].endswith("/diff" + path), e
            sys.exit(0)
    time.sleep(0.2)
sys.exit(1)
PY
}
echo appended >>"$LDIR/app/blob.bin"
layer_event /app/blob.bin
chmod 4755 "$LDIR/app/hello.sh"
layer_event /app/hello.sh
echo new >"$LDIR/app/planted"
layer_event /app/planted

# an image built while the daemon runs: re-discovered (the layer store is watched),
# its layer's diff dir watched
mkdir -p "$T/ctx"
printf 'FROM vigil-base:1\nRUN echo new >/newfile\n' >"$T/ctx/Dockerfile"
DOCKER_BUILDKIT=0 hdocker build -q -t vigil-new:1 "$T/ctx" >/dev/null 2>&1 || fail "build vigil-new:1"
set -- $(V layers list --json | python3 -c '
import json, os, sys
ls = json.load(sys.stdin)
for l in ls:
    d = os.path.join(sys.argv[1], "overlay2", l["cache_id"], "diff")
    if os.path.exists(d + "/newfile"): print(l["chain_id"], d, len(ls))' "$DR")
[ $# -eq 3 ] || fail "no layer holds /newfile"
for _ in $(seq 100); do
	grep -q "docker: data root '$DR', $3 image layers" "$T/daemon.log" && break
	sleep 0.1
done
grep -q "docker: data root '$DR', $3 image layers" "$T/daemon.log" ||
	fail "the daemon did not re-discover the engine after an image was built ($3 layers now)"
OLD_CHAIN=$CHAIN
CHAIN=$1
echo more >>"$2/newfile"
python3 - "$EV" "$CHAIN" <<'PY' || fail "no layer-changed event for the new image's layer"
import json, sys, time
f, chain = sys.argv[1:]
end = time.time() + 30
while time.time() < end:
    for e in (json.loads(l) for l in open(f)):
        v = e["vigil"]
        if e["event"]["action"] == "layer-changed" and v.get("image_path") == "/newfile":
            assert v["layer"]["chain_id"] == chain and "vigil-new:1" in v["layer"]["images"], e
            sys.exit(0)
    time.sleep(0.2)
sys.exit(1)
PY
CHAIN=$OLD_CHAIN

echo evil >"$UPPER/evil.sh"
python3 - "$EV" "$cid" "$UPPER/evil.sh" <<'PY' || fail "no file-added event in Docker's terms for the container's upper dir"
import json, sys, time
f, cid, path = sys.argv[1:]
end = time.time() + 30
while time.time() < end:
    for e in (json.loads(l) for l in open(f)):
        if e["event"]["action"] == "file-added" and e.get("file", {}).get("path") == path:
            c = e["container"]
            assert c["id"] == cid and c["name"] == "vigil-c1" and c["image"]["name"] == "vigil-base:1", e
            assert e["vigil"]["container_path"] == "/evil.sh", e
            sys.exit(0)
    time.sleep(0.2)
sys.exit(1)
PY

# --- ctl check and vigil check: the same differences ----------------------------
n0=$(wc -l <"$EV")
set +e
timeout 300 "$VIGIL" --config "$CONF" ctl --socket "$SOCK" check >"$T/ctl-check.json"
rc=$?
set -e
[ $rc -eq 1 ] || fail "ctl check exited $rc, expected 1 (differences)"
wait_for '"action":"check-summary"' 1 60 || fail "no check-summary event"
tail -n +$((n0 + 1)) "$EV" >"$T/daemon-check.jsonl"
set +e
V check --json >"$T/cli-check.jsonl" 2>/dev/null
rc=$?
V check >"$T/cli-check.txt" 2>&1
set -e
[ $rc -eq 1 ] || fail "vigil check --json exited $rc, expected 1"
python3 - "$T/daemon-check.jsonl" "$T/cli-check.jsonl" "$T/ctl-check.json" "$cid" <<'PY' || fail "ctl check and vigil check differ"
import json, sys
def diffs(f, src):
    out = set()
    for l in open(f):
        if not l.startswith("{"):
            continue
        e = json.loads(l)
        if e["vigil"].get("source") != src or e["event"]["action"] == "check-summary":
            continue
        key = e.get("file", {}).get("path") or e["vigil"].get("chain_id") or e["vigil"].get("image_id")
        out.add((e["event"]["action"], key))
    return out
d, c = diffs(sys.argv[1], "check"), diffs(sys.argv[2], "check")
assert d == c, ("daemon only", d - c, "cli only", c - d)
r = json.load(open(sys.argv[3]))
assert r["differences"] == len(c) >= 2, (r, c)
assert any(a == "layer-changed" for a, _ in c), c
cli = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")]
# a scope on the whole overlay2 dir walks into no layer: those are verified whole
inlayer = [e for e in cli if e["event"]["action"].startswith("file-") and (e["vigil"].get("layer") or "/diff/app" in e["file"]["path"])]
assert not inlayer, inlayer
up = [e for e in cli if e["event"]["action"] == "file-added" and e["file"]["path"].endswith("/evil.sh")]
assert up and up[0]["container"]["id"] == sys.argv[4] and up[0]["vigil"]["container_path"] == "/evil.sh", up
PY
grep -q "container: ${cid%"${cid#????????????}"} vigil-c1 (image vigil-base:1), path in the container: /evil.sh" "$T/cli-check.txt" ||
	{ cat "$T/cli-check.txt" >&2; fail "vigil check's text does not name the container"; }
stop_daemon
echo "engine: daemon baseline = CLI baseline, same scopes, layer and container changes in Docker's terms, ctl check = check"
