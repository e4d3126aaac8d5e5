# The default Linux guest (initramfs, shell on COM1) with two host folders shared over virtio-fs,
# each served by its own virtiofsd (vhost-user, virtio/fs): tag fsmmio on virtio-mmio and tag
# fspci on virtio-pci (MSI-X), in one boot (--transport chooses per device). A boot, not the
# shared snapshot: a VM with a vhost-user device cannot be snapshotted (docs/vhost-user.md).
# For each share:
#   1. the guest mounts it (mount -t virtiofs TAG /mnt/TAG) and reads a file the host made: the
#      same bytes (md5sum on both sides);
#   2. the guest writes a file; the host sees its bytes;
#   3. its virtiofsd is killed and restarted on the same socket while the guest runs: the device
#      reconnects by itself (docs/vhost-user.md); the new virtiofsd has no FUSE session, so the
#      guest mounts the share again, then reads a file made after the restart and writes another;
# then the guest powers off: the VMM exits 0. On top, for the PCI share: virtiofsd's calls reach
# the guest without the VMM, through each queue's MSI-X irqfd (docs/vhost-user.md, "How calls
# reach the guest"): the VMM's stderr (-v -v) says its request queue went "straight to the guest
# (irqfd)", and the count of calls it relayed stays small (only what arrives while a vector is
# masked or not yet set up).
# The same boot checks virtio-vsock over virtio-mmio (--vsock cid=5,uds=PATH; over virtio-pci
# linux_userspace_pci checks it): before its shell, the guest's /init runs /usr/bin/vsock-echo
# (guest-images/tools/vsock-echo.c, the vsock check), which connects to the host, CID 2 port
# 1234, mapped by the VMM to the Unix socket PATH_1234, where a host helper (linux_vsock_host.py)
# checks the 100000 pattern bytes the guest sends and answers with a line the guest prints.
# (218 s measured on 2026-11-28 on the 2-core kvm_pvm host; CI's bash run took 194 s.)
# labels: slow linux vhost_user vsock pci
# requires: kvm root
# timeout: 1200
# resource: linux:1
import hashlib
import os
import re

import pytest

from framework import host, linux, paths
from framework.proc import wait_until

VIRTIOFSD = os.environ.get("VIRTIOFSD", "/usr/lib/qemu/virtiofsd")
TAGS = ("fsmmio", "fspci")


def md5_file(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def start_virtiofsd(vms, tag):
    """A virtiofsd serving WORKDIR/TAG on WORKDIR/TAG.sock."""
    sock = vms.workdir / f"{tag}.sock"
    if sock.exists():
        sock.unlink()
    fsd = vms.process([VIRTIOFSD, f"--socket-path={sock}", "-o", f"source={vms.workdir / tag}",
                       "-o", "cache=none"], name=f"virtiofsd-{tag}")
    wait_until(sock.exists, 10, f"{tag}: virtiofsd's socket", alive=fsd.alive)
    return fsd


def guest_md5(shell, tag, name, key, host_file):
    # one program per step (docs/testing.md: pipelines on kvm_pvm)
    output = shell.check(f"md5sum /mnt/{tag}/{name} >/tmp/md5; read h x </tmp/md5; echo {key}=$h")
    assert re.search(rf"^{key}={md5_file(host_file)}$", output, re.M), \
        f"{tag}: the guest does not read {name} as the host wrote it:\n{output}"


def guest_write(shell, tag, name, key, host_file):
    """The guest writes 100 KiB of its own random bytes (linux.random_hex_command), then prints
    their md5. awk writes them to the guest's tmpfs, and dd to the share in one write: awk's 4 KiB
    writes straight to the share took seconds each under load (25 FUSE requests)."""
    output = shell.check(
        f"{linux.random_hex_command('/tmp/w', 100)} &&"
        f" dd if=/tmp/w of=/mnt/{tag}/{name} bs=102400 2>/dev/null && sync &&"
        f" md5sum /mnt/{tag}/{name} >/tmp/md5 && read h x </tmp/md5 && echo {key}=$h")
    match = re.search(rf"^{key}=([0-9a-f]{{32}})$", output, re.M)
    assert match, f"{tag}: the guest could not write {name}:\n{output}"
    assert host_file.exists() and md5_file(host_file) == match.group(1), \
        f"{tag}: the host does not see the bytes the guest wrote to {name}"


@pytest.fixture(scope="module")
def booted(module_vms):
    if not os.access(VIRTIOFSD, os.X_OK):
        host.skip("no vhost-user back-end", f"{VIRTIOFSD} not installed (qemu-system-common)")
    vms = module_vms
    work = vms.workdir
    img = linux.images()
    uds = work / "v.sock"
    helper = paths.SOURCE_DIR / "tests/integration/lib/linux_vsock_host.py"
    vsock_host = vms.process(["python3", helper, f"{uds}_1234"], name="vsock-host")
    vsock_host.wait_out(r"^ready", 10)
    fsd = {}
    for tag in TAGS:
        (work / tag).mkdir()
        (work / tag / "from-host.bin").write_bytes(os.urandom(300000))
        fsd[tag] = start_virtiofsd(vms, tag)
    vm, shell = linux.boot(vms, [
        "-v", "-v", "--kernel", img["VMLINUX"], "--initrd", img["INITRAMFS"], "--mem", "512M",
        "--console", "stdio",
        "--transport", "mmio", "--fs", f"tag=fsmmio,socket={work / 'fsmmio.sock'}",
        "--vsock", f"cid=5,uds={uds}",
        "--transport", "pci", "--fs", f"tag=fspci,socket={work / 'fspci.sock'}",
        "--append", f"{img['CMDLINE']} vmmguest.shell=1 vmmguest.dhcp=0 vmmguest.run=vsock"
                    " vmmguest.vsock.port=1234"])
    # the prompt (typed lines before it are read all the same: the console's input is buffered)
    vm.wait_out(r"vmmguest:.*# ", 30)
    return {"vm": vm, "shell": shell, "fsd": fsd, "vsock_host": vsock_host, "vms": vms}


# ---- vsock: what /init's check printed before the shell ----
def test_vsock_over_mmio(booted):
    vm, vsock_host = booted["vm"], booted["vsock_host"]
    assert "virtio-vsock: driver ready" in vm.err, "the guest did not drive virtio-vsock"
    for what, regex in [
            ("/init saw the vsock device (ID 19) bound, over virtio-mmio",
             r"^VMM-GUEST-VIRTIO: .* device=0x0013 .*driver=vmw_vsock_virtio_transport"
             r" on=LNRO0005:"),
            ("the vsock transport driver holds the device", r"^VMM-GUEST-VSOCK-DRIVER: virtio"),
            ("the guest's program reached the host over vsock and read its answer",
             r"VMM-GUEST-VSOCK: vsock-echo: sent 100000 bytes,"
             r" reply: OK 100000 bytes intact \(status 0\)"),
            ("the vsock check passed", r"VMM-GUEST-RUN: vsock status 0")]:
        assert re.search(regex, vm.out, re.M), f"{what}: no /{regex}/ on the console"
    assert re.search(r"^line: hello-from-guest 100000", vsock_host.out, re.M), \
        "the host did not see the guest's greeting over vsock"


def test_virtiofs_shares(booted):
    vm, shell, fsd, vms = booted["vm"], booted["shell"], booted["fsd"], booted["vms"]
    work = vms.workdir
    n = vm.err.count("virtio-fs: driver ready")
    assert n == 2, f"the guest drove {n} virtio-fs devices, want 2"
    assert re.search(r"^VMM-GUEST-VIRTIO: .* device=0x001a .*on=0000:00:[0-9a-f]{2}\.0",
                     vm.out, re.M), \
        "no virtio-fs device on virtio-pci"
    assert re.search(r"^VMM-GUEST-VIRTIO: .* device=0x001a .*on=LNRO0005:", vm.out, re.M), \
        "no virtio-fs device on virtio-mmio"
    output = shell.check("mkdir -p /mnt/fsmmio /mnt/fspci &&"
                         " mount -t virtiofs fsmmio /mnt/fsmmio &&"
                         " mount -t virtiofs fspci /mnt/fspci &&"
                         " echo MOUNTED=$(grep -c virtiofs /proc/mounts)")
    assert re.search(r"^MOUNTED=2$", output, re.M), \
        f"the guest did not mount both shares:\n{output}"
    for tag in TAGS:
        guest_md5(shell, tag, "from-host.bin", f"HOSTFILE_{tag}", work / tag / "from-host.bin")
        guest_write(shell, tag, "from-guest.bin", f"GUESTFILE_{tag}", work / tag / "from-guest.bin")

    # both virtiofsd die and come back while the guest runs
    for tag in TAGS:
        fsd[tag].signal(9)
        fsd[tag].wait(30)
    for tag in TAGS:
        (work / tag / "after-restart.bin").write_bytes(os.urandom(50000))
        fsd[tag] = start_virtiofsd(vms, tag)
    # each device reconnects by itself; the new virtiofsd has no FUSE session (it answers EIO
    # until a FUSE_INIT), so the guest mounts the share again
    for tag in TAGS:
        vm.wait_out(rf"virtio-fs {tag}: back-end reconnected", 30, err=True)
    output = shell.check("for m in /mnt/fsmmio /mnt/fspci; do umount $m || umount -l $m; done;"
                         " mount -t virtiofs fsmmio /mnt/fsmmio &&"
                         " mount -t virtiofs fspci /mnt/fspci"
                         " && echo REMOUNTED=$(grep -c virtiofs /proc/mounts)")
    assert re.search(r"^REMOUNTED=2$", output, re.M), \
        f"the guest did not mount both shares again after the restart:\n{output}"
    for tag in TAGS:
        guest_md5(shell, tag, "after-restart.bin", f"AFTERRESTART_{tag}",
                  work / tag / "after-restart.bin")
        guest_write(shell, tag, "after-restart-guest.bin", f"AFTERWRITE_{tag}",
                    work / tag / "after-restart-guest.bin")

    vm.type("umount /mnt/fsmmio; umount /mnt/fspci; poweroff -f")
    status = vm.wait(120)
    assert status == 0, f"the VMM exited {status} after poweroff -f, want 0"

    # ---- the PCI share's calls: straight to the guest (its stderr is complete: the VMM ended)
    err = vm.err
    assert re.search(r"virtio-fs fspci: queue 1: .*straight to the guest \(irqfd\)", err), \
        "fspci: no 'queue 1: ... straight to the guest (irqfd)' in the VMM's stderr"
    relayed = re.findall(r"virtio-fs fspci: ([0-9]+) calls of the back-end relayed", err)
    assert relayed and int(relayed[-1]) < 20, \
        (f"fspci: the VMM relayed {relayed[-1] if relayed else 'an unknown number of'} calls"
         " (want fewer than 20)")
