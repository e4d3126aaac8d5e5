# qcow2 backing files are the operator's decision (GHSA-jmr4-g2hv-mjj6; docs/devices.md,
# "Backing files"): an image made with `qemu-img create -b SECRET -F raw` over a file outside its
# folder must not let the guest read that file.
#   - by default (no backing_files=) the VMM exits at startup with one line naming the image, the
#     backing file and backing_files=on; nothing of the secret reaches the guest;
#   - with backing_files=on the same image is still refused: the secret is not beneath the
#     image's folder (nor may a symbolic link beside the image lead to it);
#   - PUT /drives of that image is a 400 with the same line, with "backing_files": true too
#     (the chain is opened under its rules at the PUT); GET /vm/config shows
#     "backing_files": true for a drive that asks for it;
#   - an overlay beside its raw base, with backing_files=on, serves the base to the virtio_blk
#     test guest (it reads back the host pattern) and the base stays untouched.
# labels: guests virtio
# requires: kvm
# timeout: 120
import re

import pytest

from blk_checks import SECTORS, copy, expect_blk_output, make_disk, qemu_img, same_file
from framework import host
from framework.guests import boot_vmm


@pytest.fixture
def images(workdir):
    """WORKDIR/secret/shadow (the host pattern: a guest that read it would find it) and
    WORKDIR/images/evil.qcow2 backed by it."""
    host.require("qemu-img")
    (workdir / "secret").mkdir()
    (workdir / "images").mkdir()
    secret = workdir / "secret" / "shadow"
    make_disk(secret)
    evil = workdir / "images" / "evil.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", secret, "-F", "raw", evil, "8M")
    return secret, evil


def expect_refused(run, regex):
    """The VMM exited non-zero before the guest ran (no output of it; the status of a refusal
    is 1, which is also the test guests' pass), its stderr has REGEX, no secret in the output."""
    assert run.status != 0 and not run.out, f"status {run.status}, want a refusal\n{run.tail()}"
    assert re.search(regex, run.err, re.M), f"stderr lacks /{regex}/\n{run.tail()}"
    assert "HST" not in run.out, "the guest printed the secret"


def test_refused_at_startup(vms, workdir, images):
    secret, evil = images
    run = boot_vmm(vms, "virtio_blk", "--disk", evil, timeout=30)
    expect_refused(run, re.escape(f"disk {evil}: names the backing file {secret}, refused: "
                                  "backing files are off for this disk (allow them with "
                                  "backing_files=on)"))
    # backing_files=on, the secret outside the image's folder
    run = boot_vmm(vms, "virtio_blk", "--disk", f"{evil},backing_files=on", timeout=30)
    expect_refused(run, re.escape(f"disk {evil}: backing file {secret} refused: ") +
                   ".*not beneath the folder " + re.escape(str(workdir / "images")))
    # backing_files=on, a symbolic link beside the image to the secret
    (workdir / "images" / "link.raw").symlink_to(secret)
    link = workdir / "images" / "link.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-u", "-b", "link.raw", "-F", "raw", link, "8M")
    run = boot_vmm(vms, "virtio_blk", "--disk", f"{link},backing_files=on", timeout=30)
    expect_refused(run, "backing file link.raw refused: .*a symbolic link inside")


def want(api, status, method, route, body, regex=""):
    answer = api.want(status, method, route, body)
    assert re.search(regex, answer.body), f"{method} {route} -> {answer!r}, want /{regex}/"


def test_put_drives(vms, workdir, images):
    """PUT /drives checks the file at once."""
    secret, evil = images
    vm = vms.start(["--debug-exit", "--console", "stdio"], api=True)
    drive = {"drive_id": "d0", "path_on_host": str(evil), "is_root_device": False}
    want(vm.api, 400, "PUT", "/drives/d0", drive,
         re.escape(f"names the backing file {secret}, refused: backing files are off"))
    want(vm.api, 400, "PUT", "/drives/d0", {**drive, "backing_dirs": "/etc"}, "backing_dirs needs")
    want(vm.api, 400, "PUT", "/drives/d0", {**drive, "backing_files": True},
         re.escape(f"backing file {secret} refused: ") + ".*not beneath the folder")
    good = workdir / "images" / "good.qcow2"
    copy(secret, workdir / "images" / "good-base.raw")
    qemu_img("create", "-q", "-f", "qcow2", "-b", "good-base.raw", "-F", "raw", good, "8M")
    want(vm.api, 204, "PUT", "/drives/d0", {**drive, "path_on_host": str(good),
                                            "backing_files": True})
    want(vm.api, 200, "GET", "/vm/config", None, '"backing_files":true')


def test_overlay_beside_its_base(vms, workdir, images):
    """Allowed: an overlay beside its base reads the base through (the guest checks the host
    pattern)."""
    pristine = workdir / "pristine.img"
    make_disk(pristine)
    base, ro = workdir / "images" / "base.raw", workdir / "ro.img"
    copy(pristine, base)
    copy(pristine, ro)
    ovl = workdir / "images" / "overlay.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", ovl)
    run = boot_vmm(vms, "virtio_blk",
                   "--disk", f"{ovl},serial=vmm-disk-0,discard=on,backing_files=on",
                   "--disk", f"{ro},ro", "--append", f"transport=mmio ring=split "
                   f"sectors={SECTORS} id=vmm-disk-0 ro_disk discard", timeout=30)
    expect_blk_output(run, "mmio", "split")
    line = f"disk {ovl}: backing file {base} (raw, beneath {workdir / 'images'})"
    assert line in run.err, f"no log line of the backing file's open\n{run.tail()}"
    assert same_file(base, pristine), "file: base untouched"
