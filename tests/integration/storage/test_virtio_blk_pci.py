# virtio-blk over modern virtio-pci: every check of test_virtio_blk.py (virtio_blk_checks.py)
# over PCI: our VMM with --transport pci, QEMU q35 with virtio-blk-pci,disable-legacy=on; the
# split-ring runs take interrupts by MSI-X, the packed-ring runs by INTx (pci_irq=intx: MSI-X
# off, the IOAPIC pin of the interrupt line, ISR read to clear).
# labels: guests virtio pci
# requires: kvm
# timeout: 300
import pytest

from virtio_blk_checks import on_our_vmm, on_qemu


@pytest.mark.parametrize("ring", ["split", "packed"])
def test_our_vmm(vms, workdir, ring):
    on_our_vmm(vms, workdir, "pci", ring)


@pytest.mark.parametrize("ring", ["split", "packed"])
def test_qemu(vms, workdir, ring):
    on_qemu(vms, workdir, "pci", ring)
