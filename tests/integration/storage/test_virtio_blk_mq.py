# virtio-blk multiqueue (--disk PATH,num-queues=N), driven by the virtio_blk_mq test guest
# (tests/guests/virtio_blk_mq.c): VIRTIO_BLK_F_MQ and num_queues, requests on every queue at once
# (reads of the host's pattern checked in the guest, writes read back through another queue), a
# FLUSH on each queue; the host then checks the guest's pattern in the file. On our VMM over
# virtio-mmio and virtio-pci (one MSI-X vector per queue), 2 and 4 queues, with the I/O threads
# placed by iothread-cpus; on QEMU (microvm, num-queues=2) as the peer. A bad num-queues and a
# CPU that does not exist are refused with a clear error.
# labels: guests virtio
# requires: kvm
# timeout: 300
import re

import pytest

from blk_checks import make_disk, pattern, sectors_of
from framework import host
from framework.guests import (boot_qemu, boot_vmm, expect_output, expect_pass,
                              guest_transport_args, qemu_transport, transport_args)


def check_disk(path, queues):
    """Queue q wrote 8 x 8 sectors of the guest pattern at 4096 + 64q."""
    n = queues * 64
    assert sectors_of(path, 4096, n) == pattern("G", "GST", 4096, n), \
        f"file: guest pattern at 4096..{4096 + n - 1}"
    assert sectors_of(path, 0, 2048) == pattern("H", "HST", 0, 2048), "file: host pattern intact"


def expect_mq_output(run, queues):
    expect_pass(run)
    expect_output(run, rf"^MQ negotiated, num_queues {queues}$")
    expect_output(run, rf"^{queues} queues at once: 8 reads and 8 writes each: ok$")
    expect_output(run, r"^flush on every queue, writes read back through another queue: ok$")


@pytest.mark.parametrize("transport", ["mmio", "pci"])
@pytest.mark.parametrize("queues", [2, 4])
def test_our_vmm(vms, workdir, transport, queues):
    disk = workdir / "mq.img"
    make_disk(disk)
    run = boot_vmm(vms, "virtio_blk_mq", *transport_args(transport),
                   "--disk", f"{disk},num-queues={queues},iothread-cpus=0:1",
                   "--append", f"{guest_transport_args(transport)} queues={queues}")
    expect_mq_output(run, queues)
    check_disk(disk, queues)


# Refusals: num-queues out of range; a CPU this host does not have. (The ids name the test's
# folder, which is in the --disk option: no comma or '=' in them.)
@pytest.mark.parametrize("option, error", [
    ("num-queues=9", "num-queues=9: expected a number from 1 to 8"),
    ("num-queues=2,iothread-cpus=4000", "iothread-cpus: CPU 4000 does not exist"),
], ids=["bad-num-queues", "no-such-cpu"])
def test_refused(vms, workdir, option, error):
    disk = workdir / "mq.img"
    make_disk(disk)
    queues = re.search(r"num-queues=(\d+)", option).group(1)
    run = boot_vmm(vms, "virtio_blk_mq", "--disk", f"{disk},{option}", "--append",
                   f"queues={queues}")
    assert run.status != 0 and re.search(error, run.err, re.M), \
        f"status {run.status}, stderr lacks /{error}/:\n{run.err}"


def test_qemu(vms, workdir):
    host.require("qemu")
    disk = workdir / "mq.img"
    make_disk(disk)
    machine, extra, _ = qemu_transport("mmio")
    run = boot_qemu(vms, "virtio_blk_mq", *extra,
                    "-drive", f"id=d0,file={disk},format=raw,if=none",
                    "-device", "virtio-blk-device,drive=d0,num-queues=2",
                    "-append", f"{guest_transport_args('mmio')} queues=2", machine=machine)
    expect_mq_output(run, 2)
    check_disk(disk, 2)
