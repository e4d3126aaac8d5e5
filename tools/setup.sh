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
)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all ${#PACKAGES[@]} packages already installed"
else
	echo "setup: installing ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: need root to install packages (run as root or with sudo)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || echo "setup: apt-get update reported errors, installing from the lists it has" >&2
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
