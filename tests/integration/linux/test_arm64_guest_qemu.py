# The arm64 test guest (guest-images/arm64-guest.sh: Debian's stock linux-image-cloud-arm64 and
# our busybox initramfs, issue 67) on QEMU, the peer: every test guest here also runs on QEMU,
# so that a failure of the arm64 VMM's test with the same guest is the VMM's, not the guest's.
# Two boots of `qemu-system-aarch64 -M virt,gic-version=3` (TCG, 2 vCPUs, 512 MiB), one with
# every device on virtio-mmio, one on virtio-pci: a 64 MiB disk with a random marker in its
# first sector, a NIC on QEMU's user network (DHCP), a virtio RNG, a virtio-console port on a
# file, a balloon. The guest's VMMTEST lines (framework/vmmtest.py) must say: 2 CPUs, PSCI with
# cpu1 taken off and on again, the RAM, the PL031 clock near the host's, each virtio device
# bound to its driver on the transport, /dev/vda's size and first sector as the image has them
# (and the guest's write to its second sector in the image afterwards), eth0's MAC and a DHCP
# lease, 32 bytes from /dev/hwrng, a line on the console port, the PL031's alarm interrupt 2 s
# after the guest set it; and QEMU must exit 0 after the guest's `poweroff -f` (PSCI SYSTEM_OFF).
# -cpu max,pauth=off, not plain max: TCG emulates the pointer authentication of Debian's arm64
# kernel with the QARMA cipher, which made a boot 20.5 s instead of 6 s (tools/kvm-in-qemu/
# README.md has the same for L1). thread=single: both vCPUs on one host thread, so that the test
# takes one of the host's CPUs (its "linux:1" slot). ~6-7 s a boot on the 2-core host; the first
# run also downloads the two Debian packages (~22 MB) and builds the initramfs (~2 s).
# Skipped (77) without qemu-system-aarch64, or when the packages cannot be had.
# labels: arm64 linux
# timeout: 240
# resource: linux:1
# requires: root qemu-system-aarch64 busybox cpio
import os
import time

import pytest

from framework import guest_env, host, paths, vmmtest

MEM_MB = 512
DISK_SIZE = 64 << 20
MAC = "52:54:00:a6:40:01"
BOOT_TIMEOUT = 120
# The board's devices, per transport: QEMU's -device names.
DEVICES = {
    "mmio": ["virtio-blk-device", "virtio-net-device", "virtio-rng-device",
             "virtio-serial-device", "virtio-balloon-device"],
    "pci": ["virtio-blk-pci", "virtio-net-pci", "virtio-rng-pci", "virtio-serial-pci",
            "virtio-balloon-pci"],
}


@pytest.fixture(scope="module")
def guest():
    env, run = guest_env.print_env("arm64-guest.sh")
    if run.returncode == 3:
        host.skip("no arm64 packages", run.stderr.strip()[-300:])
    assert run.returncode == 0, f"guest-images/arm64-guest.sh failed:\n{run.stderr[-3000:]}"
    return env


def make_disk(path):
    """A sparse 64 MiB image whose first sector starts with a marker of this run."""
    marker = f"VMMTEST-DISK-MARKER-{os.getpid()}-{time.time_ns()}\n".encode()
    with open(path, "wb") as f:
        f.write(marker)
        f.truncate(DISK_SIZE)


def qemu_args(guest, transport, disk, hvc):
    blk, net, rng, serial, balloon = DEVICES[transport]
    return ["-M", "virt,gic-version=3", "-smp", "2", "-m", f"{MEM_MB}M", "-no-reboot",
            "-serial", "stdio", "-kernel", guest["ARM64_GUEST_KERNEL"],
            "-initrd", guest["ARM64_GUEST_INITRAMFS"],
            "-append", guest["ARM64_GUEST_CMDLINE"] + " vmmtest.write=1",
            "-drive", f"file={disk},if=none,id=d0,format=raw", "-device", f"{blk},drive=d0",
            "-netdev", "user,id=n0", "-device", f"{net},netdev=n0,mac={MAC}",
            "-device", rng, "-device", serial,
            "-chardev", f"file,id=c0,path={hvc}", "-device", "virtconsole,chardev=c0",
            "-device", balloon]


@pytest.mark.parametrize("transport", ["mmio", "pci"])
def test_arm64_guest_on_qemu(guest, vms, transport):
    disk, hvc = vms.workdir / "disk.img", vms.workdir / "hvc0.out"
    make_disk(disk)
    start = time.monotonic()
    qemu = vms.qemu(qemu_args(guest, transport, disk, hvc), binary=paths.QEMU_AARCH64,
                    accel=["-accel", "tcg,thread=single", "-cpu", "max,pauth=off"])
    status = qemu.wait(BOOT_TIMEOUT)
    secs = time.monotonic() - start
    report = vmmtest.parse(qemu.out)
    end = report.get("end")
    print(f"{transport}: QEMU exit {status} after {secs:.1f} s; guest uptime at its end "
          f"{end.get('uptime') if end else '-'} s\n{report}")
    bad = vmmtest.problems(report, cpus=2, mem_mb=MEM_MB, transport=transport,
                           disk=(disk, DISK_SIZE), mac=MAC, dhcp=True, hvc_file=hvc, rng=True,
                           wrote=True, alarm=True)
    assert not bad, f"{transport}: " + "\n".join(bad) + "\n" + qemu.tail(60)
    assert status == 0, f"{transport}: QEMU exit {status} after the guest's power-off"
