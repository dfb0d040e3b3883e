#!/bin/sh
# Shell-in-container detection on a real private dockerd: a shell exec'd in
# a container gives a container-shell event naming the container's id and
# name; a container process reaching the engine's API socket gives
# docker-socket-write.
set -e
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/audit_lib.sh"
. "$top_srcdir/scripts/docker-harness.sh"

# The execve rule keeps processes without a login uid (services, and so
# containers whose dockerd runs as a service); a dockerd started from a
# login session passes its uid on to every container process.
[ "$(cat /proc/self/loginuid)" = 4294967295 ] ||
	skip "this shell has a login uid: the private dockerd's containers would carry it and vigil's execve rule (auid=unset) rightly ignores them"
on_exit "harness_stop || true"
harness_start || skip "cannot start a private dockerd (see above)"
harness_build_images >/dev/null

# The exec rate limit is host-wide: the parallel test suite alone can pass
# 200 execs/s, and a shell over the limit is counted, not examined.  This test
# is about detection, so it runs with the limit off (rate limiting has its
# unit tests in test_audit).
"$VIGIL" check-config --print-default | sed 's/^  exec_rate: [0-9]*$/  exec_rate: 0/' >"$T/vigil.yaml"
grep -q '^  exec_rate: 0$' "$T/vigil.yaml" || fail "could not turn the exec rate limit off"
VIGIL_CONFIG=$T/vigil.yaml
"$V" --config "$VIGIL_CONFIG" -q rules install --execve --socket "$HARNESS_SOCK" 2>/dev/null
auditctl -l | grep -q "path=$HARNESS_SOCK.*key=vigil-docker-sock" ||
	fail "no connect rule for the private socket: $(auditctl -l)"
auditctl -e 1 >/dev/null
start_tail --data-root "$HARNESS_DATA"

# wait_shell_event WORDS: waits (up to ~30 s) for a container-shell event of
# the test's container, exec'ing `sh -c WORDS` in it again every 3 s: under a
# parallel `make check` every exec of the suite (no login uid) matches the
# execve rule, and the kernel's backlog or the multicast socket may drop the
# one record waited for (counted by audit-tail as lost, not an error of
# attribution, which every event the test does see is checked for).
wait_shell_event() {
	i=0
	until json_find "$T/tail.out" "g(e,'event.action') == 'container-shell' and g(e,'container.id') == '$cid'"; do
		i=$((i + 1))
		[ $i -lt 300 ] || break
		[ $((i % 30)) -eq 0 ] && hdocker exec vigil-shell-test sh -c "$1 >/dev/null"
		/bin/true # an audit record closes the previous event
		sleep 0.1
	done
}
cid=$(hdocker run -d --name vigil-shell-test --network none vigil-base:1 sleep 300)
[ ${#cid} -eq 64 ] || fail "docker run gave '$cid'"
hdocker exec vigil-shell-test sh -c 'echo hello >/dev/null'
# a container that reaches the engine's socket (mounted in, the classic
# escape): busybox has no unix-socket client, so it changes the socket's mode
# (what a CIS watch on the socket sees); connect() has its own rule
mode=$(stat -c %a "$HARNESS_SOCK")
hdocker run --rm --network none -v "$HARNESS_SOCK:/var/run/docker.sock" vigil-base:1 \
	chmod "$mode" /var/run/docker.sock

wait_shell_event "echo hello"
stop_tail
json_find "$T/tail.out" "g(e,'event.action') == 'container-shell' and g(e,'container.id') == '$cid' and g(e,'container.name') == 'vigil-shell-test' and g(e,'container.image.name') == 'vigil-base:1' and g(e,'event.severity') == 73 and g(e,'process.name') == 'sh'" ||
	fail "no container-shell event for $cid: $(cat "$T/tail.out") $(cat "$T/tail.err")"
# the first process of the container (sleep) is not a shell
json_find "$T/tail.out" "g(e,'event.action') == 'container-shell' and g(e,'process.name') == 'sleep'" &&
	fail "sleep reported as a shell"
json_find "$T/tail.out" "g(e,'event.action') == 'docker-socket-write' and g(e,'file.path') == '/var/run/docker.sock' and g(e,'process.name') == 'chmod' and len(g(e,'container.id') or '') == 64 and g(e,'event.severity') == 99" ||
	fail "no docker-socket-write event for the chmod in a container: $(cat "$T/tail.out")"

# A reader not told the data root (the daemon is not): the Docker collector
# finds it as dockerd does, here from "data-root" in daemon.json (issue 8: a
# moved data root gave `container ?`).  The daemon.json is the test's own, in
# a private mount namespace, so the host's /etc/docker is untouched.
mkdir -p "$T/etc-docker"
printf '{"data-root": "%s"}\n' "$HARNESS_DATA" >"$T/etc-docker/daemon.json"
printf 'mount --bind "%s" /etc/docker || exit 1\nexec "$@"\n' "$T/etc-docker" >"$T/ns.sh"
mv "$T/tail.out" "$T/tail1.out"
TAIL_WRAP="unshare -m sh $T/ns.sh" start_tail
hdocker exec vigil-shell-test sh -c 'echo moved >/dev/null'
wait_shell_event "echo moved"
stop_tail
json_find "$T/tail.out" "g(e,'event.action') == 'container-shell' and g(e,'container.id') == '$cid' and g(e,'container.name') == 'vigil-shell-test' and g(e,'container.image.name') == 'vigil-base:1'" ||
	fail "moved data root: the shell's container not named: $(cat "$T/tail.out") $(cat "$T/tail.err")"
echo "container-shell event for container $cid (vigil-shell-test), data root given and discovered"
