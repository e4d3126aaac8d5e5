# A confined VMM survives being stopped and continued (Ctrl-Z and fg, SIGSTOP/SIGCONT, a
# debugger, a frozen cgroup): each thread's interrupted sleep goes on through restart_syscall,
# which every role's filter allows (host/sandbox/sandbox_base.c). Before that was allowed the
# first SIGCONT killed the VMM by SIGSYS. A guest that waits for ever (halt.irq=1) is stopped and
# continued a few times while it runs, with its default --seccomp on, then with a virtio-rng and
# a disk so that I/O threads sleep too; it must still be running afterwards and end on SIGTERM.
# labels: sandbox
# requires: kvm
# timeout: 120
import os
import signal
from pathlib import Path

import pytest

from framework.guests import guest_path
from framework.proc import wait_until
from framework.vm import sigterm_then_wait


def threads(pid):
    """{thread name: (state letter, seccomp mode)} of PID's threads ({} once it is gone)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            status = dict(line.split(":\t", 1) for line in
                          (task / "status").read_text().splitlines() if ":\t" in line)
        except (FileNotFoundError, ProcessLookupError):
            continue
        found[status["Name"].strip()] = (status["State"].strip()[0], status["Seccomp"].strip())
    return found


def all_in(vm, states, names=()):
    """Every thread of VM is in one of STATES and confined (seccomp mode 2), and NAMES are
    among them."""
    now = threads(vm.pid)
    return now and all(name in now for name in names) and \
        all(state in states and mode == "2" for state, mode in now.values())


@pytest.mark.parametrize("extra, names", [
    ((), ("vcpu0",)),
    (("--rng", "--disk", "{disk}"), ("vcpu0", "io-virtio-blk", "io-virtio-rng")),
], ids=["vcpu-and-main", "with-io-threads"])
def test_stop_and_continue(vms, workdir, extra, names):
    disk = workdir / "disk.img"
    disk.write_bytes(b"")
    os.truncate(disk, 1 << 20)
    vm = vms.start(["--kernel", guest_path("halt"), "--debug-exit", "--console", "none",
                    "--append", "halt.irq=1", *[a.format(disk=disk) for a in extra]])
    # Every thread is set up and confined, sleeping in its wait.
    wait_until(lambda: all_in(vm, "S", names), 30, f"{names} confined and asleep",
               alive=vm.alive)
    for _ in range(3):
        vm.signal(signal.SIGSTOP)
        wait_until(lambda: all_in(vm, "T"), 10, "every thread stopped", alive=vm.alive)
        vm.signal(signal.SIGCONT)
        wait_until(lambda: all_in(vm, "SR"), 10, "every thread running again", alive=vm.alive)
    assert vm.alive(), f"died while stopped and continued\n{vm.tail()}"
    status = sigterm_then_wait(vm)
    assert status == 143, f"status {status}, want 143 (its exit on SIGTERM)\n{vm.tail()}"
    assert "Bad system call" not in vm.out, vm.tail()
    assert "SIGSYS" not in vm.err and "seccomp" not in vm.err, \
        f"the sandbox stopped it: {vm.err[:500]}"
