# A start that signals interrupt still succeeds. Under tools/kvm-in-qemu starts failed with
# "KVM_CREATE_VM failed: Interrupted system call": KVM_CREATE_VM gives up (EINTR, never restarted)
# when anything is pending for the thread, a signal, a stop and continue, or the task work of an
# io_uring ring closed just before (host/kvm/kvm.h: kvm_ioctl() tries again; test_vm_signals
# covers the ring and a signal flood). Here the VMM is stopped and continued in a tight loop
# for the whole of each of 20 starts of the hello guest: every start must pass. Before the fix
# (KVM_IOCTL_TRIES 1) 6 of 150 failed with that message, 2 of 40 in another run; with 100 tries
# 1 of 150 failed in CI and 141 of 150 here (2026-11-28), so kvm_ioctl() now also tries for
# KVM_IOCTL_EINTR_MS: 150 of 150 passed, but a start under the flood takes ~1.5 s here.
# labels: guests cli
# requires: kvm
# timeout: 300
import os
import re
import signal
import time

from framework.guests import PASS, guest_path

STARTS = 20
RUN_TIMEOUT = 60


def start_under_flood(vms, kernel, i):
    """One start of the hello guest, stopped and continued without a pause until it ends (or
    RUN_TIMEOUT passes: then killed). Returns None if it passed, else why not."""
    vm = vms.start(["--kernel", kernel, "--debug-exit", "--console", "stdio", "--mem", "256M"],
                   name="vmm-hello")
    end = time.monotonic() + RUN_TIMEOUT
    try:
        while vm.popen.poll() is None and time.monotonic() < end:
            os.kill(vm.pid, signal.SIGSTOP)
            os.kill(vm.pid, signal.SIGCONT)
    except ProcessLookupError:
        pass  # it ended between the poll and the signal
    status = vm.stop(grace=0) if vm.alive() else vm.wait()
    passed = status == PASS and re.search(r"^TEST PASS$", vm.out, re.M)
    why = None if passed else \
        f"start {i}: status {status}: " + " | ".join(
            [line for line in vm.err.splitlines() if ": info:" not in line][:2])
    # 150 runs: their files go as soon as they are judged, the Vm is not kept for the report.
    vms.runs.remove(vm)
    for path in (vm.out_path, vm.err_path):
        path.unlink(missing_ok=True)
    return why


def test_starts_under_a_stop_continue_flood(vms):
    kernel = guest_path("hello")
    failures = [why for why in (start_under_flood(vms, kernel, i) for i in range(1, STARTS + 1))
                if why]
    assert not failures, f"{len(failures)} of {STARTS} starts failed:\n" + "\n".join(failures)
