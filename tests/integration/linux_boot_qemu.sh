#!/usr/bin/env bash
# Boots the default Linux guest (guest-images/build.sh) on QEMU, the peer every guest must pass on:
# the PVH vmlinux on -M microvm must reach "Run /init", and /init must print its marker and end
# the VM.
# labels: slow linux
# requires: kvm qemu
# timeout: 900
# resource: linux
set -euo pipefail

SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
QEMU="${QEMU:-qemu-system-x86_64}"

. "$SOURCE_DIR/tests/integration/require.sh"
require kvm qemu

# A cache miss builds the kernel (minutes); a hit takes well under a second.
eval "$("$SOURCE_DIR/guest-images/build.sh" --print-env)"

# QEMU_ACCEL=tcg forces TCG (there user space runs, so /init is checked too).
accel=(-accel tcg)
if [ "${QEMU_ACCEL:-kvm}" = kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	accel=(-enable-kvm -cpu host)
	# kvm_pvm refuses QEMU's write of MSR_IA32_ARCH_CAPABILITIES (0x10a) and QEMU aborts.
	if [ "$EMULATED_KVM" = 1 ]; then
		accel=(-enable-kvm -cpu "host,-arch-capabilities")
	fi
fi

log="$(mktemp /tmp/linux_boot_qemu.XXXXXX)"
qemu_pid=""
cleanup() {
	[ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true
	rm -f "$log"
}
trap cleanup EXIT

# /init runs (on emulated KVM too, thanks to the guest kernel's patches) and ends the VM with a
# power-off, which without ACPI halts the guest; QEMU has no halt detection (and its reset after a
# reboot fails on kvm_pvm), so the test stops QEMU once the guest has halted.
cmdline="$CMDLINE_NORMAL vmmguest.end=poweroff"
if [ "$EMULATED_KVM" = 1 ] && [ "${accel[0]}" = -enable-kvm ]; then
	cmdline="$CMDLINE_EMULATED_KVM vmmguest.end=poweroff"
fi

start=$(date +%s)
"$QEMU" "${accel[@]}" -M microvm,acpi=off -m 256M -smp 1 \
	-nodefaults -no-user-config -display none -no-reboot -serial stdio \
	-kernel "$VMLINUX" -initrd "$INITRAMFS" -append "$cmdline" \
	</dev/null >"$log" 2>&1 &
qemu_pid=$!
status=running
while [ $(($(date +%s) - start)) -lt 600 ]; do
	if ! kill -0 "$qemu_pid" 2>/dev/null; then
		status=0
		wait "$qemu_pid" || status=$?
		qemu_pid=""
		break
	fi
	grep -q "reboot: System halted" "$log" && break
	sleep 1
done
elapsed=$(($(date +%s) - start))

fail() {
	echo "FAIL: $*"
	echo "--- last guest output ---"
	tail -n 40 "$log"
	exit 1
}

grep -q "Run /init as init process" "$log" || fail "no 'Run /init' after ${elapsed} s (qemu status $status)"
ktime=$(sed -n 's/^\[ *\([0-9.]*\)\] Run \/init as init process.*/\1/p' "$log" | head -n 1)
echo "reached 'Run /init' at kernel time ${ktime} s, within ${elapsed} s (emulated KVM: $EMULATED_KVM)"

grep -q "VMM-GUEST-INIT: ok" "$log" || fail "/init did not print its marker"
grep -q "VMM-GUEST-END: poweroff" "$log" || fail "/init did not reach its end"
grep -q "reboot: System halted" "$log" || fail "the guest did not halt (qemu status $status)"
echo "PASS"
