# lib.sh - helpers for vigil's shell integration tests (sourced).
# Every test gets a private work dir under $TMPDIR, removed on exit;
# tests register cleanups with `on_exit CMD` (run in reverse order, always).
set -u
: "${VIGIL:?VIGIL must point at the built binary}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-test.XXXXXX")
_cleanups=""
on_exit() { _cleanups="$*
$_cleanups"; }
_run_cleanups() {
	rc=$?
	set +e
	printf '%s\n' "$_cleanups" | while IFS= read -r c; do
		[ -n "$c" ] && eval "$c" >/dev/null 2>&1
	done
	rm -rf "$T"
	exit $rc
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }
# skip REASON: a part this test needs is missing.  Under CI=true that is a
# failure (setup.sh installs every part, so a skip there hides a test that
# never ran); elsewhere automake counts it as SKIP.
skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: CI=true and a part is missing: $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}
need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }
# expect_rc N cmd...: runs cmd, fails the test unless it exits N.
expect_rc() {
	want=$1; shift
	set +e; "$@"; got=$?; set -e
	[ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want"
}
# flip_byte FILE OFFSET: changes one byte in place, always (writing a fixed
# byte over random data would be a no-op one time in 256).
flip_byte() {
	_b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
	[ -n "$_b" ] || fail "flip_byte: '$1' has no byte at offset $2"
	printf "\\$(printf '%03o' $(((_b + 1) % 256)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
# fim_config [YAML]: $T/vigil.yaml with the state dir $S and one scope over $D
# (YAML: more keys of that scope, indented by 4); V runs vigil -q with it.
fim_config() {
	printf 'state_dir: %s\nscopes:\n  - name: t\n    paths: [%s]\n%s' "$S" "$D" "${1:+$1
}" >"$T/vigil.yaml"
}
V() { "$VIGIL" -q --config "$T/vigil.yaml" "$@"; }
# refuse_cmd CMD PATTERN WHAT: `V CMD` exits 3 with a message matching PATTERN
# (extended regex, any case); WHAT names the case.
refuse_cmd() {
	set +e
	V "$1" >"$T/out" 2>"$T/err"
	_rc=$?
	set -e
	[ $_rc -eq 3 ] || fail "$3: $1 exited $_rc, expected 3 ($(cat "$T/err"))"
	grep -qiE "$2" "$T/err" || fail "$3: message '$(cat "$T/err")' does not match /$2/"
	echo "ok: $3 refused: $(head -c 200 "$T/err")"
}
# docker_test_needs [PROGRAM...]: the start of a test on a private dockerd:
# set -e from here on (the cleanups run with it off: their loop ends on a
# false test, which -e in the trap would turn into exit 1, keeping the
# status), root, the vigil binary and each PROGRAM on the PATH.
docker_test_needs() {
	trap 'rc_=$?; set +e; (exit $rc_); _run_cleanups' EXIT
	set -e
	need_root
	[ -x "$VIGIL" ] || skip "vigil binary not built at $VIGIL"
	for _p in "$@"; do
		command -v "$_p" >/dev/null || skip "$_p missing (scripts/setup.sh installs it)"
	done
}
# docker_up [build]: a private dockerd (scripts/docker-harness.sh: hdocker,
# HARNESS_DIR, ...), stopped by its pid file on exit; DATA is its data root;
# with build, the test images (vigil-base:1, ...) built in it too.
docker_up() {
	. "$top_srcdir/scripts/docker-harness.sh"
	on_exit harness_stop
	harness_start || skip "cannot start a private dockerd (see the message above)"
	if [ "${1:-}" = build ]; then
		harness_build_images || fail "building the test images failed: $(tail -n 5 "$HARNESS_DIR/dockerd.log")"
	fi
	DATA=$HARNESS_DATA
}
# docker_layers_config: $T/vigil.yaml with the state dir $T/state and one
# scope, docker-layers (auto: the Docker image layers found), critical.
docker_layers_config() {
	printf 'state_dir: %s\nscopes:\n  - name: docker-layers\n    auto: docker-layers\n    severity: critical\n' \
		"$T/state" >"$T/vigil.yaml"
}
