#!/bin/sh
# drift_packages.sh - `vigil drift` explained by the image's own dpkg database
# (collectors/packages/dpkg_container.c, read through the Docker collector's
# views), on a real private dockerd (scripts/docker-harness.sh):
#  - an image imported from a busybox rootfs with a small dpkg database:
#    var/lib/dpkg/status (package tool 1.0, conffile /etc/tool.conf),
#    info/tool.list and info/tool.md5sums for /usr/bin/tool;
#  - in a running container: a byte appended to /usr/bin/tool, the conffile
#    edited, a package "installed" the way dpkg leaves it (a new status stanza,
#    newpkg 0.1, its .list/.md5sums and /usr/bin/newbin, a dpkg.log line),
#    and an unpackaged /usr/bin/evil;
#  - `drift --json` says package-file-tampered (critical, tool 1.0) for
#    /usr/bin/tool, conffile-modified for /etc/tool.conf, package-upgrade for
#    /usr/bin/newbin (newpkg installed in the container), unpackaged-file for
#    /usr/bin/evil, and its own findings (kind "P", container-package-installed)
#    for newpkg none -> 0.1 and for the dpkg.log written in the container; the
#    text output says them too, and --short stays docker diff's list;
#  - a container of the same image that only writes /tmp: no package finding;
#  - one where tool is removed (its files, info files and stanza gone):
#    container-package-removed (tool 1.0 -> none), and its deleted binary said
#    to be removed with it (no package-file-tampered).
. "$(dirname "$0")/lib.sh"
docker_test_needs python3
docker_up

# the image: busybox and a dpkg database that knows /usr/bin/tool
ctx=$HARNESS_DIR/pctx
R=$ctx/rootfs
mkdir -p "$R"
harness_busybox_rootfs "$R" || fail "no busybox rootfs"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/log" "$R/usr/bin"
md5() { md5sum "$1" | cut -d' ' -f1; }
echo "tool 1.0" >"$R/usr/bin/tool"
echo "setting=1" >"$R/etc/tool.conf"
cat >"$R/var/lib/dpkg/status" <<EOS
Package: tool
Status: install ok installed
Version: 1.0
Architecture: amd64
Conffiles:
 /etc/tool.conf $(md5 "$R/etc/tool.conf")
EOS
printf '/.\n/usr\n/usr/bin\n/usr/bin/tool\n/etc\n/etc/tool.conf\n' >"$R/var/lib/dpkg/info/tool.list"
echo "$(md5 "$R/usr/bin/tool")  usr/bin/tool" >"$R/var/lib/dpkg/info/tool.md5sums"
tar -C "$R" -cf "$ctx/rootfs.tar" . || fail "tar"
hdocker import -c 'CMD ["/bin/sh"]' "$ctx/rootfs.tar" vigil-pkg:1 >/dev/null || fail "docker import failed"

# a running container where a package gets installed, and files tampered with
hdocker run -d --network none --name c1 vigil-pkg:1 sleep 600 >/dev/null || fail "docker run c1"
hdocker run -d --network none --name c2 vigil-pkg:1 sleep 600 >/dev/null || fail "docker run c2"
hdocker exec c1 sh -c '
	echo evil >>/usr/bin/tool
	echo setting=2 >>/etc/tool.conf
	echo "newbin 0.1" >/usr/bin/newbin
	printf "/usr/bin/newbin\n" >/var/lib/dpkg/info/newpkg.list
	echo "$(md5sum /usr/bin/newbin | cut -d" " -f1)  usr/bin/newbin" >/var/lib/dpkg/info/newpkg.md5sums
	printf "\nPackage: newpkg\nStatus: install ok installed\nVersion: 0.1\nArchitecture: all\n" >>/var/lib/dpkg/status
	echo "2026-12-01 10:00:00 install newpkg:all <none> 0.1" >>/var/log/dpkg.log
	cp /bin/busybox /usr/bin/evil' || fail "docker exec c1"
hdocker exec c2 sh -c 'echo scratch >/tmp/x' || fail "docker exec c2"
hdocker run -d --network none --name c3 vigil-pkg:1 sleep 600 >/dev/null || fail "docker run c3"
hdocker exec c3 sh -c 'rm /usr/bin/tool /var/lib/dpkg/info/tool.list /var/lib/dpkg/info/tool.md5sums
	: >/var/lib/dpkg/status' || fail "docker exec c3"

expect_rc 1 "$VIGIL" drift --data-root "$DATA" --json c1 >"$T/c1.json"
python3 - "$T/c1.json" <<'PY' || fail "drift c1 does not explain with the image's packages: $(cat "$T/c1.json")"
import json, sys
d = json.load(open(sys.argv[1]))
ch = {e["path"]: e for e in d if e["kind"] != "P"}
def want(path, action, sev):
    e = ch.get(path)
    assert e, "no change for " + path
    assert e.get("action") == action and e.get("severity") == sev, (path, e)
    return e
t = want("/usr/bin/tool", "package-file-tampered", "critical")
assert t["package"]["name"] == "tool" and t["package"]["version"] == "1.0", t
assert len(t["md5"]) == 32 and t["md5"] != t["expected_md5"], t
c = want("/etc/tool.conf", "conffile-modified", "medium")
assert c["conffile"] is True, c
n = want("/usr/bin/newbin", "package-upgrade", "low")
assert n["package"]["name"] == "newpkg" and n["package"]["old_version"] is None, n
want("/usr/bin/evil", "unpackaged-file", "high")
assert "action" not in ch["/var/lib/dpkg/status"], ch["/var/lib/dpkg/status"]
p = [e for e in d if e["kind"] == "P"]
assert all(e["action"] == "container-package-installed" and e["severity"] == "high" for e in p), p
pk = [e for e in p if e.get("package")]
assert len(pk) == 1 and pk[0]["package"]["name"] == "newpkg" and pk[0]["package"]["version"] == "0.1", p
assert pk[0]["package"]["old_version"] is None, pk
assert [e["path"] for e in p if e.get("path")] == ["/var/log/dpkg.log"], p
PY
echo "ok: drift judged by the image's dpkg records"

expect_rc 1 "$VIGIL" drift --data-root "$DATA" c1 >"$T/c1.txt"
grep -q "package-file-tampered: packaged file of tool 1.0 matches no MD5 its package ships" "$T/c1.txt" ||
	fail "text: no tampering line: $(cat "$T/c1.txt")"
grep -q "^P package newpkg installed in the container: none -> 0.1 \[container-package-installed\]" "$T/c1.txt" ||
	fail "text: no installed-package finding: $(cat "$T/c1.txt")"
expect_rc 1 "$VIGIL" drift --data-root "$DATA" --short c1 >"$T/c1.short"
grep -q '^P\|package' "$T/c1.short" && fail "--short is no longer docker diff's list: $(cat "$T/c1.short")"
hdocker diff c1 | sort >"$T/dd.c1"
sort "$T/c1.short" | diff "$T/dd.c1" - || fail "--short differs from docker diff"
cat "$T/c1.txt"
echo "ok: text and --short"

expect_rc 1 "$VIGIL" drift --data-root "$DATA" --json c2 >"$T/c2.json"
python3 - "$T/c2.json" <<'PY' || fail "drift c2 has package findings: $(cat "$T/c2.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d and not [e for e in d if e["kind"] == "P" or "action" in e], d
PY
echo "ok: no package finding for a container that installed nothing"

expect_rc 1 "$VIGIL" drift --data-root "$DATA" --json c3 >"$T/c3.json"
python3 - "$T/c3.json" <<'PY' || fail "drift c3 does not say the removal: $(cat "$T/c3.json")"
import json, sys
d = json.load(open(sys.argv[1]))
p = [e for e in d if e["kind"] == "P"]
assert len(p) == 1 and p[0]["action"] == "container-package-removed" and p[0]["severity"] == "high", p
assert p[0]["package"]["name"] == "tool" and p[0]["package"]["old_version"] == "1.0", p
assert p[0]["package"]["version"] is None, p
t = [e for e in d if e.get("path") == "/usr/bin/tool"][0]
assert t["kind"] == "D" and "action" not in t and "removed with it" in t["message"], t
PY
echo "ok: a package removed in the container"
