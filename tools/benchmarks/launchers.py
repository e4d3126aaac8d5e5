"""The VM launchers: the command lines of our VMM and of QEMU for the same guest, kernel command
line, memory and vCPUs (Env), from --build, --vmm, --guests, --qemu and --peer-vmm."""

import os
import shutil
import tempfile

from .config import CPUS, EMULATED_KVM, MEM, PEER_VMM, QEMU_MACHINE, ROOT
from .vm import has_boot_timer


# The Python host side of the net rows, run as a program inside the namespace.
HOST_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "net_host.py")


class Env:
    def __init__(self, args):
        build = args.build or os.environ.get("BUILD_DIR") or os.path.join(ROOT, "build")
        self.vmm = args.vmm or os.environ.get("VMM") or os.path.join(build, "vmm")
        self.guests = args.guests or os.environ.get("GUESTS") or os.path.join(build, "tests/guests")
        self.qemu = args.qemu or os.environ.get("QEMU") or "qemu-system-x86_64"
        # The C host side of the net rows (tools/netgen); the Python one when it is not built.
        netgen = os.path.join(build, "vmm-netgen")
        self.net_host = [netgen] if os.access(netgen, os.X_OK) else ["python3", HOST_PY]
        # The block rows' host alone (tools/blkhost); without it they have no host column.
        blkhost = os.path.join(build, "vmm-blkhost")
        self.blk_host = blkhost if os.access(blkhost, os.X_OK) else None
        self.have_qemu = shutil.which(self.qemu) is not None
        self.kvm = os.access("/dev/kvm", os.R_OK | os.W_OK)
        self.boot_timer = has_boot_timer(self.vmm)
        self.peer_vmm = args.peer_vmm
        self.peer_boot_timer = has_boot_timer(self.peer_vmm) if self.peer_vmm else False
        self.tmp = tempfile.mkdtemp(prefix="bench.")

    def guest(self, name):
        return os.path.join(self.guests, name + ".elf")

    def vmm_cmd(self, kernel, append="", extra=(), initrd=None, peer=False):
        cmd = [self.peer_vmm if peer else self.vmm, "--kernel", kernel, "--mem", MEM,
               "--cpus", CPUS, "--console", "stdio", "--debug-exit"]
        if self.peer_boot_timer if peer else self.boot_timer:
            cmd.append("--boot-timer")
        if initrd:
            cmd += ["--initrd", initrd]
        if append:
            cmd += ["--append", append]
        return cmd + list(extra)

    def qemu_cmd(self, machine, kernel, append="", extra=(), initrd=None):
        if self.kvm:
            # kvm_pvm rejects QEMU's write of MSR_IA32_ARCH_CAPABILITIES (0x10a): QEMU aborts.
            accel = ["-enable-kvm", "-cpu", "host,-arch-capabilities" if EMULATED_KVM else "host"]
        else:
            accel = ["-accel", "tcg", "-cpu", "max"]
        cmd = [self.qemu] + accel + ["-M", machine, "-m", MEM, "-smp", CPUS, "-nodefaults",
                                     "-no-user-config", "-display", "none", "-no-reboot",
                                     "-serial", "stdio",
                                     "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                                     "-kernel", kernel]
        if initrd:
            cmd += ["-initrd", initrd]
        if append:
            cmd += ["-append", append]
        return cmd + list(extra)

    def cmd(self, impl, kernel, append="", vmm_extra=(), qemu_extra=(), initrd=None):
        if impl in ("vmm", PEER_VMM):
            return self.vmm_cmd(kernel, append, vmm_extra, initrd, peer=impl == PEER_VMM)
        return self.qemu_cmd(QEMU_MACHINE[impl], kernel, append, qemu_extra, initrd)
