"""vhost-user-blk: the blk_bench guest on a disk served by qemu-storage-daemon, ours against
QEMU's vhost-user-blk on the same daemon and against our in-process virtio-blk."""

import os
import re
import shutil
import subprocess
import time

from .config import MEM, PEERS
from .host_alone import HOST, blk_host, with_host
from .runner import cached_disk, rounds
from .vm import run_vm


QSD = "qemu-storage-daemon"


def start_qsd(env, disk, tag):
    """A qemu-storage-daemon exporting `disk` read-only over vhost-user-blk; (process, socket)."""
    sock = os.path.join(env.tmp, f"qsd-{tag}.sock")
    p = subprocess.Popen([QSD, "--blockdev", f"driver=file,node-name=d0,filename={disk},"
                          "aio=io_uring,cache.direct=off",
                          "--export", "type=vhost-user-blk,id=e0,node-name=d0,addr.type=unix,"
                          f"addr.path={sock},writable=off"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not os.path.exists(sock):
        if time.monotonic() > deadline or p.poll() is not None:
            p.kill()
            err = p.communicate()[1].decode(errors="replace")
            raise OSError(f"{QSD} made no socket: {err.strip()}")
        time.sleep(0.01)
    return p, sock


def vhost_user_blk_cmd(env, impl, guest, args, disk, sock):
    """ours on the daemon (vmm), QEMU on the same daemon, or ours with its in-process disk."""
    if impl == "vmm":
        return env.vmm_cmd(guest, args, ["--disk", f"vhost-user={sock}"])
    if impl == "vmm-in-process":
        return env.vmm_cmd(guest, args, ["--disk", f"{disk},ro"])
    # QEMU needs guest RAM it can share with the back-end: a memfd backend of the same size.
    return env.qemu_cmd("microvm,acpi=off,memory-backend=ram0", guest, args, [
        "-object", f"memory-backend-memfd,id=ram0,size={MEM},share=on",
        "-global", "virtio-mmio.force-legacy=false",
        "-chardev", f"socket,id=vu0,path={sock}",
        "-device", "vhost-user-blk,chardev=vu0"])


def bench_vhost_user_blk(env, res, a):
    if shutil.which(QSD) is None:
        res.note(f"vhost-user-blk: skipped: {QSD} not installed (qemu-system-common)")
        return
    if not os.path.exists(env.guest("blk_bench")):
        res.fail("vhost-user-blk", "setup", f"guest {env.guest('blk_bench')} not built")
        return
    impls = with_host(env, [i for i in PEERS["vhost-user-blk"]
                            if i != "qemu-vhost-user" or env.have_qemu])
    disk = cached_disk(env, "vu-blk.img")
    args = "seconds=1 requests=300" if a.quick else "seconds=3 requests=100000000"
    for i, impl in rounds(impls, a.runs):
        if impl == HOST:
            for qd in (1, 32):
                got = blk_host(env, res, "vhost-user-blk", disk, "read", qd, 1 if a.quick else 3)
                if got:
                    res.add("vhost-user-blk", f"4K randread qd={qd}", "IOPS", "higher", HOST,
                            got[0])
            continue
        for qd in (1, 32):  # a fresh daemon per VM: no state carried from one run to the next
            qsd, sock = (None, None)
            try:
                if impl != "vmm-in-process":
                    qsd, sock = start_qsd(env, disk, f"{i}{impl}{qd}")
                r = run_vm(vhost_user_blk_cmd(env, impl, env.guest("blk_bench"),
                                              f"{args} qd={qd}", disk, sock),
                           {"pass": b"TEST PASS"}, timeout=120)
            except OSError as e:
                res.fail("vhost-user-blk", impl, str(e))
                continue
            finally:
                if qsd:
                    qsd.terminate()
                    try:
                        qsd.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        qsd.kill()
                        qsd.wait()
                    qsd.stderr.close()
            m = re.search(rb"^BENCH blk_randread qd=\d+ iops=(\d+)", r.out, re.M)
            if r.status != 1 or not m:
                res.fail("vhost-user-blk", impl, "blk_bench guest did not pass", r)
                continue
            res.add("vhost-user-blk", f"4K randread qd={qd}", "IOPS", "higher", impl,
                    int(m.group(1)))
    res.note(f"vhost-user-blk: blk_bench guest ({args}), a 64 MiB file in the host page cache. "
             f"vmm and qemu-vhost-user: the same back-end, a fresh `{QSD}` per VM exporting "
             "the file read-only over vhost-user-blk (aio=io_uring, page cache); ours `--disk "
             "vhost-user=SOCK` (guest RAM in a memfd), QEMU microvm `-device "
             "vhost-user-blk` (on virtio-mmio) with a shared memfd RAM backend. vmm-in-process: ours with "
             "its own virtio-blk on the file (`--disk FILE,ro`), for what the hop to another "
             "process costs. The VMM process's CPU time is not compared: the daemon does the "
             "I/O." + (" host: vmm-blkhost's io_uring loop on the same file, no VM and no "
                       "daemon (the blk rows' host alone)." if HOST in impls else ""))
