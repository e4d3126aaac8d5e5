# A Linux kernel booted through an unmodified firmware: `--firmware bios-256k.bin --kernel K
# --initrd I --append ...` (Debian's SeaBIOS). The VMM puts the kernel, initrd and command line
# in fw_cfg (QEMU's items), its own option ROM (genroms/linuxboot.bin, loaders/x86/linuxboot_rom.h)
# and a `bootorder` naming it first; SeaBIOS runs the ROM as its first boot entry, which copies
# the pieces by fw_cfg DMA and enters the kernel's real-mode setup. The ACPI tables reach the
# firmware through etc/table-loader (SeaBIOS finds the FADT through the XSDT), and SeaBIOS
# builds the MP table too (the default guest kernel reads the ACPI tables). The guest: that kernel
# with its initramfs, 1 vCPU (2 stop at "Bringing up secondary CPUs" on kvm_pvm, firmware or
# not), a copy of the default disk over virtio-pci, whose BAR SeaBIOS places. It must reach
# /init, see the command line given, read the disk's marker and end with `reboot -f` (status 0).
# The boot is what is tested: no snapshot.
# No QEMU peer here: QEMU's own default firmware is this SeaBIOS with -kernel (its
# linuxboot_dma.bin), which linux_userspace_qemu already boots the same guest through; the
# stock-kernel firmware tests keep their QEMU boots.
# (OVMF is not covered yet: it needs an i440FX or Q35 identity and a PM timer, docs/running.md.)
# (243 s measured on 2026-11-28 on the 2-core kvm_pvm host at a load average of 5-7.)
# labels: slow linux guests firmware
# requires: kvm
# timeout: 1200
# resource: linux:1
import os
import re
import shutil

from framework import host, linux
from framework.guests import expect_no_output, expect_output, expect_status

RUN_TIMEOUT = int(os.environ.get("RUN_TIMEOUT_LINUX", "900"))


def bios():
    path = os.path.join(os.environ.get("SEABIOS_DIR", "/usr/share/seabios"), "bios-256k.bin")
    if not os.access(path, os.R_OK):
        host.skip("no seabios", f"{path} is missing (Debian's seabios package, tools/setup.sh)")
    return path


def expect_fw_line(log, regex):
    assert re.search(regex, log, re.M), f"firmware log lacks /{regex}/\n{log[-3000:]}"


def test_linux_through_seabios(vms, workdir):
    img = linux.images()
    tag = os.getpid()
    append = f"{img['CMDLINE']} vmmguest.end=reboot vmmfw.test={tag}"
    disk = workdir / "vmm.ext4"
    shutil.copy(img["DISK"], disk)
    fw_log = workdir / "vmm.fw"
    run = vms.run(["--firmware", bios(), "--firmware-log", fw_log, "--kernel", img["BZIMAGE"],
                   "--initrd", img["INITRAMFS"], "--append", append, "--mem", "512M",
                   "--transport", "pci", "--disk", disk], timeout=RUN_TIMEOUT, name="vmm-seabios")
    expect_status(run, 0)
    log = fw_log.read_text(errors="replace")
    expect_fw_line(log, r"^1: /rom@genroms/linuxboot\.bin$")
    expect_fw_line(log, r"^table\(50434146\)=0x[0-9a-f]+ \(via xsdt\)$")
    expect_fw_line(log, r"^PCI: map device bdf=00:01\.0  bar 0, addr f[0-9a-e][0-9a-f]{6}")
    expect_fw_line(log, r"^Booting from ROM\.\.\.$")
    expect_output(run, rf"Command line: {re.escape(append)}$")
    expect_output(run, r"found SMP MP-table at")
    expect_output(run, r"Run /init as init process")
    expect_output(run, r"^VMM-GUEST-INIT: ok$")
    expect_output(run, r"^VMM-GUEST-CPUS: 1$")
    expect_output(run, rf"^VMM-GUEST-DISK-MARKER: {re.escape(img['DISK_MARKER'])}$")
    expect_output(run, r"^VMM-GUEST-END: reboot$")
    expect_no_output(run, r"Kernel panic")


def test_firmware_refuses_an_elf_kernel(vms):
    # What a firmware cannot boot: an ELF kernel (exit 2, with a message)
    run = vms.run(["--firmware", bios(), "--kernel", linux.images()["VMLINUX"]], timeout=60,
                  name="vmm-elf")
    assert run.status == 2 and "a firmware boots a bzImage" in run.err, \
        f"an ELF kernel with --firmware: status {run.status}, want 2 with a message\n{run.err}"


def test_firmware_refuses_initrd_alone(vms):
    run = vms.run(["--firmware", bios(), "--initrd", linux.images()["INITRAMFS"]], timeout=60,
                  name="vmm-initrd")
    expect_status(run, 2)
