#!/bin/sh
# qemu-lime.sh [VIGIL]: vigil memdump on a real Debian kernel under qemu.
#
# Boots Debian's kernel (linux-image-amd64) under qemu-system-x86_64 with an
# initramfs holding busybox-static, lime.ko (built by lime-forensics-dkms
# against that kernel's linux-headers), vigil with the shared libraries ldd
# lists and the dynamic loader, and the virtio/ext4 modules; the guest writes
# to a second virtio disk (ext2, read back with debugfs: no mount on the
# host).  One boot per case:
#   lime        --method lime: the module loads, streams over TCP to vigil,
#               LiME's digest equals ours, the module is unloaded
#   kcore       --method kcore (the guest's /proc/kcore)
#   integrity   lockdown=integrity, --method auto: LiME refused, kcore runs
#   confidentiality  lockdown=confidentiality: nothing runs, both reasons
#   integrity-lime   lockdown=integrity, --method lime: the kernel refuses
#               the unsigned module (finit_module EPERM, recorded), no dump
# The host then validates each dump (vigil memdump --validate against the
# guest's own /proc/iomem: addresses move between boots) and checks
# FILE.sha256 and the JSON record.
#   QEMU_LIME_CASES="lime kcore"  only some cases;  QEMU_MEM (default 256M: the
#   initramfs carries vigil's shared libraries, ~46 MB with libarchive's libxml2
#   and ICU, and 160M no longer holds it unpacked: "Initramfs unpacking failed")
# Needs root (apt-get), about 80 s of package installs the first time.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
VIGIL=${1:-${VIGIL:-$top/build/vigil}}
cases=${QEMU_LIME_CASES:-lime kcore integrity confidentiality integrity-lime}
mem=${QEMU_MEM:-256M}
fail() { echo "qemu-lime: FAIL: $*" >&2; exit 1; }
[ -x "$VIGIL" ] || fail "no vigil binary at $VIGIL"

need=""
for p in linux-image-amd64 linux-headers-amd64 lime-forensics-dkms qemu-system-x86 busybox-static \
	e2fsprogs cpio; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || need="$need $p"
done
if [ -n "$need" ]; then
	echo "qemu-lime: installing$need" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
# The newest Debian kernel installed, and LiME built for it.
kver=$(ls /lib/modules | grep -- '-amd64$' | sort -V | tail -n1)
[ -n "$kver" ] || fail "no Debian kernel under /lib/modules"
kmod=/lib/modules/$kver
ko=$kmod/updates/dkms/lime.ko
if [ ! -f "$ko" ]; then
	dkms build lime-forensics/"$(dpkg-query -W -f='${Version}' lime-forensics-dkms | sed 's/-[^-]*$//')" -k "$kver" >/dev/null 2>&1 || true
	dkms autoinstall -k "$kver" >/dev/null 2>&1 || true
fi
[ -f "$ko" ] || fail "lime.ko was not built for $kver (see /var/lib/dkms/lime-forensics/*/build/make.log)"

W=$(mktemp -d "${TMPDIR:-/tmp}/vigil-qemu.XXXXXX")
trap 'rm -rf "$W"' EXIT
R=$W/root
mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev" "$R/out" "$R/tmp" "$R/mods" "$R$kmod/updates/dkms" "$R$kmod/kernel"
cp /bin/busybox "$R/bin/busybox"
cp "$VIGIL" "$R/bin/vigil"
for lib in $(ldd "$VIGIL" | awk '/=>/ { print $3 } /^\t\/lib/ { print $1 }'); do
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done
cp "$ko" "$R$kmod/updates/dkms/lime.ko"
# an in-tree module of that kernel: vigil reads the kernel's vermagic from it
for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
	drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk \
	lib/crc16 crypto/crc32c_generic fs/mbcache fs/jbd2/jbd2 fs/ext4/ext4; do
	cp "$kmod/kernel/$m.ko" "$R/mods/"
done
cp "$kmod/kernel/lib/crc16.ko" "$R$kmod/kernel/"
cat >"$R/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /sys/kernel/security && mount -t securityfs none /sys/kernel/security 2>/dev/null
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk crc16 crc32c_generic mbcache jbd2 ext4; do
	insmod /mods/$m.ko || echo "guest: insmod $m failed"
done
ip link set lo up
i=0; while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
mount -t ext4 /dev/vda /out || echo "guest: mount /dev/vda failed"
mode=$(sed -n 's/.*vigil_mode=\([a-z]*\).*/\1/p' /proc/cmdline)
cat /proc/iomem >/out/iomem
cat /sys/kernel/security/lockdown >/out/lockdown 2>/dev/null
start=$(cat /proc/uptime)
/bin/vigil memdump --method "$mode" --timeout 300 -o /out/mem.lime >/out/log 2>&1
echo $? >/out/rc
echo "$start $(cat /proc/uptime)" >/out/times
grep -c lime /proc/modules >/out/lime_loaded_after || true
cat /proc/sys/kernel/tainted >/out/tainted
echo "guest: memdump --method $mode exited $(cat /out/rc): $(cat /out/log)"
umount /out
sync
poweroff -f
INIT
chmod 755 "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$W/initrd.gz"

# software emulation (TCG) by default: QEMU_ACCEL=kvm where KVM is usable
accel=${QEMU_ACCEL:-tcg}

boot() { # boot CASE MODE APPEND: one guest; its disk read back into $W/CASE
	c=$1 mode=$2 extra=$3
	rm -f "$W/disk.img"
	truncate -s 400M "$W/disk.img"
	mke2fs -q -t ext2 -F "$W/disk.img"
	t0=$(date +%s)
	timeout 900 qemu-system-x86_64 -accel "$accel" -m "$mem" -nic none -display none -no-reboot \
		-serial file:"$W/$c.console" -kernel /boot/vmlinuz-"$kver" -initrd "$W/initrd.gz" \
		-drive file="$W/disk.img",format=raw,if=virtio \
		-append "console=ttyS0 quiet panic=-1 vigil_mode=$mode $extra" </dev/null \
		|| fail "$c: qemu exited $? (console: $(tail -5 "$W/$c.console"))"
	echo "qemu-lime: $c: guest ran $(($(date +%s) - t0)) s"
	mkdir -p "$W/$c"
	for f in rc log iomem lockdown times lime_loaded_after tainted mem.lime mem.lime.sha256 mem.lime.json; do
		debugfs -R "dump /$f $W/$c/$f" "$W/disk.img" >/dev/null 2>&1 || true
	done
	[ -s "$W/$c/rc" ] || fail "$c: the guest wrote no result (console: $(tail -20 "$W/$c.console"))"
	cat "$W/$c/log"
}

json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }

check_dump() { # check_dump CASE METHOD: the dump validates on the host against the guest's iomem
	c=$1
	[ "$(cat "$W/$c/rc")" = 0 ] || fail "$c: memdump exited $(cat "$W/$c/rc"): $(cat "$W/$c/log")"
	"$VIGIL" memdump --validate "$W/$c/mem.lime" --iomem "$W/$c/iomem" >"$W/$c/validate" ||
		fail "$c: the dump does not validate against the guest's iomem"
	head -n1 "$W/$c/validate"
	(cd "$W/$c" && sha256sum -c mem.lime.sha256 >/dev/null) || fail "$c: FILE.sha256 does not match"
	[ "$(json "$W/$c/mem.lime.json" 'd["method"]')" = "$2" ] || fail "$c: method is not $2"
	ram=$(grep -c ': System RAM$' "$W/$c/iomem")
	[ "$(grep -c '^range ' "$W/$c/validate")" -eq "$ram" ] || fail "$c: ranges differ from iomem's $ram"
}

for c in $cases; do
	case $c in
	lime)
		boot lime lime ""
		check_dump lime lime
		[ "$(json "$W/lime/mem.lime.json" 'd["lime"]["lime_sha256"] == d["sha256"]')" = True ] ||
			fail "lime: LiME's digest differs from vigil's"
		[ "$(json "$W/lime/mem.lime.json" 'd["lime"]["loaded"] and d["lime"]["unloaded"]')" = True ] ||
			fail "lime: the module was not loaded and unloaded"
		[ "$(cat "$W/lime/lime_loaded_after")" = 0 ] || fail "lime: the module is still loaded"
		echo "qemu-lime: lime: kernel taint before/after the load: $(json "$W/lime/mem.lime.json" 'd["lime"]["taint_before"] + " -> " + d["lime"]["taint_after"]')"
		echo "qemu-lime: lime: guest times (uptime before/after): $(cat "$W/lime/times"), taint $(cat "$W/lime/tainted")"
		;;
	kcore)
		boot kcore kcore ""
		check_dump kcore kcore
		;;
	integrity)
		boot integrity auto "lockdown=integrity"
		check_dump integrity kcore
		json "$W/integrity/mem.lime.json" 'd["not_run"]["lime"]' | grep -q 'lockdown (integrity)' ||
			fail "integrity: the record does not say LiME was refused for lockdown"
		;;
	confidentiality)
		boot confidentiality auto "lockdown=confidentiality"
		[ "$(cat "$W/confidentiality/rc")" = 3 ] || fail "confidentiality: memdump exited $(cat "$W/confidentiality/rc")"
		[ ! -e "$W/confidentiality/mem.lime" ] || fail "confidentiality: a dump was written"
		json "$W/confidentiality/mem.lime.json" 'd["not_run"]' | grep -q 'confidentiality' ||
			fail "confidentiality: the record does not say why"
		;;
	integrity-lime)
		boot integrity-lime lime "lockdown=integrity"
		[ "$(cat "$W/integrity-lime/rc")" = 3 ] || fail "integrity-lime: memdump exited $(cat "$W/integrity-lime/rc")"
		grep -q 'finit_module.*Operation not permitted' "$W/integrity-lime/log" ||
			fail "integrity-lime: the refusal is not reported"
		[ "$(json "$W/integrity-lime/mem.lime.json" 'd["lime"]["loaded"] or d["lime"]["load_errno"] != 1')" = False ] ||
			fail "integrity-lime: the record does not say the load failed with EPERM"
		;;
	*) fail "unknown case $c" ;;
	esac
	echo "qemu-lime: $c: ok"
done
echo "qemu-lime: all cases passed ($cases)"
