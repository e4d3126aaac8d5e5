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

import userspace_checks as checks
from userspace_checks import Config
# the checks, run on this file's boot (the facts fixture); pytest collects them here
from userspace_checks import (  # noqa: F401
    test_host_to_guest_through_hostfwd, test_shell_typed_in_a_terminal, test_ending,
    test_guest_checks, test_devices_the_guest_drove, test_acpi, test_disk_read_back)

CFG = Config(runner="vmm", transport="mmio", console="com1", ending="poweroff", qcow2=True)


@pytest.fixture(scope="module")
def facts(module_vms):
    return checks.run(module_vms, CFG)
