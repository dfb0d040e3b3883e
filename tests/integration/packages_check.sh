#!/bin/sh
# packages_check.sh - `vigil check` explains differences with dpkg's records
# (collectors/packages/dpkg_explain.c through run.c's explainer hook), on a
# fixture root (--root) with a fake dpkg database and merged /usr:
#  - after a baseline: an upgrade of "tool" (new /usr/bin/tool whose MD5 is in
#    the new tool.md5sums, status 1.0 -> 1.1, a dpkg.log upgrade line), an
#    install of "newpkg" (/usr/bin/newbin), a byte flipped in libx's library,
#    a conffile edited, a packaged file deleted, a new unpackaged binary in
#    /usr/bin and a new file in /etc: `check --json` says package-upgrade
#    (low, package, old and new version), package-upgrade for the install,
#    package-file-tampered (critical although the scope is low) twice,
#    conffile-modified (medium), unpackaged-file (high), and file-added for
#    /etc (no package business);
#  - with packages: {auto_accept: upgrades} the upgrades are reported once and
#    go into a new signed generation: the next check lists only the rest (a
#    directory is never auto-accepted: that would take its whole subtree,
#    the unpackaged binary beside the upgraded one included);
#  - with packages: {explain: false} the same differences are plain.
. "${top_srcdir:-.}/tests/integration/lib.sh"
set -e
command -v python3 >/dev/null || skip "python3 missing"
R=$T/root S=$T/state
mkdir -p "$R/usr/bin" "$R/usr/lib" "$R/etc" "$R/var/lib/dpkg/info" "$R/var/log" "$S"
ln -s usr/bin "$R/bin"
ln -s usr/lib "$R/lib"
md5() { md5sum "$1" | cut -d' ' -f1; }
echo "tool 1.0" >"$R/usr/bin/tool"
echo "setting=1" >"$R/etc/tool.conf"
echo "libx 2.0" >"$R/usr/lib/libx.so"
echo "helper 2.0" >"$R/usr/lib/libx-helper"
status() { # status TOOL_VERSION [newpkg]
	cat <<EOS
Package: tool
Status: install ok installed
Version: $1
Architecture: amd64
Conffiles:
 /etc/tool.conf $(md5 "$R/etc/tool.conf.orig")

Package: libx
Status: install ok installed
Version: 2.0
Architecture: amd64
Multi-Arch: same
EOS
	if [ -n "${2:-}" ]; then printf '\nPackage: newpkg\nStatus: install ok installed\nVersion: 0.1\nArchitecture: all\n'; fi
}
cp "$R/etc/tool.conf" "$R/etc/tool.conf.orig"
status 1.0 >"$R/var/lib/dpkg/status"
printf '/.\n/bin\n/bin/tool\n/etc\n/etc/tool.conf\n' >"$R/var/lib/dpkg/info/tool.list"
echo "$(md5 "$R/usr/bin/tool")  bin/tool" >"$R/var/lib/dpkg/info/tool.md5sums"
printf '/usr/lib\n/usr/lib/libx.so\n/usr/lib/libx-helper\n' >"$R/var/lib/dpkg/info/libx:amd64.list"
{ echo "$(md5 "$R/usr/lib/libx.so")  usr/lib/libx.so"; echo "$(md5 "$R/usr/lib/libx-helper")  usr/lib/libx-helper"; } \
	>"$R/var/lib/dpkg/info/libx:amd64.md5sums"
echo "2025-01-01 10:00:00 install tool:amd64 <none> 1.0" >"$R/var/log/dpkg.log"

conf() { # conf [PACKAGES-BLOCK-LINES] (default: explain on, said explicitly)
	printf 'state_dir: %s\nscopes:\n  - name: sys\n    paths: [/usr/bin, /usr/lib, /etc]\n    severity: low\npackages:\n%s\n' \
		"$S" "${1:-  explain: true}" >"$T/vigil.yaml"
}
conf
V() { "$VIGIL" -q --config "$T/vigil.yaml" --root "$R" "$@"; }
V baseline >/dev/null
sleep 1 # dpkg.log has whole seconds: the upgrade is after the baseline's second

# the upgrade, the install, and the rest
now=$(date -u '+%Y-%m-%d %H:%M:%S')
echo "tool 1.1" >"$R/usr/bin/tool"
echo "$(md5 "$R/usr/bin/tool")  bin/tool" >"$R/var/lib/dpkg/info/tool.md5sums"
echo "newbin 0.1" >"$R/usr/bin/newbin"
printf '/usr/bin/newbin\n' >"$R/var/lib/dpkg/info/newpkg.list"
echo "$(md5 "$R/usr/bin/newbin")  usr/bin/newbin" >"$R/var/lib/dpkg/info/newpkg.md5sums"
status 1.1 new >"$R/var/lib/dpkg/status"
printf '%s upgrade tool:amd64 1.0 1.1\n%s install newpkg:all <none> 0.1\n' "$now" "$now" >>"$R/var/log/dpkg.log"
flip_byte "$R/usr/lib/libx.so" 2
rm "$R/usr/lib/libx-helper"
echo "setting=2" >>"$R/etc/tool.conf"
echo "evil" >"$R/usr/bin/evil"
echo "local" >"$R/etc/local.conf"

expect_rc 1 V check --json >"$T/j"
python3 - "$T/j" "$(md5 "$R/usr/lib/libx.so")" <<'PY' || fail "check --json does not classify right: $(cat "$T/j")"
import json, sys
ev = {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    if "file" in e and e["file"].get("type") != "dir": # directories: their mtime, plainly
        ev[e["file"]["path"]] = e
def want(path, action, sev):
    e = ev.get(path)
    assert e, "no event for " + path
    assert e["event"]["action"] == action and e["vigil"]["severity"] == sev, (path, e["event"], e["vigil"])
    return e
t = want("/usr/bin/tool", "package-upgrade", "low")
p = t["vigil"]["package"]
assert p["name"] == "tool" and p["old_version"] == "1.0" and p["new_version"] == "1.1", p
assert "1.0 -> 1.1" in t["message"], t["message"]
n = want("/usr/bin/newbin", "package-upgrade", "low")
assert n["vigil"]["package"]["old_version"] is None and n["vigil"]["dpkg_log"]["action"] == "install", n
x = want("/usr/lib/libx.so", "package-file-tampered", "critical")
assert x["vigil"]["package"]["name"] == "libx" and x["vigil"]["package"]["version"] == "2.0", x
# MD5 read for the differing packaged file only: the walk takes none
assert x["vigil"]["md5"] == sys.argv[2] and "md5" not in x["file"]["hash"], x
want("/usr/lib/libx-helper", "package-file-tampered", "critical")
c = want("/etc/tool.conf", "conffile-modified", "medium")
assert c["vigil"]["conffile"] is True, c
want("/usr/bin/evil", "unpackaged-file", "high")
want("/etc/local.conf", "file-added", "low")
assert len(ev) == 7, sorted(ev)
# the directory rule reads in the packages dpkg.log shows changed (a lazy database)
d = [e for e in map(json.loads, open(sys.argv[1])) if e.get("file", {}).get("path") == "/usr/bin"]
assert d and d[0]["event"]["action"] == "package-upgrade", d
PY
echo "ok: every change classified"
V check >"$T/text" || true
grep -q "package-upgrade: tool upgraded 1.0 -> 1.1" "$T/text" || fail "text output: $(cat "$T/text")"

# auto_accept: upgrades -> reported once, then in a new generation
conf '  explain: true
  auto_accept: upgrades'
expect_rc 1 V check --json >"$T/j2"
python3 - "$T/j2" <<'PY' || fail "auto_accept: upgrades not reported: $(cat "$T/j2")"
import json, sys
up = sorted(e["file"]["path"] for e in map(json.loads, open(sys.argv[1]))
            if "file" in e and e["event"]["action"] == "package-upgrade" and e["file"]["type"] != "dir")
assert up == ["/usr/bin/newbin", "/usr/bin/tool"], up
PY
expect_rc 1 V check --json >"$T/j3"
grep -q '"package-file-tampered"' "$T/j3" || fail "tampering lost after auto_accept"
python3 - "$T/j3" <<'PY' || fail "after auto_accept: $(cat "$T/j3")"
import json, sys
paths = sorted(e["file"]["path"] for e in map(json.loads, open(sys.argv[1])) if "file" in e and e["file"]["type"] != "dir")
assert paths == ["/etc/local.conf", "/etc/tool.conf", "/usr/bin/evil", "/usr/lib/libx-helper", "/usr/lib/libx.so"], paths
PY
echo "ok: auto_accept took the upgrades into a new generation"

conf '  explain: false'
expect_rc 1 V check --json >"$T/j4"
grep -q '"package-\|unpackaged\|conffile-mod' "$T/j4" && fail "explain: false still classifies"
echo "ok: explain: false gives plain differences"

# no packages block: explain is on by default
printf 'state_dir: %s\nscopes:\n  - name: sys\n    paths: [/usr/bin, /usr/lib, /etc]\n    severity: low\n' "$S" >"$T/vigil.yaml"
expect_rc 1 V check --json >"$T/j5"
grep -q '"package-file-tampered"' "$T/j5" || fail "explain is not on by default: $(cat "$T/j5")"
echo "ok: explained by default"
