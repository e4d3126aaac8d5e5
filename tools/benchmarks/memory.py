"""memory: the mem_touch guest writes a known amount; peak RSS and the VMM's own overhead."""

from .runner import available, rounds
from .vm import run_vm


def bench_memory(env, res, a):
    impls = available(env, res, "memory", ["mem_touch"])
    touch_mib = 16 if a.quick else 64
    for _, impl in rounds(impls, a.runs):
        r = run_vm(env.cmd(impl, env.guest("mem_touch"), f"touch={touch_mib}M"),
                   {"pass": b"TEST PASS"}, timeout=60)
        if r.status != 1 or "pass" not in r.seen:
            res.fail("memory", impl, "mem_touch guest did not pass", r)
            continue
        rss = r.maxrss_kib / 1024
        res.add("memory", "peak RSS", "MiB", "lower", impl, rss)
        res.add("memory", f"peak RSS - {touch_mib} MiB touched", "MiB", "lower", impl,
                rss - touch_mib)
    res.note(f"memory: the mem_touch guest writes every page of {touch_mib} MiB from ring 3; "
             "peak RSS is wait4()'s ru_maxrss. The overhead row still counts the guest's own "
             "code, stacks and page tables (and QEMU's firmware).")
