#!/bin/sh
# watch_packages.sh - the daemon explains with dpkg's records too (the same
# explainer hook as `vigil check`: run.c for its checks, evaluate.c for single
# paths).  The host's packaged files are never modified: the daemon runs in
# a private mount namespace where a copy of /usr/share/doc/sed (sed's files,
# with MD5s in sed.md5sums) is bind-mounted over that directory, and the test
# changes the copy (a directory, so that inotify's watch is on the copy).
#  - a byte of README flipped before the daemon starts: its startup check
#    says package-file-tampered (critical, the scope is low) naming sed;
#  - AUTHORS appended to while it runs: inotify, then the single-path
#    evaluation says package-file-tampered too.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"
command -v unshare >/dev/null || skip "unshare missing (util-linux)"
command -v dpkg-query >/dev/null || skip "dpkg-query missing (not a Debian host)"
dpkg-query -W -f='${Status}\n' sed 2>/dev/null | grep -q ' installed$' || skip "package sed not installed"
grep -q ' usr/share/doc/sed/AUTHORS$' /var/lib/dpkg/info/sed.md5sums 2>/dev/null || skip "sed's md5sums lack its docs"

D=/usr/share/doc/sed
mkdir -p "$TREE" "$STATE"
cp -a "$D" "$T/docsed"
SCOPE_EXTRA="  - name: pkg
    paths: [$D]
    watch: true
    severity: low"
write_config
printf 'packages:\n  explain: true\n' >>"$CONF" # the default, said explicitly
baseline
# the daemon sees the copy at $D (same pid through unshare and sh)
cat >"$T/ns.sh" <<'NS'
exec unshare -m --propagation private sh -c 'mount --bind "$0" /usr/share/doc/sed && exec "$@"' "$@"
NS
DAEMON_WRAP="sh $T/ns.sh $T/docsed"
_b=$(od -An -tu1 -j10 -N1 "$T/docsed/README" | tr -d ' ')
printf "\\$(printf '%03o' $(((_b + 1) % 256)))" | dd of="$T/docsed/README" bs=1 seek=10 conv=notrunc 2>/dev/null
start_daemon
wait_for '"package-file-tampered"' 1 30 || fail "startup check did not say package-file-tampered: $(tail -n 5 "$EV")"
python3 - "$EV" "$(md5sum <"$T/docsed/README" | cut -d' ' -f1)" <<'PY' || fail "startup event wrong"
import json, sys
e = [json.loads(l) for l in open(sys.argv[1]) if '"package-file-tampered"' in l][0]
assert e["file"]["path"] == "/usr/share/doc/sed/README" and e["vigil"]["severity"] == "critical", e
# the MD5 read for the judgement (the walk itself takes none: file.hash has sha256 only)
assert e["vigil"]["package"]["name"] == "sed" and e["vigil"]["md5"] == sys.argv[2], e
assert "md5" not in e["file"]["hash"], e
PY
echo "ok: startup check explained"
echo "and me" >>"$T/docsed/AUTHORS"
wait_for '"package-file-tampered"' 2 30 || fail "the change while running was not package-file-tampered: $(tail -n 5 "$EV")"
grep '"package-file-tampered"' "$EV" | tail -n 1 | grep -q '"path":"/usr/share/doc/sed/AUTHORS".*"source":"inotify"' ||
	fail "second event not AUTHORS from inotify: $(tail -n 2 "$EV")"
stop_daemon
echo "ok"
