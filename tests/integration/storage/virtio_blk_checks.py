"""The checks of test_virtio_blk.py and test_virtio_blk_pci.py (one transport each): the
virtio_blk test guest on our VMM and on QEMU, with a split and a packed ring."""
from blk_checks import SECTORS, check_disks, expect_blk_output, make_disk
from framework import host
from framework.guests import (boot_qemu, boot_vmm, expect_output, guest_transport_args,
                              qemu_model, qemu_transport, transport_args)


def _disks(workdir):
    pristine, rw, ro = workdir / "pristine.img", workdir / "rw.img", workdir / "ro.img"
    for path in (pristine, rw, ro):
        make_disk(path)
    return pristine, rw, ro


def on_our_vmm(vms, workdir, transport, ring):
    pristine, rw, ro = _disks(workdir)
    run = boot_vmm(vms, "virtio_blk", *transport_args(transport),
                   "--disk", f"{rw},serial=vmm-disk-0,discard=on", "--disk", f"{ro},ro",
                   "--append", f"{guest_transport_args(transport, ring)} ring={ring} "
                   f"sectors={SECTORS} id=vmm-disk-0 ro_disk discard bad_queue")
    expect_blk_output(run, transport, ring)
    # Our VMM only: a queue of a bad size sets DEVICE_NEEDS_RESET, the other disk goes on.
    expect_output(run, r"^bad queue size: status 0x4f \(DEVICE_NEEDS_RESET\), "
                       r"config interrupt: ok$")
    expect_output(run, r"^the other disk kept working; reset revived the failed one: ok$")
    check_disks(rw, ro, pristine)


def on_qemu(vms, workdir, transport, ring):
    host.require("qemu")
    pristine, rw, ro = _disks(workdir)
    machine, extra, opts = qemu_transport(transport)
    model = qemu_model(transport, "blk")
    packed = "on" if ring == "packed" else "off"
    run = boot_qemu(vms, "virtio_blk", *extra,
                    "-drive", f"id=d0,file={rw},format=raw,if=none,discard=unmap",
                    "-device", f"{model},drive=d0,serial=qemu-disk-0,packed={packed}{opts}",
                    "-drive", f"id=d1,file={ro},format=raw,if=none,readonly=on",
                    "-device", f"{model},drive=d1,packed={packed}{opts}",
                    "-append", f"{guest_transport_args(transport, ring)} ring={ring} "
                    f"sectors={SECTORS} id=qemu-disk-0 ro_disk discard", machine=machine)
    expect_blk_output(run, transport, ring)
    check_disks(rw, ro, pristine)
