# A Linux kernel booted through an unmodified firmware, and the VM generation ID that firmware
# placed: `--firmware bios-256k.bin --kernel bzImage --initrd I --append ...` (Debian's SeaBIOS),
# one boot that both halves check.
# The boot: the VMM puts the kernel, initrd and command line in fw_cfg (QEMU's items), its own
# option ROM (genroms/linuxboot.bin, loaders/x86/linuxboot_rom.h) and a `bootorder` naming it
# first; SeaBIOS runs the ROM as its first boot entry, which copies the pieces by fw_cfg DMA and
# enters the kernel's real-mode setup. The ACPI tables reach the firmware through
# etc/table-loader (SeaBIOS finds the FADT through the XSDT), and SeaBIOS builds the MP table too
# (the default guest kernel reads the ACPI tables). The guest: that kernel with its initramfs,
# 1 vCPU (2 stop at "Bringing up secondary CPUs" on kvm_pvm, firmware or not), a read-only copy
# of the default disk over virtio-pci, whose BAR SeaBIOS places. It must reach /init, see the
# command line given, read the disk's marker, and once its snapshot is made (below) end with
# `reboot -f` (VMM-GUEST-END: reboot; with --no-reboot the reset ends the VMM, status 0, as a
# direct boot's does: the reboot itself is firmware_stock's and firmware_ovmf's).
# The VM generation ID (linux/test_linux_vmgenid.py says why each check): placed by the
# firmware's table loader (etc/vmgenid_guid, the DSDT's ADDR patched, the address written back to
# etc/vmgenid_addr), read by the guest where the firmware put it, and renewed there in each of
# two clones restored from one snapshot of this boot (the guest's crng reseeded, the GED's
# interrupt counted). The VMM logs where the firmware placed it ("vmgenid: the firmware placed
# the ID at 0x..."); the guest reads the ID there with devmem (a reserved page: /dev/mem allows
# it), and the clones must find their new IDs at that same address, which the snapshot keeps (no
# firmware runs on a restore). linux/vmgenid_checks.py has the checks.
# The firmware's variable store travels with the snapshot: the boot has --firmware-vars (a copy
# of OVMF_VARS.fd: SeaBIOS leaves it alone, and 256 + 128 KiB fill whole 64 KiB blocks), and each
# clone is restored with --firmware-vars naming a store of its own that differs in one byte; the
# restore must write the saved store into it (docs/running.md).
# The boot is what is tested: no shared snapshot. One boot for both (they were two tests, two
# SeaBIOS boots of the same guest: 235 and 207 s of a CI-like run, 2026-11-29).
# No QEMU peer here: QEMU's own default firmware is this SeaBIOS with -kernel (its
# linuxboot_dma.bin), which linux_userspace_qemu already boots the same guest through; the
# stock-kernel firmware tests keep their QEMU boots.
# (OVMF is not covered here: test_firmware_ovmf.py, docs/running.md.)
# labels: slow linux guests firmware snapshot
# requires: kvm
# timeout: 1200
# resource: linux:1
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from framework import host, linux
from framework.guests import expect_status

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "linux"))
import vmgenid_checks as checks  # noqa: E402
from vmgenid_checks import (test_booted_guest_has_not_reseeded, test_booted_id,  # noqa: E402,F401
                            test_clone_ged_interrupt_and_reseed, test_each_clone_has_its_own_id,
                            test_vgen_device_and_driver)


def reboot(vm, shell):
    """The booted VM, paused for its snapshot, resumed and ended from its shell: `exit` makes
    /init end the VM as vmmguest.end says (reboot -f). Returns the VMM's status."""
    vm.api.want(204, "PATCH", "/vm", {"state": "Resumed"})
    vm.type("exit")
    return vm.wait(300)


VARS = Path(os.environ.get("OVMF_VARS_SMALL", "/usr/share/OVMF/OVMF_VARS.fd"))


def clone_store(work, clone):
    """Clone CLONE's own variable store: the template with its last byte changed (the restore
    must put the saved store over it)."""
    path = work / f"clone{clone}.vars"
    data = bytearray(VARS.read_bytes())
    data[-1] ^= 0xff
    path.write_bytes(data)
    return ["--firmware-vars", path]


@pytest.fixture(scope="module")
def facts(module_vms):
    work = module_vms.workdir
    disk = work / "vmm.ext4"
    shutil.copy(linux.images()["DISK"], disk)
    if not VARS.exists():
        host.skip("no OVMF_VARS.fd", f"{VARS} is missing (Debian's ovmf, tools/setup.sh)")
    shutil.copy(VARS, work / "vmm.vars")
    extra = ["--firmware-log", work / "vmm.fw", "--firmware-vars", work / "vmm.vars",
             "--transport", "pci", "--disk", f"{disk},ro", "--no-reboot"]
    return checks.run(module_vms, work, firmware=True, extra=extra,
                      append=f"vmmfw.test={os.getpid()} vmmguest.end=reboot", end=reboot,
                      restore_extra=["--disk", f"{disk},id=drive0"],
                      clone_extra=lambda clone: clone_store(work, clone))


def expect_fw_line(log, regex):
    assert re.search(regex, log, re.M), f"firmware log lacks /{regex}/\n{log[-3000:]}"


def test_firmware_booted_the_kernel(facts, module_vms):
    log = (module_vms.workdir / "vmm.fw").read_text(errors="replace")
    expect_fw_line(log, r"^1: /rom@genroms/linuxboot\.bin$")
    expect_fw_line(log, r"^table\(50434146\)=0x[0-9a-f]+ \(via xsdt\)$")
    expect_fw_line(log, r"^PCI: map device bdf=00:01\.0  bar 0, addr f[0-9a-e][0-9a-f]{6}")
    expect_fw_line(log, r"^Booting from ROM\.\.\.$")


def test_guest_saw_the_command_line_and_disk(facts):
    out, img = facts["boot"].out, linux.images()
    for regex in (rf"Command line: .*vmmfw\.test={os.getpid()} vmmguest\.end=reboot$",
                  r"found SMP MP-table at", r"Run /init as init process", r"^VMM-GUEST-INIT: ok$",
                  r"^VMM-GUEST-CPUS: 1$",
                  rf"^VMM-GUEST-DISK-MARKER: {re.escape(img['DISK_MARKER'])}$"):
        assert re.search(regex, out, re.M), f"the guest's console lacks /{regex}/\n{out[-3000:]}"
    assert "Kernel panic" not in out, out[-3000:]


def test_reboot_ends_the_vm(facts):
    vm = facts["boot"]
    assert re.search(r"^VMM-GUEST-END: reboot$", vm.out, re.M), vm.tail()
    assert facts["end"] == 0, f"the VMM's status after the guest's reboot -f: {facts['end']}\n" \
        + vm.tail()


@pytest.mark.parametrize("clone", [1, 2])
def test_clone_got_the_saved_variable_store(facts, module_vms, clone):
    work = module_vms.workdir
    saved, got = (work / "vmm.vars").read_bytes(), (work / f"clone{clone}.vars").read_bytes()
    assert len(got) == len(saved), f"clone {clone}'s store: {len(got)} bytes, {len(saved)} saved"
    assert got == saved, (f"clone {clone}'s --firmware-vars is not the saved store: "
                          f"{sum(a != b for a, b in zip(got, saved))} bytes differ")
    assert facts["clones"][clone]["id"], f"clone {clone} did not run"


def test_firmware_wrote_back_the_id_address(facts):
    assert facts.get("fw_addr"), "the VMM never learnt where the firmware placed the ID"


def test_firmware_refuses_an_elf_kernel(vms):
    # What a firmware cannot boot: an ELF kernel (exit 2, with a message)
    run = vms.run(["--firmware", checks.seabios(), "--kernel", linux.images()["VMLINUX"]],
                  timeout=60, name="vmm-elf")
    assert run.status == 2 and "a firmware boots a bzImage" in run.err, \
        f"an ELF kernel with --firmware: status {run.status}, want 2 with a message\n{run.err}"


def test_firmware_refuses_initrd_alone(vms):
    run = vms.run(["--firmware", checks.seabios(), "--initrd", linux.images()["INITRAMFS"]],
                  timeout=60, name="vmm-initrd")
    expect_status(run, 2)
