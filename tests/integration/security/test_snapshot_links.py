# A hostile snapshot folder (docs/snapshots.md, "What a restore may open"): the files of a real
# snapshot replaced by symbolic links, and a crafted state naming a firmware outside its folder.
# One snapshot of snap_counter, taken with its disk and its console file inside the folder (given
# as relative paths, so the folder can move), serves every case:
#   - DIR/out/console.txt, DIR/disk.img, DIR/out (a folder), DIR/memory and DIR/state each
#     replaced by a link to a file or folder of this test's own: `vmm --restore DIR` refuses it
#     with "DIR/NAME: a symbolic link inside DIR, refused here", and inotify sees no open of the
#     target (a console link used to truncate it, a disk link gave the guest the file);
#   - vmm-uffd-handler refuses a memory file that is a symbolic link;
#   - the folder packed with tar and unpacked elsewhere restores there, and the guest ends with
#     TEST PASS in the unpacked folder's console file;
#   - a crafted state with ["firmware", FILE outside the folder]: `vmm --restore` exits 2 and PUT
#     /snapshot/load answers 400, each naming the firmware, before the file is opened.
# Each restore has its own timeout, so a hang fails its case, not the suite.
# labels: snapshot security
# requires: kvm
# timeout: 180
import json
import re
import signal
import subprocess
import sys

import pytest

from framework import host, paths
from framework import snapshot_util as snap
from framework.proc import read_text, wait_until

WATCH = snap.LIB / "open_watch.py"
CRAFT = snap.LIB / "snapshot_craft.py"


def in_folder(folder):
    """A wrap that runs the VMM with FOLDER as its working directory (Vm has no cwd=)."""
    return ["env", "-C", str(folder)]


def watched(*targets):
    """A wrap: open_watch.py reports (on the run's stdout) any open or creation in TARGETS."""
    return [sys.executable, str(WATCH), "--timeout", "20", *map(str, targets), "--"]


@pytest.fixture(scope="module")
def tree(module_vms):
    """WORK/a (the snapshot's VM ran there), its snapshot WORK/a/snap, WORK/out (what the links
    point at: this test's own files)."""
    host.require("python3", "tar")
    work = module_vms.workdir
    a, out = work / "a", work / "out"
    d = a / "snap"
    (d / "out").mkdir(parents=True)
    (out / "folder").mkdir(parents=True)
    with open(d / "disk.img", "wb") as f:
        f.truncate(1 << 20)
    (out / "victim").write_text("secret\n")
    (out / "folder" / "console.txt").write_text("secret\n")
    vm = snap.start_counter(module_vms, "--mem", "64M", "--landlock-rules", f"{work}:rw",
                            "--disk", "snap/disk.img,id=disk0",
                            "--console", "file:snap/out/console.txt",
                            "--append", "steps=60 work=200000", name="to-snapshot",
                            wrap=in_folder(a))
    console = d / "out" / "console.txt"
    wait_until(lambda: snap.progress(read_text(console)) >= 10, 300,
               "SNAP-PROGRESS 10 in the console file", alive=vm.alive)
    snap.take(vm.api, d)
    vm.signal(signal.SIGKILL)
    vm.wait()
    return work, a, d, out


def targets_untouched(out):
    return (out / "victim").read_text() == "secret\n" and \
        (out / "folder" / "console.txt").read_text() == "secret\n"


@pytest.mark.parametrize("name, target, opened", [
    ("out/console.txt", "victim", None),
    ("disk.img", "victim", None),
    ("out", "folder", "out/console.txt"),
    ("memory", "victim", None),
    ("state", "victim", None),
], ids=["console", "disk", "folder", "memory", "state"])
def test_linked(vms, tree, name, target, opened):
    """DIR/NAME replaced by a link to TARGET (the original kept aside): `vmm --restore snap`
    from WORK/a is refused naming DIR/OPENED (default NAME: the path whose open met the link),
    and TARGET is not opened."""
    work, a, d, out = tree
    target = out / target
    watch = [target, target / "console.txt"] if target.is_dir() else [target]
    aside = work / "aside"
    (d / name).rename(aside)
    try:
        (d / name).symlink_to(target)
        run = vms.run(["--restore", "snap"], timeout=30, name="restore",
                      wrap=[*watched(*watch), *in_folder(a)])
    finally:
        (d / name).unlink()
        aside.rename(d / name)
    want = f"{d}/{opened or name}: a symbolic link inside {d}, refused here"
    assert run.status in (1, 2), f"status {run.status} (want 1 or 2)\n{run.tail()}"
    assert want in run.err, f"no '{want}': {run.err}"
    assert not re.search(r"^(opened|created)", run.out, re.M), \
        f"the target was reached: {run.out}"
    assert targets_untouched(out), "a target changed"


def test_uffd_handler_linked_memory(vms, tree):
    """vmm-uffd-handler given a folder's linked memory file."""
    work = tree[0]
    (work / "linked-memory").symlink_to(tree[3] / "victim")
    handler = vms.process([paths.BUILD_DIR / "vmm-uffd-handler", "--timeout", "2",
                           work / "uffd.sock", work / "linked-memory"], name="uffd-handler")
    status = handler.wait(10)
    want = f"{work}/linked-memory: a symbolic link, refused"
    assert status == 1 and want in handler.err, f"status {status}: {handler.err}"


def test_moved_folder(vms, tree):
    """The folder packed with tar and unpacked elsewhere restores there."""
    work, a = tree[0], tree[1]
    b = work / "b"
    b.mkdir()
    for argv in (["tar", "-C", a, "-cSf", work / "snap.tar", "snap"],
                 ["tar", "-C", b, "-xSf", work / "snap.tar"]):
        subprocess.run(list(map(str, argv)), check=True)
    run = vms.run(["--restore", "snap"], timeout=60, name="restore-moved", wrap=in_folder(b))
    console = read_text(b / "snap" / "out" / "console.txt")
    assert run.status == 1 and re.search(r"^TEST PASS", console, re.M) and snap.result(console), \
        f"status {run.status}, console: {console[-300:]}\n{run.tail()}"
    assert "SNAP-START" not in console, "the guest booted again"


@pytest.fixture(scope="module")
def crafted(tree):
    """A crafted state with ["firmware", FILE outside the folder]."""
    work, out = tree[0], tree[3]
    fw = work / "fw"
    fw.mkdir()
    (out / "bios.bin").write_text("not a firmware\n")
    subprocess.run([sys.executable, str(CRAFT), str(fw / "state"),
                    json.dumps([["firmware", str(out / "bios.bin")]])], check=True)
    with open(fw / "memory", "wb") as f:
        f.truncate(256 << 20)
    return fw, out / "bios.bin", f"the snapshot names firmware {out}/bios.bin outside its folder"


def test_firmware_outside_restore(vms, tree, crafted):
    fw, bios, want = crafted
    run = vms.run(["--restore", fw, "--kvm", tree[0] / "no-kvm"], timeout=30, name="restore-fw",
                  wrap=watched(bios))
    assert run.status == 2, f"status {run.status}, want 2\n{run.tail()}"
    assert want in run.err, run.err
    assert not re.search(r"^opened", run.out, re.M), "the firmware was opened"


def test_firmware_outside_load(vms, tree, crafted):
    fw, bios, want = crafted
    vm = vms.start(["--kvm", tree[0] / "no-kvm"], api=True)
    answer = vm.api.want(400, "PUT", "/snapshot/load", snap.load_body(fw), timeout=10)
    assert want in answer.body, f"{answer!r}"
    vm.api.want(200, "GET", "/")  # still answers
