"""What the virtio_blk test guest (tests/guests/virtio_blk.c) must leave in its disks and print,
shared by test_virtio_blk*.py (the in-process disk, QEMU's, and a disk served by
qemu-storage-daemon) and test_virtio_blk_mq.py. Not a test file (no test_ prefix)."""
import shutil
import subprocess

from framework.guests import expect_output, expect_pass

SECTORS = 16384  # 8 MiB disks


def pattern(tag, mark, first, count):
    """The bytes blk_pattern_fill() (tests/guests/runtime/virtio_blk.c) puts in sectors
    FIRST..FIRST+COUNT-1: 32 lines of TAG, 10-digit sector number, '-', MARK."""
    return b"".join(f"{tag}{s:010d}-{mark}\n".encode() * 32 for s in range(first, first + count))


def make_disk(path):
    """The host pattern in sectors 0..2047, zeros up to 8 MiB."""
    with open(path, "wb") as f:
        f.write(pattern("H", "HST", 0, 2048))
        f.truncate(SECTORS * 512)


def sectors_of(path, first, count):
    with open(path, "rb") as f:
        f.seek(first * 512)
        return f.read(count * 512)


def same_file(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def check_disks(rw, ro, pristine):
    """What the guest must have left in the files."""
    assert sectors_of(rw, 4096, 72) == pattern("G", "GST", 4096, 72), \
        "file: guest pattern at 4096..4167"
    assert sectors_of(rw, 6000, 16) == bytes(8192), "file: zeros at 6000..6015"
    assert sectors_of(rw, 0, 2048) == pattern("H", "HST", 0, 2048), "file: host pattern intact"
    assert same_file(ro, pristine), "file: read-only disk untouched"


def irq_kind(ring):
    """How the guest takes its interrupts on PCI (split: MSI-X, packed: INTx)."""
    return "MSI-X" if ring == "split" else "INTx"


def expect_blk_output(run, transport, ring):
    expect_pass(run)
    if transport == "pci":
        for disk in (0, 1):
            expect_output(run, rf"^disk {disk}: virtio-pci 00:[0-9a-f]{{2}}\.0, "
                               rf"BAR 0x[0-9a-f]+, {irq_kind(ring)} ")
    expect_output(run, r'^GET_ID: ".*": ok$')
    expect_output(run, r"^32 requests in flight: ok")
    expect_output(run, r"^interrupt suppression .*: 7 completions without an interrupt, "
                       r"then 1: ok$")
    expect_output(run, r"^past the end -> IOERR, unknown type -> UNSUPP: ok$")
    expect_output(run, r"^WRITE_ZEROES \(read back zeros\), DISCARD: ok$")
    expect_output(run, r"^read-only disk: RO offered, read ok, write -> IOERR: ok$")


def qemu_img(*args):
    """qemu-img ARGS, asserted to succeed; returns its stdout."""
    run = subprocess.run(["qemu-img", *map(str, args)], capture_output=True, text=True)
    assert run.returncode == 0, \
        f"qemu-img {' '.join(map(str, args))}: {run.returncode}\n{run.stderr}"
    return run.stdout


def copy(src, dst):
    shutil.copyfile(src, dst)
