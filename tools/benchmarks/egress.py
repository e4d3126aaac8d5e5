"""egress: what a NIC's egress policy of 100 rules costs the transmit path (issue 53: within 5 %
of the same NIC without a policy), ours only (QEMU has no such policy)."""

import os
import re
import sys

from .netns import NET_HOST_IP, NetNS, net_capable, net_run

# The guest's tx_udp=1 frames go to NET_HOST_IP, UDP port 0x88b9 (tests/guests/virtio_net_bench.c).
BENCH_PORT = 0x88b9


def egress_rules(count=100):
    """count rules over two prefix lengths, only the last of which takes the benchmark's frames:
    each frame is judged against the whole set, as a fleet's policy would be."""
    rules = [f"10.{i // 250}.{i % 250}.0/24:tcp:443" for i in range(count // 2)]
    rules += [f"172.16.{i}.7/32:udp:53" for i in range(count - len(rules) - 1)]
    rules.append(f"{NET_HOST_IP}/32:udp:{BENCH_PORT}")
    return rules


def bench_egress(env, res, a):
    if not net_capable():
        res.note("egress: skipped: needs root and ip netns")
        print("bench: egress: skipped: needs root and ip netns", file=sys.stderr)
        return
    if not os.path.exists(env.guest("virtio_net_bench")):
        res.fail("egress", "setup", f"guest {env.guest('virtio_net_bench')} not built")
        return
    tx_ms, send_s = (300, 0.5) if a.quick else (2000, 2)
    append = f"tx_ms={tx_ms} rx_idle_ms=300 tx_udp=1"
    rules = egress_rules()
    configs = [("vmm", ""), ("vmm-egress100", ",egress=" + ";".join(rules))]
    for i in range(a.runs):
        # Alternating: without, with, with, without, ...
        for name, opts in (configs if i % 2 == 0 else list(reversed(configs))):
            with NetNS() as ns:
                r, _ = net_run(env, ns, "vmm", append, send_s, opts)
            m = re.search(rb"^BENCH net tx_pps=(\d+) tx_mbps=(\d+)", r.out, re.M)
            if r.status != 1 or not m:
                res.fail("egress", name, "virtio_net_bench guest did not pass", r)
                continue
            res.add("egress", "guest->host 60-byte IPv4/UDP frames", "frames/s", "higher", name,
                    int(m.group(1)))
            res.add("egress", "guest->host 1514-byte IPv4/UDP frames", "Mbit/s", "higher", name,
                    int(m.group(2)))
    res.note(f"egress: virtio_net_bench guest (tx_udp=1: IPv4/UDP frames to {NET_HOST_IP}:"
             f"{BENCH_PORT}, {tx_ms} ms per size, timed by the guest) on a tap; vmm-egress100: "
             f"the same NIC with {len(rules)} egress rules (/24 and /32 networks), the last of "
             "which takes the frames. Target (issue 53): within 5 % of vmm.")
