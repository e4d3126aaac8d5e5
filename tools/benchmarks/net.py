"""net: the virtio_net_bench guest on a tap, both directions, over 1 and 2 queue pairs."""

import os
import re
import sys

from .host_alone import HOST, net_host_capable, net_host_rows
from .netns import NET_FLOWS, NET_MAC, NetNS, net_capable, net_run
from .runner import available, rounds


def bench_net(env, res, a):
    if not net_capable():
        res.note("net: skipped: needs root and ip netns")
        print("bench: net: skipped: needs root and ip netns", file=sys.stderr)
        return
    impls = available(env, res, "net", ["virtio_net_bench"])
    tx_ms, send_s = (300, 0.5) if a.quick else (2000, 2)
    append = f"tx_ms={tx_ms} rx_idle_ms=300"
    for _, impl in rounds(impls + ([HOST] if impls and net_host_capable(env) else []), a.runs):
        if impl == HOST:
            with NetNS() as ns:
                net_host_rows(env, res, ns, tx_ms / 1000, send_s, NET_MAC)
            continue
        with NetNS() as ns:
            r, sent = net_run(env, ns, impl, append, send_s)
        m = re.search(rb"^BENCH net tx_pps=(\d+) tx_mbps=(\d+) rx_pps=(\d+) rx_mbps=(\d+)",
                      r.out, re.M)
        if r.status != 1 or not m:
            res.fail("net", impl, "virtio_net_bench guest did not pass", r)
            continue
        tx_pps, tx_mbps, rx_pps, rx_mbps = (int(x) for x in m.groups())
        res.add("net", "guest->host 60-byte frames", "frames/s", "higher", impl, tx_pps)
        res.add("net", "guest->host 1514-byte frames", "Mbit/s", "higher", impl, tx_mbps)
        res.add("net", "host->guest 60-byte frames", "frames/s", "higher", impl, rx_pps)
        res.add("net", "host->guest 1514-byte frames", "Mbit/s", "higher", impl, rx_mbps)
        frames = sum(int(x) for x in re.findall(rb"^[rt]x \d+-byte frames: (\d+) in", r.out, re.M))
        if frames:
            res.add("net", "host CPU per frame (all phases)", "us", "lower", impl,
                    round(r.cpu_ns / 1000 / frames, 2))
        for size, rate in sorted(sent.items()):
            res.add("net", f"host sender's own rate, {size}-byte frames", "frames/s", "higher",
                    impl, int(rate))
    res.note(f"net: virtio_net_bench guest (ring-3 polling, no interrupts) on a tap in a private "
             f"network namespace; guest->host: {tx_ms} ms of frames per size, timed by the guest; "
             f"host->guest: one {os.path.basename(env.net_host[-1])} AF_PACKET sender floods "
             f"the tap for {send_s} s per size "
             "(it may be the limit: compare with its own rate), the guest times first to last "
             "frame. QEMU: userspace virtio-net-device, vhost=off, modern virtio-mmio.")
    if net_host_capable(env) and impls:
        res.note("net: host: the host alone on the same tap, no VM: vmm-netgen tapwrite writes "
                 f"frames into the tap's fd for {tx_ms} ms per size, one writev() each with a "
                 "12-byte vnet header, as our transmit path does (guest->host rows); vmm-netgen "
                 "tapread reads the tap's fd, one read() a frame, while the same sender floods "
                 "it (host->guest rows, first to last frame as the guest times them). The "
                 "2-queue-pair rows: a writer, and a reader, on each queue of the multi_queue "
                 "tap at once, the sender's frames in the same flows as for the VMs.")
    bench_net_mq(env, res, a, impls, tx_ms, send_s)


def bench_net_mq(env, res, a, impls, tx_ms, send_s):
    """Multiqueue rows: the same guest with pairs=2 on a multi-queue tap; host->guest frames of
    NET_FLOWS UDP flows, which the tap spreads over both receive queues by flow hash."""
    append = f"tx_ms={tx_ms} rx_idle_ms=300 pairs=2"
    for _, impl in rounds(impls + ([HOST] if impls and net_host_capable(env) else []), a.runs):
        if impl == HOST:
            with NetNS(queues=2) as ns:
                net_host_rows(env, res, ns, tx_ms / 1000, send_s, NET_MAC, 2, NET_FLOWS)
            continue
        with NetNS(queues=2) as ns:
            r, sent = net_run(env, ns, impl, append, send_s, flows=NET_FLOWS)
        m = re.search(rb"^BENCH net-mq pairs=2 tx_pps=(\d+) tx_mbps=(\d+) rx_pps=(\d+) "
                      rb"rx_mbps=(\d+)", r.out, re.M)
        if r.status != 1 or not m:
            res.fail("net", impl, "virtio_net_bench guest (pairs=2) did not pass", r)
            continue
        tx_pps, tx_mbps, rx_pps, rx_mbps = (int(x) for x in m.groups())
        res.add("net", "guest->host 60-byte frames, 2 queue pairs", "frames/s", "higher", impl,
                tx_pps)
        res.add("net", "guest->host 1514-byte frames, 2 queue pairs", "Mbit/s", "higher", impl,
                tx_mbps)
        res.add("net", "host->guest 60-byte frames, 2 queue pairs", "frames/s", "higher", impl,
                rx_pps)
        res.add("net", "host->guest 1514-byte frames, 2 queue pairs", "Mbit/s", "higher", impl,
                rx_mbps)
        for size, rate in sorted(sent.items()):
            res.add("net", f"host sender's own rate, {size}-byte frames, 2 queue pairs",
                    "frames/s", "higher", impl, int(rate))
    res.note(f"net: the '2 queue pairs' rows: the same guest with pairs=2 (VIRTIO_NET_F_MQ and "
             f"CTRL_VQ, VQ_PAIRS_SET 2; one guest vCPU) on a multi_queue tap; guest->host: "
             f"{tx_ms} ms per size, each frame on the other transmit queue in turn; "
             f"host->guest: IPv4/UDP frames of {NET_FLOWS} flows (source ports), which the tap "
             "spreads over both receive queues by flow hash, the guest polling both. Ours "
             "--net ...,queues=2 (io-threads left to the VMM: one thread per pair only where the "
             f"host has a CPU to spare for each beside the vCPU; {_io_threads_here(2)} on this "
             "host), QEMU -netdev tap,queues=2 with virtio-net-device,mq=on (virtio-mmio, "
             "vhost=off; one main-loop thread).")


def _io_threads_here(pairs, vcpus=1):
    """The NIC I/O threads our VMM picks by default (vmm/descriptors/dev_net.c): one per pair where the
    host has a CPU to spare for each beside the vCPUs, else one per spare CPU, at least one."""
    spare = max(1, len(os.sched_getaffinity(0)) - vcpus)
    return min(pairs, spare)
