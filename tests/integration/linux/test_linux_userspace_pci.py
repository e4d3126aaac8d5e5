# The default Linux guest's user space end to end (see userspace_checks.py): block, rng,
# network and system-call checks, then a shell typed at through tmux.
# This one: our VMM over virtio-pci (MSI-X), the shell on hvc0 (virtio-console), ended by Ctrl-A x,
# with a headless virtio-gpu and virtio-input keyboard and tablet (--gpu): the kernel binds
# virtio-gpu (DRM, fbdev emulation, the framebuffer console) and registers the input devices; the
# shell writes 20 lines to /dev/tty1, and the screenshot written at exit must show them. The
# root is a qcow2 overlay over the ext4 image (qcow2), pulled out by Ctrl-A x after a sync.
# The same boot checks virtio-vsock over virtio-pci (/init's vsock check, a guest program
# over AF_VSOCK to a host helper; over virtio-mmio linux_virtiofs checks it).
# (339 s measured on 2026-11-28 on the 2-core kvm_pvm host beside other tests, 478-627 s under a
# load of 5-10; the bash script took 245 s in an idle CI run: one boot with eight virtio devices,
# a qcow2 root and 20 lines drawn on the framebuffer console by emulated guest kernel code.)
# labels: slow linux display
# requires: kvm tmux qemu-img
# timeout: 1500
# resource: linux:1
import pytest

from userspace_checks import Config
import userspace_checks as checks

CFG = Config(runner="vmm", transport="pci", console="hvc0", ending="ctrl-a-x", gpu=True,
             qcow2=True, vsock=True)


@pytest.fixture(scope="module")
def facts(module_vms):
    return checks.run(module_vms, CFG)


def test_host_to_guest_through_hostfwd(facts):
    checks.check_host_to_guest(facts)


def test_shell_typed_in_a_terminal(facts):
    checks.check_shell(facts)


def test_ending(facts):
    checks.check_ending(facts)


def test_guest_checks(facts):
    checks.check_guest_reports(facts)


def test_devices_the_guest_drove(facts):
    checks.check_vmm_devices(facts)


def test_acpi(facts):
    checks.check_acpi(facts)


def test_vsock(facts):
    checks.check_vsock(facts)


def test_display(facts):
    checks.check_gpu(facts)


def test_disk_read_back(facts):
    checks.check_disk(facts)
