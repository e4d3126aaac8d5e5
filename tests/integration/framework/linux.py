"""The default Linux guest (guest-images/: the project's kernel, busybox initramfs, ext4 disk).

A Linux boot costs about a minute on kvm_pvm (guest kernel code is emulated) and a restore a few
milliseconds. So a test that needs a running Linux, and is not testing the boot itself, starts
from `shell_snapshot(ARGS)`: the guest booted once per build and VMM binary with ARGS to its
shell and snapshotted, under the build's test-cache (a lock makes the tests that want the same one
wait for one boot). Any number of restores of it may run side by side (docs/snapshots.md).
"""
import fcntl
import hashlib
import itertools
import json
import os
import re
import shutil
import tempfile
import time
from functools import cache
from pathlib import Path

from . import guest_env, host, paths
from .vm import Vm

SHELL_LINE = r"^VMM-GUEST-SHELL: starting"
_tags = itertools.count(1)


@cache
def images():
    """guest-images/build.sh --print-env as a dict: VMLINUX, BZIMAGE, INITRAMFS, DISK, CMDLINE,
    EMULATED_KVM... The images are built on first use (minutes) and cached."""
    host.require("kvm")  # before the guest is built: minutes on a cache miss
    env, run = guest_env.print_env("build.sh")
    assert run.returncode == 0, f"guest-images/build.sh --print-env failed:\n{run.stderr[-3000:]}"
    return env


def default_args(mem="256M", append=""):
    """Our VMM's options for the default guest to its shell, over the console on stdio."""
    img = images()
    return ["--kernel", img["VMLINUX"], "--initrd", img["INITRAMFS"], "--mem", mem,
            "--console", "stdio",
            "--append", f"{img['CMDLINE']} vmmguest.shell=1 vmmguest.dhcp=0 {append}".strip()]


class Shell:
    """The guest's shell on VM's console (a Vm started with console_in=True)."""

    def __init__(self, vm):
        self.vm = vm

    def wait_started(self, timeout=600):
        self.vm.wait_out(SHELL_LINE, timeout)

    def send(self, command):
        """Types COMMAND and returns at once: a ticket for result(). Several shells (a fork's
        children) then run their commands side by side."""
        tag = f"VMMT{next(_tags)}"
        start = len(self.vm.out)
        # The tag is put together in the guest, so the echoed command line never matches.
        self.vm.type(f'__vmmt={tag}; {command}; echo "$__vmmt-RC-$?"')
        return tag, start, time.monotonic(), command

    def result(self, ticket, timeout=120):
        """Waits for the command of TICKET (send()) to end; returns (exit status, the console's
        lines it printed)."""
        tag, start, sent, command = ticket
        match = self.vm.wait_out(rf"^{tag}-RC-(\d+)$", timeout)
        record_command_time(time.monotonic() - sent, command)
        text = self.vm.out[start:]
        lines = text.splitlines()[1:]  # the echoed command first
        lines = [line for line in lines if not line.startswith(f"{tag}-RC-")]
        return int(match.group(1)), "\n".join(lines)

    def run(self, command, timeout=120):
        """Types COMMAND and waits for it to end; returns (exit status, the console's lines it
        printed). One program at a time: on kvm_pvm a pipeline of busybox programs computes with
        wrong memory now and then (docs/testing.md, "Known issue")."""
        return self.result(self.send(command), timeout)

    def check(self, command, timeout=120):
        """run(), asserted to exit 0; returns its output."""
        status, output = self.run(command, timeout)
        assert status == 0, f"`{command}` exited {status}:\n{output}\n{self.vm.tail()}"
        return output


def until(condition, seconds, fifo="/dev/.vmm-wait"):
    """A guest shell snippet that waits until CONDITION (a shell command list) succeeds, trying
    every 0.2 s for at most SECONDS s, then goes on either way (the command after it checks). It
    starts no program: the pause is the shell's own `read -t` on a FIFO nobody writes, made the
    first time (FIFO: in /dev, the default guest's devtmpfs, writable when its root is not;
    integration/guest_snippets runs it in the host's busybox sh). On kvm_pvm
    a program costs ~1 s of emulated kernel code, so the former `for i in $(seq 60); do COND &&
    break; sleep 1; done` took 2-3 s more than its wait."""
    return (f"[ -p {fifo} ] || mkfifo {fifo}; _w=0; until {condition}; do"
            f" [ $_w -ge {int(seconds * 5)} ] && break; _w=$((_w + 1));"
            f" read -t 0.2 _ <>{fifo}; done")


def random_hex_command(path, kib):
    """A guest shell command that writes KIB KiB of hex digits from awk's rand() (seeded by the
    time: bytes of the guest's own, in user-space code) to PATH, one 1 KiB printf at a time. Not
    /dev/urandom: that is guest kernel code (100 KiB took 13 s on kvm_pvm) and waits for the
    kernel's entropy in a guest without an rng; not a printf per 16 digits: busybox awk writes
    each printf with a system call of its own (100 KiB took 11 s there, in 1 KiB writes 1.2 s)."""
    return ("awk 'BEGIN { srand(); for (i = 0; i < %d; i++) { s = \"\"; for (j = 0; j < 64; j++)"
            " s = s sprintf(\"%%04x%%04x%%04x%%04x\", rand() * 65536, rand() * 65536,"
            " rand() * 65536, rand() * 65536); printf \"%%s\", s } }' >%s" % (kib, path))


def record_command_time(seconds, command):
    """Appends "SECONDS<TAB>COMMAND" to $VMM_CPU_DIR/shell/<the test's name> (tools/test.sh's
    build/test-cpu/shell, beside the tests' CPU seconds): what each command typed at a guest's shell
    took from typing to its status line, for finding where a Linux test's time goes (on kvm_pvm
    every program the guest starts costs seconds of emulated kernel code)."""
    folder, name = os.environ.get("VMM_CPU_DIR"), os.environ.get("VMM_TEST_NAME")
    if not folder or not name:
        return
    try:
        os.makedirs(Path(folder) / "shell", exist_ok=True)
        with open(Path(folder) / "shell" / name.replace("/", "_"), "a") as f:
            f.write(f"{seconds:.2f}\t{' '.join(command.split())[:200]}\n")
    except OSError:
        pass


def check_all(shells, command, timeout=120):
    """COMMAND (a str, or a function of the shell's index) typed at every shell at once, each
    asserted to exit 0; returns their outputs in order."""
    commands = [command(i) if callable(command) else command for i in range(len(shells))]
    tickets = [sh.send(c) for sh, c in zip(shells, commands)]
    outputs = []
    for sh, c, ticket in zip(shells, commands, tickets):
        status, output = sh.result(ticket, timeout)
        assert status == 0, f"`{c}` exited {status}:\n{output}\n{sh.vm.tail()}"
        outputs.append(output)
    return outputs


def boot(vms, args=None, name="linux", api=False, **kw):
    """Boots the default guest (default_args() unless ARGS) on our VMM; returns (vm, shell)
    once its shell has started."""
    vm = vms.start(args or default_args(), name=name, api=api, console_in=True, **kw)
    shell = Shell(vm)
    shell.wait_started()
    return vm, shell


def late_restore_safe(args):
    """ARGS with CPUID bit 152 (the TSC-deadline timer) cleared on an emulated KVM (kvm_pvm): a
    snapshot there is restored with the host's TSC (it cannot be set), so a restore minutes after
    the snapshot finds every tick since then due; on the one-shot TSC-deadline timer the guest
    catches them up one by one with interrupts off and its console never answers (seen: restores
    7 to 50 minutes after the snapshot). With the LAPIC timer periodic a late tick is dropped.
    The bit joins the command line's clearcpuid list (a second clearcpuid= replaces the first)."""
    args = [str(a) for a in args]
    if images().get("EMULATED_KVM", "0") != "1" or "--append" not in args:
        return args
    i = args.index("--append") + 1
    line = args[i]
    if re.search(r"clearcpuid=([0-9,]*,)?152(,|\s|$)", line):
        return args
    if "clearcpuid=" in line:
        args[i] = line.replace("clearcpuid=", "clearcpuid=152,", 1)
    else:
        args[i] = f"{line} clearcpuid=152"
    return args


def _key(args):
    vmm = paths.VMM.stat()
    text = json.dumps([str(paths.VMM), vmm.st_size, vmm.st_mtime_ns, [str(a) for a in args]])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def shell_snapshot(args=None):
    """A Full snapshot of the default guest (default_args() unless ARGS) at its shell, made once
    per build, VMM binary and ARGS; returns its folder (state, memory). ARGS must name no file a
    restore would write (a disk: give each restore its own copy with --disk PATH,id=ID). The
    guest's TSC-deadline timer is off on kvm_pvm (late_restore_safe()): the suite restores these
    snapshots up to its end."""
    args = late_restore_safe(args or default_args())
    paths.CACHE.mkdir(parents=True, exist_ok=True)
    folder = paths.CACHE / f"linux-shell-{_key(args)}"
    with open(paths.CACHE / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / "state").exists():
            return folder
        _prune_stale()
        with tempfile.TemporaryDirectory(dir=paths.CACHE) as work:
            _snapshot_boot(Path(work), args, folder)
    return folder


def _prune_stale():
    """Removes the snapshots made by an older VMM binary (no restore of this one uses them)."""
    built = paths.VMM.stat().st_mtime
    for old in paths.CACHE.glob("linux-shell-*"):
        if old.is_dir() and old.stat().st_mtime < built:
            shutil.rmtree(old, ignore_errors=True)
            old.with_name(old.name + ".lock").unlink(missing_ok=True)


def _snapshot_boot(work, args, folder):
    vm = Vm(work, args, name="snapshot-boot", api=True, console_in=True)
    try:
        shell = Shell(vm)
        shell.wait_started()
        shell.check("echo snapshot-base")  # the shell reads its input
        vm.api.want(204, "PATCH", "/vm", {"state": "Paused"})
        made = work / "snap"
        made.mkdir()
        vm.api.want(204, "PUT", "/snapshot/create",
                    {"snapshot_type": "Full", "snapshot_path": str(made / "state"),
                     "mem_file_path": str(made / "memory")}, timeout=300)
    except BaseException:
        print(vm.tail())
        raise
    finally:
        vm.stop()
    shutil.rmtree(folder, ignore_errors=True)
    made.rename(folder)


def restore(vms, folder, extra=(), name="linux", api=False, **kw):
    """A VM restored from FOLDER (shell_snapshot()) with its shell ready; returns (vm, shell).
    The console comes with the snapshot (stdio)."""
    vm = vms.start(["--restore", folder, *extra], name=name, api=api, console_in=True, **kw)
    shell = Shell(vm)
    return vm, shell


def console_lines(vm, regex):
    """Every console line of VM matching REGEX."""
    return re.findall(regex, vm.out, re.M)
