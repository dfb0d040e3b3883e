#!/bin/sh
# Engine discovery from files alone, on a --root tree (no dockerd needed):
#   - the data root a docker.service drop-in or DOCKER_OPTS moves is the one read
#   - dockerd installed while its data root is missing: `baseline` says so
#     (naming dockerd and the data root) instead of storing 0 layers silently
#   - an absolute symlink in the tree never reads the host's file
. "$(dirname "$0")/lib.sh"
set -e
[ -x "$VIGIL" ] || fail "vigil binary not built at $VIGIL"
R=$T/root
mkdir -p "$R/usr/bin" "$R/lib/systemd/system" "$R/etc/systemd/system/docker.service.d" "$R/etc/default" \
	"$R/etc/docker"
printf '#!/bin/sh\n' >"$R/usr/bin/dockerd"
chmod 755 "$R/usr/bin/dockerd"
printf '[Service]\nExecStart=/usr/bin/dockerd -H fd:// $DOCKER_OPTS\n' >"$R/lib/systemd/system/docker.service"
docker_layers_config
V() { "$VIGIL" --root "$R" --config "$T/vigil.yaml" "$@"; }
data_root() { "$VIGIL" --root "$R" images 2>&1 | sed -n "s/.*docker data root '\([^']*\)'.*/\1/p"; }

[ "$(data_root)" = /var/lib/docker ] || fail "default data root: $(data_root)"
V baseline >"$T/out" 2>&1 || { cat "$T/out"; fail "baseline failed"; }
grep -q 'dockerd is installed (/usr/bin/dockerd) but its data root /var/lib/docker does not exist' "$T/out" ||
	{ cat "$T/out"; fail "baseline did not say that dockerd has no data root"; }

echo 'DOCKER_OPTS="--dns 1.1.1.1 -g /srv/opts"' >"$R/etc/default/docker"
[ "$(data_root)" = /srv/opts ] || fail "DOCKER_OPTS data root not read: $(data_root)"
printf '[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --data-root /srv/dropin\n' \
	>"$R/etc/systemd/system/docker.service.d/10-root.conf"
[ "$(data_root)" = /srv/dropin ] || fail "drop-in data root not read: $(data_root)"
V baseline >"$T/out" 2>&1 || { cat "$T/out"; fail "baseline failed"; }
grep -q 'its data root /srv/dropin does not exist' "$T/out" || { cat "$T/out"; fail "warning does not name the moved data root"; }

# daemon.json as an absolute link to a host file: resolved inside the tree
printf '{"data-root": "/host-leak"}' >"$T/host.json"
ln -s "$T/host.json" "$R/etc/docker/daemon.json"
[ "$(data_root)" = /srv/dropin ] || fail "a host file was read through an absolute symlink: $(data_root)"
echo "docker_engine: drop-ins and DOCKER_OPTS read, a missing data root said, no host file read"
