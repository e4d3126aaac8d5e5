"""The checks of test_net_user.py and test_net_user_pci.py (one per transport): each test file
defines the `transport` fixture and imports these tests."""
import subprocess
import sys

from framework import host, paths
from framework.guests import expect_output, expect_pass, guest_path
from framework.net_util import in_ns, qemu_in

PORT = 7777      # the host service, reached by the guest at 10.0.2.2:PORT
HOSTPORT = 2222  # forwarded to the guest's GUESTPORT
GUESTPORT = 8080

# A server answering one line per connection with "echo: <line>" (runs until ended)
SERVE = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    with c:
        line = c.makefile("rb").readline()
        c.sendall(b"echo: " + line)
"""
# Sends "ping from the host" to 127.0.0.1:PORT and prints the answer line
ASK = """
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
c.sendall(b"ping from the host\\n")
print(c.makefile("rb").readline().decode().rstrip("\\n"))
"""


def service_ns(vms, netns):
    """A namespace (only its loopback is used: no traffic leaves it) with the host service."""
    ns = netns()
    server = vms.process([*ns.wrap, sys.executable, "-c", SERVE, PORT], name="server")
    server.wait_out(r"^listening", 30)
    return ns


def exercise(run):
    """The host side of one run: the forwarded port answers, the guest passes."""
    run.wait_out(rf"^listening on port {GUESTPORT}", 60)
    answer = in_ns(run.ns, ASK, HOSTPORT, check=False).stdout.strip()
    assert answer == "pong: ping from the host", \
        f"hostfwd 127.0.0.1:{HOSTPORT} -> guest:{GUESTPORT} answered {answer!r}\n{run.tail()}"
    run.status = run.wait(60)
    expect_pass(run)
    expect_output(run, r"^dhcp: got 10.0.2.15: ok$")
    expect_output(run, rf"^tcp connect to 10.0.2.2:{PORT}: sent, echo received, closed: ok$")
    expect_output(run, rf"^tcp accept on {GUESTPORT}: request received, answered, closed: ok$")


def guest_append(transport):
    # the NIC on virtio-pci uses MSI-X
    return f"port={PORT} listen={GUESTPORT}" + (" transport=pci" if transport == "pci" else "")


def test_our_vmm(vms, netns, transport):
    ns = service_ns(vms, netns)
    run = vms.start(["--kernel", guest_path("virtio_net_user"), "--debug-exit", "--console",
                     "stdio", "--mem", "256M",
                     *(["--transport", "pci"] if transport == "pci" else []),
                     "--net", f"user,hostfwd=tcp:127.0.0.1:{HOSTPORT}-:{GUESTPORT}",
                     "--append", guest_append(transport)], name="vmm-user", wrap=ns.wrap)
    run.ns = ns
    exercise(run)


def test_qemu(vms, netns, transport):
    host.require("qemu")
    ns = service_ns(vms, netns)
    if "user" not in host.help_text(paths.QEMU, "-netdev", "help").split():
        host.skip("missing tool", f"{paths.QEMU} has no user-mode networking")
    if transport == "pci":
        machine, nic = ["-M", "q35"], "virtio-net-pci,disable-legacy=on"
    else:
        machine = ["-M", "microvm,acpi=off", "-global", "virtio-mmio.force-legacy=false"]
        nic = "virtio-net-device"
    run = qemu_in(vms, ns, [*machine, "-m", "256M", "-serial", "stdio",
                            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                            "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{HOSTPORT}-:{GUESTPORT}",
                            "-device", f"{nic},netdev=n0",
                            "-kernel", guest_path("virtio_net_user"),
                            "-append", guest_append(transport)], name="qemu-user")
    run.ns = ns
    exercise(run)
