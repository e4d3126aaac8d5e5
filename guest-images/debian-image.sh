#!/usr/bin/env bash
# Builds a Debian 12 (bookworm) cloud-style disk image from Debian's packages, and keeps Debian's
# stock cloud kernel and the initrd initramfs-tools made for it beside it, for a direct boot:
#   debootstrap --variant=minbase, then in the chroot systemd, systemd-sysv, udev, dbus,
#   iproute2, e2fsprogs, initramfs-tools, linux-image-cloud-amd64, grub-pc-bin and
#   grub-efi-amd64-bin from bookworm, -updates and -security (the archive apt on this machine
#   uses, nothing else);
#   systemd-networkd with DHCP on the first NIC; a serial getty on ttyS0, root without password;
#   devices waited for 5 minutes, not 90 s (debian/vmm-test-timeouts.conf: slow L1s);
#   an empty /etc/machine-id (made at each first boot, as in Debian's cloud images); the unit
#   vmm-debian-check (debian/vmm-debian-check.sh) printing "VMM-DEBIAN-..." lines on the console
#   once the boot is done (with vmmdebian.hotplug= after waiting for the host's hotplug and
#   reporting what udev made of it), and powering off with vmmdebian.poweroff on the command line.
# The disk (2 GiB, sparse): GPT; 1 a BIOS boot partition holding GRUB's core.img, 2 an EFI system
# partition (FAT) with EFI/BOOT/BOOTX64.EFI, 3 the ext4 root with /boot/grub/grub.cfg (serial
# console, root=PARTUUID=). GRUB for i386-pc in the MBR and partition 1, for x86_64-efi at the
# removable path: made with the image's own grub-mkimage, no loop device, no root mount.
# Cached under ${VMM_GUEST_CACHE:-/var/cache/vmm-guest}/debian-<hash>/, <hash> = this recipe
# (this script, debian/*) and the candidate versions of the main packages; a run with nothing
# to build takes well under a second. Needs root (debootstrap, chroot); a cold build takes
# several minutes and about 1.5 GB of disk while it runs.
#
# Usage: guest-images/debian-image.sh              build what is missing, print the paths
#        guest-images/debian-image.sh --print-env  same, as shell assignments: DEBIAN_KERNEL=
#                 DEBIAN_INITRD= DEBIAN_IMAGE= DEBIAN_CMDLINE= DEBIAN_ROOT_PARTUUID= ...
#                 for eval "$(guest-images/debian-image.sh --print-env)"
#        guest-images/debian-image.sh --arch arm64 [--print-env]   the arm64 image (below)
# The image is a read-only template: boot a copy or a qcow2 overlay
#   (qemu-img create -f qcow2 -b "$DEBIAN_IMAGE" -F raw vm.qcow2).
# Progress and errors go to stderr; stdout carries only the result. Exit status 1 when the image
# cannot be had (no archive and nothing cached), 2 for a usage error.
#
# --arch arm64 (issue 67): the same system for Debian's arm64 (linux-image-cloud-arm64, a serial
# getty on the PL011's ttyAMA0, no GRUB: a direct kernel boot only), cached as
# debian-arm64-<hash>/ with the raw arm64 Image (DEBIAN_KERNEL) and its initrd beside the disk:
# GPT, one partition, the ext4 root (root=PARTUUID=). The arch-specific parts are the table in
# set_arch(). Its root is made on this x86 host with the arm64 packages' own maintainer scripts:
# `debootstrap --foreign` (download, unpack, device nodes), then the second stage and apt in the
# chroot run arm64 binaries through qemu-user. The kernel hands them to qemu-aarch64-static
# (qemu-user-static: static, so it runs inside the chroot) through binfmt_misc, and that is
# registered in a binfmt_misc instance of a user namespace of the build's own (Linux 6.7 and
# later: binfmt_misc mounts per user namespace; the namespace maps the host's ids to
# themselves, so the files keep their owners): nothing is registered on the host, nothing is
# left to undo, and it works where /proc/sys/fs/binfmt_misc is not mounted (containers, CI).
# The other way, debootstrap's second stage inside an arm64 VM (qemu-system-aarch64, TCG), needs
# no binfmt_misc at all but is several times slower and needs a VM's plumbing. A cold arm64 build
# takes ~15-25 minutes on a 2-core host (every arm64 program emulated).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FILES="$HERE/debian"
CACHE="${VMM_GUEST_CACHE:-/var/cache/vmm-guest}"
SUITE=bookworm
# Bump when the steps below change the image in a way the hashed files do not show.
RECIPE=1
# Fixed identities: the image is the same everywhere, and its users can name its parts.
DISK_GUID=6d6d7600-6465-4269-816e-000000000000
BIOS_PARTUUID=6d6d7600-6465-4269-816e-000000000001
ESP_PARTUUID=6d6d7600-6465-4269-816e-000000000002
ROOT_PARTUUID=6d6d7600-6465-4269-816e-000000000003
ROOT_FS_UUID=6d6d7600-6465-4269-816e-0000000000e4
ESP_VOLID=6d6d7600
# Layout in 512-byte sectors: 2 GiB, the root up to 1 MiB before the end (room for the backup
# GPT); before it on x86 a BIOS boot partition (1 MiB at 1 MiB) and the ESP (126 MiB at 2 MiB).
DISK_SECTORS=4194304
BIOS_START=2048 BIOS_SIZE=2048
ESP_START=4096 ESP_SIZE=258048
# What the initrd must hold (or the kernel have built in) to find the root on a virtio disk.
INITRD_NEEDS="virtio_pci:VIRTIO_PCI virtio_mmio:VIRTIO_MMIO virtio_blk:VIRTIO_BLK ext4:EXT4_FS"

# The architecture's part of the recipe (--arch):
#   NAME      the cache folder's prefix (NAME-<hash>), its lock and apt memo
#   DEBARCH   Debian's name of the architecture
#   PACKAGES  installed in the chroot with apt (from -security too, where the current kernel is)
#   META      the kernel's meta package as apt on this host names it (arm64's: pkg:arm64, this
#             host's foreign architecture, tools/setup.sh)
#   VERSIONED the packages whose versions (their candidates on this host) name the cache folder
#             (initramfs-tools is "Architecture: all": no :arm64)
#   CONSOLE   the serial console: the kernel's console= and the serial getty's line
#   GRUB      1: GRUB for BIOS and EFI with the BIOS boot partition and the ESP; 0: a direct
#             kernel boot only, the root the disk's one partition
#   KERNEL    the kernel's file name beside the image (arm64: the raw Image the VMM loads)
set_arch() {
	case $1 in
	x86_64 | amd64)
		ARCH=x86_64 NAME=debian DEBARCH=amd64 CONSOLE=ttyS0 GRUB=1 KERNEL=vmlinuz
		META=linux-image-cloud-amd64
		PACKAGES="systemd systemd-sysv udev dbus iproute2 e2fsprogs initramfs-tools linux-image-cloud-amd64
grub-pc-bin grub-efi-amd64-bin"
		VERSIONED="systemd udev initramfs-tools grub-common grub-pc-bin grub-efi-amd64-bin"
		ROOT_START=262144
		# The kernel's command line for a direct boot (grub.cfg adds console=tty0 before ttyS0).
		CMDLINE="root=PARTUUID=$ROOT_PARTUUID ro console=ttyS0,115200n8"
		;;
	arm64 | aarch64)
		ARCH=arm64 NAME=debian-arm64 DEBARCH=arm64 CONSOLE=ttyAMA0 GRUB=0 KERNEL=Image
		META=linux-image-cloud-arm64:arm64
		PACKAGES="systemd systemd-sysv udev dbus iproute2 e2fsprogs initramfs-tools linux-image-cloud-arm64"
		VERSIONED="systemd:arm64 udev:arm64 initramfs-tools"
		ROOT_START=2048
		CMDLINE="root=PARTUUID=$ROOT_PARTUUID ro console=ttyAMA0"
		;;
	*) return 1 ;;
	esac
	ROOT_SIZE=$((DISK_SECTORS - ROOT_START - 2048))
}

log() { echo "debian-image: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}
# The header above, up to the first line that is no comment.
usage() { sed -n '2,/^[^#]/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

MODE=paths
set_arch x86_64
while [ $# -gt 0 ]; do
	case $1 in
	--print-env) MODE="env" ;;
	--arch)
		if [ $# -lt 2 ] || ! set_arch "$2"; then
			usage >&2
			exit 2
		fi
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

# The URI of the first "deb" source for suite $1, from the one-line (*.list) and deb822
# (*.sources) formats.
apt_uri() {
	local f suite=$1
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v s="$suite" '{ sub(/\[[^]]*\]/, ""); $0 = $0 }
			$1 == "deb" && $3 == s { print $2; exit }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v s="$suite" 'function flush() {
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ") && uri != "")
					{ print uri; found = 1; exit }
				types = suites = uri = ""
			}
			/^[ \t]*$/ { flush(); next }
			/^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
			/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
			/^URIs:/ { uri = $2 }
			END { if (!found) flush() }' "$f"
	done
}

# "pkg version" lines: the kernel package $META depends on and $VERSIONED, their candidates.
# Empty when apt does not know them. apt-cache takes seconds on a busy host: the answer is kept
# until the package lists change.
resolve() {
	local stamp memo="$CACHE/.$NAME-resolved" kpkg
	stamp=$(stat -c '%n %Y %s' /var/lib/apt/lists/*_Packages* 2>/dev/null | sha256sum | cut -c1-16)
	if [ -f "$memo" ] && [ "$(head -1 "$memo")" = "$stamp $VERSIONED" ]; then
		tail -n +2 "$memo"
		return 0
	fi
	kpkg=$(apt-cache depends "$META" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1)
	[ -n "$kpkg" ] || return 0
	# shellcheck disable=SC2086 # a list of names
	apt-cache policy "$kpkg" $VERSIONED 2>/dev/null |
		awk '/^[^ ].*:$/ { p = substr($0, 1, length($0) - 1) }
			/^ *Candidate:/ { if ($2 != "(none)") print p, $2 }' >"$memo.tmp"
	[ "$(wc -l <"$memo.tmp")" -gt "$(wc -w <<<"$VERSIONED")" ] || {
		rm -f "$memo.tmp"
		return 0
	}
	{
		echo "$stamp $VERSIONED"
		cat "$memo.tmp"
	} >"$memo"
	rm -f "$memo.tmp"
	tail -n +2 "$memo"
}

# The newest complete $NAME-<hash> folder (for a host that cannot reach the archive); x86's
# debian-* is not arm64's debian-arm64-*.
newest_cached() {
	local d
	for d in "$CACHE/$NAME"-*/; do
		case ${d#"$CACHE/$NAME"-} in */*/* | *-*) continue ;; esac
		if [ -f "$d/env" ]; then echo "$(stat -c %Y "$d/env") ${d%/}"; fi
	done | sort -n | tail -1 | cut -d' ' -f2-
}

in_chroot() { chroot "$STAGE" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

# arm64 on this host: qemu-user's CPU without pointer authentication, which Debian's arm64
# programs use (-mbranch-protection) and TCG computes slowly (its QARMA cipher); its
# instructions are hints that then do nothing. qemu-aarch64 reads QEMU_CPU from each program's
# environment: before the chroot's env -i and after it.
if [ "$ARCH" = arm64 ]; then
	in_chroot() { QEMU_CPU=max,pauth=off chroot "$STAGE" /usr/bin/env -i \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 \
		QEMU_CPU=max,pauth=off "$@"; }
fi

# Runs "$@" as root of a user namespace of its own (the host's user and group ids mapped to
# themselves, so files get the owners they would get outside), with mount and PID namespaces of
# its own (proc can be mounted there), in which a binfmt_misc instance of that namespace alone
# (Linux 6.7 and later) hands arm64 ELF files to qemu-aarch64-static (qemu-user-static's
# registration, /usr/lib/binfmt.d/qemu-aarch64.conf: "F", the interpreter opened now, so the
# chroot needs no copy of it). unshare makes the namespace and waits; this shell maps its ids
# (only a process outside can map more than its own); then the command runs (exec: with
# root's capabilities there). Nothing outlives the command.
foreign() {
	local sync reg line
	reg=$(cat /usr/lib/binfmt.d/qemu-aarch64.conf) || die "qemu-user-static is not installed"
	sync=$(mktemp -d "$WORK/userns.XXXXXX")
	mkdir "$sync/binfmt"
	mkfifo "$sync/up" "$sync/go"
	# On the fifo "up": "up PID" from inside (PID: unshare's, now the shell's), then "exit N";
	# "exit N" alone when unshare failed.
	{
		# shellcheck disable=SC2016 # expanded by the inner shells
		unshare --user --mount --propagation private -- bash -c '
			echo "up $$" >"$1/up"
			read -r _ <"$1/go"
			exec unshare --pid --fork -- bash -c "set -e
				mount -t binfmt_misc binfmt_misc \"\$1/binfmt\"
				printf %s \"\$2\" >\"\$1/binfmt/register\"
				shift 2
				exec \"\$@\"" _ "$@"' _ "$sync" "$reg" "$@"
		echo "exit $?" >"$sync/up"
	} &
	read -r line <"$sync/up"
	if [ "${line%% *}" = up ]; then
		echo "0 0 4294967295" >"/proc/${line#up }/uid_map"
		echo "0 0 4294967295" >"/proc/${line#up }/gid_map"
		echo go >"$sync/go"
		read -r line <"$sync/up"
	fi
	wait "$!"
	rm -rf "$sync"
	return "${line#exit }"
}

# Runs "$@" in the image's root from this host: on arm64 inside foreign().
in_root() {
	if [ "$ARCH" = arm64 ]; then
		foreign bash -c "$(declare -f in_chroot); STAGE='$STAGE'; in_chroot \"\$@\"" _ "$@"
	else
		in_chroot "$@"
	fi
}

# debootstrap, then apt in the chroot with /proc, /sys and /dev mounted in a private mount
# namespace (nothing to unmount on any exit).
# debootstrap from mirror $1 into $STAGE. arm64: its first stage here (--foreign: download,
# unpack, the device nodes, which a user namespace cannot make), the second (dpkg configures
# every package: arm64 programs) in the chroot through foreign().
bootstrap() {
	if [ "$ARCH" = x86_64 ]; then
		debootstrap --variant=minbase --components=main "$SUITE" "$STAGE" "$1"
		return
	fi
	# (set -e does not hold here: the caller tests the status)
	debootstrap --arch="$DEBARCH" --foreign --variant=minbase --components=main "$SUITE" "$STAGE" "$1" ||
		return
	# container=lxc: debootstrap's word for a container that cannot make device nodes (its
	# second stage's check of the target tries mknod; the first stage made them).
	foreign bash -c "$(declare -f in_chroot); STAGE='$STAGE'
		in_chroot container=lxc /debootstrap/debootstrap --second-stage"
}

make_root() {
	local mirror security proxy mounts enter
	mirror=$(apt_uri "$SUITE" | head -1)
	[ -n "$mirror" ] || die "no '$SUITE' source in /etc/apt/sources.list{,.d/*}"
	security=$(apt_uri "$SUITE-security" | head -1)
	proxy=$(apt-config dump 2>/dev/null | sed -n 's/^Acquire::http::Proxy "\(.*\)";$/\1/p')
	if [ -n "$proxy" ] && [ "$proxy" != DIRECT ]; then export http_proxy="$proxy"; fi
	log "debootstrap $SUITE (minbase, $DEBARCH) from $mirror: a few minutes"
	bootstrap "$mirror" >"$WORK/debootstrap.log" 2>&1 || {
		tail -n 30 "$WORK/debootstrap.log" >&2
		die "debootstrap failed (log: $WORK/debootstrap.log)"
	}
	{
		echo "deb $mirror $SUITE main"
		echo "deb $mirror $SUITE-updates main"
		[ -z "$security" ] || echo "deb $security $SUITE-security main"
	} >"$STAGE/etc/apt/sources.list"
	# No service starts in the chroot.
	printf '#!/bin/sh\nexit 101\n' >"$STAGE/usr/sbin/policy-rc.d"
	chmod 0755 "$STAGE/usr/sbin/policy-rc.d"
	# initramfs-tools' configuration before the kernel's postinst runs it.
	mkdir -p "$STAGE/etc/initramfs-tools/conf.d"
	printf '%s\n' virtio_pci virtio_mmio virtio_blk ext4 >>"$STAGE/etc/initramfs-tools/modules"
	echo RESUME=none >"$STAGE/etc/initramfs-tools/conf.d/resume"
	log "apt-get install in the chroot: ${PACKAGES//$'\n'/ }"
	# shellcheck disable=SC2016 # expanded by the inner shell
	mounts='
		set -e
		mount -t proc proc "$1/proc"
		mount -t sysfs sys "$1/sys"
		mount --rbind /dev "$1/dev"
		shift
		"$@"'
	enter=(unshare -m --propagation private)
	if [ "$ARCH" = arm64 ]; then
		# A new sysfs needs a network namespace of the user namespace's own: the host's, bound.
		mounts=${mounts/mount -t sysfs sys/mount --rbind \/sys}
		enter=(foreign)
	fi
	"${enter[@]}" bash -c "$mounts" _ "$STAGE" bash -c "
		set -e
		$(declare -f in_chroot)
		STAGE='$STAGE'
		in_chroot apt-get -q update
		in_chroot apt-get -q -y dist-upgrade
		in_chroot apt-get -q -y --no-install-recommends install ${PACKAGES//$'\n'/ }
		in_chroot systemctl enable systemd-networkd.service serial-getty@$CONSOLE.service
	" >"$WORK/apt.log" 2>&1 || {
		tail -n 30 "$WORK/apt.log" >&2
		die "apt-get in the chroot failed (log: $WORK/apt.log)"
	}
	rm -f "$STAGE/usr/sbin/policy-rc.d"
}

configure_root() {
	local kver=$1
	echo debian >"$STAGE/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
		>"$STAGE/etc/hosts"
	cat >"$STAGE/etc/fstab" <<-EOF
		# <file system> <mount point> <type> <options> <dump> <pass>
		UUID=$ROOT_FS_UUID / ext4 errors=remount-ro 0 1
	EOF
	if [ "$GRUB" = 1 ]; then
		echo "PARTUUID=$ESP_PARTUUID /boot/efi vfat umask=0077,nofail 0 2" >>"$STAGE/etc/fstab"
		mkdir -p "$STAGE/boot/efi"
	fi
	install -m 0644 "$FILES/20-dhcp.network" "$STAGE/etc/systemd/network/20-dhcp.network"
	install -D -m 0644 "$FILES/vmm-test-timeouts.conf" \
		"$STAGE/etc/systemd/system.conf.d/vmm-test-timeouts.conf"
	install -m 0755 "$FILES/vmm-debian-check.sh" "$STAGE/usr/local/sbin/vmm-debian-check"
	install -m 0644 "$FILES/vmm-debian-check.service" \
		"$STAGE/etc/systemd/system/vmm-debian-check.service"
	ln -sf /etc/systemd/system/vmm-debian-check.service \
		"$STAGE/etc/systemd/system/multi-user.target.wants/vmm-debian-check.service"
	# A test image: root logs in on the console without a password.
	in_root passwd -d root >/dev/null
	# No machine identity in the template: systemd makes one at each image's first boot.
	: >"$STAGE/etc/machine-id"
	rm -f "$STAGE/var/lib/dbus/machine-id"
	ln -s /etc/machine-id "$STAGE/var/lib/dbus/machine-id"
	# Nothing of the build host's.
	rm -f "$STAGE/etc/resolv.conf"
	[ "$ARCH" = x86_64 ] || mark_updated
	rm -rf "$STAGE"/var/cache/apt/*.bin "$STAGE"/var/cache/apt/archives/*.deb \
		"$STAGE"/var/lib/apt/lists/* "$STAGE"/var/log/*.log "$STAGE"/var/log/apt/* \
		"$STAGE"/tmp/* "$STAGE"/var/tmp/*
	[ -f "$STAGE/boot/vmlinuz-$kver" ] || die "no /boot/vmlinuz-$kver in the root"
	[ -f "$STAGE/boot/initrd.img-$kver" ] || die "initramfs-tools made no /boot/initrd.img-$kver"
}

# /etc and /var up to date with /usr, as systemd-update-done leaves them after a first boot:
# otherwise each boot of a new copy of the image runs the units with ConditionNeedsUpdate=
# (ldconfig, systemd-hwdb-update: the hardware database compiled anew, systemd-update-done),
# slow under nested TCG. systemd compares the file's mtime with /usr's, then TIMESTAMP_NSEC.
mark_updated() {
	local d nsec
	nsec=$(stat -c '%.9Y' "$STAGE/usr")
	nsec=${nsec/./}
	for d in etc var; do
		printf '# This file was created by debian-image.sh as systemd-update-done would.\nTIMESTAMP_NSEC=%s\n' \
			"$nsec" >"$STAGE/$d/.updated"
		touch -r "$STAGE/usr" "$STAGE/$d/.updated"
	done
}

# The initrd (or the kernel) must have what finds the root: virtio over PCI and mmio,
# virtio-blk, ext4.
check_initrd() {
	local kver=$1 list need mod opt
	list=$(in_root lsinitramfs "/boot/initrd.img-$kver") || die "lsinitramfs failed"
	for need in $INITRD_NEEDS; do
		mod=${need%%:*} opt=${need#*:}
		if grep -q "/$mod\.ko" <<<"$list"; then continue; fi
		grep -qx "CONFIG_$opt=y" "$STAGE/boot/config-$kver" && continue
		die "the initrd has no $mod.ko and the kernel has no CONFIG_$opt=y"
	done
}

# /boot/grub of the root: grub.cfg and both platforms' modules (as grub-install copies them).
grub_files() {
	local kver=$1 platform
	mkdir -p "$STAGE/boot/grub"
	for platform in i386-pc x86_64-efi; do
		cp -r "$STAGE/usr/lib/grub/$platform" "$STAGE/boot/grub/$platform"
	done
	# (Indented with spaces: <<- strips only tabs.)
	cat >"$STAGE/boot/grub/grub.cfg" <<-EOF
		# The VMM's Debian test image (guest-images/debian-image.sh).
		serial --unit=0 --speed=115200
		terminal_input serial console
		terminal_output serial console
		set timeout=0
		set default=0
		menuentry 'Debian GNU/Linux 12, $kver' --id debian {
		    insmod part_gpt
		    insmod ext2
		    search --no-floppy --fs-uuid --set=root $ROOT_FS_UUID
		    echo 'Loading Linux $kver ...'
		    linux /boot/vmlinuz-$kver root=PARTUUID=$ROOT_PARTUUID ro console=tty0 console=ttyS0,115200n8
		    echo 'Loading the initial ramdisk ...'
		    initrd /boot/initrd.img-$kver
		}
	EOF
}

# core.img (BIOS) and BOOTX64.EFI, with the image's grub-mkimage: each finds the root file
# system by its UUID and reads /boot/grub/grub.cfg there.
grub_images() {
	mkdir -p "$STAGE/tmp/grub"
	# shellcheck disable=SC2016 # GRUB's $root
	printf 'search --no-floppy --fs-uuid --set=root %s\nset prefix=($root)/boot/grub\n' \
		"$ROOT_FS_UUID" >"$STAGE/tmp/grub/early.cfg"
	in_chroot grub-mkimage -O i386-pc -o /tmp/grub/core.img -c /tmp/grub/early.cfg \
		-p /boot/grub biosdisk part_gpt ext2 search search_fs_uuid ||
		die "grub-mkimage -O i386-pc failed"
	in_chroot grub-mkimage -O x86_64-efi -o /tmp/grub/BOOTX64.EFI -c /tmp/grub/early.cfg \
		-p /boot/grub part_gpt part_msdos fat ext2 search search_fs_uuid normal configfile linux \
		echo test all_video efi_gop serial terminal gzio ||
		die "grub-mkimage -O x86_64-efi failed"
	mv "$STAGE/tmp/grub" "$WORK/grub"
}

# Writes the little-endian integer $3 of $4 bytes at byte $2 of file $1.
put_le() {
	local i bytes=""
	for ((i = 0; i < $4; i++)); do bytes+=$(printf '\\x%02x' $((($3 >> (8 * i)) & 255))); done
	printf '%b' "$bytes" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# GRUB for BIOS, as grub-bios-setup does it for a GPT disk: boot.img's code in the MBR (its
# partition table kept) pointing at core.img's first sector in the BIOS boot partition, and
# that sector's (diskboot's) block list naming the rest of core.img.
install_bios_grub() {
	local img=$1 core=$WORK/grub/core.img sectors
	sectors=$((($(stat -c %s "$core") + 511) / 512))
	[ "$sectors" -le "$BIOS_SIZE" ] || die "core.img ($sectors sectors) exceeds the BIOS boot partition"
	dd if="$core" of="$img" bs=512 seek="$BIOS_START" conv=notrunc status=none
	put_le "$img" $((BIOS_START * 512 + 0x1f4)) $((BIOS_START + 1)) 8
	put_le "$img" $((BIOS_START * 512 + 0x1fc)) $((sectors - 1)) 2
	dd if="$STAGE/usr/lib/grub/i386-pc/boot.img" of="$img" bs=440 count=1 conv=notrunc status=none
	put_le "$img" $((0x5c)) "$BIOS_START" 8
	# A hard disk: the check for BIOSes passing a wrong boot drive becomes two NOPs.
	put_le "$img" $((0x66)) $((0x9090)) 2
}

# The GPT's partitions, sfdisk's lines: x86's BIOS boot partition and ESP, then the root.
partitions() {
	if [ "$GRUB" = 1 ]; then
		cat <<-EOF
			start=$BIOS_START, size=$BIOS_SIZE, type=21686148-6449-6E6F-744E-656564454649, uuid=$BIOS_PARTUUID, name="BIOS boot"
			start=$ESP_START, size=$ESP_SIZE, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$ESP_PARTUUID, name="EFI system"
		EOF
	fi
	echo "start=$ROOT_START, size=$ROOT_SIZE, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$ROOT_PARTUUID, name=\"root\""
}

make_disk() {
	local img=$1
	rm -f "$img"
	truncate -s $((DISK_SECTORS * 512)) "$img"
	{
		printf 'label: gpt\nlabel-id: %s\n' "$DISK_GUID"
		partitions
	} | sfdisk --quiet --no-reread --no-tell-kernel "$img" >&2
	[ "$GRUB" = 1 ] && make_esp "$img"
	log "mkfs.ext4 -d: the root ($((ROOT_SIZE / 2048)) MiB)"
	mkfs.ext4 -q -F -L root -U "$ROOT_FS_UUID" -E "offset=$((ROOT_START * 512)),nodiscard" \
		-d "$STAGE" "$img" $((ROOT_SIZE / 2))k >&2 || die "mkfs.ext4 failed"
	[ "$(stat -c %s "$img")" = $((DISK_SECTORS * 512)) ] || die "mkfs changed the image's size"
	[ "$GRUB" = 0 ] || install_bios_grub "$img"
	sfdisk --verify "$img" >/dev/null 2>&1 || die "sfdisk --verify: the partition table is damaged"
}

make_esp() {
	local img=$1
	log "mkfs.fat and mtools: the EFI system partition"
	mkfs.fat -F 16 -i "${ESP_VOLID//-/}" -n EFI --offset "$ESP_START" "$img" $((ESP_SIZE / 2)) \
		>"$WORK/mkfs.fat.log" 2>&1 || die "mkfs.fat failed: $(cat "$WORK/mkfs.fat.log")"
	MTOOLS_SKIP_CHECK=1 mmd -i "$img@@$((ESP_START * 512))" ::/EFI ::/EFI/BOOT
	MTOOLS_SKIP_CHECK=1 mcopy -i "$img@@$((ESP_START * 512))" "$WORK/grub/BOOTX64.EFI" \
		::/EFI/BOOT/BOOTX64.EFI
}

# The kernel beside the image: x86's bzImage as it is; arm64's raw Image, which the VMM loads
# (Debian 12's vmlinuz is one, with an EFI stub's header; a gzipped one is unpacked, as
# tools/kvm-in-qemu/debs.sh does), its "ARM\x64" magic at byte 56 checked.
copy_kernel() {
	if [ "$ARCH" = x86_64 ]; then
		cp "$1" "$2"
		return
	fi
	if [ "$(head -c 2 "$1" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
		zcat "$1" >"$2"
	else
		cp "$1" "$2"
	fi
	[ "$(dd if="$2" bs=1 skip=56 count=4 status=none | od -An -tx1 | tr -d ' ')" = 41524d64 ] ||
		die "$1 is no arm64 Image (no ARM\\x64 magic at byte 56)"
}

build() {
	local dir=$1 kver
	WORK="$CACHE/work/$NAME-$$"
	STAGE="$WORK/root"
	trap 'rm -rf "$WORK" "$dir.tmp"' EXIT
	rm -rf "$WORK" "$dir.tmp"
	mkdir -p "$WORK" "$dir.tmp"
	make_root
	kver=$(find "$STAGE/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sort -V | tail -1)
	kver=${kver#vmlinuz-}
	[ -n "$kver" ] || die "the root has no /boot/vmlinuz-*"
	check_initrd "$kver"
	configure_root "$kver"
	if [ "$GRUB" = 1 ]; then
		grub_files "$kver"
		grub_images
	fi
	copy_kernel "$STAGE/boot/vmlinuz-$kver" "$dir.tmp/$KERNEL"
	cp "$STAGE/boot/initrd.img-$kver" "$dir.tmp/initrd.img"
	cp "$STAGE/boot/config-$kver" "$dir.tmp/config"
	# shellcheck disable=SC2016 # dpkg-query's fields
	in_root dpkg-query -W -f='${Package} ${Version}\n' >"$dir.tmp/packages"
	make_disk "$dir.tmp/disk.img"
	{
		printf 'DEBIAN_KERNEL_RELEASE=%q\n' "$kver"
		printf 'DEBIAN_KERNEL_PACKAGE=%q\n' "$(grep "^linux-image-$kver " "$dir.tmp/packages")"
	} >"$dir.tmp/env"
	mv "$dir.tmp" "$dir"
	rm -rf "$WORK"
	trap - EXIT
	log "built $dir ($(du -sh "$dir/disk.img" | cut -f1) used of 2 GiB)"
}

main() {
	local t want hash dir
	[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
	for t in debootstrap chroot unshare apt-cache sfdisk mkfs.fat mmd mcopy mkfs.ext4 sha256sum flock; do
		command -v "$t" >/dev/null ||
			die "missing tool '$t' (apt-get install debootstrap fdisk dosfstools mtools e2fsprogs)"
	done
	[ "$ARCH" = x86_64 ] || [ -f /usr/lib/binfmt.d/qemu-aarch64.conf ] ||
		die "missing qemu-user-static's qemu-aarch64-static (apt-get install qemu-user-static)"
	mkdir -p "$CACHE/work" || die "cannot create $CACHE (set VMM_GUEST_CACHE)"
	exec 8>"$CACHE/.$NAME.lock"
	flock 8
	want=$(resolve)
	if [ -z "$want" ]; then
		log "apt does not know linux-image-cloud-$META yet: apt-get update"
		apt-get -q update >&2 || log "apt-get update failed"
		want=$(resolve)
	fi
	dir=""
	if [ -n "$want" ]; then
		hash=$({
			printf 'recipe %s\n%s\n' "$RECIPE" "$want"
			cat "${BASH_SOURCE[0]}" "$FILES"/*
		} | sha256sum | cut -c1-16)
		dir="$CACHE/$NAME-$hash"
		[ -f "$dir/env" ] || build "$dir"
	else
		dir=$(newest_cached)
		[ -n "$dir" ] || die "apt knows no linux-image-cloud-$META and no image is cached"
		log "using the cached $dir: apt could not name the current packages"
	fi
	# shellcheck source=/dev/null
	. "$dir/env"
	if [ "$MODE" = env ]; then
		printf 'DEBIAN_DIR=%q\n' "$dir"
		printf 'DEBIAN_KERNEL=%q\n' "$dir/$KERNEL"
		printf 'DEBIAN_INITRD=%q\n' "$dir/initrd.img"
		printf 'DEBIAN_IMAGE=%q\n' "$dir/disk.img"
		printf 'DEBIAN_CMDLINE=%q\n' "$CMDLINE"
		printf 'DEBIAN_KERNEL_RELEASE=%q\n' "$DEBIAN_KERNEL_RELEASE"
		printf 'DEBIAN_KERNEL_PACKAGE=%q\n' "$DEBIAN_KERNEL_PACKAGE"
		printf 'DEBIAN_DISK_GUID=%q\n' "$DISK_GUID"
		printf 'DEBIAN_ROOT_PARTUUID=%q\n' "$ROOT_PARTUUID"
		printf 'DEBIAN_ROOT_FS_UUID=%q\n' "$ROOT_FS_UUID"
		if [ "$GRUB" = 1 ]; then
			printf 'DEBIAN_ESP_PARTUUID=%q\n' "$ESP_PARTUUID"
			printf 'DEBIAN_BIOS_PARTUUID=%q\n' "$BIOS_PARTUUID"
		else
			printf 'DEBIAN_ARCH=%q\n' "$ARCH"
			printf 'DEBIAN_CONSOLE=%q\n' "$CONSOLE"
		fi
	else
		echo "kernel:  $dir/$KERNEL ($DEBIAN_KERNEL_PACKAGE)"
		echo "initrd:  $dir/initrd.img"
		echo "image:   $dir/disk.img (read-only template: boot a copy or a qcow2 overlay)"
		echo "cmdline: $CMDLINE"
	fi
}

main
