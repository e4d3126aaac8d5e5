"""pmem: ten VMs on one read-only root, shared on virtio-pmem against copied on virtio-blk."""

import os
import shutil
import time

from .config import CPUS, MEM
from .guests import linux_guest
from .runner import rounds
from .vm import LiveVM, smaps_rollup


# Every file of the root read once, as a booted system reads its binaries and libraries.
PMEM_READ_ALL = "find / -xdev -type f -exec cat {} + >/dev/null 2>&1; echo READ-ALL-DONE"


def pmem_root_vm(env, g, image, kind):
    """One VM of the default kernel whose root is `image` (read-only) on `kind` ("pmem" or
    "blk"), its shell on the console."""
    root = (["--pmem", f"path={image},ro,root"] if kind == "pmem"
            else ["--disk", f"{image},ro"])
    append = g["CMDLINE"] + " rootfstype=ext4 vmmguest.shell=1 vmmguest.dhcp=0"
    if kind == "blk":
        append += " root=/dev/vda ro"
    cmd = [env.vmm, "--kernel", g["VMLINUX"], "--mem", MEM, "--cpus", CPUS, "--console", "stdio",
           "--append", append] + root
    return LiveVM(cmd, {"shell": b"VMM-GUEST-SHELL: starting"}, stdin=True)


def bench_pmem(env, res, a):
    g = linux_guest(res)
    if not g:
        return
    n = 3 if a.quick else 10
    image = os.path.join(env.tmp, "root.ext4")
    shutil.copyfile(g["DISK"], image)
    size = os.path.getsize(image)
    with open(image, "r+b") as f:  # a multiple of 2 MiB, as a pmem window needs
        f.truncate((size + (2 << 20) - 1) // (2 << 20) * (2 << 20))
    for _, kind in rounds(["pmem", "blk"], a.runs):
        vms = [pmem_root_vm(env, g, image, kind) for _ in range(n)]
        try:
            deadline = time.monotonic() + a.boot_timeout
            if any(vm.wait_seen("shell", max(1, deadline - time.monotonic())) is None
                   for vm in vms):
                res.fail("pmem", "vmm", f"root on {kind}: not every VM reached its shell",
                         vms[0].stop())
                continue
            for vm in vms:
                vm.watch_for("read", b"\nREAD-ALL-DONE")
                vm.type(PMEM_READ_ALL)
            if any(vm.wait_seen("read", 600) is None for vm in vms):
                res.fail("pmem", "vmm", f"root on {kind}: the guests did not read their root",
                         vms[0].stop())
                continue
            time.sleep(1)
            mem = [smaps_rollup(vm.p.pid) for vm in vms]
        finally:
            for vm in vms:
                vm.stop()
        pss = sum(m.get("Pss", 0) for m in mem) / 1024
        priv = sum(m.get("Private_Clean", 0) + m.get("Private_Dirty", 0) for m in mem) / 1024
        res.add("pmem", f"{n} VMs, root on {kind}: summed PSS", "MiB", "lower", "vmm", pss)
        res.add("pmem", f"{n} VMs, root on {kind}: summed private memory", "MiB", "lower",
                "vmm", priv)
    res.note(f"pmem: {n} VMs of the default kernel booted at once from one read-only copy of "
             f"the default guest's ext4 disk ({size / 2**20:.0f} MiB), ours only: on virtio-pmem "
             "(`--pmem path=IMG,ro,root`: root=/dev/pmem0 rootflags=dax, the file's pages mapped "
             "into every guest) or on virtio-blk (`--disk IMG,ro`, root=/dev/vda: each guest "
             "keeps its own page cache of what it read, in its RAM). Each guest reads every "
             f"file of its root (`{PMEM_READ_ALL.split(';')[0]}`), then /proc/PID/smaps_rollup "
             "of each VMM: PSS counts a page shared by k processes 1/k times, so the summed "
             "PSS is what the 10 take together; the host's page cache of the image (read by "
             "the blk VMMs with pread, not mapped) is not in it for blk and is for pmem.")
