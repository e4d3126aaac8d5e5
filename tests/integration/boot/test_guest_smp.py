# AP start-up with INIT-SIPI-SIPI: every vCPU must check in with its own APIC ID. CPU counts from
# the command line (ncpus=N) and, on our VMM, from its MP table. A count mismatch must fail.
# (QEMU q35's SeaBIOS MP table lists only the BSP, so QEMU runs always pass ncpus=.)
# labels: guests
# requires: kvm
# timeout: 300
import pytest

from framework import host
from framework.guests import FAIL, boot_qemu, boot_vmm, expect_output, expect_pass, expect_status


@pytest.mark.parametrize("n", [1, 2, 4])
def test_on_our_vmm(vms, n):
    run = boot_vmm(vms, "smp", "--cpus", n, "--append", f"ncpus={n}")
    expect_pass(run)
    expect_output(run, rf"^all {n} CPUs up$")


def test_count_from_the_mp_table(vms):
    run = boot_vmm(vms, "smp", "--cpus", 3)
    expect_pass(run)
    expect_output(run, r"^MP table lists 3 CPUs$")


def test_count_mismatch_fails(vms):
    run = boot_vmm(vms, "smp", "--cpus", 4, "--append", "ncpus=2")
    expect_status(run, FAIL)


@pytest.mark.parametrize("n", [2, 4])
def test_on_qemu_microvm(vms, n):
    host.require("qemu")
    run = boot_qemu(vms, "smp", "-smp", n, "-append", f"ncpus={n}")
    expect_pass(run)
    expect_output(run, rf"^all {n} CPUs up$")


def test_on_qemu_q35(vms):
    host.require("qemu")
    run = boot_qemu(vms, "smp", "-smp", 2, "-append", "ncpus=2", machine="q35")
    expect_pass(run)
