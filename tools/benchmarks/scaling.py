"""scaling (issue 68): how throughput and the host CPU per request grow with the queues of one VM
(1, 2, 4) and with the VMs on the host (1, 2, 4, 8, each with one queue), for blk (4 KiB random
reads, qd 32 in all) and net (guest->host 60-byte frames): ours against QEMU at its best
configuration here, and the host alone doing the same work that many times at once."""

import os
import re
import threading

from .blk import blk_qemu_args
from .host_alone import HOST, blk_host_run, net_host_capable, net_host_tx_run
from .netns import NetNS, net_args, net_capable
from .runner import available, cached_disk, rounds
from .vm import LiveVM

QUEUES = (1, 2, 4)
VMS = (1, 2, 4, 8)
QUICK = ((2, 1), (1, 2))  # (queues, VMs) in --quick: each code path once
BLK_QD = 32
# Our vCPU threads are "vcpuN" (vmm/vm/vcpu.c), QEMU's "CPU N/KVM" with debug-threads=on.
VCPU_THREAD = re.compile(r"^(vcpu\d+|CPU \d+/KVM)$")
QEMU_THREAD_NAMES = ["-name", "scaling,debug-threads=on"]


def bench_scaling(env, res, a):
    configs = QUICK if a.quick else [(q, 1) for q in QUEUES] + [(1, n) for n in VMS[1:]]
    blk_impls = available(env, res, "scaling-blk", ["blk_bench"])
    if blk_impls:
        disk = cached_disk(env, "scaling.img")
        seconds = 1 if a.quick else 3
        for q, n in configs:
            for _, impl in rounds(blk_impls + ([HOST] if env.blk_host else []), a.runs):
                if impl == HOST:  # one loop per queue (sharing qd 32) or per VM (qd 32 each)
                    got = blk_host_run(env, disk, BLK_QD, max(q, n), n == 1, seconds)
                else:
                    got = vm_run(blk_cmds(env, impl, disk, q, n, seconds), BLK_MARKS)
                add_rows(res, "blk 4K reads qd=32", "IOPS", "request", impl, q, n, got)
        blk_notes(res, seconds, env.blk_host)
    if not net_capable():
        res.note("scaling: net rows skipped: they need root and ip netns")
        return
    net_impls = available(env, res, "scaling-net", ["virtio_net_bench"])
    if not net_impls:
        return
    tx_ms = 300 if a.quick else 2000
    for q, n in configs:
        for _, impl in rounds(net_impls + ([HOST] if net_host_capable(env) else []), a.runs):
            with NetNS(queues=q, taps=n) as ns:
                got = (net_host_tx_run(env, ns, 60, q, tx_ms / 1000) if impl == HOST else
                       vm_run(net_cmds(env, ns, impl, q, tx_ms), NET_MARKS))
            add_rows(res, "net guest->host 60-byte frames", "frames/s", "frame", impl, q, n, got)
    net_notes(res, tx_ms, net_host_capable(env))


def config_name(q, n):
    return f"{n} VM{'s' if n > 1 else ''}, {q} queue{'s' if q > 1 else ''}" + \
        (" each" if n > 1 else "")


def add_rows(res, what, unit, per, impl, q, n, got):
    """got: (ops/s summed over the VMs or host loops, ops, CPU ns outside the vCPU threads, CPU ns
    on the vCPU threads, the share of the longest window all of them overlapped) or a reason
    it failed."""
    if isinstance(got, str):
        res.fail("scaling", impl, f"{what}, {config_name(q, n)}: {got}")
        return
    rate, ops, dev_ns, vcpu_ns, shared = got
    name = f"{what}, {config_name(q, n)}"
    res.add("scaling", name + " (sum)", unit, "higher", impl, int(rate))
    res.add("scaling", f"{what}: host CPU per {per} outside vCPUs, {config_name(q, n)}", "us",
            "lower", impl, round(dev_ns / 1000 / max(ops, 1), 3))
    res.add("scaling", f"{what}: host CPU per {per} in all, {config_name(q, n)}", "us", "lower",
            impl, round((dev_ns + vcpu_ns) / 1000 / max(ops, 1), 3))
    if n > 1 and shared is not None:
        res.add("scaling", f"{what}: windows' overlap, {config_name(q, n)}", "%", "higher", impl,
                int(shared * 100))


# --- VMs -------------------------------------------------------------------------------------

# The markers of each guest's measured window and the result line's pattern.
BLK_MARKS = (b"disk: ", b"BENCH blk_randread",
             rb"BENCH blk_randread qd=\d+ iops=(\d+) requests=(\d+) usec=(\d+)")
NET_MARKS = (b"clock: ", b"tx 60-byte frames: ",
             rb"tx 60-byte frames: (\d+) in (\d+) us")


def blk_cmds(env, impl, disk, q, n, seconds):
    append = f"seconds={seconds} requests=100000000 qd={BLK_QD} queues={q} hold=1"
    ours = ["--disk", f"{disk},ro" + (f",num-queues={q}" if q > 1 else "")]
    peer = blk_qemu_args(impl, disk, q) + QEMU_THREAD_NAMES
    return [env.cmd(impl, env.guest("blk_bench"), append, ours, peer) for _ in range(n)]


def net_cmds(env, ns, impl, q, tx_ms):
    # rx_wait_ms: after the transmit phases the guest would wait for frames; it is stopped first
    append = f"tx_ms={tx_ms} rx_wait_ms=60000" + (f" pairs={q}" if q > 1 else "")
    cmds = []
    for tap in ns.taps:
        ours, peer = net_args(tap, q)
        cmds.append(ns.exec(env.cmd(impl, env.guest("virtio_net_bench"), append, ours,
                                    peer + QEMU_THREAD_NAMES)))
    return cmds


def thread_cpu(pid):
    """(ns on the vCPU threads, ns on every other thread) of process pid until now, from each
    thread's schedstat; None once it is gone."""
    vcpu = other = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # the thread ended
        if VCPU_THREAD.match(name):
            vcpu += ns
        else:
            other += ns
    return vcpu, other


def vm_window(vm, marks, timeout, out):
    """One VM's window from its start marker to its end marker: its threads' CPU at both, the
    times they were read, the result line. Appends a dict, or a string saying what failed."""
    start, end, line = marks
    if vm.wait_seen("start", timeout) is None:
        out.append(f"no {start.decode().strip()!r} line")
        return
    c0 = thread_cpu(vm.p.pid)
    if vm.wait_seen("end", timeout) is None or c0 is None:
        out.append(f"no {end.decode().strip()!r} line")
        return
    c1 = thread_cpu(vm.p.pid)
    m = vm.wait_match(line + rb"[^\r\n]*\r?\n", 10)  # the whole line
    if c1 is None or not m:
        out.append("the result line did not come (or the VM ended first)")
        return
    out.append({"t0": vm.seen["start"] + vm.t0, "t1": vm.seen["end"] + vm.t0,
                "vcpu": c1[0] - c0[0], "other": c1[1] - c0[1], "m": m})


def vm_run(cmds, marks, timeout=120):
    """Starts every command at once, measures each VM's window (vm_window), stops them all;
    (summed rate, ops, CPU outside vCPUs, CPU on vCPUs, overlap) or what failed."""
    vms = [LiveVM(c, watch={"start": marks[0], "end": marks[1]}) for c in cmds]
    out = []
    try:
        threads = [threading.Thread(target=vm_window, args=(vm, marks, timeout, out))
                   for vm in vms]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for vm in vms:
            vm.stop()
    bad = [w for w in out if isinstance(w, str)]
    if bad:
        tail = vms[0].out[-300:].decode(errors="replace")
        return f"{bad[0]} ({len(bad)} of {len(vms)} VMs); first VM's output ends: {tail!r}"
    rate = ops = 0
    for w in out:
        count, usec = window_ops(w["m"])
        rate += count * 1e6 / max(usec, 1)
        ops += count
    return (rate, ops, sum(w["other"] for w in out), sum(w["vcpu"] for w in out),
            overlap([(w["t0"], w["t1"]) for w in out]))


def window_ops(m):
    """(operations, microseconds) of a result line: blk's (iops, requests, usec) or net's
    (frames, usec)."""
    g = [int(x) for x in m.groups()]
    return (g[1], g[2]) if len(g) == 3 else (g[0], g[1])


def overlap(windows):
    """The time all windows shared over the longest one's length (1 for one window)."""
    shared = min(t1 for _, t1 in windows) - max(t0 for t0, _ in windows)
    return max(0, shared) / max(max(t1 - t0 for t0, t1 in windows), 1)


# --- notes -----------------------------------------------------------------------------------

def blk_notes(res, seconds, host):
    res.note(f"scaling: blk rows: the blk_bench guest (4 KiB random reads, qd 32 in all, {seconds} "
             "s, 64 MiB file in the page cache, read-only, every VM on the same file), one VM "
             "with 1, 2 or 4 queues (requests round-robin over them), or 2, 4 or 8 VMs at once "
             "with one queue each. Ours: --disk ...,num-queues=N (an I/O thread and io_uring per "
             "queue); qemu-iothread: QEMU's best configuration here (an IOThread, aio=io_uring, "
             "num-queues=N; QEMU 7.2 puts every queue of a disk on its one IOThread).")
    if host:
        res.note("scaling: blk rows, host: the host alone, no VM: vmm-blkhost reading the same "
                 "file through io_uring, one loop per queue at qd 32/N (one VM, N queues), or N "
                 "loops at qd 32 (N VMs); its CPU rows are its processes' user+system time.")


def net_notes(res, tx_ms, host):
    res.note(f"scaling: net rows: the virtio_net_bench guest's transmit phase, 60-byte frames "
             f"for {tx_ms} ms (the guest times it), one VM with 1, 2 or 4 queue pairs (frames on "
             "each transmit queue in turn, a multi_queue tap), or 2, 4 or 8 VMs at once, each on "
             "a tap of its own. Ours: --net tap=...,queues=N (I/O threads as the VMM picks them: "
             "one per pair up to the host's spare CPUs); qemu-microvm: -netdev tap,queues=N, "
             "vhost=off, virtio-net-device,mq=on: QEMU's best here, with no vhost-net.")
    if host:
        res.note("scaling: net rows, host: the host alone: vmm-netgen tapwrite writing 60-byte "
                 "frames into the tap's fd (one writev() each, as our transmit path), one "
                 "process per queue of the multi_queue tap (one VM, N pairs) or per tap (N VMs).")
    res.note("scaling: 'host CPU per request (frame)': the CPU time of the VMMs' threads "
             "(schedstat) from each guest's start line to the end of its measured window, over "
             "the requests (frames) it did. 'outside vCPUs' is the device side (I/O threads, "
             "main loop, for QEMU its IOThread); 'in all' adds the vCPU threads, whose guests "
             "poll their rings in ring 3 and so take whatever CPU is left. Rates are the guests' "
             "own (each VM times its window), summed over the VMs; 'windows' overlap' is the "
             "time all of a run's VMs were measuring at once over the longest window: below "
             "100 % the sum is somewhat above what they did together.")
