#!/usr/bin/env bash
# Installs every Debian package the project builds, tests and benchmarks with; skips what is there.
# Usage: tools/setup.sh            (needs root for apt-get when something is missing)
set -euo pipefail

PACKAGES=(
	# build
	build-essential cmake ninja-build pkg-config clang clang-format libclang-rt-dev linux-libc-dev
	# compile cache for the builds of tools/test.sh (CMakeLists.txt: VMM_CCACHE)
	ccache
	# libraries the VMM links
	liburing-dev libfdt-dev libslirp-dev libseccomp-dev libsdl2-dev zlib1g-dev
	# control plane: JSON bodies and metrics (the API socket's HTTP is our own); vmmctl's HTTP client
	libjansson-dev libcurl4-openssl-dev
	# packaging: man pages from --help (man-db renders them), Debian package Depends (dpkg-shlibdeps);
	# API tests drive the socket with a real client, and validate its answers against JSON Schemas
	help2man curl dpkg-dev man-db python3-jsonschema
	# unit tests (Criterion) and the integration tests' harness (pytest: tests/integration/framework)
	libcriterion-dev python3-pytest python3-pytest-timeout
	# peer VMM for every test guest and benchmark
	qemu-system-x86
	# firmware for --firmware (tests/integration/boot/test_firmware_seabios.py): SeaBIOS and OVMF,
	# unmodified
	seabios ovmf
	# vhost-user back-ends: virtiofsd and qemu-storage-daemon
	# (tests/integration/virtio/test_vhost_user_backends.py)
	qemu-system-common
	# qcow2 images made and checked by tests/unit/virtio/blk/test_qcow2*.c: qemu-img, qemu-io
	qemu-utils
	# vhost-user-net back-end: dpdk-testpmd (Debian ships it in dpdk-dev, not dpdk)
	dpdk-dev
	# display tests: SDL2 window under a virtual X server
	xvfb xauth
	# default guest: kernel, initramfs, disk image
	gnuplot-nox linux-source-6.1 bc bison flex libelf-dev libssl-dev cpio xz-utils lz4 busybox-static e2fsprogs
	# device tree tools, networking tests
	device-tree-compiler iproute2 iputils-ping python3
	# ACPI tables: iasl -d checks the VMM's (tests/unit/firmware/acpi/test_acpi.c)
	acpica-tools
	# interactive console tests: a real terminal to type into and read back
	tmux
	# benchmarks: the Debian root filesystem (hardware KVM only) and its iperf3 peer
	debootstrap iperf3
	# the Debian cloud-style image (guest-images/debian-image.sh): GPT, FAT, GRUB for BIOS and EFI
	fdisk dosfstools mtools grub-pc-bin grub-efi-amd64-bin
	llvm # fuzz coverage (tools/fuzz/fuzz coverage): llvm-profdata and llvm-cov
	# the build of L1's QEMU for tools/kvm-in-qemu (kvm-in-qemu/l1-qemu.sh, which tools/test.sh
	# runs; it also links libslirp, libfdt and zlib from above)
	libglib2.0-dev libattr1-dev patch python3-venv
	# aarch64 (issue 67): the cross compiler, and qemu-user to run its unit tests
	# (tests/integration/build/test_arm64_unit.py, docs/aarch64.md)
	crossbuild-essential-arm64 qemu-user
	# the arm64 Debian image (guest-images/debian-image.sh --arch arm64): its second stage and apt
	# run arm64 programs in the chroot through the static qemu-aarch64 (binfmt_misc of the
	# build's own user namespace; without binfmt-support nothing is registered on the host)
	qemu-user-static
	# the arm64 L1 of the aarch64 KVM tests (tools/kvm-in-qemu/run.sh --arch aarch64,
	# tests/integration/linux/test_arm64_linux.py): qemu-system-aarch64, whose 7.2 runs L1's
	# kernel at EL2 with a GICv3, so that L1's KVM runs arm64 guests
	qemu-system-arm
)

# The arm64 libraries the cross build links (Debian multiarch, after `dpkg --add-architecture
# arm64`): what the arch-neutral layers link (libseccomp, zlib, jansson; liburing and libfdt
# optional) and the run-time libraries of Criterion (libffi, libgit2) whose own packages below
# cannot come in through multiarch.
ARM64_PACKAGES=(
	libseccomp-dev:arm64 zlib1g-dev:arm64 libjansson-dev:arm64 liburing-dev:arm64 libfdt1:arm64
	libffi8:arm64 libgit2-1.5:arm64
	# --net user (libslirp, whose .pc file needs GLib's) and vmmctl's HTTP client (libcurl)
	libslirp-dev:arm64 libglib2.0-dev:arm64 libcurl4-openssl-dev:arm64
	# the vhost-user back-ends the arm64 L1 runs (Debian's qemu-system-common:arm64, unpacked by
	# tools/kvm-in-qemu/debs.sh, never installed): what virtiofsd and qemu-storage-daemon link
	# beyond the libraries above (each Multi-Arch: same, the amd64 twin's version)
	libcap-ng0:arm64 libnuma1:arm64 libfuse3-3:arm64 libaio1:arm64
	# the fuzz targets built for arm64 (FUZZ_ARCH=aarch64 tools/fuzz/fuzz): clang's libFuzzer,
	# ASan and UBSan runtimes for aarch64
	libclang-rt-14-dev:arm64
)
# arm64 packages that cannot be installed beside their amd64 twins in bookworm: libnanomsg5 is a
# binNMU (+b1) on amd64 and not on arm64 (Multi-Arch: same needs equal versions), which takes
# libcriterion3 and libcriterion-dev with it; libfdt-dev is not Multi-Arch: same. They are
# unpacked (dpkg-deb -x, not installed) into a sysroot of their own, which
# cmake/toolchain-aarch64.cmake searches before the multiarch paths.
ARM64_SYSROOT=/opt/vmm-aarch64
ARM64_SYSROOT_PACKAGES=(libcriterion-dev libcriterion3 libnanomsg5 libfdt-dev libfdt1)

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# A foreign architecture is known to apt only after the next `apt-get update`.
need_update=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	[ "$(id -u)" -eq 0 ] || { echo "setup: need root to add the arm64 architecture" >&2; exit 1; }
	dpkg --add-architecture arm64
	need_update=1
fi

missing=()
for p in "${PACKAGES[@]}" "${ARM64_PACKAGES[@]}"; do
	if ! installed "$p"; then
		missing+=("$p")
	fi
done

total=$((${#PACKAGES[@]} + ${#ARM64_PACKAGES[@]}))
if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all $total packages already installed"
else
	echo "setup: installing ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: need root to install packages (run as root or with sudo)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || echo "setup: apt-get update reported errors, installing from the lists it has" >&2
	need_update=0
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The arm64 sysroot: its stamp names each package's version; unpacked again when one differs.
want=""
for p in "${ARM64_SYSROOT_PACKAGES[@]}"; do
	if [ $need_update -eq 1 ]; then
		apt-get update -q || echo "setup: apt-get update reported errors" >&2
		need_update=0
	fi
	want+="$p=$(apt-cache policy "$p:arm64" | awk '/Candidate:/ { print $2 }')"$'\n'
done
if [ "$(cat "$ARM64_SYSROOT/.packages" 2>/dev/null)"$'\n' = "$want" ]; then
	echo "setup: the arm64 sysroot $ARM64_SYSROOT is up to date"
else
	echo "setup: unpacking ${ARM64_SYSROOT_PACKAGES[*]} (arm64) into $ARM64_SYSROOT"
	[ "$(id -u)" -eq 0 ] || { echo "setup: need root to write $ARM64_SYSROOT" >&2; exit 1; }
	debs=$(mktemp -d)
	chown _apt "$debs" 2>/dev/null || true # apt downloads as _apt where it can
	(cd "$debs" && apt-get download -q "${ARM64_SYSROOT_PACKAGES[@]/%/:arm64}")
	rm -rf "$ARM64_SYSROOT"
	for deb in "$debs"/*.deb; do
		dpkg-deb -x "$deb" "$ARM64_SYSROOT"
	done
	rm -rf "$debs" "$ARM64_SYSROOT/usr/share"
	# criterion.pc: its prefix moved here; linked as a shared library, so without the private
	# requirements (boxfort, nanomsg, libgit2 .pc files the sysroot does not have).
	sed -i -e "s|^prefix=/usr\$|prefix=$ARM64_SYSROOT/usr|" -e '/^Requires.private:/d' \
		-e '/^Libs.private:/d' "$ARM64_SYSROOT/usr/lib/aarch64-linux-gnu/pkgconfig/criterion.pc"
	printf '%s' "$want" >"$ARM64_SYSROOT/.packages"
fi
