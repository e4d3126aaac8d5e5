"""The test guests (tests/guests: small programs that run on our VMM and on QEMU and report by
their exit status through isa-debug-exit and by lines on COM1).

Exit statuses (tests/guests/runtime/test.h; isa-debug-exit maps code v to (v << 1) | 1):
PASS 1, FAIL 33 (an assertion), EXCEPTION 35 (an unexpected CPU exception). Status 1 is also what
a VMM that failed early returns, so a pass is status 1 *and* the line "TEST PASS".
"""
import re

import pytest

from . import paths

PASS = 1
FAIL = 33
EXCEPTION = 35


def guest_path(name):
    """tests/guests' NAME.elf in the build; fails the test when it was not built."""
    path = paths.GUESTS / f"{name}.elf"
    if not path.exists():
        pytest.fail(f"test guest {path} is missing (built with the tree: cmake --build)")
    return path


def boot_vmm(vms, guest, *args, timeout=60, mem="256M", name=None, **kw):
    """Boots test guest GUEST on our VMM to its end (--debug-exit, --console stdio, --mem MEM
    unless ARGS give one); returns the Vm (named NAME, default vmm-GUEST) with .status."""
    args = [str(a) for a in args]
    memory = [] if "--mem" in args else ["--mem", mem]
    return vms.run(["--kernel", guest_path(guest), "--debug-exit", "--console", "stdio",
                    *memory, *args], timeout=timeout, name=name or f"vmm-{guest}", **kw)


def boot_qemu(vms, guest, *args, machine="microvm", timeout=60, name=None):
    """Boots test guest GUEST on QEMU (MACHINE) to its end; returns the run with .status."""
    args = [str(a) for a in args]
    memory = [] if "-m" in args else ["-m", "256M"]
    run = vms.qemu(["-M", machine, *memory, "-serial", "stdio",
                    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                    "-kernel", guest_path(guest), *args], name=name or f"qemu-{guest}")
    run.status = run.wait(timeout)
    return run


def expect_pass(run):
    """The guest passed: status 1 and its "TEST PASS" line."""
    expect_status(run, PASS)
    expect_output(run, r"^TEST PASS$")


def expect_status(run, status):
    assert run.status == status, f"{run.name}: status {run.status}, want {status}\n{run.tail()}"


def expect_output(run, regex):
    assert re.search(regex, run.out, re.M), f"{run.name}: output lacks /{regex}/\n{run.tail()}"


def expect_no_output(run, regex):
    assert not re.search(regex, run.out, re.M), f"{run.name}: output has /{regex}/\n{run.tail()}"


def transport_args(transport):
    """Our VMM's options for TRANSPORT ("mmio" or "pci"), before the devices."""
    return ["--transport", "pci"] if transport == "pci" else []


def qemu_transport(transport):
    """QEMU's machine, extra options and -device suffix for TRANSPORT."""
    if transport == "pci":
        return "q35", [], ",disable-legacy=on"
    return "microvm,acpi=off", ["-global", "virtio-mmio.force-legacy=false"], ""


def qemu_model(transport, device):
    return f"virtio-{device}-pci" if transport == "pci" else f"virtio-{device}-device"


def guest_transport_args(transport, ring="split"):
    """The test guest's command-line words for TRANSPORT (PCI: MSI-X with the split ring, INTx
    with the packed ring, so both paths run)."""
    if transport != "pci":
        return "transport=mmio"
    return "transport=pci pci_irq=msix" if ring == "split" else "transport=pci pci_irq=intx"
