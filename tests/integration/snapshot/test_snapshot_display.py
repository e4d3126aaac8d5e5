# Snapshots of the display devices (virtio-gpu, virtio keyboard and tablet), headless:
#   gpu    tests/guests/virtio_gpu.c with wait=S draws the full picture, then waits; the VM is
#          paused there and snapshotted through the API, then ended with SIGTERM, which writes
#          its --screenshot (the picture without the box).
#          a) `vmm --restore DIR`: the guest draws only the box (a transfer and a flush of that
#             rectangle alone) and ends; the screenshot at exit must be the whole picture with
#             the box: the rest of the screen comes from the restored resource (its pixels), the
#             box from its restored backing, and the display was refreshed at the restore.
#          b) `vmm --api-sock`, PUT /snapshot/load with resume_vm false, SIGTERM: the screenshot
#             of the restored, never resumed VM must equal the one taken before (cmp).
#   input  tests/guests/virtio_input.c with events wait=S: the keyboard reads two of its six
#          injected events, selects ID_NAME in its config and waits; snapshot, SIGKILL, restore:
#          the guest must read the other four keyboard events and the tablet's seven, in order,
#          and find ID_NAME still selected. The restore reads the --input-script again (it is a
#          replayed option): its events must be replaced by the saved queue, or the keyboard
#          would see KEY_A again.
# Under 5 minutes: 16 s measured on a shared 2-core kvm_pvm host at load ~15; its timeout is
# the bash test's.
# labels: snapshot display api
# requires: kvm
# timeout: 600
import os
import re
import shutil
import signal
import subprocess
import sys

from framework import snapshot_util as snap
from framework.guests import expect_no_output, expect_output

RUN_TIMEOUT = 240
WAIT_S = int(os.environ.get("SNAP_DISPLAY_WAIT", "8"))  # how long the guests wait for the snapshot
W, H = 64, 40


def check_png(path, *extra):
    run = subprocess.run([sys.executable, snap.LIB / "display_png_check.py", path, str(W), str(H),
                          *extra], capture_output=True, text=True)
    assert run.returncode == 0, f"screenshot {path} differs: {run.stdout}{run.stderr}"


def snapshot_in_wait(vm, folder):
    """Pauses the guest (still in its wait) and snapshots it into FOLDER."""
    snap.take(vm.api, folder)
    assert not re.search(r"^(gpu pattern|keyboard:)", vm.out, re.M), \
        "the guest ended its wait before the pause (a very loaded machine?)"
    print(f"snapshot in the guest's wait: {snap.du(folder)}")


def test_gpu(vms, workdir):
    shot = workdir / "shot.png"
    vm = snap.start_guest(vms, "virtio_gpu", "--gpu", "--screenshot", shot,
                          "--append", f"width={W} height={H} wait={WAIT_S}", landlock=workdir)
    vm.wait_out(r"^gpu waiting", RUN_TIMEOUT)
    folder = workdir / "snap-gpu"
    snapshot_in_wait(vm, folder)
    vm.signal(signal.SIGTERM)
    vm.wait(RUN_TIMEOUT)
    before = workdir / "before.png"
    shutil.copy(shot, before)
    check_png(before, "nobox")

    # a) the screenshot is outside the snapshot's folder: the operator allows the test's folder
    shot.unlink()
    run = vms.run(["--restore", folder, "--landlock-rules", f"{workdir}:rw"], timeout=RUN_TIMEOUT,
                  name="restore")
    snap.expect_pass(run)
    expect_output(run, rf"^gpu pattern {W}x{H} drawn")
    expect_no_output(run, r"^gpu waiting")  # went on, did not boot again
    check_png(shot)

    # b) loaded, never resumed
    shot.unlink()
    loader = vms.start(["--landlock-rules", f"{workdir}:rw"], name="load", api=True)
    loader.api.want(204, "PUT", "/snapshot/load", snap.load_body(folder, resume_vm=False))
    loader.signal(signal.SIGTERM)
    loader.wait(RUN_TIMEOUT)
    assert shot.read_bytes() == before.read_bytes(), \
        "the restored screen differs from the one snapshotted"


def test_input(vms, workdir):
    script = workdir / "input.txt"
    script.write_text("key 30 1\nkey 30 0\nkey 42 1\nabs 1000 2000\nbtn 0x110 1\nbtn 0x110 0\n")
    vm = snap.start_guest(vms, "virtio_input", "--input-script", script,
                          "--append", f"events wait={WAIT_S}", landlock=workdir)
    vm.wait_out(r"^input waiting", RUN_TIMEOUT)
    folder = workdir / "snap-input"
    snapshot_in_wait(vm, folder)
    vm.signal(signal.SIGKILL)
    vm.wait()
    run = vms.run(["--restore", folder, "--landlock-rules", f"{workdir}:ro"], timeout=RUN_TIMEOUT,
                  name="restore")
    snap.expect_pass(run)
    expect_output(run, r"^keyboard: 6 events as injected")
    expect_output(run, r"^tablet: 7 events as injected")
    expect_no_output(run, r"^input waiting")
