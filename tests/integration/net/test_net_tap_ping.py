# virtio-net over a tap, driven by the virtio_net test guest (tests/guests/virtio_net.c), on our
# VMM and on QEMU microvm, without and with offloads (MRG_RXBUF, CSUM, TSO negotiated; the tap's
# MTU raised to 65535):
#   - frames sent while the guest has no receive buffer wait and all arrive once it posts some;
#   - the guest answers ARP and ICMP echo: `ping -c 3` from the host side succeeds (and a 60000-
#     byte ping without fragmentation with offloads);
#   - frames of every size from 60 to 1514 bytes (with offloads also 1515..65535 in steps of 997,
#     and 65535: the largest an AF_PACKET socket sends on a tap, whose MTU stops at 65521) go
#     host -> guest -> host intact, and the guest sends one of 65550 bytes (5.1.6.3.1's largest);
# each run inside a network namespace of its own (the netns fixture), on a private subnet
# (192.168.77.0/24) that exists only there: no traffic leaves the namespace.
# Host-side frames come from a small python3 AF_PACKET tool (net_frames.py).
# More than 5 minutes allowed: four guest runs, each up to 300 s where ring 0 is emulated (the
# sweeps' thousands of round trips); about 4 minutes in all on this 2-core kvm_pvm host.
# labels: guests virtio net
# requires: kvm netns
# timeout: 1500
import pytest

from framework import host
from framework.guests import expect_output, expect_pass, guest_path
from framework.net_util import qemu_in
from net_frames import frames

HOST_IP = "192.168.77.1"
GUEST_IP = "192.168.77.2"
GUEST_MAC = "52:54:00:77:00:02"
DELAYED = 64
RUN_TIMEOUT = 300  # one VM run: the sweeps take minutes where ring 0 is emulated


def guest_append(mode):
    offload = " offload" if mode == "offload" else ""
    return (f"ip={GUEST_IP} rx_frames={DELAYED} rx_delay_ms=3000 "
            f"serve_ms={RUN_TIMEOUT * 1000 - 30000}{offload}")


def ping(ns, *args):
    run = ns.exec("ping", *args, GUEST_IP, check=False, timeout=60)
    assert run.returncode == 0, \
        f"ping {' '.join(args)} {GUEST_IP}: {run.stdout[-1500:]}{run.stderr}"
    print(run.stdout.strip().splitlines()[-1])


def exercise(run, ns, mode, peer):
    """The host side of one guest run (started with rx_frames=DELAYED)."""
    run.wait_out(r"^rx buffers withheld", 30)
    assert frames(ns, GUEST_MAC, "delayed", DELAYED) == f"sent {DELAYED}"
    run.wait_out(r"^serving at", 30)
    ping(ns, "-c", "3", "-W", "2", "-i", "0.3")
    print(frames(ns, GUEST_MAC, "sweep", "60-1514"))
    if mode == "offload":
        ping(ns, "-c", "2", "-W", "5", "-s", "60000", "-M", "do")  # no fragments
        print(frames(ns, GUEST_MAC, "sweep", "1515-65535:997"))
        print(frames(ns, GUEST_MAC, "gen", "65550"))
    frames(ns, GUEST_MAC, "quit")
    run.status = run.wait(60)
    expect_pass(run)
    expect_output(run, rf"^rx delay: {DELAYED} of {DELAYED} frames after buffers were posted: ok$")
    expect_output(run, r"^served: [1-9][0-9]* ARP replies, [1-9][0-9]* ICMP echo replies")
    if peer == "vmm":
        # 5.1.6.4: without MRG_RXBUF the device MUST set num_buffers to 1 (QEMU 7.2 leaves 0).
        expect_output(run, r"^num_buffers != 1 without MRG_RXBUF: 0 frames$")


@pytest.fixture
def ns(netns, mode):
    host.require("ping")
    # tun's largest MTU: 65535 - ETH_HLEN
    return netns(tap="vtap0", host_ip=HOST_IP, mtu=65521 if mode == "offload" else 1500)


@pytest.mark.parametrize("mode", ["plain", "offload"])
def test_our_vmm(vms, ns, mode):
    run = vms.start(["--kernel", guest_path("virtio_net"), "--debug-exit", "--console", "stdio",
                     "--mem", "256M", "--net", f"tap={ns.tap},mac={GUEST_MAC}",
                     "--append", guest_append(mode)], name=f"vmm-{mode}", wrap=ns.wrap)
    exercise(run, ns, mode, "vmm")


@pytest.mark.parametrize("mode", ["plain", "offload"])
def test_qemu(vms, ns, mode):
    host.require("qemu")
    run = qemu_in(vms, ns, ["-M", "microvm,acpi=off", "-m", "256M", "-serial", "stdio",
                            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                            "-global", "virtio-mmio.force-legacy=false",
                            "-netdev", f"tap,id=n0,ifname={ns.tap},script=no,downscript=no",
                            "-device", f"virtio-net-device,netdev=n0,mac={GUEST_MAC}",
                            "-kernel", guest_path("virtio_net"), "-append", guest_append(mode)],
                  name=f"qemu-{mode}")
    exercise(run, ns, mode, "qemu")
