#!/bin/sh
# vigil capture --engine: the engine's journald logs (agent/capture/capture_journal.c).
# This machine runs no journald: a real journal directory is made from export text by
# systemd-journal-remote and named with the test knob VIGIL_TEST_JOURNAL_DIR (journalctl
# then runs with -D DIR):
#   - docker.service and containerd.service entries, and only those, are in the member
#     docker/engine/journal.export; its manifest entry has the command line, the exit
#     status and the SHA-256 of the member's bytes; the archive verifies
#   - no journal there: a note, no member, the capture succeeds
#   - journalctl failing (-D on a file): an entry saying so with its stderr, no member,
#     the capture succeeds and verifies
#   - --root on an image without journal files: the knob's DIR (the host's) is not read,
#     the manifest says the image holds none (capture_journal_image.sh tests images with
#     journal files)
. "$(dirname "$0")/lib.sh"
set -e
. "$(dirname "$0")/journal_lib.sh"
mkdir "$T/j"
journal "$T/j/remote.journal" "docker.service=dockerd: API listen on /run/docker.sock" \
	"cron.service=not the engine" "containerd.service=containerd: loading plugin"

VIGIL_TEST_JOURNAL_DIR=$T/j V capture --engine --case J -o "$T/o1" >"$T/c1.out" || fail "capture failed"
A=$(head -n 1 "$T/c1.out")
bsdtar -xOf "$A" docker/engine/journal.export >"$T/export" || fail "no member docker/engine/journal.export"
grep -q '^MESSAGE=dockerd: API listen' "$T/export" || fail "the docker.service entry is missing"
grep -q '^MESSAGE=containerd: loading plugin' "$T/export" || fail "the containerd.service entry is missing"
grep -q 'not the engine' "$T/export" && fail "a cron.service entry was exported"
entry "$A" >"$T/e1"
head -n 1 "$T/e1" | python3 -c '
import json, sys
e = json.loads(sys.stdin.readline())
assert e["member"] == "docker/engine/journal.export", e
assert e["command"][1:] == ["-D", sys.argv[1], "-o", "export", "-u", "docker.service", "-u",
                            "containerd.service", "--no-pager"], e["command"]
assert e["exit_status"] == 0 and not e.get("notes"), e
assert e["sha256"] == sys.argv[2] and e["size"] == int(sys.argv[3]), e' \
	"$T/j" "$(sha256sum <"$T/export" | cut -d" " -f1)" "$(wc -c <"$T/export")" ||
	fail "the manifest entry is wrong: $(cat "$T/e1")"
V verify "$A" >/dev/null || fail "the archive does not verify"
echo "ok: journal exported: $(grep -c '^MESSAGE=' "$T/export") entries"

noted no-journal 'no journald here' VIGIL_TEST_JOURNAL_DIR=$T/none capture --engine --case J2
bsdtar -tf "$A" | grep -q journal.export && fail "a journal member without a journal"

: >"$T/notadir"
VIGIL_TEST_JOURNAL_DIR=$T/notadir V capture --engine --case J3 -o "$T/o3" >"$T/c3.out" || fail "capture with a failing journalctl failed"
A=$(head -n 1 "$T/c3.out")
entry "$A" >"$T/e3"
head -n 1 "$T/e3" | grep -q '"journalctl failed (exit status 1): Failed to open' || fail "the failure is not recorded: $(cat "$T/e3")"
bsdtar -tf "$A" | grep -q journal.export && fail "a journal member although journalctl failed"
V verify "$A" >/dev/null || fail "the archive with a failed journalctl does not verify"
echo "ok: journalctl failing: recorded, not fatal"

mkdir "$T/img"
noted root-no-journal-files 'the image holds no journal file' VIGIL_TEST_JOURNAL_DIR=$T/j --root "$T/img" \
	capture --engine --case J4
echo "ok: capture_journal"
