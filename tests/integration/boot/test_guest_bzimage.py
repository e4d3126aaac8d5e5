# Our VMM's bzImage path end to end (setup header parsing, zero page, e820, command line, initrd
# placement, 64-bit entry state) with $GUESTS/bzimage_check.bzImage: the test-guest runtime
# packaged as a bzImage (tests/guests/bzimage/). A real Linux bzImage decompresses far too slowly
# on kvm_pvm hosts to be a routine test. Runs with an initrd and a command line at 256M and 4G
# (RAM on both sides of the 3-4 GiB hole), without an initrd, and failing controls; then broken
# copies of the image, which the VMM must refuse with status 2 and a clear message.
#
# No QEMU runs: QEMU's -kernel with a bzImage enters through the real-mode setup code (q35/pc:
# SeaBIOS and the linuxboot option ROM; microvm: qboot), never through the 64-bit entry, and this
# guest's setup code is a stub that halts (our VMM uses only the 64-bit entry). On QEMU it just
# hangs silently until the timeout.
# labels: guests
# requires: kvm
# timeout: 300
import re
import subprocess

import pytest

from framework import paths
from framework.guests import FAIL, expect_output, expect_pass, expect_status

HDR_MAGIC = 0x202    # "HdrS"
HDR_VERSION = 0x206  # u16
HDR_XLOADFLAGS = 0x236
HDR_RAMDISK = 0x218  # ramdisk_image, ramdisk_size (u32 each)
HDR_SETUP_DATA = 0x250
BZCHECK = "bzcheck=hello-bzimage zero_page=0x7000"  # our VMM's zero page: base/layout.h


@pytest.fixture(scope="module")
def image():
    path = paths.GUESTS / "bzimage_check.bzImage"
    if not path.exists():
        pytest.fail(f"{path} is missing (built with the tree: cmake --build)")
    return path


def posix_cksum(data):
    """cksum(1)'s checksum of DATA (what the guest computes)."""
    run = subprocess.run(["cksum"], input=data, capture_output=True, check=True)
    return int(run.stdout.split()[0])


@pytest.fixture(scope="module")
def initrd(module_vms):
    """A deterministic initrd of an odd size (not a page multiple) and the guest's words naming
    its size and POSIX cksum."""
    data = "".join(f"{i}\n" for i in range(1, 100001)).encode()[:300001]
    path = module_vms.workdir / "initrd"
    path.write_bytes(data)
    return path, f"initrd_size=300001 initrd_cksum={posix_cksum(data)}"


def run_bz(vms, image, *args):
    """Our VMM on IMAGE (a file that is not $GUESTS/NAME.elf) to its end."""
    args = [str(a) for a in args]
    mem = [] if "--mem" in args else ["--mem", "256M"]
    return vms.run(["--kernel", image, "--debug-exit", "--console", "stdio", *mem, *args],
                   name=f"vmm-{image.name}")


def expect_error(run, regex):
    """stderr (the VMM's message) matches."""
    assert re.search(regex, run.err, re.M), f"{run.name}: stderr lacks /{regex}/\n{run.tail()}"


def broken(workdir, image, name, patches):
    """A copy of IMAGE with each (offset, bytes) of PATCHES written over it."""
    data = bytearray(image.read_bytes())
    for offset, value in patches:
        data[offset:offset + len(value)] = value
    path = workdir / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("mem", ["256M", "4G"])
def test_with_initrd(vms, image, initrd, mem):
    path, words = initrd
    run = run_bz(vms, image, "--mem", mem, "--initrd", path,
                 "--append", f"{BZCHECK} expect_mem={mem} {words}")
    expect_pass(run)
    expect_output(run, r"^entry: CS 0x10 DS 0x18 ES 0x18 SS 0x18")
    expect_output(run, r"^header: magic 0x53726448 version 0x20f setup_sects 2 ")
    expect_output(run, r"^initrd: cksum ([0-9]+) \(want \1\)")
    expect_output(run, r"^e820: [0-9]+ entries")


def test_without_initrd(vms, image):
    run = run_bz(vms, image, "--append", f"{BZCHECK} expect_mem=256M")
    expect_pass(run)
    expect_output(run, r"^initrd: ramdisk_image 0x0 ramdisk_size 0$")


def test_checks_can_fail(vms, image, initrd):
    # A wrong command-line value, a wrong initrd checksum.
    run = run_bz(vms, image, "--append", "bzcheck=goodbye")
    expect_status(run, FAIL)
    expect_output(run, r"bzcheck=goodbye, want hello-bzimage")
    run = run_bz(vms, image, "--initrd", initrd[0],
                 "--append", f"{BZCHECK} initrd_size=300001 initrd_cksum=12345")
    expect_status(run, FAIL)
    expect_output(run, r"sum == want_sum")


def test_stale_loader_fields_ignored(vms, workdir, image):
    # Stale loader fields in the image file (ramdisk 0x4000000/4 KiB, setup_data 0x8000) must not
    # reach the zero page: boot.rst makes them the loader's to write.
    stale = broken(workdir, image, "stale", [(HDR_RAMDISK, b"\x00\x00\x00\x04\x00\x10\x00\x00"),
                                             (HDR_SETUP_DATA, b"\x00\x80")])
    run = run_bz(vms, stale, "--append", BZCHECK)
    expect_pass(run)


@pytest.mark.parametrize("name,patch,message", [
    ("nomagic", (HDR_MAGIC, b"HdrX"), r"neither a bzImage nor an ELF"),
    ("v2.11", (HDR_VERSION, b"\x0b\x02"), r"boot protocol 2\.11 is older than 2\.12"),
    ("no64", (HDR_XLOADFLAGS, b"\x00\x00"), r"no 64-bit entry point"),
])
def test_broken_header_refused(vms, workdir, image, name, patch, message):
    run = run_bz(vms, broken(workdir, image, name, [patch]), "--append", BZCHECK)
    expect_status(run, 2)
    expect_error(run, message)


@pytest.mark.parametrize("where", ["setup header", "setup sectors", "kernel"])
def test_truncated_refused(vms, workdir, image, where):
    # Cut inside the setup header, inside the setup sectors, inside the kernel (by one syssize
    # unit).
    data = image.read_bytes()
    cut = {"setup header": 576, "setup sectors": 1024, "kernel": len(data) - 16}[where]
    path = workdir / f"cut{cut}"
    path.write_bytes(data[:cut])
    run = run_bz(vms, path, "--append", BZCHECK)
    expect_status(run, 2)
    expect_error(run, r"truncated")


def test_command_line_too_long(vms, image):
    # A command line longer than the image's cmdline_size (2047).
    run = run_bz(vms, image, "--append", f"{BZCHECK} {'x' * 2100}")
    expect_status(run, 2)
    expect_error(run, r"accepts at most 2047")
