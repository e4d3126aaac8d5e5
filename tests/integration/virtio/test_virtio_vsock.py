# virtio-vsock over virtio-mmio (tests/guests/virtio_vsock.c) against a host helper
# (lib/vsock_host.py) on the Unix sockets of --vsock cid=N,uds=PATH: guest->host echo with every
# byte checked, 16 connections at once, credit exhaustion and recovery (the device must stop at the
# guest's 4 KiB and go on after each CREDIT_UPDATE), and a host-initiated connection
# (CONNECT 5000 / OK) whose bytes the guest checks and echoes back. Split and packed rings.
# The VMM removes PATH when it exits. Bad --vsock options are refused with a clear message.
# Our VMM only: QEMU's vsock needs the vhost_vsock module (vhost-vsock-pci), not loaded here.
# test_virtio_vsock_pci.py: the same over modern virtio-pci.
# labels: guests virtio
# requires: kvm
# timeout: 300
import pytest

from virtio_vsock_checks import test_bad_options_refused, test_guest_and_host  # noqa: F401


@pytest.fixture
def transport():
    return "mmio"
