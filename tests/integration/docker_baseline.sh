#!/bin/sh
# Image layers in the signed baseline, on a real private dockerd: `vigil baseline`
# records one object per layer (auto: docker-layers), `vigil check` re-verifies them:
# a byte changed in a layer is a critical layer-changed event naming the layer and
# the file, a rewritten image config is a critical image-changed event, a newly built image shows up as new layers (not as files), a removed
# image retires its layers quietly, and `vigil diff` between generations shows the
# image and layer objects added, removed and stored differently.  The data root is bind-mounted at
# ROOT/var/lib/docker and read with --root, as on a mounted disk image.
. "$(dirname "$0")/lib.sh"
docker_test_needs python3
docker_up build
R=$T/root
mkdir -p "$R/var/lib/docker"
mount --bind "$HARNESS_DATA" "$R/var/lib/docker" || skip "bind mount not permitted here"
on_exit "umount -l '$R/var/lib/docker'"
docker_layers_config
V() { "$VIGIL" --root "$R" --config "$T/vigil.yaml" "$@"; }

V baseline >/dev/null 2>&1 || fail "baseline failed"
expect_rc 0 V check >/dev/null

# one byte of one layer file
line=$("$VIGIL" --root "$R" layers list --json | python3 -c '
import json, os, sys
for l in json.load(sys.stdin):
    p = os.path.join(sys.argv[1], "var/lib/docker/overlay2", l["cache_id"], "diff/app/blob.bin")
    if os.path.exists(p): print(l["chain_id"], p)' "$R")
set -- $line
[ $# -eq 2 ] || fail "no layer holds /app/blob.bin"
cp -p "$2" "$T/blob.orig"
flip_byte "$2" 7
touch -r "$T/blob.orig" "$2"
expect_rc 1 V check --json >"$T/events" 2>/dev/null
python3 - "$T/events" "$1" <<'PY' || fail "no critical layer-changed event for the tampered layer"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
hit = [e for e in ev if e["event"]["action"] == "layer-changed"]
assert len(hit) == 1, ev
e = hit[0]
assert e["vigil"]["severity"] == "critical" and e["vigil"]["chain_id"] == sys.argv[2], e
assert e["vigil"]["first_bad"] == "/app/blob.bin", e
assert "vigil-multi:1" in e["vigil"]["images"], e
PY
cp -p "$T/blob.orig" "$2"
expect_rc 0 V check >/dev/null

# a rewritten image config (other entrypoint): the layers are intact, the config no
# longer matches its id: a critical image-changed event (issue 8, defect 11)
img=$(hdocker image inspect -f '{{.Id}}' vigil-multi:1 | cut -d: -f2)
cfgf=$R/var/lib/docker/image/overlay2/imagedb/content/sha256/$img
[ -f "$cfgf" ] || fail "no image config at $cfgf"
cp -p "$cfgf" "$T/config.orig"
sed -i 's#"/bin/sh"#"/bin/evil"#' "$cfgf"
cmp -s "$cfgf" "$T/config.orig" && fail "the image config was not rewritten"
expect_rc 1 V check --json >"$T/events" 2>/dev/null
python3 - "$T/events" "sha256:$img" <<'PY' || fail "no critical image-changed event for the rewritten config"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
hit = [e for e in ev if e["event"]["action"] == "image-changed"]
assert len(hit) == 1 and hit[0]["vigil"]["image_id"] == sys.argv[2], ev
assert hit[0]["vigil"]["severity"] == "critical", hit
assert "rewritten" in hit[0]["message"], hit
PY
cp -p "$T/config.orig" "$cfgf"
expect_rc 0 V check >/dev/null

# a new image: new layers, reported as such (exit 1), no file events
mkdir -p "$T/ctx"
printf 'FROM vigil-base:1\nRUN echo new >/newfile\n' >"$T/ctx/Dockerfile"
DOCKER_BUILDKIT=0 hdocker build -q -t vigil-new:1 "$T/ctx" >/dev/null 2>&1 || fail "build vigil-new:1"
expect_rc 1 V check --json >"$T/events" 2>/dev/null
python3 - "$T/events" <<'PY' || fail "new image not reported as one added layer"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert [e["event"]["action"] for e in ev] == ["layer-added"], ev
assert "vigil-new:1" in ev[0]["message"], ev
PY
# vigil diff between generations shows the Docker objects: generation 2 holds the new
# image and its layer (and the base layers now name it among their images)
V baseline >/dev/null 2>&1 || fail "baseline 2 failed"
newimg=$(hdocker image inspect -f '{{.Id}}' vigil-new:1)
expect_rc 1 V diff 1 2 >"$T/diff" 2>&1
grep -q "^image-added-since: $newimg\$" "$T/diff" || { cat "$T/diff"; fail "diff 1 2: no image-added-since for $newimg"; }
[ "$(grep -c '^layer-added-since: ' "$T/diff")" = 1 ] || { cat "$T/diff"; fail "diff 1 2: not one layer-added-since"; }
grep -q '^[0-9]* added, 0 removed, [0-9]* changed, [1-9][0-9]* Docker objects changed' "$T/diff" ||
	{ cat "$T/diff"; fail "diff 1 2: summary"; }
expect_rc 1 V diff --json 1 2 >"$T/events" 2>/dev/null
python3 - "$T/events" "$newimg" <<'PY' || fail "diff --json 1 2: Docker objects"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
act = [e["event"]["action"] for e in ev]
assert act.count("image-added-since") == 1 and act.count("layer-added-since") == 1, act
im = [e for e in ev if e["event"]["action"] == "image-added-since"][0]
assert im["vigil"]["kind"] == "image" and im["vigil"]["old"] is None and "vigil-new:1" in im["vigil"]["new"]["tags"], im
for e in ev:
    if e["event"]["action"] == "layer-changed-since":   # a base layer: only its images differ
        assert e["vigil"]["severity"] == "low" and "(images)" in e["message"], e
        assert "vigil-new:1" in e["vigil"]["new"]["images"], e
    assert e["event"]["action"].endswith("-since"), e
PY
# removed again: its layer retires quietly
hdocker rmi vigil-new:1 >/dev/null
expect_rc 0 V check >/dev/null
V baseline >/dev/null 2>&1 || fail "baseline 3 failed"
expect_rc 1 V diff 2 3 >"$T/diff" 2>&1
grep -q "^image-removed-since: $newimg\$" "$T/diff" && [ "$(grep -c '^layer-removed-since: ' "$T/diff")" = 1 ] ||
	{ cat "$T/diff"; fail "diff 2 3: the image and its layer are not removed"; }
expect_rc 0 V diff 1 3 >"$T/diff" 2>&1 || { cat "$T/diff"; fail "diff 1 3: the same images and layers differ"; }
echo "docker_baseline: layers baselined, tamper is critical, new image is new layers, removal is quiet, diff shows them"
