# journal_lib.sh - shared by the capture journal tests (sourced after lib.sh):
# the parts they need, a state dir $S with a key, V (vigil with it), and
# journal files made and read back with systemd-journal-remote.
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
# journal FILE UNIT=MESSAGE...: a journal file holding one entry per argument, a second apart
journal() {
	_f=$1
	shift
	_t=1764590000000000
	for _e in "$@"; do
		_t=$((_t + 1000000))
		printf '__REALTIME_TIMESTAMP=%s\n__MONOTONIC_TIMESTAMP=%s\n_BOOT_ID=%s\n_SYSTEMD_UNIT=%s\nMESSAGE=%s\n\n' \
			$_t $_t $BOOT "${_e%%=*}" "${_e#*=}"
	done | "$JR" -o "$_f" - 2>"$T/jr.err" || fail "systemd-journal-remote: $(cat "$T/jr.err")"
}
# parse_back EXPORT JSON: export text written as a journal file, read back as JSON lines
parse_back() {
	"$JR" -o "$1.journal" "$1" 2>"$T/jr.err" || fail "the export does not parse back: $(cat "$T/jr.err")"
	journalctl --file "$1.journal" -o json --no-pager >"$2"
}
# entry ARCHIVE: the manifest's journal entry (or "none"), then the notes about journals
entry() {
	bsdtar -xOf "$1" MANIFEST.json | python3 -c '
import json, sys
m = json.load(sys.stdin)
e = [e for e in m["members"] if "journalctl" in (e.get("source") or "")]
print(json.dumps(e[0]) if e else "none")
print("\n".join(n for n in m["notes"] if "journal" in n))'
}
# noted NAME PATTERN ENV ARGS...: `vigil ARGS -o $T/NAME` (ENV: one VAR=VALUE for it, or
# -) succeeds, its manifest has no journal entry and a note matching PATTERN; $A: the archive
noted() {
	_n=$1 _p=$2 _e=${3#-}
	shift 3
	env $_e "$VIGIL" -q --state-dir "$S" "$@" -o "$T/$_n" >"$T/$_n.out" || fail "$_n: the capture failed"
	A=$(head -n 1 "$T/$_n.out")
	entry "$A" >"$T/$_n.e"
	[ "$(head -n 1 "$T/$_n.e")" = none ] || fail "$_n: a journal entry: $(cat "$T/$_n.e")"
	grep -q "$_p" "$T/$_n.e" || fail "$_n: no note '$_p': $(cat "$T/$_n.e")"
	echo "ok: $_n: $(tail -n 1 "$T/$_n.e")"
}
