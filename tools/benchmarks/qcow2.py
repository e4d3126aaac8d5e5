"""qcow2: the blk_bench guest's 4 KiB random reads and writes at queue depth 1 and 32 on a qcow2
image whose clusters are all allocated: ours (in-process qcow2) against QEMU with its defaults
and tuned (IOThread, io_uring) on the same image, and against our own raw path on the same
bytes as a raw file (vmm-raw)."""

import os
import re
import shutil
import subprocess

from .config import PEER_VMM, PEERS
from .host_alone import HOST, blk_host, with_host
from .runner import rounds
from .vm import run_vm


def qcow2_cmd(env, impl, args, images, op, queues=1):
    raw, qcow2 = images
    if impl in ("vmm", "vmm-raw", PEER_VMM):
        disk = raw if impl == "vmm-raw" else qcow2
        return env.vmm_cmd(env.guest("blk_bench"), args,
                           ["--disk", disk + ("" if op != "read" else ",ro") +
                            (f",num-queues={queues}" if queues > 1 else "")],
                           peer=impl == PEER_VMM)
    drive = f"id=d0,file={qcow2},format=qcow2,if=none" + ("" if op != "read" else ",readonly=on")
    device = "virtio-blk-device,drive=d0" + (f",num-queues={queues}" if queues > 1 else "")
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
        recache(path)
    return raw, qcow2


def recache(path):
    """PATH written back, dropped from the page cache and read into it again: a file written in
    one 64 MiB write and one qemu-img wrote in pieces are cached differently (the host alone's
    4 KiB writes: 180k/s into the raw file, 390k/s into the qcow2 file, 650k/s into either once
    both were read back alike; issue 68), which made our raw writes look slower than our
    qcow2 writes."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        while os.read(fd, 1 << 20):
            pass
    finally:
        os.close(fd)


def bench_qcow2(env, res, a):
    if shutil.which("qemu-img") is None:
        res.note("qcow2: skipped: qemu-img not installed (qemu-utils)")
        return
    if not os.path.exists(env.guest("blk_bench")):
        res.fail("qcow2", "setup", f"guest {env.guest('blk_bench')} not built")
        return
    impls = with_host(env, [i for i in PEERS["qcow2"] if i.startswith("vmm") or env.have_qemu])
    if env.peer_vmm:  # an A/B of two builds of ours on the qcow2 image
        impls = ["vmm", PEER_VMM]
    images = make_images(env)
    seconds = 1 if a.quick else 3
    args = f"seconds={seconds} requests=300" if a.quick else f"seconds={seconds} requests=100000000"
    for _, impl in rounds(impls, a.runs):
        if impl == HOST:
            qcow2_host_rows(env, res, images[0], seconds)
            continue
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
    if HOST in impls:
        res.note("qcow2: host: the host alone on the raw file (the same bytes; what the qcow2 "
                 "layer maps to), buffered as our disks are: tools/blkhost's io_uring loop for "
                 f"the reads at qd 1 and 32, pwritev2() one at a time for the writes, {seconds} "
                 "s each (io_uring would hand every buffered write on ext4 to a worker "
                 "thread).")
    bench_qcow2_alloc(env, res, a, impls, seconds)
    bench_qcow2_mix(env, res, a, [i for i in impls if i != HOST], images[0], seconds)


ALLOC_GIB = 8  # the empty image's virtual size: 131072 clusters of 64 KiB
ALLOC_SIZE = f"{ALLOC_GIB}G"


def fresh_disk(env, impl):
    """(raw, qcow2) paths of which the one impl uses is new and empty: a sparse raw file for
    vmm-raw and the host, an empty qcow2 image for the others."""
    raw = os.path.join(env.tmp, "alloc.raw")
    qcow2 = os.path.join(env.tmp, "alloc.qcow2")
    for path in (raw, qcow2):
        if os.path.exists(path):
            os.unlink(path)
    if impl in ("vmm-raw", HOST):
        with open(raw, "wb") as f:
            f.truncate(ALLOC_GIB << 30)
    else:
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", qcow2, ALLOC_SIZE], check=True)
    return raw, qcow2


def alloc_run(env, res, impl, args, qd, seconds):
    """One depth's writes on a new empty image (or sparse raw file)."""
    metric = f"4K randwrite qd={qd}, empty {ALLOC_SIZE} image"
    images = fresh_disk(env, impl)
    if impl == HOST:
        got = blk_host(env, res, "qcow2", images[0], "write", qd, seconds)
        if got:
            res.add("qcow2", metric, "IOPS", "higher", HOST, got[0])
        return
    before = os.path.getsize(images[1]) if impl != "vmm-raw" else 0
    r = run_vm(qcow2_cmd(env, impl, args, images, "write"), {"pass": b"TEST PASS"}, timeout=180)
    m = re.search(rb"^BENCH blk_randwrite qd=\d+ iops=(\d+) requests=(\d+)", r.out, re.M)
    if r.status != 1 or not m:
        res.fail("qcow2", impl, f"blk_bench guest ({args}, empty image) did not pass", r)
        return
    res.add("qcow2", metric, "IOPS", "higher", impl, int(m.group(1)))
    if impl != "vmm-raw":
        grown = (os.path.getsize(images[1]) - before) / 65536
        res.add("qcow2", f"empty {ALLOC_SIZE} image, qd={qd}: writes that allocated a cluster",
                "%", "info", impl, round(100 * grown / max(int(m.group(2)), 1), 1))


def bench_qcow2_alloc(env, res, a, impls, seconds):
    """Allocating writes: the same 4 KiB random writes on an empty image, each VM a new one, so
    that most writes land in a cluster not yet allocated (issue 68)."""
    # The same writes for every VM (blk_bench's offsets are a fixed sequence): what share of
    # them allocates depends on their number, not on how fast they went.
    args = "seconds=30 requests=300" if a.quick else "seconds=30 requests=20000"
    if a.quick:  # a check that the rows come (the test suite's): ours and the host suffice
        impls = [i for i in impls if i in ("vmm", HOST)]
    for _, impl in rounds(impls, a.runs):
        for qd in (1, 32):  # a new image for each depth: blk_bench repeats its offsets
            alloc_run(env, res, impl, f"{args} op=write qd={qd}", qd, seconds)
    for path in fresh_disk(env, HOST):
        if os.path.exists(path):
            os.unlink(path)
    res.note(f"qcow2: 'empty {ALLOC_SIZE} image' rows: the same writes ({args}, the same "
             f"offsets on every VM) on a new empty image for each depth and VM "
             f"({ALLOC_SIZE} virtual: qemu-img create -f qcow2, 64 KiB clusters; vmm-raw: a "
             "sparse raw file of that size), so that most writes allocate a cluster: the share "
             "that did is its own row (the image's growth in clusters over the requests, L2 "
             f"tables included). host: pwritev2() into a sparse raw file for {seconds} s.")


def qcow2_host_rows(env, res, raw, seconds):
    for op in ("read", "write"):
        for qd in (1, 32):
            got = blk_host(env, res, "qcow2", raw, op, qd, seconds)
            if got:
                res.add("qcow2", f"4K rand{op} qd={qd}", "IOPS", "higher", HOST, got[0])


MIX_ROWS = (("reads of allocated clusters on queue 1, queue 0 idle", "idle0=1", ("read",)),
            ("reads of allocated clusters on queue 1, queue 0 writing new clusters", "",
             ("read", "write")))


def bench_qcow2_mix(env, res, a, impls, raw64, seconds):
    """Reads of allocated clusters beside allocating writes (issue 68): an 8 GiB image whose
    first 64 MiB are allocated, queue 1 reading them at qd 16 while queue 0 writes 4 KiB at
    random past them (most into new clusters), and with queue 0 idle."""
    base = (os.path.join(env.tmp, "mixbase.raw"), os.path.join(env.tmp, "mixbase.qcow2"))
    shutil.copyfile(raw64, base[0])
    os.truncate(base[0], ALLOC_GIB << 30)
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw64, base[1]],
                   check=True)
    subprocess.run(["qemu-img", "resize", "-q", base[1], ALLOC_SIZE], check=True)
    work = (os.path.join(env.tmp, "mix.raw"), os.path.join(env.tmp, "mix.qcow2"))
    args = f"seconds={seconds} requests=100000000 qd=32 queues=2 op=mix read_mib=64"
    if a.quick:  # the suite's check that the rows come
        impls = [i for i in impls if i == "vmm"]
    for _, impl in rounds(impls, a.runs):
        for name, extra, kinds in MIX_ROWS:
            for src, dst in zip(base, work):  # a new copy each run: the writes allocate
                subprocess.run(["cp", "--sparse=always", src, dst], check=True)
                recache(dst)
            r = run_vm(qcow2_cmd(env, impl, f"{args} {extra}", work, "mix", queues=2),
                       {"pass": b"TEST PASS"}, timeout=180)
            m = re.search(rb"^BENCH blk_mix qd=32 read_iops=(\d+) write_iops=(\d+)", r.out, re.M)
            if r.status != 1 or not m:
                res.fail("qcow2", impl, f"blk_bench guest (op=mix {extra}) did not pass", r)
                continue
            res.add("qcow2", name, "IOPS", "higher", impl, int(m.group(1)))
            if "write" in kinds:
                res.add("qcow2", "writes on queue 0 while queue 1 reads (most into new clusters)", "IOPS",
                        "higher", impl, int(m.group(2)))
    for path in base + work:
        os.unlink(path)
    res.note("qcow2: the 'queue 1 / queue 0' rows (issue 68): blk_bench op=mix, 2 queues, qd 32 "
             "(16 slots a queue), on an 8 GiB image whose first 64 MiB are allocated (qemu-img "
             "convert of the 64 MiB file, then resize; vmm-raw: the same bytes in a sparse raw "
             f"file), a new copy each VM, {seconds} s: queue 1 reads 4 KiB at random in the "
             "first 64 MiB while queue 0 writes 4 KiB at random past them (most into clusters "
             "not yet allocated), or with queue 0 idle (the reads alone). Ours: --disk "
             "...,num-queues=2 (an I/O thread each); QEMU: num-queues=2.")
