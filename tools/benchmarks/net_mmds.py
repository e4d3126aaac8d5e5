"""net-mmds: the net rows with MMDS on the NIC against without it, ours only."""

import re

from .netns import NetNS, net_capable, net_run
from .runner import available, rounds


def bench_net_mmds(env, res, a):
    """The transmit and receive paths with MMDS on the NIC (every guest frame is looked at for
    the MMDS address) against the same VMM without it, alternating."""
    if not net_capable():
        res.note("net-mmds: skipped: needs root and ip netns")
        return
    available(env, res, "net-mmds", ["virtio_net_bench"])
    tx_ms, send_s = (300, 0.5) if a.quick else (2000, 2)
    append = f"tx_ms={tx_ms} rx_idle_ms=300"
    for _, impl in rounds(["vmm", "vmm-mmds"], a.runs):
        with NetNS() as ns:
            r, _ = net_run(env, ns, impl, append, send_s, config_file=True)
        m = re.search(rb"^BENCH net tx_pps=(\d+) tx_mbps=(\d+) rx_pps=(\d+) rx_mbps=(\d+)",
                      r.out, re.M)
        if r.status != 1 or not m:
            res.fail("net-mmds", impl, "virtio_net_bench guest did not pass", r)
            continue
        tx_pps, tx_mbps, rx_pps, rx_mbps = (int(x) for x in m.groups())
        res.add("net-mmds", "guest->host 60-byte frames", "frames/s", "higher", impl, tx_pps)
        res.add("net-mmds", "guest->host 1514-byte frames", "Mbit/s", "higher", impl, tx_mbps)
        res.add("net-mmds", "host->guest 60-byte frames", "frames/s", "higher", impl, rx_pps)
        res.add("net-mmds", "host->guest 1514-byte frames", "Mbit/s", "higher", impl, rx_mbps)
    res.note("net-mmds: the net benchmark's guest and tap, ours only, both VMs from the same "
             "config file (Firecracker's layout): `vmm` without MMDS, `vmm-mmds` with "
             "mmds-config (V2) on its NIC, so every frame the guest sends is checked for the "
             "MMDS address before the tap. Alternating runs.")
