#!/bin/sh
# watch_rename.sh - vigil.renamed_from is on the event of the path a file was
# renamed TO, and only while that path exists: a path renamed into and away
# again before it was evaluated is reported removed, without renamed_from
# (it used to carry the name the file had before it came there).
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

mkdir -p "$TREE" "$STATE"
echo a > "$TREE/a"
echo b > "$TREE/b"
echo x > "$TREE/x"
DEBOUNCE_MS=500
write_config
baseline
start_daemon

# renamed_from P, or "-" when the event has none: ACTION PATH
renamed_from() {
	python3 - "$EV" "$1" "$2" <<'PY'
import json, sys
r = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"]["action"] == sys.argv[2] and e.get("file", {}).get("path") == sys.argv[3]:
        r.append(e.get("vigil", {}).get("renamed_from", "-"))
print(" ".join(r) or "none")
PY
}

mv "$TREE/x" "$TREE/y"
has_event file-added "$TREE/y" "$STARTUP_S" || fail "no file-added for the new name"
has_event file-removed "$TREE/x" "$STARTUP_S" || fail "no file-removed for the old name"
[ "$(renamed_from file-added "$TREE/y")" = "$TREE/x" ] || fail "file-added y: renamed_from $(renamed_from file-added "$TREE/y")"
[ "$(renamed_from file-removed "$TREE/x")" = - ] || fail "file-removed x: renamed_from $(renamed_from file-removed "$TREE/x")"

# a over b (b in the baseline), then b on to c, within one debounce window
mv "$TREE/a" "$TREE/b"
mv "$TREE/b" "$TREE/c"
has_event file-added "$TREE/c" "$STARTUP_S" || fail "no file-added for c"
has_event file-removed "$TREE/b" "$STARTUP_S" || fail "no file-removed for b"
has_event file-removed "$TREE/a" "$STARTUP_S" || fail "no file-removed for a"
[ "$(renamed_from file-removed "$TREE/b")" = - ] || fail "file-removed b carries renamed_from $(renamed_from file-removed "$TREE/b")"
[ "$(renamed_from file-removed "$TREE/a")" = - ] || fail "file-removed a carries renamed_from $(renamed_from file-removed "$TREE/a")"
[ "$(renamed_from file-added "$TREE/c")" = "$TREE/b" ] || fail "file-added c: renamed_from $(renamed_from file-added "$TREE/c")"
stop_daemon
echo "watch_rename: ok"
