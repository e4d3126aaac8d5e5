# A snapshot's configuration is not obeyed as if the operator had typed it (issue 46; the rule:
# vmm/snapshot/restore_paths.h, docs/snapshots.md "What a restore may open"). Crafted state files
# (snapshot_craft.py) name a disk, a console file, a screenshot, a vsock socket, a pmem file, an
# input script and a tap outside the snapshot's folder: `vmm --restore DIR` refuses each with exit
# status 2 and one line naming it, before anything is opened (open_watch.py: inotify sees no open
# of the files and nothing created in their folder) and before KVM (--kvm names no device, so a
# restore that got past the check would fail there). Then the allowed forms get past the check (to
# the missing KVM) and open the disk: a disk under the folder, one the operator gives with --disk
# PATH (and by id=), one under --landlock-rules; a `..` is refused even inside the folder. Over the
# API (PUT /snapshot/load): a 400 naming the disk, and drive_overrides allows it. Needs no KVM.
# labels: snapshot cli api
# timeout: 120
import json
import os
import re
import subprocess
import sys

import pytest

from framework import host
from framework.snapshot_util import LIB

CRAFT = LIB / "snapshot_craft.py"
WATCH = LIB / "open_watch.py"


@pytest.fixture
def tree(workdir):
    """The outside folder (a disk, a pmem file, an input script) and the missing KVM's path."""
    host.require("python3")
    out = workdir / "outside"
    out.mkdir()
    for name, size in (("disk.img", 1 << 20), ("pmem.img", 2 << 20), ("script", 0)):
        with open(out / name, "wb") as f:
            f.truncate(size)
    return workdir, out, workdir / "no-kvm-here"


def snap(workdir, name, options):
    """A snapshot folder WORKDIR/NAME with a crafted state and a memory file."""
    folder = workdir / name
    folder.mkdir(exist_ok=True)
    subprocess.run([sys.executable, str(CRAFT), str(folder / "state"), json.dumps(options)],
                   check=True)
    with open(folder / "memory", "wb") as f:
        f.truncate(256 << 20)
    return folder


def restore(vms, nokvm, watched, *args):
    """vmm ARGS --kvm NOKVM under open_watch.py: its events on .out, the VMM's stderr on .err."""
    return vms.run([*args, "--kvm", nokvm], timeout=60, name="restore",
                   wrap=[sys.executable, WATCH, "--timeout", "20", *watched, "--"])


CASES = {
    "disk": lambda w, o: ([["disk", f"{o}/disk.img"]], f"{o}/disk.img", []),
    "ro-disk": lambda w, o: ([["disk", f"{o}/disk.img,ro,id=root"]], f"{o}/disk.img", []),
    "console": lambda w, o: ([["console", f"file:{o}/console"]], f"{o}/console", []),
    "screenshot": lambda w, o: ([["screenshot", f"{o}/shot.png"]], f"{o}/shot.png", []),
    "vsock": lambda w, o: ([["vsock", f"cid=3,uds={o}/v.sock"]], f"{o}/v.sock", []),
    "pmem": lambda w, o: ([["pmem", f"path={o}/pmem.img"]], f"{o}/pmem.img", []),
    "input": lambda w, o: ([["input-script", f"{o}/script"]], f"{o}/script", []),
    "dotdot": lambda w, o: ([["disk", f"{w}/dotdot/../outside/disk.img"]],
                            f"{w}/dotdot/../outside/disk.img", []),
    # a tap is a host interface: the operator gives one (--net tap=NAME) or the restore is refused
    "tap": lambda w, o: ([["net", "tap=vmmhostile0"]], "vmmhostile0", []),
    # a ro rule does not let the snapshot write there
    "rule-ro": lambda w, o: ([["disk", f"{o}/disk.img"]], f"{o}/disk.img",
                             ["--landlock-rules", f"{o}:ro"]),
    # the operator's --disk replaces the first disk, not the second
    "second": lambda w, o: ([["disk", f"{w}/second/in.img"], ["disk", f"{o}/disk.img"]],
                            f"{o}/disk.img", ["--disk", f"{w}/second/in.img"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_outside_refused(vms, tree, name):
    workdir, out, nokvm = tree
    options, path, extra = CASES[name](workdir, out)
    folder = snap(workdir, name, options)
    watched = [out] + ([path] if os.path.exists(path) else [])
    run = restore(vms, nokvm, watched, "--restore", folder, *extra)
    assert run.status == 2, run.tail()
    assert path in run.err and f"--restore {folder}: the snapshot names" in run.err, \
        f"no refusal naming {path}: {run.err}"
    assert run.err.count("the snapshot names") == 1, f"said more than once: {run.err}"
    assert str(nokvm) not in run.err, f"it got to KVM first: {run.err}"
    assert not run.out.strip(), f"it touched the host: {run.out}"
    assert not (out / "console").exists(), "the console file was created"


def passed(run, nokvm, opened):
    """The run got past the check (it stopped at the missing KVM) and opened OPENED."""
    assert "the snapshot names" not in run.err, f"refused: {run.err}"
    assert str(nokvm) in run.err, f"did not get to KVM (status {run.status}): {run.err}"
    assert re.search(rf"^opened {re.escape(str(opened))}$", run.out, re.M), \
        f"never opened {opened} (events: {run.out})"


def test_allowed(vms, tree):
    workdir, out, nokvm = tree
    # a disk in the snapshot's folder
    inside = snap(workdir, "inside", [["disk", f"{workdir}/inside/disk.img"]])
    with open(inside / "disk.img", "wb") as f:
        f.truncate(1 << 20)
    run = restore(vms, nokvm, [inside / "disk.img"], "--restore", inside)
    passed(run, nokvm, inside / "disk.img")

    # --restore DIR --disk PATH
    given = snap(workdir, "given", [["disk", "/somewhere/else.img"]])
    run = restore(vms, nokvm, [out / "disk.img"], "--restore", given, "--disk", out / "disk.img")
    passed(run, nokvm, out / "disk.img")

    # --restore DIR --disk PATH,id=NAME (both, out of order)
    by_id = snap(workdir, "by-id", [["disk", "/a.img,id=boot"], ["disk", "/b.img,id=data"]])
    run = restore(vms, nokvm, [out / "disk.img", out / "pmem.img"], "--restore", by_id,
                  "--disk", f"{out}/pmem.img,id=data", "--disk", f"{out}/disk.img,id=boot")
    passed(run, nokvm, out / "disk.img")

    # --landlock-rules DIR:rw
    rule = snap(workdir, "rule", [["disk", f"{out}/disk.img"]])
    run = restore(vms, nokvm, [out / "disk.img"], "--restore", rule,
                  "--landlock-rules", f"{out}:rw")
    passed(run, nokvm, out / "disk.img")

    # --restore DIR --disk PATH,ro: a restore's --disk takes no options
    run = vms.run(["--restore", rule, "--disk", f"{out}/disk.img,ro", "--kvm", nokvm],
                  name="restore-ro")
    assert run.status == 2, run.tail()
    assert "give only PATH[,id=NAME]" in run.err, run.err


def want(api, status, body, regex=None):
    answer = api.request("PUT", "/snapshot/load", body, timeout=30)
    assert answer.status == status, f"PUT /snapshot/load {body} -> {answer!r} (want {status})"
    if regex:
        assert re.search(regex, answer.body), f"-> {answer!r} lacks /{regex}/"
    return answer


def test_api(vms, tree):
    workdir, out, nokvm = tree
    snap(workdir, "disk", [["disk", f"{out}/disk.img"]])
    snap(workdir, "vsock", [["vsock", f"cid=3,uds={out}/v.sock"]])
    vm = vms.start(["--kvm", nokvm], name="api", api=True)
    api = vm.api
    body = {"snapshot_path": f"{workdir}/disk/state", "mem_file_path": f"{workdir}/disk/memory"}
    want(api, 400, body,
         rf"the snapshot names disk {re.escape(str(out))}/disk.img \(drive0\) outside its folder")
    want(api, 400, {**body, "drive_overrides": [{"drive_id": "nope", "path_on_host": "/x"}]},
         "no drive .nope.")
    want(api, 400, {**body, "drive_overrides": [{"drive_id": "drive0"}]}, "path_on_host")
    # allowed: it goes on to KVM, which is missing here (a 400 that says so, not the refusal)
    got = want(api, 400, {**body, "drive_overrides": [{"drive_id": "drive0",
                                                      "path_on_host": f"{out}/disk.img"}]})
    assert "snapshot names" not in got.body, f"drive_overrides: {got!r}"
    body = {"snapshot_path": f"{workdir}/vsock/state", "mem_file_path": f"{workdir}/vsock/memory"}
    want(api, 400, body, rf"vsock socket {re.escape(str(out))}/v.sock")
    got = want(api, 400, {**body, "vsock_override": {"uds_path": f"{workdir}/clone.sock"}})
    assert "snapshot names" not in got.body, f"vsock_override: {got!r}"
    state = api.want(200, "GET", "/")
    assert '"state":"Not started"' in state.body, state
