#!/bin/sh
# vigil cis --record: each run kept in a new signed generation (kind
# "compliance": a baseline of the scopes and the CIS results), listed by
# `vigil generations` with its counts; the HTML report draws the trend of the
# stored runs; a stored result edited in the database is refused like a
# tampered file record (generations exits 3 and names the generation).
# `vigil diff 1 2` shows the file and the CIS verdict that changed between
# them, and refuses a tampered generation.  A --root image, no dockerd needed.
. "$(dirname "$0")/lib.sh"
set -e
[ -x "$VIGIL" ] || skip "vigil binary not built at $VIGIL"
command -v jq >/dev/null || skip "jq missing (apt-get install jq)"
command -v sqlite3 >/dev/null || skip "sqlite3 missing (apt-get install sqlite3)"
R=$T/root
S=$T/state
mkdir -p "$R/etc/docker" "$R/data" "$R/var/lib/docker/image/overlay2"
echo '{"icc": false}' >"$R/etc/docker/daemon.json"
echo hello >"$R/data/f"
printf 'state_dir: %s\nscopes:\n  - name: t\n    paths: [/data]\n' "$S" >"$T/vigil.yaml"
C() { "$VIGIL" -q --config "$T/vigil.yaml" "$@"; }

expect_rc 1 C --root "$R" cis --record --html "$T/r.html"
echo '{"icc": true}' >"$R/etc/docker/daemon.json"
echo more >>"$R/data/f"
expect_rc 1 C --root "$R" cis --record
C generations >"$T/gens"
[ "$(grep -c ' compliance .* verified$' "$T/gens")" = 2 ] || { cat "$T/gens"; fail "two verified compliance generations expected"; }
# icc true: one more failure in generation 2 than in 1
f1=$(C generations --json | jq -r 'select(.generation == 1) | .cis.fail')
f2=$(C generations --json | jq -r 'select(.generation == 2) | .cis.fail')
[ "$f2" -eq $((f1 + 1)) ] || fail "CIS fail counts per generation: $f1 then $f2"
grep -q 'Trend over 1 stored run' "$T/r.html" || fail "the HTML report has no trend of the stored run"
C --root "$R" cis --html "$T/r2.html" >/dev/null || :
grep -q 'Trend over 2 stored runs' "$T/r2.html" || fail "the HTML report has no trend of both stored runs"
# vigil diff: the file and the CIS verdict that changed between the two runs
expect_rc 1 C diff 1 2
C diff 1 2 >"$T/diff" || :
grep -q '^changed: /data/f$' "$T/diff" || { cat "$T/diff"; fail "diff does not show /data/f changed"; }
grep -q '^cis 2.2: pass -> fail$' "$T/diff" || { cat "$T/diff"; fail "diff does not show 2.2 turned to fail"; }
[ "$(grep -c '^cis ' "$T/diff")" = 1 ] || fail "diff shows other CIS changes: $(grep '^cis ' "$T/diff")"
C diff --json 1 2 | jq -s -e 'map(select(.event.action == "cis-result-changed" and .rule.id == "2.2" and .vigil.old_verdict == "pass" and .vigil.new_verdict == "fail")) | length == 1' >/dev/null ||
	fail "diff --json has no cis-result-changed event for 2.2"
C diff --json 1 2 | jq -s -e 'map(select(.event.action == "file-changed" and .file.path == "/data/f")) | length == 1' >/dev/null ||
	fail "diff --json has no file-changed event for /data/f"
expect_rc 0 C diff 2 2
expect_rc 2 C diff 1 99
# the stored result of 2.2 in generation 1 turned from fail into pass
n=$(sqlite3 "$S/baseline.db" "select count(*) from objects where first_gen<=1 and last_gen>=1 and kind='cis' and key like '% 2.2' and cast(data as text) like '%\"verdict\":\"pass\"%'")
[ "$n" = 1 ] || fail "generation 1 holds $n passing results of 2.2"
sqlite3 "$S/baseline.db" "update objects set data=cast(replace(cast(data as text),'\"verdict\":\"pass\"','\"verdict\":\"fail\"') as blob) where first_gen<=1 and last_gen>=1 and kind='cis' and key like '% 2.2'"
expect_rc 3 C generations
expect_rc 3 C diff 1 2
C generations >"$T/gens2" || :
grep -q '^ *1 .*DOES NOT VERIFY' "$T/gens2" || { cat "$T/gens2"; fail "a tampered stored result was not refused"; }
grep -q '^ *2 .* verified$' "$T/gens2" || fail "generation 2 should still verify"
echo "cis_history: ok"
