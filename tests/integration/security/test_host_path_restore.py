# A real snapshot whose files are swapped for hostile ones (docs/security.md, "Paths from
# outside"), and a drive swap to a FIFO (a 400 at once): `vmm --restore DIR` with DIR/memory a
# FIFO, and PUT /snapshot/load with the memory backend a FIFO, are refused at once (exit 2 / a
# 400, one line, under a second; a 5 s timeout fails the case, not the suite), where they used to
# block in open() for good; and a restore that fails while the VM is built (here: --kvm naming no
# device) says why once, whole (it used to print it twice, the second copy cut at 300
# characters); a snapshot whose append is over the limit is a usage error before /dev/kvm.
# labels: snapshot api
# requires: kvm
# timeout: 180
import json
import os
import re
import shutil
import signal
import time

import pytest

from framework import snapshot_util as snap
from framework.proc import WaitTimeout


@pytest.fixture(scope="module")
def snapshot(module_vms):
    """A snapshot of snap_counter with a disk (WORK/snap), after the PATCH /drives check."""
    work = module_vms.workdir
    disk = work / "disk.img"
    disk.write_bytes(b"")
    os.truncate(disk, 4 << 20)
    vm = snap.start_counter(module_vms, "--mem", "64M", "--disk", f"{disk},id=disk0",
                            "--append", "steps=8000", landlock=work)
    # A drive swap (PATCH /drives) to a FIFO beside the disk: a 400 at once, the disk kept.
    os.mkfifo(work / "swap.fifo")
    start = time.monotonic()
    answer = vm.api.patch("/drives/disk0", {"drive_id": "disk0",
                                            "path_on_host": str(work / "swap.fifo")}, timeout=5)
    ms = (time.monotonic() - start) * 1000
    folder = snap.take(vm.api, work / "snap")
    vm.signal(signal.SIGKILL)
    vm.wait()
    return work, folder, disk, (answer, ms)


def test_patch_drive_to_fifo(snapshot):
    answer, ms = snapshot[3]
    assert answer.status == 400 and \
        "swap.fifo: not a regular file or a block device (a FIFO)" in answer.body and ms < 1000, \
        f"PATCH /drives to a FIFO -> {answer!r} in {ms:.0f} ms (want 400 under 1000 ms)"


def restore_fast(vms, want, pattern, *args):
    """One line on stderr matching PATTERN, the status WANT, and (for status 2) under a
    second."""
    start = time.monotonic()
    run = vms.run([str(a) for a in args], timeout=5, name="restore")
    ms = (time.monotonic() - start) * 1000
    lines = [line for line in run.err.splitlines() if line and not line.startswith("vmm: info:")]
    assert run.status == want and len(lines) == 1 and re.search(pattern, lines[0]), \
        f"vmm {args} -> {run.status} (want {want}) in {ms:.0f} ms, stderr (want one line " \
        f"/{pattern}/):\n{run.err}"
    if want == 2:
        assert ms < 1000, f"vmm {args}: refused in {ms:.0f} ms (want < 1000)"


def test_memory_fifo(vms, snapshot):
    """DIR/memory a FIFO, the state the real one."""
    work, folder, disk, _ = snapshot
    fifomem = work / "fifomem"
    fifomem.mkdir(exist_ok=True)
    shutil.copyfile(folder / "state", fifomem / "state")
    if not (fifomem / "memory").exists():
        os.mkfifo(fifomem / "memory")
    restore_fast(vms, 2, r"memory file .*fifomem/memory: not a regular file \(a FIFO\)",
                 "--restore", fifomem, "--disk", f"{disk},id=disk0")


def test_failure_while_built(vms, snapshot):
    """A failure while the VM is built: once, whole (the probe's line ends with its fix)."""
    work, folder, disk, _ = snapshot
    restore_fast(vms, 1, r"^vmm: error: kvm: unusable: .*; fix: .* pass the host's /dev/kvm in$",
                 "--restore", folder, "--disk", f"{disk},id=disk0", "--kvm", work / "no-kvm")


def test_append_over_the_limit(vms, snapshot):
    """A snapshot whose recorded append is over the limit (the configuration section's append
    replaced, lengths and checksum made right again): a usage error before /dev/kvm (--kvm names
    no device: reaching KVM would say so instead)."""
    work, folder, disk, _ = snapshot
    longappend = work / "longappend"
    longappend.mkdir()
    os.link(folder / "memory", longappend / "memory")
    shutil.copyfile(folder / "state", longappend / "state")
    done = []

    def edit(tag, data):
        try:
            j = json.loads(bytes(data))
            opts = j["options"] if isinstance(j, dict) else None
        except (ValueError, KeyError, UnicodeDecodeError):
            return data
        if opts is None:
            return data
        j["options"] = [o for o in opts if o[0] != "append"] + [["append", "a" * 70000]]
        done.append(tag)
        return bytearray(json.dumps(j).encode())
    snap.edit_sections(longappend / "state", edit)
    assert done, f"no configuration section with options in {folder}/state"
    restore_fast(vms, 2, "command line is 70000 bytes; at most 65535", "--restore", longappend,
                 "--disk", f"{disk},id=disk0", "--kvm", work / "no-kvm")


def test_load_memory_fifo_over_the_api(vms, snapshot):
    """Over the API: the memory backend a FIFO (a VMM and a socket of its own)."""
    work, folder, disk, _ = snapshot
    fifo = work / "api-memory.fifo"
    os.mkfifo(fifo)
    vm = vms.start(["--console", "none"], api=True)
    start = time.monotonic()
    answer = vm.api.put("/snapshot/load", {
        "snapshot_path": str(folder / "state"),
        "mem_backend": {"backend_type": "File", "backend_path": str(fifo)},
        "drive_overrides": [{"drive_id": "disk0", "path_on_host": str(disk)}]}, timeout=5)
    ms = (time.monotonic() - start) * 1000
    assert answer.status == 400 and "not a regular file (a FIFO)" in answer.body and ms < 1000, \
        f"PUT /snapshot/load with a FIFO memory file -> {answer!r} in {ms:.0f} ms"
    vm.api.want(200, "GET", "/")  # still answers
    vm.signal(signal.SIGTERM)
    try:
        vm.wait(5)
    except WaitTimeout:
        pytest.fail("SIGTERM did not end the VMM within 5 s")
