# A snapshot restored onto another tap, with another MAC (network overrides), inside a network
# namespace the test makes and removes (two taps, vtapA and vtapB, private subnet
# 192.168.77.0/24 that exists only there). The virtio_net test guest (tests/guests/virtio_net.c)
# answers ARP and ping and ends on a quit frame, printing the MAC in its config space and the one
# its driver read at probe.
#   1. boot on vtapA (host address on vtapA): ping works; pause, snapshot, SIGKILL;
#   2. the host address moves to vtapB; `vmm --restore DIR --net tap=vtapB,mac=M1`: ping and the
#      quit frame go through vtapB, vtapA's packet counters do not move, and the guest reports
#      config mac M1 while its driver keeps the MAC it probed (a running driver reads the MAC
#      only at probe);
#   3. over the API: first a load whose override names a tap the kernel refuses ("bad:name", so
#      the failure comes from inside vm_create_restored) must answer 400 and leave the VMM waiting
#      ("Not started"); then PUT /snapshot/load with network_overrides
#      [{"iface_id": "net0", "host_dev_name": "vtapB", "guest_mac": M2}] in the same VMM: as 2.
#      with M2. A guest_mac that is multicast is refused with 400.
# Under 5 minutes: 8 s measured on a shared 2-core kvm_pvm host at load ~15; its timeout is
# the bash test's.
# labels: snapshot net api
# requires: kvm netns
# timeout: 600
import signal

import pytest

from framework import host
from framework import snapshot_util as snap
from framework.guests import expect_no_output, expect_output, guest_path

TAP, TAP_B = "vtapA", "vtapB"
HOST_IP, GUEST_IP = "192.168.77.1", "192.168.77.2"
GUEST_MAC = "52:54:00:77:00:02"
MAC1, MAC2 = "52:54:00:77:00:51", "52:54:00:77:00:52"
RUN_TIMEOUT = 240

QUIT = ("import socket,struct,sys\n"
        "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.htons(3))\n"
        "s.bind((sys.argv[1],0))\n"
        "s.send(bytes.fromhex(sys.argv[2].replace(':',''))+s.getsockname()[4]"
        "+struct.pack('!H',0x88b7)+bytes(46))\n")


def packets(ns, tap):
    """rx+tx packets of TAP."""
    d = f"/sys/class/net/{tap}/statistics"
    return sum(int(ns.exec("cat", f"{d}/{f}").stdout) for f in ("rx_packets", "tx_packets"))


def after_restore(ns, vm, mac):
    """The restored guest, on vtapB, with config mac MAC."""
    a0 = packets(ns, TAP)
    ns.exec("ping", "-c", "3", "-W", "2", "-i", "0.3", GUEST_IP)
    ns.exec("python3", "-c", QUIT, TAP_B, GUEST_MAC)  # the quit frame through vtapB
    vm.status = vm.wait(RUN_TIMEOUT)
    snap.expect_pass(vm)
    expect_no_output(vm, r"^virtio-net: mac")  # went on, did not boot again
    expect_output(vm, rf"^config mac {mac}, driver mac {GUEST_MAC}")
    a1 = packets(ns, TAP)
    assert a0 == a1, f"{TAP} moved from {a0} to {a1} packets"


@pytest.fixture
def ns(netns):
    host.require("ping", "python3")
    ns = netns(tap=TAP, host_ip=HOST_IP)
    ns.ip("tuntap", "add", "dev", TAP_B, "mode", "tap", "vnet_hdr")
    ns.ip("link", "set", TAP_B, "up")
    return ns


def test_restore_on_another_tap(vms, workdir, ns):
    # 1. on tap A
    vm = vms.start(["--kernel", guest_path("virtio_net"), "--debug-exit", "--console", "stdio",
                    "--mem", "256M", "--net", f"tap={TAP},mac={GUEST_MAC}",
                    "--landlock-rules", f"{workdir}:rw",
                    "--append", f"ip={GUEST_IP} serve_ms={RUN_TIMEOUT * 1000}"],
                   name="on-vtapA", api=True, wrap=ns.wrap)
    vm.wait_out(r"^serving at", 60)
    ns.exec("ping", "-c", "2", "-W", "2", "-i", "0.3", GUEST_IP)
    folder = snap.take(vm.api, workdir / "snap")
    print(f"snapshot: {snap.du(folder)}")
    vm.signal(signal.SIGKILL)
    vm.wait()
    ns.ip("addr", "flush", "dev", TAP)
    ns.ip("addr", "add", f"{HOST_IP}/24", "dev", TAP_B)

    # 2. the CLI
    vm = vms.start(["--restore", folder, "--net", f"tap={TAP_B},mac={MAC1}"],
                   name="restore-cli", wrap=ns.wrap)
    after_restore(ns, vm, MAC1)

    # 3. the API
    vm = vms.start([], name="restore-api", api=True, wrap=ns.wrap)

    def load(override):
        return vm.api.put("/snapshot/load", snap.load_body(folder, resume_vm=True,
                                                           network_overrides=[override]))
    got = load({"iface_id": "net0", "host_dev_name": TAP_B, "guest_mac": "01:00:5e:00:00:01"})
    assert got.status == 400, f"a multicast guest_mac: {got!r}"
    got = load({"iface_id": "net0", "host_dev_name": "bad:name"})
    assert got.status == 400, f"a tap the kernel refuses: {got!r} (want 400)"
    got = vm.api.get("/")
    assert '"Not started"' in got.body, f"after a failed load: {got!r}"
    got = load({"iface_id": "net0", "host_dev_name": TAP_B, "guest_mac": MAC2})
    assert got.status == 204, f"load: {got!r}"
    after_restore(ns, vm, MAC2)
