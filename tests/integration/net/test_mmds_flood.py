# A hostile guest floods the MMDS address and the other traffic still flows (issue 28): the
# mmds_flood test guest (tests/guests/mmds_flood.c) on a NIC with MMDS V1, built through the API
# as Firecracker's guide does (boot source, a NIC on a tap in a network namespace of its own,
# PUT /mmds/config, PUT /mmds, InstanceStart). The guest GETs its ami-id, floods MMDS with
# malformed frames, ARP, a SYN flood, connections that never finish or never acknowledge, and
# stray segments, then reaches this test's echo server on the same NIC and GETs the value
# again. Checked here:
#   - the guest's verdict and its lines (TEST PASS, the exit status 1 through --debug-exit);
#   - while it waits, GET /mmds over the API answers with the document, and a PATCH it makes is
#     what the guest then reads;
#   - no frame to 169.254.169.254 (IPv4 or ARP) ever reaches the tap (a packet socket counts
#     every frame the guest sends there);
#   - the VMM's stderr shows no crash.
# A tap (linux_mmds_slirp.sh has MMDS on libslirp): the packet socket on it sees what leaks.
# labels: guests net mmds
# requires: kvm netns
# timeout: 240
import re
import signal
import sys
import time

from framework.guests import expect_output, expect_pass, guest_path
from mmds_flood_checks import (BOOT_ARGS, CRASH, HOST_IP, LINES, PATCH, PORT, STORE, WAITING,
                               WANT, sniff_problem, summary)

# serve IP PORT: answers one line per connection with "echo: <line>" (until ended)
# sniff TAP:     counts the frames the guest sends on TAP, and those to 169.254.169.254 (IPv4
#                destination or ARP target); prints the counts when ended (SIGTERM)
HOST_PY = r'''
import signal, socket, sys

def serve(ip, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, int(port)))
    s.listen(4)
    print("listening", flush=True)
    while True:
        c, _ = s.accept()
        with c:
            line = c.makefile("rb").readline()
            c.sendall(b"echo: " + line)

def sniff(tap):
    mmds = socket.inet_aton("169.254.169.254")
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL
    s.bind((tap, 0))
    n = {"frames": 0, "mmds": 0}
    def done(*_):
        print("sniffed %d frames from the guest, %d to 169.254.169.254" % (n["frames"], n["mmds"]),
              flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, done)
    print("sniffing", flush=True)
    while True:
        f, addr = s.recvfrom(65536)
        if addr[2] == socket.PACKET_OUTGOING:
            continue  # to the guest
        n["frames"] += 1
        kind = f[12:14]
        if (kind == b"\x08\x00" and f[30:34] == mmds) or (kind == b"\x08\x06" and f[38:42] == mmds):
            n["mmds"] += 1

{"serve": serve, "sniff": sniff}[sys.argv[1]](*sys.argv[2:])
'''


def test_mmds_flood(vms, netns):
    ns = netns(tap="mftap0", host_ip=HOST_IP)
    server = vms.process([*ns.wrap, sys.executable, "-c", HOST_PY, "serve", HOST_IP, PORT],
                         name="server")
    sniffer = vms.process([*ns.wrap, sys.executable, "-c", HOST_PY, "sniff", ns.tap],
                          name="sniffer")
    server.wait_out(r"^listening", 30)
    sniffer.wait_out(r"^sniffing", 30)

    vm = vms.start(["--debug-exit", "--console", "stdio"], name="vmm-mmds_flood", api=True,
                   wrap=ns.wrap)
    api = vm.api
    api.want(204, "PUT", "/boot-source",
             {"kernel_image_path": str(guest_path("mmds_flood")),
              "boot_args": BOOT_ARGS})
    api.want(204, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 256})
    api.want(204, "PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": ns.tap})
    api.want(204, "PUT", "/mmds/config", {"network_interfaces": ["eth0"], "version": "V1"})
    api.want(204, "PUT", "/mmds", STORE)
    start = time.monotonic()
    api.want(204, "PUT", "/actions", {"action_type": "InstanceStart"})

    vm.wait_out(WAITING, 150)
    document = api.want(200, "GET", "/mmds").json()
    assert document["latest"]["meta-data"]["ami-id"] == WANT, f"GET /mmds: {document}"
    api.want(204, "PATCH", "/mmds", PATCH)
    vm.status = vm.wait(60)  # the VMM ends within 60 s of the PATCH
    print(f"note: the VM ran {time.monotonic() - start:.0f} s")
    sniffer.signal(signal.SIGTERM)
    sniffer.wait(10)

    expect_pass(vm)
    for regex in LINES:
        expect_output(vm, regex)
    print(summary(vm.out))

    problem = sniff_problem(sniffer.out)
    assert not problem, problem
    assert not re.search(CRASH, vm.err), \
        f"the VMM's stderr shows a crash\n{vm.tail()}"
