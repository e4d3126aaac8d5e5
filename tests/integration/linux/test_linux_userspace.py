# The default Linux guest's user space end to end (see userspace_checks.py): block, rng,
# network and system-call checks, then a shell typed at through tmux.
# This one: our VMM over virtio-mmio, the shell on COM1, ended by poweroff; the root is a qcow2
# overlay over the ext4 image (qemu-img check clean, the base unchanged afterwards).
# (163 s measured on 2026-11-28 on the 2-core kvm_pvm host.)
# labels: slow linux
# requires: kvm tmux qemu-img
# timeout: 1500
# resource: linux:1
import pytest

from userspace_checks import Config
import userspace_checks as checks

CFG = Config(runner="vmm", transport="mmio", console="com1", ending="poweroff", qcow2=True)


@pytest.fixture(scope="module")
def facts(module_vms):
    return checks.run(module_vms, CFG)


def test_host_to_guest_through_hostfwd(facts):
    checks.check_host_to_guest(facts)


def test_shell_typed_in_a_terminal(facts):
    checks.check_shell(facts)


def test_ending(facts):
    checks.check_ending(facts)


def test_guest_checks(facts):
    checks.check_guest_reports(facts)


def test_devices_the_guest_drove(facts):
    checks.check_vmm_devices(facts)


def test_acpi(facts):
    checks.check_acpi(facts)


def test_disk_read_back(facts):
    checks.check_disk(facts)
