"""blk: the blk_bench guest's 4 KiB random reads at queue depth 1 and 32, and over 2 queues."""

import os
import re

from .host_alone import HOST, blk_host, blk_host_run, with_host
from .runner import available, cached_disk, rounds
from .vm import run_vm


def bench_blk(env, res, a):
    if not os.path.exists(env.guest("blk_bench")):
        res.note("blk: skipped: blk_bench guest missing (tests/guests/blk_bench.c)")
        return
    impls = with_host(env, available(env, res, "blk", ["blk_bench"]))
    disk = cached_disk(env, "blk.img")
    seconds = 1 if a.quick else 3
    args = "seconds=1 requests=300" if a.quick else "seconds=3 requests=100000000"
    for _, impl in rounds(impls, a.runs):
        if impl == HOST:
            blk_host_rows(env, res, disk, seconds)
            continue
        for qd in (1, 32):  # one VM per depth: its CPU time is that depth's
            r = run_vm(env.cmd(impl, env.guest("blk_bench"), f"{args} qd={qd}",
                               ["--disk", f"{disk},ro"], blk_qemu_args(impl, disk)),
                       {"pass": b"TEST PASS"}, timeout=120)
            m = re.search(rb"^BENCH blk_randread qd=\d+ iops=(\d+) requests=(\d+)", r.out,
                          re.M)
            if r.status != 1 or not m:
                res.fail("blk", impl, "blk_bench guest did not pass", r)
                continue
            iops, requests = int(m.group(1)), int(m.group(2))
            res.add("blk", f"4K randread qd={qd}", "IOPS", "higher", impl, iops)
            res.add("blk", f"host CPU per request, qd={qd}", "us", "lower", impl,
                    round(r.cpu_ns / 1000 / max(requests, 1), 2))
    res.note(f"blk: blk_bench guest ({args}), 64 MiB file in the host page cache, read-only, "
             "split ring, polling in guest ring 3; QEMU virtio-blk-device (modern): "
             "qemu-microvm as QEMU's defaults have it (aio=threads on the main loop), "
             "qemu-iothread as a user tuning QEMU would run it (-object iothread, the disk's "
             "iothread=, aio=io_uring). Host CPU "
             "per request: user+system time of the whole VMM process (vCPU threads included, "
             "whose guest polls the ring; boot included) over the requests of that run.")
    if HOST in impls:
        res.note(f"blk: host: the host alone, no guest: tools/blkhost (vmm-blkhost) reads the "
                 f"same file with the same pattern (4 KiB at random aligned offsets, qd 1 and "
                 f"32, {seconds} s) through io_uring as our I/O thread does (readv, buffered), "
                 "submitting and waiting in one call; its CPU per request is its own process's. "
                 "vmm/host is the share of the host's own rate a guest gets through us.")
    bench_blk_mq(env, res, a, impls, disk)


def blk_host_rows(env, res, disk, seconds):
    for qd in (1, 32):
        got = blk_host(env, res, "blk", disk, "read", qd, seconds)
        if got:
            iops, requests, cpu_us = got
            res.add("blk", f"4K randread qd={qd}", "IOPS", "higher", HOST, iops)
            res.add("blk", f"host CPU per request, qd={qd}", "us", "lower", HOST,
                    round(cpu_us / max(requests, 1), 2))


def blk_qemu_args(impl, disk, queues=1):
    """QEMU's disk for the blk rows: its defaults, or (qemu-iothread) its best configuration
    for this guest: the queues served by an IOThread of their own, reads through io_uring."""
    drive = f"id=d0,file={disk},format=raw,if=none,readonly=on"
    device = "virtio-blk-device,drive=d0" + (f",num-queues={queues}" if queues > 1 else "")
    extra = []
    if impl == "qemu-iothread":
        extra = ["-object", "iothread,id=io0"]
        drive += ",aio=io_uring"
        device += ",iothread=io0"
    return ["-global", "virtio-mmio.force-legacy=false"] + extra + \
        ["-drive", drive, "-device", device]


def bench_blk_mq(env, res, a, impls, disk):
    """Multiqueue rows: qd=32 spread round-robin over 2 queues (one I/O thread each on ours)."""
    args = ("seconds=1 requests=300" if a.quick else "seconds=3 requests=100000000") + \
        " qd=32 queues=2"
    seconds = 1 if a.quick else 3
    for _, impl in rounds(impls, a.runs):
        if impl == HOST:
            got = blk_host_run(env, disk, 32, 2, True, seconds)
            if isinstance(got, str):
                res.fail("blk", HOST, f"vmm-blkhost, 2 loops at qd 16: {got}")
            else:
                res.add("blk", "4K randread qd=32, 2 queues", "IOPS", "higher", HOST, int(got[0]))
            continue
        r = run_vm(env.cmd(impl, env.guest("blk_bench"), args,
                           ["--disk", f"{disk},ro,num-queues=2"], blk_qemu_args(impl, disk, 2)),
                   {"pass": b"TEST PASS"}, timeout=120)
        m = re.search(rb"^BENCH blk_randread qd=32 iops=(\d+).* queues=2", r.out, re.M)
        if r.status != 1 or not m:
            res.fail("blk", impl, "blk_bench guest (queues=2) did not pass", r)
            continue
        res.add("blk", "4K randread qd=32, 2 queues", "IOPS", "higher", impl, int(m.group(1)))
    res.note("blk: the '2 queues' row: the same guest with queues=2 (VIRTIO_BLK_F_MQ, request "
             "slot i on queue i % 2, one guest vCPU polling both); ours --disk ...,num-queues=2 "
             "(an I/O thread and io_uring per queue), QEMU virtio-blk-device,num-queues=2 (both "
             "queues on the one IOThread for qemu-iothread); host: two vmm-blkhost loops at "
             "qd 16 each at once, as our two I/O threads.")
