"""firmware: the default Linux guest booted through Debian's SeaBIOS (bios-256k.bin) with the
kernel handed over by fw_cfg, to the kernel's first console line and to the shell prompt; the
same kernel booted directly beside it. What the firmware costs is the first row's difference
between a firmware boot and the direct one of the same VMM."""

import os

from .guests import SHELL_ARGS, SHELL_PROMPT, linux_guest
from .runner import available, rounds
from .vm import run_vm

SEABIOS = os.path.join(os.environ.get("SEABIOS_DIR", "/usr/share/seabios"), "bios-256k.bin")
# The kernel's first line on the serial console (the boot console: the default guest's command
# line has no earlycon, so it comes once the 8250 driver registers).
FIRST_LINE = b"Linux version"


def firmware_cmd(env, impl, g, append):
    """impl's command line: *-direct boot the kernel themselves, the others through SeaBIOS."""
    if impl == "vmm-direct":
        return env.vmm_cmd(g["BZIMAGE"], append, initrd=g["INITRAMFS"])
    if impl == "vmm":
        return env.vmm_cmd(g["BZIMAGE"], append, extra=["--firmware", SEABIOS],
                           initrd=g["INITRAMFS"])
    machine = {"qemu-q35": "q35", "qemu-pc": "pc", "qemu-direct": "microvm,acpi=off"}[impl]
    extra = [] if impl == "qemu-direct" else ["-bios", SEABIOS]
    return env.qemu_cmd(machine, g["BZIMAGE"], append, extra, initrd=g["INITRAMFS"])


def bench_firmware(env, res, a):
    if not os.access(SEABIOS, os.R_OK):
        res.fail("firmware", "setup", f"{SEABIOS} is missing (Debian's seabios, tools/setup.sh)")
        return
    impls = available(env, res, "firmware", [])
    g = linux_guest(res) if impls else None
    if not g or not g.get("BZIMAGE"):
        return
    append = g["CMDLINE"] + " " + SHELL_ARGS
    for _, impl in rounds(impls, a.runs):
        r = run_vm(firmware_cmd(env, impl, g, append), {"kernel": FIRST_LINE, "shell": SHELL_PROMPT},
                   stop_at="shell", timeout=a.boot_timeout)
        if "kernel" not in r.seen:
            res.fail("firmware", impl, f"no '{FIRST_LINE.decode()}' within {a.boot_timeout} s", r)
            continue
        res.add("firmware", "launch to the kernel's first console line", "s", "lower", impl,
                r.seen["kernel"] / 1e9)
        if "shell" not in r.seen:
            res.fail("firmware", impl, f"no shell prompt within {a.boot_timeout} s", r)
            continue
        res.add("firmware", "launch to the shell prompt", "s", "lower", impl, r.seen["shell"] / 1e9)
    res.note("firmware: the default guest's bzImage and initramfs, 1 vCPU, booted through "
             f"{SEABIOS} (vmm: --firmware with --kernel, the kernel in fw_cfg and our linuxboot "
             "option ROM; qemu-q35 / qemu-pc: -bios with -kernel, its linuxboot_dma.bin) and "
             "directly (vmm-direct: --kernel bzImage; qemu-direct: microvm, qboot). The firmware's "
             "share: a firmware row's first column minus its VMM's direct one.")
