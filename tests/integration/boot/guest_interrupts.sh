#!/usr/bin/env bash
# Interrupt delivery: the LAPIC timer (irq_wait's watchdog) and an IOAPIC-routed ISA interrupt
# (COM1's THR-empty interrupt on pin 4), waited for with sti; hlt.
# labels: guests
# requires: kvm
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

run_vmm interrupts
expect_pass
expect_output '^IOAPIC pin 4 -> vector 0x41: ok$'
if have_qemu; then
	for machine in microvm q35; do
		QEMU_MACHINE=$machine run_qemu interrupts
		expect_pass
		expect_output '^IOAPIC pin 4 -> vector 0x41: ok$'
	done
fi
finish
