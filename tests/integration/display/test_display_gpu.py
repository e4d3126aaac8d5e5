# virtio-gpu 2D, headless (tests/guests/virtio_gpu.c): the guest draws a known picture (full
# transfer over a two-piece backing, then a partial update) and --screenshot writes the scanout
# at VMM exit; tests/integration/lib/display_png_check.py compares it with the same picture
# computed in python, pixel for pixel, over virtio-mmio and virtio-pci. QEMU (virtio-gpu-device) runs the
# same guest (no screenshot there).
# labels: guests virtio display
# requires: kvm
# timeout: 120
import pytest

from display_checks import expect_picture
from framework import host
from framework.guests import boot_qemu, boot_vmm, expect_output, expect_pass, expect_status


@pytest.mark.parametrize("width,height", [(320, 200), (64, 40)])
def test_screenshot_over_mmio(vms, workdir, width, height):
    shot = workdir / f"shot-{width}x{height}.png"
    run = boot_vmm(vms, "virtio_gpu", "--gpu", "--screenshot", shot,
                   "--append", f"width={width} height={height}")
    expect_pass(run)
    expect_output(run, rf"^gpu pattern {width}x{height} drawn")
    expect_picture(shot, width, height, run)


def test_screenshot_over_pci(vms, workdir):
    # The same over virtio-pci (MSI-X).
    shot = workdir / "shot-pci.png"
    run = boot_vmm(vms, "virtio_gpu", "--transport", "pci", "--gpu", "--screenshot", shot,
                   "--append", "transport=pci width=64 height=40")
    expect_pass(run)
    expect_picture(shot, 64, 40, run)


def test_no_scanout_no_screenshot(vms, workdir):
    # Without a scanout there is nothing to write: a warning, no file, the guest's status kept.
    shot = workdir / "none.png"
    run = boot_vmm(vms, "hello", "--screenshot", shot)
    expect_pass(run)
    assert not shot.exists(), "a screenshot without a scanout"
    assert "never set a scanout" in run.err, f"no warning\n{run.tail()}"


def test_bad_display_option(vms):
    # Bad display options are usage errors.
    run = boot_vmm(vms, "hello", "--display", "bogus")
    expect_status(run, 2)


def test_on_qemu(vms):
    host.require("qemu")
    run = boot_qemu(vms, "virtio_gpu", "-global", "virtio-mmio.force-legacy=false",
                    "-device", "virtio-gpu-device", "-append", "width=320 height=200",
                    machine="microvm,acpi=off")
    expect_pass(run)
    expect_output(run, r"^gpu pattern 320x200 drawn")
