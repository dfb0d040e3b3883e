#!/bin/sh
# vigil --root IMG capture --engine --host: a disk image's journal files
# (agent/capture/capture_journal.c, capture_host.c).  The image holds journal files made
# by systemd-journal-remote from export text:
#   - IMG/var/log/journal/MID/system.journal (docker, containerd and cron entries) and
#     IMG/run/log/journal/MID/system.journal (a containerd entry): their docker.service
#     and containerd.service entries, and only those, are in docker/engine/journal.export
#     (parsed back with systemd-journal-remote and `journalctl --file`); the entry's
#     command is `journalctl --file /proc/self/fd/3 ...` and its "files" say per file
#     what journalctl did
#   - a corrupt file (system@bad.journal~): its exit status and stderr in "files" and in
#     a note, the other files still exported
#   - ways out of the image: a machine-id dir that is an absolute symlink to a host dir
#     holding a journal file, a journal file symlinked to that host file, and the live
#     test knob VIGIL_TEST_JOURNAL_DIR naming it: its entry is in no member
#   - --host: the image's journal files copied raw (host/var/log/journal/...), byte for
#     byte, readable by journalctl; the archive verifies
#   - journalctl missing (VIGIL_TEST_JOURNALCTL): a note, no member; an image without
#     journal files: a note, no member
. "$(dirname "$0")/lib.sh"
set -e
[ -x "$VIGIL" ] || skip "vigil binary not built at $VIGIL"
JR=/lib/systemd/systemd-journal-remote
[ -x "$JR" ] || skip "systemd-journal-remote missing (scripts/setup.sh installs it)"
for b in journalctl bsdtar python3 sha256sum; do
	command -v $b >/dev/null || skip "$b missing (scripts/setup.sh installs it)"
done
S=$T/state
mkdir -m 700 "$S"
V() { "$VIGIL" -q --state-dir "$S" "$@"; }
V keygen >/dev/null
BOOT=0123456789abcdef0123456789abcdef
MID=11111111111111111111111111111111
MID2=22222222222222222222222222222222
# journal FILE UNIT=MESSAGE...: a journal file holding one entry per argument
journal() {
	_f=$1; shift
	_t=1764590000000000
	for _e in "$@"; do
		_t=$((_t + 1000000))
		printf '__REALTIME_TIMESTAMP=%s\n__MONOTONIC_TIMESTAMP=%s\n_BOOT_ID=%s\n_SYSTEMD_UNIT=%s\nMESSAGE=%s\n\n' \
			$_t $_t $BOOT "${_e%%=*}" "${_e#*=}"
	done | "$JR" -o "$_f" - 2>"$T/jr.err" || fail "systemd-journal-remote: $(cat "$T/jr.err")"
}
I=$T/img
mkdir -p "$I/var/log/journal/$MID" "$I/run/log/journal/$MID" "$T/hostj"
journal "$I/var/log/journal/$MID/system.journal" "docker.service=IMG dockerd started" \
	"cron.service=IMG cron ran" "containerd.service=IMG containerd loading plugin"
journal "$I/run/log/journal/$MID/system.journal" "containerd.service=IMG containerd runtime entry"
head -c 4096 /dev/urandom >"$I/var/log/journal/$MID/system@bad.journal~"
journal "$T/hostj/host.journal" "docker.service=HOST SECRET not in the image"
ln -s "$T/hostj" "$I/var/log/journal/$MID2"
ln -s "$T/hostj/host.journal" "$I/var/log/journal/$MID/leak.journal"

# entry ARCHIVE: the manifest's journal entry (or "none"), then the notes about journals
entry() {
	bsdtar -xOf "$1" MANIFEST.json | python3 -c '
import json, sys
m = json.load(sys.stdin)
e = [e for e in m["members"] if "journalctl" in (e.get("source") or "")]
print(json.dumps(e[0]) if e else "none")
print("\n".join(n for n in m["notes"] if "journal" in n))'
}

VIGIL_TEST_JOURNAL_DIR=$T/hostj V --root "$I" capture --engine --host --case JI -o "$T/o1" >"$T/c1.out" ||
	fail "--root capture failed"
A=$(head -n 1 "$T/c1.out")
bsdtar -xOf "$A" docker/engine/journal.export >"$T/export" || fail "--root: no member docker/engine/journal.export"
"$JR" -o "$T/back.journal" "$T/export" 2>"$T/jr.err" || fail "the export does not parse back: $(cat "$T/jr.err")"
journalctl --file "$T/back.journal" -o json --no-pager >"$T/back.json"
python3 -c '
import json, sys
got = sorted((e["_SYSTEMD_UNIT"], e["MESSAGE"]) for e in map(json.loads, open(sys.argv[1])))
want = sorted([("docker.service", "IMG dockerd started"), ("containerd.service", "IMG containerd loading plugin"),
               ("containerd.service", "IMG containerd runtime entry")])
assert got == want, got' "$T/back.json" || fail "the export parsed back is not the image's engine entries"
grep -q 'HOST SECRET' "$T/export" && fail "a journal file outside the image was exported"
entry "$A" >"$T/e1"
head -n 1 "$T/e1" | python3 -c '
import json, sys
e = json.loads(sys.stdin.readline())
mid = sys.argv[1]
assert e["member"] == "docker/engine/journal.export", e
assert e["command"][1:] == ["--file", "/proc/self/fd/3", "-o", "export", "-u", "docker.service", "-u",
                            "containerd.service", "--no-pager"], e["command"]
f = {x["path"]: x for x in e["files"]}
assert sorted(f) == sorted(["/var/log/journal/%s/%s" % (mid, n) for n in
                            ("system.journal", "leak.journal", "system@bad.journal~")] +
                           ["/run/log/journal/%s/system.journal" % mid]), sorted(f)
for p in ("/var/log/journal/%s/system.journal" % mid, "/run/log/journal/%s/system.journal" % mid):
    assert f[p]["exit_status"] == 0 and f[p]["bytes"] > 0 and f[p]["size"] > 0, f[p]
bad = f["/var/log/journal/%s/system@bad.journal~" % mid]
assert bad["exit_status"] == 1 and "Failed to open" in bad["stderr"] and bad["bytes"] == 0, bad
assert f["/var/log/journal/%s/leak.journal" % mid]["error"] == "No such file or directory", f
assert e["notes"] == ["exported from 2 of the image'"'"'s 4 journal files (see files)"], e["notes"]
assert e["sha256"] == sys.argv[2], e' "$MID" "$(sha256sum <"$T/export" | cut -d" " -f1)" ||
	fail "the manifest entry is wrong: $(cat "$T/e1")"
grep -q "journal file /var/log/journal/$MID/system@bad.journal~ not exported: journalctl failed (exit status 1): Failed to open" "$T/e1" ||
	fail "no note about the corrupt journal file: $(cat "$T/e1")"
echo "ok: --root: engine entries of 2 journal files exported, corrupt and escaping ones noted"

mkdir "$T/x"
bsdtar -xf "$A" -C "$T/x" host
for f in "var/log/journal/$MID/system.journal" "run/log/journal/$MID/system.journal" \
	"var/log/journal/$MID/system@bad.journal~"; do
	cmp "$I/$f" "$T/x/host/$f" || fail "--host: $f not copied byte for byte"
done
journalctl --file "$T/x/host/var/log/journal/$MID/system.journal" -o cat --no-pager | grep -q '^IMG cron ran$' ||
	fail "--host: the raw copy does not read back"
grep -rq 'HOST SECRET' "$T/x/host" && fail "--host: a journal file outside the image was copied"
V verify "$A" >/dev/null || fail "the --root archive does not verify"
echo "ok: --host: the image's journal files copied raw, the archive verifies"

VIGIL_TEST_JOURNALCTL=$T/no-journalctl V --root "$I" capture --engine --case JI2 -o "$T/o2" >"$T/c2.out" ||
	fail "--root capture without journalctl failed"
A=$(head -n 1 "$T/c2.out")
entry "$A" >"$T/e2"
[ "$(head -n 1 "$T/e2")" = none ] || fail "an entry without journalctl: $(cat "$T/e2")"
grep -q 'journalctl is not installed' "$T/e2" || fail "no note that journalctl is missing: $(cat "$T/e2")"
echo "ok: no journalctl: $(tail -n 1 "$T/e2")"

mkdir -p "$T/img2/var/log/journal"
V --root "$T/img2" capture --engine --case JI3 -o "$T/o3" >"$T/c3.out" || fail "--root capture without journal files failed"
A=$(head -n 1 "$T/c3.out")
entry "$A" >"$T/e3"
[ "$(head -n 1 "$T/e3")" = none ] || fail "an entry without journal files: $(cat "$T/e3")"
grep -q 'the image holds no journal file' "$T/e3" || fail "no note that the image has no journal: $(cat "$T/e3")"
echo "ok: no journal files: $(tail -n 1 "$T/e3")"
echo "ok: capture_journal_image"
