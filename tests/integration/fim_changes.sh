#!/bin/sh
# One change of each kind after a baseline; `vigil check --json` must report
# exactly those paths and attributes, and nothing else.
. "$(dirname "$0")/lib.sh"
set -e
need_root
command -v setcap >/dev/null || skip "setcap (libcap2-bin) missing"
command -v setfattr >/dev/null || skip "setfattr (attr) missing"
command -v python3 >/dev/null || skip "python3 missing"
D=$T/tree
S=$T/state
mkdir -p "$D/sub" "$D/links"
for f in content chmod chown touch rename delete xattr cap immutable hardlink; do
	echo "data of $f" >"$D/$f"
done
echo one >"$D/links/one"; echo two >"$D/links/two"
ln -s one "$D/links/cur"
# Directories whose mtime a change will move: keep them apart so the
# expectation below can name them exactly.
touch -d '2020-01-01 00:00:00' "$D/sub" "$D/links"
chattr -i "$D/immutable" 2>/dev/null || true
on_exit "chattr -i '$D/immutable'"
cat >"$T/vigil.yaml" <<YAML
state_dir: $S
scopes:
  - name: test
    paths: [$D]
    attributes: [all]
    severity: high
YAML
V() { "$VIGIL" -q --config "$T/vigil.yaml" "$@"; }
V baseline
expect_rc 0 V check

# one change of each kind
echo more >>"$D/content"
chmod 0600 "$D/chmod"
chown 1234:4321 "$D/chown"
touch -m -d '2021-02-03 04:05:06' "$D/touch"
mv "$D/rename" "$D/sub/renamed"
rm "$D/delete"
echo new >"$D/sub/added"
ln -sfn two "$D/links/cur"
ln "$D/hardlink" "$D/sub/hardlink2"
setfattr -n user.test -v hello "$D/xattr"
setcap cap_net_raw+ep "$D/cap"
chattr +i "$D/immutable" || skip "chattr +i not supported on $(df -T "$D" | tail -1)"

set +e
V check --json >"$T/out.json"
rc=$?
set -e
[ $rc -eq 1 ] || fail "check exited $rc, expected 1"
python3 - "$T/out.json" "$D" <<'PY'
import json, sys
out, d = sys.argv[1], sys.argv[2]
got = {}
for line in open(out):
    e = json.loads(line)
    p = e["file"]["path"]
    assert p.startswith(d), p
    got[p[len(d):] or "/"] = (e["event"]["action"], sorted(e.get("vigil", {}).get("changes", {})))
C = "file-changed"
# ctime moves with every inode change; a directory's mtime with its entries.
exp = {
    "/content": (C, ["ctime", "hash", "mtime", "size"]),
    "/chmod": (C, ["ctime", "mode"]),
    "/chown": (C, ["ctime", "gid", "uid"]),
    "/touch": (C, ["ctime", "mtime"]),
    "/rename": ("file-removed", []),
    "/sub/renamed": ("file-added", []),
    "/delete": ("file-removed", []),
    "/sub/added": ("file-added", []),
    "/links/cur": (C, ["ctime", "inode", "mtime", "target"]),
    "/hardlink": (C, ["ctime", "nlink"]),
    "/sub/hardlink2": ("file-added", []),
    "/xattr": (C, ["ctime", "xattrs"]),
    "/cap": (C, ["ctime", "xattrs"]),
    "/immutable": (C, ["ctime", "flags"]),
    "/": (C, ["ctime", "mtime"]),          # rename, delete
    "/sub": (C, ["ctime", "mtime"]),       # added, renamed, hardlink2
    "/links": (C, ["ctime", "mtime"]),     # cur replaced
}
bad = []
for k in sorted(set(exp) | set(got)):
    if exp.get(k) != got.get(k):
        bad.append(f"{k}: expected {exp.get(k)}, got {got.get(k)}")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
# the capability is visible as such in the readable report
V check | grep -q "^changed: $D/cap$" || fail "readable report lacks the cap change"
# accept takes the current state: afterwards only untouched paths remain clean
V accept "$D"
expect_rc 0 V check
echo "ok: every change kind reported exactly"
