# The PVH memory map against the configured RAM size: sorted, non-overlapping, nothing in the
# 3-4 GiB MMIO hole, RAM total = size minus at most 1 MiB. Below and above the hole, and a
# negative control (a wrong expect_mem must fail). QEMU microvm's firmware hands over an unsorted
# map with an empty entry, so it runs with `lenient`; q35 (SeaBIOS) runs strict.
# labels: guests
# requires: kvm
# timeout: 300
import pytest

from framework import host
from framework.guests import FAIL, boot_qemu, boot_vmm, expect_output, expect_pass, expect_status


@pytest.mark.parametrize("mem", ["256M", "4G"])
def test_on_our_vmm(vms, mem):
    run = boot_vmm(vms, "memmap", "--mem", mem, "--append", f"expect_mem={mem}")
    expect_pass(run)
    expect_output(run, r"^RAM total")


def test_wrong_size_fails_on_our_vmm(vms):
    run = boot_vmm(vms, "memmap", "--mem", "256M", "--append", "expect_mem=512M")
    expect_status(run, FAIL)
    expect_output(run, r"not within")


@pytest.mark.parametrize("machine,lenient", [("microvm", " lenient"), ("q35", "")])
@pytest.mark.parametrize("mem", ["256M", "4G"])
def test_on_qemu(vms, mem, machine, lenient):
    host.require("qemu")
    run = boot_qemu(vms, "memmap", "-m", mem, "-append", f"expect_mem={mem}{lenient}",
                    machine=machine)
    expect_pass(run)


def test_wrong_size_fails_on_qemu(vms):
    host.require("qemu")
    run = boot_qemu(vms, "memmap", "-append", "expect_mem=512M lenient")
    expect_status(run, FAIL)
