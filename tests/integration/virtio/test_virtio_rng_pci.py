# virtio-rng over modern virtio-pci: every check of test_virtio_rng.py over PCI (our VMM with
# --transport pci, QEMU q35 with virtio-rng-pci; MSI-X on split-ring runs, INTx on packed ones).
# labels: guests virtio pci
# requires: kvm
# timeout: 120
import pytest

from virtio_rng_checks import test_our_vmm, test_our_vmm_rate_limit, test_qemu  # noqa: F401


@pytest.fixture
def transport():
    return "pci"
