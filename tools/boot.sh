#!/usr/bin/env bash
# The README's first command: installs what is missing, builds the VMM and the default Linux
# guest (kernel, initramfs, disk image; cached), and boots it to a shell on the console.
#   tools/boot.sh [EXTRA VMM OPTIONS...]
# The guest's root is a fresh copy of the default disk image (ext4 on virtio-blk), with a virtio
# rng and a virtio-net NIC on user networking (DHCP gives it 10.0.2.15). Type commands at the
# prompt; `poweroff` or `reboot` in the guest ends the VMM with status 0, so does Ctrl-A x.
# On a host whose KVM emulates guest kernel code (kvm_pvm) the boot takes about a minute and
# every system call costs about a millisecond, but the shell works (guest-images/README.md).
# On an arm64 host it boots the arm64 build of the same guest (guest-images/build.sh --arch arm64).
# Without a usable KVM it stops at once, before installing or building anything, with the reason
# and the fix (tools/kvm-probe.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! probe=$(tools/kvm-probe.sh); then
	echo "boot: cannot boot a guest on this host: ${probe#kvm: unusable: }" >&2
	exit 1
fi
tools/setup.sh >&2
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target vmm >&2
# On an arm64 host the guest is the same one built for arm64 (issue 67): its Image, the PL011.
guest_arch=x86_64
[ "$(uname -m)" = aarch64 ] && guest_arch=arm64
eval "$(guest-images/build.sh --arch "$guest_arch" --print-env)"
kernel=${VMLINUX:-${IMAGE:-}}

# The guest writes to its disk: give it a copy, not the cached image.
disk="$BUILD_DIR/default-guest-disk.ext4"
cp --sparse=always "$DISK" "$disk"

mem=256M
if [ "$probe" = "kvm: usable (emulated, kvm_pvm)" ]; then
	echo "boot: this host's KVM is kvm_pvm: guest kernel code is emulated (about a minute to" \
		"the shell prompt, each system call about a millisecond); user space runs natively" >&2
	mem=128M
fi
echo "boot: the guest's shell comes up on this terminal; poweroff in the guest or Ctrl-A x" \
	"quits" >&2
exec "$BUILD_DIR/vmm" --kernel "$kernel" --mem "$mem" --disk "$disk" --rng --net user \
	--append "$CMDLINE root=/dev/vda rootfstype=ext4 rw vmmguest.shell=1 vmmguest.end=poweroff" "$@"
