# The arm64 VMM boots Debian's stock arm64 cloud kernel (issue 67): in an arm64 L1
# (tools/kvm-in-qemu/run.sh --arch aarch64: qemu-system-aarch64, TCG, KVM at the emulated EL2),
# the cross-built vmm ($BUILD_DIR/arm64, framework/arm64_build.py) boots the arm64 test guest
# (guest-images/arm64-guest.sh: linux-image-cloud-arm64 and our busybox initramfs) twice in one L1
# boot, every device on virtio-mmio, then on virtio-pci (MSI-X through the in-kernel ITS): 2 vCPUs
# brought up by PSCI, 512 MiB, a disk with a marker of this run in its first sector, a NIC on
# --net user (libslirp: DHCP), a virtio RNG, a balloon. The guest's VMMTEST lines
# (framework/vmmtest.py, the same checks as integration/arm64_guest_qemu, the guest on QEMU)
# must say: 2 CPUs, cpu1 taken off and on again (PSCI CPU_OFF/CPU_ON), the RAM, the PL031 clock
# near the host's, each device bound to its driver on the transport, the disk's size and marker
# (and the guest's write in the image afterwards), the MAC and a DHCP lease, 32 bytes of the
# RNG; and the VMM must exit 0 after the guest's `poweroff -f` (PSCI SYSTEM_OFF). First, in the
# same L1 boot (one boot for every arm64 KVM check: the issue's budget), the L1's KVM itself:
# tools/kvm-in-qemu/arm64-kvm-probe.c, cross-built here, runs a guest whose MMIO write and PSCI
# SYSTEM_OFF must come back as KVM_EXIT_MMIO and KVM_EXIT_SYSTEM_EVENT (a failure there is L1's,
# not the VMM's); then, without a boot, a kernel that is no arm64 Image is refused with exit 2.
# It fails when a check fails or L1 does not boot twice in a row; skipped (77) without the cross
# toolchain, qemu-system-aarch64 or the Debian packages. ~60 s on the 2-core host (L1 ~10 s, the
# probe ~2 s, each guest ~20-25 s under nested TCG). It takes both of the host's "linux" slots:
# L1's two vCPUs are two busy host threads, and CTest then never starts it beside an x86 L1,
# whose lock (tools/kvm-in-qemu/run.sh) it would wait on.
# labels: arm64 linux
# timeout: 900
# cost: 400
# resource: linux:2
# requires: root aarch64-linux-gnu-gcc qemu-system-aarch64 busybox cpio
import os
import re
import shlex
import subprocess
import time

from framework import arm64_build, guest_env, host, paths, vmmtest

RUN = paths.tool("kvm-in-qemu", "run.sh")
PROBE = paths.tool("kvm-in-qemu", "arm64-kvm-probe.c")
MEM_MB = 512
DISK_SIZE = 64 << 20
MAC = "52:54:00:a6:40:02"
TRANSPORTS = ("mmio", "pci")


def make_disk(path):
    """A sparse image whose first sector starts with a marker of this run."""
    marker = f"VMMTEST-DISK-MARKER-{os.getpid()}-{time.time_ns()}\n".encode()
    with open(path, "wb") as f:
        f.write(marker)
        f.truncate(DISK_SIZE)


def l1_script(vmm, guest, work):
    """What L1 runs (busybox sh): the refused kernel, then one boot per transport; each VMM's
    output in its own file, its status on L1's console."""
    q = shlex.quote
    boot = (f"{q(str(vmm))} $pci --kernel {q(guest['ARM64_GUEST_KERNEL'])} "
            f"--initrd {q(guest['ARM64_GUEST_INITRAMFS'])} --cpus 2 --mem {MEM_MB}M "
            f"--disk disk-$t.img --net user,mac={MAC} --rng --balloon size=16 "
            f"--append {q(guest['ARM64_GUEST_CMDLINE'] + ' vmmtest.write=1')}")
    lines = [f"cd {q(str(work))}",
             "ls -l /dev/kvm; ./arm64-kvm-probe --exits 1000 > probe.log 2>&1",
             'echo "VMM_EXIT probe $?"',
             f"{q(str(vmm))} --kernel {q(guest['ARM64_GUEST_INITRAMFS'])} > refused.log 2>&1",
             'echo "VMM_EXIT refused $?"']
    for t in TRANSPORTS:
        pci = "--enable-pci" if t == "pci" else ""
        lines += [f"t={t} pci={pci}", f"timeout 300 {boot} > vmm-$t.log 2>&1",
                  'echo "VMM_EXIT $t $?"']
    return "\n".join(lines) + "\n"


def boot_l1(work):
    argv = [str(RUN), "--arch", "aarch64", "--cpus", "2", "--mem", "2G", "--timeout", "780",
            "--rw", str(paths.BUILD_DIR), "--", "sh", str(work / "l1.sh")]
    r = subprocess.run(argv, cwd=work, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       errors="replace", timeout=840)
    return r.returncode, r.stdout + r.stderr


def test_arm64_vmm_boots_debian_on_mmio_and_pci():
    vmm = arm64_build.build("vmm") / "vmm"
    guest, run = guest_env.print_env("arm64-guest.sh")
    if run.returncode == 3:
        host.skip("no arm64 packages", run.stderr.strip()[-300:])
    assert run.returncode == 0, f"guest-images/arm64-guest.sh failed:\n{run.stderr[-3000:]}"
    # Outside /tmp: L1 mounts a tmpfs of its own there. Shared read-write with L1.
    work = paths.BUILD_DIR / "l1-arm64-linux"
    subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir(parents=True)
    for t in TRANSPORTS:
        make_disk(work / f"disk-{t}.img")
    cc = subprocess.run(["aarch64-linux-gnu-gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
                         str(work / "arm64-kvm-probe"), str(PROBE)],
                        capture_output=True, text=True)
    assert cc.returncode == 0, "the probe does not build:\n" + cc.stderr
    (work / "l1.sh").write_text(l1_script(vmm, guest, work))
    rc, out = boot_l1(work)
    if rc == 2 and "L1 did not finish" in out:  # L1's own failure: once more
        print(out[-3000:])
        rc, out = boot_l1(work)
    status = dict(re.findall(r"^VMM_EXIT (\S+) (\d+)\r?$", out, re.M))
    assert len(status) == 2 + len(TRANSPORTS), \
        f"L1 did not run every step (run.sh status {rc}):\n{out[-6000:]}"
    probe = (work / "probe.log").read_text(errors="replace")
    print(probe)
    assert re.search(r"^c[-rwx]{9} .* /dev/kvm\r?$", out, re.M), \
        "L1 has no /dev/kvm:\n" + out[-4000:]
    assert status["probe"] == "0" and "arm64-kvm-probe: ok" in probe, \
        f"L1's KVM failed the probe (exit {status['probe']}):\n{probe[-4000:]}"
    refused = (work / "refused.log").read_text(errors="replace")
    assert status["refused"] == "2" and "not an arm64 Image" in refused, \
        f"a kernel that is no Image: exit {status['refused']}\n{refused}"
    failures = []
    for t in TRANSPORTS:
        log = (work / f"vmm-{t}.log").read_text(errors="replace")
        report = vmmtest.parse(log)
        print(f"{t}: VMM exit {status[t]}\n{report}")
        bad = vmmtest.problems(report, cpus=2, mem_mb=MEM_MB, transport=t,
                               disk=(work / f"disk-{t}.img", DISK_SIZE), mac=MAC, dhcp=True,
                               rng=True, wrote=True)
        if status[t] != "0":
            bad.append(f"the VMM exited {status[t]} after the guest's power-off")
        if bad:
            failures.append(f"{t}: " + "\n".join(bad) + "\n" + log[-4000:])
    assert not failures, "\n\n".join(failures)
    subprocess.run(["rm", "-rf", str(work)])
