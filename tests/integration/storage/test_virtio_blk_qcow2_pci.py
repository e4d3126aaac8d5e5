# qcow2 disks over modern virtio-pci: every check of test_virtio_blk_qcow2.py
# (virtio_blk_qcow2_checks.py) with --transport pci (MSI-X on the split-ring run, INTx on the
# packed-ring run).
# labels: guests virtio pci
# requires: kvm
# timeout: 300
import pytest

from virtio_blk_qcow2_checks import on_qcow2


@pytest.mark.parametrize("ring", ["split", "packed"])
def test_qcow2(vms, workdir, ring):
    on_qcow2(vms, workdir, "pci", ring)
