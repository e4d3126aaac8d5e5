# The arm64 test guests (tests/guests/aarch64) on QEMU's virt board, TCG, no KVM: the peer of
# integration/arm64_linux's part `guests` (the same guests on our arm64 VMM in the arm64 L1), so a guest that
# fails there and passes here points at the VMM. hello, machine (256 MiB, 2 CPUs), smp (4 CPUs),
# interrupts, virtio_blk on virtio-mmio on a split and on a packed ring and on virtio-pci (MSI-X
# through the ITS on a split ring, INTx on a packed one; without the bad queue: QEMU stops such a
# queue its own way), hostile_platform (QEMU answers unknown HVCs with an exception, which the
# guest accepts); each must print TEST PASS and end QEMU with status 0 (PSCI SYSTEM_OFF).
# Skipped (77) without the cross toolchain or qemu-system-aarch64.
# labels: arm64 guests
# timeout: 300
# cost: 30
# requires: aarch64-linux-gnu-gcc qemu-system-aarch64
import subprocess

from framework import arm64_guests, paths


def test_arm64_guests_on_qemu(tmp_path):
    _, images = arm64_guests.build(vmm=False)
    arm64_guests.prepare_qemu(tmp_path)
    failures = []
    for name, argv, lines in arm64_guests.qemu_runs(images, tmp_path):
        try:
            r = subprocess.run([paths.QEMU_AARCH64, *argv], stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, errors="replace", timeout=60)
            out, status = r.stdout + r.stderr, str(r.returncode)
        except subprocess.TimeoutExpired as e:
            out, status = (e.stdout or b"").decode(errors="replace"), "124"
        bad = arm64_guests.check_output(name, out, status, lines)
        print(f"{name}: status {status}" + (": " + "; ".join(bad) if bad else ": ok"))
        if bad:
            failures.append(f"{name}: " + "; ".join(bad) + "\n" + out[-2500:])
    assert not failures, "\n\n".join(failures)
