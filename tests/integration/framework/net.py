"""A network namespace with a tap, made for one test and removed with it (the `netns` fixture).
Our VMM (and QEMU) run inside it through `ns.wrap` (`ip netns exec NAME`): the tap is theirs,
and nothing touches the host's own network."""
import os


import subprocess

from . import host


class NetNs:
    """Namespace NAME with tap TAP (vnet_hdr), its link up; host_ip ("10.0.0.1") set on it if
    given, mtu, txqueuelen and multi_queue as asked."""

    def __init__(self, name, tap="tap0", host_ip=None, mtu=None, qlen=None, multi_queue=False):
        host.require("netns")
        self.name = name
        self.tap = tap
        self.host_ip = host_ip
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self.ip("netns", "add", name, netns=False)
        self.exec("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                  "net.ipv6.conf.default.disable_ipv6=1")
        self.ip("link", "set", "lo", "up")
        self.ip("tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr",
                *(["multi_queue"] if multi_queue else []))
        if mtu:
            self.ip("link", "set", tap, "mtu", str(mtu))
        if qlen:
            self.ip("link", "set", tap, "txqueuelen", str(qlen))
        if host_ip:
            self.ip("addr", "add", f"{host_ip}/24", "dev", tap)
        self.ip("link", "set", tap, "up")

    @property
    def wrap(self):
        """The prefix that runs a program inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def ip(self, *args, netns=True):
        cmd = ["ip", *(["-n", self.name] if netns else []), *args]
        run = subprocess.run(cmd, capture_output=True, text=True)
        assert run.returncode == 0, f"{' '.join(cmd)}: {run.stderr.strip()}"
        return run.stdout

    def exec(self, *cmd, check=True, timeout=60):
        """Runs CMD inside the namespace to its end; returns the CompletedProcess."""
        run = subprocess.run([*self.wrap, *map(str, cmd)], capture_output=True, text=True,
                             timeout=timeout)
        assert not check or run.returncode == 0, \
            f"{' '.join(map(str, cmd))} in {self.name}: {run.returncode}: {run.stderr.strip()}"
        return run

    def remove(self):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)

    def send_frame(self, dest_mac, ethertype, payload=bytes(46)):
        """Sends one raw Ethernet frame out of the tap (from inside the namespace)."""
        code = ("import socket,struct,sys\n"
                "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.htons(3))\n"
                "s.bind((sys.argv[1],0))\n"
                "s.send(bytes.fromhex(sys.argv[2])+s.getsockname()[4]"
                "+struct.pack('!H',int(sys.argv[3]))+bytes.fromhex(sys.argv[4]))\n")
        self.exec("python3", "-c", code, self.tap, dest_mac.replace(":", ""), str(ethertype),
                  payload.hex())


def unique_name(prefix):
    """A namespace or tap name no other test uses at the same time (15 characters at most)."""
    return f"{prefix}{os.getpid() % 100000}"[:15]


