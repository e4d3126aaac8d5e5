#!/usr/bin/env bash
# The README's first command: installs what is missing, builds the VMM and the default Linux
# guest (kernel, initramfs, disk image; cached), and boots it.
#   tools/boot.sh [EXTRA VMM OPTIONS...]
# On hardware KVM the guest opens a shell on the console (Ctrl-A x quits the VMM). On a host whose
# KVM emulates guest kernel code (kvm_pvm) the guest boots to "Run /init" and the VMM exits: such a
# host cannot run a Linux guest's user space (its system calls fault), so there is no shell.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh >&2
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target vmm >&2
eval "$(guest-images/build.sh --print-env)"

# The guest writes to its disk: give it a copy, not the cached image.
disk="$BUILD_DIR/default-guest-disk.ext4"
cp --sparse=always "$DISK" "$disk"

opts=(--kernel "$VMLINUX" --initrd "$INITRAMFS" --disk "$disk" --rng)
if [ "${EMULATED_KVM:-0}" = 1 ]; then
	echo "boot: this host's KVM is kvm_pvm: guest kernel code is emulated (about a minute to" \
		"'Run /init') and a Linux guest's user space cannot make system calls, so the guest" \
		"stops after 'Run /init' and the VMM exits; on hardware KVM this boots to a shell." >&2
	exec "$BUILD_DIR/vmm" "${opts[@]}" --mem 128M --append "$CMDLINE" "$@"
fi
exec "$BUILD_DIR/vmm" "${opts[@]}" --mem 256M --append "$CMDLINE vmmguest.shell=1" "$@"
