#!/bin/sh
# What `make install` puts on a host (issue 8, defect 12): vigil reads the
# installed $(sysconfdir)/vigil/vigil.yaml when no --config is given (and
# says so in check-config and in the watch-started event), else its embedded
# default; the systemd units name the installed binary and pass
# `systemd-analyze verify`.  The installed paths are used for real, inside a
# private mount namespace, so nothing on the host changes.
. "$(dirname "$0")/lib.sh"
set -e
need_root
: "${top_builddir:?top_builddir must point at the build tree}"
for c in unshare systemd-analyze python3; do
	command -v $c >/dev/null || skip "$c missing (scripts/setup.sh installs it)"
done
I=$T/inst
make -s -C "$top_builddir" install DESTDIR="$I" >"$T/install.log" 2>&1 || { cat "$T/install.log"; fail "make install failed"; }
bin=$(cd "$I" && find . -path '*/bin/vigil' -type f | head -1 | sed 's|^\.||')
conf=$(cd "$I" && find . -path '*/vigil/vigil.yaml' -type f | head -1 | sed 's|^\.||')
unitdir=$(cd "$I" && find . -name vigil.service | head -1 | sed 's|^\.||; s|/vigil.service$||')
[ -n "$bin" ] && [ -n "$conf" ] && [ -n "$unitdir" ] || fail "install incomplete: bin '$bin' conf '$conf' units '$unitdir'"
bindir=${bin%/vigil}
confdir=${conf%/vigil.yaml}
sysconfdir=${confdir%/vigil}
echo "installed: $bin, $conf, units in $unitdir"

# --- the units name the installed binary and verify ---------------------------
for u in vigil.service vigil-baseline.service vigil-sweep.service; do
	grep -q "^ExecStart=$bin " "$I$unitdir/$u" || fail "$u does not run $bin: $(grep ExecStart "$I$unitdir/$u")"
	! grep -n "@[a-z]*@" "$I$unitdir/$u" || fail "$u: unsubstituted variable"
done
grep -q "$conf" "$I$unitdir/vigil.service" || fail "vigil.service does not say which config it reads"
mkdir -p "$T/units"
cp "$I$unitdir"/vigil* "$T/units/"
# In a private mount namespace the installed binary is where the units say.
cat >"$T/verify.sh" <<EOS
set -e
if [ -e "$bin" ]; then
	mount --bind "$VIGIL" "$bin"
elif [ ! -e "$bindir/systemd-analyze" ] && [ ! -e "$bindir/sh" ]; then
	mkdir -p "$bindir"
	mount -t tmpfs vigil-bin "$bindir"
	cp "$VIGIL" "$bin"
else
	echo "cannot put $bin in place" >&2; exit 99
fi
cd "$T/units"
systemd-analyze verify vigil.service vigil-baseline.service vigil-baseline.timer vigil-sweep.service
EOS
set +e
unshare -m sh "$T/verify.sh" >"$T/verify.out" 2>&1
rc=$?
set -e
cat "$T/verify.out"
[ $rc -eq 0 ] || fail "systemd-analyze verify exited $rc"
! grep -i "vigil" "$T/verify.out" || fail "systemd-analyze verify complains about vigil's units"
echo "ok: units verified with $bin"

# --- the installed config is read when it exists ------------------------------
mkdir -p "$T/tree" "$T/etc"
echo a >"$T/tree/a"
cat >"$T/etc/vigil.yaml" <<YAML
state_dir: $T/state
scopes:
  - name: installed
    paths: [$T/tree]
watch:
  control_socket: $T/ctl.sock
  pid_file: $T/vigil.pid
outputs:
  - type: jsonl
    path: $T/events.jsonl
schedule: []
audit:
  enabled: false
YAML
# Where the installed config goes: over its dir, else over sysconfdir when that
# is not /etc, else a dir made for the test (removed at the end).
made=""
if [ ! -d "$confdir" ]; then
	if [ "$sysconfdir" = /etc ] || [ ! -d "$sysconfdir" ]; then
		mkdir -p "$confdir"
		made=$confdir
		on_exit "rmdir '$made'"
	fi
fi
cat >"$T/conf.sh" <<EOS
set -e
if [ -d "$confdir" ]; then
	mount -t tmpfs vigil-etc "$confdir"
else
	mount -t tmpfs vigil-etc "$sysconfdir"
	mkdir -p "$confdir"
fi
"$VIGIL" check-config >"$T/cc-none.out"
cp "$T/etc/vigil.yaml" "$conf"
"$VIGIL" check-config >"$T/cc.out"
"$VIGIL" -q baseline
"$VIGIL" watch 2>"$T/watch.err" &
pid=\$!
for i in \$(seq 100); do
	grep -q watch-started "$T/events.jsonl" 2>/dev/null && break
	sleep 0.1
done
kill -TERM \$pid
wait \$pid
EOS
unshare -m sh "$T/conf.sh" || { cat "$T/watch.err" 2>/dev/null; fail "running with the installed config failed ($?)"; }
grep -qxF "config OK: embedded default (no $conf), 10 scopes" "$T/cc-none.out" ||
	fail "check-config without an installed config: $(cat "$T/cc-none.out")"
grep -qxF "config OK: $conf (the installed config), 1 scope" "$T/cc.out" ||
	fail "check-config with the installed config: $(cat "$T/cc.out")"
[ -f "$T/state/baseline.db" ] || fail "baseline did not use the installed config's state dir"
python3 - "$T/events.jsonl" "$conf" <<'PY' || fail "watch-started does not name the installed config"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
started = [e for e in evs if e["event"]["action"] == "watch-started"]
assert started and started[0]["vigil"]["config"] == sys.argv[2], started
assert sys.argv[2] in started[0]["message"], started[0]["message"]
PY
echo "ok: the installed config is read and named"
