#!/bin/sh
# packages_dpkg.sh - the issue's real-dpkg case, in a scratch root made with
# the package tools (never the host's packaged files): packages built with
# dpkg-deb, installed and upgraded by the real dpkg (--root, its own
# dpkg.log), merged /usr.
#  - baseline after vtool 1.0 is installed; then dpkg upgrades vtool to 1.1
#    (binary and conffile change) and installs vhello: `check --json`
#    explains every difference as package-upgrade with package, old and new
#    version (the directories dpkg wrote into too), and nothing else;
#  - a byte flipped in vtool and its conffile edited: package-file-tampered
#    (critical) and conffile-modified (medium), and `packages verify` lists
#    the same files as `debsums --root -a -c`.
. "${top_srcdir:-.}/tests/integration/lib.sh"
set -e
command -v dpkg-deb >/dev/null && command -v dpkg >/dev/null || skip "dpkg missing (not a Debian host)"
command -v debsums >/dev/null || skip "debsums missing (apt-get install debsums)"
command -v python3 >/dev/null || skip "python3 missing"
R=$T/root S=$T/state
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/log" "$R/usr/bin" "$R/etc" "$S"
: >"$R/var/lib/dpkg/status"
ln -s usr/bin "$R/bin"
mk() { # mk NAME VERSION CONTENT: a .deb with /usr/bin/NAME and the conffile /etc/NAME.conf
	d=$T/src-$1-$2
	mkdir -p "$d/DEBIAN" "$d/usr/bin" "$d/etc"
	echo "$3" >"$d/usr/bin/$1"
	chmod 755 "$d/usr/bin/$1"
	echo "conf=$2" >"$d/etc/$1.conf"
	printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test\n' \
		"$1" "$2" >"$d/DEBIAN/control"
	echo "/etc/$1.conf" >"$d/DEBIAN/conffiles"
	(cd "$d" && find usr -type f -exec md5sum {} + >DEBIAN/md5sums)
	dpkg-deb --root-owner-group -b "$d" "$T/$1_$2_all.deb" >/dev/null
}
mk vtool 1.0 "vtool one"
mk vtool 1.1 "vtool one point one"
mk vhello 2.0 "hello"
DPKG() { TZ=UTC dpkg --root="$R" --log="$R/var/log/dpkg.log" "$@" >/dev/null; }
DPKG -i "$T/vtool_1.0_all.deb"
sleep 1 # the baseline in a later second than the install
printf 'state_dir: %s\nscopes:\n  - name: sys\n    paths: [/usr/bin, /etc]\npackages:\n  explain: true\n' "$S" >"$T/vigil.yaml"
V() { "$VIGIL" -q --config "$T/vigil.yaml" --root "$R" "$@"; }
V baseline >/dev/null
sleep 1 # dpkg.log has whole seconds
DPKG -i "$T/vtool_1.1_all.deb" "$T/vhello_2.0_all.deb"

expect_rc 1 V check --json >"$T/j"
python3 - "$T/j" <<'PY' || fail "an upgrade not explained: $(cat "$T/j")"
import json, sys
ev = {e["file"]["path"]: e for e in map(json.loads, open(sys.argv[1])) if "file" in e}
for path, e in ev.items():
    assert e["event"]["action"] == "package-upgrade" and e["vigil"]["severity"] == "low", (path, e)
p = ev["/usr/bin/vtool"]["vigil"]["package"]
assert (p["name"], p["old_version"], p["new_version"]) == ("vtool", "1.0", "1.1"), p
assert ev["/etc/vtool.conf"]["vigil"]["package"]["new_version"] == "1.1"
assert ev["/usr/bin/vhello"]["vigil"]["package"]["old_version"] is None
assert "/usr/bin/vhello" in ev and "/etc/vtool.conf" in ev, sorted(ev)
PY
echo "ok: the upgrade and the install explained, nothing else reported"

flip_byte "$R/usr/bin/vtool" 3
echo "# mine" >>"$R/etc/vtool.conf"
expect_rc 1 V check --json >"$T/j2"
python3 - "$T/j2" <<'PY' || fail "tampering not classified: $(cat "$T/j2")"
import json, sys
ev = {e["file"]["path"]: e for e in map(json.loads, open(sys.argv[1])) if "file" in e}
assert ev["/usr/bin/vtool"]["event"]["action"] == "package-file-tampered", ev["/usr/bin/vtool"]
assert ev["/usr/bin/vtool"]["vigil"]["severity"] == "critical"
assert ev["/etc/vtool.conf"]["event"]["action"] == "conffile-modified", ev["/etc/vtool.conf"]
assert ev["/etc/vtool.conf"]["vigil"]["severity"] == "medium"
PY
set +e
debsums --root "$R" -a -c 2>/dev/null | sed "s#^$R##" | sort >"$T/d"
"$VIGIL" -q --root "$R" packages verify --changed 2>/dev/null | sort >"$T/v"

set -e
diff -u "$T/d" "$T/v" || fail "packages verify differs from debsums -a -c"
[ "$(wc -l <"$T/v")" -eq 2 ] || fail "expected 2 changed files, got: $(cat "$T/v")"
echo "ok: tampering classified; verify equals debsums ($(tr '\n' ' ' <"$T/v"))"
