#!/bin/sh
# vigil's signatures against stock minisign, both ways: vigil signs -> `minisign -V`
# verifies; minisign signs (prehashed and legacy) -> vigil verifies; tampering with
# the file or the trusted comment is refused by both; key problems give clear errors.
set -u
helper=${top_builddir:-.}/tests/helpers/vigil-sign-file
if ! command -v minisign >/dev/null 2>&1; then
	echo "SKIP: minisign is not installed (apt-get install minisign)"
	[ "${CI:-}" = true ] && exit 1 # CI: a missing part fails
	exit 77
fi
if [ ! -x "$helper" ]; then
	echo "FAIL: $helper not built"
	exit 1
fi
tmp=$(mktemp -d /tmp/vigil-minisign-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect RC PATTERN -- command...: exit status and a stderr/stdout pattern
expect() {
	want=$1 pat=$2
	shift 3
	out=$("$@" 2>&1)
	got=$?
	if [ "$got" -eq "$want" ] && printf '%s\n' "$out" | grep -q -- "$pat"; then
		ok "$* -> $got ($pat)"
	else
		bad "$*: exit $got (want $want), output: $out (want /$pat/)"
	fi
}

keys=$tmp/state
expect 0 '' -- "$helper" keygen "$keys"
[ "$(stat -c %a "$keys/vigil.key")" = 600 ] && ok "vigil.key is 0600" || bad "vigil.key mode $(stat -c %a "$keys/vigil.key")"
head -c 1048576 /dev/urandom >"$tmp/archive.tar.zst"
printf 'line\n' >"$tmp/small"

# vigil signs, stock minisign verifies.
expect 0 '' -- "$helper" sign "$keys" "$tmp/archive.tar.zst" "case=IR-7	seal=abc"
expect 0 'Signature and comment signature verified' -- minisign -Vm "$tmp/archive.tar.zst" -p "$keys/vigil.pub"
expect 0 'Trusted comment: case=IR-7	seal=abc' -- minisign -Vm "$tmp/archive.tar.zst" -p "$keys/vigil.pub"
expect 0 'signature verified' -- "$helper" verify "$keys/vigil.pub" "$tmp/archive.tar.zst"
# minisign -H insists on a prehashed signature: ours is one.
expect 0 'Signature and comment signature verified' -- minisign -H -Vm "$tmp/archive.tar.zst" -p "$keys/vigil.pub"
expect 0 '' -- "$helper" sign "$keys" "$tmp/small"
expect 0 'Signature and comment signature verified' -- minisign -Vm "$tmp/small" -p "$keys/vigil.pub"

# Tampered file: both refuse.
cp "$tmp/archive.tar.zst" "$tmp/orig"
# flip one byte (writing a fixed byte over random data is a no-op one time in 256)
b=$(od -An -tu1 -j524288 -N1 "$tmp/archive.tar.zst" | tr -d ' ')
printf "\\$(printf '%03o' $(((b + 1) % 256)))" |
	dd of="$tmp/archive.tar.zst" bs=1 seek=524288 conv=notrunc 2>/dev/null
cmp -s "$tmp/archive.tar.zst" "$tmp/orig" && bad "the byte flip changed nothing"
expect 1 'Signature verification failed' -- minisign -Vm "$tmp/archive.tar.zst" -p "$keys/vigil.pub"
expect 1 'does not verify' -- "$helper" verify "$keys/vigil.pub" "$tmp/archive.tar.zst"
cp "$tmp/orig" "$tmp/archive.tar.zst"
expect 0 'signature verified' -- "$helper" verify "$keys/vigil.pub" "$tmp/archive.tar.zst"

# Tampered trusted comment: both refuse.
cp "$tmp/archive.tar.zst.minisig" "$tmp/sig.orig"
sed -i 's/^trusted comment: case=IR-7/trusted comment: case=IR-8/' "$tmp/archive.tar.zst.minisig"
grep -q 'IR-8' "$tmp/archive.tar.zst.minisig" || bad "sed did not change the comment"
expect 1 'Comment signature verification failed' -- minisign -Vm "$tmp/archive.tar.zst" -p "$keys/vigil.pub"
expect 1 'comment modified' -- "$helper" verify "$keys/vigil.pub" "$tmp/archive.tar.zst"
cp "$tmp/sig.orig" "$tmp/archive.tar.zst.minisig"

# Wrong key: another vigil key pair.
expect 0 '' -- "$helper" keygen "$tmp/other"
expect 1 'key id' -- minisign -Vm "$tmp/archive.tar.zst" -p "$tmp/other/vigil.pub"
expect 1 'was made with key' -- "$helper" verify "$tmp/other/vigil.pub" "$tmp/archive.tar.zst"

# minisign signs, vigil verifies: prehashed (default) and legacy (-l).
if minisign -G -W -p "$tmp/ms.pub" -s "$tmp/ms.key" >/dev/null 2>&1; then
	minisign -S -s "$tmp/ms.key" -m "$tmp/small" -x "$tmp/small.ms" -t "from minisign" >/dev/null 2>&1 ||
		bad "minisign -S failed"
	expect 0 'signature verified' -- "$helper" verify "$tmp/ms.pub" "$tmp/small" "$tmp/small.ms"
	if minisign -S -l -s "$tmp/ms.key" -m "$tmp/small" -x "$tmp/small.legacy" >/dev/null 2>&1; then
		expect 0 'signature verified' -- "$helper" verify "$tmp/ms.pub" "$tmp/small" "$tmp/small.legacy"
		printf 'more\n' >>"$tmp/small"
		expect 1 'does not verify' -- "$helper" verify "$tmp/ms.pub" "$tmp/small" "$tmp/small.legacy"
		expect 1 'does not verify' -- "$helper" verify "$tmp/ms.pub" "$tmp/small" "$tmp/small.ms"
	else
		echo "note: this minisign has no legacy -l mode; legacy check skipped"
	fi
else
	bad "minisign -G -W failed"
fi

# Key problems: clear errors naming the file.
expect 3 'no signing key.*vigil keygen' -- "$helper" sign "$tmp/nokey" "$tmp/small"
expect 3 'already exists' -- "$helper" keygen "$keys"
cp "$keys/vigil.key" "$tmp/key.orig"
chmod 644 "$keys/vigil.key"
expect 3 "vigil.key' is accessible by group or others (mode 0644)" -- "$helper" sign "$keys" "$tmp/small"
chmod 600 "$keys/vigil.key"
sed -i '3s/^../zz/' "$keys/vigil.key"
expect 3 "vigil.key' line 3" -- "$helper" sign "$keys" "$tmp/small"
printf 'garbage\n' >"$keys/vigil.key"
expect 3 "vigil.key' line 1: not a vigil key file" -- "$helper" sign "$keys" "$tmp/small"
if id nobody >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	cp "$tmp/key.orig" "$keys/vigil.key"
	chown nobody "$keys/vigil.key"
	expect 3 "is owned by uid" -- "$helper" sign "$keys" "$tmp/small"
fi
printf 'not a key\n' >"$tmp/bad.pub"
expect 3 "bad.pub' line 1: not a minisign public key" -- "$helper" verify "$tmp/bad.pub" "$tmp/orig"
expect 3 "cannot open public key" -- "$helper" verify "$tmp/missing.pub" "$tmp/orig"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all minisign checks passed"
