# virtio-blk on qcow2 images (virtio/blk/qcow2*.c, issue 51), driven by the virtio_blk test guest
# (tests/guests/virtio_blk.c) over mmio with a split and a packed ring: disk 0 is a qcow2 overlay
# made by qemu-img over a raw base (the clone recipe in docs/devices.md), found by its magic;
# disk 1 a read-only qcow2 copy of the same data given format=qcow2. The guest writes,
# flushes, writes zeroes and discards across overlay clusters that the base still backs. The
# host then checks with qemu-img: the overlay passes `qemu-img check`, converted to raw it holds
# what the guest wrote (and the base's data around it), the base and the read-only image are
# untouched. (format=raw on a file with a qcow2 header: tests/unit/virtio/blk/test_qcow2.c.)
# labels: guests virtio
# requires: kvm
# timeout: 300
import pytest

from virtio_blk_qcow2_checks import on_qcow2


@pytest.mark.parametrize("ring", ["split", "packed"])
def test_qcow2(vms, workdir, ring):
    on_qcow2(vms, workdir, "mmio", ring)
