"""iperf3 (hardware KVM only): TCP both ways between the guest and the host's tap."""

import shutil
import subprocess

from .netns import NET_GUEST_IP, NET_HOST_IP, NetNS, net_args, net_capable
from .rootfs import bench_results, debian_guest, hw_skip, rootfs_run
from .runner import available, rounds
from .vm import reap


def bench_iperf3(env, res, a):
    if hw_skip(res, "iperf3"):
        return
    if not net_capable() or not shutil.which("iperf3"):
        res.note("iperf3: skipped: needs root, ip netns and iperf3 on the host")
        return
    impls = available(env, res, "iperf3", [])
    g = debian_guest(res, "iperf3") if impls else None
    if not g:
        return
    secs, omit = (3, 1) if a.quick else (20, 5)
    jobs = ["iperf3", "iperf3-R"]
    append = (f"vmmbench.runtime={secs} vmmbench.omit={omit} "
              f"vmmbench.ip={NET_GUEST_IP}/24 vmmbench.server={NET_HOST_IP}")
    for _, impl in rounds(impls, a.runs):
        with NetNS(with_ip=True) as ns:
            server = subprocess.Popen(ns.exec(["iperf3", "-s", "-B", NET_HOST_IP]),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                vmm_extra, qemu_extra = net_args(ns.tap)
                r = rootfs_run(env, g, impl, jobs, append, vmm_extra, qemu_extra,
                               secs * 4 + 300, wrap=ns.exec)
            finally:
                server.terminate()
                reap([server])
        found = bench_results(r.out)
        for job, label in (("iperf3", "guest->host TCP"), ("iperf3-R", "host->guest TCP")):
            try:
                bps = found[job]["end"]["sum_received"]["bits_per_second"]
            except (KeyError, TypeError):
                res.fail("iperf3", impl, f"no {job} result", r)
                continue
            res.add("iperf3", f"{label}, 128 KiB writes", "Gbit/s", "higher", impl, bps / 1e9)
    res.note(f"iperf3: Debian rootfs, iperf3 client in the guest, server on the host's tap in a "
             f"private namespace, {secs} s (omit {omit}), 128 KiB writes, both directions (-R).")
