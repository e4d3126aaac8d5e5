"""ratelimit: how close the disk and NIC rate limiters deliver what was asked."""

import os
import re

from .netns import NetNS, net_capable, net_run
from .runner import available, rounds
from .vm import run_vm


def bench_ratelimit(env, res, a):
    """Rate-limiter accuracy: what the blk_bench guest measures (4 KiB random reads, qd 32)
    under a disk limit, as a percentage of the limit asked (100 = exact; a limiter must never
    go above). QEMU's equivalent is -drive throttling.*; QEMU has no virtio-net rate limiter."""
    if not os.path.exists(env.guest("blk_bench")):
        res.note("ratelimit: skipped: blk_bench guest missing (tests/guests/blk_bench.c)")
        return
    impls = available(env, res, "ratelimit", ["blk_bench"])
    disk = os.path.join(env.tmp, "rl.img")
    with open(disk, "wb") as f:
        f.write(os.urandom(16 << 20))
    args = "seconds=1 requests=100000000 qd=32" if a.quick else \
        "seconds=5 requests=100000000 qd=32"
    # (metric, asked in 4 KiB reads/s, our --disk option, QEMU's -drive throttling option)
    cases = [("blk ops, asked 500/s", 500, "ops=5:10", "throttling.iops-total=500"),
             ("blk bandwidth, asked 2000 KiB/s", 500, "bw=20K:10",
              "throttling.bps-total=2048000")]
    for metric, asked, ours, theirs in cases:
        qemu = ["-global", "virtio-mmio.force-legacy=false",
                "-drive", f"id=d0,file={disk},format=raw,if=none,readonly=on,{theirs}",
                "-device", "virtio-blk-device,drive=d0"]
        for _, impl in rounds(impls, a.runs):
            r = run_vm(env.cmd(impl, env.guest("blk_bench"), args,
                               ["--disk", f"{disk},ro,{ours}"], qemu),
                       {"pass": b"TEST PASS"}, timeout=120)
            m = re.search(rb"^BENCH blk_randread qd=32 iops=(\d+)", r.out, re.M)
            if r.status != 1 or not m:
                res.fail("ratelimit", impl, "blk_bench guest did not pass", r)
                continue
            res.add("ratelimit", metric, "% of asked", "100", impl,
                    round(100.0 * int(m.group(1)) / asked, 1))
    res.note(f"ratelimit: blk_bench guest ({args}) on a 16 MiB read-only file; ours "
             "ops=5:10 / bw=20K:10 (a 10 ms token bucket), QEMU -drive throttling.iops-total "
             "/ bps-total.")
    ratelimit_net(env, res, a)


def net_phase_rate(out, direction, size):
    """Frames/s of one virtio_net_bench phase ("tx 60-byte frames: N in U us"); rx counts the
    intervals between its first and last frame, as the guest does."""
    m = re.search(rb"^%s %d-byte frames: (\d+) in (\d+) us" % (direction.encode(), size), out,
                  re.M)
    if not m or int(m.group(2)) == 0:
        return None
    n = int(m.group(1)) - (1 if direction == "rx" else 0)
    return n * 1e6 / int(m.group(2))


def ratelimit_net(env, res, a):
    """NIC limiters, ours only (QEMU has no virtio-net rate limiter): the virtio_net_bench guest
    sends for tx_ms and counts what a host flood gets through, limited both ways in one VM."""
    if not net_capable():
        res.note("ratelimit: net rows skipped: needs root and ip netns")
        return
    if not os.path.exists(env.guest("virtio_net_bench")):
        res.fail("ratelimit", "setup", f"guest {env.guest('virtio_net_bench')} not built")
        return
    tx_ms, send_s = (500, 0.5) if a.quick else (2000, 2)
    append = f"tx_ms={tx_ms} rx_idle_ms=1000"
    # (our --net limits, frame size measured, asked in frames/s, metric per direction)
    cases = [(",tx-ops=5:10,rx-ops=5:10", 60, 500, "ops, asked 500 frames/s"),
             (",tx-bw=15140:10,rx-bw=15140:10", 1514, 1000,
              "bandwidth, asked 1514000 B/s of 1514-byte frames")]
    for opts, size, asked, what in cases:
        for _ in range(a.runs):
            # A short tap queue: what is queued when the sender stops still arrives limited.
            with NetNS(qlen=256) as ns:
                r, _ = net_run(env, ns, "vmm", append, send_s, opts)
            if r.status != 1 or b"TEST PASS" not in r.out:
                res.fail("ratelimit", "vmm", "virtio_net_bench guest did not pass", r)
                continue
            for direction in ("tx", "rx"):
                got = net_phase_rate(r.out, direction, size)
                if got is not None:
                    res.add("ratelimit", f"net {direction} {what}", "% of asked", "100", "vmm",
                            round(100.0 * got / asked, 1))
    res.note(f"ratelimit: net rows: virtio_net_bench guest ({append}; host flood "
             f"{send_s} s per size, tap txqueuelen 256), both directions limited in one VM "
             "(tx-ops=5:10,rx-ops=5:10 measured on 60-byte frames; tx-bw=15140:10,"
             "rx-bw=15140:10 on 1514-byte frames); rates as the guest times them (TSC). "
             "Ours only: QEMU has no virtio-net rate limiter.")
