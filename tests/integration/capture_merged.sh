#!/bin/sh
# vigil capture --merged against a real private dockerd (scripts/docker-harness.sh):
#   - a container of vigil-multi:1 (an image with a whiteout and a symlink in its layers)
#     that deleted an image file, replaced an image dir by a new one (an opaque dir),
#     made a hard link and changed a file is captured with --merged while it runs (its
#     mounted overlay is walked), then after `docker stop` (no overlay: the union of its
#     layers is computed from disk), then under --root: the three merged listings (path,
#     type, size, SHA-256, mode, owner, link target, from MANIFEST.json) are equal, and
#     what was deleted or hidden is absent from each
#   - a crash of the capture while a container is frozen (SIGSEGV raised right after the
#     freeze through the debug knob VIGIL_TEST_CRASH_AFTER_FREEZE=1): the process dies of
#     SIGSEGV, the container is thawed, no archive exists under a final name
. "$(dirname "$0")/lib.sh"
docker_test_needs bsdtar python3
docker_up build
S=$T/state
mkdir -m 700 "$S"
V() { "$VIGIL" -q --state-dir "$S" "$@"; }
V keygen >/dev/null

hdocker run -d --network none --name mrg vigil-multi:1 -c "
	rm /etc/motd; rm -rf /opt/data; mkdir /opt/data; echo new >/opt/data/fresh
	ln /app/hello.sh /app/hardlink; echo more >>/app/blob.bin; echo mine >/etc/.wh.passwd
	touch /ready; sleep 600" >/dev/null
ID=$(hdocker inspect -f '{{.Id}}' mrg)
i=0; until hdocker exec mrg test -e /ready 2>/dev/null; do i=$((i + 1)); [ $i -lt 100 ] || fail "container did not start"; sleep 0.1; done

# listing FILE ARCHIVE: the merged entries of the manifest, sorted, one JSON per line
listing() {
	bsdtar -xOf "$2" MANIFEST.json | python3 -c '
import json, sys
m = json.load(sys.stdin); pre = "containers/" + sys.argv[1] + "/merged/"; out = []
for e in m["members"]:
    mem = e.get("member") or ""
    if not mem.startswith(pre):
        continue
    st = e.get("stat_before") or {}
    out.append(json.dumps([mem[len(pre):], e["type"], e.get("size"), e.get("sha256"), st.get("mode"),
                           st.get("uid"), st.get("gid"), e.get("target")]))
print("\n".join(sorted(out)))
print("notes:", [n for n in m["notes"] if "merged" in n], file=sys.stderr)' "$ID" >"$1"
}
check_view() {
	# /etc/.wh.passwd: the container's own file (overlayfs gives .wh. names no meaning)
	for p in bin/busybox app/hello.sh app/hardlink app/blob.bin opt/data/fresh etc/passwd etc/.wh.passwd; do
		grep -q "^\[\"$p\"" "$1" || fail "$1: merged/$p missing"
	done
	for p in etc/motd etc/group opt/data/a opt/data/sub opt/data/link; do
		grep -q "^\[\"$p\"" "$1" && fail "$1: merged/$p shown although deleted or hidden"
	done
	grep -v '^\["etc/\.wh\.passwd"' "$1" | grep -q '\.wh\.' && fail "$1: a whiteout name in the merged view"
	h1=$(grep '^\["app/hello.sh"' "$1" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[3])')
	h2=$(grep '^\["app/hardlink"' "$1" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[3])')
	[ "$h1" = "$h2" ] || fail "$1: the hard link's content differs"
	return 0
}

V capture --data-root "$DATA" --container mrg --merged --case LIVE -o "$T/o1" >"$T/c1.out"
A1=$(head -n 1 "$T/c1.out")
listing "$T/live" "$A1" 2>"$T/live.notes"
grep -q 'computed' "$T/live.notes" && fail "the running container's view was computed, not read from its overlay"
check_view "$T/live"
echo "ok: live merged view: $(wc -l <"$T/live") entries"

hdocker stop -t 0 mrg >/dev/null
V capture --data-root "$DATA" --container mrg --merged --case STOPPED -o "$T/o2" >"$T/c2.out"
A2=$(head -n 1 "$T/c2.out")
V verify "$A2" >/dev/null || fail "the stopped capture does not verify"
listing "$T/stopped" "$A2" 2>"$T/stopped.notes"
grep -q 'computed from its' "$T/stopped.notes" || fail "no note that the view was computed: $(cat "$T/stopped.notes")"
check_view "$T/stopped"
diff -u "$T/live" "$T/stopped" >"$T/d1" || fail "the computed merged view differs from the live one: $(head -n 40 "$T/d1")"
echo "ok: stopped: the computed merged view equals the live one"

# (unmounted right after: overlays mounted later under the data root would propagate into the bind)
mkdir -p "$T/img/var/lib/docker"; mount --bind "$DATA" "$T/img/var/lib/docker"; on_exit "umount '$T/img/var/lib/docker'"
"$VIGIL" -q --state-dir "$S" --root "$T/img" capture --container mrg --merged --case ROOT -o "$T/o3" >"$T/c3.out"
umount "$T/img/var/lib/docker"
A3=$(head -n 1 "$T/c3.out")
listing "$T/root" "$A3" 2>"$T/root.notes"
grep -q 'not the live host' "$T/root.notes" || fail "--root: no note that the view was computed: $(cat "$T/root.notes")"
diff -u "$T/live" "$T/root" >"$T/d2" || fail "the --root merged view differs from the live one: $(head -n 40 "$T/d2")"
echo "ok: --root: the computed merged view equals the live one"

# ---- a crash while frozen thaws the container ------------------------------------------
hdocker run -d --network none --name frz vigil-base:1 sh -c 'touch /ready; sleep 600' >/dev/null
i=0; until hdocker exec frz test -e /ready 2>/dev/null; do i=$((i + 1)); [ $i -lt 100 ] || fail "frz did not start"; sleep 0.1; done
PID=$(hdocker inspect -f '{{.State.Pid}}' frz)
FREEZER=/sys/fs/cgroup/freezer$(awk -F: '$2 == "freezer" {print $3}' /proc/$PID/cgroup)/freezer.state
[ -f "$FREEZER" ] || FREEZER=$(dirname "/sys/fs/cgroup/unified$(awk -F: '$1 == "0" {print $3}' /proc/$PID/cgroup)/x")/cgroup.freeze
[ -f "$FREEZER" ] || FREEZER=$(dirname "/sys/fs/cgroup$(awk -F: '$1 == "0" {print $3}' /proc/$PID/cgroup)/x")/cgroup.freeze
[ -f "$FREEZER" ] || fail "no freezer file found for pid $PID"
mkdir "$T/o4"
set +e
(ulimit -c 0; VIGIL_TEST_CRASH_AFTER_FREEZE=1 exec "$VIGIL" -q --state-dir "$S" capture --data-root "$DATA" \
	--container frz --freeze --case CRASH -o "$T/o4" >"$T/c4.out" 2>&1)
rc=$?
set -e
# 139: killed by SIGSEGV; under ASan (abort_on_error=1) its handler, put back by ours,
# reports the SEGV and aborts: 134
[ $rc -eq 139 ] || { [ $rc -eq 134 ] && grep -q 'AddressSanitizer: SEGV' "$T/c4.out"; } ||
	fail "the capture did not die of SIGSEGV (exit $rc): $(cat "$T/c4.out")"
grep -q 'THAWED\|^0' "$FREEZER" || fail "container left frozen after the crash: $(cat "$FREEZER")"
ls "$T/o4" | grep -v '^\.' | grep -q . && fail "an archive under a final name after the crash: $(ls "$T/o4")"
timeout 20 docker -H "unix://$HARNESS_SOCK" exec frz true || fail "frz does not run after the crash"
echo "ok: a crash while frozen thaws the container ($FREEZER: $(cat "$FREEZER"))"
echo "ok: capture_merged"
