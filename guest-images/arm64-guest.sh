#!/usr/bin/env bash
# The arm64 test guest (issue 67): Debian 12's stock linux-image-cloud-arm64 kernel (a guest
# nobody here wrote; its raw Image, fetched by tools/kvm-in-qemu's debs.sh into
# $KVM_IN_QEMU_CACHE/aarch64/l2, the L2 kernel of the arm64 L1) and an initramfs of our own:
# Debian's busybox-static:arm64, the kernel package's virtio modules with what they depend on
# (modules.dep), and /init = arm64-guest/init.sh, which prints VMMTEST lines and powers off.
# The initramfs is cached as ${VMM_GUEST_CACHE:-/var/cache/vmm-guest}/arm64-guest/
# initramfs-<hash>.cpio.gz, the hash over init.sh, udhcpc.script, this script, debs.sh and the
# two packages' versions: a run with everything cached takes well under a second.
#
# Usage: guest-images/arm64-guest.sh              fetch and build what is missing, print paths
#        guest-images/arm64-guest.sh --print-env  the same as shell assignments, for
#                                                 eval "$(guest-images/arm64-guest.sh --print-env)":
#          ARM64_GUEST_KERNEL (the Image) ARM64_GUEST_INITRAMFS ARM64_GUEST_KERNEL_RELEASE
#          ARM64_GUEST_CMDLINE (console=ttyAMA0 panic=-1 vmmtest=checks)
#          ARM64_VIRTIOFSD ARM64_QSD (arm64 virtiofsd and qemu-storage-daemon, Debian's
#          qemu-system-common:arm64 unpacked beside the kernel: the L1's vhost-user back-ends)
#          ARM64_DPDK (Debian's arm64 dpdk-dev and its libraries unpacked there: dpdk-testpmd,
#          the vhost-user-net back-end; tools/kvm-in-qemu/debs.sh deb_dpdk_arm64)
# Progress and errors go to stderr; stdout carries only the result. Exit status 3 when a
# package cannot be had (no archive and nothing cached: tests skip), 2 for a usage error, 1 for
# any other failure.
# Needs: apt-get (first run), dpkg, busybox, cpio, gzip, flock, and root for mknod (the
# archive's /dev/console: the kernel opens it for /init before devtmpfs is mounted).
#
# The VMMTEST lines (console, one per line; parser: tests/integration/framework/vmmtest.py):
#   VMMTEST <topic> [<name>] [<key>=<value> ...]
# topic is [a-z][a-z0-9_]*; name, when there, is one word without "="; each value is one word
# (possibly empty), "-" when the guest has nothing to say. A line may follow other text on the
# same console line (a kernel message cut in), never precede it. In order:
#   begin v=1 mode=checks|shell|poweroff kernel=RELEASE arch=aarch64 uptime=SECONDS
#   modules loaded=N failed=N failed_names=a,b          (insmod of the load order)
#   cpus count=N online=0-1 present=0-1 possible=0-1    (/proc/cpuinfo, sysfs cpu ranges)
#   cpufeatures fp,asimd,evtstrm,aes,...                 (the first CPU's /proc/cpuinfo Features)
#   mem total_kb=N                                      (MemTotal)
#   psci version=1.1 method=hvc|smc enable_method=psci cpu1_off=0 cpu1_on=1 online=0-1
#                      (cpu1 offlined and onlined again: PSCI CPU_OFF, CPU_ON; "-" with 1 CPU)
#   rtc rtc0 epoch=SECONDS driver=rtc-pl031 dev=DEV hctosys=0|1 sys=SECONDS  | rtc none sys=S
#   virtio virtioN id=0x0002 driver=virtio_blk on=PARENT transport=mmio|pci|other
#                      [msi=N msi_chip=CHIP] (pci: N MSI(-X) interrupts, CHIP /proc/interrupts'
#                      name of the first: the ITS's, the GICv2m's; msi=0: INTx)  | virtio none
#   blk vda size=BYTES ro=0 virtio=virtioN sector0_md5=HEX head=HEX(first 32 bytes) | blk none
#   blkwrite vda status=0 readback=VMMTEST-GUEST-WROTE  (vmmtest.write=1 only)
#   nvme nvme0 serial=S model=M pci=BDF [msi=N msi_chip=CHIP] ns=nvme0n1 size=BYTES  (each
#                      NVMe controller: a passed-through one)
#   nvmewrite nvme0n1 status=0 md5=HEX back_md5=HEX  (vmmtest.write=1: 1 MiB of a pattern
#                      written and read back past the page cache)
#   net eth0 mac=MAC mtu=N driver=virtio_net virtio=virtioN  | net none
#   dhcp eth0 ip=A mask=N router=A dns=A lease=S t0=S t1=S  | dhcp eth0 error=no-lease t0= t1=
#                      (each NIC, unless vmmtest.dhcp=0)
#   fs TAG mount=STATUS marker=WORD data_md5=HEX copy=STATUS wrote=STATUS readback=WORD t0= t1=
#                      (each virtio-fs share of vmmtest.fs=TAG,...: mounted at /mnt/TAG, the
#                      host's marker file's first word and data.bin's MD5 read, data.bin
#                      copied to data-copy.bin and a line written to from-guest, read back)
#   hvc hvc0 write=STATUS  | hvc none    (a line written to virtio-console's first port)
#   rng current=NAME bytes=N             (/dev/hwrng; current=none without an RNG)
#   alarm rtc0 set=STATUS irqs=N irqs_after=N t0=S t1=S  | alarm none
#                      (rtc0's wakealarm set 2 s ahead after the rtc line, its interrupt
#                      count before and after waiting for it, at most ~4 s, after the rng line)
#   shell                                (vmmtest=shell: a shell follows)
#   pause uptime=S | resumed line=TEXT uptime=S  (vmmtest.pause=1: waiting for the host's line)
#   end action=poweroff|reboot uptime=SECONDS
# init.sh's header lists the command-line words (vmmtest=, vmmtest.end=, .dhcp=, .write=, .pause=).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${VMM_GUEST_CACHE:-/var/cache/vmm-guest}"
# The modules /init loads (file names; their dependencies come from modules.dep): virtio over
# mmio and PCI, each virtio device the VMM has on arm64 that this kernel builds as a module
# (blk, net with its failover helpers, console, rng, vsock, balloon, virtio-fs with fuse). ext4,
# PL011, PL031, PSCI and the generic PCI host are built in.
MODULES="virtio_mmio virtio_pci virtio_blk virtio_net virtio_console virtio-rng
vmw_vsock_virtio_transport virtio_balloon virtiofs"

log() { echo "arm64-guest: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}
# A Debian package could not be had (debs.sh said why): not this guest's fault.
no_package() {
	log "error: cannot get $1 (Debian's archive unreachable and nothing cached?)"
	exit 3
}

# fetch_deb, deb_busybox, deb_qemu_common, deb_dpdk_arm64, cloud_arm64_kernel, module_closure, kiq_cache
# shellcheck source=tools/kvm-in-qemu/debs.sh
. "$HERE/../tools/kvm-in-qemu/debs.sh"

usage() {
	sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

MODE=paths
case "${1:-}" in
"") ;;
--print-env) MODE="env" ;;
-h | --help)
	usage
	exit 0
	;;
*)
	usage >&2
	exit 2
	;;
esac

build_initramfs() {
	local out=$1 kroot=$2 kver=$3 busybox=$4 root m
	log "building $out"
	root=$(mktemp -d "$CACHE/work/arm64-guest.XXXXXX")
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,etc,lib/modules/"$kver"}
	install -m 0755 "$busybox" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	install -m 0755 "$HERE/arm64-guest/init.sh" "$root/init"
	install -m 0755 "$HERE/arm64-guest/udhcpc.script" "$root/etc/udhcpc.script"
	module_closure "$kroot/lib/modules/$kver/modules.dep" "$MODULES" \
		>"$root/lib/modules/$kver/load-order"
	for m in $MODULES; do
		grep -q "/$m.ko$" "$root/lib/modules/$kver/load-order" ||
			die "$m.ko is not in $kroot/lib/modules/$kver/modules.dep"
	done
	while read -r m; do
		install -D -m 0644 "$kroot/lib/modules/$kver/$m" "$root/lib/modules/$kver/$m"
	done <"$root/lib/modules/$kver/load-order"
	mknod -m 0600 "$root/dev/console" c 5 1
	mknod -m 0666 "$root/dev/null" c 1 3
	# Reproducible: the same inputs make the same bytes.
	find "$root" -exec touch -h -d @0 {} +
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --reproducible --quiet | gzip -n -9) >"$out.tmp"
	mv "$out.tmp" "$out"
	rm -rf "$root"
}

main() {
	local kcache kernel kroot kver busybox qemu hash out cmdline
	for t in apt-get dpkg busybox cpio gzip flock sha256sum; do
		command -v "$t" >/dev/null || die "missing tool '$t'"
	done
	mkdir -p "$CACHE/work/" || die "cannot create $CACHE (set VMM_GUEST_CACHE or run as root)"
	kcache=$(kiq_cache)/aarch64
	kernel=$(cloud_arm64_kernel "$kcache/l2") || no_package linux-image-cloud-arm64:arm64
	busybox=$(deb_busybox "$kcache" arm64) || no_package busybox-static:arm64
	qemu=$(deb_qemu_common "$kcache" arm64) || no_package qemu-system-common:arm64
	dpdk=$(deb_dpdk_arm64 "$kcache") || no_package dpdk-dev:arm64
	kroot=$kcache/l2/root
	kver=$(ls "$kroot/lib/modules")

	exec 9>"$CACHE/.arm64-guest.lock"
	flock 9
	mkdir -p "$CACHE/arm64-guest"
	hash=$({
		cat "$HERE/arm64-guest/init.sh" "$HERE/arm64-guest/udhcpc.script" "${BASH_SOURCE[0]}" \
			"$HERE/../tools/kvm-in-qemu/debs.sh"
		cat "$kroot/.done"
		find "$kcache" -maxdepth 1 -name 'busybox-static_*.deb' -printf '%f\n'
	} | sha256sum | cut -c1-16)
	out=$CACHE/arm64-guest/initramfs-$kver-$hash.cpio.gz
	[ -f "$out" ] || build_initramfs "$out" "$kroot" "$kver" "$busybox"

	cmdline="console=ttyAMA0 panic=-1 vmmtest=checks"
	if [ "$MODE" = env ]; then
		printf 'ARM64_GUEST_KERNEL=%q\n' "$kernel"
		printf 'ARM64_GUEST_INITRAMFS=%q\n' "$out"
		printf 'ARM64_GUEST_KERNEL_RELEASE=%q\n' "$kver"
		printf 'ARM64_GUEST_CMDLINE=%q\n' "$cmdline"
		printf 'ARM64_VIRTIOFSD=%q\n' "$qemu/usr/lib/qemu/virtiofsd"
		printf 'ARM64_QSD=%q\n' "$qemu/usr/bin/qemu-storage-daemon"
		printf 'ARM64_DPDK=%q\n' "$dpdk"
	else
		echo "kernel:    $kernel"
		echo "initramfs: $out"
		echo "cmdline:   $cmdline"
		echo "back-ends: $qemu/usr/lib/qemu/virtiofsd $qemu/usr/bin/qemu-storage-daemon"
	fi
}

main
