"""The alternating runner: each round runs every VMM once, the order flipping from one round to
the next; which of a benchmark's peers this host can run; the read benchmarks' cached disk."""

import os

from .config import PEERS, PEER_VMM


def rounds(impls, runs):
    """Alternating order: A B C, C B A, A B C, ..."""
    for i in range(runs):
        for impl in (impls if i % 2 == 0 else list(reversed(impls))):
            yield i, impl


def available(env, res, bench, guest_names):
    impls = [i for i in PEERS[bench] if i.split("-")[0] == "vmm" or env.have_qemu]
    if env.peer_vmm:
        impls = ["vmm", PEER_VMM]
    elif not env.have_qemu:
        res.note(f"{bench}: QEMU ({env.qemu}) not installed: peers skipped")
    for g in guest_names:
        if not os.path.exists(env.guest(g)):
            res.fail(bench, "setup", f"guest {env.guest(g)} not built")
            return []
    return impls


def cached_disk(env, name):
    """A 64 MiB file of random bytes in env.tmp, read into the host page cache: the disk of the
    read benchmarks (blk, scaling, vhost-user-blk). Its path."""
    disk = os.path.join(env.tmp, name)
    with open(disk, "wb") as f:
        f.write(os.urandom(64 << 20))
    with open(disk, "rb") as f:  # into the page cache
        while f.read(1 << 20):
            pass
    return disk
