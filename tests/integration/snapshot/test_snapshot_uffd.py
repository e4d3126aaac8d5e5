# Snapshot load with Firecracker's mem_backend Uffd through the example page-fault handler
# (tools/uffd-handler, vmm-uffd-handler), on the 256 MiB snap_counter guest of
# test_snapshot_restore.py (its result does not depend on the snapshot):
#   1. an uninterrupted run: its SNAP-RESULT line and its disk file;
#   2. the same run paused at about a third of its steps, snapshotted, the VMM killed;
#   3. that snapshot loaded over the API (resume_vm) three times, each on a copy of the disk as
#      it was at the snapshot: mem_backend File, Uffd through the handler (lazy), Uffd through
#      `vmm-uffd-handler --eager`; each must end with TEST PASS, the same SNAP-RESULT and the
#      same disk file, and the handler with status 0 once the VMM is gone. The time from the
#      PUT to the guest's first line after it (restore to running) is printed for each, so File
#      and Uffd can be compared;
#   4. failures end the VM or the load with a message, never a hang: the handler killed right
#      after the load (the VMM ends within 30 s, "handler (pid N) exited"); a handler that takes the
#      userfaultfd and never reads it (the load is refused, or the VMM ends, within 60 s); a
#      stale socket with no handler (400, "refused the connection").
# Under 5 minutes: 64 s measured on a shared 2-core kvm_pvm host at load ~15; its timeout is
# the bash test's.
# labels: snapshot api
# requires: kvm python3
# timeout: 900
import os
import re
import shutil
import signal
import sys
import time

import pytest

from framework import paths
from framework import snapshot_util as snap
from framework.guests import boot_vmm, expect_no_output
from framework.proc import WaitTimeout, wait_until

RUN_TIMEOUT = 300
STEPS = int(os.environ.get("SNAP_STEPS", "400"))
SNAP_AT = STEPS * 35 // 100
HANDLER = paths.BUILD_DIR / "vmm-uffd-handler"
ARGS = f"ring=split steps={STEPS}"

SILENT = """\
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1] + ".tmp")
s.listen(1)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 4096, 1)
time.sleep(300)
"""


def blank(path):
    with open(path, "wb") as f:
        f.truncate(1 << 20)


@pytest.fixture(scope="module")
def base(module_vms):
    """1. and 2.: the uninterrupted run's result and disk; the snapshot and its disk."""
    if not os.access(HANDLER, os.X_OK):
        pytest.skip(f"not built: {HANDLER} (the vmm-uffd-handler target)")
    work = module_vms.workdir
    ref, disk, folder = work / "ref.img", work / "disk.img", work / "snap"
    blank(ref)
    run = boot_vmm(module_vms, "snap_counter", "--mem", "256M", "--disk", ref, "--append", ARGS,
                   timeout=RUN_TIMEOUT)
    snap.expect_pass(run)
    want = snap.result(run.out)
    assert want, "no SNAP-RESULT in the uninterrupted run"
    at = None
    for attempt in (1, 2, 3):
        shutil.rmtree(folder, ignore_errors=True)
        blank(disk)
        vm = snap.start_counter(module_vms, "--mem", "256M", "--disk", disk, "--append", ARGS,
                                landlock=work, name=f"to-snapshot-{attempt}")
        try:
            snap.wait_progress(vm, SNAP_AT, RUN_TIMEOUT)
            snap.take(vm.api, folder)
            if not snap.result(vm.out):
                at = snap.progress(vm.out)
        except (WaitTimeout, AssertionError) as e:
            print(f"attempt {attempt}: {e}")
        vm.stop(grace=0)
        if at is not None:
            break
    assert at is not None, "no snapshot before the guest's end in 3 attempts"
    shutil.copy(disk, work / "disk.at-snap")
    print(f"snapshot after SNAP-PROGRESS {at} of {STEPS}: {snap.du(folder / 'memory')} of memory")
    return {"work": work, "want": want, "ref": ref, "disk": disk, "folder": folder}


def fresh_disk(base):
    shutil.copy(base["work"] / "disk.at-snap", base["disk"])


def start_handler(vms, base, *options):
    """vmm-uffd-handler on the socket for the snapshot's memory, once its socket is there."""
    hsock = base["work"] / "uffd.sock"
    if hsock.exists():
        hsock.unlink()
    handler = vms.process([HANDLER, "--timeout", "120", *options, hsock, base["folder"] / "memory"],
                          name="handler")
    wait_until(hsock.is_socket, 10, "the handler's socket", alive=handler.alive)
    return handler


def uffd(base):
    return {"backend_type": "Uffd", "backend_path": str(base["work"] / "uffd.sock")}


def load_body(base, backend):
    return {"snapshot_path": str(base["folder"] / "state"), "mem_backend": backend,
            "resume_vm": True}


def loader(vms, base, name):
    return vms.start(["--landlock-rules", f"{base['work']}:rw"], name=name, api=True)


def load_and_run(vms, base, name, backend):
    """Loads the snapshot (on a fresh copy of its disk), times the restore to the guest's first
    line, runs to the end and checks it; returns the milliseconds."""
    fresh_disk(base)
    vm = loader(vms, base, name)
    t0 = time.monotonic()
    vm.api.want(204, "PUT", "/snapshot/load", load_body(base, backend))
    vm.wait_out(r"^SNAP-", 60)
    ms = int((time.monotonic() - t0) * 1000)
    vm.status = vm.wait(RUN_TIMEOUT)
    snap.expect_pass(vm)
    expect_no_output(vm, r"^SNAP-START")
    assert snap.result(vm.out) == base["want"], \
        f"restored: '{snap.result(vm.out)}', uninterrupted: '{base['want']}'"
    assert base["ref"].read_bytes() == base["disk"].read_bytes(), "the disk files differ"
    return ms


def check_handler_end(handler):
    status = handler.wait(30)
    assert status == 0, f"the handler: status {status}: {handler.err}"
    print(f"the handler ended with 0: {handler.err.strip().splitlines()[-1:]}")


TIMES = {}


def test_file(vms, base):
    TIMES["File"] = load_and_run(vms, base, "load-file",
                                 {"backend_type": "File", "backend_path": str(base["folder"] / "memory")})


@pytest.mark.parametrize("mode", ["lazy", "eager"])
def test_uffd(vms, base, mode):
    handler = start_handler(vms, base, *(["--eager"] if mode == "eager" else []))
    TIMES[f"Uffd {mode}"] = load_and_run(vms, base, f"load-{mode}", uffd(base))
    check_handler_end(handler)
    if len(TIMES) == 3:
        print("restore to running (PUT /snapshot/load to the guest's first line), 256 MiB guest: "
              + ", ".join(f"{k} {v} ms" for k, v in TIMES.items()))


def test_handler_killed(vms, base):
    """The handler killed right after the load: the VMM ends within 30 s, naming it."""
    fresh_disk(base)
    handler = start_handler(vms, base)
    vm = loader(vms, base, "handler-killed")
    got = vm.api.put("/snapshot/load", load_body(base, uffd(base)), timeout=120)
    handler.signal(signal.SIGKILL)
    status = vm.wait(30)
    assert status != 0, "the VMM ended with 0"
    print(f"the VMM ended (status {status}; the load said {got.body[:60]})")
    assert re.search(r"handler \(pid [0-9]+\) exited|closed its socket", vm.err), \
        f"no message naming the handler: {vm.err[-500:]}"


def test_handler_never_reads(vms, base):
    """A handler that takes the userfaultfd and never reads it."""
    hsock = base["work"] / "uffd.sock"
    if hsock.exists():
        hsock.unlink()
    silent = vms.process([sys.executable, "-c", SILENT, hsock], name="silent-handler")
    wait_until(hsock.is_socket, 10, "the silent handler's socket", alive=silent.alive)
    fresh_disk(base)
    vm = loader(vms, base, "never-read")
    got = vm.api.put("/snapshot/load", load_body(base, uffd(base)), timeout=120)
    if got.status == 400:
        assert "page-fault handler" in got.body or "not restored in time" in got.body, \
            f"the load: {got!r}"
    else:
        vm.wait(60)  # the VMM still runs 60 s after a load its handler never serves: fails here
        assert re.search(r"has read no page fault|not restored in time", vm.err), \
            f"no message: {vm.err[-500:]}"


def test_stale_socket(vms, base):
    """A stale socket: its handler is gone."""
    handler = start_handler(vms, base)
    handler.signal(signal.SIGKILL)
    handler.wait()
    vm = loader(vms, base, "stale")
    got = vm.api.put("/snapshot/load", load_body(base, uffd(base)))
    assert got.status == 400 and "refused the connection" in got.body, f"a stale socket: {got!r}"
