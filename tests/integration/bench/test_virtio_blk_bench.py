# 4 KiB random reads at queue depth 1 and 32 (tests/guests/blk_bench.c: the loop runs in ring 3,
# polls the used ring, kicks by MMIO) against the same 64 MiB file in the host page cache, on our
# VMM and on QEMU microvm, and over modern virtio-pci (split ring) on our VMM (--transport pci)
# and QEMU q35. Prints the guest's "BENCH blk_randread qd=N iops=..." lines.
#
# Quick mode (the default, what CTest runs): a few hundred requests per depth; checks only that
# the BENCH lines appear, never the timing. BENCH_FULL=1: SECONDS_PER_DEPTH (default 3) seconds
# per depth, and the numbers are the point (still not asserted: the hosts are shared).
# labels: bench
# requires: kvm
# timeout: 300
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from framework import host
from framework.guests import boot_qemu, boot_vmm, expect_output, expect_pass

if os.environ.get("BENCH_FULL"):
    ARGS = f"seconds={os.environ.get('SECONDS_PER_DEPTH', '3')} requests=100000000"
else:
    ARGS = "seconds=1 requests=300"


@pytest.fixture(scope="module")
def disk():
    """64 MiB of random bytes, read once into the page cache; shared by the runs (read-only)."""
    folder = Path(tempfile.mkdtemp(prefix="blk_bench.", dir=os.environ.get("TMPDIR", "/tmp")))
    path = folder / "bench.img"
    path.write_bytes(os.urandom(64 << 20))  # just written: in the page cache
    yield path
    shutil.rmtree(folder, ignore_errors=True)


def expect_bench(run):
    expect_pass(run)
    expect_output(run, r"^BENCH blk_randread qd=1 iops=[0-9]+ ")
    expect_output(run, r"^BENCH blk_randread qd=32 iops=[0-9]+ ")
    lines = re.findall(r"^(?:BENCH|clock:).*$", run.out, re.M)
    print("\n".join(f"[{run.name}] {line}" for line in lines))


@pytest.mark.parametrize("ring", ["split", "packed"])
def test_our_vmm(vms, disk, ring):
    expect_bench(boot_vmm(vms, "blk_bench", "--disk", f"{disk},ro",
                          "--append", f"{ARGS} ring={ring}"))


def test_our_vmm_pci(vms, disk):
    expect_bench(boot_vmm(vms, "blk_bench", "--transport", "pci", "--disk", f"{disk},ro",
                          "--append", f"{ARGS} ring=split transport=pci"))


@pytest.mark.parametrize("ring", ["split", "packed"])
def test_qemu(vms, disk, ring):
    host.require("qemu")
    packed = "on" if ring == "packed" else "off"
    expect_bench(boot_qemu(vms, "blk_bench", "-global", "virtio-mmio.force-legacy=false",
                           "-drive", f"id=d0,file={disk},format=raw,if=none,readonly=on",
                           "-device", f"virtio-blk-device,drive=d0,packed={packed}",
                           "-append", f"{ARGS} ring={ring}", machine="microvm,acpi=off"))


def test_qemu_q35_pci(vms, disk):
    host.require("qemu")
    expect_bench(boot_qemu(vms, "blk_bench",
                           "-drive", f"id=d0,file={disk},format=raw,if=none,readonly=on",
                           "-device", "virtio-blk-pci,drive=d0,disable-legacy=on",
                           "-append", f"{ARGS} ring=split transport=pci", machine="q35"))
