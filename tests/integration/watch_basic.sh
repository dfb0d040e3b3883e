#!/bin/sh
# watch_basic.sh - the daemon on a temp tree: one event per change kind, a
# burst of writes coalesced into one event, ctl status and check,
# SIGHUP with a broken config keeps the old one, SIGTERM stops cleanly.
. "${top_srcdir:-.}/tests/integration/watch_lib.sh"

mkdir -p "$TREE/etc/sub" "$STATE"
echo one > "$TREE/etc/content"
echo two > "$TREE/etc/mode"
echo three > "$TREE/etc/owner"
echo four > "$TREE/etc/removed"
echo five > "$TREE/etc/burst"
echo six > "$TREE/etc/xattr"
echo seven > "$TREE/etc/type"
echo eight > "$TREE/etc/renamed"
ln -s target-a "$TREE/etc/link"
write_config
baseline
start_daemon

echo changed >> "$TREE/etc/content"
has_event file-changed "$TREE/etc/content" || fail "content change not reported"
chmod 600 "$TREE/etc/mode"
has_event file-changed "$TREE/etc/mode" || fail "mode change not reported"
chown 1:1 "$TREE/etc/owner"
has_event file-changed "$TREE/etc/owner" || fail "owner change not reported"
rm "$TREE/etc/removed"
has_event file-removed "$TREE/etc/removed" || fail "removal not reported"
echo new > "$TREE/etc/sub/added"
has_event file-added "$TREE/etc/sub/added" || fail "new file not reported"
ln -sfn target-b "$TREE/etc/link"
has_event file-changed "$TREE/etc/link" || fail "symlink target change not reported"
if command -v setfattr >/dev/null && setfattr -n user.vigil -v 1 "$TREE/etc/xattr" 2>/dev/null; then
	has_event file-changed "$TREE/etc/xattr" || fail "xattr change not reported"
fi
rm "$TREE/etc/type" && mkdir "$TREE/etc/type"
has_event file-changed "$TREE/etc/type" || fail "type change not reported"
mv "$TREE/etc/renamed" "$TREE/etc/renamed.new"
has_event file-removed "$TREE/etc/renamed" || fail "rename source not reported"
has_event file-added "$TREE/etc/renamed.new" || fail "rename target not reported"
grep -F "\"renamed_from\":\"$TREE/etc/renamed\"" "$EV" >/dev/null || fail "rename not paired"
mkdir -p "$TREE/etc/newdir/deeper" && echo x > "$TREE/etc/newdir/deeper/file"
has_event file-added "$TREE/etc/newdir/deeper/file" || fail "file in a new directory tree not reported"
echo later > "$TREE/etc/newdir/deeper/later"
has_event file-added "$TREE/etc/newdir/deeper/later" || fail "new directory not watched"

# 200 writes to one file: one event (then nothing more while it stays so).
i=0; while [ $i -lt 200 ]; do echo "$i" >> "$TREE/etc/burst"; i=$((i + 1)); done
has_event file-changed "$TREE/etc/burst" || fail "burst not reported"
touch "$TREE/etc/sub/marker"   # a later event: everything before it has been emitted
has_event file-added "$TREE/etc/sub/marker" || fail "marker not reported"
[ "$(n_events file-changed "$TREE/etc/burst")" -eq 1 ] || fail "a burst of writes gave $(n_events file-changed "$TREE/etc/burst") events"

# Control socket.
ctl status > "$T/status.json" || fail "ctl status failed"
python3 - "$T/status.json" <<'PY' || fail "status lacks fields"
import json, sys
s = json.load(open(sys.argv[1]))
for k in ("uptime_s", "watches", "queue", "events", "last_check", "rss_kb", "generation"):
    assert k in s, k
assert s["watches"] >= 4 and s["events"]["emitted"] >= 10 and s["events"]["dropped"] == 0, s
assert s["rss_kb"] > 0
PY
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "control socket mode $(stat -c %a "$SOCK")"
rc=0; ctl check > "$T/check.json" || rc=$?
[ $rc -eq 1 ] || fail "ctl check exit $rc, expected 1 (differences)"
grep -q '"differences"' "$T/check.json" || fail "ctl check answer"
wait_for '"action":"check-summary"' 1 || fail "no check summary event"

# SIGHUP with a broken config: reported, daemon keeps running on the old one.
cp "$CONF" "$T/good.yaml"
printf 'scopes: [\n  bogus: {\n' > "$CONF"
kill -HUP "$DAEMON_PID"
wait_for '"action":"config-reload-failed"' 1 || fail "broken reload not reported"
kill -0 "$DAEMON_PID" || fail "daemon died on a broken config"
echo after-hup > "$TREE/etc/sub/after-hup"
has_event file-added "$TREE/etc/sub/after-hup" || fail "no events after a failed reload"
cp "$T/good.yaml" "$CONF"
kill -HUP "$DAEMON_PID"
wait_for '"action":"config-reloaded"' 1 || fail "good reload not reported"

# Every line is one JSON object.
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$EV" || fail "bad JSON line"
stop_daemon
wait_for '"action":"watch-stopped"' 1 1 || fail "no stop event"
echo "watch_basic: ok ($(wc -l < "$EV") events)"
