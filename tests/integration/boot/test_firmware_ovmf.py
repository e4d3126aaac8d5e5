# firmware_stock through Debian's OVMF (/usr/share/ovmf/OVMF.fd, UEFI) instead of SeaBIOS:
# Debian's stock kernel booted by OVMF from fw_cfg (its QemuKernelLoaderFsDxe and the kernel's
# EFI stub), 2 vCPUs from our MADT (the tables through etc/table-loader, installed by OVMF's
# AcpiPlatformDxe), /dev/vda over virtio-pci; QEMU -M pc with the same OVMF.fd as the peer. The
# VMM shows a UEFI image an i440FX host bridge and the PIIX4 PM function with its ACPI PM timer,
# what OVMF's platform code needs. First the guest reboots (`reboot -f`, vmmstock.reboot=once):
# the VMM starts OVMF again (vmm/vm/reboot.h) and it boots the kernel a second time, whose /init
# finds its first boot's mark on the disk (firmware_stock_checks.check_reboot()). The second
# boot ends with the power button and a power-off under UEFI, in a restored VMM: once /init
# waits for the button the VM is paused, snapshotted and killed, and `vmm --restore` (the
# firmware, its variable store and the disk named for it) runs it on; no firmware runs there, so
# the PIIX4 PM's I/O block must come back where OVMF put it (its snapshot section). The test
# presses the button (`vmmctl power-button`), /init reads KEY_POWER from the "Power Button"
# input device and runs `poweroff -f`, Linux (hardware-reduced ACPI under EFI) calls OVMF's
# ResetSystem(EfiResetShutdown), which writes SLP_EN to the PIIX4 PM's PM1_CNT, and the restored
# VMM must exit 0 (23 s in L1, 2026-11-29; both boots 52-61 s, 2026-11-30). Ours runs the split image,
# OVMF_CODE_4M.fd with a copy of OVMF_VARS_4M.fd as --firmware-vars (QEMU's peer the whole
# OVMF.fd): the first boot's /init sets a UEFI variable through efivarfs
# (vmmstock.efivar=set:TOKEN), which OVMF programs into the flash; the second boot's firmware
# reads it there and its /init finds it, and the file holds it once the VMM has ended. On kvm_pvm
# OVMF stops at its first x87 instruction: the boots
# run in the run's L1, whose QEMU is built with the fix of its abort under OVMF
# (tools/kvm-in-qemu/qemu-patches/0001; on an L1 without it, L1's retry skips the test).
# labels: slow linux firmware
# requires: kvm
# timeout: 900
# resource: linux:2

from firmware_stock_checks import expect_boot, run_boots
from framework import l1  # noqa: F401 (the run's L1: tests/CMakeLists.txt)


def test_stock_kernel_through_ovmf(workdir):
    out, marker = run_boots(workdir, "ovmf")
    expect_boot(out, "ovmf", marker)
