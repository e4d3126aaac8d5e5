# The default Linux guest without ACPI: its kernel reads the VMM's ACPI tables by default
# (linux_userspace* check that), but the MP table and the virtio_mmio.device= entries are still
# there for a guest that does not (docs/acpi.md). Two boots side by side (the boot is what is
# tested: no snapshot), virtio-mmio with a disk and an rng, the initramfs root:
#   - acpi-off: `vmm --acpi off` (no tables at all); the shell comes up and `poweroff` typed there
#     ends the VM: /init's trap runs `poweroff -f`, the kernel has no power-off device and halts,
#     and the VMM's halt watch exits 0;
#   - cmdline: the tables are there but the kernel is told `acpi=off`; /init ends with
#     `poweroff -f`, the same halt.
# Each must reach /init, bring every vCPU online (from the MP table), find both virtio devices
# once, through the command line's entries (virtio-mmio.N), and end with status 0.
# (80 s measured on 2026-11-28 on the 2-core kvm_pvm host.)
# labels: slow linux
# requires: kvm
# timeout: 1200
# resource: linux:2
import re

import pytest

from framework import linux

BOOT_TIMEOUT = 900


def ncpus():
    # 1 vCPU on kvm_pvm, where Linux stops at "Bringing up secondary CPUs" (docs/running.md).
    return 1 if linux.images().get("EMULATED_KVM") == "1" else 2


@pytest.fixture(scope="module")
def runs(module_vms):
    img = linux.images()
    vms = module_vms

    def start(name, append, *extra, console_in=False):
        disk = vms.workdir / f"{name}.img"
        disk.write_bytes(bytes(1 << 20))
        return vms.start(["-v", "--kernel", img["VMLINUX"], "--initrd", img["INITRAMFS"],
                          "--cpus", ncpus(), "--mem", "256M", "--transport", "mmio",
                          "--disk", disk, "--rng", *extra,
                          "--append", f"{img['CMDLINE']} vmmguest.dhcp=0 {append}"],
                         name=name, console_in=console_in)

    acpi_off = start("acpi-off", "vmmguest.shell=1", "--acpi", "off", console_in=True)
    cmdline = start("cmdline", "acpi=off vmmguest.end=poweroff")
    shell_up = True
    try:
        acpi_off.wait_out(r"vmmguest:.*# ", BOOT_TIMEOUT)
        acpi_off.type("poweroff")
    except AssertionError:
        shell_up = False
    for vm in (acpi_off, cmdline):
        try:
            vm.status = vm.wait(BOOT_TIMEOUT)
        except AssertionError:
            vm.status = "timeout"
    return {"acpi-off": acpi_off, "cmdline": cmdline, "shell_up": shell_up}


def test_acpi_off_shell_came_up(runs):
    assert runs["shell_up"], f"acpi-off: no shell\n{runs['acpi-off'].tail()}"


@pytest.mark.parametrize("name", ["acpi-off", "cmdline"])
def test_boot_without_acpi(runs, name):
    vm = runs[name]
    log = vm.out
    tail = vm.tail(30)
    assert re.search(r"^VMM-GUEST-INIT: ok", log, re.M), f"{name}: /init did not run\n{tail}"
    assert re.search(rf"^VMM-GUEST-CPUS: {ncpus()}$", log, re.M), \
        f"{name}: not every vCPU online ({ncpus()}, the MP table)\n{tail}"
    assert "ACPI: XSDT" not in log, f"{name}: the kernel read ACPI tables"
    listed = re.findall(r"^VMM-GUEST-VIRTIO: .*$", log, re.M)
    mmio = [line for line in listed if re.search(r" on=virtio-mmio\.[0-9]+$", line)]
    assert len(listed) == 2 and len(mmio) == 2, \
        f"{name}: want disk and rng found once each, through virtio_mmio.device=: {listed}"
    assert re.search(r"^VMM-GUEST-END: poweroff", log, re.M), \
        f"{name}: /init did not power off\n{tail}"
    assert "reboot: System halted" in log, f"{name}: the kernel did not halt\n{tail}"
    assert vm.status == 0, f"{name}: exit status {vm.status}, want 0 (the VMM's halt watch)\n{tail}"
