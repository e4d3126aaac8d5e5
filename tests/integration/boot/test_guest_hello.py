# The smallest test guest on our VMM and on QEMU (microvm and q35): PVH entry, long mode, COM1
# output, isa-debug-exit pass status.
# labels: guests
# requires: kvm
# timeout: 180
import pytest

from framework import host
from framework.guests import boot_qemu, boot_vmm, expect_output, expect_pass


def test_on_our_vmm(vms):
    run = boot_vmm(vms, "hello", "--append", "hello=1")
    expect_pass(run)
    expect_output(run, r"^hello from the test guest$")
    expect_output(run, r'cmdline "hello=1"')


@pytest.mark.parametrize("machine", ["microvm", "q35"])
def test_on_qemu(vms, machine):
    host.require("qemu")
    run = boot_qemu(vms, "hello", "-append", "hello=1", machine=machine)
    expect_pass(run)
    expect_output(run, r"^hello from the test guest$")
    expect_output(run, r'cmdline "hello=1"')
