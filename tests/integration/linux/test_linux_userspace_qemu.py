# The default Linux guest's user space end to end (see userspace_checks.py): block, rng,
# network and system-call checks, then a shell typed at through tmux.
# This one: QEMU microvm (the peer: same kernel, disk and command line), the shell on COM1, ended
# by poweroff.
# (536 s measured on 2026-11-28 on the 2-core kvm_pvm host under a load of 7-10; the bash script
# took 161 s in an idle CI run.)
# labels: slow linux
# requires: kvm qemu tmux
# timeout: 1500
# resource: linux:1
import pytest

import userspace_checks as checks
from userspace_checks import Config
# the checks, run on this file's boot (the facts fixture); pytest collects them here
from userspace_checks import (  # noqa: F401
    test_host_to_guest_through_hostfwd, test_shell_typed_in_a_terminal, test_ending,
    test_guest_checks, test_kernel_reached_init, test_disk_read_back)

CFG = Config(runner="qemu", ending="poweroff")


@pytest.fixture(scope="module")
def facts(module_vms):
    return checks.run(module_vms, CFG)
