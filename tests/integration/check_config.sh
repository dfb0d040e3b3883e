#!/bin/sh
# vigil check-config: the embedded default, --print-default, a good file and
# a bad one (exit 2, file:line:column and key in the message).
set -u
if [ ! -x "${VIGIL:-}" ]; then
	echo "SKIP: the vigil binary is not built in this tree ('$VIGIL')"
	[ "${CI:-}" = true ] && exit 1 # CI: a missing part fails
	exit 77
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$VIGIL" check-config 2>"$tmp/err") || fail "check-config on the embedded default exited $?"
case $out in
"config OK: embedded default (no /"*"/vigil/vigil.yaml), "*" scopes") ;;
"config OK: /"*"/vigil/vigil.yaml (the installed config), "*" scopes") ;;
*) fail "unexpected output: $out" ;;
esac
[ ! -s "$tmp/err" ] || fail "check-config warns about the default: $(cat "$tmp/err")"

"$VIGIL" check-config --print-default >"$tmp/default.yaml" || fail "--print-default exited $?"
cmp "$tmp/default.yaml" "$top_srcdir/etc/vigil.yaml" || fail "--print-default differs from etc/vigil.yaml"

out=$("$VIGIL" --config "$tmp/default.yaml" check-config) || fail "the printed default does not load"
[ "$out" = "config OK: $tmp/default.yaml, 10 scopes" ] || fail "unexpected output: $out"

printf 'scopes:\n  - name: a\n    paths: [/etc]\n    severity: hgih\n' >"$tmp/bad.yaml"
"$VIGIL" --config "$tmp/bad.yaml" check-config >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 2 ] || fail "a bad config exited $rc, expected 2"
grep -q "$tmp/bad.yaml:4:15: key 'scopes\[0\].severity': expected one of low, medium, high, critical, got 'hgih'" "$tmp/out" ||
	fail "unexpected message: $(cat "$tmp/out")"

"$VIGIL" --config "$tmp/missing.yaml" check-config >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 2 ] || fail "a missing config exited $rc, expected 2"
grep -q "config file '$tmp/missing.yaml': No such file or directory" "$tmp/out" ||
	fail "unexpected message: $(cat "$tmp/out")"
# A broad scope before a more specific one (first scope wins): a warning
# naming both; the specific one first: none.  (issue 8, defect 10)
cat >"$tmp/shadow.yaml" <<YAML
state_dir: $tmp/state
scopes:
  - name: broad
    paths: [/etc]
  - name: ssh-keys
    paths: [/etc/ssh]
    severity: critical
  - name: bins
    paths: ["/usr/bin/*"]
    depth: 0
  - name: docker
    paths: [/usr/bin/docker]
  - name: opt
    paths: [/opt]
    exclude: [/opt/app]
  - name: app
    paths: ["/opt/app/*.conf"]
YAML
"$VIGIL" --config "$tmp/shadow.yaml" check-config >"$tmp/out" 2>"$tmp/err" || fail "check-config with a shadowed scope exited $?"
grep -q "warning: scope 'broad' (path '/etc') shadows the later scope 'ssh-keys' (path '/etc/ssh')" "$tmp/err" ||
	fail "no shadow warning naming both scopes: $(cat "$tmp/err")"
grep -q "warning: scope 'bins' (path '/usr/bin/\*') shadows the later scope 'docker' (path '/usr/bin/docker')" "$tmp/err" ||
	fail "no shadow warning for a glob path: $(cat "$tmp/err")"
grep -q "'opt'" "$tmp/err" && fail "an excluded path is not shadowed: $(cat "$tmp/err")"
[ "$(grep -c warning "$tmp/err")" -eq 2 ] || fail "expected exactly 2 warnings: $(cat "$tmp/err")"
cat >"$tmp/ordered.yaml" <<YAML
state_dir: $tmp/state
scopes:
  - name: ssh-keys
    paths: [/etc/ssh]
  - name: broad
    paths: [/etc]
YAML
"$VIGIL" --config "$tmp/ordered.yaml" check-config >"$tmp/out" 2>"$tmp/err" || fail "exit $?"
[ ! -s "$tmp/err" ] || fail "a specific scope first needs no warning: $(cat "$tmp/err")"
# The state dir inside a scope: said, and left out of the walk.
cat >"$tmp/inside.yaml" <<YAML
state_dir: /etc/vigil-state
scopes:
  - name: broad
    paths: [/etc]
YAML
"$VIGIL" --config "$tmp/inside.yaml" check-config >"$tmp/out" 2>"$tmp/err" || fail "exit $?"
grep -q "state dir '/etc/vigil-state' is inside scope 'broad'" "$tmp/err" || fail "state dir inside a scope not said: $(cat "$tmp/err")"
echo "check-config: ok"
