"""fio (hardware KVM only): 4 KiB random reads and writes on a raw disk, Firecracker's jobs."""

import os

from .rootfs import bench_results, debian_guest, hw_skip, rootfs_run
from .runner import available, rounds


def bench_fio(env, res, a):
    if hw_skip(res, "fio"):
        return
    impls = available(env, res, "fio", [])
    g = debian_guest(res, "fio") if impls else None
    if not g:
        return
    size_mib, runtime, ramp = (256, 5, 1) if a.quick else (1024, 30, 10)
    disk = os.path.join(env.tmp, "fio.img")
    with open(disk, "wb") as f:
        for _ in range(size_mib):
            f.write(os.urandom(1 << 20))
    jobs = ["randread", "randwrite"]
    for _, impl in rounds(impls, a.runs):
        r = rootfs_run(env, g, impl, jobs, f"vmmbench.runtime={runtime} vmmbench.ramp={ramp}",
                       ["--disk", f"{disk},cache=none"],
                       ["-drive", f"id=d1,file={disk},format=raw,if=none,cache=none,aio=native",
                        "-device", "virtio-blk-device,drive=d1"], runtime * 2 + ramp * 2 + 300)
        found = bench_results(r.out)
        for job in jobs:
            try:
                side = "read" if job == "randread" else "write"
                iops = found[f"fio-{job}"]["jobs"][0][side]["iops"]
            except (KeyError, IndexError, TypeError):
                res.fail("fio", impl, f"no fio {job} result", r)
                continue
            res.add("fio", f"4K {job} qd=32 libaio direct", "IOPS", "higher", impl, iops)
    res.note(f"fio: Debian rootfs (guest-images/rootfs.sh), fio 4 KiB rand{{read,write}}, "
             f"libaio, iodepth 32, direct=1, {ramp} s ramp + {runtime} s, on a second "
             f"{size_mib} MiB raw disk opened with O_DIRECT on the host by both VMMs.")
