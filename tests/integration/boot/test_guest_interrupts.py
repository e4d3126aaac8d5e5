# Interrupt delivery: the LAPIC timer (irq_wait's watchdog) and an IOAPIC-routed ISA interrupt
# (COM1's THR-empty interrupt on pin 4), waited for with sti; hlt.
# labels: guests
# requires: kvm
# timeout: 180
import pytest

from framework import host
from framework.guests import boot_qemu, boot_vmm, expect_output, expect_pass

IOAPIC_LINE = r"^IOAPIC pin 4 -> vector 0x41: ok$"


def test_on_our_vmm(vms):
    run = boot_vmm(vms, "interrupts")
    expect_pass(run)
    expect_output(run, IOAPIC_LINE)


@pytest.mark.parametrize("machine", ["microvm", "q35"])
def test_on_qemu(vms, machine):
    host.require("qemu")
    run = boot_qemu(vms, "interrupts", machine=machine)
    expect_pass(run)
    expect_output(run, IOAPIC_LINE)
