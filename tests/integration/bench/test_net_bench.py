# virtio-net packet rate and throughput between the virtio_net_bench guest
# (tests/guests/virtio_net_bench.c: ring-3 polling loops, kicks by MMIO writes) and a tap in a
# network namespace of its own per run (the netns fixture), on our VMM and on QEMU (userspace
# virtio-net, vhost=off): guest -> tap (the host counts frames of EtherType 0x88b9 with
# AF_PACKET) and tap -> guest (a python3 AF_PACKET sender floods the tap; the guest counts).
# Prints the guest's line
#   BENCH net tx_pps=... tx_mbps=... rx_pps=... rx_mbps=...
# per VM, plus the host's count of what arrived. Quick mode (the default, for CTest) only checks
# that the lines appear; NET_BENCH_FULL=1 runs 2-second phases for numbers worth quoting.
# tx_pps / rx_pps come from 60-byte frames, tx_mbps / rx_mbps from 1514-byte frames.
# Then the same guest with pairs=2 on a multi-queue tap (ours --net ...,queues=2; QEMU
# -netdev tap,queues=2 with virtio-net-device,mq=on): VIRTIO_NET_F_MQ, VQ_PAIRS_SET 2, the
# guest->host frames round-robin over both transmit queues, host->guest IPv4/UDP frames of 16
# flows (the tap spreads them over the receive queues by flow hash, so only their total is
# checked); checks that the guest passed, that both pairs carried frames of each size and that
# the host saw them, and that pairs=3 on a NIC with 2 fails. No timing is asserted.
# labels: bench
# requires: kvm netns
# timeout: 600
import os
import re
import sys

import pytest

from framework import host, paths
from framework.guests import FAIL, expect_output, expect_pass, expect_status, guest_path
from framework.net_util import has_packet_socket, qemu_in
from framework.proc import wait_until

GUEST_MAC = "52:54:00:77:00:02"
RUN_TIMEOUT = 180
if os.environ.get("NET_BENCH_FULL", "0") == "1":
    TX_MS, SEND_S = 2000, 2
else:
    TX_MS, SEND_S = 300, 0.5
HOST_PY = paths.tool("benchmarks", "net_host.py")  # count / send over AF_PACKET
APPEND = f"tx_ms={TX_MS} rx_idle_ms=300"
APPEND_MQ = f"{APPEND} pairs=2"


@pytest.fixture
def ns(vms, netns, request):
    """The namespace (a tap queue of 4096, multi-queue for the pairs=2 runs) and the host's count
    of the guest's frames (ns.counter), bound before the guest starts."""
    ns = netns(tap="vtap0", qlen=4096, multi_queue=request.param == "mq")
    ns.counter = vms.process([*ns.wrap, sys.executable, HOST_PY, "count", ns.tap, 60],
                             name="counter")
    wait_until(lambda: has_packet_socket(ns.counter), 30, "the host's counter bound",
               alive=ns.counter.alive)
    return ns


def start_vmm(vms, ns, append, queues=""):
    return vms.start(["--kernel", guest_path("virtio_net_bench"), "--debug-exit", "--console",
                      "stdio", "--mem", "256M", "--net", f"tap={ns.tap},mac={GUEST_MAC}{queues}",
                      "--append", append], name="vmm", wrap=ns.wrap)


def start_qemu(vms, ns, append, queues=1):
    host.require("qemu")
    mq, mq_on = (f",queues={queues}", ",mq=on") if queues > 1 else ("", "")
    return qemu_in(vms, ns, ["-M", "microvm,acpi=off", "-m", "256M", "-serial", "stdio",
                             "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                             "-global", "virtio-mmio.force-legacy=false",
                             "-netdev", f"tap,id=n0,ifname={ns.tap},script=no,downscript=no,"
                                        f"vhost=off{mq}",
                             "-device", f"virtio-net-device,netdev=n0,mac={GUEST_MAC}{mq_on}",
                             "-kernel", guest_path("virtio_net_bench"), "-append", append])


def send_and_wait(run, ns, *flows):
    """Floods the tap each time the guest is ready for a frame size, then waits for the VM and
    the host's counter."""
    for size in (60, 1514):
        run.wait_out(rf"^BENCH rx ready {size}", 60)
        print(ns.exec(sys.executable, HOST_PY, "send", ns.tap, GUEST_MAC, size, SEND_S, *flows,
                      timeout=60).stdout.strip())
    run.status = run.wait(RUN_TIMEOUT)
    ns.counter.wait(90)
    print("\n".join(f"{run.name}: {line}"
                    for line in re.findall(r"^(?:BENCH net|tx |rx ).*$", run.out, re.M)))
    print(f"{run.name}: {ns.counter.out.strip()}")


def exercise(run, ns):
    send_and_wait(run, ns)
    expect_pass(run)
    expect_output(run, r"^BENCH net tx_pps=[0-9]+ tx_mbps=[0-9]+ rx_pps=[0-9]+ rx_mbps=[0-9]+$")


def exercise_mq(run, ns):
    send_and_wait(run, ns, 16)
    expect_pass(run)
    expect_output(run, r"^MQ: 2 queue pairs in use \(max_virtqueue_pairs 2\)$")
    expect_output(run, r"^tx 60-byte frames per pair: [1-9][0-9]* [1-9][0-9]*$")
    expect_output(run, r"^tx 1514-byte frames per pair: [1-9][0-9]* [1-9][0-9]*$")
    expect_output(run, r"^rx 1514-byte frames per pair: [0-9]+ [0-9]+$")
    expect_output(run, r"^BENCH net-mq pairs=2 tx_pps=[0-9]+ tx_mbps=[0-9]+ rx_pps=[0-9]+ "
                       r"rx_mbps=[0-9]+$")
    assert re.search(r"^host counted [1-9]", ns.counter.out, re.M), \
        f"the host saw no frames: {ns.counter.out}"


@pytest.mark.parametrize("ns", ["single"], indirect=True)
def test_our_vmm(vms, ns):
    exercise(start_vmm(vms, ns, APPEND), ns)


@pytest.mark.parametrize("ns", ["single"], indirect=True)
def test_qemu(vms, ns):
    exercise(start_qemu(vms, ns, APPEND), ns)


@pytest.mark.parametrize("ns", ["mq"], indirect=True)
def test_our_vmm_two_pairs(vms, ns):
    exercise_mq(start_vmm(vms, ns, APPEND_MQ, ",queues=2"), ns)


@pytest.mark.parametrize("ns", ["mq"], indirect=True)
def test_our_vmm_three_pairs_on_two(vms, ns):
    # the guest fails when the NIC has fewer pairs than asked
    run = start_vmm(vms, ns, "pairs=3", ",queues=2")
    run.status = run.wait(RUN_TIMEOUT)
    expect_status(run, FAIL)
    expect_output(run, r"^virtio-net: 3 queue pairs asked, the device has 2 ")


@pytest.mark.parametrize("ns", ["mq"], indirect=True)
def test_qemu_two_pairs(vms, ns):
    exercise_mq(start_qemu(vms, ns, APPEND_MQ, 2), ns)
