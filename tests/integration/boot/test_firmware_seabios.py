# --firmware with Debian's unmodified SeaBIOS (the seabios package): bios.bin (128 KiB) and
# bios-256k.bin boot from the reset vector, print their banner on the debug console (port
# 0x402, --firmware-log), find fw_cfg with its DMA interface, take the memory map from etc/e820
# (two RAM ranges around the 32-bit hole with 4 GiB) and the CPU count, and reach the boot
# menu's "No bootable device" without a disk, and boot a boot sector from a virtio-blk disk over
# PCI, and reset the machine through port 0xCF9 (with --no-reboot: status 0). A reset starts the
# firmware again (a tiny firmware of the test's that resets at once: the VMM stops the loop).
# Firmware files of a bad size are refused with exit 2 and a message.
# labels: guests firmware
# requires: kvm
# timeout: 180
import os
import re
from pathlib import Path

import pytest

from framework import host
from framework.guests import expect_output, expect_status
from framework.proc import read_text, wait_until
from framework.vm import sigterm_then_wait

SEABIOS_DIR = Path(os.environ.get("SEABIOS_DIR", "/usr/share/seabios"))


@pytest.fixture(scope="module", autouse=True)
def seabios():
    if not os.access(SEABIOS_DIR / "bios.bin", os.R_OK):
        host.skip("no seabios", f"{SEABIOS_DIR}/bios.bin is missing "
                  "(Debian's seabios package, tools/setup.sh)")


def boot_firmware(vms, image, *args):
    """Boots IMAGE with ARGS until its log shows "No bootable device" (90 s at most), then stops
    the VMM with SIGTERM; the VMM must still be running then (no crash, no early exit). Returns
    (the Vm, its firmware log's path)."""
    log = vms.workdir / f"{image.name}.{len(vms.runs)}.fw"
    vm = vms.start(["--firmware", image, "--firmware-log", log, *args], name=f"vmm-{image.name}")
    wait_until(lambda: "No bootable device" in read_text(log), 90,
               f"{image.name}: 'No bootable device' in the firmware log", alive=vm.alive)
    assert vm.alive(), f"{image.name}: the VMM ended by itself\n{vm.tail()}"
    vm.status = sigterm_then_wait(vm)
    return vm, log


def expect_fw_line(vm, log, regex):
    text = read_text(log)
    assert re.search(regex, text, re.M), \
        f"firmware log lacks /{regex}/\n--- firmware log\n{text}\n--- stderr\n{vm.err}"


@pytest.mark.parametrize("name", ["bios.bin", "bios-256k.bin"])
def test_boots_to_the_boot_menu(vms, name):
    image = SEABIOS_DIR / name
    if not os.access(image, os.R_OK):
        host.skip("no seabios", f"{image} is missing")
    # bios.bin runs at -v -v too: the debug console's lines are in the VMM's log then (as the
    # bash version checked, on a run with --firmware-log: one boot fewer).
    verbose = ["-v", "-v"] if name == "bios.bin" else []
    vm, log = boot_firmware(vms, image, "--cpus", 2, "--mem", "4G", *verbose)
    expect_fw_line(vm, log, r"^SeaBIOS \(version ")
    expect_fw_line(vm, log, r"^Found QEMU fw_cfg$")
    expect_fw_line(vm, log, r"^QEMU fw_cfg DMA interface supported$")
    expect_fw_line(vm, log, r"^qemu/e820: addr 0x0000000000000000 len 0x00000000c0000000 \[RAM\]$")
    expect_fw_line(vm, log, r"^qemu/e820: addr 0x0000000100000000 len 0x0000000040000000 \[RAM\]$")
    expect_fw_line(vm, log, r"^Found 2 cpu\(s\) max supported 2 cpu\(s\)$")
    expect_fw_line(vm, log, r"^No bootable device")
    if verbose:
        assert re.search(r"^vmm: debug: firmware: Found QEMU fw_cfg$", vm.err, re.M), \
            f"-v -v: no 'firmware: Found QEMU fw_cfg' line in the VMM's log\n{vm.tail()}"


def boot_sector(path, code):
    """A 1 MiB disk whose first sector is CODE with the 0x55 0xAA signature."""
    img = bytearray(1 << 20)
    img[:len(code)] = code
    img[510:512] = b"\x55\xaa"
    path.write_bytes(img)
    return path


def test_boots_a_virtio_blk_disk(vms, workdir):
    # A disk over virtio-pci: SeaBIOS enumerates the PCI bus (our host bridge, the virtio-blk
    # function), places its BAR, reads the boot sector through its virtio-blk driver and jumps
    # to it; the boot sector writes a line to COM1 and halts with interrupts off, which ends the
    # VMM with status 0.
    #   cli; xor ax,ax; mov ds,ax; mov si,msg; mov dx,0x3f8
    #   l: lodsb; test al,al; jz h; out dx,al; jmp l
    #   h: hlt; jmp h
    #   msg: "BOOT SECTOR OK\n\0"            ... 0x55 0xAA at 510
    code = bytes([0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0xbe, 0x16, 0x7c, 0xba, 0xf8, 0x03, 0xac, 0x84,
                  0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xf4, 0xeb, 0xfd]) + b"BOOT SECTOR OK\n\0"
    disk = boot_sector(workdir / "boot.img", code)
    log = workdir / "disk.fw"
    run = vms.run(["--firmware", SEABIOS_DIR / "bios.bin", "--firmware-log", log,
                   "--transport", "pci", "--disk", disk], timeout=60, name="vmm-bios-disk")
    expect_status(run, 0)
    expect_output(run, r"^BOOT SECTOR OK$")
    expect_fw_line(run, log, r"^PCI: init bdf=00:00.0 id=1b36:0008$")
    expect_fw_line(run, log, r"^found virtio-blk at 00:01.0$")
    expect_fw_line(run, log, r"^Booting from Hard Disk\.\.\.$")


def test_reset_through_port_cf9(vms, workdir):
    # A machine reset through the chipset's reset control register (port 0xCF9), as SeaBIOS and
    # OVMF reset: a boot sector that prints a line, then writes 0x06 (SYS_RST | RST_CPU) there.
    # No --transport: with --firmware the disk is on PCI by default. With --no-reboot the VMM
    # ends with status 0, saying why (without it SeaBIOS would boot the sector again).
    #   (the loop above) h: mov dx,0xcf9; mov al,6; out dx,al; hlt; jmp $-1   msg at 0x7c1c
    code = bytes([0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0xbe, 0x1c, 0x7c, 0xba, 0xf8, 0x03, 0xac, 0x84,
                  0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xba, 0xf9, 0x0c, 0xb0, 0x06, 0xee, 0xf4,
                  0xeb, 0xfd]) + b"RESETTING\n\0"
    disk = boot_sector(workdir / "reset.img", code)
    run = vms.run(["--firmware", SEABIOS_DIR / "bios.bin", "--no-reboot", "--disk", disk],
                  timeout=60, name="vmm-bios-reset")
    expect_status(run, 0)
    expect_output(run, r"^RESETTING$")
    assert re.search(r"reset control \(port 0xcf9\): the guest asked for a hard reset \(0x06\)",
                     run.err), f"no 'reset control (port 0xcf9)' line in the VMM's log\n{run.err}"


def resetting_firmware(path):
    """A 64 KiB firmware that prints "BOOT" on COM1 and resets through port 0xCF9 at once."""
    image = bytearray(b"\xf4" * 0x10000)  # hlt
    #   0xff00: mov dx,0x3f8; mov al,'B'...; mov dx,0xcf9; mov al,6; out dx,al; hlt; jmp $-1
    code = bytes([0xba, 0xf8, 0x03])
    for c in b"BOOT\n":
        code += bytes([0xb0, c, 0xee])
    code += bytes([0xba, 0xf9, 0x0c, 0xb0, 0x06, 0xee, 0xf4, 0xeb, 0xfd])
    image[0xff00:0xff00 + len(code)] = code
    rel = (0xff00 - 0xfff3) & 0xffff  # the reset vector (0xfff0): jmp near 0xff00
    image[0xfff0:0xfff3] = bytes([0xe9, rel & 0xff, rel >> 8])
    path.write_bytes(bytes(image))
    return path


def test_reset_starts_the_firmware_again(vms, workdir):
    # Each boot resets at once: the VMM starts the firmware again, saying so each time, until
    # the guard sees a reset loop (10 restarts within 60 s) and ends with status 1.
    run = vms.run(["--firmware", resetting_firmware(workdir / "reset.bin")], timeout=60,
                  name="vmm-reset-loop")
    boots = len(re.findall(r"^BOOT$", run.out, re.M))
    restarts = re.findall(r"reboot: the guest reset: starting the firmware again \(boot (\d+)\)",
                          run.err)
    assert run.status == 1 and boots == 11 and restarts == [str(n) for n in range(2, 12)], \
        f"status {run.status} (want 1), {boots} boots (want 11), restarts {restarts}\n{run.tail()}"
    assert "reboot: the guest reset 11 times within 60 s: a reset loop; stopping" in run.err, \
        run.tail()


def test_no_reboot_ends_at_the_reset(vms, workdir):
    run = vms.run(["--firmware", resetting_firmware(workdir / "reset.bin"), "--no-reboot"],
                  timeout=60, name="vmm-no-reboot")
    expect_status(run, 0)
    boots = len(re.findall(r"^BOOT$", run.out, re.M))
    assert boots == 1 and "reboot:" not in run.err, f"{boots} boots, want 1\n{run.tail()}"


@pytest.mark.parametrize("what", ["100000 bytes", "32 MiB", "empty", "a directory"])
def test_bad_firmware_refused(vms, workdir, what):
    # Bad sizes: not whole 64 KiB blocks, too large, empty; a directory.
    if what == "100000 bytes":
        path = workdir / "short.bin"
        path.write_bytes((SEABIOS_DIR / "bios.bin").read_bytes()[:100000])
    elif what == "32 MiB":
        path = workdir / "huge.bin"
        with open(path, "wb") as f:
            f.truncate(32 << 20)
    elif what == "empty":
        path = workdir / "empty.bin"
        path.write_bytes(b"")
    else:
        path = workdir
    run = vms.run(["--firmware", path], timeout=30, name="vmm-bad-firmware")
    assert run.status == 2 and f"--firmware {path}: " in run.err, \
        f"{what}: status {run.status}, want 2 with a message\n{run.err}"
