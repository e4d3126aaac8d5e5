# The default Linux guest (initramfs, shell on COM1) with a NIC served by dpdk-testpmd over
# vhost-user (--net vhost-user=SOCK,mac=...; virtio/vhost_user/vu_net.c), testpmd looping its
# port in macswap mode (every frame comes back with its addresses swapped):
#   1. the guest's eth0 has the MAC given with mac= and its link is up (VIRTIO_NET_F_STATUS);
#   2. frames the guest sends (DHCP discovers) come back: eth0's rx_packets grows;
#   3. testpmd is killed and restarted on the same socket: the device reconnects by itself (rx
#      buffers posted: resumed at the used index, docs/vhost-user.md) and frames come back again;
#   4. the guest powers off: the VMM exits 0.
# A boot, not the shared snapshot: a VM with a vhost-user device cannot be snapshotted
# (docs/vhost-user.md: the device refuses).
# (251 s measured on 2026-11-28 on the 2-core kvm_pvm host at a load average of 5-7.)
# labels: slow linux vhost_user
# requires: kvm root
# timeout: 1200
# resource: linux:2
import os
import re
import shutil

from framework import host, linux
from framework.proc import wait_until

TESTPMD = os.environ.get("TESTPMD", "dpdk-testpmd")
MAC = "02:00:00:00:00:33"


class DpdkTestpmd:
    """dpdk-testpmd serving SOCK (no huge pages; DPDK does not remove a stale socket)."""

    def __init__(self, vms, sock):
        self.vms, self.sock = vms, sock
        self.prefix = f"vu-linux-{os.getpid()}"
        self.proc = None

    def start(self):
        cpu = min(os.sched_getaffinity(0))
        if self.sock.exists():
            self.sock.unlink()
        self.proc = self.vms.process(
            [TESTPMD, "--lcores", f"0@{cpu},1@{cpu}", "--no-huge", "-m", "256", "--no-pci",
             f"--file-prefix={self.prefix}", "--vdev", f"net_vhost0,iface={self.sock},queues=1",
             "--", "--port-topology=loop", "--forward-mode=macswap", "--nb-cores=1",
             "--total-num-mbufs=4096", "--stats-period=60"], name="testpmd")
        wait_until(self.sock.exists, 10, "testpmd's socket", alive=self.proc.alive)

    def kill(self):
        self.proc.signal(9)
        self.proc.wait(30)

    def cleanup(self):
        shutil.rmtree(f"/var/run/dpdk/{self.prefix}", ignore_errors=True)


def rx_grows(shell, key):
    """The guest broadcasts two DHCP discovers (udhcpc waits with poll(), not alarm(): the
    default guest's kernel has no POSIX timers, so a ping that gets no answer never ends); the
    frames come back, addresses swapped: eth0's rx_packets grows."""
    output = shell.check("a=$(cat /sys/class/net/eth0/statistics/rx_packets); udhcpc -i eth0 -n"
                         " -q -t 2 -T 1 -s /bin/true >/dev/null 2>&1;"
                         " b=$(cat /sys/class/net/eth0/statistics/rx_packets);"
                         f" echo {key}=$((b - a))", timeout=60)
    match = re.search(rf"^{key}=(\d+)$", output, re.M)
    assert match and int(match.group(1)) > 0, \
        f"{key}: the frames the guest sent did not come back:\n{output}"


def test_vhost_user_net(vms, workdir):
    if not host.has(TESTPMD):
        host.skip("no vhost-user back-end", f"{TESTPMD} not installed (dpdk-dev)")
    img = linux.images()
    sock = workdir / "net.sock"
    testpmd = DpdkTestpmd(vms, sock)
    try:
        testpmd.start()
        vm, shell = linux.boot(vms, ["--kernel", img["VMLINUX"], "--initrd", img["INITRAMFS"],
                                     "--mem", "512M", "--console", "stdio", "--transport", "mmio",
                                     "--net", f"vhost-user={sock},mac={MAC}", "--append",
                                     f"{img['CMDLINE']} vmmguest.shell=1 vmmguest.dhcp=0"])
        vm.wait_out(r"vmmguest:.*# ", 60)
        # the link's carrier is read once it is up (polled in the guest, 5 s at most)
        output = shell.check("ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; " +
                             linux.until("read -r c </sys/class/net/eth0/carrier && [ $c = 1 ]",
                                         5) +
                             "; c=; read -r m </sys/class/net/eth0/address;"
                             " read -r c </sys/class/net/eth0/carrier; echo MAC=$m CARRIER=$c",
                             timeout=60)
        assert re.search(rf"^MAC={MAC} CARRIER=1$", output, re.M), \
            f"eth0 has not the MAC given, or its link is down:\n{output}"
        rx_grows(shell, "FIRST")

        testpmd.kill()
        testpmd.start()
        vm.wait_out("back-end reconnected", 60, err=True)
        rx_grows(shell, "AFTER")

        vm.type("poweroff -f")
        status = vm.wait(120)
        assert status == 0, f"the VMM exited {status} after poweroff, want 0\n{vm.tail()}"
    finally:
        testpmd.cleanup()
