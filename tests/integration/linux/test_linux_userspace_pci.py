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

import userspace_checks as checks
from userspace_checks import Config
# the checks, run on this file's boot (the facts fixture); pytest collects them here
from userspace_checks import (  # noqa: F401
    test_host_to_guest_through_hostfwd, test_shell_typed_in_a_terminal, test_ending,
    test_guest_checks, test_devices_the_guest_drove, test_acpi, test_vsock, test_display,
    test_disk_read_back)

CFG = Config(runner="vmm", transport="pci", console="hvc0", ending="ctrl-a-x", gpu=True,
             qcow2=True, vsock=True)


@pytest.fixture(scope="module")
def facts(module_vms):
    return checks.run(module_vms, CFG)
