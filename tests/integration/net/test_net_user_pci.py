# test_net_user.py with the NIC on virtio-pci (MSI-X): our VMM --transport pci, QEMU q35.
# labels: guests virtio net pci
# requires: kvm
# timeout: 300
import pytest

from net_user_checks import test_our_vmm, test_qemu  # noqa: F401


@pytest.fixture
def transport():
    return "pci"
