# virtio-blk over virtio-mmio, driven by the virtio_blk test guest (tests/guests/virtio_blk.c), on
# our VMM and on QEMU microvm, with a split and a packed ring: negotiation, config, GET_ID,
# read/write/flush, 32 requests in flight, indirect chains, interrupt suppression, write-zeroes,
# discard, IOERR past the end, a read-only second disk (writes refused with IOERR), and on our VMM
# a queue of a bad size (DEVICE_NEEDS_RESET, the other disk unaffected). The host then checks the
# files: the guest's pattern where it wrote, zeros where it wrote zeroes, the read-only file
# untouched.
# test_virtio_blk_pci.py runs the same checks (virtio_blk_checks.py) over modern virtio-pci.
# labels: guests virtio
# requires: kvm
# timeout: 300
import pytest

from virtio_blk_checks import on_our_vmm, on_qemu


@pytest.mark.parametrize("ring", ["split", "packed"])
def test_our_vmm(vms, workdir, ring):
    on_our_vmm(vms, workdir, "mmio", ring)


@pytest.mark.parametrize("ring", ["split", "packed"])
def test_qemu(vms, workdir, ring):
    on_qemu(vms, workdir, "mmio", ring)
