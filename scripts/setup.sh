#!/bin/sh
# Installs what vigil needs to build and test on Debian 12, when it is missing.
# Usage: scripts/setup.sh [build|test]   (default: test, which is a superset)
set -eu
what=${1:-test}
build_pkgs="build-essential autoconf automake pkg-config libgcrypt20-dev libyaml-dev \
libsqlite3-dev libjansson-dev libarchive-dev libaudit-dev libauparse-dev zlib1g-dev \
libcmocka-dev"
# Peers and real parts the tests drive: dockerd, auditd, aide, inotifywait, minisign,
# mactime, rsyslog, bsdtar, busybox (image rootfs), xattr/capability/chattr tools, clang
# and its runtime (libFuzzer, a Recommends that --no-install-recommends would drop),
# valgrind (the daemon tests), strace, systemd-analyze (unit checks), setpriv/flock/
# mount (util-linux), hyperfine (benchmarks).  Under CI=true a test whose part is
# missing fails, so this list is the suite's whole list of parts.
test_pkgs="$build_pkgs docker.io auditd aide inotify-tools minisign sleuthkit rsyslog \
libarchive-tools busybox-static attr libcap2-bin e2fsprogs acl clang libclang-rt-14-dev \
valgrind strace systemd util-linux hyperfine procps python3 file jq sqlite3 time \
linux-headers-amd64 lime-forensics-dkms linux-image-amd64 qemu-system-x86 cpio"
# vigil procs --verify on a 32-bit process with text relocations (procs_textrel32.sh)
test_pkgs="$test_pkgs gcc-multilib"
# vigil packages verify against Debian's debsums, on this host's real packages,
# libpq-dev's pg_config diverted by postgresql-common among them (packages_verify.sh)
test_pkgs="$test_pkgs debsums libpq-dev postgresql-common"
# capture's journal export: journal files made from export text (tests/integration/capture_journal.sh)
test_pkgs="$test_pkgs systemd-journal-remote"
# vigil cis: its HTML report rendered in headless chromium (tests/integration/cis_docker.sh)
test_pkgs="$test_pkgs chromium"
case $what in
build) pkgs=$build_pkgs ;;
test) pkgs=$test_pkgs ;;
*) echo "usage: $0 [build|test]" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "setup: missing Debian packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "setup: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# For the tests, packages are installed without starting their services: the
# tests run private daemons (dockerd, auditd, rsyslogd), and an auditd started
# by the package would hold the audit pid that audit_auditd.sh needs (under
# CI=true it would fail rather than skip).  policy-rc.d is Debian's way.
rc_policy=
if [ "$what" = test ] && [ ! -e /usr/sbin/policy-rc.d ]; then
	rc_policy=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\nexit 101\n' >"$rc_policy"
	chmod 0755 "$rc_policy"
	trap 'rm -f "$rc_policy"' EXIT
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
