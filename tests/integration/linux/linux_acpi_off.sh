#!/usr/bin/env bash
# The default Linux guest without ACPI tables: its kernel reads the VMM's ACPI tables by default
# (linux_userspace*.sh check that), but the MP table and the virtio_mmio.device= entries are
# still there for a guest that does not (docs/acpi.md). `vmm --acpi off` (no tables at all),
# virtio-mmio with a disk and an rng, the initramfs root: the shell comes up and `poweroff` typed
# there ends the VM: /init's trap runs `poweroff -f`, the kernel has no power-off device and
# halts, and the VMM's halt watch exits 0. It must reach /init, bring every vCPU online (from the
# MP table), find both virtio devices once, through the command line's entries (virtio-mmio.N),
# and end with status 0. The other way without ACPI, the tables there but the kernel told
# `acpi=off`, is checked in linux_balloon's boot (this test booted both side by side, holding
# both `linux` slots).
# labels: slow linux
# requires: kvm
# timeout: 1200
# resource: linux:1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_lib.sh"

BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}
vmm_pid=""
sleeper=""
trap 'kill $sleeper 2>/dev/null; kill -9 $vmm_pid 2>/dev/null; rm -rf "$tmp"' EXIT

head -c 1M /dev/zero >"$tmp/disk.img"
: >"$tmp/log"
mkfifo "$tmp/in"
sleep "$BOOT_TIMEOUT" >"$tmp/in" &
sleeper=$!
timeout -k 10 "$BOOT_TIMEOUT" "$VMM" -v --kernel "$VMLINUX" --initrd "$INITRAMFS" \
	--cpus "$NCPUS" --mem 256M --acpi off --transport mmio --disk "$tmp/disk.img" --rng \
	--append "$CMDLINE vmmguest.dhcp=0 vmmguest.shell=1" <"$tmp/in" >"$tmp/log" 2>"$tmp/err" &
vmm_pid=$!

if wait_for 'vmmguest:.*# ' "$BOOT_TIMEOUT"; then
	echo "ok: acpi-off: the shell came up"
	type_cmd poweroff
else
	echo "FAIL: acpi-off: no shell"
	fail=1
fi
wait "$vmm_pid"
status=$?
check_no_acpi acpi-off 2
if [ "$status" = 0 ]; then
	echo "ok: acpi-off: the VMM exited 0 (its halt watch)"
else
	echo "FAIL: acpi-off: exit status $status, want 0"
	fail=1
fi
linux_finish
