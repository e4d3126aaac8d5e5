# virtio-balloon over modern virtio-pci: every check of test_virtio_balloon.py over PCI (our
# VMM with --transport pci, QEMU q35 with virtio-balloon-pci; the guest uses MSI-X).
# labels: guests virtio pci
# requires: kvm
# timeout: 300
import pytest

from virtio_balloon_checks import (test_api_inflate_deflate_report, test_qemu,  # noqa: F401
                                   test_size_without_api, test_snapshot_with_statistics,
                                   test_statistics_off)


@pytest.fixture
def transport():
    return "pci"
