# The machine's device tree (firmware/fdt.h): --dump-dtb writes a blob that dtc decompiles without
# a warning, and the dtb_devices guest (tests/guests/dtb_devices.c) finds its CPUs, memory,
# IOAPIC/LAPIC, COM1 and every virtio-mmio window from the --dtb PVH module (module 0, or 1 after
# an initrd) and checks each answers. Our VMM only: QEMU has no way to pass our tree.
# labels: guests
# requires: kvm
# timeout: 180
import subprocess

import pytest

from framework import host
from framework.guests import FAIL, boot_vmm, expect_output, expect_pass, expect_status, guest_path


@pytest.fixture(scope="module", autouse=True)
def needs_libfdt(module_vms):
    run = module_vms.run(["--help"], name="vmm-help")
    if "--dump-dtb" not in run.out + run.err:
        host.skip("built without libfdt", "this vmm has no --dtb/--dump-dtb (libfdt-dev)")


def sparse(path, size):
    with open(path, "wb") as f:
        f.truncate(size)
    return path


@pytest.fixture
def disk(workdir):
    return sparse(workdir / "disk.img", 1 << 20)


@pytest.fixture(scope="module")
def dumped(module_vms):
    """The machine's tree from --dump-dtb (4 CPUs, 5G, an mmio rng and disk, a PCI disk)."""
    folder = module_vms.workdir
    dtb = folder / "machine.dtb"
    run = module_vms.run(["--kernel", guest_path("hello"), "--cpus", 4, "--mem", "5G", "--rng",
                          "--disk", sparse(folder / "d1.img", 1 << 20), "--transport", "pci",
                          "--disk", sparse(folder / "d2.img", 1 << 20), "--debug-exit",
                          "--dump-dtb", dtb], name="vmm-dump-dtb")
    return run, dtb


def test_dump_dtb_writes_a_tree(dumped):
    run, dtb = dumped
    assert run.status == 0 and dtb.exists() and dtb.stat().st_size > 0, \
        f"--dump-dtb failed (status {run.status}): {run.err}"


def test_dtc_decompiles_it_without_warnings(dumped):
    host.require("dtc")
    run, dtb = dumped
    assert dtb.exists(), f"--dump-dtb wrote nothing: {run.err}"
    dtc = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(dtb)], capture_output=True,
                         text=True)
    assert dtc.returncode == 0 and not dtc.stderr, f"dtc: {dtc.stderr}"
    assert 'compatible = "pci-host-ecam-generic"' in dtc.stdout, "no PCI host bridge node"
    assert "virtio_mmio@d0000000" in dtc.stdout, "no virtio-mmio node"


def test_guest_finds_its_devices(vms, disk):
    run = boot_vmm(vms, "dtb_devices", "--dtb", "--cpus", 2, "--rng", "--disk", disk,
                   "--append", "expect_cpus=2 expect_virtio=2")
    expect_pass(run)
    expect_output(run, r"^device tree: [0-9]+ bytes at 0x[0-9a-f]+, PVH module 0")
    expect_output(run, r"^virtio-mmio at 0xd0001000 size 0x1000 irq 6: device 4")
    expect_output(run, r"^uart at port 0x3f8 irq 4")


def test_tree_after_an_initrd(vms, disk):
    run = boot_vmm(vms, "dtb_devices", "--dtb", "--initrd", disk, "--mem", "5G", "--rng",
                   "--append", "expect_virtio=1 expect_initrd")
    expect_pass(run)
    expect_output(run, r"^device tree: .* PVH module 1")
    expect_output(run, r"^memory: 5120 MiB")


def test_no_tree_is_noticed(vms):
    # Without --dtb there is no tree: the guest must notice.
    run = boot_vmm(vms, "dtb_devices", "--rng")
    expect_status(run, FAIL)
    expect_output(run, r"no device tree")
