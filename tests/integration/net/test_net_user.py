# virtio-net with user-mode networking (libslirp), driven by the virtio_net_user test guest
# (tests/guests/virtio_net_user.c), on our VMM (--net user,hostfwd=...) and on QEMU
# (-netdev user,hostfwd=...):
#   - the guest gets 10.0.2.15 by DHCP;
#   - it connects to 10.0.2.2:PORT, which slirp maps to 127.0.0.1:PORT, where a python3 server
#     of this test answers "echo: <line>";
#   - this test connects to 127.0.0.1:HOSTPORT, forwarded to the guest's listening port, sends
#     "ping from the host" and expects "pong: ping from the host".
# Everything runs in a network namespace made here (only its loopback), so no traffic leaves it.
# test_net_user_pci.py: the same with the NIC on virtio-pci.
# labels: guests virtio net
# requires: kvm
# timeout: 300
import pytest

from net_user_checks import test_our_vmm, test_qemu  # noqa: F401


@pytest.fixture
def transport():
    return "mmio"
