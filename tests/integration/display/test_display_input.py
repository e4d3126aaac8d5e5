# virtio-input keyboard and tablet (tests/guests/virtio_input.c): config space, statusq, and
# events injected with --input-script, read back by the guest in order with exact codes. On QEMU
# (virtio-keyboard-device, virtio-tablet-device) the config space and statusq only.
# labels: guests virtio display
# requires: kvm
# timeout: 120
from framework import host
from framework.guests import boot_qemu, boot_vmm, expect_output, expect_pass, expect_status

SCRIPT = """\
# keyboard: KEY_A press and release, KEY_LEFTSHIFT press
key 30 1
key 30 0
key 42 1
# tablet: move to (1000, 2000), click BTN_LEFT
abs 1000 2000
btn 0x110 1
btn 0x110 0
"""


def test_injected_events(vms, workdir):
    script = workdir / "input.txt"
    script.write_text(SCRIPT)
    run = boot_vmm(vms, "virtio_input", "--input-script", script, "--append", "events")
    expect_pass(run)
    expect_output(run, r"^keyboard: 6 events as injected")
    expect_output(run, r"^tablet: 7 events as injected")


def test_bad_script_refused(vms, workdir):
    script = workdir / "bad.txt"
    script.write_text("key 30 9\n")
    run = boot_vmm(vms, "virtio_input", "--input-script", script)
    expect_status(run, 2)


def test_on_qemu(vms):
    host.require("qemu")
    run = boot_qemu(vms, "virtio_input", "-global", "virtio-mmio.force-legacy=false",
                    "-device", "virtio-keyboard-device", "-device", "virtio-tablet-device",
                    machine="microvm,acpi=off")
    expect_pass(run)
    expect_output(run, r"^virtio-input ok")
