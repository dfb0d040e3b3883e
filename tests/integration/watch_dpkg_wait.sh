#!/bin/sh
# watch_dpkg_wait.sh - the daemon does not judge a packaged path while dpkg
# runs (its lock is held): dpkg puts a package's files in place before its
# new .md5sums, so a file judged in between would be a false
# package-file-tampered.  The path is judged once the lock is free, with
# dpkg's records read again; the wait is bounded by packages.dpkg_wait.
# Nothing of the host's is touched: the daemon runs in a private mount
# namespace where copies of /usr/share/doc/sed, /var/lib/dpkg (so the lock
# file is this test's) and /var/log/dpkg.log are bind-mounted over them; the
# lock is held on the copy with python3's fcntl.lockf, as dpkg holds it.
#  1. lock held, AUTHORS rewritten, sed's .md5sums not yet: no event while
#     held (a plain file changed meanwhile is reported at once); then the
#     .md5sums, status and a dpkg.log upgrade line written as dpkg does and
#     the lock released: exactly one event, package-upgrade;
#  2. lock held, README changed and the .md5sums never: released ->
#     package-file-tampered, once;
#  3. lock held, THANKS.gz changed while the daemon is down:
#     found by the startup check and a `ctl check` (run.c), neither judges
#     it while held; records written and lock released -> one package-upgrade;
#  4. packages.dpkg_wait: 2s and the lock held on: copyright's verdict
#     comes anyway, saying that the lock was held too long.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"
command -v unshare >/dev/null || skip "unshare missing (util-linux)"
command -v dpkg-query >/dev/null || skip "dpkg-query missing (not a Debian host)"
dpkg-query -W -f='${Status}\n' sed 2>/dev/null | grep -q ' installed$' || skip "package sed not installed"
grep -q ' usr/share/doc/sed/AUTHORS$' /var/lib/dpkg/info/sed.md5sums 2>/dev/null || skip "sed's md5sums lack its docs"
[ -f /var/log/dpkg.log ] || skip "no /var/log/dpkg.log to bind a copy over"

D=/usr/share/doc/sed
mkdir -p "$TREE" "$STATE"
cp -a "$D" "$T/docsed"
cp -a /var/lib/dpkg "$T/dpkg"
cp /var/log/dpkg.log "$T/dpkg.log"
SCOPE_EXTRA="  - name: pkg
    paths: [$D]
    watch: true
    severity: low"
write_config
cp "$CONF" "$T/base.yaml"
printf 'packages:\n  explain: true\n  dpkg_wait: 10m\n' >>"$CONF"
cat >"$T/ns.sh" <<'NS'
exec unshare -m --propagation private sh -c 'mount --bind "$0/docsed" /usr/share/doc/sed &&
	mount --bind "$0/dpkg" /var/lib/dpkg && mount --bind "$0/dpkg.log" /var/log/dpkg.log && exec "$@"' "$@"
NS
DAEMON_WRAP="sh $T/ns.sh $T"
# the baseline of the copies, as the daemon sees them (inodes, ctimes)
$DAEMON_WRAP "$VIGIL" --config "$CONF" -q baseline || fail "vigil baseline failed"

# hold_lock / release_lock: an fcntl lock on the copy's lock file, as dpkg's
LOCKER=""
hold_lock() {
	rm -f "$T/locked"
	python3 - "$T/dpkg/lock" "$T/locked" 8>&- 9>&- <<'PY' &
import fcntl, os, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
while os.path.exists(sys.argv[2]):
    time.sleep(0.05)
PY
	LOCKER=$!
	for _ in $(seq 100); do [ -f "$T/locked" ] && return 0; sleep 0.1; done
	fail "the lock holder did not start"
}
release_lock() { rm -f "$T/locked"; wait "$LOCKER"; LOCKER=""; }
CLEANUP_EXTRA='rm -f "$T/locked"; [ -z "$LOCKER" ] || wait "$LOCKER"'

# n_path ACTION PATH: events of that action about that path
n_path() {
	python3 - "$EV" "$1" "$2" <<'PY'
import json, sys
n = 0
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("event", {}).get("action") == sys.argv[2] and e.get("file", {}).get("path") == sys.argv[3]:
        n += 1
print(n)
PY
}
# any_path PATH: events of any action about PATH
any_path() { grep -c "\"path\":\"$1\"" "$EV" || true; }
# sentinel NAME: a plain file outside packages, reported at once even while
# dpkg's lock is held (and evaluated after what changed before it)
sentinel() {
	echo "$1" >"$TREE/$1"
	wait_for "\"path\":\"$TREE/$1\"" 1 30 || fail "plain change $1 not reported while dpkg's lock was held"
	sleep 1
}

# dpkg_upgrade FILE FROM TO: what dpkg writes after a package's files: FILE's
# new sum in sed's .md5sums, sed's Version in status, dpkg.log's lines
dpkg_upgrade() {
	python3 - "$T/dpkg" "$(md5sum <"$T/docsed/$1" | cut -d' ' -f1)" "$1" "$2" "$3" <<'PY' || fail "dpkg's records not written"
import sys
d, md5, name, old, new = sys.argv[1:6]
p = d + "/info/sed.md5sums"
lines = open(p).read().splitlines(True)
with open(p, "w") as f:
    for l in lines:
        f.write(md5 + "  usr/share/doc/sed/" + name + "\n" if l.endswith(" usr/share/doc/sed/" + name + "\n") else l)
st = open(d + "/status").read().split("\n\n")
for i, s in enumerate(st):
    if s.startswith("Package: sed\n"):
        st[i] = s.replace("\nVersion: " + old + "\n", "\nVersion: " + new + "\n")
        assert st[i] != s
open(d + "/status", "w").write("\n\n".join(st))
PY
	_now=$(date '+%Y-%m-%d %H:%M:%S')
	printf '%s upgrade sed:%s %s %s\n%s status installed sed:%s %s\n' \
		"$_now" "$ARCH" "$2" "$3" "$_now" "$ARCH" "$3" >>"$T/dpkg.log"
}

start_daemon

# 1. an upgrade as dpkg does it: files first, then sums, status, log; lock released
hold_lock
printf 'sed was written by many people.\n' >"$T/docsed/AUTHORS"
sentinel s1
[ "$(any_path "$D/AUTHORS")" = 0 ] || fail "AUTHORS judged while dpkg's lock was held: $(grep AUTHORS "$EV")"
OLDV=$(dpkg-query -W -f='${Version}' sed)
ARCH=$(dpkg-query -W -f='${Architecture}' sed)
dpkg_upgrade AUTHORS "$OLDV" "$OLDV+vigil1"
sleep 1
[ "$(any_path "$D/AUTHORS")" = 0 ] || fail "AUTHORS judged while dpkg's lock was held: $(grep AUTHORS "$EV")"
release_lock
wait_for "\"path\":\"$D/AUTHORS\"" 1 30 || fail "AUTHORS not judged after dpkg's lock was released"
sleep 3
[ "$(any_path "$D/AUTHORS")" = 1 ] || fail "AUTHORS: not exactly one event: $(grep AUTHORS "$EV")"
[ "$(n_path package-upgrade "$D/AUTHORS")" = 1 ] || fail "AUTHORS not package-upgrade: $(grep AUTHORS "$EV")"
echo "ok: an upgrade while dpkg runs is one package-upgrade, after it"

# 2. tampered while dpkg runs, sums never updated: tampered once the lock is free
hold_lock
printf 'and me\n' >>"$T/docsed/README"
sentinel s2
[ "$(any_path "$D/README")" = 0 ] || fail "README judged while dpkg's lock was held: $(grep README "$EV")"
release_lock
wait_for "\"path\":\"$D/README\"" 1 30 || fail "README not judged after dpkg's lock was released"
sleep 3
[ "$(any_path "$D/README")" = 1 ] || fail "README: not exactly one event: $(grep README "$EV")"
[ "$(n_path package-file-tampered "$D/README")" = 1 ] || fail "README not package-file-tampered: $(grep README "$EV")"
echo "ok: a tampered file while dpkg runs is package-file-tampered once it is done"
stop_daemon

# 3. changed while the daemon was down, dpkg's lock held: found by the
# comparison at start (run.c), not inotify, and by a `ctl check` after it:
# neither judges it while the lock is held; once dpkg's records are written
# and the lock released, exactly one package-upgrade
hold_lock
printf 'thanks to all\n' >"$T/docsed/THANKS.gz"
start_daemon
[ "$(any_path "$D/THANKS.gz")" = 0 ] ||
	fail "THANKS.gz judged by the startup check while dpkg's lock was held: $(grep THANKS "$EV")"
_sums=$(count '"action":"check-summary"')
_rc=0; ctl check >/dev/null || _rc=$?
[ "$_rc" = 1 ] || fail "vigil ctl check exited $_rc, expected 1 (differences)"
wait_for '"action":"check-summary"' $((_sums + 1)) 60 || fail "no check-summary after ctl check"
[ "$(any_path "$D/THANKS.gz")" = 0 ] ||
	fail "THANKS.gz judged by ctl check while dpkg's lock was held: $(grep THANKS "$EV")"
dpkg_upgrade THANKS.gz "$OLDV+vigil1" "$OLDV+vigil2"
sleep 1
[ "$(any_path "$D/THANKS.gz")" = 0 ] || fail "THANKS.gz judged while dpkg's lock was held: $(grep THANKS "$EV")"
release_lock
wait_for "\"path\":\"$D/THANKS.gz\"" 1 30 || fail "THANKS.gz not judged after dpkg's lock was released"
sleep 3
[ "$(any_path "$D/THANKS.gz")" = 1 ] || fail "THANKS.gz: not exactly one event: $(grep THANKS "$EV")"
[ "$(n_path package-upgrade "$D/THANKS.gz")" = 1 ] || fail "THANKS.gz not package-upgrade: $(grep THANKS "$EV")"
echo "ok: a change found by a check while dpkg runs is one package-upgrade, after it"
stop_daemon

# 4. the lock held past packages.dpkg_wait: judged anyway, and said
cp "$T/base.yaml" "$CONF"
printf 'packages:\n  explain: true\n  dpkg_wait: 2s\n' >>"$CONF"
start_daemon
hold_lock
printf 'no licence\n' >>"$T/docsed/copyright"
sentinel s3
wait_for "\"path\":\"$D/copyright\"" 1 60 || fail "copyright never judged with dpkg's lock held past dpkg_wait"
python3 - "$EV" "$D/copyright" <<'PY' || fail "copyright's event does not say the lock was held too long"
import json, sys
e = [json.loads(l) for l in open(sys.argv[1]) if ('"path":"%s"' % sys.argv[2]) in l][0]
assert e["event"]["action"] == "package-file-tampered", e
assert "dpkg's lock was held for longer than 2s" in e["message"], e
PY
release_lock
stop_daemon
echo "ok"
