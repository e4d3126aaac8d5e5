# PCI bus 0 (tests/guests/pci_enum.c): configuration mechanism #1 and ECAM agree on every
# function, absent functions and bus 1 read all-ones, BAR sizing, the virtio capability chain
# (cfg_type 1..5 inside their BARs, aligned), the PCI configuration access capability, MSI-X
# table/PBA, memory decoding off -> all-ones, INTx lines and their MP table entries.
# Our VMM (`vmm`: its exact layout, virtio/transport/virtio_pci.h) with three virtio-pci devices, and with a mix
# of transports (only the devices after --transport pci are on the bus); QEMU q35 (ECAM where its
# firmware put it, 0xB0000000; BARs wherever SeaBIOS assigned them).
# labels: guests pci
# requires: kvm
# timeout: 120
import pytest

from framework import host
from framework.guests import boot_qemu, boot_vmm, expect_no_output, expect_output, expect_pass


@pytest.fixture
def disk(workdir):
    path = workdir / "disk.img"
    with open(path, "wb") as f:
        f.truncate(1 << 20)
    return path


def test_three_virtio_pci_devices(vms, disk):
    run = boot_vmm(vms, "pci_enum", "--transport", "pci", "--disk", disk, "--console", "virtio",
                   "--rng", "--append", "vmm devices=3")
    expect_pass(run)
    expect_output(run, r"^00:00\.0 1b36:0008 class 060000 header 0x00$")
    expect_output(run, r"^00:01\.0 1af4:1042 class 018000 ")
    expect_output(run, r"^00:02\.0 1af4:1043 class 078000 ")
    expect_output(run, r"^00:03\.0 1af4:1044 class ff0000 ")
    expect_output(run, r"^  decoding off: BAR reads 0xffffffff")
    expect_output(run, r"^  INTA, line 21; MP table: IOAPIC [0-9]+ pin 21 flags 0xf")


def test_mixed_transports(vms, disk):
    # mmio disk, PCI rng: the rng alone on the bus, at slot 1.
    run = boot_vmm(vms, "pci_enum", "--disk", disk, "--transport", "pci", "--rng",
                   "--append", "vmm devices=1")
    expect_pass(run)
    expect_output(run, r"^00:01\.0 1af4:1044 ")
    expect_no_output(run, r"^00:02\.0")


def test_no_bus(vms):
    # No virtio-pci device: the VMM builds no bus at all; conf1 and ECAM read all-ones.
    run = boot_vmm(vms, "pci_enum", "--append", "vmm devices=0")
    expect_pass(run)
    expect_output(run, r"^0 functions, 0 virtio")


def test_on_qemu_q35(vms, disk):
    host.require("qemu")
    run = boot_qemu(vms, "pci_enum", "-drive", f"id=d0,file={disk},format=raw,if=none",
                    "-device", "virtio-blk-pci,drive=d0,disable-legacy=on",
                    "-device", "virtio-rng-pci,disable-legacy=on",
                    "-append", "ecam=0xb0000000 devices=2", machine="q35")
    expect_pass(run)
    expect_output(run, r"^00:[0-9a-f]{2}\.0 1af4:1042 ")
    expect_output(run, r"^00:[0-9a-f]{2}\.0 1af4:1044 ")
    expect_output(run, r"^  PCI configuration access window: num_queues 1: ok$")
