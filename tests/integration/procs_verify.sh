#!/bin/sh
# vigil procs --verify on real processes (tests/helpers/procs-helper.c):
#  1. a process that made one of its own code pages writable, flipped a byte
#     and made it executable again: process-code-modified with that page's
#     address, the mapping, its file offset and 1 byte differing; a second,
#     untouched process of the same binary has no such finding;
#  2. a process running a copy of sleep deleted after it started:
#     process-exe-deleted and process-deleted-mapping, and its code (read
#     through map_files) still equal to the deleted file's;
#  3. sleep fexecve()d from a memfd: process-memfd-exec (and exe deleted);
#  4. code run from an anonymous mapping: process-anon-exec, severity low;
#  5. an executable changed after the baseline recorded it: process-exe-changed;
#  6. every process of this machine once the helpers are gone: no modified
#     code page anywhere (no false positives);
#  7. the listing, the text output, exit codes 0/1/2.
set -eu
. "$(dirname "$0")/lib.sh"
need_root
command -v python3 >/dev/null || skip "python3 missing"
HELPER="$top_builddir/tests/helpers/procs-helper"
[ -x "$HELPER" ] || fail "$HELPER not built"
SLEEP=$(command -v sleep)

# wait_line FILE PATTERN: the helper printed its line (5 s at most)
wait_line() {
	i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "no '$2' in $1: $(cat "$1" 2>/dev/null)"
		sleep 0.05
	done
}
# finding PID ACTION [KEY=VALUE...]: the report $T/r.json has such a finding
finding() {
	python3 - "$T/r.json" "$@" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
pid, action, want = int(sys.argv[2]), sys.argv[3], dict(a.split("=", 1) for a in sys.argv[4:])
fs = [f for f in r["findings"] if f["pid"] == pid and f["action"] == action]
ok = [f for f in fs if all(str(f.get(k)) == v for k, v in want.items())]
if not ok:
    print("no %s finding for pid %d with %s; its findings: %s" % (action, pid, want,
          [f for f in r["findings"] if f["pid"] == pid]), file=sys.stderr)
    sys.exit(1)
PY
}
# none PID ACTION: no such finding for PID (PID 0: for any process but the
# patching helpers that tests running in parallel may have started)
none() {
	python3 - "$T/r.json" "$1" "$2" "$HELPER" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
pid, action, helper = int(sys.argv[2]), sys.argv[3], sys.argv[4]
bad = [f for f in r["findings"] if f["action"] == action and (pid == 0 and f.get("exe") != helper or f["pid"] == pid)]
if bad:
    print("unexpected %s findings: %s" % (action, json.dumps(bad, indent=1)), file=sys.stderr)
    sys.exit(1)
PY
}
report() {
	set +e
	"$VIGIL" -q procs --verify --json "$@" >"$T/r.json" 2>"$T/r.err"
	RC=$?
	set -e
	[ $RC -le 1 ] || fail "procs --verify exited $RC: $(cat "$T/r.err")"
}

# 1. a patched code page, and an untouched twin
"$HELPER" patch >"$T/patch.out" &
PATCH=$!
on_exit "kill $PATCH"
cp "$HELPER" "$T/twin"
"$T/twin" anon >"$T/twin.out" &
TWIN=$!
on_exit "kill $TWIN"
wait_line "$T/patch.out" '^PATCHED '
wait_line "$T/twin.out" '^ANON '
PAGE=$(awk '{print $2}' "$T/patch.out")
# the file offset of that page, from the maps line that holds it
OFF=$(python3 - "$PATCH" "$PAGE" <<'PY'
import sys
pid, page = sys.argv[1], int(sys.argv[2], 16)
for l in open("/proc/%s/maps" % pid):
    a, perms, off = l.split()[:3]
    s, e = (int(x, 16) for x in a.split("-"))
    if s <= page < e:
        print(int(off, 16) + page - s)
PY
)
[ -n "$OFF" ] || fail "page $PAGE not in the helper's maps"

# 2. a deleted executable; 3. a memfd; 4. anonymous code
cp "$SLEEP" "$T/gone-sleep"
"$T/gone-sleep" 600 &
GONE=$!
on_exit "kill $GONE"
"$HELPER" memfd "$SLEEP" sleep 600 &
MEMFD=$!
on_exit "kill $MEMFD"
"$HELPER" anon >"$T/anon.out" &
ANON=$!
on_exit "kill $ANON"
wait_line "$T/anon.out" '^ANON '
ANON_ADDR=$(awk '{print $2}' "$T/anon.out")
i=0
until [ "$(readlink "/proc/$MEMFD/exe" 2>/dev/null)" != "$HELPER" ] && [ -n "$(readlink "/proc/$MEMFD/exe")" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "the memfd helper did not exec"; sleep 0.05
done
rm "$T/gone-sleep"

report --no-baseline
[ $RC -eq 1 ] || fail "procs --verify with findings exited $RC"
finding "$PATCH" process-code-modified address="$PAGE" file_offset="$OFF" bytes_differing=1 \
	mapping="$HELPER" severity=critical || fail "1: the patched page is not reported"
none "$TWIN" process-code-modified || fail "1: the untouched twin is reported"
none "$TWIN" process-code-relocated || fail "1: the untouched twin is reported"
finding "$GONE" process-exe-deleted severity=high || fail "2: deleted executable"
finding "$GONE" process-deleted-mapping mapping="$T/gone-sleep" || fail "2: deleted mapping"
none "$GONE" process-code-modified || fail "2: the deleted file's code is said to differ"
finding "$MEMFD" process-memfd-exec severity=high || fail "3: memfd code"
finding "$MEMFD" process-exe-deleted || fail "3: memfd exe"
finding "$ANON" process-anon-exec address="$ANON_ADDR" severity=low || fail "4: anonymous code"
none "$PATCH" process-anon-exec || fail "4: anon code reported for the patch helper"

# the text form names the page too
set +e
"$VIGIL" -q procs --verify --no-baseline >"$T/text" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || fail "text procs --verify exited $rc"
grep -q "critical process-code-modified pid $PATCH .*code page at $PAGE differs from $HELPER at offset $OFF (1 bytes differ)" \
	"$T/text" || fail "text report: $(grep "pid $PATCH" "$T/text")"
grep -Eq "^ *$GONE +[0-9]+ +[0-9]+ gone-sleep .*gone-sleep \(deleted\)$" "$T/text" || fail "listing: $(head -5 "$T/text")"

# 5. an executable changed after the baseline recorded it
D=$T/tree
S=$T/state
mkdir -p "$D"
cp "$SLEEP" "$D/sleep"
fim_config
V baseline
printf 'x' >>"$D/sleep" # still runs: a byte past the ELF's end
"$D/sleep" 600 &
CHANGED=$!
on_exit "kill $CHANGED"
"$D/sleep" 0 # it exec'd: now sure the next listing sees it
set +e
"$VIGIL" -q --config "$T/vigil.yaml" procs --verify --json >"$T/r.json" 2>"$T/r.err"
RC=$?
set -e
[ $RC -eq 1 ] || fail "5: exited $RC: $(cat "$T/r.err")"
finding "$CHANGED" process-exe-changed severity=critical || fail "5: changed executable not reported"
none "$PATCH" process-exe-changed || fail "5: an executable outside the baseline is reported"

# 6. this machine's own processes: no modified code page
for p in $PATCH $TWIN $GONE $MEMFD $ANON $CHANGED; do kill "$p" 2>/dev/null || :; done
wait 2>/dev/null || :
report --no-baseline
none 0 process-code-modified || fail "6: false positive on this machine's processes"
none 0 process-code-relocated || fail "6: relocated code on this machine's processes"
python3 - "$T/r.json" <<'PY' || fail "6: summary"
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
assert s["processes_verified"] >= 1 and s["pages_compared"] > 100, s
print("clean run: %d processes, %d pages compared, %d findings (%s)" % (s["processes"], s["pages_compared"],
      len(r["findings"]), sorted(set(f["action"] for f in r["findings"]))))
PY

# 7. listing and exit codes
"$VIGIL" -q procs --json >"$T/l.json" || fail "7: listing exited $?"
python3 - "$T/l.json" "$$" <<'PY' || fail "7: listing"
import json, sys
r = json.load(open(sys.argv[1]))
me = [p for p in r["processes"] if p["pid"] == int(sys.argv[2])]
assert me and me[0]["comm"] and me[0]["exe"] and "uid" in me[0] and "ppid" in me[0], me
assert r["findings"] == [] and r["verified"] is False
PY
expect_rc 2 "$VIGIL" -q procs --bogus
expect_rc 2 "$VIGIL" -q procs extra
echo "procs_verify: ok"
