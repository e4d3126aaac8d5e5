#!/usr/bin/env bash
# Builds the project's default Linux guest from Debian packages only:
#   - a minimal kernel (linux-source-6.1, tinyconfig + kernel.config + patches/)
#     as vmlinux (ELF with the Xen PVH note) and bzImage,
#   - a busybox-static initramfs (uncompressed newc cpio, /init = init.sh),
#   - a 64 MiB ext4 disk image with the same tree plus /VMM-DISK-MARKER.
# With --arch arm64 the same guest for arm64 (issue 67): the kernel cross-built
# (CROSS_COMPILE=aarch64-linux-gnu-) with kernel-arm64.config merged after
# kernel.config and the patches that are not x86's, as the raw arm64 Image;
# Debian's busybox-static:arm64 and the guest tools cross-built in the tree.
# Everything is cached under ${VMM_GUEST_CACHE:-/var/cache/vmm-guest}, keyed by a
# hash of its inputs (arm64's names start with arm64-); a run with nothing to
# rebuild takes well under a second.
#
# Usage: guest-images/build.sh [--arch x86_64|arm64] [--print-env]
#          without --print-env: build what is missing, print the paths
#          --print-env: the same, but print shell assignments for
#            eval "$(guest-images/build.sh --print-env)": x86_64 VMLINUX= BZIMAGE=,
#            arm64 IMAGE= (KERNEL= too), and INITRAMFS= DISK= CMDLINE= ...
#          --arch: x86_64 (the default) or arm64 (aarch64 means the same)
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
	sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

MODE=paths
GUEST_ARCH=x86_64
while [ $# -gt 0 ]; do
	case "$1" in
	--print-env) MODE="env" ;;
	--arch)
		[ $# -gt 1 ] || {
			usage >&2
			exit 2
		}
		GUEST_ARCH=$2
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		exit 2
		;;
	esac
	shift
done

# What differs between the architectures: the kernel's ARCH, compiler, fragments, make target
# and image; the compiler of the guest tools; the busybox; the command line; the cache names.
case "$GUEST_ARCH" in
x86_64)
	KARCH=x86_64
	CROSS=""
	FRAGMENTS=("$HERE/kernel.config")
	KTARGET=bzImage
	KIMAGE=arch/x86/boot/bzImage
	TOOL_CC=gcc
	CMDLINE_FILE=$HERE/cmdline.txt
	# x86's names have no tag: the caches made before --arch stay valid.
	TAG=""
	;;
arm64 | aarch64)
	GUEST_ARCH=arm64
	KARCH=arm64
	CROSS=aarch64-linux-gnu-
	FRAGMENTS=("$HERE/kernel.config" "$HERE/kernel-arm64.config")
	KTARGET=Image
	KIMAGE=arch/arm64/boot/Image
	TOOL_CC=aarch64-linux-gnu-gcc
	CMDLINE_FILE=$HERE/cmdline-arm64.txt
	TAG=arm64-
	# deb_busybox, kiq_cache: Debian's busybox-static:arm64, fetched once (apt-get download)
	# into tools/kvm-in-qemu's cache, the same file as the arm64 L1's and test guest's.
	# shellcheck source=tools/kvm-in-qemu/debs.sh
	. "$HERE/../tools/kvm-in-qemu/debs.sh"
	;;
*)
	log "error: unknown --arch '$GUEST_ARCH' (x86_64 or arm64)"
	exit 2
	;;
esac

pkg_version() {
	dpkg-query -W -f='${Version}' "$1" 2>/dev/null || die "package $1 is not installed (run tools/setup.sh)"
}

check_tools() {
	local t
	for t in make gcc "$TOOL_CC" bc bison flex patch cpio mkfs.ext4 lz4 readelf sha256sum flock; do
		command -v "$t" >/dev/null || die "missing tool '$t' (run tools/setup.sh)"
	done
	[ -r "$SRC_TAR" ] || die "missing $SRC_TAR (apt-get install $SRC_PKG)"
	if [ "$GUEST_ARCH" = arm64 ]; then
		BUSYBOX_DEBS=$(kiq_cache)/aarch64
		BUSYBOX=$(deb_busybox "$BUSYBOX_DEBS" arm64) ||
			die "cannot get busybox-static:arm64 (Debian's archive unreachable?)"
	fi
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

# The patches of this architecture: on arm64, those that change files under arch/x86/ alone
# (0001-0005, for x86's kvm_pvm) are left out.
patch_files() {
	local p
	find "$HERE/patches" -maxdepth 1 -name '*.patch' | LC_ALL=C sort | while read -r p; do
		if [ "$GUEST_ARCH" != x86_64 ] && ! grep '^+++ ' "$p" | grep -qv '^+++ b/arch/x86/'; then
			continue
		fi
		echo "$p"
	done
}

# The fragments merged as merge_config.sh does: the last assignment of each option wins.
# Prints one line an option: "CONFIG_X=V" or "# CONFIG_X is not set".
merged_fragments() {
	awk '/^CONFIG_[A-Za-z0-9_]+=/ { name = $0; sub(/=.*/, "", name) }
		/^# CONFIG_[A-Za-z0-9_]+ is not set$/ { name = $2 }
		name != "" { if (!(name in value)) order[n++] = name; value[name] = $0; name = "" }
		END { for (i = 0; i < n; i++) print value[order[i]] }' "${FRAGMENTS[@]}"
}

# Fails unless every CONFIG_ assignment of the fragments is in the final .config, and no
# option a fragment says is not set is on: tinyconfig drops options whose dependencies are
# off without a word.
check_kernel_config() {
	local config="$1" line name missing=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$config" && continue
			name=${line%%=*}
			;;
		"# CONFIG_"*" is not set")
			name=${line#\# }
			name=${name%% *}
			grep -qE "^$name=[ym]$" "$config" || continue
			;;
		esac
		log "the fragments ask for '$line', final .config has:" \
			"'$(grep -E "^(# )?${name}[= ]" "$config" || echo absent)'"
		missing=1
	done < <(merged_fragments)
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

# The arm64 Image header's magic, "ARM\x64" at offset 0x38 (Linux
# Documentation/arm64/booting.rst), which the VMM's loader checks too.
check_arm64_image() {
	[ "$(od -An -tx1 -j 56 -N 4 "$1" | tr -d ' ')" = 41524d64 ] ||
		die "$1 is no arm64 Image (no ARM\\x64 magic at 0x38)"
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
	export ARCH=$KARCH CROSS_COMPILE=$CROSS
	if ! (
		cd "$src"
		make tinyconfig
		scripts/kconfig/merge_config.sh -n .config "${FRAGMENTS[@]}"
		make -j"$JOBS" "$KTARGET"
	) >"$blog" 2>&1; then
		tail -n 40 "$blog" >&2
		die "kernel build failed, full log: $blog"
	fi
	check_kernel_config "$src/.config"
	rm -rf "$out.tmp"
	mkdir -p "$out.tmp"
	if [ "$GUEST_ARCH" = x86_64 ]; then
		check_pvh_note "$src/vmlinux"
		cp "$src/vmlinux" "$src/arch/x86/boot/bzImage" "$src/System.map" "$out.tmp/"
	else
		check_arm64_image "$src/$KIMAGE"
		cp "$src/$KIMAGE" "$src/System.map" "$out.tmp/"
	fi
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
	"$TOOL_CC" "$@" -ffreestanding -nostdlib -static -O2 -fno-pic -no-pie -fno-stack-protector \
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
	# 32-bit system calls (INT $0x80) are x86's: the arm64 kernel has no AArch32 (COMPAT).
	if [ "$GUEST_ARCH" = x86_64 ]; then
		build_tool "$HERE/tools/syscall-cost.c" "$root/usr/bin/syscall-cost32" -m32
	fi
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

# The versions of what goes into the guest tree besides this folder's files: busybox and the
# compiler of the guest tools.
tree_versions() {
	if [ "$GUEST_ARCH" = x86_64 ]; then
		echo "busybox-static $(pkg_version busybox-static)"
		echo "gcc $(pkg_version gcc)"
	else
		echo "busybox-static:arm64 $(find "$BUSYBOX_DEBS" -maxdepth 1 \
			-name 'busybox-static_*.deb' -printf '%f ')"
		"$TOOL_CC" --version | head -n 1
		echo "arch $GUEST_ARCH"
	fi
}

# The kernel's extra hash inputs besides the fragments and patches (x86's as before --arch).
kernel_versions() {
	echo "recipe $KERNEL_RECIPE"
	echo "$SRC_PKG $(pkg_version "$SRC_PKG")"
	if [ "$GUEST_ARCH" != x86_64 ]; then
		echo "arch $GUEST_ARCH"
		# the compiler itself (cross on x86, the native one on an arm64 host)
		"${CROSS}gcc" --version | head -n 1
	fi
}

print_x86_64() {
	local kdir="$1" initramfs="$2" disk="$3" normal emulated cmdline emu=0
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

print_arm64() {
	local kdir="$1" initramfs="$2" disk="$3" cmdline
	cmdline=$(read_cmdline "$CMDLINE_FILE")
	if [ "$MODE" = env ]; then
		printf 'GUEST_ARCH=%q\n' "$GUEST_ARCH"
		printf 'IMAGE=%q\n' "$kdir/Image"
		printf 'KERNEL=%q\n' "$kdir/Image"
		printf 'SYSTEM_MAP=%q\n' "$kdir/System.map"
		printf 'KERNEL_CONFIG=%q\n' "$kdir/config"
		printf 'INITRAMFS=%q\n' "$initramfs"
		printf 'DISK=%q\n' "$disk"
		printf 'DISK_MARKER=%q\n' "$DISK_MARKER"
		printf 'CMDLINE=%q\n' "$cmdline"
	else
		echo "Image:     $kdir/Image"
		echo "initramfs: $initramfs"
		echo "disk:      $disk (read-only template: copy it before writing)"
		echo "cmdline:   $cmdline"
	fi
}

main() {
	check_tools
	mkdir -p "$CACHE/work" || die "cannot create $CACHE (set VMM_GUEST_CACHE or run as root)"
	# One build at a time: parallel test runs wait for the first to fill the cache. Each
	# architecture its own lock: an arm64 kernel's build does not hold up x86's.
	exec 9>"$CACHE/.${TAG}lock"
	flock 9

	local khash rhash kdir initramfs disk kfile
	local -a kextra rextra
	mapfile -t kextra < <(kernel_versions)
	mapfile -t rextra < <(tree_versions)
	# shellcheck disable=SC2046
	khash=$(hash_inputs "${FRAGMENTS[@]}" $(patch_files) -- "${kextra[@]}")
	# shellcheck disable=SC2046
	rhash=$(hash_inputs "$HERE/init.sh" $(rootfs_files) -- "recipe $ROOTFS_RECIPE" \
		"${rextra[@]}" "$DISK_MARKER" "$DISK_SIZE")
	kdir="$CACHE/kernel-$TAG$khash"
	initramfs="$CACHE/initramfs-$TAG$rhash.cpio"
	disk="$CACHE/disk-$TAG$rhash.ext4"

	kfile=${KIMAGE##*/}
	if [ ! -f "$kdir/$kfile" ] || { [ "$GUEST_ARCH" = x86_64 ] && [ ! -f "$kdir/vmlinux" ]; }; then
		build_kernel "$kdir"
	fi
	[ -f "$initramfs" ] || build_initramfs "$initramfs"
	[ -f "$disk" ] || build_disk "$disk"

	"print_$GUEST_ARCH" "$kdir" "$initramfs" "$disk"
}

main
