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

from framework import linux, testpmd

MAC = "02:00:00:00:00:33"


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
    testpmd.require()
    img = linux.images()
    sock = workdir / "net.sock"
    prefix = f"vu-linux-{os.getpid()}"
    try:
        backend = testpmd.start(vms, sock, f"{prefix}-1")
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

        backend.signal(9)
        backend.wait(30)
        testpmd.start(vms, sock, f"{prefix}-2")
        vm.wait_out("back-end reconnected", 60, err=True)
        rx_grows(shell, "AFTER")

        vm.type("poweroff -f")
        status = vm.wait(120)
        assert status == 0, f"the VMM exited {status} after poweroff, want 0\n{vm.tail()}"
    finally:
        testpmd.cleanup(prefix)
