# Debian 12's stock cloud kernel (guest-images/stock.sh, with its busybox initramfs) booted
# through Debian's SeaBIOS: `--firmware bios-256k.bin --kernel K --initrd I --append ...`, 2 vCPUs,
# 256 MiB, an 8 MiB disk over virtio-pci whose first line is a marker. What it proves beyond
# firmware_linux: the ACPI tables the VMM hands the firmware through fw_cfg's etc/table-loader
# reach a kernel that reads ACPI only (no MP-table parser): the kernel finds the RSDP SeaBIOS
# placed, our XSDT (OEM "VMM"), the MADT's two CPUs and the DSDT's PCI host bridge, logs no ACPI
# error or warning, and its /init reads /dev/vda; it reboots once (`reboot -f`: the VMM starts
# SeaBIOS again, which boots the kernel a second time: vmm/vm/reboot.h) and the second boot ends
# with `poweroff -f` (exit status 0; both boots 33 s in L1 alone, 123 s beside other tests on
# the host, 2026-11-30).
# QEMU (q35, the same SeaBIOS file, -kernel) boots the same after it as a peer: printed, not
# counted. On kvm_pvm the boots run in the run's L1 (framework/l1.py), the checks here
# (firmware_stock_checks.py), without the QEMU peer there unless FW_STOCK_PEER=1 (elsewhere
# FW_STOCK_PEER=0 leaves it out); FW_STOCK_DIRECT=1 boots here anyway, FW_STOCK_STALL (default
# 60) is how long a silent console of ours in L1 is a stall.
# labels: slow linux firmware
# requires: kvm
# timeout: 1400
# resource: linux:2

from firmware_stock_checks import expect_boot, run_boots
from framework import l1  # noqa: F401 (the run's L1: tests/CMakeLists.txt)


def test_stock_kernel_through_seabios(workdir):
    out, marker = run_boots(workdir, "seabios")
    expect_boot(out, "seabios", marker)
