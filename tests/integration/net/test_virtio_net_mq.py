# virtio-net multiqueue (--net tap=IF,queues=N), driven by the virtio_net_mq test guest
# (tests/guests/virtio_net_mq.c) over a multi-queue tap (IFF_MULTI_QUEUE) in a network namespace
# of its own per run (the netns fixture, 192.168.78.0/24, nothing leaves it): the guest
# negotiates VIRTIO_NET_F_MQ, checks max_virtqueue_pairs, has VQ_PAIRS_SET 0 and N+1 refused and
# N accepted, then sends UDP datagrams from every queue pair at once to an echo server on the
# host side and checks every echo byte for byte, which must arrive on at least two receive
# queues. On our VMM over virtio-mmio and virtio-pci (one MSI-X vector per queue), 2 and 4
# pairs, the I/O threads placed by iothread-cpus; 4 pairs sharing 2 I/O threads and 1
# (io-threads=); on QEMU (microvm, mq=on, queues=2) as the peer. queues= beyond 8, io-threads=
# beyond queues=, with user networking, or on a tap made without multi_queue are refused with
# a clear error. The echo server counts what it received per source port.
# labels: guests virtio net
# requires: kvm netns
# timeout: 600
import glob
import re
import signal
import sys

import pytest

from framework import host
from framework.guests import (boot_vmm, expect_output, expect_pass, guest_path,
                              guest_transport_args, transport_args)
from framework.net_util import qemu_in
from framework.proc import wait_until

HOST_IP = "192.168.78.1"
HOST_MAC = "02:00:00:00:78:01"
GUEST_IP = "192.168.78.2"
GUEST_MAC = "52:54:00:78:00:02"
RUN_TIMEOUT = 180

# UDP echo on HOST:7777 until ended; on SIGTERM prints "echoed N from P ports".
ECHO_PY = r'''
import signal, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 7777))
n, ports = 0, set()
def done(*_):
    print(f"echoed {n} from {len(ports)} ports", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
print("ready", flush=True)
while True:
    data, addr = s.recvfrom(2048)
    n += 1
    ports.add(addr[1])
    s.sendto(data, addr)
'''


@pytest.fixture
def mq_ns(vms, netns):
    """The namespace with a multi-queue tap, its address and MAC, the guest's neighbour entry,
    and the echo server (ns.echo)."""
    ns = netns(tap="vtapmq0", host_ip=HOST_IP, multi_queue=True)
    ns.ip("link", "set", ns.tap, "address", HOST_MAC)
    ns.ip("neigh", "replace", GUEST_IP, "lladdr", GUEST_MAC, "dev", ns.tap, "nud", "permanent")
    ns.echo = vms.process([*ns.wrap, sys.executable, "-c", ECHO_PY, HOST_IP], name="echo")
    ns.echo.wait_out(r"^ready", 30)
    return ns


def finish_run(run, ns, pairs):
    """Waits for the guest, stops the echo server and checks both sides."""
    run.status = run.wait(RUN_TIMEOUT)
    ns.echo.signal(signal.SIGTERM)
    ns.echo.wait(10)
    expect_pass(run)
    expect_output(run, rf"^MQ negotiated, max_virtqueue_pairs {pairs}$")
    expect_output(run, rf"^VQ_PAIRS_SET: 0 and {pairs + 1} refused, {pairs} accepted$")
    expect_output(run, rf"^round 1: {pairs * 8} datagrams from {pairs} pairs echoed intact$")
    expect_output(run, r"^frames on [0-9]+ receive queues: ok$")
    want = f"echoed {pairs * 8 * 2} from {pairs * 8} ports"
    assert want in ns.echo.out.splitlines(), f"host: want '{want}': {ns.echo.out}"
    print("\n".join(re.findall(r"^(?:receiveq|echoes on).*$", run.out, re.M)))


def start_mq(vms, ns, transport, pairs, net_opts):
    return vms.start(["--kernel", guest_path("virtio_net_mq"), "--debug-exit", "--console", "stdio",
                      "--mem", "256M", *transport_args(transport),
                      "--net", f"tap={ns.tap},mac={GUEST_MAC},queues={pairs},{net_opts}",
                      "--append", f"{guest_transport_args(transport)} queues={pairs}"],
                     name=f"vmm-{transport}-q{pairs}", wrap=ns.wrap)


@pytest.mark.parametrize("pairs", [2, 4])
@pytest.mark.parametrize("transport", ["mmio", "pci"])
def test_pairs(vms, mq_ns, transport, pairs):
    run = start_mq(vms, mq_ns, transport, pairs, "iothread-cpus=0:1")
    finish_run(run, mq_ns, pairs)


def net_io_threads(pid):
    """How many threads of the VMM serve the NIC (io0-virtio-net, ... with several,
    io-virtio-net with one); 0 once it has gone."""
    count = 0
    for comm in glob.glob(f"/proc/{pid}/task/*/comm"):
        try:
            with open(comm) as f:
                count += bool(re.fullmatch(r"io[0-9]*-virtio-net", f.read().strip()))
        except OSError:
            pass
    return count


@pytest.mark.parametrize("threads", [2, 1])
def test_pairs_sharing_io_threads(vms, mq_ns, threads):
    # Pairs sharing I/O threads (io-threads=T: pair i on thread i mod T): 4 pairs on 2 threads
    # and on 1, every pair's traffic at once as above. The VMM's threads serving the NIC are
    # counted at every poll while it runs; the most seen at once must be T (threads start and
    # stop one by one, so a single look may catch fewer).
    run = start_mq(vms, mq_ns, "mmio", 4, f"io-threads={threads}")
    most = [0]

    def ended():
        most[0] = max(most[0], net_io_threads(run.pid))
        return not run.alive()
    wait_until(ended, RUN_TIMEOUT, f"{run.name}: the guest's end")
    if most[0] == 0:
        print("(the VMM finished before its I/O threads could be counted)")
    else:
        assert most[0] == threads, f"the NIC had up to {most[0]} I/O threads, not {threads}"
    finish_run(run, mq_ns, 4)


def expect_refusal(run, regex):
    assert run.status != 0 and re.search(regex, run.err), \
        f"status {run.status}, stderr lacks /{regex}/: {run.err}"


@pytest.mark.parametrize("net,regex", [
    ("tap=vtapmq0,queues=9", r"queues=9: expected a number of queue pairs from 1 to 8"),
    ("tap=vtapmq0,queues=2,io-threads=3", r"io-threads=3: more I/O threads than queue pairs"),
    ("user,queues=2", r"queues=2 needs tap=IFNAME"),
], ids=["queues9", "io-threads3", "user"])
def test_refused(vms, net, regex):
    pairs = re.search(r"queues=(\d+)", net).group(1)
    expect_refusal(boot_vmm(vms, "virtio_net_mq", "--net", net, "--append", f"queues={pairs}",
                            timeout=RUN_TIMEOUT), regex)


def test_refused_single_queue_tap(vms, netns):
    ns = netns(tap="vtapmq0")  # one queue only
    run = vms.run(["--kernel", guest_path("virtio_net_mq"), "--debug-exit",
                   "--net", f"tap={ns.tap},queues=2", "--append", "queues=2"],
                  timeout=RUN_TIMEOUT, name="vmm-single-queue-tap", wrap=ns.wrap)
    expect_refusal(run, r"an existing tap must be multi-queue")


def test_qemu(vms, mq_ns):
    host.require("qemu")
    run = qemu_in(vms, mq_ns, ["-M", "microvm,acpi=off", "-m", "256M", "-serial", "stdio",
                               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                               "-global", "virtio-mmio.force-legacy=false",
                               "-netdev", f"tap,id=n0,ifname={mq_ns.tap},script=no,"
                                          "downscript=no,queues=2",
                               "-device", f"virtio-net-device,netdev=n0,mac={GUEST_MAC},mq=on",
                               "-kernel", guest_path("virtio_net_mq"),
                               "-append", f"{guest_transport_args('mmio')} queues=2"],
                  name="qemu-q2")
    finish_run(run, mq_ns, 2)
