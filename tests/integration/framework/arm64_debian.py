"""A real Debian 12 system on the arm64 VMM (issue 67): in an arm64 L1 (tools/kvm-in-qemu/run.sh
--arch aarch64: qemu-system-aarch64, TCG, KVM at the emulated EL2), the cross-built vmm
($BUILD_DIR/arm64, framework/arm64_build.py) boots Debian's stock arm64 cloud kernel with the
initrd Debian's initramfs-tools made for it, on the root of the arm64 Debian image
(guest-images/debian-image.sh --arch arm64: debootstrap, systemd, udev, systemd-networkd, a
serial getty on ttyAMA0; built from Debian's archive and cached), each boot on its own qcow2
overlay of the image (made here, the cached image its read-only backing file). Two boots, every
device on virtio-mmio, then on virtio-pci (--enable-pci), 2 vCPUs, 512 MiB, the disk and a
libslirp NIC (--net user). The image's unit vmm-debian-check prints "VMM-DEBIAN-..." lines on
the console once systemd says the boot is done, then powers off (vmmdebian.poweroff on the
command line). Each boot must:
  - reach multi-user.target with systemd's state "running" and `systemctl --failed` empty,
    on the image's kernel;
  - bring both vCPUs online, mount the image's root (/dev/vda1, ext4, read-write), bind
    virtio-blk and virtio-net over the transport asked for, and get slirp's 10.0.2.15 and its
    default route by DHCP (networkd);
  - have the serial getty waiting for a name on ttyAMA0;
  - power off through systemd (PSCI SYSTEM_OFF: "reboot: Power down") and end the VMM with
    exit status 0.
prepare(), l1_lines() and check_all() are a part (framework/arm64_l1.py) of the one arm64 L1 boot
of integration/arm64_linux, whose header says when it skips. The image's first build took 18-26
minutes (every arm64 program of the second stage and apt emulated by qemu-user; cached
afterwards, and tools/test.sh builds it before CTest); in L1 the mmio boot took 78-96 s and the
pci boot 105-124 s from the VMM's start to its exit on the 2-core host (2026-12-02; systemd-analyze:
13-23 s kernel + 26-39 s userspace over mmio, 19-22 s + 46-61 s over pci). `quiet` keeps the
kernel's and systemd's messages off the PL011 (an exit per byte under nested TCG).
"""
import re
import shlex
import subprocess

from framework import guest_env

MEM_MB = 512
MAC = "52:54:00:a6:40:12"
TRANSPORTS = ("mmio", "pci")
# Each boot's limit in L1 (the VMM is stopped then); L1's own limit covers both and L1's boot.
BOOT_TIMEOUT = 420
# e2scrub_reap (e2fsprogs: removes stale e2scrub snapshots of LVM volumes, there are none) held
# multi-user.target for minutes under TCG (integration/linux_debian): masked from the command line.
EXTRA_CMDLINE = "vmmdebian.poweroff systemd.mask=e2scrub_reap.service quiet"


def image_env():
    return guest_env.env_or_skip("debian-image.sh", "no Debian image",
                                 "guest-images/debian-image.sh --arch arm64 could not build the image",
                                 "--arch", "arm64")


def make_overlays(work, env):
    """WORK/debian-T.qcow2 for each transport: a new thin overlay of the cached image (the
    read-only template); the VMM may follow its backing file into the image's folder only."""
    for t in TRANSPORTS:
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", env["DEBIAN_IMAGE"], "-F", "raw",
                        str(work / f"debian-{t}.qcow2")], check=True)


def l1_lines(vmm, env, work):
    """What L1 runs (busybox sh lines) for these boots, one per transport, one after the other:
    each VMM's console in WORK/debian-T.log, then "DEBIAN_EXIT T STATUS SECONDS" on L1's
    console (SECONDS: the VMM's start to its exit, L1's clock). make_overlays(WORK) first."""
    q = shlex.quote
    disk = f"{q(str(work))}/debian-$t.qcow2,backing_files=on,backing_dirs={q(env['DEBIAN_DIR'])}"
    boot = (f"{q(str(vmm))} $pci --kernel {q(env['DEBIAN_KERNEL'])} --initrd {q(env['DEBIAN_INITRD'])} "
            f"--cpus 2 --mem {MEM_MB}M --disk {disk} "
            f"--net user,mac={MAC} --append {q(env['DEBIAN_CMDLINE'] + ' ' + EXTRA_CMDLINE)}")
    lines = []
    for t in TRANSPORTS:
        pci = "--enable-pci" if t == "pci" else ""
        lines += [f"t={t} pci={pci} s=$(date +%s)",
                  f"timeout {BOOT_TIMEOUT} {boot} > {q(str(work))}/debian-$t.log 2>&1",
                  'echo "DEBIAN_EXIT $t $? $(($(date +%s) - s))"']
    return lines


def exits(l1_out):
    """{transport: (status, seconds)} from L1's console."""
    return {t: (st, secs) for t, st, secs in
            re.findall(r"^DEBIAN_EXIT (\S+) (\d+) (\d+)\r?$", l1_out, re.M)}


def markers(text):
    """{KEY: [value, ...]} of the check's "VMM-DEBIAN-KEY: value" lines (a kernel message may
    stand before one on its console line)."""
    found = {}
    for key, value in re.findall(r"VMM-DEBIAN-([A-Z0-9-]+): ?(.*?)\r?$", text, re.M):
        found.setdefault(key, []).append(value.strip())
    return found


def check(work, env, transport, status):
    """The problems of the boot over TRANSPORT (empty: it passed), from its console in WORK and
    its exit STATUS (a string, from exits()); prints what it saw."""
    log = (work / f"debian-{transport}.log").read_text(errors="replace")
    m = markers(log)
    bad = []

    def one(key):
        return m.get(key, ["-"])[0]

    def expect(ok, what, key):
        print(f"{transport}: {'ok' if ok else 'FAIL'}: {what} (VMM-DEBIAN-{key}: {one(key)})")
        if not ok:
            bad.append(f"{transport}: {what}: VMM-DEBIAN-{key} is '{one(key)}'")

    expect(one("STATE") == "running", "systemd's state is running", "STATE")
    expect(one("TARGET") == "multi-user.target active", "multi-user.target reached", "TARGET")
    expect(one("FAILED") == "none", "no failed unit", "FAILED")
    expect(one("KERNEL") == env["DEBIAN_KERNEL_RELEASE"], "the image's kernel", "KERNEL")
    expect(one("CPUS") == "2 online=0-1", "both vCPUs online", "CPUS")
    expect(re.match(r"^/dev/vda1 ext4 rw,", one("ROOT")), "the root is the image's /dev/vda1, read-write",
           "ROOT")
    for drv in ("virtio_blk", "virtio_net"):
        hit = [v for v in m.get("VIRTIO", []) if re.fullmatch(rf"virtio[0-9]+ {drv} {transport}", v)]
        print(f"{transport}: {'ok' if hit else 'FAIL'}: {drv} over {transport} ({m.get('VIRTIO', [])})")
        if not hit:
            bad.append(f"{transport}: no {drv} device over {transport}: VMM-DEBIAN-VIRTIO {m.get('VIRTIO', [])}")
    expect(re.search(r"(^| )\S+ 10\.0\.2\.15/24( |$)", one("IPV4")), "slirp's 10.0.2.15 by DHCP", "IPV4")
    expect(re.match(r"^default via 10\.0\.2\.2 ", one("ROUTE")), "the default route by DHCP", "ROUTE")
    expect(one("GETTY").startswith("waiting for a name on ttyAMA0"), "the serial getty on ttyAMA0", "GETTY")
    expect(one("END") == "poweroff", "the check asked systemd to power off", "END")
    down = re.search(r"reboot: Power down", log)
    print(f"{transport}: {'ok' if down else 'FAIL'}: the kernel powered down")
    if not down:
        bad.append(f"{transport}: no 'reboot: Power down' from the kernel")
    print(f"{transport}: {'ok' if status == '0' else 'FAIL'}: the VMM's exit status {status}")
    if status != "0":
        bad.append(f"{transport}: the VMM exited {status} (0 after the guest's power-off; 124: "
                   f"stopped after {BOOT_TIMEOUT} s)")
    print(f"{transport}: systemd-analyze: {one('ANALYZE')}; the check done at {one('DONE')}")
    for blame in m.get("BLAME", [])[:5]:
        print(f"{transport}: blame: {blame}")
    if bad:
        bad.append(f"---- {transport}: the console's last 60 lines\n" + "\n".join(log.splitlines()[-60:]))
    return bad


def prepare(work, env):
    make_overlays(work, env)


def check_all(console, work, env):
    """Every boot's problems (empty: both passed), from L1's CONSOLE and the logs in WORK."""
    status = exits(console)
    failures = []
    for t in TRANSPORTS:
        if t not in status:
            failures.append(f"{t}: L1 did not run the boot")
            continue
        print(f"{t}: {status[t][1]} s from the VMM's start to its exit")
        failures += check(work, env, t, status[t][0])
    return failures
