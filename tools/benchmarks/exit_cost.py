"""exit-cost: ns per MMIO write that exits to user space, and per one bound to an ioeventfd."""

import re

from .runner import available, rounds
from .vm import run_vm


def bench_exit_cost(env, res, a):
    impls = available(env, res, "exit-cost", ["exit_cost"])
    loops = 2000 if a.quick else 20000
    qemu = ["-global", "virtio-mmio.force-legacy=false", "-device", "virtio-rng-device"]
    for _, impl in rounds(impls, a.runs):
        r = run_vm(env.cmd(impl, env.guest("exit_cost"), f"loops={loops}", ["--rng"], qemu),
                   {"pass": b"TEST PASS"}, timeout=120)
        m = re.search(rb"^BENCH exit_cost mmio_exit_ns=(\d+) ioeventfd_ns=(\d+|-)", r.out, re.M)
        if r.status != 1 or not m:
            res.fail("exit-cost", impl, "exit_cost guest did not pass", r)
            continue
        res.add("exit-cost", "MMIO write, exit to user space", "ns", "lower", impl, int(m.group(1)))
        if m.group(2) != b"-":
            res.add("exit-cost", "MMIO write, ioeventfd", "ns", "lower", impl, int(m.group(2)))
    res.note(f"exit-cost: exit_cost guest, {loops} ring-3 writes of each kind: to 0xC0000008 "
             "(no ioeventfd: KVM_EXIT_MMIO to user space) and to virtio-rng's QueueNotify "
             "(ioeventfd). Published kvm-unit-tests figures: 8796 / ~3600 cycles.")
