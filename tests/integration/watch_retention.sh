#!/bin/sh
# `retention: {keep: 2}` in the daemon: after each scheduled generation the
# older ones go (never the newest), each pruning is a generation-pruned event,
# and the generations left verify.
. "$(dirname "$0")/watch_lib.sh"
mkdir -p "$TREE"
echo a >"$TREE/a"
SCHEDULE='schedule: [{action: baseline, every: 2s}]
retention: {keep: 2}'
write_config
baseline
start_daemon
wait_for '"action":"generation-pruned"' 2 60 || fail "no two generation-pruned events"
stop_daemon
"$VIGIL" --config "$CONF" generations >"$T/gens" || { cat "$T/gens"; fail "generations exited $?"; }
[ "$(wc -l <"$T/gens")" -le 3 ] || { cat "$T/gens"; fail "more generations kept than keep: 2 (one may be written after the last pruning)"; }
grep -q '^ *1 ' "$T/gens" && fail "generation 1 was not pruned"
grep -F '"action":"generation-pruned"' "$EV" | head -n 1 | grep -q 'retention pruned generation' || fail "the event does not say what was pruned"
"$VIGIL" --config "$CONF" -q check || fail "check after pruning exited $?"
echo "ok: the daemon prunes by retention"
