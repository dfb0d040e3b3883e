# shellcheck shell=sh
# qemu-guest.sh: sourced by qemu-lime.sh and bench-memdump.sh (not run).
#
# Debian's kernel (linux-image-amd64) under qemu-system-x86_64 with an
# initramfs holding busybox-static, lime.ko (built by lime-forensics-dkms
# against that kernel's linux-headers), vigil with the shared libraries ldd
# lists and the dynamic loader, and the virtio/ext4 modules.  The guest's
# /init mounts what it needs, brings lo up, mounts a second virtio disk (ext4
# on an ext2 image) at /out, runs the caller's /payload and powers off; the
# host reads /out back with debugfs (no mount on the host).
#
# Use: set VIGIL, source this file, then
#   qemu_setup                  packages, kernel ($kver, $kmod), lime.ko ($ko), $W (removed at exit)
#   qemu_initrd PAYLOAD         the initramfs with PAYLOAD (a busybox sh script) as /payload
#   qemu_boot NAME APPEND FILES one guest (kernel command line += APPEND); the listed files of
#                               /out land in $W/NAME; QEMU_DISK (default 400M) sizes /out
# QEMU_MEM (default 256M: the initramfs carries vigil's shared libraries, ~46 MB
# with libarchive's libxml2 and ICU, and 160M no longer holds it unpacked),
# QEMU_ACCEL (default tcg; kvm where usable), QEMU_SMP (default 1: virtual CPUs;
# under TCG each is a host thread).  Needs root (apt-get), about
# 80 s of package installs the first time.
qemu_fail() { echo "qemu: FAIL: $*" >&2; exit 1; }

qemu_setup() {
	[ -x "$VIGIL" ] || qemu_fail "no vigil binary at $VIGIL"
	need=""
	for p in linux-image-amd64 linux-headers-amd64 lime-forensics-dkms qemu-system-x86 busybox-static \
		e2fsprogs cpio; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || need="$need $p"
	done
	if [ -n "$need" ]; then
		echo "qemu: installing$need" >&2
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
	fi
	# The newest Debian kernel installed, and LiME built for it.
	# shellcheck disable=SC2010
	kver=$(ls /lib/modules | grep -- '-amd64$' | sort -V | tail -n1)
	[ -n "$kver" ] || qemu_fail "no Debian kernel under /lib/modules"
	kmod=/lib/modules/$kver
	ko=$kmod/updates/dkms/lime.ko
	if [ ! -f "$ko" ]; then
		dkms build lime-forensics/"$(dpkg-query -W -f='${Version}' lime-forensics-dkms | sed 's/-[^-]*$//')" -k "$kver" >/dev/null 2>&1 || true
		dkms autoinstall -k "$kver" >/dev/null 2>&1 || true
	fi
	[ -f "$ko" ] || qemu_fail "lime.ko was not built for $kver (see /var/lib/dkms/lime-forensics/*/build/make.log)"
	W=$(mktemp -d "${TMPDIR:-/tmp}/vigil-qemu.XXXXXX")
	trap 'rm -rf "$W"' EXIT
}

qemu_initrd() {
	R=$W/root
	rm -rf "$R"
	mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev" "$R/out" "$R/tmp" "$R/mods" "$R$kmod/updates/dkms" "$R$kmod/kernel"
	cp /bin/busybox "$R/bin/busybox"
	cp "$VIGIL" "$R/bin/vigil"
	for lib in $(ldd "$VIGIL" | awk '/=>/ { print $3 } /^\t\/lib/ { print $1 }'); do
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
	cp "$ko" "$R$kmod/updates/dkms/lime.ko"
	for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
		drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk \
		lib/crc16 crypto/crc32c_generic fs/mbcache fs/jbd2/jbd2 fs/ext4/ext4; do
		cp "$kmod/kernel/$m.ko" "$R/mods/"
	done
	# an in-tree module of that kernel: vigil reads the kernel's vermagic from it
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
cat /proc/iomem >/out/iomem
sh /payload
umount /out
sync
poweroff -f
INIT
	chmod 755 "$R/init"
	cp "$1" "$R/payload"
	(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$W/initrd.gz"
}

qemu_boot() { # qemu_boot NAME APPEND FILES...
	c=$1 extra=$2
	shift 2
	rm -f "$W/disk.img"
	truncate -s "${QEMU_DISK:-400M}" "$W/disk.img"
	mke2fs -q -t ext2 -F "$W/disk.img"
	t0=$(date +%s)
	timeout 900 qemu-system-x86_64 -accel "${QEMU_ACCEL:-tcg}" -m "${QEMU_MEM:-256M}" -smp "${QEMU_SMP:-1}" \
		-nic none -display none \
		-no-reboot -serial file:"$W/$c.console" -kernel /boot/vmlinuz-"$kver" -initrd "$W/initrd.gz" \
		-drive file="$W/disk.img",format=raw,if=virtio \
		-append "console=ttyS0 quiet panic=-1 $extra" </dev/null \
		|| qemu_fail "$c: qemu exited $? (console: $(tail -5 "$W/$c.console"))"
	echo "qemu: $c: guest ran $(($(date +%s) - t0)) s"
	mkdir -p "$W/$c"
	for f in iomem "$@"; do
		debugfs -R "dump /$f $W/$c/$f" "$W/disk.img" >/dev/null 2>&1 || true
	done
}
