#!/bin/sh
# Extended attributes in Docker's overlay2 layers, on a real private dockerd
# (issue 8, defect 1: every xattr read once failed, EOPNOTSUPP on the magic link):
#   - an image layer with an opaque directory and one with a file capability
#     verify as ok (`layers verify`), and `check` right after `baseline` is clean
#   - a capability added afterwards inside a layer's diff dir is MODIFIED
#   - `vigil drift` agrees with `docker diff` for a container that replaces a
#     lower directory (opaque dir: deletions), one that setcaps a lower file
#     (capability change), one that recreates a name below a lower opaque dir (A)
. "$(dirname "$0")/lib.sh"
docker_test_needs python3 setcap
docker_up build
# Each check below is independent: say every one that fails, then fail.
bad=0
miss() { echo "FAIL: $*" >&2; bad=$((bad + 1)); }

# vigil-x:1: setcap (and the libraries it needs) in a layer, then an opaque
# directory (/opt/gone replaced in a later layer), then a file capability.
ctx=$HARNESS_DIR/xctx
mkdir -p "$ctx/files"
sc=$(command -v setcap)
cp -L "$sc" "$ctx/files/setcap"
printf 'FROM vigil-base:1\nCOPY files/setcap /usr/sbin/setcap\n' >"$ctx/Dockerfile"
i=0
for lib in $(ldd "$sc" | grep -o '/[^ ]*'); do
	i=$((i + 1))
	cp -L "$lib" "$ctx/files/lib$i"
	printf 'COPY files/lib%d %s\n' $i "$lib" >>"$ctx/Dockerfile"
done
cat >>"$ctx/Dockerfile" <<'DOCKERFILE'
RUN mkdir -p /opt/keep /opt/gone && echo a >/opt/keep/a && echo old >/opt/gone/old && cp /bin/busybox /usr/bin/pinger && cp /bin/busybox /usr/bin/plain
RUN rm -rf /opt/gone && mkdir /opt/gone && echo new >/opt/gone/new
RUN setcap cap_net_raw+ep /usr/bin/pinger
DOCKERFILE
DOCKER_BUILDKIT=0 hdocker build -q -t vigil-x:1 "$ctx" >/dev/null 2>"$T/build.log" ||
	{ cat "$T/build.log"; fail "building vigil-x:1 failed"; }

# The layers on disk really carry what the test is about.
layer_of() { # path inside the image -> cache id of the top layer holding it
	"$VIGIL" layers list --data-root "$DATA" --json | python3 -c '
import json, os, sys
hit = [l["cache_id"] for l in json.load(sys.stdin)
       if os.path.lexists(os.path.join(sys.argv[1], "overlay2", l["cache_id"], "diff", sys.argv[2]))]
print(hit[0] if len(hit) == 1 else "")' "$DATA" "$1"
}
opq=$(layer_of opt/gone/new)
capl=$("$VIGIL" layers list --data-root "$DATA" --json | python3 -c '
import json, os, sys
for l in json.load(sys.stdin):
    p = os.path.join(sys.argv[1], "overlay2", l["cache_id"], "diff/usr/bin/pinger")
    try:
        os.getxattr(p, "security.capability"); print(l["cache_id"])
    except OSError: pass' "$DATA")
[ -n "$opq" ] && [ "$(getfattr --absolute-names --only-values -n trusted.overlay.opaque \
	"$DATA/overlay2/$opq/diff/opt/gone" 2>/dev/null)" = y ] || fail "no opaque directory in vigil-x:1's layers"
[ -n "$capl" ] || fail "no layer of vigil-x:1 carries a capability"

# Pristine layers verify, and check after baseline is clean.
"$VIGIL" layers verify --data-root "$DATA" vigil-x:1 >"$T/out" 2>&1 ||
	{ cat "$T/out"; miss "pristine layers with an opaque dir or a capability not ok"; }
R=$T/root
mkdir -p "$R/var/lib/docker"
mount --bind "$DATA" "$R/var/lib/docker" || fail "bind mount refused"
on_exit "umount -l '$R/var/lib/docker'"
docker_layers_config
"$VIGIL" --root "$R" --config "$T/vigil.yaml" baseline >"$T/out" 2>&1 || { cat "$T/out"; fail "baseline failed"; }
"$VIGIL" --root "$R" --config "$T/vigil.yaml" check >"$T/out" 2>&1 ||
	{ cat "$T/out"; miss "check right after baseline is not clean"; }

# A capability added afterwards in a layer's diff dir.
plain=$DATA/overlay2/$(layer_of usr/bin/plain)/diff/usr/bin/plain
setcap cap_net_admin+ep "$plain"
rc=0; "$VIGIL" layers verify --data-root "$DATA" vigil-x:1 >"$T/out" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q '/usr/bin/plain: xattr security.capability added' "$T/out" ||
	{ cat "$T/out"; miss "added capability not reported (exit $rc)"; }
setcap -r "$plain"

# Containers: drift agrees with docker diff.
hdocker run --network none --name xa vigil-x:1 sh -c 'rm -rf /opt/keep && mkdir /opt/keep' >/dev/null
hdocker run --network none --name xb vigil-x:1 setcap cap_net_admin+ep /usr/bin/plain >/dev/null
hdocker run --network none --name xc vigil-x:1 sh -c 'echo again >/opt/gone/old' >/dev/null
for c in xa xb xc; do
	hdocker diff "$c" | sort >"$T/dd.$c"
	"$VIGIL" drift --data-root "$DATA" --short "$c" | sort >"$T/vd.$c" || :
	diff "$T/dd.$c" "$T/vd.$c" || miss "vigil drift $c differs from docker diff"
done
grep -qx 'D /opt/keep/a' "$T/dd.xa" || fail "docker diff xa: no deletion under the opaque dir"
grep -qx 'C /usr/bin/plain' "$T/dd.xb" || fail "docker diff xb: no capability change"
grep -qx 'A /opt/gone/old' "$T/dd.xc" || fail "docker diff xc: not an addition"
[ $bad -eq 0 ] || fail "$bad checks failed"
echo "docker_xattr: opaque dirs and capabilities in layers and containers read right"
