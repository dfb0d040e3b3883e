#!/bin/sh
# vigil on a real Docker data root: a private dockerd (scripts/docker-harness.sh),
# images built without network, containers that add, change and delete files.
#   - `vigil images` / `vigil containers` agree with `docker images` / `docker ps -a`
#   - every layer verifies; one byte changed in one layer's diff dir is reported with
#     that layer and that file; a mode change and an extra file are reported too
#   - `vigil drift` agrees with `docker diff` for each container
#   - all of it again with dockerd stopped (files alone)
# Skipped (77, with the reason) when dockerd cannot start here; never a fake pass.
. "$(dirname "$0")/lib.sh"
docker_test_needs python3
docker_up build
V() { "$VIGIL" "$@"; }

hdocker run --network none --name c1 vigil-multi:1 -c '
	echo x >/etc/newfile; rm /etc/motd; echo y >>/app/hello.sh
	mkdir -p /root/.ssh; echo key >/root/.ssh/authorized_keys; rm -rf /opt/data/sub
	cp /bin/busybox /usr/bin/evil; printf "#!/bin/sh\n" >/tmp/s.sh; chmod 600 /app/blob.bin
	chown 1:2 /opt/data/a' >/dev/null
hdocker run -d --network none --name c2 --cap-add NET_ADMIN --read-only vigil-base:1 sleep 600 >/dev/null
hdocker create --name c3 --privileged vigil-base:1 true >/dev/null

json() { code=$1; shift; python3 -c "import json,sys; d=json.load(sys.stdin); $code" "$@"; }

check_lists() {
	# images: ids and tags
	hdocker images -q --no-trunc | sort -u >"$T/d.img"
	V images --data-root "$DATA" --json | json 'print("\n".join(sorted({i["id"] for i in d})))' >"$T/v.img"
	diff "$T/d.img" "$T/v.img" || fail "image ids differ from docker images"
	hdocker images --format '{{.Repository}}:{{.Tag}}' | sort >"$T/d.tag"
	V images --data-root "$DATA" --json | json 'print("\n".join(sorted(t for i in d for t in i["tags"])))' >"$T/v.tag"
	diff "$T/d.tag" "$T/v.tag" || fail "image tags differ from docker images"
	# containers: id, name, state
	hdocker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.State}}' | sort >"$T/d.ps"
	V containers --data-root "$DATA" --json |
		json 'print("\n".join(sorted("%s %s %s" % (c["id"], c["name"], c["state"]) for c in d)))' >"$T/v.ps"
	diff "$T/d.ps" "$T/v.ps" || fail "containers differ from docker ps -a"
	V containers --data-root "$DATA" --json | json '
c = {x["name"]: x for x in d}
assert c["c3"]["host_config"]["privileged"] is True, "c3 not privileged"
assert c["c2"]["host_config"]["readonly_rootfs"] is True, "c2 not read-only"
assert {"NET_ADMIN", "CAP_NET_ADMIN"} & set(c["c2"]["host_config"]["cap_add"]), c["c2"]["host_config"]
assert c["c2"]["pid"] > 0, "c2 pid"' || fail "container host config not read"
}

check_drift() { # expected docker diff files are $T/dd.<name>
	for c in c1 c2 c3; do
		V drift --data-root "$DATA" --short "$c" | sort >"$T/vd.$c" || true
		diff "$T/dd.$c" "$T/vd.$c" || fail "vigil drift $c differs from docker diff"
	done
	V drift --data-root "$DATA" --json c1 | json '
c = {x["path"]: x for x in d}
assert c["/usr/bin/evil"]["executable"] and c["/usr/bin/evil"]["sensitive"], "evil not flagged"
assert c["/tmp/s.sh"]["executable"] and not c["/tmp/s.sh"]["sensitive"], "s.sh flags"
assert c["/root/.ssh/authorized_keys"]["sensitive"], "authorized_keys not sensitive"
assert c["/etc/motd"]["kind"] == "D", "motd not deleted"
assert c["/app/blob.bin"]["kind"] == "C" and c["/app/blob.bin"]["mode"] == 0o600, "chmod not seen"
assert len(c["/etc/newfile"]["sha256"]) == 64, "no hash"
a = c["/opt/data/a"]
assert a["changed"] == ["owner"] and a["uid"] == 1 and a["gid"] == 2, a
p = c["/opt/data"]
assert p["mode"] == 0o755 and p["uid"] == 0 and p["gid"] == 0 and "contents" in p["changed"], p
assert c["/etc"]["mode"] == 0o755 and "uid" in c["/etc"], c["/etc"]' || fail "drift flags or hashes wrong"
	expect_rc 1 V drift --data-root "$DATA" c1 >/dev/null
}

for c in c1 c2 c3; do hdocker diff "$c" | sort >"$T/dd.$c"; done
grep -qx 'A /usr/bin/evil' "$T/dd.c1" || fail "test container did not make its changes"
check_lists
check_drift

# Every layer verifies.
n_layers=$(ls "$DATA/image/overlay2/layerdb/sha256" | wc -l)
V layers verify --data-root "$DATA" --json >"$T/verify.json" || fail "layers verify failed on a clean tree"
json "assert len(d) == $n_layers and all(x['status'] == 'ok' for x in d), d" <"$T/verify.json" ||
	fail "not every layer verified ok"
V layers verify --data-root "$DATA" vigil-multi:1 >/dev/null || fail "verify by image name"

# One byte of one file in one layer.
cache=$(V layers list --data-root "$DATA" --json | json '
import os
for l in d:
    if os.path.exists(os.path.join(sys.argv[1], "overlay2", l["cache_id"], "diff/app/blob.bin")):
        print(l["cache_id"], l["chain_id"])' "$DATA")
set -- $cache
[ $# -eq 2 ] || fail "could not find the layer holding /app/blob.bin"
f=$DATA/overlay2/$1/diff/app/blob.bin
cp -p "$f" "$T/blob.orig"
flip_byte "$f" 1000
touch -r "$T/blob.orig" "$f"
expect_rc 1 V layers verify --data-root "$DATA" >"$T/out" 2>&1
grep -q "MODIFIED $2" "$T/out" || { cat "$T/out"; fail "tampered layer $2 not named"; }
grep -q "first differing file: /app/blob.bin" "$T/out" || { cat "$T/out"; fail "tampered file not named"; }
grep -q "vigil-multi:1" "$T/out" || fail "image using the layer not named"
[ "$(grep -c '^MODIFIED' "$T/out")" -eq 1 ] || fail "more than one layer reported"
cp -p "$T/blob.orig" "$f"
V layers verify --data-root "$DATA" >/dev/null || fail "layer not ok after restoring the byte"

# Headers: a mode change and a file the layer never had (digest unchanged).
hello=$DATA/overlay2/$1/diff/app/hello.sh
touch -r "$DATA/overlay2/$1/diff/app" "$T/appdir.time"
chmod 4755 "$hello"
echo extra >"$DATA/overlay2/$1/diff/app/dropped"
expect_rc 1 V layers verify --data-root "$DATA" "$2" >"$T/out" 2>&1
grep -q '/app/hello.sh: mode 0755 -> 4755' "$T/out" || { cat "$T/out"; fail "mode change not reported"; }
grep -q '/app/dropped: not in the layer' "$T/out" || { cat "$T/out"; fail "extra file not reported"; }
grep -q "/app: mtime" "$T/out" || { cat "$T/out"; fail "directory mtime change not reported"; }
chmod 755 "$hello"
rm "$DATA/overlay2/$1/diff/app/dropped"
touch -r "$T/appdir.time" "$DATA/overlay2/$1/diff/app"
V layers verify --data-root "$DATA" "$2" >/dev/null || fail "layer not ok after undoing the header changes"

# An image config whose content no longer hashes to its name.
img=$(hdocker images -q --no-trunc vigil-base:1 | sed 's/^sha256://')
cfg=$DATA/image/overlay2/imagedb/content/sha256/$img
cp -p "$cfg" "$T/cfg.orig"
sed -i 's/"created"/"created" /' "$cfg"
expect_rc 1 V layers verify --data-root "$DATA" vigil-base:1 >"$T/out" 2>&1
grep -q "MODIFIED image config sha256:$img" "$T/out" || { cat "$T/out"; fail "image config change not reported"; }
cp -p "$T/cfg.orig" "$cfg"

# The layer's own metadata altered: a finding naming the file (MODIFIED, exit 1), not ERROR.
ld=$DATA/image/overlay2/layerdb/sha256/${2#sha256:}
cp -p "$ld/diff" "$T/diff.orig"
echo "sha256:$(printf x | sha256sum | cut -d' ' -f1)" >"$ld/diff"
expect_rc 1 V layers verify --data-root "$DATA" "$2" >"$T/out" 2>&1
grep -q "^MODIFIED $2" "$T/out" && grep -q "layerdb *$ld/diff: chain id does not match" "$T/out" ||
	{ cat "$T/out"; fail "replaced layerdb diff file not a finding naming it"; }
cp -p "$T/diff.orig" "$ld/diff"
cp -p "$ld/tar-split.json.gz" "$T/ts.orig"
head -c 300 "$T/ts.orig" >"$ld/tar-split.json.gz"
expect_rc 1 V layers verify --data-root "$DATA" "$2" >"$T/out" 2>&1
grep -q "^MODIFIED $2" "$T/out" && grep -q "layerdb *$ld/tar-split.json.gz: " "$T/out" ||
	{ cat "$T/out"; fail "truncated tar-split.json.gz not a finding naming it"; }
cp -p "$T/ts.orig" "$ld/tar-split.json.gz"
V layers verify --data-root "$DATA" "$2" >/dev/null || fail "layer not ok after restoring its metadata"

# The same answers from the files alone, dockerd stopped.
harness_stop_daemon
[ ! -S "$HARNESS_SOCK" ] || ! hdocker version >/dev/null 2>&1 || fail "dockerd still answers"
V images --data-root "$DATA" --json | json 'print("\n".join(sorted({i["id"] for i in d})))' >"$T/v2.img"
diff "$T/d.img" "$T/v2.img" || fail "images differ with dockerd stopped"
V containers --data-root "$DATA" --json >/dev/null || fail "containers with dockerd stopped"
V layers verify --data-root "$DATA" >/dev/null || fail "layers verify with dockerd stopped"
for c in c1 c3; do
	V drift --data-root "$DATA" --short "$c" | sort >"$T/vd.$c" || true
	diff "$T/dd.$c" "$T/vd.$c" || fail "drift $c differs with dockerd stopped"
done
echo "docker_real: images, containers, layers verify, tamper detection and drift agree with docker"
