#!/bin/sh
# vigil's audit rules in the real kernel: print is what install loads, status
# sees them, remove takes away exactly vigil's rules and leaves a foreign
# rule loaded before it; then a file change from a known process is named
# by pid and executable.  Runs without auditd (see audit_auditd.sh for with).
set -e
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/audit_lib.sh"

mkdir -p "$T/scope" "$T/foreign"
# Someone else's rules, loaded before vigil's.
auditctl -w "$T/foreign" -p wa -k someone-else
on_exit "auditctl -W '$T/foreign' -p wa -k someone-else || true"
auditctl -a always,exit -F arch=b64 -S fchownat -F key=someone-else-2
on_exit "auditctl -d always,exit -F arch=b64 -S fchownat -F key=someone-else-2 || true"
ours() { grep -e '-k vigil-' -e 'key=vigil-'; }
auditctl -l | grep -v -e '-k vigil-' -e 'key=vigil-' >"$T/foreign.before"
grep -q someone-else-2 "$T/foreign.before" || fail "could not load the foreign rules"

# print: a rules.d file auditctl itself loads; status then finds every rule.
"$V" rules print --execve --path "$T/scope" >"$T/vigil.rules"
grep -q "^-a always,exit -F dir=$T/scope -F perm=wa -F key=vigil-scope-cli$" "$T/vigil.rules" ||
	fail "no dir= rule for the scope: $(cat "$T/vigil.rules")"
grep -q 'key=vigil-exec$' "$T/vigil.rules" || fail "no execve rule"
grep -v '^#' "$T/vigil.rules" | grep -v '^$' | grep -v 'key=vigil-' && fail "a rule without a vigil- key"
auditctl -R "$T/vigil.rules" >/dev/null || fail "auditctl -R rejected the printed rules"
n=$(grep -c '^-a' "$T/vigil.rules")
"$V" rules status --execve --path "$T/scope" >"$T/status" || true
grep -q "^$n of $n vigil rules loaded, 0 stale" "$T/status" || fail "status after auditctl -R: $(cat "$T/status")"

# remove: only vigil's; the foreign rules are all still there, in order.
"$V" rules remove >"$T/remove"
grep -q "^removed $n vigil rules" "$T/remove" || fail "remove: $(cat "$T/remove")"
auditctl -l | ours | wc -l >"$T/left"
[ "$(cat "$T/left")" -eq 0 ] || fail "vigil rules left after remove: $(auditctl -l)"
auditctl -l >"$T/foreign.after"
cmp -s "$T/foreign.before" "$T/foreign.after" ||
	fail "foreign rules changed: before $(cat "$T/foreign.before") after $(cat "$T/foreign.after")"

# install loads the same set; a second install finds it all present.
"$V" rules install --execve --path "$T/scope" >"$T/install" 2>"$T/install.err"
grep -q "^loaded $n vigil rules, 0 already loaded, 0 failed" "$T/install" || fail "install: $(cat "$T/install")"
grep -q 'audit is disabled' "$T/install.err" || [ "$AUDIT_WAS" = 1 ] ||
	fail "install did not say that audit is disabled"
"$V" rules install --execve --path "$T/scope" >"$T/install2" 2>/dev/null
grep -q "^loaded 0 vigil rules, $n already loaded" "$T/install2" || fail "reinstall: $(cat "$T/install2")"
# Without --execve, the exec rules loaded (as a daemon whose config asks for
# them does) are another configuration's, not stale, and read as auditctl
# reads them: each arch's syscall table, arch=b32/b64, never a raw number.
"$V" rules status --no-execve --path "$T/scope" >"$T/status-noexec" || true
grep -q '^stale' "$T/status-noexec" && fail "exec rules listed as stale: $(cat "$T/status-noexec")"
grep -q '^other .* -S execve,execveat -F arch=b64 .*key=vigil-exec' "$T/status-noexec" ||
	fail "b64 exec rule not listed as another configuration's: $(cat "$T/status-noexec")"
if [ "$(uname -m)" = x86_64 ]; then
	grep -q '^other .* -S execve,execveat -F arch=b32 .*key=vigil-exec' "$T/status-noexec" ||
		fail "b32 exec rule misread: $(cat "$T/status-noexec")"
fi
grep -E 'munmap|,\?|arch=[0-9]' "$T/status-noexec" && fail "garbled rule text: $(cat "$T/status-noexec")"
# a stale rule (an old vigil key) shows in status and goes with remove
auditctl -a always,exit -F path="$T/scope" -F perm=r -F key=vigil-old
"$V" rules status --execve --path "$T/scope" >"$T/status2" || true
grep -q "^stale .*key=vigil-old" "$T/status2" || fail "stale rule not reported: $(cat "$T/status2")"
# a silencing rule is reported
auditctl -a never,task
on_exit "auditctl -d never,task || true"
"$V" rules status --execve --path "$T/scope" >"$T/status3" || true
grep -q "^warning: '-a never,task' silences" "$T/status3" || fail "never,task not reported: $(cat "$T/status3")"
auditctl -d never,task

# who-data: enable audit (restored on exit), change a file from a known
# process, and the audit event names its pid and executable.
auditctl -e 1 >/dev/null
start_tail --all-files
/usr/bin/touch "$T/scope/file" &
pid=$!
wait $pid
# the event is emitted once the next record closes it; give it one
/usr/bin/true
i=0
until json_find "$T/tail.out" "g(e,'file.path') == '$T/scope/file' and g(e,'process.pid') == $pid"; do
	i=$((i + 1))
	[ $i -lt 100 ] || break
	sleep 0.1
done
stop_tail
json_find "$T/tail.out" "g(e,'event.action') == 'audit-file-access' and g(e,'file.path') == '$T/scope/file' and g(e,'process.pid') == $pid and g(e,'process.executable') == '/usr/bin/touch' and g(e,'vigil.audit_key') == 'vigil-scope-cli' and g(e,'user.id') == '0'" ||
	fail "no audit event naming pid $pid and /usr/bin/touch: $(cat "$T/tail.out")"

"$V" rules remove >/dev/null
auditctl -l >"$T/foreign.final"
cmp -s "$T/foreign.before" "$T/foreign.final" || fail "foreign rules changed at the end"
echo "audit rules: print/install/status/remove keep foreign rules; who-data names pid $pid"
