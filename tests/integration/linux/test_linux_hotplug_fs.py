# A shared folder and a Firecracker-style disk hot-added to the default Linux guest (docs/hotplug.md),
# one VM (root disk on virtio-pci, guest RAM in a memfd: --mem-shared, which virtiofsd maps):
#   1. PUT /vmm/vm.add-fs (vmmctl add-fs) of virtiofsd's socket answers 200 with its PciDeviceInfo;
#      the same id again, the same tag again, the same socket for another tag: 400, nothing added; the guest's acpiphp scans the
#      slot, the guest mounts the tag (mount -t virtiofs) and reads a file the host wrote (the
#      same md5);
#   2. a snapshot of the paused VM is refused (400: virtio-fs's queues live in the back-end, as
#      for a boot --fs), and the VM resumes and runs on;
#   3. Firecracker's hot-add: PUT /drives/{id} after InstanceStart answers 204, the guest gets
#      /sys/block/vdb (its size the file's); DELETE /drives/{id} answers 204 once the guest
#      released it, and /sys/block/vdb goes;
#   4. the guest unmounts the share and PUT /vmm/vm.remove-device takes it away (204); GET
#      /vm/config lists it before and not after;
#   5. a vhost-user disk (qemu-storage-daemon's vhost-user-blk export): PUT /vmm/vm.add-disk
#      with "vhost_user": true answers 200 (its socket again: 400), the guest reads the host's
#      marker from /dev/vdb and writes one the host finds in the file, a snapshot is refused
#      (its queues live in the back-end), the remove answers 204 and /dev/vdb goes, and the
#      same socket is added again (the back-end was let go) by Firecracker's PUT /drives/{id}
#      with "socket" (204; the guest reads its write back) and removed by its DELETE (204);
#   6. a vhost-user NIC (dpdk-testpmd looping its port, macswap) while testpmd runs: PUT
#      /vmm/vm.add-net with "vhost_user": true and a mac answers 200, the guest's eth0 has that
#      MAC, the frames it sends come back (rx_packets grows), the remove answers 204 and eth0
#      goes.
# The guest is restored from a snapshot of it at its shell (linux.shell_snapshot: the boot is not
# what is tested); the snapshot was made with --mem-shared, so the restore copies its memory file
# into a memfd (docs/snapshots.md) that virtiofsd and the other back-ends map.
# labels: slow linux api vhost_user
# requires: kvm root
# timeout: 900
# resource: linux:2
import hashlib
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from framework import host, linux, testpmd  # noqa: E402
from framework.proc import wait_until  # noqa: E402
from linux_api_util import (REMOVE_MS, check_value, devices, listed, refused,  # noqa: E402
                              value, vmmctl)

VIRTIOFSD = os.environ.get("VIRTIOFSD", "/usr/lib/qemu/virtiofsd")
QSD = os.environ.get("QSD", "qemu-storage-daemon")


def test_hotplug_fs(vms, workdir):
    if not os.access(VIRTIOFSD, os.X_OK):
        host.skip("no vhost-user back-end", f"{VIRTIOFSD} not installed (qemu-system-common)")
    share = workdir / "share"
    share.mkdir()
    (share / "from-host.bin").write_bytes(os.urandom(200000))
    fs_sock = workdir / "fs.sock"
    vms.process([VIRTIOFSD, f"--socket-path={fs_sock}", "-o", f"source={share}", "-o",
                 "cache=none"], name="virtiofsd")
    wait_until(fs_sock.exists, 5, "virtiofsd's socket")
    vu_img, vu_sock = workdir / "vu.img", workdir / "vu.sock"
    qsd = None
    if host.has(QSD):
        with open(vu_img, "wb") as f:
            f.truncate(16 << 20)
            f.write(b"VUHOST42")
        qsd = vms.process([QSD, "--blockdev", f"driver=file,node-name=vu,filename={vu_img}",
                           "--export", "type=vhost-user-blk,id=vu0,node-name=vu,addr.type=unix,"
                           f"addr.path={vu_sock},writable=on"], name="qsd")
        wait_until(vu_sock.exists, 5, "qemu-storage-daemon's socket")

    img = linux.images()
    fc = workdir / "fc.img"
    with open(fc, "wb") as f:
        f.truncate(8 << 20)
    # the root is the default image itself, read-only (the guest never writes it)
    folder = linux.shell_snapshot([
        "--kernel", img["VMLINUX"], "--mem", "256M", "--mem-shared", "--console", "stdio",
        "--transport", "pci", "--disk", f"{img['DISK']},ro,root",
        "--append", f"{img['CMDLINE']} rootfstype=ext4 vmmguest.shell=1 vmmguest.dhcp=0"])
    vm, shell = linux.restore(vms, folder, ["--landlock-rules", f"{workdir}:rw", "--disk",
                                            img["DISK"]], api=True)
    vm.api.timeout = 120
    sock = vm.sock

    def guest(tag, command):
        return value(shell, tag, command, timeout=180)

    slots = guest("SLOTS", 'n=0; for s in /sys/bus/pci/slots/*; do [ -e "$s" ] && n=$((n + 1)); '
                  'done; echo $n')
    if slots == "0":
        host.skip("no ACPI PCI hotplug in the guest",
                  "/sys/bus/pci/slots is empty (CONFIG_HOTPLUG_PCI_ACPI)")

    # ---- 1. the shared folder ----
    n0 = devices(vm)
    status, out = vmmctl(sock, "add-fs", "hpshare", fs_sock, "--id", "fs0")
    assert status == 0 and '"bdf"' in out and re.search(r'"id": *"fs0"', out), \
        f"vmmctl add-fs: status {status}: {out}"
    refused(vm, "the same id again", "another device", "PUT", "/vmm/vm.add-fs",
            {"tag": "t2", "socket": str(fs_sock), "id": "fs0"})
    refused(vm, "the same tag again", "tag hpshare", "PUT", "/vmm/vm.add-fs",
            {"tag": "hpshare", "socket": str(fs_sock)})
    refused(vm, "its socket for a second share", "already uses it", "PUT", "/vmm/vm.add-fs",
            {"tag": "t3", "socket": str(fs_sock)})
    assert devices(vm) == n0 + 1, "not one device added"
    assert listed(vm, "fs", "id", "fs0"), "GET /vm/config does not list fs0"
    check_value(vm, "the guest mounts the hot-added tag", guest(
        "MNT", linux.until("mkdir -p /mnt && mount -t virtiofs hpshare /mnt 2>/dev/null", 60) +
        '; n=0; while read a b c r; do [ "$c" = virtiofs ] && n=$((n + 1)); done </proc/mounts; '
        'echo $n'), "^1$")
    want_md5 = hashlib.md5((share / "from-host.bin").read_bytes()).hexdigest()
    # the root is read-only: /dev (devtmpfs) holds the guest's scratch files
    check_value(vm, "the guest reads the host's file", guest(
        "MD5", "md5sum /mnt/from-host.bin >/dev/md5; read h x </dev/md5; echo $h"),
        f"^{want_md5}$")

    # ---- 2. a snapshot is refused, as with a boot --fs ----
    vm.api.want(204, "PATCH", "/vm", {"state": "Paused"})
    refused(vm, "a snapshot with virtio-fs", "virtio-fs|snapshot", "PUT", "/snapshot/create",
            {"snapshot_type": "Full", "snapshot_path": str(workdir / "st"),
             "mem_file_path": str(workdir / "mem")})
    vm.api.want(204, "PATCH", "/vm", {"state": "Resumed"})

    # ---- 3. Firecracker's hot-add and hot-unplug of a drive ----
    vm.api.want(204, "PUT", "/drives/fcd1", {"drive_id": "fcd1", "path_on_host": str(fc),
                                             "is_root_device": False, "is_read_only": False})
    check_value(vm, "the drive is /sys/block/vdb", guest(
        "VDB", linux.until("[ -e /sys/block/vdb ]", 60) + "; "
        "cat /sys/block/vdb/size"), "^16384$")
    vm.api.want(204, "DELETE", "/drives/fcd1")
    check_value(vm, "/sys/block/vdb went", guest(
        "GONE", linux.until("! [ -e /sys/block/vdb ]", 30) + "; "
        "[ -e /sys/block/vdb ] && echo still || echo gone"), "^gone$")
    refused(vm, "DELETE of the removed drive", "no device", "DELETE", "/drives/fcd1", "")

    # ---- 4. the shared folder removed ----
    check_value(vm, "unmount", guest("UMNT", "umount /mnt && echo done"), "^done$")
    status, out = vmmctl(sock, "remove-device", "fs0", "--timeout-ms", REMOVE_MS)
    assert status == 0, f"vmmctl remove-device fs0: {out}"
    assert not listed(vm, "fs", "id", "fs0"), "GET /vm/config still lists fs0"
    assert devices(vm) == n0, f"not back to {n0} devices"

    # ---- 5. a vhost-user disk hot-added (its handshake on the hotplug thread, as add-fs's) ----
    if qsd is None:
        print(f"note: {QSD} not installed: no vhost-user disk hot-added")
    else:
        answer = vm.api.want(200, "PUT", "/vmm/vm.add-disk",
                             {"vhost_user": True, "vhost_socket": str(vu_sock), "id": "vu0"})
        assert '"bdf"' in answer.body, f"no PciDeviceInfo: {answer.body}"
        refused(vm, "its socket again", "already uses it", "PUT", "/vmm/vm.add-disk",
                {"vhost_user": True, "vhost_socket": str(vu_sock)})
        assert listed(vm, "drives", "drive_id", "vu0"), "GET /vm/config does not list vu0"
        check_value(vm, "the guest reads the host's marker from the vhost-user disk", guest(
            "VUR", linux.until("[ -e /dev/vdb ]", 60) + "; "
            "head -c 8 /dev/vdb"), "^VUHOST42$")
        check_value(vm, "the guest writes to it", guest(
            "VUW", "printf VUGUEST7 >/dev/vw; dd if=/dev/vw of=/dev/vdb bs=512 seek=8 "
            "conv=fsync 2>/dev/null && echo done"), "^done$")
        got = vu_img.read_bytes()[4096:4104]
        assert got == b"VUGUEST7", f"the file has {got!r} at 4 KiB"
        vm.api.want(204, "PATCH", "/vm", {"state": "Paused"})
        refused(vm, "a snapshot with a vhost-user disk", "vhost-user|snapshot", "PUT",
                "/snapshot/create", {"snapshot_type": "Full",
                                     "snapshot_path": str(workdir / "st"),
                                     "mem_file_path": str(workdir / "mem")})
        vm.api.want(204, "PATCH", "/vm", {"state": "Resumed"})
        vm.api.want(204, "PUT", "/vmm/vm.remove-device", {"id": "vu0", "timeout_ms": REMOVE_MS})
        check_value(vm, "/dev/vdb went", guest(
            "VUGONE", linux.until("! [ -e /sys/block/vdb ]", 30) + "; "
            "[ -e /sys/block/vdb ] && echo still || echo gone"), "^gone$")
        assert not listed(vm, "drives", "drive_id", "vu0"), "vu0 still listed"
        # the back-end was let go: the same socket serves a new device, added this time by
        # Firecracker's route (a drive with "socket" after InstanceStart) and removed by its
        # DELETE
        vm.api.want(204, "PUT", "/drives/vu1", {"drive_id": "vu1", "socket": str(vu_sock),
                                                "is_root_device": False})
        check_value(vm, "the re-added vhost-user disk reads the guest's write", guest(
            "VUR2", linux.until("[ -e /dev/vdb ]", 60) + "; "
            "dd if=/dev/vdb of=/dev/vr bs=512 skip=8 count=1 2>/dev/null; head -c 8 /dev/vr"),
            "^VUGUEST7$")
        vm.api.want(204, "DELETE", "/drives/vu1")
        assert devices(vm) == n0, f"not back to {n0} devices"

    # ---- 6. a vhost-user NIC hot-added (testpmd runs only for this step: it spins a CPU) ----
    net_sock = workdir / "net.sock"
    if not testpmd.available():
        print(f"note: {testpmd.TESTPMD} not installed: no vhost-user NIC hot-added")
    else:
        prefix = f"vu-hp-{os.getpid()}"
        backend = testpmd.start(vms, net_sock, prefix)
        try:
            vm.api.want(200, "PUT", "/vmm/vm.add-net",
                        {"vhost_user": True, "vhost_socket": str(net_sock),
                         "mac": "02:00:00:00:00:44", "id": "vn0"})
            check_value(vm, "the guest's eth0 has the MAC given", guest(
                "VNMAC", linux.until("[ -e /sys/class/net/eth0 ]", 60) +
                "; cat /sys/class/net/eth0/address"), "^02:00:00:00:00:44$")
            # udhcpc's discovers come back, addresses swapped (linux_vhost_user_net's check)
            check_value(vm, "frames the guest sent came back", guest(
                "VNRX", "ip link set eth0 up; " +
                linux.until("read -r c </sys/class/net/eth0/carrier && [ $c = 1 ]", 5) +
                "; a=$(cat /sys/class/net/eth0/statistics/"
                "rx_packets); udhcpc -i eth0 -n -q -t 2 -T 1 -s /bin/true >/dev/null 2>&1; "
                "b=$(cat /sys/class/net/eth0/statistics/rx_packets); echo $((b - a))"), "^[1-9]")
            vm.api.want(204, "PUT", "/vmm/vm.remove-device",
                        {"id": "vn0", "timeout_ms": REMOVE_MS})
            check_value(vm, "eth0 went", guest(
                "VNGONE", linux.until("! [ -e /sys/class/net/eth0 ]", 30) +
                "; [ -e /sys/class/net/eth0 ] && echo still || echo gone"), "^gone$")
        finally:
            backend.stop(grace=5)
            testpmd.cleanup(prefix)
        assert devices(vm) == n0, f"not back to {n0} devices"
    assert vm.alive(), "the VMM died"
