# tools/bench in quick mode (one run per VMM, tiny sizes): proves every subcommand of `all` but
# boot, and vhost-user-blk, runs end to end on our VMM and on QEMU (net too, where root and ip
# netns are there) and writes its table and plot. Never asserts a timing (shared hosts), so it
# runs beside the Linux boots (no `linux` resource); test_bench_quick_boot.py checks the boot
# benchmark, which boots Linux.
# Also checks the boot-timer guest against our VMM's --boot-timer report, where the VMM has it.
# labels: bench
# requires: kvm
# timeout: 900
import re
import shutil
import subprocess

import pytest

from bench_util import expect_row, run_bench
from framework import host, paths
from framework.guests import boot_vmm, expect_pass

WHAT = ("startup,memory,blk,qcow2,exit-cost,net,api,snapshot,ratelimit,vsock,vhost-user-blk,"
        "working-set,scaling")


def table_cells(text, bench, metric):
    """The cells of the row (bench, metric) of results.md's table by column name; {} when absent."""
    head = None
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[:2] == ["bench", "metric"]:
            head = cells
        elif head and cells[:2] == [bench, metric]:
            return dict(zip(head, cells))
    return {}


def guest_built(name):
    return (paths.GUESTS / f"{name}.elf").exists()


@pytest.fixture(scope="module")
def bench(module_vms):
    """One run of tools/bench WHAT --quick, checked by the tests below: (status, table, folder)."""
    return run_bench(module_vms, WHAT, timeout=840)


def test_exit_status(bench):
    assert bench[0] == 0, f"tools/bench {WHAT} --quick: exit status {bench[0]}"


def test_rows(bench):
    text = bench[1]
    expect_row(text, r"^\| bench \| metric \| better \| vmm \|")
    expect_row(text, r"^\| startup \| launch to guest output \(ms\) \| lower \| [0-9]")
    expect_row(text, r"^\| memory \| peak RSS \(MiB\) \| lower \| [0-9]")
    expect_row(text, r"^\| exit-cost \| MMIO write, exit to user space \(ns\) \| lower \| [0-9]")
    expect_row(text, r"^\| exit-cost \| MMIO write, ioeventfd \(ns\) \| lower \| [0-9]")
    if guest_built("ws_touch"):
        expect_row(text, r"^\| working-set \| Uffd, memory file cached: restore to first answer, "
                         r"with its working set \(ms\) \| lower \| [0-9]")
        expect_row(text, r"^\| working-set \| File, memory file evicted: restore to first answer, "
                         r"cold \(ms\) \| lower \| [0-9]")


def test_blk_and_snapshot_rows(bench):
    text = bench[1]
    if not guest_built("blk_bench"):
        expect_row(text, r"blk: skipped: blk_bench guest missing")
        return
    expect_row(text, r"^\| blk \| 4K randread qd=32 \(IOPS\) \| higher \| [0-9]")
    # the host alone (tools/blkhost, issue 68): a value and a ratio vmm/host in the blk rows
    for metric in ("4K randread qd=1 (IOPS)", "4K randread qd=32 (IOPS)",
                   "4K randread qd=32, 2 queues (IOPS)"):
        cells = table_cells(text, "blk", metric)
        assert re.match(r"[0-9]", cells.get("host", "")), f"blk {metric}: no host value: {cells}"
        assert re.match(r"[0-9]", cells.get("vmm/host", "")), f"blk {metric}: no ratio: {cells}"
    expect_row(text, r"^\| snapshot \| snapshot of the paused guest, request to answer \(ms\) \| "
                     r"lower \| [0-9]")
    expect_row(text, r"^\| snapshot \| restore: launch to running \(control socket\) \(ms\) \| "
                     r"lower \| [0-9]")
    expect_row(text, r"^\| snapshot \| restore: PUT /snapshot/load, mem_backend File: launch to "
                     r"running \(ms\) \| lower \| [0-9]")
    expect_row(text, r"^\| snapshot \| restore: PUT /snapshot/load, mem_backend Uffd: launch to "
                     r"running \(ms\) \| lower \| [0-9]")
    expect_row(text, r"^\| snapshot \| 5 clones: private memory per clone, mean \(MiB\) \| "
                     r"lower \| [0-9]")


def test_qcow2_rows(bench):
    # allocated clusters against raw and the host alone, then writes that allocate (issue 68)
    if not guest_built("blk_bench") or not shutil.which("qemu-img"):
        host.skip("missing tool", "qemu-img or the blk_bench guest: no qcow2 rows")
    text = bench[1]
    for metric, impls in (("4K randwrite qd=1 (IOPS)", ("vmm", "vmm-raw", "host")),
                          ("reads of allocated clusters on queue 1, queue 0 writing new clusters "
                           "(IOPS)", ("vmm",)),
                          ("4K randwrite qd=32, empty 8G image (IOPS)", ("vmm", "host"))):
        cells = table_cells(text, "qcow2", metric)
        for impl in impls:
            assert re.match(r"[0-9]", cells.get(impl, "")), f"qcow2 {metric}: no {impl}: {cells}"
    share = table_cells(text, "qcow2", "empty 8G image, qd=1: writes that allocated a cluster (%)")
    # 300 writes here, nearly all into new clusters, plus the L2 tables they needed
    assert 50 < float(share.get("vmm", "0").split()[0]) < 120, share


def test_vhost_user_blk_rows(bench):
    # vhost-user-blk (not in all): ours and QEMU on one qemu-storage-daemon, and our own disk
    if not guest_built("blk_bench") or not shutil.which("qemu-storage-daemon"):
        host.skip("missing tool",
                  "qemu-storage-daemon or the blk_bench guest: no vhost-user-blk rows")
    expect_row(bench[1], r"^\| vhost-user-blk \| 4K randread qd=32 \(IOPS\) \| higher \| [0-9]")
    if host.has(paths.QEMU):
        expect_row(bench[1], r"^\| bench \|.* \| qemu-vhost-user \|.* vmm-in-process \|")


def test_net_rows(bench):
    text = bench[1]
    netns = host.is_root() and \
        subprocess.run(["ip", "netns", "list"], capture_output=True).returncode == 0
    if not netns:
        expect_row(text, r"net: skipped: needs root and ip netns")
        return
    expect_row(text, r"^\| net \| guest->host 60-byte frames \(frames/s\) \| higher \| [0-9]")
    expect_row(text, r"^\| net \| host->guest 1514-byte frames \(Mbit/s\) \| higher \| [0-9]")
    expect_row(text, r"^\| net \| guest->host 60-byte frames, 2 queue pairs \(frames/s\) \| "
                     r"higher \| [0-9]")
    expect_row(text, r"^\| net \| guest->host 1514-byte frames, 2 queue pairs \(Mbit/s\) \| "
                     r"higher \| [0-9]")
    expect_row(text, r"^\| net \| host->guest 60-byte frames, 2 queue pairs \(frames/s\) \| "
                     r"higher \| [0-9]")
    # the host alone on the same tap (vmm-netgen tapwrite / tapread, issue 68)
    for metric in ("guest->host 60-byte frames (frames/s)", "host->guest 1514-byte frames (Mbit/s)",
                   "guest->host 1514-byte frames, 2 queue pairs (Mbit/s)",
                   "host->guest 60-byte frames, 2 queue pairs (frames/s)"):
        cells = table_cells(text, "net", metric)
        assert re.match(r"[0-9]", cells.get("host", "")), f"net {metric}: no host value: {cells}"


def test_scaling_rows(bench):
    # how cost grows (issue 68): --quick runs 2 queues in one VM and 1 queue in each of 2 VMs
    text = bench[1]
    if not guest_built("blk_bench"):
        return
    impls = ("vmm", "host") + (("qemu-iothread",) if host.has(paths.QEMU) else ())
    for metric in ("blk 4K reads qd=32, 1 VM, 2 queues (sum) (IOPS)",
                   "blk 4K reads qd=32: host CPU per request outside vCPUs, 2 VMs, 1 queue each "
                   "(us)",
                   "blk 4K reads qd=32: host CPU per request in all, 1 VM, 2 queues (us)"):
        cells = table_cells(text, "scaling", metric)
        for impl in impls:
            assert re.match(r"[0-9]", cells.get(impl, "")), f"scaling {metric}: no {impl}: {cells}"
    cells = table_cells(text, "scaling", "blk 4K reads qd=32: windows' overlap, 2 VMs, 1 queue "
                        "each (%)")
    assert re.match(r"[0-9]", cells.get("vmm", "")), f"scaling: no overlap: {cells}"
    if host.is_root() and \
            subprocess.run(["ip", "netns", "list"], capture_output=True).returncode == 0:
        for metric in ("net guest->host 60-byte frames, 2 VMs, 1 queue each (sum) (frames/s)",
                       "net guest->host 60-byte frames: host CPU per frame in all, 1 VM, "
                       "2 queues (us)"):
            cells = table_cells(text, "scaling", metric)
            assert re.match(r"[0-9]", cells.get("vmm", "")), f"scaling {metric}: {cells}"
            assert re.match(r"[0-9]", cells.get("host", "")), f"scaling {metric}: {cells}"


def test_qemu_columns(bench):
    host.require("qemu")
    expect_row(bench[1], r"^\| bench \| metric \| better \| vmm \| qemu-microvm \| qemu-q35 \|")
    if guest_built("blk_bench"):
        # QEMU's best configuration for the disk too: an IOThread and io_uring
        expect_row(bench[1], r"^\| bench \|.* \| qemu-iothread \|.* vmm/qemu-iothread \|")


def test_plot(bench):
    host.require("gnuplot")
    for name in ("ratios.png", "ratios.svg"):
        path = bench[2] / name
        assert path.exists() and path.stat().st_size > 0, f"{name} missing"


def test_boot_timer(vms):
    # the boot timer itself: the guest's first instruction hits it exactly once
    if "--boot-timer" not in host.help_text(paths.VMM, "--help"):
        host.skip("missing feature", f"{paths.VMM} has no --boot-timer yet")
    run = boot_vmm(vms, "boot_timer", "--boot-timer")
    expect_pass(run)
    expect_row(run.err, r"^boot-timer: setup-to-first-run-us=[0-9]+ first-run-to-timer-us=[0-9]+ "
                        r"to-run-init-us=- total-us=[0-9]+ to-timer-us=[0-9]+ timer-hits=1 ")
