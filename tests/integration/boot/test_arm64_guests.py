# The arm64 test guests (tests/guests/aarch64, tests/guests/README.md "arm64") on our arm64 VMM
# (issue 67): in one arm64 L1 boot (tools/kvm-in-qemu/run.sh --arch aarch64: qemu-system-aarch64,
# TCG, KVM at the emulated EL2) the cross-built vmm ($BUILD_DIR/arm64, framework/arm64_build.py)
# runs each guest Image in turn, each under a timeout (a hang fails): hello (boot, PL011, the
# formatter), machine (the device tree: 256 MiB of RAM, 2 CPUs, PL011, GICv3, the timer, PSCI over
# HVC), smp (4 vCPUs started by PSCI CPU_ON, each checking in with its MPIDR), interrupts (20
# ticks of the virtual timer and an SGI through the in-kernel GICv3), virtio_blk (the x86 guest's
# checks over virtio-mmio: reads, writes, flush, 32 in flight, suppression, discard, a read-only
# disk, a queue of a bad size: DEVICE_NEEDS_RESET while the other disk works), hostile (the
# virtio checklist and a seeded random driver against blk, rng, console, net, vsock and balloon)
# and hostile_platform (unmapped MMIO, odd-width and misaligned accesses to every virtio-mmio
# window, garbage to the PL011 and PL031, bogus PSCI calls). Each must print TEST PASS and end
# the VMM with status 0 (PSCI SYSTEM_OFF); for virtio_blk and hostile the VMM must have logged
# the device it failed, and the disks must hold what they must (framework/arm64_guests.py).
# Last, hostile_platform's `nisv`: an ldp from a virtio-mmio window, which KVM cannot hand to
# the VMM (no syndrome): the VMM gives the guest an external data abort (KVM_EXIT_ARM_NISV), which
# the guest must catch (EC 0x25) and go on to pass, the VMM saying so in its log.
# Skipped (77) without the cross toolchain or qemu-system-aarch64. It takes both "linux" slots
# for the reasons integration/arm64_linux does (two busy host threads; never beside an x86 L1).
# labels: arm64 guests
# timeout: 900
# cost: 300
# resource: linux:2
# requires: root aarch64-linux-gnu-gcc qemu-system-aarch64
import re
import subprocess

from framework import arm64_guests, paths

RUN = paths.tool("kvm-in-qemu", "run.sh")


def boot_l1(work):
    argv = [str(RUN), "--arch", "aarch64", "--cpus", "2", "--mem", "2G", "--timeout", "780",
            "--rw", str(paths.BUILD_DIR), "--", "sh", str(work / "l1.sh")]
    r = subprocess.run(argv, cwd=work, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       errors="replace", timeout=840)
    return r.returncode, r.stdout + r.stderr


def test_arm64_guests_on_the_arm64_vmm():
    vmm, images = arm64_guests.build()
    # Outside /tmp: L1 mounts a tmpfs of its own there. Shared read-write with L1.
    work = paths.BUILD_DIR / "l1-arm64-guests"
    subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir(parents=True)
    arm64_guests.prepare(work)
    (work / "l1.sh").write_text("\n".join(arm64_guests.l1_lines(vmm, images, work)) + "\n")
    rc, out = boot_l1(work)
    if rc == 2 and "L1 did not finish" in out:  # L1's own failure: once more
        print(out[-3000:])
        arm64_guests.prepare(work)
        rc, out = boot_l1(work)
    print("\n".join(re.findall(r"^(?:ARM64_GUEST .*|kvm-in-qemu: L1 ran .*)$", out, re.M)))
    nisv = work / "hostile_nisv.err"
    print("hostile_nisv, the VMM's log:", nisv.read_text(errors="replace")[-400:] if nisv.exists()
          else "-")
    failures = arm64_guests.check(out, work)
    assert not failures, f"run.sh status {rc}\n" + "\n\n".join(failures) + \
        "\n--- L1 (end) ---\n" + out[-3000:]
    subprocess.run(["rm", "-rf", str(work)])
