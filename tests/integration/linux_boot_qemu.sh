#!/usr/bin/env bash
# Boots the default Linux guest (guest-images/build.sh) on QEMU, the peer every guest must pass on:
# the PVH vmlinux on -M microvm must reach "Run /init". Where guest user space can run (hardware
# KVM or TCG, not the emulated kvm_pvm), /init must also print its marker and end the VM.
# labels: slow linux
# timeout: 600
set -euo pipefail

SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
QEMU="${QEMU:-qemu-system-x86_64}"

if ! command -v "$QEMU" >/dev/null; then
	echo "SKIP: $QEMU not installed"
	exit 0
fi

# A cache miss builds the kernel (minutes); a hit takes well under a second.
eval "$("$SOURCE_DIR/guest-images/build.sh" --print-env)"

accel=(-accel tcg)
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	accel=(-enable-kvm -cpu host)
fi

log="$(mktemp /tmp/linux_boot_qemu.XXXXXX)"
trap 'rm -f "$log"' EXIT

start=$(date +%s)
status=0
timeout 300 "$QEMU" "${accel[@]}" -M microvm,acpi=off -m 256M -smp 1 \
	-nodefaults -no-user-config -display none -no-reboot -serial stdio \
	-kernel "$VMLINUX" -initrd "$INITRAMFS" -append "$CMDLINE" \
	</dev/null >"$log" 2>&1 || status=$?
elapsed=$(($(date +%s) - start))

fail() {
	echo "FAIL: $*"
	echo "--- last guest output ---"
	tail -n 40 "$log"
	exit 1
}

grep -q "Run /init as init process" "$log" || fail "no 'Run /init' after ${elapsed} s (qemu status $status)"
echo "reached 'Run /init' in ${elapsed} s total (qemu status $status, emulated KVM: $EMULATED_KVM)"

if [ "$EMULATED_KVM" = 1 ] && [ "${accel[0]}" = -enable-kvm ]; then
	# kvm_pvm: guest user space cannot make system calls, /init cannot run.
	echo "PASS (kernel only: user space cannot run on emulated KVM)"
	exit 0
fi

grep -q "VMM-GUEST-INIT: ok" "$log" || fail "/init did not print its marker"
grep -q "VMM-GUEST-END: reboot" "$log" || fail "/init did not reach its end"
[ "$status" = 0 ] || fail "qemu did not exit by itself after the guest rebooted (status $status)"
echo "PASS"
