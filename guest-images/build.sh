#!/usr/bin/env bash
# Builds the project's default Linux guest from Debian packages only:
#   - a minimal kernel (linux-source-6.1, tinyconfig + kernel.config + patches/)
#     as vmlinux (ELF with the Xen PVH note) and bzImage,
#   - a busybox-static initramfs (uncompressed newc cpio, /init = init.sh),
#   - a 64 MiB ext4 disk image with the same tree plus /VMM-DISK-MARKER.
# Everything is cached under ${VMM_GUEST_CACHE:-/var/cache/vmm-guest}, keyed by a
# hash of its inputs; a run with nothing to rebuild takes well under a second.
#
# Usage: guest-images/build.sh              build what is missing, print the paths
#        guest-images/build.sh --print-env  same, but print shell assignments
#                                           (VMLINUX= BZIMAGE= INITRAMFS= DISK= CMDLINE= ...)
#                                           for eval "$(guest-images/build.sh --print-env)"
# Progress and errors go to stderr; stdout carries only the result.
# Environment: VMM_GUEST_CACHE (cache dir), VMM_GUEST_JOBS (make -j, default 2).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${VMM_GUEST_CACHE:-/var/cache/vmm-guest}"
JOBS="${VMM_GUEST_JOBS:-2}"
SRC_PKG=linux-source-6.1
SRC_TAR=/usr/src/linux-source-6.1.tar.xz
BUSYBOX=/bin/busybox
# Bump when the build steps below change in a way that changes the outputs.
KERNEL_RECIPE=1
ROOTFS_RECIPE=4
# The applets that get a link in /bin or /sbin (stage_rootfs).
PATH_APPLETS="bin/sh bin/mount bin/true bin/false sbin/halt sbin/poweroff sbin/reboot"
DISK_SIZE=64M
DISK_UUID=5d6f0c1e-8a3b-4c57-9e2a-766d6d677374
DISK_MARKER="VMM-DISK-MARKER v1: this is the vmm default guest disk"

log() { echo "guest-images: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

usage() {
	sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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

pkg_version() {
	dpkg-query -W -f='${Version}' "$1" 2>/dev/null || die "package $1 is not installed (run tools/setup.sh)"
}

check_tools() {
	local t
	for t in make gcc bc bison flex patch cpio mkfs.ext4 lz4 readelf sha256sum flock; do
		command -v "$t" >/dev/null || die "missing tool '$t' (run tools/setup.sh)"
	done
	[ -r "$SRC_TAR" ] || die "missing $SRC_TAR (apt-get install $SRC_PKG)"
	[ -x "$BUSYBOX" ] || die "missing $BUSYBOX (apt-get install busybox-static)"
	if readelf -l "$BUSYBOX" | grep -q INTERP; then
		die "$BUSYBOX is dynamically linked; busybox-static is needed"
	fi
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

patch_files() {
	find "$HERE/patches" -maxdepth 1 -name '*.patch' | LC_ALL=C sort
}

# Fails unless every CONFIG_ assignment of the fragment is in the final .config:
# tinyconfig drops options whose dependencies are off without a word.
check_kernel_config() {
	local config="$1" line missing=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) ;;
		*) continue ;;
		esac
		if ! grep -qxF "$line" "$config"; then
			log "kernel.config asks for '$line', final .config has:" \
				"'$(grep -E "^(# )?${line%%=*}[= ]" "$config" || echo absent)'"
			missing=1
		fi
	done <"$HERE/kernel.config"
	if grep -q '^CONFIG_MODULES=y' "$config"; then
		log "CONFIG_MODULES=y: the guest kernel must have everything built in"
		missing=1
	fi
	[ "$missing" = 0 ] || die "required kernel options missing (see above)"
}

# XEN_ELFNOTE_PHYS32_ENTRY (type 18) in a note owned by "Xen": the PVH entry.
check_pvh_note() {
	readelf -n "$1" | awk '/^ *Xen / && /0x00000012/ { found = 1 } END { exit !found }' ||
		die "$1 has no Xen PVH note (XEN_ELFNOTE_PHYS32_ENTRY)"
}

build_kernel() {
	local out="$1" work src blog p start
	work="$CACHE/work/$(basename "$out")"
	src="$work/linux-source-6.1"
	blog="$work/build.log"
	start=$(date +%s)
	log "building kernel into $out (make -j$JOBS, several minutes; log: $blog)"
	rm -rf "$work"
	mkdir -p "$work"
	tar -C "$work" -xf "$SRC_TAR"
	[ -d "$src" ] || die "$SRC_TAR did not unpack to linux-source-6.1/"
	for p in $(patch_files); do
		log "applying $(basename "$p")"
		patch -d "$src" -p1 --forward --batch --quiet <"$p" || die "patch $p failed"
	done
	export ARCH=x86_64
	if ! (
		cd "$src"
		make tinyconfig
		scripts/kconfig/merge_config.sh -n .config "$HERE/kernel.config"
		make -j"$JOBS" bzImage
	) >"$blog" 2>&1; then
		tail -n 40 "$blog" >&2
		die "kernel build failed, full log: $blog"
	fi
	check_kernel_config "$src/.config"
	check_pvh_note "$src/vmlinux"
	rm -rf "$out.tmp"
	mkdir -p "$out.tmp"
	cp "$src/vmlinux" "$src/arch/x86/boot/bzImage" "$src/System.map" "$out.tmp/"
	cp "$src/.config" "$out.tmp/config"
	echo "build time: $(($(date +%s) - start)) s" >>"$blog"
	cp "$blog" "$out.tmp/build.log"
	mv "$out.tmp" "$out"
	rm -rf "$work"
	log "kernel built in $(($(date +%s) - start)) s"
}

# build_tool SRC OUT [CFLAGS...]: a freestanding static guest program (no libc needed).
build_tool() {
	local src="$1" out="$2"
	shift 2
	gcc "$@" -ffreestanding -nostdlib -static -O2 -fno-pic -no-pie -fno-stack-protector \
		-fno-asynchronous-unwind-tables -mgeneral-regs-only -Wall -Wextra -Werror \
		-o "$out" "$src" || die "cannot build $src"
}

# The files of the guest tree that come from this directory, for the rootfs hash.
rootfs_files() {
	{
		find "$HERE/rootfs" "$HERE/checks" -type f
		echo "$HERE/tools/syscall-cost.c"
		echo "$HERE/tools/vsock-echo.c"
		echo "$HERE/tools/mmds-get.c"
		echo "$HERE/tools/freestanding.h"
	} | LC_ALL=C sort
}

# The busybox tree shared by the initramfs and the disk image.
stage_rootfs() {
	local root="$1" d applet
	rm -rf "$root"
	mkdir -p "$root"
	for d in bin sbin usr/bin usr/sbin dev proc sys mnt tmp root etc var/run; do
		mkdir -p "$root/$d"
	done
	install -m 0755 "$BUSYBOX" "$root/bin/busybox"
	# Links only for what is run by its path (the scripts' #!/bin/sh, udhcpc -s /bin/true, the
	# kernel's power-off helpers) or before /proc is mounted (mount): Debian's busybox-static
	# runs its applets by name without them, through /proc/self/exe (its shell, env, xargs,
	# setsid and timeout prefer applets). Each entry of the initramfs costs the emulated kernel
	# ~65 ms to unpack on kvm_pvm: all 268 links took 34 s of a 105 s boot, these few 17 s of
	# 84 (README.md, "Where a boot's time goes").
	for applet in $PATH_APPLETS; do
		ln -s /bin/busybox "$root/$applet"
	done
	install -m 0755 "$HERE/init.sh" "$root/init"
	# Configuration files (/etc/profile, the DHCP hook), the shell library of /init and the
	# checks it runs (vmmguest.run=), the system-call cost tool in 64 and 32 bits, and the vsock
	# client of the vsock check, and the MMDS client that times its requests.
	cp -R "$HERE/rootfs/." "$root/"
	chmod 0755 "$root/etc/udhcpc.script"
	mkdir -p "$root/usr/share/vmmguest/checks"
	install -m 0755 "$HERE"/checks/*.sh "$root/usr/share/vmmguest/checks/"
	build_tool "$HERE/tools/syscall-cost.c" "$root/usr/bin/syscall-cost"
	build_tool "$HERE/tools/syscall-cost.c" "$root/usr/bin/syscall-cost32" -m32
	build_tool "$HERE/tools/vsock-echo.c" "$root/usr/bin/vsock-echo"
	build_tool "$HERE/tools/mmds-get.c" "$root/usr/bin/mmds-get"
	# root=/dev/vda runs /sbin/init: make that the same script.
	rm -f "$root/sbin/init"
	ln -s /init "$root/sbin/init"
	echo "vmmguest" >"$root/etc/hostname"
	# Fixed timestamps keep the cpio archive reproducible.
	find "$root" -exec touch -h -d @0 {} +
}

build_initramfs() {
	local out="$1" root="$CACHE/work/rootfs-$$"
	log "building initramfs $out"
	stage_rootfs "$root"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --reproducible --quiet) >"$out.tmp"
	mv "$out.tmp" "$out"
	rm -rf "$root"
}

build_disk() {
	local out="$1" root="$CACHE/work/diskfs-$$"
	log "building disk image $out"
	stage_rootfs "$root"
	printf '%s\n' "$DISK_MARKER" >"$root/VMM-DISK-MARKER"
	rm -f "$out.tmp"
	# -b 4096: ext4 mounts with DAX only when its block size is the page size (mkfs would give
	# a 64 MiB file system 1 KiB blocks), so the disk can also be a root on virtio-pmem
	mkfs.ext4 -q -F -b 4096 -L vmmguest -U "$DISK_UUID" -E root_owner=0:0 \
		-d "$root" "$out.tmp" "$DISK_SIZE" >&2
	mv "$out.tmp" "$out"
	rm -rf "$root"
}

read_cmdline() {
	tr -s '\n' ' ' <"$1" | sed 's/ *$//'
}

main() {
	check_tools
	mkdir -p "$CACHE/work" || die "cannot create $CACHE (set VMM_GUEST_CACHE or run as root)"
	# One build at a time: parallel test runs wait for the first to fill the cache.
	exec 9>"$CACHE/.lock"
	flock 9

	local khash rhash kdir initramfs disk
	# shellcheck disable=SC2046
	khash=$(hash_inputs "$HERE/kernel.config" $(patch_files) -- \
		"recipe $KERNEL_RECIPE" "$SRC_PKG $(pkg_version "$SRC_PKG")")
	# shellcheck disable=SC2046
	rhash=$(hash_inputs "$HERE/init.sh" $(rootfs_files) -- "recipe $ROOTFS_RECIPE" \
		"busybox-static $(pkg_version busybox-static)" "gcc $(pkg_version gcc)" \
		"$DISK_MARKER" "$DISK_SIZE")
	kdir="$CACHE/kernel-$khash"
	initramfs="$CACHE/initramfs-$rhash.cpio"
	disk="$CACHE/disk-$rhash.ext4"

	if [ ! -f "$kdir/vmlinux" ] || [ ! -f "$kdir/bzImage" ]; then
		build_kernel "$kdir"
	fi
	[ -f "$initramfs" ] || build_initramfs "$initramfs"
	[ -f "$disk" ] || build_disk "$disk"

	local normal emulated cmdline emu=0
	normal=$(read_cmdline "$HERE/cmdline.txt")
	emulated=$(read_cmdline "$HERE/cmdline-emulated-kvm.txt")
	cmdline="$normal"
	if [ -e /sys/module/kvm_pvm ]; then
		emu=1
		cmdline="$emulated"
	fi

	if [ "$MODE" = env ]; then
		printf 'VMLINUX=%q\n' "$kdir/vmlinux"
		printf 'BZIMAGE=%q\n' "$kdir/bzImage"
		printf 'SYSTEM_MAP=%q\n' "$kdir/System.map"
		printf 'KERNEL_CONFIG=%q\n' "$kdir/config"
		printf 'INITRAMFS=%q\n' "$initramfs"
		printf 'DISK=%q\n' "$disk"
		printf 'DISK_MARKER=%q\n' "$DISK_MARKER"
		printf 'EMULATED_KVM=%q\n' "$emu"
		printf 'CMDLINE=%q\n' "$cmdline"
		printf 'CMDLINE_NORMAL=%q\n' "$normal"
		printf 'CMDLINE_EMULATED_KVM=%q\n' "$emulated"
	else
		echo "vmlinux:   $kdir/vmlinux"
		echo "bzImage:   $kdir/bzImage"
		echo "initramfs: $initramfs"
		echo "disk:      $disk (read-only template: copy it before writing)"
		echo "cmdline:   $cmdline"
	fi
}

main
