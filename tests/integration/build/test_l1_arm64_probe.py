# The arm64 L1 serves KVM (issue 67): tools/kvm-in-qemu/run.sh --arch aarch64 boots Debian's arm64
# kernel at EL2 under qemu-system-aarch64 (TCG, virt board with a GICv3) and runs
# tools/kvm-in-qemu/arm64-kvm-probe.c there, cross-built here: a VM with a vCPU, an in-kernel GICv3
# and a guest whose MMIO write and PSCI SYSTEM_OFF must come back as KVM_EXIT_MMIO and
# KVM_EXIT_SYSTEM_EVENT. It fails when L1 does not boot, has no /dev/kvm or the probe fails;
# it skips (77) without the cross compiler or qemu-system-aarch64. One small L1 (1 vCPU, 1 GiB):
# ~15-25 s on 2 cores, of which ~10 s are L1's boot (tools/kvm-in-qemu/README.md).
# labels: arm64
# timeout: 300
# requires: root aarch64-linux-gnu-gcc qemu-system-aarch64 busybox cpio
import re
import shutil
import subprocess

from framework import paths

RUN = paths.tool("kvm-in-qemu", "run.sh")
PROBE = paths.tool("kvm-in-qemu", "arm64-kvm-probe.c")
# What L1 runs (busybox sh): /dev/kvm, what L1's KVM said at boot, then the probe with a
# thousand MMIO exits (its time per exit is in the output, for the record).
L1_CMD = ("ls -l /dev/kvm && dmesg | grep -i 'kvm \\[' ; "
          "exec ./arm64-kvm-probe --exits 1000")


def boot_l1(work):
    """run.sh's status and output (L1's console and its own lines)."""
    argv = [str(RUN), "--arch", "aarch64", "--cpus", "1", "--mem", "1G", "--timeout", "200",
            "--stall", "60", "--silence", "60", "--rw", str(work), "--", "sh", "-c", L1_CMD]
    r = subprocess.run(argv, cwd=work, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       errors="replace", timeout=260)
    return r.returncode, r.stdout + r.stderr


def test_l1_arm64_runs_a_kvm_guest():
    # Outside /tmp: L1 mounts a tmpfs of its own there. Shared read-write with L1.
    work = paths.BUILD_DIR / "l1-arm64-probe"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cc = subprocess.run(["aarch64-linux-gnu-gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
                         str(work / "arm64-kvm-probe"), str(PROBE)],
                        capture_output=True, text=True)
    assert cc.returncode == 0, "the probe does not build:\n" + cc.stderr
    rc, out = boot_l1(work)
    if rc == 2 and "L1 did not finish" in out:
        # L1's own failure (a TCG stall, a panic): once more, as the x86 L1's supervisor does
        print(out[-3000:])
        rc, out = boot_l1(work)
    print(out)
    assert re.search(r"^c[-rwx]{9} .* /dev/kvm\r?$", out, re.M), \
        "L1 has no /dev/kvm:\n" + out[-4000:]
    assert "arm64-kvm-probe: ok" in out and rc == 0, \
        f"the probe failed in the arm64 L1 (run.sh status {rc}):\n{out[-6000:]}"
    shutil.rmtree(work, ignore_errors=True)
