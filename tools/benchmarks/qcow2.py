"""qcow2: the blk_bench guest's 4 KiB random reads and writes at queue depth 1 and 32 on a qcow2
image whose clusters are all allocated: ours (in-process qcow2) against QEMU with its defaults
and tuned (IOThread, io_uring) on the same image, and against our own raw path on the same
bytes as a raw file (vmm-raw)."""

import os
import re
import shutil
import subprocess

from .config import PEERS
from .runner import rounds
from .vm import run_vm


def qcow2_cmd(env, impl, args, images, op):
    raw, qcow2 = images
    if impl in ("vmm", "vmm-raw"):
        disk = raw if impl == "vmm-raw" else qcow2
        return env.vmm_cmd(env.guest("blk_bench"), args,
                           ["--disk", disk + ("" if op == "write" else ",ro")])
    drive = f"id=d0,file={qcow2},format=qcow2,if=none" + ("" if op == "write" else ",readonly=on")
    device = "virtio-blk-device,drive=d0"
    extra = []
    if impl == "qemu-iothread":
        extra = ["-object", "iothread,id=io0"]
        drive += ",aio=io_uring"
        device += ",iothread=io0"
    return env.qemu_cmd("microvm,acpi=off", env.guest("blk_bench"), args,
                        ["-global", "virtio-mmio.force-legacy=false"] + extra +
                        ["-drive", drive, "-device", device])


def make_images(env):
    """64 MiB of random bytes as a raw file and as a qcow2 image (every cluster allocated,
    qemu-img's defaults: 64 KiB clusters, v3), both in the host page cache."""
    raw = os.path.join(env.tmp, "q.raw")
    qcow2 = os.path.join(env.tmp, "q.qcow2")
    with open(raw, "wb") as f:
        f.write(os.urandom(64 << 20))
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow2], check=True)
    for path in (raw, qcow2):
        with open(path, "rb") as f:
            while f.read(1 << 20):
                pass
    return raw, qcow2


def bench_qcow2(env, res, a):
    if shutil.which("qemu-img") is None:
        res.note("qcow2: skipped: qemu-img not installed (qemu-utils)")
        return
    if not os.path.exists(env.guest("blk_bench")):
        res.fail("qcow2", "setup", f"guest {env.guest('blk_bench')} not built")
        return
    impls = [i for i in PEERS["qcow2"] if i.startswith("vmm") or env.have_qemu]
    images = make_images(env)
    args = "seconds=1 requests=300" if a.quick else "seconds=3 requests=100000000"
    for _, impl in rounds(impls, a.runs):
        for op in ("read", "write"):
            r = run_vm(qcow2_cmd(env, impl, f"{args} op={op}", images, op),
                       {"pass": b"TEST PASS"}, timeout=180)
            found = re.findall(rb"^BENCH blk_rand" + op.encode() + rb" qd=(\d+) iops=(\d+)",
                               r.out, re.M)
            if r.status != 1 or len(found) != 2:
                res.fail("qcow2", impl, f"blk_bench guest (op={op}) did not pass", r)
                continue
            for qd, iops in found:
                res.add("qcow2", f"4K rand{op} qd={int(qd)}", "IOPS", "higher", impl,
                        int(iops))
    res.note(f"qcow2: blk_bench guest ({args}, op=read then op=write, qd 1 and 32 in one VM), "
             "a 64 MiB image of random bytes converted by qemu-img (qcow2 v3, 64 KiB clusters, "
             "all allocated), in the host page cache; reads on a read-only disk, writes "
             "overwrite allocated clusters (no allocation). vmm: ours on the qcow2 image; "
             "vmm-raw: ours on the same bytes as a raw file; qemu-microvm: QEMU's defaults "
             "(aio=threads on the main loop); qemu-iothread: an IOThread for the disk and "
             "aio=io_uring. QEMU virtio-blk-device (modern).")
