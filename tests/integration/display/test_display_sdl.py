# The real SDL2 window (--display sdl) on a virtual X server (Xvfb): the virtio_gpu guest
# draws its picture, and at exit --screenshot reads back what the window shows
# (SDL_RenderReadPixels), which must match the picture pixel for pixel. Skipped without Xvfb
# or in a VMM built without SDL2.
# labels: guests virtio display slow
# requires: kvm Xvfb
# timeout: 180
import os
import select

import pytest

from display_checks import expect_picture
from framework import host
from framework.guests import boot_vmm, expect_output, expect_pass


@pytest.fixture
def display(vms):
    """A private X server (not xvfb-run: its own clean-up failed once in CI, "problem while
    cleaning up temporary directory", exit 5, after a run that had passed). It picks a free
    display and writes its number to a pipe; returns ":N"."""
    host.require("kvm", "Xvfb")
    read_end, write_end = os.pipe()
    try:
        xvfb = vms.process(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x1024x24",
                            "-nolisten", "tcp"], name="xvfb", pass_fds=(write_end,))
    finally:
        os.close(write_end)
    number = b""
    try:
        while not number.endswith(b"\n"):
            ready, _, _ = select.select([read_end], [], [], 10)
            chunk = os.read(read_end, 64) if ready else b""
            assert chunk, f"Xvfb did not start: {xvfb.err}"
            number += chunk
    finally:
        os.close(read_end)
    return f":{number.decode().strip()}"


def test_window_shows_the_picture(vms, workdir, display):
    probe = vms.run(["--kernel", "/dev/null", "--display", "sdl"], name="vmm-sdl-probe")
    if "built without SDL2" in probe.out + probe.err:
        host.skip("built without SDL2", "this vmm was built without SDL2 (libsdl2-dev)")
    shot = workdir / "window.png"
    run = boot_vmm(vms, "virtio_gpu", "--display", "sdl", "--screenshot", shot,
                   "--append", "width=320 height=200", env={**os.environ, "DISPLAY": display})
    expect_pass(run)
    expect_output(run, r"^gpu pattern 320x200 drawn")
    expect_picture(shot, 320, 200, run)
