# virtio-console over virtio-mmio (tests/guests/virtio_console.c), port 0 (hvc0): the guest's line
# on transmitq0 must reach the host side, and a line fed on the host side (a pipe on stdin, not a
# terminal) must reach the guest's receiveq0, which echoes it. Our VMM (--console virtio: COM1
# and hvc0 share stdout) and QEMU microvm (hvc0 on stdio, COM1 to a file). Split and packed rings;
# input given at once (before the guest's driver is ready) and once the guest waits for it.
# test_virtio_console_pci.py: the same over modern virtio-pci (our VMM with --transport pci, QEMU
# q35 with virtio-serial-pci), MSI-X on the split-ring runs, INTx on the packed-ring runs.
# labels: guests virtio
# requires: kvm
# timeout: 180
import pytest

from virtio_console_checks import test_our_vmm, test_qemu  # noqa: F401


@pytest.fixture
def transport():
    return "mmio"
