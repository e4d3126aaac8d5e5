#!/bin/busybox sh
# shellcheck shell=dash disable=SC2013 # words of one-line files
# PID 1 of the L1 VM that tools/kvm-in-qemu/run.sh boots (copied into its initramfs as /init).
# Only busybox and the modules for virtio-9p and overlayfs are in the initramfs. It mounts the
# host's root read-only (9p tag hostroot) under a tmpfs overlay, the run's folder (tag result) at
# /kvm-in-qemu, the writable shares (tags rw0, rw1 ...) at their host paths and the extracted
# kernel package's modules at /lib/modules, then switches to that root and runs stage2.sh.
# An L1 of another architecture than the host (kiq.l1bin=DIR: run.sh --arch aarch64 on x86) cannot
# run the host's programs, bash included: this busybox, L1's own, goes into the overlay at DIR
# with a link per applet, and also becomes /bin/sh (scripts and system() calls of L1's programs),
# and runs stage2.sh.
/bin/busybox --install -s /bin
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

say() { echo "kvm-in-qemu: $*" >/dev/console; }
fail() {
	say "$*"
	poweroff -f
}

# Dependencies first: the order of /lib/modules/early.list is modules.dep's, resolved by run.sh.
for m in $(cat /lib/modules/early.list); do
	insmod "/lib/modules/$m" || fail "cannot load $m"
done

mkdir -p /lower /upper /newroot
# msize: 9p's default of 8 KiB makes every read a round trip per page.
opts=trans=virtio,version=9p2000.L,msize=524288
mount -t 9p -o "$opts,ro,cache=loose" hostroot /lower || fail "cannot mount the host's root (9p)"
mount -t tmpfs -o size=75% tmpfs /upper || fail "cannot mount the overlay's tmpfs"
mkdir -p /upper/upper /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/upper,workdir=/upper/work overlay /newroot ||
	fail "cannot mount the overlay root"

mkdir -p /newroot/kvm-in-qemu
mount -t 9p -o "$opts,cache=none" result /newroot/kvm-in-qemu || fail "cannot mount the result share"

# run.sh names, on the kernel command line, the extracted kernel package's modules folder and
# the second stage (both host paths, seen through the overlay).
for w in $(cat /proc/cmdline); do
	case $w in
	kiq.modules=*) modules=${w#kiq.modules=} ;;
	kiq.stage2=*) stage2=${w#kiq.stage2=} ;;
	kiq.rw=*) rw=${w#kiq.rw=} ;;
	kiq.l1bin=*) l1bin=${w#kiq.l1bin=} ;;
	esac
done

# The writable shares (run.sh --rw DIR, tags rw0, rw1 ...), each at its host path.
# cache=mmap: the tests map files there (guest images, snapshots) with MAP_SHARED.
i=0
for dir in $(echo "$rw" | tr , ' '); do
	mkdir -p "/newroot$dir"
	mount -t 9p -o "$opts,cache=mmap" "rw$i" "/newroot$dir" || fail "cannot mount $dir (9p)"
	i=$((i + 1))
done
kver=$(uname -r)
mkdir -p "/newroot/lib/modules/$kver"
mount --bind "/newroot$modules" "/newroot/lib/modules/$kver" || fail "cannot bind $modules"
[ -x "/newroot$stage2" ] || fail "no second stage $stage2"

shell=
if [ -n "${l1bin:-}" ]; then
	mkdir -p "/newroot$l1bin"
	cp /bin/busybox "/newroot$l1bin/busybox" || fail "cannot copy busybox into $l1bin"
	for a in $(busybox --list); do ln -s busybox "/newroot$l1bin/$a" 2>/dev/null; done
	ln -sf "$l1bin/busybox" /newroot/bin/sh
	shell="$l1bin/busybox sh"
fi

for d in proc sys dev; do mount --move "/$d" "/newroot/$d"; done
# shellcheck disable=SC2086 # $shell: busybox and its applet, or nothing (the script's #!)
exec switch_root /newroot $shell "$stage2"
