#!/bin/sh
# vigil capture against a real private dockerd (scripts/docker-harness.sh):
#   - a running container that changed files (a FIFO, a socket, a device, a whiteout,
#     a non-UTF-8 name, a path longer than PATH_MAX, a symlink to a host path) and wrote
#     logs is captured live; `bsdtar -tvf` lists it, stock `minisign -V` accepts the
#     signature, `sha256sum -c` the digest, `mactime -b timeline.body` shows the changed
#     files; special files are metadata only; the host symlink is stored, not followed
#   - `vigil verify` passes, then fails naming the member after each tampering: a byte
#     flipped, a member removed, added or replaced, the manifest edited, custody edited,
#     the signature or the key swapped; `vigil verify --ledger` names an edited record
#   - faults: the output on a small tmpfs that fills up (exit 3, nothing under a final
#     name, no temp file left, a `failed` ledger record); SIGTERM mid-capture with
#     --freeze (the container thawed, the temp file removed, a `failed` record)
#   - --root on the same data root: no live parts, and the manifest says so
. "$(dirname "$0")/lib.sh"
docker_test_needs bsdtar minisign mactime sha256sum python3
docker_up build
S=$T/state
O=$T/out
mkdir -m 700 "$S"
V() { "$VIGIL" -q --state-dir "$S" "$@"; }
V keygen >/dev/null

hdocker run -d --network none --name web vigil-multi:1 -c "
	echo changed >/etc/newfile; rm /etc/motd; echo more >>/app/hello.sh
	mkfifo /tmp/fifo; mknod /tmp/null c 1 3; nc -lk -s 127.0.0.1 -p 1 2>/dev/null &
	ln -s /etc/shadow /tmp/hostlink; ln -s /proc/1/root/etc /tmp/rootlink
	printf 'x' >\"\$(printf '/tmp/bad\\377name')\"
	echo 'hello from the container log'; sleep 600" >/dev/null
ID=$(hdocker inspect -f '{{.Id}}' web)
i=0; until hdocker logs web 2>/dev/null | grep -q 'hello from'; do i=$((i + 1)); [ $i -lt 100 ] || fail "container did not start"; sleep 0.1; done
# the socket: python in the host binds one inside the upper dir (busybox nc may lack -s)
UPPER=$(hdocker inspect -f '{{.GraphDriver.Data.UpperDir}}' web)
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$UPPER/tmp/sock"
# a path of 5 KB (longer than PATH_MAX), made one directory at a time
python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for i in range(25):
    os.mkdir("d" * 200, dir_fd=fd)
    fd2 = os.open("d" * 200, os.O_RDONLY, dir_fd=fd); os.close(fd); fd = fd2
os.write(os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), b"deep\n")' "$UPPER/tmp"

# ---- capture, list, signature, digest, timeline -------------------------------------
V capture --data-root "$DATA" --container "$(echo "$ID" | cut -c1-6)" --host --engine --case CASE-1 \
	--examiner tester -o "$O" >"$T/cap.out"
A=$(head -n 1 "$T/cap.out")
[ -f "$A" ] || fail "no archive: $(cat "$T/cap.out")"
ls -a "$O" | grep -q '\.tmp\.' && fail "a temporary file was left"
bsdtar -tvf "$A" >"$T/list" || fail "bsdtar cannot list the archive"
for m in "containers/$ID/config.v2.json" "containers/$ID/hostconfig.json" "containers/$ID/hostname" \
	"containers/$ID/hosts" "containers/$ID/resolv.conf" "containers/$ID/$ID-json.log" \
	"containers/$ID/upper/etc/newfile" "containers/$ID/drift.json" "containers/$ID/layers.json" \
	"containers/$ID/net/tcp" trigger.json timeline.body MANIFEST.json custody.jsonl; do
	grep -q " $m\$" "$T/list" || fail "member $m missing from the listing"
done
grep -q "containers/$ID/proc/[0-9]*/exe.sha256" "$T/list" || fail "no process captured"
# drift names the member that holds each added or changed file (hashed once, as it was written)
bsdtar -xOf "$A" "containers/$ID/drift.json" | python3 -c '
import json, sys
d = {e["path"]: e for e in json.load(sys.stdin)}
e = d["/etc/newfile"]
assert e.get("member") == "containers/" + sys.argv[1] + "/upper/etc/newfile", e' "$ID" ||
	fail "drift.json does not name the member of /etc/newfile"
bsdtar -xOf "$A" docker/engine/images.json | grep -q '"vigil-multi:1"' || fail "the engine's image list lacks vigil-multi:1"
bsdtar -xOf "$A" docker/engine/containers.json | grep -q '"name": "web"' || fail "the engine's container list lacks web"
[ "$(tail -n 1 "$T/list" | awk '{print $NF}')" = custody.jsonl ] || fail "custody.jsonl is not last"
grep -q 'tmp/hostlink -> /etc/shadow' "$T/list" || fail "the host symlink is not stored as a link"
grep -Eq 'upper/tmp/(fifo|null|sock)$' "$T/list" && fail "a special file was stored as a member"
minisign -Vm "$A" -p "$S/vigil.pub" >/dev/null || fail "minisign -V rejects the signature"
(cd "$O" && sha256sum -c --quiet "$(basename "$A").sha256") || fail "sha256sum -c fails"
mkdir "$T/x"
bsdtar -xf "$A" -C "$T/x" timeline.body MANIFEST.json custody.jsonl "containers/$ID/$ID-json.log"
grep -q 'hello from the container log' "$T/x/containers/$ID/$ID-json.log" || fail "container log not captured"
mactime -b "$T/x/timeline.body" -z UTC -d >"$T/mactime" || fail "mactime cannot read timeline.body"
grep -q "diff/etc/newfile\"" "$T/mactime" || fail "mactime does not show the changed file"
grep -q 'motd (deleted)' "$T/mactime" || fail "mactime does not show the deleted file"
python3 - "$T/x/MANIFEST.json" "$ID" <<'PY' || fail "manifest content wrong"
import json, sys
m = json.load(open(sys.argv[1])); cid = sys.argv[2]
assert m["case"] == "CASE-1" and m["examiner"] == "tester" and m["live"] is True, m["case"]
for k in ("host", "kernel", "boot_id", "vigil_version", "started", "finished"):
    assert m[k], k
assert {"type": "container"}.items() <= m["targets"][0].items() and m["targets"][0]["id"] == cid
by = {}
for e in m["members"]:
    by.setdefault(e.get("source", e["member"]), e)
def find(suffix):
    hits = [e for s, e in by.items() if s.endswith(suffix)]
    assert hits, suffix
    return hits[0]
nf = find("/diff/etc/newfile")
assert nf["sha256"] and nf["stat_before"]["size"] == 8 and nf["stat_after"], nf
for sp in ("/diff/tmp/fifo", "/diff/tmp/null", "/diff/tmp/sock"):
    e = find(sp)
    assert e["member"] is None and "special file: metadata only" in e["notes"], e
assert "deleted: overlay whiteout" in find("/diff/etc/motd")["notes"]
assert find("/diff/tmp/hostlink")["target"] == "/etc/shadow"
assert find("/diff/tmp/bad\\xffname")["sha256"]
assert find("/f")["sha256"] and len(find("/f")["source"]) > 4096
sh = find("/etc/shadow")
assert sh["member"] is None and "sha256" not in sh and sh["notes"] == ["metadata only: content never read"], sh
PY
V verify "$A" >"$T/v.out" || fail "verify of an untouched archive fails: $(cat "$T/v.out")"
V cases | grep -q "^CASE-1	.*	archived	$A	" || fail "vigil cases does not list the capture"

# ---- tampering (on a plain container's capture: bsdtar cannot extract paths > PATH_MAX) ----
hdocker run -d --network none --name plain vigil-base:1 sh -c 'echo hi >/etc/x; sleep 600' >/dev/null
PID_=$(hdocker inspect -f '{{.Id}}' plain)
V capture --data-root "$DATA" --container plain --case PLAIN --examiner tester -o "$T/op" >"$T/capp.out"
A=$(head -n 1 "$T/capp.out")
V verify "$A" >/dev/null || fail "verify of the plain capture fails"
ID=$PID_
# repack MEMBERS-LIST DIR OUT: a pax+zstd archive of DIR's files in the list's order
repack() { bsdtar --format pax --zstd -n -cf "$3" -C "$2" -T "$1"; cp "$A.minisig" "$3.minisig"; }
expect_fault() { # ARCHIVE PATTERN WHAT [verify options]
	_a=$1 _p=$2 _w=$3; shift 3
	set +e; V verify "$@" "$_a" >"$T/vf" 2>&1; _rc=$?; set -e
	[ $_rc -eq 1 ] || fail "$_w: verify exited $_rc, expected 1 ($(cat "$T/vf"))"
	grep -qE "$_p" "$T/vf" || fail "$_w: '$(cat "$T/vf")' does not name /$_p/"
	echo "ok: $_w: $(cut -c1-160 "$T/vf")"
}
mkdir "$T/all"
bsdtar -xf "$A" -C "$T/all"
bsdtar -tf "$A" >"$T/order"
cp "$A" "$T/flip.tar.zst"; cp "$A.minisig" "$T/flip.tar.zst.minisig"
flip_byte "$T/flip.tar.zst" $(($(stat -c %s "$A") / 2))
expect_fault "$T/flip.tar.zst" 'member |signature' "one byte flipped"
grep -v "^containers/$ID/hostname\$" "$T/order" >"$T/o1"; repack "$T/o1" "$T/all" "$T/rm.tar.zst"
expect_fault "$T/rm.tar.zst" "member containers/$ID/hostname: in the manifest, missing" "member removed"
{ sed '$d' "$T/order"; echo extra.txt; tail -n 1 "$T/order"; } >"$T/o2"; echo evil >"$T/all/extra.txt"
repack "$T/o2" "$T/all" "$T/add.tar.zst"
expect_fault "$T/add.tar.zst" 'member extra.txt: not in the manifest' "member added"
echo replaced >"$T/all/containers/$ID/hostname"; repack "$T/order" "$T/all" "$T/rep.tar.zst"
expect_fault "$T/rep.tar.zst" "member containers/$ID/hostname: (SHA-256 differs|size)" "member replaced"
rm -rf "$T/all"; mkdir "$T/all"; bsdtar -xf "$A" -C "$T/all"
sed -i 's/"examiner":"tester"/"examiner":"mallory"/' "$T/all/MANIFEST.json"; repack "$T/order" "$T/all" "$T/man.tar.zst"
expect_fault "$T/man.tar.zst" 'member MANIFEST.json: its SHA-256 does not match the seal' "manifest edited"
bsdtar -xf "$A" -C "$T/all" MANIFEST.json
sed -i '1s/"examiner":"tester"/"examiner":"mallory"/' "$T/all/custody.jsonl"; repack "$T/order" "$T/all" "$T/cus.tar.zst"
expect_fault "$T/cus.tar.zst" 'member custody.jsonl: record 2 does not chain' "custody edited"
V capture --data-root "$DATA" --container web --case OTHER -o "$T/oo2" >"$T/cap2.out"
A2=$(head -n 1 "$T/cap2.out")
cp "$A" "$T/sig.tar.zst"; cp "$A2.minisig" "$T/sig.tar.zst.minisig"; cp "$A.sha256" "$T/sig.tar.zst.sha256"
expect_fault "$T/sig.tar.zst" '^NOT VERIFIED: .*signature' "signature swapped"
mkdir -m 700 "$T/s2"; "$VIGIL" -q --state-dir "$T/s2" keygen >/dev/null
expect_fault "$A" 'signature' "key swapped" -p "$T/s2/vigil.pub"
V verify --ledger >/dev/null || fail "ledger does not verify"
cp "$S/custody.jsonl" "$T/ledger.bak"
sed -i '2s/"action":"sealed"/"action":"sealeD"/' "$S/custody.jsonl"
set +e; V verify --ledger >"$T/vl"; rc=$?; set -e
[ $rc -eq 1 ] && grep -q 'record 3' "$T/vl" || fail "an edited ledger record is not named: rc $rc $(cat "$T/vl")"
cp "$T/ledger.bak" "$S/custody.jsonl"

# --merged: the running container's whole file system as it sees it
V capture --data-root "$DATA" --container plain --merged --case MERGED -o "$T/om" >"$T/capm.out"
AM=$(head -n 1 "$T/capm.out")
bsdtar -tf "$AM" >"$T/mlist"
grep -qx "containers/$ID/merged/etc/x" "$T/mlist" || fail "--merged: the container's own file is not in the merged view"
grep -qx "containers/$ID/merged/bin/busybox" "$T/mlist" || fail "--merged: the image's files are not in the merged view"
V verify "$AM" >/dev/null || fail "the --merged capture does not verify"

# ---- faults -----------------------------------------------------------------------------
# output on a small tmpfs that fills up mid-capture
hdocker exec web sh -c 'head -c 6000000 /dev/urandom >/tmp/big'
mkdir "$T/small"; mount -t tmpfs -o size=2m vigil-capture-test "$T/small"; on_exit "umount '$T/small'"
set +e; V capture --data-root "$DATA" --container web --case FULL -o "$T/small" --min-free 0 2>"$T/full.err"; rc=$?; set -e
[ $rc -eq 3 ] || fail "a full output fs: exit $rc, expected 3 ($(cat "$T/full.err"))"
grep -qi 'no space\|ENOSPC\|free' "$T/full.err" || fail "the disk-full message does not say so: $(cat "$T/full.err")"
[ -z "$(ls -A "$T/small")" ] || fail "something was left on the full fs: $(ls -a "$T/small")"
tail -n 1 "$S/custody.jsonl" | grep -q '"action":"failed".*"case":"FULL"' || fail "no failed ledger record"
echo "ok: disk full: $(cat "$T/full.err")"

# SIGTERM mid-capture with --freeze: thawed, temp removed, failed record
hdocker exec web sh -c 'head -c 300000000 /dev/zero >/tmp/huge'
PID=$(hdocker inspect -f '{{.State.Pid}}' web)
FREEZER=/sys/fs/cgroup/freezer$(awk -F: '$2 == "freezer" {print $3}' /proc/$PID/cgroup)/freezer.state
[ -f "$FREEZER" ] || FREEZER=$(dirname "/sys/fs/cgroup/unified$(awk -F: '$1 == "0" {print $3}' /proc/$PID/cgroup)/x")/cgroup.freeze
mkdir "$T/o3"
"$VIGIL" -q --state-dir "$S" capture --data-root "$DATA" --container web --case TERM --freeze -o "$T/o3" \
	>/dev/null 2>"$T/term.err" &
CPID=$!
i=0
until grep -q 'FROZEN\|^1' "$FREEZER" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 2000 ] || fail "the container was never frozen"
	kill -0 $CPID 2>/dev/null || fail "capture ended before it was seen frozen: $(cat "$T/term.err")"
	sleep 0.01
done
kill -STOP $CPID
ls -a "$T/o3" | grep -q '\.tmp\.' || fail "no temporary file while capturing"
kill -TERM $CPID; kill -CONT $CPID
set +e; wait $CPID; rc=$?; set -e
[ $rc -eq 3 ] || fail "SIGTERM: exit $rc, expected 3"
grep -q 'THAWED\|^0' "$FREEZER" || fail "container left frozen: $(cat "$FREEZER")"
[ -z "$(ls -A "$T/o3")" ] || fail "SIGTERM left files: $(ls -a "$T/o3")"
tail -n 1 "$S/custody.jsonl" | grep -q '"action":"failed".*"case":"TERM"' || fail "no failed record after SIGTERM"
hdocker exec web true || fail "container not running after the capture"
echo "ok: SIGTERM: $(cat "$T/term.err")"

# a container removed mid-capture: the capture completes, says what vanished, verifies
hdocker run -d --network none --name doomed vigil-base:1 sh -c 'head -c 300000000 /dev/zero >/tmp/huge; sleep 600' >/dev/null
i=0; until hdocker exec doomed sh -c '[ "$(wc -c </tmp/huge)" -eq 300000000 ]' 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 600 ] || fail "doomed container did not write its file"; sleep 0.1; done
mkdir "$T/o5"
"$VIGIL" -q --state-dir "$S" capture --data-root "$DATA" --container doomed --case GONE -o "$T/o5" >"$T/gone.out" 2>&1 &
CPID=$!
i=0
until ls -a "$T/o5" 2>/dev/null | grep -q '\.tmp\.'; do
	i=$((i + 1)); [ $i -lt 3000 ] || fail "no temporary file appeared"
	kill -0 $CPID 2>/dev/null || fail "capture ended before it could be paused: $(cat "$T/gone.out")"
	sleep 0.01
done
kill -STOP $CPID
hdocker rm -f doomed >/dev/null
kill -CONT $CPID
wait $CPID || fail "capture of a container removed meanwhile failed: $(cat "$T/gone.out")"
A5=$(head -n 1 "$T/gone.out")
V verify "$A5" >/dev/null || fail "the capture of the removed container does not verify"
bsdtar -xOf "$A5" MANIFEST.json | grep -Eq 'vanished|changed while read' ||
	fail "the manifest does not say what changed or vanished"
echo "ok: container removed mid-capture"

# ---- --root: a mounted image (here: the data root bound under a dir), files alone --------
mkdir -p "$T/img/var/lib/docker"; mount --bind "$DATA" "$T/img/var/lib/docker"; on_exit "umount '$T/img/var/lib/docker'"
"$VIGIL" -q --state-dir "$S" --root "$T/img" capture --container web --case ROOT -o "$T/o4" >"$T/cap4.out"
A4=$(head -n 1 "$T/cap4.out")
bsdtar -xOf "$A4" MANIFEST.json | python3 -c '
import json, sys
m = json.load(sys.stdin)
assert m["live"] is False and any("not the live host" in n for n in m["notes"]), m["notes"]
assert not [e for e in m["members"] if (e["member"] or "").find("/proc/") >= 0], "live parts under --root"
assert [e for e in m["members"] if (e["member"] or "").endswith("/upper/etc/newfile")], "no upper layer"' ||
	fail "the --root capture manifest is wrong"
V verify "$A4" >/dev/null || fail "verify of the --root capture fails"
V verify --ledger >/dev/null || fail "ledger does not verify at the end"
echo "ok: capture_docker"
