# The arm64 test guests (tests/guests/aarch64) on QEMU's virt board, TCG, no KVM: the peer of
# integration/arm64_linux's part `guests` (the same guests on our arm64 VMM in the arm64 L1), so a guest that
# fails there and passes here points at the VMM. hello, machine (256 MiB, 2 CPUs), smp (4 CPUs),
# interrupts, virtio_blk on virtio-mmio on a split and on a packed ring and on virtio-pci (MSI-X
# through the ITS on a split ring, INTx on a packed one; without the bad queue: QEMU stops such a
# queue its own way), hostile_platform (QEMU answers unknown HVCs with an exception, which the
# guest accepts); the arch-neutral virtio guests with x86's QEMU checks of them: virtio_rng (split
# and packed rings over virtio-mmio and virtio-pci), virtio_console (input typed on hvc0 at once),
# virtio_net_user (QEMU's libslirp: DHCP, TCP out to a service here, a hostfwd in whose client
# half-closes after its request), virtio_blk_mq (2 queues on mmio, 4 on pci; each queue's writes
# in the file), virtio_input (config space and statusq) and virtio_gpu (the picture drawn) over
# mmio and pci; pci_enum (blk, net, rng on virtio-pci) and dtb_devices (2 CPUs, an mmio disk, a
# pci rng, an initrd) with the checks any machine must pass, not our VMM's layout (`vmm`);
# snap_counter (2 CPUs, mmio and pci: x86's result for its command line,
# framework/arm64_snap.py); the benchmark guests exit_cost and blk_bench (packed ring on mmio,
# split on pci) in quick mode, their BENCH lines (framework/arm64_bench.py); and machine, smp,
# interrupts, virtio_blk and virtio_rng over pci (MSI-X through the GICv2m frame, INTx) and
# dtb_devices again on a board with a GICv2 (the runtime's gic_v2.c and v2m.c); each must print TEST PASS and end QEMU with status 0 (PSCI
# SYSTEM_OFF). Not virtio_vsock: QEMU's vsock needs the host's vhost-vsock (our VMM runs it in
# integration/arm64_linux's part `guests`), nor virtio_net/_mq/_bench: QEMU's tap needs one on this host.
# Skipped (77) without the cross toolchain or qemu-system-aarch64.
# labels: arm64 guests
# timeout: 300
# cost: 30
# requires: aarch64-linux-gnu-gcc qemu-system-aarch64
from framework import arm64_guests, arm64_snap


def test_arm64_guests_on_qemu(tmp_path):
    _, images = arm64_guests.build(vmm=False)
    arm64_guests.prepare_qemu(tmp_path)
    failures = []
    for r in (arm64_guests.qemu_runs(images, tmp_path) + arm64_snap.qemu_runs(images, tmp_path)
              + arm64_guests.qemu_gicv2_runs(images, tmp_path)):
        out, status, bad = arm64_guests.qemu_run(r, tmp_path)
        bad = arm64_guests.check_output(r.name, out, status, r.lines) + bad
        print(f"{r.name}: status {status}" + (": " + "; ".join(bad) if bad else ": ok"))
        if bad:
            failures.append(f"{r.name}: " + "; ".join(bad) + "\n" + out[-2500:])
    assert not failures, "\n\n".join(failures)
