#!/bin/sh
# vigil prune: retention {keep: 2} on five generations keeps the newest two
# and the one a custody record names, reports each pruned generation as a
# generation-pruned event, deletes the rows only the pruned generations held
# and gives their pages back (incremental vacuum: fewer pages, empty
# freelist), and the newest generation still verifies.
. "$(dirname "$0")/lib.sh"
set -e
[ -x "$VIGIL" ] || skip "vigil binary not built at $VIGIL"
command -v sqlite3 >/dev/null || skip "sqlite3 missing (apt-get install sqlite3)"
command -v jq >/dev/null || skip "jq missing (apt-get install jq)"
R=$T/root
S=$T/state
mkdir -p "$R/data" "$R/var/lib/docker/image/overlay2"
i=0
while [ $i -lt 200 ]; do head -c 2000 /dev/urandom >"$R/data/f$i"; i=$((i + 1)); done
printf 'state_dir: %s\nscopes:\n  - name: t\n    paths: [/data]\n' "$S" >"$T/plain.yaml"
cp "$T/plain.yaml" "$T/vigil.yaml"
printf 'retention: {keep: 2}\n' >>"$T/vigil.yaml"
C() { "$VIGIL" -q --config "$T/vigil.yaml" "$@"; }
expect_rc 2 "$VIGIL" -q --config "$T/plain.yaml" prune
# every file changes between generations: each holds rows of its own, which
# pruning must delete (rows a kept generation shares stay)
for g in 1 2 3 4 5; do
	i=0
	while [ $i -lt 200 ]; do echo "$g" >>"$R/data/f$i"; i=$((i + 1)); done
	expect_rc 1 C --root "$R" cis --record >/dev/null
done
[ "$(sqlite3 "$S/baseline.db" 'pragma auto_vacuum')" = 2 ] || fail "the store is not auto_vacuum=incremental"
pages=$(sqlite3 "$S/baseline.db" 'pragma page_count')
echo '{"seq":1,"action":"sealed","case":"INC-1","generation":2}' >"$S/custody.jsonl"
C prune --json >"$T/ev"
[ "$(jq -r 'select(.event.action == "generation-pruned") | .vigil.generation' "$T/ev" | sort | tr '\n' ' ')" = "1 3 " ] ||
	{ cat "$T/ev"; fail "pruned generations are not 1 and 3"; }
[ "$(C generations --json | jq -r .generation | tr '\n' ' ')" = "5 4 2 " ] || fail "kept: $(C generations --json | jq -r .generation | tr '\n' ' ')"
after=$(sqlite3 "$S/baseline.db" 'pragma page_count')
[ "$after" -lt "$pages" ] || fail "pruning gave no page back ($pages -> $after)"
[ "$(sqlite3 "$S/baseline.db" 'pragma freelist_count')" = 0 ] || fail "free pages left after pruning"
C --root "$R" check >/dev/null || fail "check against the newest generation after pruning exited $?"
C prune --json >"$T/ev2"
[ ! -s "$T/ev2" ] || fail "a second prune pruned again: $(cat "$T/ev2")"
echo "prune: ok ($pages -> $after pages)"
