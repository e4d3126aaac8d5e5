"""What the network benchmarks share: a namespace of their own with a tap, the options of one
virtio-net device on it, and one virtio_net_bench VM there with the host flooding the tap."""

import json
import os
import re
import shutil
import subprocess

from .config import CPUS, MEM
from .vm import reap, run_vm


NET_MAC = "52:54:00:77:00:02"
NET_FLOWS = 16  # UDP flows of the host->guest multiqueue rows
NET_HOST_IP, NET_GUEST_IP = "192.168.77.1", "192.168.77.2"  # only inside our own namespace


def net_capable():
    if os.geteuid() != 0 or not shutil.which("ip"):
        return False
    return subprocess.run(["ip", "netns", "list"], capture_output=True).returncode == 0


class NetNS:
    """A network namespace of our own with one tap (vnet_hdr, as QEMU and our VMM use), removed
    on leaving the with-block, whatever happens. with_ip: the tap gets NET_HOST_IP/24; qlen: the
    tap's txqueuelen (the frames waiting for the VM); queues: above 1, the tap is made
    multi_queue (IFF_MULTI_QUEUE) for a NIC with that many queue pairs; taps: that many taps
    alike (vtap0, vtap1, ...: one for each of several VMs), .tap the first."""

    def __init__(self, with_ip=False, qlen=4096, queues=1, taps=1):
        self.name = f"vmmbench-{os.getpid()}"
        self.taps = [f"vtap{i}" for i in range(taps)]
        self.tap = self.taps[0]
        self.with_ip = with_ip
        self.qlen = qlen
        self.queues = queues

    def ip(self, *args):
        subprocess.run(["ip", "-n", self.name] + list(args), check=True, capture_output=True)

    def exec(self, cmd):
        return ["ip", "netns", "exec", self.name] + list(cmd)

    def __enter__(self):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        try:
            subprocess.run(self.exec(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                                      "net.ipv6.conf.default.disable_ipv6=1"]),
                           capture_output=True)
            self.ip("link", "set", "lo", "up")
            for tap in self.taps:
                self.ip("tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr",
                        *(["multi_queue"] if self.queues > 1 else []))
                self.ip("link", "set", tap, "txqueuelen", str(self.qlen), "up")
            if self.with_ip:
                self.ip("addr", "add", f"{NET_HOST_IP}/24", "dev", self.tap)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


def net_args(tap, queues=1):
    """(our VMM's options, QEMU's options) for one virtio-net device on tap; queues above 1:
    that many queue pairs (VIRTIO_NET_F_MQ) on a multi_queue tap."""
    mq = f",queues={queues}" if queues > 1 else ""
    return (["--net", f"tap={tap},mac={NET_MAC}{mq}"],
            ["-global", "virtio-mmio.force-legacy=false",
             "-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no,vhost=off{mq}",
             "-device", f"virtio-net-device,netdev=n0,mac={NET_MAC}" + (",mq=on" if mq else "")])


def mmds_net_cmd(env, ns, append, mmds=True):
    """Our VMM with the virtio_net_bench guest from a config file (Firecracker's layout), with
    MMDS (V2) on its NIC or (mmds False) without: MMDS can only be set before the start, and the
    two differ in mmds-config alone."""
    cfg = {"boot-source": {"kernel_image_path": env.guest("virtio_net_bench"),
                           "boot_args": append},
           "machine-config": {"vcpu_count": int(CPUS), "mem_size_mib": int(MEM.rstrip("M"))},
           "network-interfaces": [{"iface_id": "net0", "host_dev_name": ns.tap,
                                   "guest_mac": NET_MAC}]}
    if mmds:
        cfg["mmds-config"] = {"network_interfaces": ["net0"], "version": "V2"}
    path = os.path.join(env.tmp, "mmds-net.json" if mmds else "plain-net.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return [env.vmm, "--config-file", path, "--console", "stdio", "--debug-exit"]


def net_run(env, ns, impl, append, send_s, net_opts="", flows=0, config_file=False):
    """One virtio_net_bench VM in ns; the host floods the tap each time the guest says
    'BENCH rx ready SIZE' (flows: IPv4/UDP frames of that many flows instead of raw ones).
    net_opts: more of our --net option (",tx-ops=5:10"). config_file: our VMM from a config file
    (mmds_net_cmd), with MMDS when impl is "vmm-mmds". Returns the run and {size: frames/s the
    host sender managed}."""
    senders, started = {}, set()
    more = [str(flows)] if flows else []

    def react(buf):
        for size in re.findall(rb"BENCH rx ready (\d+)\r?\n", buf):
            if size not in started:
                started.add(size)
                senders[int(size)] = subprocess.Popen(
                    ns.exec(env.net_host + ["send", ns.tap, NET_MAC, size.decode(),
                                            str(send_s)] + more),
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    vmm_extra, qemu_extra = net_args(ns.tap, ns.queues)
    vmm_extra[-1] += net_opts
    cmd = ns.exec(mmds_net_cmd(env, ns, append, impl == "vmm-mmds") if config_file else
                  env.cmd(impl, env.guest("virtio_net_bench"), append, vmm_extra, qemu_extra))
    try:
        r = run_vm(cmd, {"pass": b"TEST PASS"}, timeout=120, react=react)
    finally:
        reap(senders.values())
    sent = {}
    for size, p in senders.items():
        m = re.search(rb"host sent (\d+) ", p.stdout.read() or b"")
        p.stdout.close()
        if m:
            sent[size] = int(m.group(1)) / send_s
    return r, sent
