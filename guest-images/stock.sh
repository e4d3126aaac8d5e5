#!/usr/bin/env bash
# Fetches Debian 12's stock cloud kernel (the package linux-image-cloud-amd64 depends on) from
# Debian's archive without installing it on the host, and builds a small initramfs for it:
# busybox-static, the virtio modules of the same package, /init = stock/init.sh.
# Everything is cached under ${VMM_GUEST_CACHE:-/var/cache/vmm-guest}/stock-<package version>/;
# a run with nothing to fetch takes well under a second (after `apt-cache`).
#
# Usage: guest-images/stock.sh              fetch and build what is missing, print the paths
#        guest-images/stock.sh --print-env  same, but print shell assignments
#                                           (STOCK_KERNEL= STOCK_INITRAMFS= STOCK_CMDLINE= ...)
#                                           for eval "$(guest-images/stock.sh --print-env)"
# Progress and errors go to stderr; stdout carries only the result. Exit status 1 when the
# kernel cannot be had (no archive and nothing cached), 2 for a usage error.
# Environment: VMM_GUEST_CACHE (cache dir), STOCK_META (default linux-image-cloud-amd64).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${VMM_GUEST_CACHE:-/var/cache/vmm-guest}"
META="${STOCK_META:-linux-image-cloud-amd64}"
BUSYBOX=/bin/busybox
# Bump when the initramfs recipe below changes in a way that changes its contents.
INITRAMFS_RECIPE=2
# The modules /init loads (dependencies first): virtio over PCI and mmio, and virtio-blk; the
# ACPI power button and the input event devices, on which /init waits for a press; virtio-net
# (with its failover helpers), virtio-vsock and virtio-pmem (with libnvdimm and its pmem block
# driver: /dev/pmem0) and virtio-fs (with FUSE), which PCI hotplug adds (test_linux_stock_hotplug.py;
# Debian builds them as modules: CONFIG_VIRTIO_VSOCKETS=m, CONFIG_VIRTIO_PMEM=m,
# CONFIG_BLK_DEV_PMEM=m, CONFIG_VIRTIO_FS=m); efivarfs (CONFIG_EFIVAR_FS=m), through which /init
# sets and reads a UEFI variable (test_firmware_ovmf.py). No udev here: each is loaded before its
# device comes.
MODULES="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev
drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci drivers/virtio/virtio_mmio
drivers/block/virtio_blk drivers/acpi/button drivers/input/evdev net/core/failover
drivers/net/net_failover drivers/net/virtio_net net/vmw_vsock/vsock
net/vmw_vsock/vmw_vsock_virtio_transport_common net/vmw_vsock/vmw_vsock_virtio_transport
drivers/nvdimm/libnvdimm drivers/nvdimm/nd_btt drivers/nvdimm/nd_pmem drivers/nvdimm/nd_virtio
drivers/nvdimm/virtio_pmem fs/fuse/fuse fs/fuse/virtiofs fs/efivarfs/efivarfs"

log() { echo "stock-kernel: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

usage() {
	sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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

check_tools() {
	local t
	for t in apt-get apt-cache dpkg-deb cpio sha256sum flock; do
		command -v "$t" >/dev/null || die "missing tool '$t'"
	done
	[ -x "$BUSYBOX" ] || die "missing $BUSYBOX (apt-get install busybox-static)"
}

# The versioned kernel package the meta package depends on, and its candidate version:
# "linux-image-6.1.0-56-cloud-amd64 6.1.192-2". Empty when apt does not know the package.
# apt-cache takes seconds on a busy host: its answer is kept until the package lists change.
resolve() {
	local stamp pkg ver memo="$CACHE/.stock-resolved"
	stamp=$(stat -c '%n %Y %s' /var/lib/apt/lists/*_Packages* 2>/dev/null | sha256sum | cut -c1-16)
	if [ -f "$memo" ] && [ "$(head -1 "$memo")" = "$META $stamp" ]; then
		sed -n 2p "$memo"
		return 0
	fi
	pkg=$(apt-cache depends "$META" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1)
	[ -n "$pkg" ] || return 0
	ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p' | head -1)
	[ -n "$ver" ] && [ "$ver" != "(none)" ] || return 0
	printf '%s\n%s\n' "$META $stamp" "$pkg $ver" >"$memo"
	echo "$pkg $ver"
}

# The newest complete stock-* folder in the cache (for a host that cannot reach the archive).
newest_cached() {
	local d best=""
	for d in "$CACHE"/stock-*/; do
		if [ ! -f "$d/package" ] || [ ! -d "$d/root/boot" ]; then continue; fi
		# Versions compare with dpkg's rules.
		if [ -z "$best" ] || dpkg --compare-versions "$(cut -d' ' -f2 "$d/package")" gt \
			"$(cut -d' ' -f2 "$best/package")"; then
			best="${d%/}"
		fi
	done
	echo "$best"
}

# apt-get download PKG=VER into $1/root (dpkg-deb -x), $1/package says what it is.
fetch() {
	local dir="$1" pkg="$2" ver="$3" work deb
	work="$CACHE/work/stock-$$"
	rm -rf "$work" "$dir.tmp"
	mkdir -p "$work" "$dir.tmp"
	log "downloading $pkg $ver from Debian's archive (about 27 MB)"
	# The download runs as root here: tell apt so (its _apt sandbox user cannot write $work).
	if ! (cd "$work" && apt-get -q -o APT::Sandbox::User=root download "$pkg=$ver" >&2); then
		rm -rf "$work" "$dir.tmp"
		return 1
	fi
	deb=$(find "$work" -maxdepth 1 -name '*.deb' | head -1)
	[ -n "$deb" ] || die "apt-get download left no .deb in $work"
	dpkg-deb -x "$deb" "$dir.tmp/root" || die "dpkg-deb -x $deb failed"
	echo "$pkg $ver" >"$dir.tmp/package"
	sha256sum "$deb" | cut -d' ' -f1 >"$dir.tmp/deb.sha256"
	mv "$dir.tmp" "$dir"
	rm -rf "$work"
}

# Hash of the named files' contents plus extra strings given after "--".
hash_inputs() {
	{
		while [ $# -gt 0 ] && [ "$1" != -- ]; do
			printf 'file %s\n' "$(basename "$1")"
			cat "$1"
			shift
		done
		[ $# -gt 0 ] && shift
		printf 'extra %s\n' "$@"
	} | sha256sum | cut -c1-16
}

build_initramfs() {
	local out="$1" kroot="$2" kver="$3" root="$CACHE/work/stock-rootfs-$$" d applet m
	log "building initramfs $out"
	rm -rf "$root"
	for d in bin sbin usr/bin usr/sbin dev proc sys tmp "lib/modules/$kver"; do
		mkdir -p "$root/$d"
	done
	install -m 0755 "$BUSYBOX" "$root/bin/busybox"
	for applet in $("$BUSYBOX" --list-full); do
		[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
	done
	install -m 0755 "$HERE/stock/init.sh" "$root/init"
	for m in $MODULES; do
		[ -f "$kroot/lib/modules/$kver/kernel/$m.ko" ] ||
			die "the package has no $m.ko (lib/modules/$kver/kernel/)"
		install -m 0644 "$kroot/lib/modules/$kver/kernel/$m.ko" "$root/lib/modules/$kver/"
		echo "${m##*/}" >>"$root/lib/modules/$kver/load-order"
	done
	# Device nodes for the console before devtmpfs is mounted (cpio -R 0:0 keeps them root's).
	mknod -m 0600 "$root/dev/console" c 5 1
	mknod -m 0666 "$root/dev/null" c 1 3
	find "$root" -exec touch -h -d @0 {} +
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --reproducible --quiet) >"$out.tmp"
	mv "$out.tmp" "$out"
	rm -rf "$root"
}

main() {
	check_tools
	mkdir -p "$CACHE/work" || die "cannot create $CACHE (set VMM_GUEST_CACHE or run as root)"
	# Not build.sh's lock: a kernel build there must not hold this up.
	exec 9>"$CACHE/.stock.lock"
	flock 9

	local want pkg="" ver="" dir
	want=$(resolve)
	if [ -z "$want" ]; then
		log "apt does not know $META yet: apt-get update"
		apt-get -q update >&2 || log "apt-get update failed"
		want=$(resolve)
	fi
	if [ -n "$want" ]; then
		read -r pkg ver <<<"$want"
		dir="$CACHE/stock-${pkg#linux-image-}_$ver"
		if [ ! -f "$dir/package" ] && ! fetch "$dir" "$pkg" "$ver"; then
			# A stale package list names a version the archive has dropped: update, once.
			log "download failed: apt-get update, then once more"
			apt-get -q update >&2 || log "apt-get update failed"
			want=$(resolve)
			if [ -n "$want" ]; then
				read -r pkg ver <<<"$want"
				dir="$CACHE/stock-${pkg#linux-image-}_$ver"
				[ -f "$dir/package" ] || fetch "$dir" "$pkg" "$ver" || dir=""
			else
				dir=""
			fi
		fi
	else
		dir=""
	fi
	if [ -z "$dir" ] || [ ! -f "$dir/package" ]; then
		dir=$(newest_cached)
		[ -n "$dir" ] || die "cannot get $META's kernel from Debian's archive, and none is cached"
		log "using the cached $(cat "$dir/package"): apt could not name or fetch the current one"
	fi
	read -r pkg ver <"$dir/package"

	local kernel kver config ihash initramfs
	kernel=$(find "$dir/root/boot" -maxdepth 1 -name 'vmlinuz-*' | head -1)
	[ -n "$kernel" ] || die "$pkg has no /boot/vmlinuz-*"
	kver=${kernel##*/vmlinuz-}
	config="$dir/root/boot/config-$kver"
	ihash=$(hash_inputs "$HERE/stock/init.sh" -- "recipe $INITRAMFS_RECIPE" \
		"busybox-static $(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null)" \
		"$pkg $ver" "$MODULES")
	initramfs="$dir/initramfs-$ihash.cpio"
	[ -f "$initramfs" ] || build_initramfs "$initramfs" "$dir/root" "$kver"

	# The default guest's command lines (build.sh). On kvm_pvm this kernel also needs CX16 hidden
	# (clearcpuid 141): SLUB's cmpxchg16b is an emulation failure there. It stops later all the
	# same, at its INT3 self-test (README.md, "Debian's stock kernel").
	local normal emulated cmdline emu=0
	normal=$(tr -s '\n' ' ' <"$HERE/cmdline.txt" | sed 's/ *$//')
	emulated=$(tr -s '\n' ' ' <"$HERE/cmdline-emulated-kvm.txt" | sed 's/ *$//' |
		sed 's/clearcpuid=\([^ ]*\)/clearcpuid=\1,141/')
	cmdline="$normal"
	if [ -e /sys/module/kvm_pvm ]; then
		emu=1
		cmdline="$emulated"
	fi

	if [ "$MODE" = env ]; then
		printf 'STOCK_PACKAGE=%q\n' "$pkg"
		printf 'STOCK_PACKAGE_VERSION=%q\n' "$ver"
		printf 'STOCK_KERNEL_RELEASE=%q\n' "$kver"
		printf 'STOCK_KERNEL=%q\n' "$kernel"
		printf 'STOCK_CONFIG=%q\n' "$config"
		printf 'STOCK_MODULES=%q\n' "$dir/root/lib/modules/$kver"
		printf 'STOCK_INITRAMFS=%q\n' "$initramfs"
		printf 'STOCK_EMULATED_KVM=%q\n' "$emu"
		printf 'STOCK_CMDLINE=%q\n' "$cmdline"
		printf 'STOCK_CMDLINE_NORMAL=%q\n' "$normal"
		printf 'STOCK_CMDLINE_EMULATED_KVM=%q\n' "$emulated"
	else
		echo "package:   $pkg $ver"
		echo "kernel:    $kernel"
		echo "initramfs: $initramfs"
		echo "cmdline:   $cmdline"
	fi
}

main
