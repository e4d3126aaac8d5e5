#!/usr/bin/env bash
# firmware_stock.sh through Debian's OVMF (/usr/share/ovmf/OVMF.fd, UEFI) instead of SeaBIOS:
# Debian's stock kernel booted by OVMF from fw_cfg (its QemuKernelLoaderFsDxe and the kernel's
# EFI stub), 2 vCPUs from our MADT (the tables through etc/table-loader, installed by OVMF's
# AcpiPlatformDxe), /dev/vda over virtio-pci; QEMU -M pc with the same OVMF.fd as the peer. The
# VMM shows a UEFI image an i440FX host bridge and the PIIX4 PM function with its ACPI PM timer,
# what OVMF's platform code needs. On kvm_pvm OVMF stops at its first x87 instruction, and in
# tools/kvm-in-qemu the host's QEMU mostly aborts L1 under OVMF (firmware_stock.sh says how): the
# test skips there (77, saying so); FW_OVMF_L1=1 tries L1 anyway.
# labels: slow linux firmware
# requires: kvm
# timeout: 900
# resource: linux:2
FIRMWARE_KIND=ovmf exec bash "$(dirname "${BASH_SOURCE[0]}")/firmware_stock.sh" "$@"
