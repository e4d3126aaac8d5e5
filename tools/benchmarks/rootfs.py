"""The Debian root file system of the hardware-KVM benchmarks (fio, iperf3): the guest, one
run of its jobs, their JSON results; skipped where the KVM emulates guest kernel code."""

import json
import os
import re
import subprocess
import sys

from .config import EMULATED_KVM, ROOT
from .guests import linux_guest
from .vm import run_vm


def hw_skip(res, bench):
    """True (and a note) where a Linux guest's user space cannot run usefully."""
    if EMULATED_KVM:
        why = "skipped: needs hardware KVM (this host's KVM is kvm_pvm)"
    elif not os.path.exists("/dev/kvm"):
        why = "skipped: needs hardware KVM (no /dev/kvm)"
    else:
        return False
    res.note(f"{bench}: {why}")
    print(f"bench: {bench}: {why}", file=sys.stderr)
    return True


def debian_guest(res, bench):
    """Kernel, command line and the Debian root file system (guest-images/rootfs.sh)."""
    g = linux_guest(res)
    if not g:
        return None
    try:
        with open(g["KERNEL_CONFIG"]) as f:
            config = f.read().splitlines()
    except OSError:
        config = []
    # fio needs io_setup (libaio) and shmget (its job area, even with --thread).
    missing = [o for o in ("CONFIG_AIO", "CONFIG_SYSVIPC") if f"{o}=y" not in config]
    if bench == "fio" and missing:
        res.fail(bench, "setup", f"the guest kernel lacks {', '.join(missing)} (fio): add "
                 "=y to guest-images/kernel.config")
        return None
    try:
        out = subprocess.run([os.path.join(ROOT, "guest-images/rootfs.sh"), "--print-path"],
                             capture_output=True, text=True, timeout=3600, check=True).stdout
    except (subprocess.SubprocessError, OSError) as e:
        res.fail(bench, "setup", f"guest-images/rootfs.sh failed: {e}")
        return None
    g["ROOTFS"] = out.strip()
    return g


def rootfs_run(env, g, impl, jobs, extra_append, vmm_extra, qemu_extra, timeout, wrap=None):
    rootfs = g["ROOTFS"]
    vmm_extra = ["--disk", f"{rootfs},ro"] + vmm_extra
    qemu_extra = ["-global", "virtio-mmio.force-legacy=false",
                  "-drive", f"id=root,file={rootfs},format=raw,if=none,readonly=on",
                  "-device", "virtio-blk-device,drive=root"] + qemu_extra
    append = (f"{g['CMDLINE']} root=/dev/vda ro rootfstype=ext4 init=/bench-init "
              f"vmmbench.jobs={','.join(jobs)} {extra_append}")
    cmd = env.cmd(impl, g["VMLINUX"], append, vmm_extra, qemu_extra)
    return run_vm(wrap(cmd) if wrap else cmd, {"done": b"VMM-BENCH-DONE"}, stop_at="done",
                  timeout=timeout)


def bench_results(out):
    """{job: parsed JSON} from the guest's VMM-BENCH-BEGIN/END blocks."""
    found = {}
    for name, body in re.findall(rb"^VMM-BENCH-BEGIN (\S+)\r?\n(.*?)^VMM-BENCH-END \1", out,
                                 re.M | re.S):
        # Kernel messages may still land between the lines: drop them.
        body = re.sub(rb"(?m)^\[ *\d+\.\d+\] .*$", b"", body.replace(b"\r", b""))
        try:
            found[name.decode()] = json.loads(body)
        except ValueError:
            pass
    return found


def bench_hw_only(env, res, a):
    if EMULATED_KVM:
        res.note("fio, iperf3: skipped: needs hardware KVM (this host's KVM is kvm_pvm)")
    else:
        res.note("fio, iperf3: skipped: not in 'all' (they debootstrap a Debian root file "
                 "system: run tools/bench fio / tools/bench iperf3)")
