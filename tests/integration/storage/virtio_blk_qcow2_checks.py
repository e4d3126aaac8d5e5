"""The checks of test_virtio_blk_qcow2.py and test_virtio_blk_qcow2_pci.py (one transport each):
the virtio_blk test guest on a qcow2 overlay over a raw base and a read-only qcow2 disk."""
from blk_checks import (SECTORS, check_disks, copy, expect_blk_output, make_disk, qemu_img,
                        same_file)
from framework import host
from framework.guests import boot_vmm, guest_transport_args, transport_args


def on_qcow2(vms, workdir, transport, ring):
    host.require("qemu-img")
    pristine = workdir / "pristine.img"
    base, ovl, ro = workdir / "base.raw", workdir / "overlay.qcow2", workdir / "ro.qcow2"
    make_disk(pristine)
    qemu_img("convert", "-O", "qcow2", pristine, ro)
    copy(ro, workdir / "ro.pristine")
    copy(pristine, base)
    # The clone recipe of docs/devices.md: an overlay made by qemu-img, found by its magic.
    qemu_img("create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", ovl)
    run = boot_vmm(vms, "virtio_blk", *transport_args(transport),
                   "--disk", f"{ovl},serial=vmm-disk-0,discard=on,backing_files=on",
                   "--disk", f"{ro},ro,format=qcow2",
                   "--append", f"{guest_transport_args(transport, ring)} ring={ring} "
                   f"sectors={SECTORS} id=vmm-disk-0 ro_disk discard")
    expect_blk_output(run, transport, ring)
    qemu_img("check", "-q", ovl)  # the overlay passes qemu-img check
    # Converted to raw it holds what the guest wrote (and the base's data around it).
    qemu_img("convert", "-O", "raw", ovl, workdir / "ovl.raw")
    check_disks(workdir / "ovl.raw", pristine, pristine)
    assert same_file(base, pristine), "file: base untouched"
    assert same_file(ro, workdir / "ro.pristine"), "file: read-only qcow2 untouched"
