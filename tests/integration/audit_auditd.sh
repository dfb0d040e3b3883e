#!/bin/sh
# With auditd running: vigil reads the multicast copy beside it (auditd keeps
# the audit pid and its log gets the same records), and `vigil audit-plugin`
# run by auditd as a plugin (records on stdin) names the same process.
# auditd runs from a private config dir, log and plugin dir, and is stopped
# by its pid whatever happens.
set -e
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/audit_lib.sh"

command -v auditd >/dev/null 2>&1 || skip "auditd not installed (Debian package auditd)"
pid_now=$(auditctl -s | awk '$1 == "pid" { print $2 }')
[ "$pid_now" = 0 ] || skip "an audit daemon (pid $pid_now) already runs: not starting a second"

mkdir -p "$T/conf/plugins.d" "$T/scope" "$T/log"
chmod 0750 "$T/conf" "$T/conf/plugins.d"
cat >"$T/conf/auditd.conf" <<EOF
local_events = yes
write_logs = yes
log_file = $T/log/audit.log
log_format = RAW
flush = INCREMENTAL_ASYNC
freq = 1
max_log_file = 8
num_logs = 1
max_log_file_action = IGNORE
space_left = 2
space_left_action = IGNORE
admin_space_left = 1
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
plugin_dir = $T/conf/plugins.d
q_depth = 2000
overflow_action = SYSLOG
end_of_event_timeout = 1
EOF
cat >"$T/plugin.sh" <<EOF
#!/bin/sh
exec "$V" audit-plugin --all-files >"$T/plugin.out" 2>"$T/plugin.err"
EOF
chmod 0750 "$T/plugin.sh"
cat >"$T/conf/plugins.d/vigil.conf" <<EOF
active = yes
direction = out
path = $T/plugin.sh
type = always
format = string
EOF
chmod 0640 "$T/conf/auditd.conf" "$T/conf/plugins.d/vigil.conf"

auditd -n -s nochange -c "$T/conf" >"$T/auditd.out" 2>&1 &
AUDITD=$!
on_exit "kill $AUDITD || true"
on_exit "sleep 0.5 || true"
i=0
until [ "$(auditctl -s | awk '$1 == "pid" { print $2 }')" = "$AUDITD" ]; do
	i=$((i + 1))
	if [ $i -ge 100 ] || ! kill -0 $AUDITD 2>/dev/null; then
		skip "auditd does not start from a private config here: $(cat "$T/auditd.out")"
	fi
	sleep 0.1
done

"$V" -q rules install --path "$T/scope" 2>/dev/null
auditctl -e 1 >/dev/null
start_tail --all-files
/usr/bin/touch "$T/scope/file" &
pid=$!
wait $pid
i=0
until json_find "$T/tail.out" "g(e,'process.pid') == $pid" &&
	grep -q "pid=$pid .*key=\"vigil-scope-cli\"" "$T/log/audit.log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || break
	/bin/true
	sleep 0.1
done
stop_tail
[ "$(auditctl -s | awk '$1 == "pid" { print $2 }')" = "$AUDITD" ] || fail "auditd lost the audit pid"
json_find "$T/tail.out" "g(e,'file.path') == '$T/scope/file' and g(e,'process.pid') == $pid and g(e,'process.executable') == '/usr/bin/touch'" ||
	fail "vigil saw no event beside auditd: $(cat "$T/tail.out")"
grep -q "pid=$pid .*key=\"vigil-scope-cli\"" "$T/log/audit.log" ||
	fail "auditd's log lacks the record: $(tail -5 "$T/log/audit.log")"

# the plugin: auditd closes its stdin on stop, and it flushes and exits
kill $AUDITD
wait $AUDITD 2>/dev/null || true
i=0
while pgrep -f "$T/plugin.sh" >/dev/null 2>&1 || pgrep -f "audit-plugin --all-files" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 50 ] || break
	sleep 0.1
done
json_find "$T/plugin.out" "g(e,'file.path') == '$T/scope/file' and g(e,'process.pid') == $pid and g(e,'process.executable') == '/usr/bin/touch'" ||
	fail "the auditd plugin gave no event for pid $pid: $(cat "$T/plugin.out" "$T/plugin.err" 2>/dev/null)"
echo "with auditd (pid $AUDITD): multicast reader, auditd's log and the plugin all name pid $pid"
