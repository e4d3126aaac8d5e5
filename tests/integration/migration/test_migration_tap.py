# Live migration of a VM with a tap NIC on the same host, inside a network namespace the test
# makes and removes (private subnet 192.168.77.0/24 that exists only there). The tap is the
# VMM's own (created by --net tap=NAME, not persistent: it lives as long as a process holds it),
# and a single-queue tap takes one process at a time, so the destination cannot open it by name
# while the source holds it: the source hands it over (TAPFD, docs/migration.md). The
# virtio_net test guest (tests/guests/virtio_net.c) answers ARP and ping and ends on a quit frame.
#   1. the source boots on the tap; the host address goes on it; ping works;
#   2. a copying migration to `vmm --migrate-from` (with an API socket): the source ends with 0,
#      ping works, answered by the destination's guest, and the tap is the same interface (same
#      ifindex, the host address still on it, and GET /vm/config still names it);
#   3. a local migration (memfd) from there to a third VMM: as 2.;
#   4. the quit frame: the guest went on where it was (it did not boot again) and passes; with
#      the last VMM gone the tap is gone too (no process kept a copy of it).
# Under 5 minutes: 5 s measured on a shared 2-core kvm_pvm host at load ~15; its timeout is
# the bash test's.
# labels: migration net api
# requires: kvm netns
# timeout: 600
import re
import subprocess

import pytest

from framework import host
from framework import snapshot_util as snap
from framework.api import Api
from framework.guests import expect_no_output, expect_output, guest_path
from framework.net import unique_name
from framework.proc import wait_until

TAP = "vtapM"
HOST_IP, GUEST_IP = "192.168.77.1", "192.168.77.2"
GUEST_MAC = "52:54:00:77:00:02"
RUN_TIMEOUT = 240

QUIT = ("import socket,struct,sys\n"
        "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.htons(3))\n"
        "s.bind((sys.argv[1],0))\n"
        "s.send(bytes.fromhex(sys.argv[2].replace(':',''))+s.getsockname()[4]"
        "+struct.pack('!H',0x88b7)+bytes(46))\n")


class Ns:
    """A namespace with no tap of its own (the source VMM creates its tap)."""

    def __init__(self, name):
        self.name = name
        self.wrap = ["ip", "netns", "exec", name]
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self.run("ip", "netns", "add", name, wrap=False)
        self.run("ip", "-n", name, "link", "set", "lo", "up", wrap=False)
        self.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                 "net.ipv6.conf.default.disable_ipv6=1")

    def run(self, *cmd, wrap=True, check=True):
        got = subprocess.run([*(self.wrap if wrap else []), *map(str, cmd)], capture_output=True,
                             text=True, timeout=60)
        assert not check or got.returncode == 0, f"{' '.join(map(str, cmd))}: {got.stderr}"
        return got

    def ifindex(self):
        got = self.run("ip", "-n", self.name, "-o", "link", "show", TAP, wrap=False, check=False)
        return got.stdout.split(":")[0] if got.returncode == 0 else ""


@pytest.fixture
def ns():
    host.require("netns", "ping", "python3")
    made = Ns(unique_name("vmmmig"))
    yield made
    subprocess.run(["ip", "netns", "del", made.name], capture_output=True)


def test_migration_tap(vms, workdir, ns):
    # 1. the source, on a tap it creates
    src = vms.start(["--kernel", guest_path("virtio_net"), "--debug-exit", "--console", "stdio",
                     "--mem", "256M", "--net", f"tap={TAP},mac={GUEST_MAC}",
                     "--landlock-rules", f"{workdir}:rw",
                     "--append", f"ip={GUEST_IP} serve_ms={RUN_TIMEOUT * 1000}"],
                    name="source", api=True, wrap=ns.wrap)
    src.wait_out(r"^serving at", 60)
    ns.run("ip", "-n", ns.name, "addr", "add", f"{HOST_IP}/24", "dev", TAP, wrap=False)
    ns.run("ip", "-n", ns.name, "link", "set", TAP, "up", wrap=False)
    tap_index = ns.ifindex()
    ns.run("ping", "-c", "2", "-W", "2", "-i", "0.3", GUEST_IP)

    def migrate_to(n, vm, local):
        """Moves VM to a new `vmm --migrate-from` with an API socket; checks the source's end,
        ping through the destination and the tap's identity; returns the destination."""
        mig = workdir / f"mig{n}.sock"
        dst = vms.start(["--migrate-from", f"unix:{mig}", "--api-sock", workdir / f"dst{n}.sock",
                         "--landlock-rules", f"{workdir}:rw"], name=f"destination{n}", wrap=ns.wrap)
        wait_until(mig.is_socket, 10, f"migration {n}: the destination's socket", alive=dst.alive)
        vm.api.want(204, "PUT", "/vmm/send-migration",
                    {"destination_url": f"unix:{mig}", "local": local})
        status = vm.wait(RUN_TIMEOUT)
        assert status == 0, f"migration {n}: {vm.name} ended with {status}\n{vm.tail()}"
        print(f"migration {n}: {re.search(r'migration completed: .*', vm.err)}")
        dst.api = Api(workdir / f"dst{n}.sock")
        dst.api.wait_ready(alive=dst.alive)
        # a tap NIC is not built beside its source (device_desc.built_beside_source): after the pause
        assert "built here while the source still runs" not in dst.err, \
            f"migration {n}: the destination built its tap NIC during the pre-copy"
        ns.run("ping", "-c", "3", "-W", "2", "-i", "0.3", GUEST_IP)  # answered from the destination
        assert ns.ifindex() == tap_index, f"migration {n}: tap ifindex '{ns.ifindex()}', was {tap_index}"
        got = dst.api.get("/vm/config")
        assert re.search(rf'"host_dev_name": *"{TAP}"', got.body), f"migration {n}: GET /vm/config: {got!r}"
        addr = ns.run("ip", "-n", ns.name, "addr", "show", TAP, wrap=False).stdout
        assert f"{HOST_IP}/24" in addr, f"migration {n}: the host address went away"
        return dst

    # 2. copying, 3. local
    vm = migrate_to(1, src, False)
    # a NIC built on a handed-over fd still has its tap's name: a tcp: migration (to a port where
    # nothing listens) fails on the connection, not on a "tapfd=" refusal, and the guest runs on
    got = vm.api.put("/vmm/send-migration", {"destination_url": "tcp:127.0.0.1:9"})
    assert got.status == 400 and "tapfd" not in got.body, f"tcp: to nowhere: {got!r}"
    vm = migrate_to(2, vm, True)

    # 4. the end
    ns.run("python3", "-c", QUIT, TAP, GUEST_MAC)
    vm.status = vm.wait(RUN_TIMEOUT)  # still there: the quit frame was lost
    snap.expect_pass(vm)
    expect_no_output(vm, r"^virtio-net: mac")  # went on, did not boot again
    expect_output(src, r"^serving at")  # the source's guest had booted once
    assert ns.ifindex() == "", f"{TAP} is still there with every VMM gone"
