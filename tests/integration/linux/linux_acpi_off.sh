#!/usr/bin/env bash
# The default Linux guest without ACPI: its kernel reads the VMM's ACPI tables by default
# (linux_userspace*.sh check that), but the MP table and the virtio_mmio.device= entries are
# still there for a guest that does not (docs/acpi.md). Two boots side by side, virtio-mmio with
# a disk and an rng, the initramfs root:
#   - acpi-off: `vmm --acpi off` (no tables at all); the shell comes up and `poweroff` typed there
#     ends the VM: /init's trap runs `poweroff -f`, the kernel has no power-off device and halts,
#     and the VMM's halt watch exits 0;
#   - cmdline: the tables are there but the kernel is told `acpi=off`; /init ends with
#     `poweroff -f`, the same halt.
# Each must reach /init, bring every vCPU online (from the MP table), find both virtio devices
# once, through the command line's entries (virtio-mmio.N), and end with status 0.
# labels: slow linux
# requires: kvm
# timeout: 1200
# resource: linux:2
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_lib.sh"

BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}
# 1 vCPU on kvm_pvm, where Linux stops at "Bringing up secondary CPUs" (docs/running.md).
ncpus=2
[ "$EMULATED_KVM" = 1 ] && ncpus=1
pids=()
sleepers=()
trap 'kill "${sleepers[@]}" 2>/dev/null; kill -9 "${pids[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT

# boot NAME APPEND VMM-ARGS...: in the background, console in $tmp/NAME.log, stdin a FIFO
# ($tmp/NAME.in, kept open by a sleeper), the exit status in $tmp/NAME.status.
boot() {
	local name=$1 append=$2
	shift 2
	head -c 1M /dev/zero >"$tmp/$name.img"
	mkfifo "$tmp/$name.in"
	sleep "$BOOT_TIMEOUT" >"$tmp/$name.in" &
	sleepers+=($!)
	(
		timeout -k 10 "$BOOT_TIMEOUT" "$VMM" -v --kernel "$VMLINUX" --initrd "$INITRAMFS" \
			--cpus "$ncpus" --mem 256M --transport mmio --disk "$tmp/$name.img" --rng "$@" \
			--append "$CMDLINE vmmguest.dhcp=0 $append" \
			<"$tmp/$name.in" >"$tmp/$name.log" 2>"$tmp/$name.err"
		echo $? >"$tmp/$name.status"
	) &
	pids+=($!)
}

# wait_log NAME REGEX SECONDS: the console of NAME shows REGEX before the VMM ends.
wait_log() {
	for _ in $(seq "$3"); do
		tr -d '\r' <"$tmp/$1.log" | grep -qE -- "$2" && return 0
		[ -e "$tmp/$1.status" ] && return 1
		sleep 1
	done
	return 1
}

boot acpi-off "vmmguest.shell=1" --acpi off
boot cmdline "acpi=off vmmguest.end=poweroff"

if wait_log acpi-off 'vmmguest:.*# ' "$BOOT_TIMEOUT"; then
	echo "ok: acpi-off: the shell came up"
	sleep 1
	echo poweroff >"$tmp/acpi-off.in"
else
	echo "FAIL: acpi-off: no shell"
	fail=1
fi
wait "${pids[@]}"

for name in acpi-off cmdline; do
	tr -d '\r' <"$tmp/$name.log" >"$tmp/log"
	check "$name: /init ran" '^VMM-GUEST-INIT: ok'
	check "$name: every vCPU online ($ncpus, the MP table)" "^VMM-GUEST-CPUS: $ncpus\$"
	if grep -qE 'ACPI: XSDT' "$tmp/log"; then
		echo "FAIL: $name: the kernel read ACPI tables"
		fail=1
	else
		echo "ok: $name: no ACPI tables read"
	fi
	n=$(grep -cE '^VMM-GUEST-VIRTIO: .* on=virtio-mmio\.[0-9]+$' "$tmp/log")
	if [ "$(grep -cE '^VMM-GUEST-VIRTIO: ' "$tmp/log")" = 2 ] && [ "$n" = 2 ]; then
		echo "ok: $name: disk and rng found once each, through virtio_mmio.device="
	else
		echo "FAIL: $name: virtio devices: $(grep -E '^VMM-GUEST-VIRTIO: ' "$tmp/log" | tr '\n' ';')"
		fail=1
	fi
	check "$name: /init powered off" '^VMM-GUEST-END: poweroff'
	check "$name: the kernel halted (no power-off device)" 'reboot: System halted'
	status=$(cat "$tmp/$name.status" 2>/dev/null || echo none)
	if [ "$status" = 0 ]; then
		echo "ok: $name: the VMM exited 0 (its halt watch)"
	else
		echo "FAIL: $name: exit status $status, want 0"
		fail=1
	fi
	if [ $fail -ne 0 ]; then
		echo "---- $name: console (last 30 lines)"
		tail -30 "$tmp/log"
		echo "---- $name: vmm stderr (last 10 lines)"
		grep -v unclaimed "$tmp/$name.err" | tail -10
	fi
done
exit $fail
