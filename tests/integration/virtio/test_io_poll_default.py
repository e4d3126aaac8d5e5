# The I/O threads' polling window cap (--io-poll, vmm/vm/io_poll.h) as the VMM chose it, read from
# its debug log while a virtio-rng test guest runs: without --io-poll, 256 us where the vCPUs and
# every device's I/O threads each have a host CPU (nproc), else 64; a given --io-poll is used as
# is, 0 included. The guest must pass every time.
# labels: guests virtio
# requires: kvm
# timeout: 120
import os
import re

import pytest

from framework.guests import boot_vmm, expect_pass

CPUS = len(os.sched_getaffinity(0))  # what nproc prints


def expect_log(run, regex):
    assert re.search(regex, run.err, re.M), f"{run.name}: log lacks /{regex}/\n{run.tail()}"


def test_default_one_thread(vms):
    want = 256 if 1 + 1 <= CPUS else 64  # one vCPU, one I/O thread (the rng's)
    run = boot_vmm(vms, "virtio_rng", "-v", "-v", "--rng")
    expect_pass(run)
    expect_log(run, rf"I/O threads poll up to {want} us \(default: 1 I/O threads, 1 vCPUs, "
                    rf"{CPUS} host CPUs\)")


def test_default_more_threads_than_cpus(vms, workdir):
    # One more I/O thread than the host has CPUs beside the vCPU: the window stays short. A disk
    # has at most 8 queues (one I/O thread each), so a large host gets several disks.
    disks = []
    for i, left in enumerate(range(CPUS, 0, -8)):
        path = workdir / f"disk.img.{i}"
        path.write_bytes(b"")
        os.truncate(path, 1 << 20)
        disks += ["--disk", f"{path},num-queues={min(left, 8)}"]
    run = boot_vmm(vms, "virtio_rng", "-v", "-v", "--rng", *disks)
    expect_pass(run)
    expect_log(run, rf"I/O threads poll up to 64 us \(default: {CPUS + 1} I/O threads, 1 vCPUs")


@pytest.mark.parametrize("us", [10, 0])
def test_given(vms, us):
    run = boot_vmm(vms, "virtio_rng", "-v", "-v", "--rng", "--io-poll", us)
    expect_pass(run)
    expect_log(run, rf"I/O threads poll up to {us} us \(--io-poll\)")
