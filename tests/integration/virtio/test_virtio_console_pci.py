# virtio-console over modern virtio-pci: every check of test_virtio_console.py over PCI (our VMM
# with --transport pci, QEMU q35 with virtio-serial-pci; MSI-X on split-ring runs, INTx on
# packed ones).
# labels: guests virtio pci
# requires: kvm
# timeout: 180
import pytest

from virtio_console_checks import test_our_vmm, test_qemu  # noqa: F401


@pytest.fixture
def transport():
    return "pci"
