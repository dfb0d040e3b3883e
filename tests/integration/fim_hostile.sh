#!/bin/sh
# Hostile trees: names with newlines and non-UTF-8 bytes, 255-byte names, a path
# longer than PATH_MAX, a FIFO (must not hang), a socket, a 4 GiB sparse file, a
# symlink loop, unreadable entries (as an unprivileged user).  Baseline and check
# must complete, report only real changes, and keep names lossless.
. "$(dirname "$0")/lib.sh"
set -e
need_root
command -v python3 >/dev/null || skip "python3 missing"
D=$T/tree
S=$T/state
mkdir -p "$D"
nl='new
line'
printf 'a\n' >"$D/$nl"
printf 'b\n' >"$D/$(printf 'bad\377name')"
long=$(printf 'x%.0s' $(seq 1 255))
printf 'c\n' >"$D/$long"
# deeper than PATH_MAX (4096): 40 levels of 200-byte names, made relative
python3 - "$D" <<'PY'
import os, sys
os.chdir(sys.argv[1])
fd = os.open(".", os.O_RDONLY)
for i in range(40):
    n = ("d%02d" % i) + "y" * 197
    os.mkdir(n, dir_fd=fd)
    nfd = os.open(n, os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
with open(os.open("deepfile", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
    f.write("deep\n")
import socket
s = socket.socket(socket.AF_UNIX)
s.bind(os.path.join(sys.argv[1], "sock"))
PY
mkfifo "$D/fifo"
truncate -s 4G "$D/sparse"
ln -s loop2 "$D/loop1"
ln -s loop1 "$D/loop2"
cat >"$T/vigil.yaml" <<YAML
state_dir: $S
scopes:
  - name: hostile
    paths: [$D]
YAML
V() { "$VIGIL" -q --config "$T/vigil.yaml" "$@"; }
# a FIFO in scope must not hang: bound the run
timeout 300 "$VIGIL" -q --config "$T/vigil.yaml" baseline || fail "baseline failed or hung ($?)"
expect_rc 0 V check
V show "$D/sparse" | grep -q 'size *4294967296' || fail "sparse file size not recorded"
# sha256 of 4 GiB of zeros (head -c 4294967296 /dev/zero | sha256sum)
V show "$D/sparse" | grep -q 'sha256 *8479e43911dc45e89f934fe48d01297e16f51d17aa561d4d1c216b1ae0fcddca' ||
	fail "sparse file digest wrong: $(V show "$D/sparse")"
printf 'changed\n' >>"$D/$nl"
printf 'changed\n' >>"$D/$(printf 'bad\377name')"
python3 - "$D" <<'PY'
import os, sys
os.chdir(sys.argv[1])
p = "/".join(("d%02d" % i) + "y" * 197 for i in range(40)) + "/deepfile"
fd = os.open(".", os.O_RDONLY)
parts = p.split("/")
for n in parts[:-1]:
    nfd = os.open(n, os.O_RDONLY, dir_fd=fd); os.close(fd); fd = nfd
with open(os.open(parts[-1], os.O_WRONLY | os.O_APPEND, dir_fd=fd), "a") as f:
    f.write("more\n")
PY
set +e
V check --json >"$T/out.json"
rc=$?
set -e
[ $rc -eq 1 ] || fail "check exited $rc, expected 1"
python3 - "$T/out.json" "$D" <<'PY'
import base64, json, sys
out, d = sys.argv[1], sys.argv[2].encode()
changed = set()
for line in open(out):
    e = json.loads(line)
    raw = e["vigil"].get("path_base64")
    p = base64.b64decode(raw) if raw else e["file"]["path"].encode()
    if e["event"]["action"] == "file-changed" and "hash" in e["vigil"].get("changes", {}):
        changed.add(p[len(d):])
deep = b"/" + b"/".join(b"d%02d" % i + b"y" * 197 for i in range(40)) + b"/deepfile"
want = {b"/new\nline", b"/bad\xffname", deep}
if changed != want:
    print("content changes reported:", changed, "expected:", want, file=sys.stderr)
    sys.exit(1)
PY
# unreadable entries, as an unprivileged user: reported, the run goes on
U=$T/user
mkdir -p "$U/locked" "$U/open"
echo secret >"$U/locked/f"
echo fine >"$U/open/f"
echo nope >"$U/open/noread"
chmod 0700 "$U/locked"
chmod 0000 "$U/open/noread"
mkdir -p "$T/ustate"
chown nobody "$T/ustate"
chmod 755 "$T"
cat >"$T/user.yaml" <<YAML
state_dir: $T/ustate
scopes:
  - name: user
    paths: [$U]
YAML
command -v setpriv >/dev/null || skip "setpriv missing"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$VIGIL" --config "$T/user.yaml" "$@"; }
set +e
as_nobody baseline >"$T/ub.out" 2>"$T/ub.err"
rc=$?
set -e
[ $rc -eq 4 ] || { cat "$T/ub.err"; fail "unprivileged baseline exited $rc, expected 4 (partial)"; }
grep -q "cannot read '$U/open/noread'" "$T/ub.err" || fail "unreadable file not named: $(cat "$T/ub.err")"
grep -q "$U/locked" "$T/ub.err" || fail "unreadable directory not named"
as_nobody show "$U/open/f" >/dev/null || fail "readable file missing from a partial baseline"
echo "ok: hostile tree handled"
