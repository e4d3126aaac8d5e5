"""The checks of test_virtio_rng.py and test_virtio_rng_pci.py (one per transport): each test file
defines the `transport` fixture and imports these tests."""
import pytest

from framework import host
from framework.guests import (boot_qemu, boot_vmm, expect_output, expect_pass,
                              guest_transport_args, qemu_model, qemu_transport, transport_args)

RINGS = ["split", "packed"]


def expect_transport(run, transport, ring):
    """Over PCI the guest names its function and the interrupt kind it uses."""
    if transport == "pci":
        kind = "INTx" if ring == "packed" else "MSI-X"
        expect_output(run, rf"^rng: virtio-pci 00:[0-9a-f]{{2}}\.0, BAR 0x[0-9a-f]+, {kind} ")


def expect_buffers(run, ring):
    expect_output(run, rf"^virtio-rng at 0x[0-9a-f]+ irq [0-9]+: {ring} ring")
    expect_output(run, r"^random bytes: 5 buffers ok")


@pytest.mark.parametrize("ring", RINGS)
def test_our_vmm(vms, transport, ring):
    run = boot_vmm(vms, "virtio_rng", *transport_args(transport), "--rng",
                   "--append", f"{guest_transport_args(transport, ring)} ring={ring}")
    expect_pass(run)
    expect_transport(run, transport, ring)
    expect_buffers(run, ring)


def test_our_vmm_rate_limit(vms, transport):
    # With a rate limit the device may fill a buffer only partly; the guest still gets its bytes.
    run = boot_vmm(vms, "virtio_rng", *transport_args(transport), "--rng=rate=2K",
                   "--append", guest_transport_args(transport, "split"))
    expect_pass(run)
    expect_output(run, r"^random bytes: 5 buffers ok")


@pytest.mark.parametrize("ring", RINGS)
def test_qemu(vms, transport, ring):
    host.require("qemu")
    machine, extra, opts = qemu_transport(transport)
    packed = "on" if ring == "packed" else "off"
    run = boot_qemu(vms, "virtio_rng", *extra,
                    "-device", f"{qemu_model(transport, 'rng')}{opts},packed={packed}",
                    "-append", f"{guest_transport_args(transport, ring)} ring={ring}",
                    machine=machine)
    expect_pass(run)
    expect_transport(run, transport, ring)
    expect_buffers(run, ring)
