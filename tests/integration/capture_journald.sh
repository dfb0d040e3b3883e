#!/bin/sh
# vigil capture --engine against a RUNNING journald (agent/capture/capture_journal.c, the
# live path: `journalctl -o export -u docker.service -u containerd.service`, no test knob).
# No systemd runs as PID 1 here: the real systemd-journald runs standalone in a private
# mount namespace (unshare -m) over private tmpfs mounts on /run, /var/log/journal and
# /etc/systemd (its config: persistent storage, no kmsg, no forwarding, `Audit=` empty so
# the kernel's audit state is left alone), so nothing of the host is read or written.
# journald takes _SYSTEMD_UNIT from the sender's cgroup: `systemd-cat -t dockerd` runs in
# a cgroup .../vigiljd$$.slice/docker.service (containerd.service, cron.service alike),
# kept alive until its entry is stored with its unit (journald reads /proc/PID/cgroup),
# killed and removed afterwards.  Then, in the namespace, `vigil capture --engine --host`:
#   - docker/engine/journal.export, parsed back with systemd-journal-remote and
#     `journalctl --file`, holds the docker.service and containerd.service entries as
#     journald stored them (transport stdout, identifier, the sender's pid, this machine's
#     machine id and boot id), and not the cron.service one
#   - its manifest entry is the live command line, exit status 0, the member's SHA-256
#   - --host: journald's open system.journal copied raw (host/var/log/journal/MID/...),
#     and `journalctl --file` reads the cron.service entry back from the copy
#   - `vigil verify` passes; the host's /var/log/journal is as before
# journald is stopped by its pid file whatever happens (trap here and in the namespace).
. "$(dirname "$0")/lib.sh"
set -e
need_root
. "$(dirname "$0")/journal_lib.sh"
JD=/lib/systemd/systemd-journald
[ -x "$JD" ] || skip "systemd-journald missing (scripts/setup.sh installs systemd)"
for b in systemd-cat unshare mount; do
	command -v $b >/dev/null || skip "$b missing (scripts/setup.sh installs it)"
done
[ -s /etc/machine-id ] || skip "/etc/machine-id missing (journald needs it)"
[ -d /var/log/journal ] && [ -d /etc/systemd ] || skip "/var/log/journal or /etc/systemd missing (systemd's package)"
# The hierarchy journald reads a pid's unit from: cgroup2 (unified, or hybrid's
# /sys/fs/cgroup/unified), else v1's name=systemd one.
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	CGR=/sys/fs/cgroup
elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
	CGR=/sys/fs/cgroup/unified
elif [ -d /sys/fs/cgroup/systemd ]; then
	CGR=/sys/fs/cgroup/systemd
else
	skip "no cgroup hierarchy journald reads units from"
fi
export CGS=$CGR/vigiljd$$.slice PIDF=$T/journald.pid T VIGIL
export S
# stop: journald by its pid file, the feeders by theirs, then the cgroups
stop_all() {
	for f in "$PIDF" "$T"/feed.*.pid; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	for u in docker.service containerd.service cron.service; do
		[ -d "$CGS/$u" ] || continue
		for p in $(cat "$CGS/$u/cgroup.procs" 2>/dev/null); do kill "$p" 2>/dev/null; done
		for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$CGS/$u" 2>/dev/null && break; sleep 0.1; done
	done
	rmdir "$CGS" 2>/dev/null
	return 0
}
on_exit stop_all
ls -A /var/log/journal >"$T/hostjournal.before"

cat >"$T/inner.sh" <<'EOF'
# Runs in the private mount namespace; set -e; every mount here dies with it.
set -eu
kill_jd() {
	[ -s "$PIDF" ] && kill "$(cat "$PIDF")" 2>/dev/null && wait "$(cat "$PIDF")"
	return 0
}
trap kill_jd EXIT
trap 'exit 130' INT TERM
mount --make-rprivate /
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=755 tmpfs /var/log/journal
mount -t tmpfs -o mode=755 tmpfs /etc/systemd
mkdir -p /run/systemd/journal /etc/systemd/journald.conf.d
printf '[Journal]\nStorage=persistent\nReadKMsg=no\nAudit=\nForwardToSyslog=no\nForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\n' \
	>/etc/systemd/journald.conf.d/zz-vigil-test.conf
# flushed: journald writes to /var/log/journal at once, as after systemd-journal-flush
touch /run/systemd/journal/flushed
env -u NOTIFY_SOCKET /lib/systemd/systemd-journald </dev/null >"$T/journald.log" 2>&1 &
echo $! >"$PIDF"
# ready when an entry sent through the stdout socket can be read back
i=0
until systemd-cat -t vigil-probe echo probe 2>/dev/null &&
	journalctl -t vigil-probe -o cat --no-pager 2>/dev/null | grep -q probe; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "journald did not come up: $(cat "$T/journald.log")" >&2; exit 1; }
	kill -0 "$(cat "$PIDF")" || { echo "journald died: $(cat "$T/journald.log")" >&2; exit 1; }
	sleep 0.1
done
# feed UNIT TAG MESSAGE: a sender in UNIT's cgroup, alive until journald stored its
# entry with that unit
feed() {
	mkdir -p "$CGS/$1"
	sh -c 'echo $$ >"$1/cgroup.procs" && exec systemd-cat -t "$2" sh -c "echo \"\$0\"; exec sleep 60" "$3"' \
		sh "$CGS/$1" "$2" "$3" &
	echo $! >"$T/feed.$1.pid"
	i=0
	until journalctl "_SYSTEMD_UNIT=$1" -o cat --no-pager | grep -qxF "$3"; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "no entry of $1 in the journal" >&2; exit 1; }
		sleep 0.1
	done
	kill "$(cat "$T/feed.$1.pid")"
}
feed docker.service dockerd "vigil-jd: API listen on /run/docker.sock"
feed containerd.service containerd "vigil-jd: containerd successfully booted"
feed cron.service cron "vigil-jd: not the engine"
"$VIGIL" -q --state-dir "$S" capture --engine --host --case JD -o "$T/o" >"$T/c.out"
cat /proc/sys/kernel/random/boot_id >"$T/boot_id"
EOF
unshare -m sh "$T/inner.sh" || fail "the run in the namespace failed (journald log: $(cat "$T/journald.log" 2>/dev/null))"
kill -0 "$(cat "$PIDF")" 2>/dev/null && fail "journald still runs after the namespace's script"
ls -A /var/log/journal | cmp -s - "$T/hostjournal.before" || fail "the host's /var/log/journal changed"
echo "ok: journald ran standalone, fed 3 entries through cgroups of docker, containerd and cron"

A=$(head -n 1 "$T/c.out")
bsdtar -xOf "$A" docker/engine/journal.export >"$T/export" || fail "no member docker/engine/journal.export"
parse_back "$T/export" "$T/back.json"
python3 -c '
import json, sys
es = [json.loads(l) for l in open(sys.argv[1])]
got = sorted((e["_SYSTEMD_UNIT"], e.get("SYSLOG_IDENTIFIER"), e["MESSAGE"]) for e in es)
want = [("containerd.service", "containerd", "vigil-jd: containerd successfully booted"),
        ("docker.service", "dockerd", "vigil-jd: API listen on /run/docker.sock")]
assert got == want, got
for e in es:
    assert e["_TRANSPORT"] == "stdout" and e["_MACHINE_ID"] == sys.argv[2] and e["_BOOT_ID"] == sys.argv[3], e
    assert e["_SYSTEMD_CGROUP"].endswith("/" + e["_SYSTEMD_UNIT"]) and int(e["_PID"]) > 1, e
' "$T/back.json" "$(cat /etc/machine-id)" "$(tr -d - <"$T/boot_id")" ||
	fail "the export is not the engine entries journald stored: $(cat "$T/back.json")"
bsdtar -xOf "$A" MANIFEST.json | python3 -c '
import json, sys
m = json.load(sys.stdin)
e = [e for e in m["members"] if e.get("member") == "docker/engine/journal.export"][0]
assert e["command"][1:] == ["-o", "export", "-u", "docker.service", "-u", "containerd.service", "--no-pager"], e
assert e["exit_status"] == 0 and not e.get("notes") and not e.get("files"), e
assert e["sha256"] == sys.argv[1] and e["size"] == int(sys.argv[2]), e' \
	"$(sha256sum <"$T/export" | cut -d" " -f1)" "$(wc -c <"$T/export")" || fail "the manifest entry is wrong"
MID=$(cat /etc/machine-id)
mkdir "$T/x"
bsdtar -xf "$A" -C "$T/x" "host/var/log/journal/$MID/system.journal" ||
	fail "--host: journald's open file is not in the archive: $(bsdtar -tf "$A" | grep journal)"
journalctl --file "$T/x/host/var/log/journal/$MID/system.journal" _SYSTEMD_UNIT=cron.service -o cat --no-pager 2>"$T/jc.err" |
	grep -qxF "vigil-jd: not the engine" || fail "--host: the copy of journald's open file does not read back: $(cat "$T/jc.err")"
V verify "$A" >/dev/null || fail "the archive does not verify"
echo "ok: the export holds docker.service and containerd.service as journald stored them, the archive verifies"
echo "ok: capture_journald"
