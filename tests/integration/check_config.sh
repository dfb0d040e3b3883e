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

out=$("$VIGIL" check-config) || fail "check-config on the embedded default exited $?"
case $out in
"config OK: (embedded default), "*" scopes") ;;
*) fail "unexpected output: $out" ;;
esac

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
echo "check-config: ok"
