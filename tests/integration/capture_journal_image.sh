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
. "$(dirname "$0")/journal_lib.sh"
MID=11111111111111111111111111111111
MID2=22222222222222222222222222222222
I=$T/img
mkdir -p "$I/var/log/journal/$MID" "$I/run/log/journal/$MID" "$T/hostj"
journal "$I/var/log/journal/$MID/system.journal" "docker.service=IMG dockerd started" \
	"cron.service=IMG cron ran" "containerd.service=IMG containerd loading plugin"
journal "$I/run/log/journal/$MID/system.journal" "containerd.service=IMG containerd runtime entry"
head -c 4096 /dev/urandom >"$I/var/log/journal/$MID/system@bad.journal~"
journal "$T/hostj/host.journal" "docker.service=HOST SECRET not in the image"
ln -s "$T/hostj" "$I/var/log/journal/$MID2"
ln -s "$T/hostj/host.journal" "$I/var/log/journal/$MID/leak.journal"

VIGIL_TEST_JOURNAL_DIR=$T/hostj V --root "$I" capture --engine --host --case JI -o "$T/o1" >"$T/c1.out" ||
	fail "--root capture failed"
A=$(head -n 1 "$T/c1.out")
bsdtar -xOf "$A" docker/engine/journal.export >"$T/export" || fail "--root: no member docker/engine/journal.export"
parse_back "$T/export" "$T/back.json"
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

mkdir "$T/no-journalctl.d" # a directory is no journalctl either
noted no-journalctl 'journalctl is not installed' VIGIL_TEST_JOURNALCTL=$T/no-journalctl.d --root "$I" \
	capture --engine --case JI2
mkdir -p "$T/img2/var/log/journal"
noted no-journal-files 'the image holds no journal file' - --root "$T/img2" capture --engine --case JI3
echo "ok: capture_journal_image"
