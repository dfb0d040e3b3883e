#!/bin/sh
# The daemon's `action: compliance` schedule: each due time writes one signed
# generation of kind "compliance" holding a baseline of the scopes and a CIS
# run (issue 10); `vigil generations` lists them with their CIS counts and
# they verify.  The CIS run reads the live host (its Docker state, if any,
# and the kernel's audit rules).
. "$(dirname "$0")/watch_lib.sh"
mkdir -p "$TREE"
echo a >"$TREE/a"
SCHEDULE='schedule: [{action: compliance, every: 2s}]'
write_config
baseline
start_daemon
wait_for '"action":"baseline-generation"' 2 60 || fail "no two scheduled compliance generations"
stop_daemon
"$VIGIL" --config "$CONF" generations >"$T/gens" || { cat "$T/gens"; fail "generations exited $? (a generation does not verify)"; }
n=$(grep -c ' compliance .* cis .* verified$' "$T/gens") || :
[ "${n:-0}" -ge 2 ] || { cat "$T/gens"; fail "fewer than two compliance generations with CIS counts"; }
grep -q ' baseline .* verified$' "$T/gens" || fail "the first (manual) baseline is not listed"
g=$(sed -n 's/^ *\([0-9]*\) .* compliance .*/\1/p' "$T/gens" | head -n 1)
rc=0
"$VIGIL" --config "$CONF" -q diff 1 "$g" >"$T/diff" 2>&1 || rc=$?
[ $rc -le 1 ] || fail "diff 1 $g exited $rc: $(cat "$T/diff")"
grep -q '^cis ' "$T/diff" || fail "diff from a plain baseline to a compliance generation lists no CIS result"
"$VIGIL" --config "$CONF" -q check || fail "check after scheduled compliance generations exited $?"
echo "ok: scheduled compliance generations"
