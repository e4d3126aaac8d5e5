# Crash consistency of virtio-blk disks, data and not only safety: the blk_crash test guest
# (tests/guests/blk_crash.c) writes 12 blocks of 4 KiB spread over a 64 MiB disk per round
# (allocating qcow2 clusters, L2 tables and refcounts as it goes), sends FLUSH, and prints
# "flushed R" only once the flush completed. The host side (storage/blk_crash.py) kills the VMM
# with SIGKILL 2-100 ms after the guest starts writing (kill points from a fixed seed), 50 times
# per disk kind, restarting it on the same image from the round after the last one acknowledged,
# and after every kill checks: qcow2 images pass `qemu-img check` (leaked clusters allowed, exit
# status 3; corruption, 2, fails), and every sector of a flushed round reads back with that
# round's bytes or a later round's (qemu-img convert, or the raw file), and nothing else is
# anywhere on the disk. Disk kinds: qcow2 with 64 KiB clusters, qcow2 with 4 KiB clusters (32 L2
# tables, several refcount blocks), raw with cache=none, raw with cache=writeback (flush=on);
# each qcow2 kind also gets 15 kills in the first round of new images (the first FLUSH writes the
# first L2 table) followed by a run that is not killed. A self-check shows the checks can fail: a
# wrong expected round, a zeroed sector of flushed data and a zeroed qcow2 refcount must each be
# caught. BLK_CRASH_SEED and BLK_CRASH_KILLS change the seed and the count.
# labels: guests virtio
# requires: kvm
# timeout: 180
import os

from blk_crash import run_all
from framework import host
from framework.guests import guest_path


def test_crash_consistency(vms, workdir):
    host.require("qemu-img")
    runner = run_all(vms, guest_path("blk_crash"), workdir,
                     seed=int(os.environ.get("BLK_CRASH_SEED", 20261128)),
                     kills=int(os.environ.get("BLK_CRASH_KILLS", 50)))
    assert not runner.failed, "crash consistency of qcow2 and raw disks (the FAIL lines above)"
