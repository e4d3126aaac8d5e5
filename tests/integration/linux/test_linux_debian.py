# A real Debian 12 system on our VMM: Debian's stock cloud kernel (linux-image-cloud-amd64) with
# the initrd Debian's initramfs-tools made for it, booted directly (no firmware) on the root
# partition of Debian's cloud-style GPT image (guest-images/debian-image.sh: debootstrap,
# systemd, udev, systemd-networkd, a serial getty; built from Debian's archive and cached), each
# boot on its own qcow2 overlay of the image. Two boots on our VMM, over virtio-pci and over
# virtio-mmio (found through the DSDT: Debian's kernel ignores virtio_mmio.device=), 2 vCPUs,
# 512 MiB, the disk and a libslirp NIC (--net user); and the same kernel, initrd, image and
# command line on QEMU (q35, virtio-blk-pci, virtio-net-pci on user networking) as the peer
# (printed as "peer ok" / "peer FAIL", not counted). The image's unit vmm-debian-check prints
# "VMM-DEBIAN-..." lines on the serial console once systemd says the boot is done, then powers
# off (vmmdebian.poweroff on the command line). Each boot must:
#   - reach multi-user.target with systemd's state "running" and `systemctl --failed` empty;
#   - bring both vCPUs online, mount the image's root (/dev/vda3), bind virtio-blk and
#     virtio-net over the transport asked for, and get slirp's 10.0.2.15 by DHCP (networkd);
#   - show a login prompt on ttyS0 (the getty), print `systemd-analyze`'s line;
#   - power off through systemd and end the VMM with exit status 0.
# The pci boot (unless DEBIAN_HOTPLUG=0) also has an API socket and vmmdebian.hotplug= on its
# command line: once booted, the check prints "VMM-DEBIAN-HOTPLUG: ready" and waits; the host
# (here or in L1, watching the console) hot-adds through vmmctl (PUT /vmm/vm.add-*) a disk
# (16 MiB of ext4 labelled vmmhp, serial vmm-debian-hp0), a NIC on a tap with a fixed MAC
# (when a tap can be made), a vsock, a 2 MiB pmem device, a shared folder (add-fs vmmhpfs on
# virtiofsd's socket, when /usr/lib/qemu/virtiofsd is installed; the VM's RAM --mem-shared) and
# a third vCPU (--cpus boot=2,max=3, `vmmctl resize --vcpus 3`), and once the guest has seen
# them removes them all (PUT /vmm/vm.remove-device) and resizes back to 2 vCPUs. Debian's
# udev, the image's own, must:
#   - make /dev/disk/by-id/virtio-vmm-debian-hp0 and /dev/disk/by-label/vmmhp for the disk,
#     `udevadm info` showing ID_SERIAL, ID_PATH=pci-..., ID_FS_TYPE=ext4, ID_FS_LABEL; the
#     guest mounts it by its label and reads the marker the host wrote;
#   - rename the NIC with that MAC to its predictable name (en*: one of its ID_NET_NAME_*),
#     driver virtio_net, which networkd then takes (20-dhcp.network);
#   - load the vsock driver (vmw_vsock_virtio_transport) and the pmem ones (virtio_pmem,
#     nd_pmem: modules of the cloud kernel) from the devices' modaliases: the vsock bound,
#     /dev/pmem0 reads the file's marker;
#   - load virtiofs (a module) for the virtio-fs device, which binds it; the guest mounts the
#     tag, reads the host's mark and writes a file the host reads back afterwards, unmounts;
#   - see cpu2 arrive (ACPI CPU hotplug); whether Debian onlines it by itself is reported (the
#     guest onlines it otherwise), then /proc/cpuinfo lists 3; at the resize back the guest
#     offlines and ejects it and cpu2 goes;
#   - after the removes: the links, the NIC, the share's device and cpu2 gone, and `udevadm
#     monitor` (block, net, virtio, cpu) have seen the adds and the removes of the disk, the
#     NIC, pmem0, the virtio-fs device (and its bind) and cpu2.
# The hotplug's times as the guest saw them are printed (from its "ready" to each device).
# A table of times (the VMM's wall time, systemd-analyze, the check's uptime) ends the output.
#
# Where it runs: as linux_stock. On kvm_pvm Debian's kernel cannot run (guest kernel code is
# emulated there: cmpxchg16b, then its INT3 self-test fail), so the boot runs in the run's L1
# (framework/l1.py), and the checks here: there only the pci boot with its hotplug (the mmio
# boot with DEBIAN_TRANSPORTS=pci,mmio: L1's time is all of the host's CPUs, and linux_stock
# boots Debian's kernel over mmio there), without the QEMU peer unless DEBIAN_PEER=1 (it doubles
# the test's time in L1). DEBIAN_DIRECT=1 forces the direct boots.
# The first run builds the image (root, debootstrap: about 5 minutes, then cached).
# labels: slow linux
# requires: kvm root
# timeout: 1200
# resource: linux:2
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # framework/, when run in L1

import pytest  # noqa: E402

from framework import guest_env, host, kvm_trace, l1, paths  # noqa: E402
from framework.proc import WaitTimeout, read_text, wait_until  # noqa: E402
from framework.vm import Vms  # noqa: E402

# The boots' time in all (BOOT_TIMEOUT s): each boot, its hotplug and a boot again after a triple
# fault (boot_vmm_again_after_l1) wait until that deadline, not for a share of it; a hang is
# caught by the console's stall (DEBIAN_STALL) before. Directly on a KVM the three boots side by
# side take a minute or two. In L1: alone, with e2scrub_reap masked (below), the pci boot with
# its hotplug ~225 s (2026-11-28); in CI's run of 2026-11-29, beside the other tests, the same
# boot took 483 s to print its check (systemd-analyze: 3 min 18 s kernel + 3 min 13 s userspace)
# and was stopped at the old per-boot 480 s before its power-off.
BOOT_TIMEOUT = int(os.environ.get("BOOT_TIMEOUT", "960"))
VIRTIOFSD = os.environ.get("VIRTIOFSD", "/usr/lib/qemu/virtiofsd")
# The pci boot's hotplug (the image's vmm-debian-check, hotplug()): the disk's serial (udev's
# /dev/disk/by-id/virtio-SERIAL), the NIC's MAC, the markers the guest reads back.
HP_SERIAL = "vmm-debian-hp0"
HP_MAC = "52:54:00:de:b1:01"
HP_DISK_MARK = "vmm-debian-hotplug-disk-marker"
HP_PMEM_MARK = "vmm-debian-hotplug-pmem-marker"
HP_FS_TAG = "vmmhpfs"
HP_FS_MARK = "vmm-debian-hotplug-fs-marker"


def transports(in_l1):
    """The transports booted on our VMM: DEBIAN_TRANSPORTS (pci, mmio or both, comma-separated);
    by default both directly, in L1 pci only."""
    asked = os.environ.get("DEBIAN_TRANSPORTS") or ("pci" if in_l1 else "pci,mmio")
    chosen = [t for t in ("pci", "mmio") if t in asked.split(",")]
    assert chosen, f"DEBIAN_TRANSPORTS={asked}: pci, mmio or both"
    return chosen


def image_env():
    return guest_env.env_or_skip("debian-image.sh", "no Debian image",
                                 "guest-images/debian-image.sh could not build the image")


def fresh_overlay(out, name, env):
    """OUT/NAME.qcow2: a new thin overlay of the cached image (the read-only template)."""
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", env["DEBIAN_IMAGE"], "-F", "raw",
                    str(out / f"{name}.qcow2")], check=True)


def fresh_overlays(out, env):
    """One thin overlay per boot: the cached image stays the read-only template. The disk the pci
    boot hot-adds: 16 MiB of ext4 labelled vmmhp, its /marker holding HP_DISK_MARK."""
    for name in ("qemu", "vmm-pci", "vmm-mmio"):
        fresh_overlay(out, name, env)
    root = out / "hp-root"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    (root / "marker").write_text(HP_DISK_MARK + "\n")
    (out / "hp-disk.img").unlink(missing_ok=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "vmmhp", "-d", str(root), str(out / "hp-disk.img"),
                    "16M"], check=True)


# ---- the boots (here, or in L1 with their files in a folder shared with it) ----

def hp_ctl(vm, out, name, what, *args):
    """vmmctl ARGS on NAME's API socket; its output, then "ms N" and "status N", in
    OUT/NAME.hp-WHAT."""
    t0 = time.monotonic()
    run = subprocess.run([str(paths.VMMCTL), "--sock", str(vm.sock), *map(str, args)],
                         capture_output=True, text=True)
    (out / f"{name}.hp-{what}").write_text(
        run.stdout + run.stderr + f"ms {(time.monotonic() - t0) * 1000:.0f}\nstatus {run.returncode}\n")


def hotplug_drive(vm, out, name, work, tap, kinds, deadline):
    """Once the guest is ready, adds a disk, a NIC on TAP (when there is one), a vsock and a pmem
    device, a shared folder (when virtiofsd runs) and a third vCPU; once the guest has seen
    them, removes them all and gives the vCPU back."""
    try:
        vm.wait_out(r"VMM-DEBIAN-HOTPLUG: ready$", left(deadline))
    except WaitTimeout:
        return
    hp_ctl(vm, out, name, "add-disk", "add-disk", out / "hp-disk.img", "--serial", HP_SERIAL, "--id", "hpdisk0")
    if tap:
        hp_ctl(vm, out, name, "add-net", "add-net", tap, "--mac", HP_MAC, "--id", "hpnet0")
    hp_ctl(vm, out, name, "add-vsock", "add-vsock", "7", work / "vsock.sock", "--id", "hpvsock0")
    hp_ctl(vm, out, name, "add-pmem", "add-pmem", work / "pmem.img", "--id", "hppmem0")
    if "fs" in kinds:
        hp_ctl(vm, out, name, "add-fs", "add-fs", HP_FS_TAG, work / "fs.sock", "--id", "hpfs0")
    hp_ctl(vm, out, name, "resize-up", "resize", "--vcpus", "3")
    try:
        vm.wait_out(r"VMM-DEBIAN-HOTPLUG: ready to remove$", left(deadline))
    except WaitTimeout:
        return
    # TCG in L1 is slow: a minute for the guest's release, not the default 10 s (vmmctl's own
    # deadline for the answer past it)
    for dev in ["hpdisk0"] + (["hpnet0"] if tap else []) + ["hpvsock0", "hppmem0"] \
            + (["hpfs0"] if "fs" in kinds else []):
        hp_ctl(vm, out, name, f"remove-{dev}", "--timeout", "120", "remove-device", dev,
               "--timeout-ms", "60000")
    hp_ctl(vm, out, name, "resize-down", "--timeout", "120", "resize", "--vcpus", "2",
           "--timeout-ms", "60000")


def left(deadline):
    """The seconds until DEADLINE (time.monotonic()), at least 1."""
    return max(1, deadline - time.monotonic())


def boot_vmm(vms, out, work, name, transport, env, cmdline, in_l1, deadline):
    """One boot on our VMM; its console in OUT/NAME.log, stderr NAME.err, exit status
    NAME.status, seconds NAME.secs. The pci boot, unless DEBIAN_HOTPLUG=0, has an API socket,
    room for a third vCPU, its RAM in a memfd virtiofsd can map (--mem-shared) and the hotplug.
    The hotplug's files (sockets, the pmem file) in WORK, this machine's own /tmp (in L1 OUT is
    L1's 9p share, where a Unix socket or a shared mapping may not work)."""
    start = time.monotonic()
    append, extra, cpus, tap, kinds = cmdline, [], "2", None, ""
    hotplug = transport == "pci" and os.environ.get("DEBIAN_HOTPLUG", "1") == "1"
    if hotplug:
        (work / "pmem.img").write_text(HP_PMEM_MARK + "\n")
        os.truncate(work / "pmem.img", 2 << 20)
        kinds = "disk,net,vsock,pmem"
        tap = f"vmmdeb{os.getpid() % 100000}"
        if subprocess.run(["ip", "tuntap", "add", tap, "mode", "tap", "user", str(os.getuid())],
                          capture_output=True).returncode == 0:
            subprocess.run(["ip", "link", "set", tap, "up"], check=True)
        else:
            tap, kinds = None, "disk,vsock,pmem"
        if os.access(VIRTIOFSD, os.X_OK):
            (work / "share").mkdir()
            (work / "share" / "mark").write_text(HP_FS_MARK + "\n")
            fsd = vms.process([VIRTIOFSD, f"--socket-path={work / 'fs.sock'}", "-o",
                               f"source={work / 'share'}", "-o", "cache=none"], name=f"{name}-virtiofsd")
            kinds += ",fs"
            # its socket, before the VMM's add-fs connects to it
            wait_until(lambda: (work / "fs.sock").exists(), 10, "virtiofsd's socket", alive=fsd.alive)
        kinds += ",cpu"
        (out / f"{name}.hp-kinds").write_text(kinds + "\n")
        append += (f" vmmdebian.hotplug={kinds} vmmdebian.hpserial={HP_SERIAL} vmmdebian.hpmac={HP_MAC}"
                   f" vmmdebian.hpfstag={HP_FS_TAG}")
        extra = ["--landlock-rules", f"{out}:rw,{work}:rw", "--mem-shared"]
        cpus = "boot=2,max=3"
    image = env["DEBIAN_IMAGE"]
    vm = vms.start(["--kernel", env["DEBIAN_KERNEL"], "--initrd", env["DEBIAN_INITRD"], "--cpus", cpus,
                    "--mem", "512M", "--transport", transport,
                    "--disk", f"{out / f'{name}.qcow2'},backing_files=on,backing_dirs={Path(image).parent}",
                    "--net", "user", *extra, "--append", append], name=name, api=hotplug)
    driver = None
    if hotplug:
        driver = threading.Thread(target=hotplug_drive, args=(vm, out, name, work, tap, kinds, deadline),
                                  daemon=True)
        driver.start()
    # In L1 a console silent for DEBIAN_STALL s (default 150: a whole boot there takes 230-340 s
    # beside another) is a stall: the boot is stopped and reported (booted again only when a
    # vCPU was caught in a loop inside L1's KVM: broken_by_l1).
    stall = int(os.environ.get("DEBIAN_STALL", "150")) if in_l1 else 0
    status, note = l1.wait_end_or_stall(vm, left(deadline), stall)
    (out / f"{name}.status").write_text(f"{124 if status is None else status}\n")
    (out / f"{name}.secs").write_text(f"{time.monotonic() - start:.0f}\n")
    if note:
        (out / f"{name}.stall").write_text(note + "\n")
    if driver is not None:
        driver.join(30)
    if tap:
        subprocess.run(["ip", "link", "del", tap], capture_output=True)
    if "fs" in kinds and (work / "share" / "from-guest").exists():
        shutil.copy(work / "share" / "from-guest", out / f"{name}.hp-fs-from-guest")
    shutil.copy(vm.out_path, out / f"{name}.log")
    shutil.copy(vm.err_path, out / f"{name}.err")
    print(f"{name}: status {read_text(out / f'{name}.status').strip()}, "
          f"{read_text(out / f'{name}.secs').strip()} s", flush=True)


def broken_by_l1(out, name, suffix=""):
    """What L1 broke NAME's boot (NAME{SUFFIX}.* in OUT) with, or "": a triple fault in the
    reset state (l1.reset_state_triple_fault: QEMU's guests end so there too), or a stall whose
    note names a vCPU caught in a loop inside L1's KVM (framework/kvm_trace.py)."""
    status = read_text(out / f"{name}{suffix}.status").strip()
    if status.isdigit() and l1.reset_state_triple_fault(int(status),
                                                         read_text(out / f"{name}{suffix}.err")):
        return "a triple fault in the reset state"
    if kvm_trace.SIGN in read_text(out / f"{name}{suffix}.stall"):
        return f"a stall, a vCPU caught in an {kvm_trace.SIGN}"
    return ""


def boot_vmm_again_after_l1(vms, out, work, name, transport, env, cmdline, in_l1, deadline):
    """boot_vmm(), and in L1 once more when L1 broke the boot (broken_by_l1); the first try's
    console, stderr, status and stall note are kept as NAME-first.*."""
    (work / "1").mkdir()
    boot_vmm(vms, out, work / "1", name, transport, env, cmdline, in_l1, deadline)
    why = broken_by_l1(out, name) if in_l1 else ""
    if not why:
        return
    for suffix in ("log", "err", "status", "secs", "stall"):
        if (out / f"{name}.{suffix}").exists():
            os.replace(out / f"{name}.{suffix}", out / f"{name}-first.{suffix}")
    fresh_overlay(out, name, env)
    print(f"note: {name}: {why} in L1 "
          f"({read_text(out / f'{name}-first.secs').strip()} s): booted again", flush=True)
    (work / "2").mkdir()
    boot_vmm(vms, out, work / "2", name, transport, env, cmdline, in_l1, deadline)


def boot_qemu(vms, out, env, cmdline, deadline):
    start = time.monotonic()
    qemu = vms.qemu(["-M", "q35", "-smp", "2", "-m", "512M", "-no-reboot", "-serial", "stdio",
                     "-kernel", env["DEBIAN_KERNEL"], "-initrd", env["DEBIAN_INITRD"], "-append", cmdline,
                     "-drive", f"id=d0,if=none,format=qcow2,file={out / 'qemu.qcow2'}",
                     "-device", "virtio-blk-pci,drive=d0",
                     "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"], name="qemu")
    try:
        status = qemu.wait(left(deadline))
    except WaitTimeout:
        qemu.stop()
        status = 124
    (out / "qemu.status").write_text(f"{status}\n")
    (out / "qemu.secs").write_text(f"{time.monotonic() - start:.0f}\n")
    shutil.copy(qemu.out_path, out / "qemu.log")
    shutil.copy(qemu.err_path, out / "qemu.err")
    print(f"qemu: status {status}, {read_text(out / 'qemu.secs').strip()} s", flush=True)


def boots(out, in_l1, peer):
    out = Path(out)
    env = image_env()
    # e2scrub_reap (Debian's e2fsprogs: removes stale e2scrub snapshots of LVM volumes; the
    # image has none) runs at the idle CPU class and held multi-user.target, so the check, back
    # 5-6 minutes of each boot in L1 (CI, 2026-11-28: 5 min 20 s of a 6 min 17 s userspace, and
    # the pci boot missed its 720 s). Masked for these boots from the command line (systemd's
    # systemd.mask=), the image unchanged.
    cmdline = env["DEBIAN_CMDLINE"] + " vmmdebian.poweroff systemd.mask=e2scrub_reap.service"
    # In L1 the guests' CPU is TCG's EPYC without AVX: XSAVE there makes the kernel warn and
    # sometimes fault (linux_stock); noxsave avoids it.
    if in_l1:
        cmdline += " noxsave"
    start = time.monotonic()
    deadline = start + BOOT_TIMEOUT
    with tempfile.TemporaryDirectory(prefix="debian.") as work:
        work = Path(work)
        vms = Vms(work)
        mirror = l1.mirrored(vms, out).start()
        try:
            # All three side by side, QEMU (the slowest) first; in L1 they share its two vCPUs.
            # There the peer is off unless DEBIAN_PEER=1: it took 473 s of the test's 510 (ours
            # 294 and 261 s, side by side, 2026-11-26), while directly on a KVM it costs a minute.
            jobs = []
            if peer and host.has(paths.QEMU):
                jobs.append(lambda: boot_qemu(vms, out, env, cmdline, deadline))
            for transport in transports(in_l1):
                (work / transport).mkdir()
                jobs.append(lambda t=transport: boot_vmm_again_after_l1(
                    vms, out, work / t, f"vmm-{t}", t, env, cmdline, in_l1, deadline))
            if in_l1:
                # One after the other in L1, as linux_stock does (side by side, four L2 vCPUs on
                # L1's two, its boots triple-faulted or stalled now and then, alone they did
                # not). On 2026-11-28 this host's L1 died under these boots either way (4 of 5
                # L1 boots side by side, 3 of 4 one after the other): issue 66.
                for job in jobs:
                    job()
            else:
                threads = [threading.Thread(target=job) for job in jobs]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            how = "one after the other" if in_l1 else "side by side"
            print(f"the boots {how}: {time.monotonic() - start:.0f} s", flush=True)
        finally:
            vms.stop_all()
            mirror.stop()


# ---- the checks ----

@pytest.fixture(scope="module")
def out():
    host.require("qemu-img")
    env = image_env()
    print(f"kernel: {env['DEBIAN_KERNEL_PACKAGE']} ({env['DEBIAN_KERNEL_RELEASE']}), {env['DEBIAN_KERNEL']}")
    print(f"image:  {env['DEBIAN_IMAGE']}")
    with l1.boots_folder(
            "linux_debian", __file__,
            lambda f: boots(f, False, l1.peer_wanted("DEBIAN_PEER", False)),
            args=(str(int(l1.peer_wanted("DEBIAN_PEER", True))),), tmp_dir=paths.BUILD_DIR,
            force_direct=os.environ.get("DEBIAN_DIRECT") == "1",
            prepare=lambda f: fresh_overlays(f, env),
            env={"BOOT_TIMEOUT": BOOT_TIMEOUT, "VIRTIOFSD": VIRTIOFSD,
                 "DEBIAN_HOTPLUG": os.environ.get("DEBIAN_HOTPLUG", "1"),
                 "DEBIAN_TRANSPORTS": os.environ.get("DEBIAN_TRANSPORTS", ""),
                 "DEBIAN_STALL": os.environ.get("DEBIAN_STALL", "150")},
            timeout=BOOT_TIMEOUT + 120,
            where=f"{l1.WHY}, so the boots run in the run's L1 (framework/l1.py), where kvm_amd "
            "runs guest kernel and user code; the checks here") as folder:
        for name in ("vmm-pci", "vmm-mmio"):  # every test skips then: the run was never judged
            skip_when_l1_broke_both(folder, name)
        yield folder


def user_text(out, name):
    """NAME's console with the kernel's messages that broke into a line taken out (a printk
    comes out between two bytes of a user-space write)."""
    return re.sub(r"(?<=[^\n])\[ *\d+\.\d+\] [^\n]*\n", "", read_text(out / f"{name}.log"))


def marker_of(out, name, key):
    """What the image's check printed after VMM-DEBIAN-KEY: (first match), "-" when absent;
    anywhere in a line: the getty's prompt ends without a newline, kernel lines may come first."""
    m = re.search(rf"^.*?VMM-DEBIAN-{key}: (.*)$", user_text(out, name), re.M)
    return m.group(1).rstrip() if m else "-"


class Report:
    def __init__(self, peer):
        self.peer, self.bad = peer, []

    def ok(self, text):
        print(f"{'peer ok' if self.peer else 'ok'}: {text}")

    def fail(self, text):
        print(f"peer FAIL (not counted): {text}" if self.peer else f"FAIL: {text}")
        self.bad.append(text)

    def expect(self, cond, good, bad):
        self.ok(good) if cond else self.fail(bad)


def check_boot(out, name, transport, env, r):
    if (out / f"{name}-first.status").exists():
        print(f"note: {name}: its first boot in L1 ended in a triple fault in the reset state after "
              f"{read_text(out / f'{name}-first.secs').strip()} s (L1's, framework/l1.py); these "
              "checks are of the second")
    text = read_text(out / f"{name}.log")
    status = read_text(out / f"{name}.status").strip()
    if status == "0":
        r.ok(f"{name}: exit status 0 after systemd's poweroff ({read_text(out / f'{name}.secs').strip()} s)")
    elif status in ("124", "137"):
        r.fail(f"{name}: no end within the boots' {BOOT_TIMEOUT} s (a hang: status {status})")
    else:
        r.fail(f"{name}: exit status {status}, want 0")
    err = read_text(out / f"{name}.err")
    if "KVM internal error" in err:
        r.fail(f"{name}: KVM could not run the guest: " + re.search(r".*KVM internal error.*", err).group(0))

    def log(what, regex):
        r.expect(re.search(regex, text, re.M), f"{name}: {what}", f"{name}: {what} (no /{regex}/)")

    def marker(key, regex, what):
        got = marker_of(out, name, key)
        r.expect(re.search(regex, got), f"{name}: {what} ({got})", f"{name}: {what}: VMM-DEBIAN-{key} is '{got}'")
    log("the initrd's init mounted the root and ran systemd", r"systemd\[1\]: systemd 252")
    marker("STATE", r"^running$", "systemd's state after the boot")
    marker("TARGET", r"^multi-user.target active$", "multi-user.target reached")
    marker("FAILED", r"^none$", "systemctl --failed is empty")
    marker("KERNEL", rf"^{re.escape(env['DEBIAN_KERNEL_RELEASE'])}$", "Debian's kernel")
    marker("CPUS", r"^2 online=0-1$", "both vCPUs online")
    marker("ROOT", r"^/dev/vda3 ext4 rw", "the image's root partition, read-write")
    log(f"virtio-blk over {transport}", rf"VMM-DEBIAN-VIRTIO: virtio[0-9]+ virtio_blk {transport}$")
    log(f"virtio-net over {transport}", rf"VMM-DEBIAN-VIRTIO: virtio[0-9]+ virtio_net {transport}$")
    marker("IPV4", r" 10\.0\.2\.15/24", "the NIC's address from slirp's DHCP")
    marker("ROUTE", r"^default via 10\.0\.2\.2 ", "the default route from DHCP")
    # A readout for the table below, not a check: its one console line was once garbled by the
    # console's other writers under load (the suite's run, 2026-11-26).
    if marker_of(out, name, "ANALYZE") == "-":
        print(f"note: {name}: no VMM-DEBIAN-ANALYZE line on the console (systemd-analyze's readout)")
    else:
        marker("ANALYZE", r"^Startup finished in ", "systemd-analyze")
    # The host name is the image's "debian", or what DHCP named it (our libslirp says "vmm").
    # agetty writes the host name and " login: " apart, and the console's other writers (the
    # check's lines, the kernel's) can land between them under load. The check waits (up to 60
    # s) for agetty to wait for a name before it powers off (its GETTY line): under TCG the getty
    # could still be starting when the boot's jobs were done.
    print(f"note: {name}: {marker_of(out, name, 'GETTY')}")
    prompt = re.search(r"[a-z0-9-]+ login:", text)
    apart = re.search(r"^.*(?:^| )login: ?$", text, re.M)
    # The check's lines can land inside the prompt too ("debianVMM-DEBIAN-CPUS: ..." then
    # " login: VMM-DEBIAN-ROOT: ...", L1, 2026-11-28; "debian VMM-DEBIAN-KERNEL: ..." then
    # "login: VMM-DEBIAN-CPUS: ...", the suite's run, 2026-11-30): agetty's banner and its
    # "login: " at a line's start.
    banner = re.search(r"^Debian GNU/Linux \S+ \S+ ttyS0\s*$", text, re.M)
    inside = re.search(r"^ ?login: (?=VMM-DEBIAN-)", text, re.M)
    if prompt:
        r.ok(f"{name}: a login prompt on ttyS0, the serial getty's ('{prompt.group(0)}')")
    elif apart:
        r.ok(f"{name}: a login prompt on ttyS0, the serial getty's, its host name apart: {apart.group(0)}")
    elif banner and inside:
        r.ok(f"{name}: a login prompt on ttyS0 after the getty's banner ('{banner.group(0).strip()}'),"
             " the check's lines between its host name and ' login:'")
    else:
        r.fail(f"{name}: no login prompt ('HOST login:') on ttyS0; the lines with 'login': "
               f"{[x for x in text.splitlines() if 'login' in x.lower()][:3]}")
    marker("END", r"^poweroff$", "the check asked systemd to power off")
    log("the kernel powered down", r"reboot: Power down")
    if name != "qemu":
        log("the kernel read our ACPI tables", r"ACPI: XSDT 0x[0-9A-F]+ .* \(v01 VMM")
    complaints = re.findall(r"^.*ACPI(?: BIOS)? (?:Error|Warning).*$", text, re.M)[:3]
    r.expect(not complaints, f"{name}: no ACPI error or warning in the kernel's log",
             f"{name}: the kernel's ACPI complained: {complaints}")


def check_ctl(out, name, what, status, regex, desc, r):
    text = read_text(out / f"{name}.hp-{what}")
    st = re.search(r"^status (\d+)$", text, re.M)
    ms = re.search(r"^ms (\d+)$", text, re.M)
    good = st and st.group(1) == str(status) and re.search(regex, text)
    body = "".join(x for x in text.splitlines() if not re.match(r"^(ms|status) ", x)).replace(" ", "")
    r.expect(good, f"{name}: {desc}: {body} ({ms.group(1) if ms else '?'} ms)",
             f"{name}: {desc}: {text.replace(chr(10), ' ') or 'not sent'}")


def check_hotplug(out, name, r):
    kinds = read_text(out / f"{name}.hp-kinds").strip()
    if not kinds:
        print(f"not run: {name}: the hotplug (DEBIAN_HOTPLUG=0)")
        return
    user = user_text(out, name)
    events = re.findall(r"^.*VMM-DEBIAN-HOTPLUG-UDEV: (.*)$", user, re.M)

    def marker(key, regex, what):
        got = marker_of(out, name, key)
        r.expect(re.search(regex, got), f"{name}: {what} ({got})", f"{name}: {what}: VMM-DEBIAN-{key} is '{got}'")

    def udev_event(regex, what):
        hit = [e for e in events if re.search(regex, e)]
        r.expect(hit, f"{name}: udev's event for {what} ({hit[0] if hit else ''})",
                 f"{name}: no udev event for {what} (no HOTPLUG-UDEV line /{regex}/)")

    def ctl(what, status, regex, desc):
        check_ctl(out, name, what, status, regex, desc, r)
    marker("HOTPLUG", r"^ready$", f"the check waited for the hotplug (vmmdebian.hotplug={kinds})")
    ctl("add-disk", 0, r'"bdf": *"0000:00:[0-9a-f]{2}\.0"', f"vmmctl add-disk --serial {HP_SERIAL}")
    marker("HOTPLUG-DISK", rf"^/dev/disk/by-id/virtio-{HP_SERIAL} -> /dev/vd[b-z] after [0-9.]+s sectors=32768$",
           f"udev's /dev/disk/by-id/virtio-{HP_SERIAL} for the hot-added disk, 16 MiB")
    udev = marker_of(out, name, "HOTPLUG-DISK-UDEV")
    for want in (f"ID_SERIAL={HP_SERIAL}", r"ID_PATH=pci-0000:00:[0-9a-f]{2}\.0", "ID_FS_TYPE=ext4",
                 "ID_FS_LABEL=vmmhp"):
        r.expect(re.search(rf"(^| ){want}( |$)", udev), f"{name}: udevadm info on the disk: {want}",
                 f"{name}: udevadm info on the disk has no /{want}/: {udev}")
    marker("HOTPLUG-DISK-LABEL", r"^/dev/disk/by-label/vmmhp -> /dev/vd[b-z]$",
           "udev's by-label link (blkid read the ext4)")
    marker("HOTPLUG-DISK-READ", rf"^{HP_DISK_MARK}$", "the guest mounted it by its label and read the marker")
    ctl("remove-hpdisk0", 0, r"", "vmmctl remove-device hpdisk0 (the guest released it)")
    marker("HOTPLUG-DISK-REMOVED", r"^gone after ", "the disk and udev's links went")
    udev_event(r"^add block vd[b-z]$", "the disk's add")
    udev_event(r"^remove block vd[b-z]$", "the disk's remove")
    if "net" in kinds:
        ctl("add-net", 0, r'"id": *"hpnet0"', f"vmmctl add-net on a tap, --mac {HP_MAC}")
        marker("HOTPLUG-NET", rf"^en[a-z0-9]+ after [0-9.]+s mac={HP_MAC}$", "the hot-added NIC, renamed by udev")
        nic = marker_of(out, name, "HOTPLUG-NET").split(" ")[0]
        udev = marker_of(out, name, "HOTPLUG-NET-UDEV")
        r.expect(re.search(rf"ID_NET_NAME_[A-Z]+={re.escape(nic)}( |$)", udev) and "ID_NET_DRIVER=virtio_net" in udev,
                 f"{name}: {nic} is udev's predictable name (udevadm info: {udev})",
                 f"{name}: {nic} is none of udev's names, or no ID_NET_DRIVER=virtio_net: {udev}")
        # "failed" is networkd's too (it took the link, its setup failed): seen once in seven
        # boots in L1, cause unknown (the image prints networkctl's list only); said, not failed.
        marker("HOTPLUG-NET-NETWORKD", rf"^{re.escape(nic)} [a-z-]+ (configuring|configured|failed)$",
               "networkd took the link udev initialized (20-dhcp.network; no DHCP server on the tap)")
        if marker_of(out, name, "HOTPLUG-NET-NETWORKD").endswith(" failed"):
            print(f"note: {name}: networkd took {nic} but its setup failed (not the DHCP wait it usually is)")
        ctl("remove-hpnet0", 0, r"", "vmmctl remove-device hpnet0")
        marker("HOTPLUG-NET-REMOVED", rf"^gone after [0-9.]+s: {re.escape(nic)}$", f"{nic} went")
        udev_event(r"^add net ", "the NIC's add")
        udev_event(r"^remove net ", "the NIC's remove")
    else:
        print(f"not run: {name}: the NIC (no tap could be made where the VMM ran)")
    ctl("add-vsock", 0, r'"id": *"hpvsock0"', "vmmctl add-vsock")
    marker("HOTPLUG-VSOCK", r"^virtio[0-9]+ after [0-9.]+s driver=vmw_vsock_virtio_transport /dev/vsock$",
           "udev loaded the vsock driver (a module), which bound the device")
    ctl("remove-hpvsock0", 0, r"", "vmmctl remove-device hpvsock0")
    marker("HOTPLUG-VSOCK-REMOVED", r"^gone after ", "the vsock device went")
    ctl("add-pmem", 0, r'"id": *"hppmem0"', "vmmctl add-pmem (2 MiB)")
    marker("HOTPLUG-PMEM", rf"^pmem0 after [0-9.]+s first-line={HP_PMEM_MARK}$", "/dev/pmem0 with the file's marker")
    marker("HOTPLUG-PMEM-UDEV", r"modules=virtio_pmem nd_pmem$", "udev loaded virtio_pmem and nd_pmem (modules)")
    ctl("remove-hppmem0", 0, r"", "vmmctl remove-device hppmem0")
    marker("HOTPLUG-PMEM-REMOVED", r"^gone after ", "/dev/pmem0 went")
    udev_event(r"^add block pmem0$", "pmem0's add")
    udev_event(r"^remove block pmem0$", "pmem0's remove")
    if "fs" in kinds:
        ctl("add-fs", 0, r'"id": *"hpfs0"', f"vmmctl add-fs {HP_FS_TAG} (virtiofsd's socket, --mem-shared)")
        marker("HOTPLUG-FS", r"^virtio[0-9]+ after [0-9.]+s driver=virtiofs modules=virtiofs( fuse)?$",
               "udev loaded virtiofs (a module), which bound the virtio-fs device")
        lines = read_text(out / f"{name}.hp-fs-from-guest").splitlines()
        from_guest = lines[0] if lines else ""
        marker("HOTPLUG-FS-MOUNT", rf"^tag={HP_FS_TAG} mark={HP_FS_MARK} wrote=vmm-debian-from-guest-[0-9a-f-]+ unmounted$",
               "the guest mounted the share by its tag, read the host's mark, wrote a file, unmounted")
        r.expect(from_guest.startswith("vmm-debian-from-guest-")
                 and f"wrote={from_guest} " in marker_of(out, name, "HOTPLUG-FS-MOUNT"),
                 f"{name}: the host reads the file the guest wrote in the share: {from_guest}",
                 f"{name}: the guest's file in the share: '{from_guest}'")
        ctl("remove-hpfs0", 0, r"", "vmmctl remove-device hpfs0")
        marker("HOTPLUG-FS-REMOVED", r"^gone after ", "the virtio-fs device went")
        vdev = marker_of(out, name, "HOTPLUG-FS").split(" ")[0]
        udev_event(rf"^add virtio {re.escape(vdev)}$", "the virtio-fs device's add")
        udev_event(rf"^bind virtio {re.escape(vdev)}$", "the virtio-fs device's bind (virtiofs)")
        udev_event(rf"^remove virtio {re.escape(vdev)}$", "the virtio-fs device's remove")
    else:
        print(f"not run: {name}: the shared folder ({VIRTIOFSD} is not installed where the VMM ran)")
    ctl("resize-up", 0, r"", "vmmctl resize --vcpus 3 (--cpus boot=2,max=3)")
    marker("HOTPLUG-CPU", r"^cpu2 after [0-9.]+s online-by=(debian|hand) cpu2-online=1 cpuinfo=3 online=0-2 present=0-2$",
           "cpu2 arrived, online, /proc/cpuinfo lists 3")
    udev_event(r"^add cpu cpu2$", "cpu2's add")
    udev_event(r"^bind cpu cpu2$", "cpu2's bind (the ACPI processor driver)")
    udev_event(r"^online cpu cpu2$", "cpu2's online")
    cpu = marker_of(out, name, "HOTPLUG-CPU")
    if "online-by=debian" in cpu:
        print(f"note: {name}: Debian onlined cpu2 by itself")
    elif "online-by=hand" in cpu:
        print(f"note: {name}: Debian left cpu2 offline (no udev rule onlines a CPU); the check onlined it")
    ctl("resize-down", 0, r"", "vmmctl resize --vcpus 2 (the guest offlined and ejected cpu2)")
    marker("HOTPLUG-CPU-REMOVED", r"^gone after [0-9.]+s: cpu2 cpuinfo=2 online=0-1 present=0-1$", "cpu2 went")
    udev_event(r"^offline cpu cpu2$", "cpu2's offline (the kernel's, before the eject)")
    udev_event(r"^remove cpu cpu2$", "cpu2's remove")
    r.expect(re.search(r"VMM-DEBIAN-HOTPLUG: done$", read_text(out / f"{name}.log"), re.M),
             f"{name}: the hotplug's check ended", f"{name}: the hotplug's check ended (no 'VMM-DEBIAN-HOTPLUG: done')")


def details(out, name):
    return (f"\n---- {name}: console (last 40 lines)\n" + "\n".join(read_text(out / f"{name}.log").splitlines()[-40:])
            + f"\n---- {name}: stderr (last 10 lines)\n" + "\n".join(read_text(out / f"{name}.err").splitlines()[-10:])
            + ("\n" + read_text(out / f"{name}.stall") if (out / f"{name}.stall").exists() else ""))


@pytest.fixture(scope="module")
def env():
    return image_env()


def booted(out, transport):
    """Skips the test of a transport not asked for (DEBIAN_TRANSPORTS), saying so; a boot that
    was asked for and left no files fails in its checks."""
    if transport not in transports(l1.wanted(os.environ.get("DEBIAN_DIRECT") == "1")):
        pytest.skip(f"not run: the {transport} boot (DEBIAN_TRANSPORTS; in L1 pci only by default)")


def skip_when_l1_broke_both(out, name):
    """Skips, as L1's failure (framework/l1.py), when L1 broke NAME's boot and its one retry
    (broken_by_l1): L1 corrupts its guests' CPU state under load."""
    if not (out / f"{name}-first.status").exists():
        return
    why = broken_by_l1(out, name)
    if why:
        host.skip("L1 crashed", f"{name}: L1 broke both boots (after "
                  f"{read_text(out / f'{name}-first.secs').strip()} s: "
                  f"{broken_by_l1(out, name, '-first')}; after "
                  f"{read_text(out / f'{name}.secs').strip()} s: {why})")


def test_pci_boot(out, env):
    booted(out, "pci")
    r = Report(False)
    check_boot(out, "vmm-pci", "pci", env, r)
    assert not r.bad, "\n".join(r.bad) + details(out, "vmm-pci")


def test_pci_hotplug(out):
    booted(out, "pci")
    r = Report(False)
    check_hotplug(out, "vmm-pci", r)
    assert not r.bad, "\n".join(r.bad) + details(out, "vmm-pci")


def test_mmio_boot(out, env):
    booted(out, "mmio")
    r = Report(False)
    check_boot(out, "vmm-mmio", "mmio", env, r)
    assert not r.bad, "\n".join(r.bad) + details(out, "vmm-mmio")


def test_peer_and_times(out, env):
    """QEMU is the peer: its results are printed, not counted; then the times (not checked)."""
    names = [n for n in ("vmm-pci", "vmm-mmio") if (out / f"{n}.status").exists()]
    if (out / "qemu.status").exists():
        names.append("qemu")
        r = Report(True)
        check_boot(out, "qemu", "pci", env, r)
        if r.bad:
            print(details(out, "qemu"))
    else:
        print(f"not run: the boot on QEMU (in L1 only with DEBIAN_PEER=1; or {paths.QEMU} is not installed)")
    print("machine  | wall (VMM started to exit) | check done (uptime) | systemd-analyze")
    for name in names:
        print(f"{name:<8} | {read_text(out / f'{name}.secs').strip() + ' s':<26} | "
              f"{marker_of(out, name, 'DONE').split(' ')[0] + ' s':<19} | {marker_of(out, name, 'ANALYZE')}")
    for name in names:
        for blame in re.findall(r"^.*VMM-DEBIAN-BLAME: *(.*)$", read_text(out / f"{name}.log"), re.M)[:3]:
            print(f"note: {name}: blame: {blame}")
    # The hotplug, as the guest timed it: from its "ready" to each device's line (udev's link,
    # the renamed NIC, the bound driver), and from "ready to remove" to each gone.
    if (out / "vmm-pci.hp-kinds").exists() and read_text(out / "vmm-pci.hp-kinds").strip():
        for k in ("DISK", "NET", "VSOCK", "PMEM", "FS", "CPU"):
            add = re.search(r"after [0-9.]+s", marker_of(out, "vmm-pci", f"HOTPLUG-{k}"))
            rm = re.search(r"after [0-9.]+s", marker_of(out, "vmm-pci", f"HOTPLUG-{k}-REMOVED"))
            if add or rm:
                print(f"hotplug in vmm-pci: {k}: ready -> seen {add.group(0) if add else '?'}, "
                      f"ready to remove -> gone {rm.group(0) if rm else '?'}")


if __name__ == "__main__":  # in L1: the boots, their files in argv[1]
    print(f"in L1: {host.kvm_line()}", flush=True)
    boots(sys.argv[1], True, sys.argv[2] == "1")
