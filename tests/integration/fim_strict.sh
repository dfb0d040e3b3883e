#!/bin/sh
# StrictModes for the state dir (issue 8, defect 9): a state dir, database,
# head or key that others can write, or that is owned by another user, is
# refused with exit 3, naming the path and the fix.
. "$(dirname "$0")/lib.sh"
set -e
need_root
D=$T/tree
S=$T/state
mkdir -p "$D"
echo a >"$D/a"
fim_config
V baseline
expect_rc 0 V check
cp -a "$S" "$T/good"
restore() { rm -rf "$S"; cp -a "$T/good" "$S"; }
refuse() { refuse_cmd "$@"; }

chmod 0777 "$S"
refuse check "refusing state directory '$S': directory writable by group and others \\(mode 0777\\).*chmod go-w '$S'" "a 0777 state dir"
refuse baseline "refusing state directory '$S'" "baseline into a 0777 state dir"
chmod 1777 "$S"
refuse check "refusing state directory '$S'" "a sticky 1777 state dir"
refuse keygen "refusing state directory '$S'" "a key made in a 1777 state dir"
restore
chmod 0664 "$S/vigil.pub"
refuse check "refusing public key '$S/vigil.pub': file writable by group" "a group-writable public key"
restore
chmod 0660 "$S/vigil.key"
refuse baseline "vigil.key' is accessible by group or others" "a group-writable signing key"
restore
chown 12345 "$S/baseline.db"
refuse check "refusing baseline database '$S/baseline.db': owned by uid 12345.*chown root" "a database owned by another uid"
restore
chmod 0666 "$S/baseline.db"
refuse check "refusing baseline database '$S/baseline.db': file writable by group and others" "a world-writable database"
restore
chown 12345 "$S/baseline.head"
refuse check "refusing baseline head '$S/baseline.head': owned by uid 12345" "a head owned by another uid"
restore
chown 12345 "$S/vigil.pub"
refuse check "refusing public key '$S/vigil.pub': owned by uid 12345" "a public key owned by another uid"
restore
# a directory above the state dir that others can write (no sticky bit)
mkdir -p "$T/open"
chmod 0777 "$T/open"
mv "$S" "$T/open/state"
sed -i "s|^state_dir: .*|state_dir: $T/open/state|" "$T/vigil.yaml"
refuse check "refusing directory above the state directory '$T/open'" "a world-writable parent"
chmod 0755 "$T/open"
expect_rc 0 V check
echo "ok: StrictModes"
