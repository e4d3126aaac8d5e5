# virtio-rng over virtio-mmio (tests/guests/virtio_rng.c): several buffers filled with random
# bytes, completions announced by the device's interrupt; split and packed rings; on our VMM also
# with a rate limit (the device may then fill a buffer only partly). Our VMM and QEMU microvm.
# test_virtio_rng_pci.py: the same over modern virtio-pci (our VMM --transport pci, QEMU q35
# virtio-rng-pci), MSI-X on the split-ring runs, INTx on the packed-ring runs.
# labels: guests virtio
# requires: kvm
# timeout: 120
import pytest

from virtio_rng_checks import test_our_vmm, test_our_vmm_rate_limit, test_qemu  # noqa: F401


@pytest.fixture
def transport():
    return "mmio"
