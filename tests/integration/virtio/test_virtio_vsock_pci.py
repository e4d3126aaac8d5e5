# virtio-vsock over modern virtio-pci: every check of test_virtio_vsock.py over PCI (MSI-X on the
# split-ring run, INTx on the packed-ring run).
# labels: guests virtio pci
# requires: kvm
# timeout: 300
import pytest

from virtio_vsock_checks import test_bad_options_refused, test_guest_and_host  # noqa: F401


@pytest.fixture
def transport():
    return "pci"
