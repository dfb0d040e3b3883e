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
mkdir "$T/j"
printf '__REALTIME_TIMESTAMP=1764590000000000\n_SYSTEMD_UNIT=docker.service\n_BOOT_ID=%s\nMESSAGE=dockerd: API listen on /run/docker.sock\n\n__REALTIME_TIMESTAMP=1764590001000000\n_SYSTEMD_UNIT=cron.service\n_BOOT_ID=%s\nMESSAGE=not the engine\n\n__REALTIME_TIMESTAMP=1764590002000000\n_SYSTEMD_UNIT=containerd.service\n_BOOT_ID=%s\nMESSAGE=containerd: loading plugin\n\n' \
	$BOOT $BOOT $BOOT | "$JR" -o "$T/j/remote.journal" - 2>"$T/jr.err" || fail "systemd-journal-remote: $(cat "$T/jr.err")"

# entry ARCHIVE: the manifest's journal entry (or "none") and the notes about the journal
entry() {
	bsdtar -xOf "$1" MANIFEST.json | python3 -c '
import json, sys
m = json.load(sys.stdin)
e = [e for e in m["members"] if "journalctl" in (e.get("source") or "")]
print(json.dumps(e[0]) if e else "none")
print("\n".join(n for n in m["notes"] if "journal" in n))'
}

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

VIGIL_TEST_JOURNAL_DIR=$T/none V capture --engine --case J2 -o "$T/o2" >"$T/c2.out" || fail "capture without a journal failed"
A=$(head -n 1 "$T/c2.out")
entry "$A" >"$T/e2"
[ "$(head -n 1 "$T/e2")" = none ] || fail "an entry without a journal: $(cat "$T/e2")"
grep -q 'no journald here' "$T/e2" || fail "no note that journald is absent: $(cat "$T/e2")"
bsdtar -tf "$A" | grep -q journal.export && fail "a journal member without a journal"
echo "ok: no journal: $(tail -n 1 "$T/e2")"

: >"$T/notadir"
VIGIL_TEST_JOURNAL_DIR=$T/notadir V capture --engine --case J3 -o "$T/o3" >"$T/c3.out" || fail "capture with a failing journalctl failed"
A=$(head -n 1 "$T/c3.out")
entry "$A" >"$T/e3"
head -n 1 "$T/e3" | grep -q '"journalctl failed (exit status 1): Failed to open' || fail "the failure is not recorded: $(cat "$T/e3")"
bsdtar -tf "$A" | grep -q journal.export && fail "a journal member although journalctl failed"
V verify "$A" >/dev/null || fail "the archive with a failed journalctl does not verify"
echo "ok: journalctl failing: recorded, not fatal"

mkdir "$T/img"
VIGIL_TEST_JOURNAL_DIR=$T/j "$VIGIL" -q --state-dir "$S" --root "$T/img" capture --engine --case J4 -o "$T/o4" >"$T/c4.out" ||
	fail "--root capture failed"
A=$(head -n 1 "$T/c4.out")
entry "$A" >"$T/e4"
[ "$(head -n 1 "$T/e4")" = none ] || fail "journalctl read the host's journal under --root: $(cat "$T/e4")"
grep -q 'the image holds no journal file' "$T/e4" || fail "--root: no note about the journal: $(cat "$T/e4")"
echo "ok: --root: $(tail -n 1 "$T/e4")"
echo "ok: capture_journal"
