# A disk snapshot at a live fork (docs/sandboxes.md, "Disks frozen at the fork"): the
# snap_counter guest writes a sector of its disk every few steps; PUT /vmm/fork with
# "disk_snapshots" freezes the disk at the pause: the parent goes on in a new qcow2 overlay over
# the file, and each of two children (started by `vmmctl fork`) in its own overlay over it. Once
# with a raw disk, once with a qcow2 one (its metadata must reach the file before the overlays
# read it; needs qemu-img). Checked each time:
#   - refusals with a 400 and nothing created: an overlay path that exists already, a read-only
#     drive;
#   - the parent's GET /vm/config shows its overlay;
#   - the frozen file does not change after the fork (the parent's writes go to its overlay),
#     every overlay took its guest's writes, and qemu-img finds each clean (when installed);
#   - the parent and both children end with TEST PASS and the uninterrupted run's SNAP-RESULT
#     (each rereads every sector it wrote: the ones before the fork through the frozen file).
# Under 5 minutes: 62 s measured on a shared 2-core kvm_pvm host at load ~15; its timeout is
# the bash test's.
# labels: snapshot
# requires: kvm
# timeout: 600
import hashlib
import json
import os
import re
import subprocess

import pytest

from framework import host, paths
from framework import snapshot_util as snap
from framework.guests import boot_vmm
from framework.proc import read_text

RUN_TIMEOUT = 300
STEPS = int(os.environ.get("SNAP_STEPS", "400"))
FORK_AT = STEPS // 4
MEM = "128M"
ARGS = f"steps={STEPS}"


def truncate(path, size):
    with open(path, "wb") as f:
        f.truncate(size)


@pytest.fixture(scope="module")
def want(module_vms, tmp_path_factory):
    """The uninterrupted run's SNAP-RESULT (one run for both formats)."""
    ref = tmp_path_factory.mktemp("ref") / "ref.raw"
    truncate(ref, 1 << 20)
    run = boot_vmm(module_vms, "snap_counter", "--mem", MEM, "--disk", ref, "--append", ARGS,
                   timeout=RUN_TIMEOUT)
    snap.expect_pass(run)
    result = snap.result(run.out)
    assert result, "no SNAP-RESULT in the uninterrupted run"
    return result


@pytest.fixture
def forked():
    pids = []
    yield pids
    snap.kill_pids(pids)


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.mark.parametrize("fmt", ["raw", "qcow2"])
def test_fork_frozen_disk(vms, workdir, want, forked, fmt):
    """The parent on a disk of FMT, forked into two children, the disk frozen."""
    if not os.access(paths.VMMCTL, os.X_OK):
        pytest.skip(f"missing tool: no vmmctl at {paths.VMMCTL}")
    if fmt == "qcow2":
        host.require("qemu-img")
    folder = workdir / fmt
    folder.mkdir()
    ro = workdir / "base.raw"
    truncate(ro, 1 << 20)
    disk = folder / f"disk.{fmt}"
    if fmt == "raw":
        truncate(disk, 1 << 20)
    else:
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "1M"], check=True)

    def child(i):
        return {"api_socket": str(folder / f"c{i}.sock"),
                "drive_overrides": [{"drive_id": "data", "path_on_host": str(folder / f"c{i}.qcow2")}]}

    def body(drive, parent_path):
        return {"state_path": str(folder / "state"),
                "disk_snapshots": [{"drive_id": drive, "parent_path": str(parent_path)}],
                "children": [child(0), child(1)]}

    parent = snap.start_counter(vms, "--mem", MEM, "--mem-shared", "--disk", f"{disk},id=data",
                                "--disk", f"{ro},ro,id=base", "--append", ARGS, landlock=workdir,
                                name="parent")
    snap.wait_progress(parent, FORK_AT, RUN_TIMEOUT)
    (folder / "taken.qcow2").touch()
    got = parent.api.put("/vmm/fork", body("data", folder / "taken.qcow2"))
    assert got.status == 400 and "taken.qcow2: File exists" in got.body, f"an existing file -> {got!r}"
    got = parent.api.put("/vmm/fork", body("base", folder / "p.qcow2"))
    assert got.status == 400 and "read-only" in got.body, f"a read-only drive -> {got!r}"
    for name in ("c0.qcow2", "p.qcow2", "state"):
        assert not (folder / name).exists(), f"a refused request left {name}"

    fork = snap.vmmctl("--sock", parent.sock, "--timeout", "120", "fork",
                       json.dumps(body("data", folder / "p.qcow2")), "--vmm", paths.VMM,
                       "--out", folder, "--vmm-arg", "--landlock-rules", "--vmm-arg", f"{workdir}:rw")
    frozen_sum = sha256(disk)
    assert fork.returncode == 0, f"vmmctl fork: status {fork.returncode}: {fork.stderr}{fork.stdout}"
    pids = [c["pid"] for c in json.loads(fork.stdout)["children"]]
    forked.extend(pids)
    assert len(pids) == 2, fork.stdout
    got = parent.api.want(200, "GET", "/vm/config")
    assert f'"path_on_host":"{folder}/p.qcow2"' in got.body, f"GET /vm/config: {got.body[:400]}"

    parent.status = parent.wait(RUN_TIMEOUT)
    snap.expect_pass(parent)
    assert snap.result(parent.out) == want, f"the parent: '{snap.result(parent.out)}', want '{want}'"
    for i, pid in enumerate(pids):
        snap.wait_pid_gone(pid, RUN_TIMEOUT, f"child {i}")
        text = read_text(folder / f"child-{i}.out")
        assert snap.result(text) == want and re.search(r"^TEST PASS", text, re.M), \
            (f"child {i}: '{snap.result(text)}', want '{want}'; "
             f"{read_text(folder / f'child-{i}.err')[-300:]}")
    # an empty overlay is 4 clusters of 64 KiB: the guests' writes after the fork made them grow
    for name in ("p", "c0", "c1"):
        size = (folder / f"{name}.qcow2").stat().st_size
        assert size > 262144, f"{name}.qcow2 is {size} bytes: nothing written into it"
    assert sha256(disk) == frozen_sum, "the frozen file changed after the fork"
    if host.has("qemu-img"):
        for name in ("p", "c0", "c1"):
            check = subprocess.run(["qemu-img", "check", "-q", str(folder / f"{name}.qcow2")],
                                   capture_output=True, text=True)
            assert check.returncode == 0, f"qemu-img check {name}.qcow2: {check.stdout}{check.stderr}"
