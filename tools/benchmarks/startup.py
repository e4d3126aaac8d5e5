"""startup: the boot_timer guest, launch to its output and to exit, CPU time; ours' own phases
from --boot-timer."""

from .config import PEER_VMM
from .runner import available, rounds
from .vm import boot_timer_report, run_vm


def bench_startup(env, res, a):
    impls = available(env, res, "startup", ["boot_timer"])
    for _, impl in rounds(impls, a.runs):
        r = run_vm(env.cmd(impl, env.guest("boot_timer")), {"pass": b"TEST PASS"}, timeout=60)
        if r.status != 1 or "pass" not in r.seen:
            res.fail("startup", impl, "boot_timer guest did not pass", r)
            continue
        res.add("startup", "launch to guest output", "ms", "lower", impl, r.seen["pass"] / 1e6)
        res.add("startup", "launch to exit", "ms", "lower", impl, r.wall_ns / 1e6)
        res.add("startup", "CPU time", "ms", "lower", impl, r.cpu_ns / 1e6)
        if impl not in ("vmm", PEER_VMM):
            continue
        rep = boot_timer_report(r.err)
        if rep.get("to-timer-us") is not None:
            res.add("startup", "main() to first guest instruction", "ms", "lower", impl,
                    rep["to-timer-us"] / 1e3)
        if rep.get("setup-to-first-run-us") is not None:
            res.add("startup", "main() to first KVM_RUN", "ms", "lower", impl,
                    rep["setup-to-first-run-us"] / 1e3)
        if rep.get("start-monotonic-ns"):
            res.add("startup", "launch to main() (exec, ld.so)", "ms", "lower", impl,
                    (rep["start-monotonic-ns"] - r.t0) / 1e6)
    res.note("startup: 'launch to guest output' = fork to the boot_timer guest's 'TEST PASS' read "
             "from serial (its first instruction is the boot-timer write, then 10 bytes to COM1): "
             "the like-for-like row. 'main() to ...' rows are ours only (--boot-timer); QEMU "
             "cannot report its guest's first instruction. q35 includes SeaBIOS.")
    if not env.boot_timer:
        res.note("startup: this vmm has no --boot-timer yet: its internal phases are missing")
