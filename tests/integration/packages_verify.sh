#!/bin/sh
# packages_verify.sh - `vigil packages verify` against Debian's debsums, on a
# fixture root (--root) built from this host's real packages: their status
# stanzas, info files, the host's diversions, their files (merged /usr:
# /bin -> usr/bin as on the host).  Nothing on the host is modified.
#  - untouched: vigil and `debsums --root -a -c` list the same files (stdout)
#    and the same missing files (stderr); a clean package exits 0;
#  - then a binary flipped (coreutils), a file deleted (sed), a conffile
#    edited (adduser), a Multi-Arch: same library changed (libc6:amd64), a
#    diverted file changed (libpq-dev's pg_config, diverted by
#    postgresql-common: debsums stays silent, vigil says "shared"), a file
#    replaced by a directory: the changed and missing lists equal debsums'
#    again, exit 1, and --json names package, version, verdict and action.
. "${top_srcdir:-.}/tests/integration/lib.sh"
set -e
command -v debsums >/dev/null || skip "debsums missing (apt-get install debsums)"
command -v dpkg-query >/dev/null || skip "dpkg-query missing (not a Debian host)"
PKGS="coreutils sed base-files adduser libc6 libpq-dev postgresql-common dash"
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q ' installed$' || skip "package $p is not installed"
done
[ -L /bin ] || skip "the host's /usr is not merged"
R=$T/root
mkdir -p "$R/usr/bin" "$R/usr/sbin" "$R/usr/lib" "$R/usr/lib64" "$R/var/lib/dpkg/info" "$R/etc"
for d in bin sbin lib lib64; do ln -s "usr/$d" "$R/$d"; done
for p in $PKGS; do dpkg-query -s "$p"; echo; done >"$R/var/lib/dpkg/status"
for p in $PKGS; do
	for f in /var/lib/dpkg/info/"$p".* /var/lib/dpkg/info/"$p":*; do
		[ -e "$f" ] && cp -p "$f" "$R/var/lib/dpkg/info/"
	done
done
cp -p /var/lib/dpkg/diversions "$R/var/lib/dpkg/"
# info/format "1": multiarch names (libc6:amd64.list); without it dpkg reads
# the legacy layout (libc6.list)
cp -p /var/lib/dpkg/info/format "$R/var/lib/dpkg/info/"
[ -f /var/lib/dpkg/arch ] && cp -p /var/lib/dpkg/arch "$R/var/lib/dpkg/"
# their files and symlinks (not directories), paths canonical in the merged
# root, plus where diversions put them
{ for p in $PKGS; do dpkg-query -L "$p"; done; awk 'NR % 3 == 2' /var/lib/dpkg/diversions; } |
	grep '^/' | sed -e 's#^/bin/#/usr/bin/#' -e 's#^/sbin/#/usr/sbin/#' -e 's#^/lib/#/usr/lib/#' \
		-e 's#^/lib64/#/usr/lib64/#' | sort -u | while IFS= read -r f; do
		if [ -L "$f" ] || [ -f "$f" ]; then printf '%s\n' "${f#/}"; fi
	done >"$T/files"
tar -C / --no-recursion -cf - -T "$T/files" | tar -C "$R" -xf -

# compare NAME: vigil's changed list and missing list against debsums'
compare() {
	set +e
	debsums --root "$R" -a -c >"$T/d.out" 2>"$T/d.err"
	"$VIGIL" -q --root "$R" packages verify --changed >"$T/v.out" 2>"$T/v.err"
	vrc=$?
	set -e
	sed "s#^$R##" "$T/d.out" | sort >"$T/d.changed"
	sort "$T/v.out" >"$T/v.changed"
	sed -n "s#^debsums: missing file $R\(.*\) (from .*#\1#p" "$T/d.err" | sort >"$T/d.missing"
	sed -n 's#^vigil: missing file \(.*\) (from .*#\1#p' "$T/v.err" | sort >"$T/v.missing"
	diff -u "$T/d.changed" "$T/v.changed" || fail "$1: changed files differ from debsums -a -c"
	diff -u "$T/d.missing" "$T/v.missing" || fail "$1: missing files differ from debsums"
	echo "$1: $(wc -l <"$T/v.changed") changed, $(wc -l <"$T/v.missing") missing, as debsums says"
}
compare untouched
expect_rc 0 "$VIGIL" -q --root "$R" packages verify sed

flip_byte "$R/usr/bin/ls" 1000
rm "$R/usr/bin/sed"
echo "# edited" >>"$R/etc/deluser.conf"
lib=$(awk '$2 ~ /^usr\/lib\/x86_64-linux-gnu\/gconv\/.*\.so$/ { print $2; exit }' "$R/var/lib/dpkg/info/libc6:amd64.md5sums")
[ -n "$lib" ] || fail "no gconv module in libc6:amd64.md5sums"
flip_byte "$R/$lib" 100
flip_byte "$R/usr/bin/pg_config.libpq-dev" 10
dir=$(awk '$2 ~ /^usr\/share\/doc\/sed\// { print $2; exit }' "$R/var/lib/dpkg/info/sed.md5sums")
rm "$R/$dir" && mkdir "$R/$dir"
compare modified
grep -qx /bin/ls "$T/v.changed" || fail "flipped /bin/ls (/usr/bin/ls) not listed"
grep -qx /etc/deluser.conf "$T/v.changed" || fail "edited conffile not listed"
grep -qx "/$lib" "$T/v.changed" || fail "libc6:amd64's $lib not listed"
grep -qx /bin/sed "$T/v.missing" || fail "deleted /bin/sed (/usr/bin/sed) not missing"
grep -q "not-regular file /$dir " "$T/v.err" || fail "directory in place of /$dir not said"
[ "$vrc" -eq 1 ] || fail "verify exited $vrc with differences, expected 1"

"$VIGIL" -q --root "$R" packages verify --json coreutils adduser libpq-dev >"$T/j" || [ $? -eq 1 ] || fail "--json failed"
python3 - "$T/j" <<'PY' || fail "--json events wrong"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
by = {e.get("file", {}).get("path"): e for e in ev if "file" in e}
ls = by["/bin/ls"]
assert ls["event"]["action"] == "package-file-tampered", ls
assert ls["vigil"]["severity"] == "critical", ls
assert ls["vigil"]["package"]["name"] == "coreutils", ls
assert ls["vigil"]["verdict"] == "changed", ls
assert len(ls["file"]["hash"]["md5"]) == 32, ls
conf = by["/etc/deluser.conf"]
assert conf["vigil"]["severity"] == "medium" and conf["event"]["action"] == "conffile-modified" and conf["vigil"]["conffile"] is True, conf
pg = by["/usr/bin/pg_config.libpq-dev"]
assert pg["vigil"]["verdict"] == "shared" and pg["vigil"]["dpkg_path"] == "/usr/bin/pg_config", pg
summ = [e for e in ev if e["event"]["action"] == "packages-verify-summary"]
assert len(summ) == 1 and summ[0]["vigil"]["packages"] == 3, summ
PY
expect_rc 2 "$VIGIL" -q --root "$R" packages verify no-such-package
echo "ok"
