# PCI hotplug (docs/hotplug.md) on the default Linux guest (initramfs, shell on COM1, a PCI
# bus: its root disk over virtio-pci), driven over --api-sock with vmmctl:
# The guest is restored from a snapshot of it at its shell (linux.shell_snapshot: the boot is
# not what is tested), with disks of its own; its VMMs run in a network namespace of the test.
# Both disks' file names hold a comma (drive1's given as ",," on the command line, hp0's as it
# is in the add's body), which the guest's reads and writes, the snapshot and the migration keep.
#   0. a disk the VM started with (drive1, /dev/vdb at 00:02.0, beside the root disk) removed
#      (vmmctl remove-device drive1: the guest is asked to release it as a hot-added one; 204
#      once it did): /dev/vdb goes, GET /vm/config no longer lists it, and the disk part 1 adds
#      goes into its slot (00:02.0) and is the guest's /dev/vdb (part 2);
#   1. the VMM's side, on any guest: PUT /vmm/vm.add-disk answers 200 with Cloud Hypervisor's
#      PciDeviceInfo ({"id", "bdf"}); a second add with the same id, an add with an id a boot
#      device has, a remove of the root disk, of an unknown id, a body with an
#      unknown field or a bad num_queues, and any add or remove of a paused VM are 400s with a
#      message saying why, and nothing is added (GET /vmm/devices counts the devices);
#   2. then, when the guest kernel has ACPI PCI hotplug (/sys/bus/pci/slots has the slots):
#      the added disk appears as /dev/vdb, is mounted (ext4, made on the host) and written, unmounted, removed
#      (PUT /vmm/vm.remove-device: 204 once the guest's _EJ0 released it; /dev/vdb goes), added
#      again and read back;
#   2b. a vsock added (PUT /vmm/vm.add-vsock, vmmctl add-vsock): a reserved CID, a socket in a
#      missing directory, a second vsock and its id taken by another add are 400s; GET
#      /vm/config lists it; the guest's vmw_vsock_virtio_transport binds it and its vsock-echo
#      sends 4096 bytes to the host's socket PATH_1234, which checks them; a pmem device added
#      (PUT /vmm/vm.add-pmem, vmmctl add-pmem) after refusals (a file not a multiple of 2 MiB, a
#      missing file, a size that is not the file's, a taken id): the guest reads the file's
#      marker from /dev/pmem0 and writes a block the host then finds in the file; its FLUSH
#      limits PATCHed (PATCH /pmem/{id});
#   3. GET /vm/config lists the disk, its rate limits PATCHed, a marker written on it, a Full
#      snapshot (its configuration has the disk's hotplug-slot= and limits, the pmem device's
#      hotplug-slot= and gpa=, the vsock's hotplug-slot=), the VMM killed and `vmm --restore DIR`
#      run: GET /vm/config lists it, the restored guest mounts /dev/vdb and reads the marker,
#      reads /dev/pmem0 and still has the vsock bound, the disk's limits PATCHed again;
#   3b. a NIC added on a tap (when one can be made, owned by the VMM's user, the host's address
#      on it): it appears as eth0, and the host pings the guest through it;
#   4. that VM migrated (PUT /vmm/send-migration to `vmm --migrate-from unix:M`): GET
#      /vm/config on the destination lists the disk (and the NIC), its guest reads the marker
#      and /dev/pmem0 (and the host pings it through the migrated NIC: its tap handed over);
#      the vsock removed there (its driver lets it go, its socket file goes, GET /vm/config no
#      longer lists it), the pmem device removed (/dev/pmem0 goes) and added again (its window
#      and KVM slot were given back), the disk removed (/dev/vdb goes) and GET /vm/config no
#      longer lists it.
# (Linux ejects a device it is asked to, mounted or not: the timeout of a guest that does not
# answer is the state machine's unit test and part 1's.)
# Without ACPI in the guest kernel (the default guest's kernel.config had none before issue 52's
# companion change) part 2 cannot run: the guest never sees the slots. Then part 1 must pass, a
# remove is a timeout whose message names the missing CONFIG_HOTPLUG_PCI_ACPI, and the test
# exits 77 saying so.
# labels: slow linux api
# requires: kvm
# timeout: 900
# resource: linux:1
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from framework import host, linux, paths  # noqa: E402
from framework import snapshot_util as snap_util  # noqa: E402
from framework.linux import Shell  # noqa: E402
from framework.proc import wait_until  # noqa: E402
from linux_api_util import (REMOVE_MS, check_value, copy_disk, devices, listed,  # noqa: E402
                              refused, value, vmmctl)

HP_TAP = "vmmhp0"
HP_HOST_IP = "192.168.219.1"
HP_GUEST_IP = "192.168.219.2"


def blank(path, size):
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def snapshot_args():
    """The guest on a PCI bus, its root the image's ext4 (read-only), drive1 a blank 8 MiB disk
    (both files in the build's test-cache: each restore names copies of its own)."""
    img = linux.images()
    paths.CACHE.mkdir(parents=True, exist_ok=True)
    boot1 = paths.CACHE / "linux-blank-8M.img"
    if not boot1.exists():
        blank(boot1.with_suffix(".tmp"), 8 << 20).rename(boot1)
    return ["--kernel", img["VMLINUX"], "--mem", "256M", "--console", "stdio", "--transport",
            "pci", "--disk", f"{img['DISK']},ro,root", "--disk", boot1, "--append",
            f"{img['CMDLINE']} rootfstype=ext4 vmmguest.shell=1 vmmguest.dhcp=0"]


def test_hotplug(vms, workdir, netns):
    host.require("netns")
    folder = linux.shell_snapshot(snapshot_args())
    # The NIC's tap belongs to the VMM's user (no thread keeps CAP_NET_ADMIN once the VM runs)
    # and has the host's end of a /24 of its own: the namespace pings the guest through it (the
    # guest's kernel answers: no shell command that could hang the console).
    ns = netns(tap=HP_TAP)
    ns.ip("tuntap", "del", "dev", HP_TAP, "mode", "tap")
    ns.ip("tuntap", "add", "dev", HP_TAP, "mode", "tap", "user", str(os.geteuid()))
    ns.ip("addr", "add", f"{HP_HOST_IP}/24", "dev", HP_TAP)
    ns.ip("link", "set", HP_TAP, "up")
    root = copy_disk(workdir / "root.ext4")
    # Both file names hold a comma: the command line writes it ",," (drive1's), an API body
    # as it is (hp0's add), and the snapshot and migration carry it whole in hp0's record.
    boot1 = blank(workdir / "boot,1.img", 8 << 20)  # drive1: a boot disk part 0 removes
    hp = blank(workdir / "hp,0.img", 16 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", hp], check=True)  # the guest's busybox has none
    rules = ["--landlock-rules", f"{workdir}:rw"]
    vm, shell = linux.restore(vms, folder, [*rules, "--disk", f"{root},id=drive0",
                                            "--disk", f"{str(boot1).replace(',', ',,')},id=drive1"],
                              api=True, wrap=ns.wrap)
    vm.api.timeout = 120

    def guest(tag, command):
        return value(shell, tag, command, timeout=180)

    def ctl(*args):
        return vmmctl(vm.sock, *args)

    def reach(what):  # the host pings the guest through the hot-added NIC: 3 answers in 60 s
        ping = ns.exec("ping", "-c", "3", "-i", "0.5", "-w", "60", HP_GUEST_IP, check=False,
                       timeout=90)
        assert ping.returncode == 0, f"{what}: {ping.stdout[-300:]}"

    # shell built-ins, no pipeline (docs/testing.md: busybox pipelines misbehave on kvm_pvm)
    slots = guest("SLOTS", 'n=0; for s in /sys/bus/pci/slots/*; do [ -e "$s" ] && n=$((n + 1)); '
                  'done; echo $n')

    # ---- 0. a boot disk removed; its slot is the next add's ----
    if slots != "0":
        check_value(vm, "the boot disk drive1 is /dev/vdb",
                    guest("BVDB", "cat /sys/block/vdb/size"), "^16384$")
        status, out = ctl("remove-device", "drive1", "--timeout-ms", REMOVE_MS)
        assert status == 0, f"remove-device drive1: {out}"
        check_value(vm, "the boot disk's /dev/vdb went", guest(
            "BGONE", linux.until("! [ -b /dev/vdb ]", 30) + "; "
            "[ -b /dev/vdb ] && echo still || echo gone"), "^gone$")
        assert '"drive1"' not in vm.api.want(200, "GET", "/vm/config").body, \
            "GET /vm/config still lists drive1"

    # ---- 1. the VMM's side ----
    n0 = devices(vm)
    status, out = ctl("add-disk", hp, "--id", "hp0")
    assert status == 0 and re.search(r'"bdf": *"0000:00:0[0-9a-f]\.0"', out) and \
        re.search(r'"id": *"hp0"', out), f"vmmctl add-disk: status {status}: {out}"
    if slots != "0":
        assert re.search(r'"bdf": *"0000:00:02\.0"', out), f"hp0 is not in 00:02.0: {out}"
    n1 = devices(vm)
    assert n1 == n0 + 1, f"GET /vmm/devices: {n0} -> {n1}"
    other = blank(workdir / "other.img", 1 << 20)
    refused(vm, "the same id again", "hp0", "PUT", "/vmm/vm.add-disk",
            {"path": str(other), "id": "hp0"})
    refused(vm, "the root disk's id", "another device", "PUT", "/vmm/vm.add-disk",
            {"path": str(other), "id": "drive0"})
    refused(vm, "the same file twice", "in use|lock", "PUT", "/vmm/vm.add-disk",
            {"path": str(hp)})
    refused(vm, "an unknown field", "unknown|not allowed|field", "PUT", "/vmm/vm.add-disk",
            {"path": str(other), "bogus": 1})
    refused(vm, "num_queues 0", "num_queues", "PUT", "/vmm/vm.add-disk",
            {"path": str(other), "num_queues": 0})
    refused(vm, "a missing file", "nothere", "PUT", "/vmm/vm.add-disk",
            {"path": str(workdir / "nothere.img")})
    refused(vm, "remove the root disk", "root disk", "PUT", "/vmm/vm.remove-device",
            {"id": "drive0"})
    refused(vm, "remove an unknown id", "no device", "PUT", "/vmm/vm.remove-device",
            {"id": "nope"})
    refused(vm, "a NIC on a missing tap", "tap|vmmhpnone", "PUT", "/vmm/vm.add-net",
            {"tap": "vmmhpnone0"})
    vm.api.want(204, "PATCH", "/vm", {"state": "Paused"})
    refused(vm, "an add while paused", "paused", "PUT", "/vmm/vm.add-disk", {"path": str(other)})
    refused(vm, "a remove while paused", "paused", "PUT", "/vmm/vm.remove-device", {"id": "hp0"})
    vm.api.want(204, "PATCH", "/vm", {"state": "Resumed"})
    n2 = devices(vm)
    assert n2 == n1, f"the refused requests changed the devices: {n1} -> {n2}"

    if slots == "0":
        status, out = ctl("remove-device", "hp0", "--timeout-ms", "2000")
        assert status != 0 and "CONFIG_HOTPLUG_PCI_ACPI" in out, \
            f"remove-device on a guest without ACPI hotplug: status {status}: {out}"
        assert devices(vm) == n1, "the device went"
        host.skip("no ACPI PCI hotplug in the guest", "/sys/bus/pci/slots is empty: it needs "
                  "CONFIG_ACPI and CONFIG_HOTPLUG_PCI_ACPI in guest-images/kernel.config")

    # ---- 2. the guest's side ----
    print(f"the guest has {slots} PCI hotplug slots")
    check_value(vm, "the added disk is /dev/vdb", guest(
        "VDB", linux.until("[ -b /dev/vdb ]", 60) + "; "
        "cat /sys/block/vdb/size"), "^32768$")
    check_value(vm, "mount, write", guest(
        "MNT", "mkdir -p /dev/hp && mount /dev/vdb /dev/hp && echo HPDATA-7c1e >/dev/hp/f && "
        "sync && echo done"), "^done$")
    check_value(vm, "unmount", guest("UMNT", "umount /dev/hp && echo done"), "^done$")
    status, out = ctl("remove-device", "hp0", "--timeout-ms", REMOVE_MS)
    assert status == 0, f"vmmctl remove-device hp0: {out}"
    check_value(vm, "/dev/vdb went", guest(
        "GONE", linux.until("! [ -b /dev/vdb ]", 30) + "; "
        "[ -b /dev/vdb ] && echo still || echo gone"), "^gone$")
    status, out = ctl("add-disk", hp, "--id", "hp0")
    assert status == 0, f"add again: {out}"
    check_value(vm, "read back", guest(
        "BACK", linux.until("[ -b /dev/vdb ]", 60) + "; "
        "mount /dev/vdb /dev/hp && cat /dev/hp/f"), "^HPDATA-7c1e$")

    # ---- 2b. a vsock and a pmem device added (snapshots and migrations carry them) ----
    vs = workdir / "hpv.sock"
    vhost = vms.process([sys.executable, paths.SOURCE_DIR / "tests/integration/lib/"
                         "linux_vsock_host.py", f"{vs}_1234"], name="vsock-host")
    wait_until(Path(f"{vs}_1234").exists, 5, "the vsock host's socket", alive=vhost.alive)
    n3 = devices(vm)
    refused(vm, "a vsock on a reserved CID", "cid", "PUT", "/vmm/vm.add-vsock",
            {"cid": 2, "socket": str(vs)})
    refused(vm, "a vsock socket in a missing directory", "nodir", "PUT", "/vmm/vm.add-vsock",
            {"cid": 7, "socket": str(workdir / "nodir/v.sock")})
    status, out = ctl("add-vsock", "7", vs, "--id", "hpvsock")
    assert status == 0 and '"bdf"' in out, f"add-vsock: {out}"
    refused(vm, "a second vsock", "at most one", "PUT", "/vmm/vm.add-vsock",
            {"cid": 8, "socket": str(workdir / "v2.sock")})
    refused(vm, "an id the vsock has", "another device", "PUT", "/vmm/vm.add-disk",
            {"path": str(other), "id": "hpvsock"})
    assert devices(vm) == n3 + 1, "not one vsock added and nothing else"
    vsock = vm.api.want(200, "GET", "/vm/config").json().get("vsock") or {}
    assert vsock.get("vsock_id") == "hpvsock" and vsock.get("guest_cid") == 7, \
        f"GET /vm/config does not list the vsock: {vsock}"
    bound = ('for x in /sys/bus/virtio/drivers/vmw_vsock_virtio_transport/virtio*; do '
             '[ -e "$x" ] && d=${x##*/}; done')
    check_value(vm, "the guest's vsock transport binds it", guest(
        "VSDRV", 'd=""; ' + linux.until(f'{bound}; [ -n "$d" ]', 60) + '; echo ${d:-none}'),
        r"^virtio[0-9]+$")
    check_value(vm, "vsock-echo over the hot-added vsock", guest(
        "VSECHO", "vsock-echo 1234 4096 >/dev/ve 2>&1; echo status$?"), "^status0$")
    try:
        wait_until(lambda: re.search(r"^answer: ", vhost.out, re.M), 10, "the host's answer")
    except AssertionError:
        pass
    assert re.search(r"^answer: OK 4096 bytes intact", vhost.out, re.M), \
        f"the host side: {vhost.out}"
    pm = blank(workdir / "pm.img", 4 << 20)
    with open(pm, "r+b") as f:
        f.write(b"PMEMMARK7d3")
    odd = blank(workdir / "odd.img", 3 << 20)
    refused(vm, "a pmem file that is not a multiple of 2 MiB", "2 MiB", "PUT",
            "/vmm/vm.add-pmem", {"file": str(odd)})
    refused(vm, "a missing pmem file", "nopm", "PUT", "/vmm/vm.add-pmem",
            {"file": str(workdir / "nopm.img")})
    refused(vm, "a pmem size that is not the file's", "not 2097152", "PUT", "/vmm/vm.add-pmem",
            {"file": str(pm), "size": 2097152})
    refused(vm, "a pmem id taken", "another device", "PUT", "/vmm/vm.add-pmem",
            {"file": str(pm), "id": "hpvsock"})
    status, out = ctl("add-pmem", pm, "--id", "hppmem", "--size", "4194304")
    assert status == 0 and '"bdf"' in out, f"add-pmem: {out}"
    assert devices(vm) == n3 + 2, "the refused pmem requests added something"

    def pmem_marker(tag):  # the guest reads the file's first bytes from /dev/pmem0
        got = guest(tag, linux.until("[ -b /dev/pmem0 ]", 60) + "; "
                    "if [ -b /dev/pmem0 ]; then head -c 11 /dev/pmem0 2>&1; "
                    "else echo no /dev/pmem0 after 60 s; fi")
        if got != "PMEMMARK7d3":  # what the guest had: its size and a second read
            again = guest(tag + "X", "dmesg >/dev/.pmdm 2>&1; echo size=$(cat "
                          "/sys/block/pmem0/size 2>&1) bytes=$(od -A n -t x1 -N 11 /dev/pmem0 "
                          "2>&1) dmesg: $(tail -n 12 /dev/.pmdm)")
            got += f" (then: {again[:2000]})"
        return got
    check_value(vm, "the guest reads the pmem file's marker from /dev/pmem0",
                pmem_marker("PMRD"), "^PMEMMARK7d3$")
    check_value(vm, "the guest writes /dev/pmem0 (synced)", guest(
        "PMWR", "printf GUESTPM42 >/dev/pmw; dd if=/dev/pmw of=/dev/pmem0 bs=4096 seek=1 "
        "conv=fsync 2>/dev/null && echo done"), "^done$")
    assert pm.read_bytes()[4096:4105] == b"GUESTPM42", "the host file lacks the guest's write"
    vm.api.want(204, "PATCH", "/pmem/hppmem",
                {"id": "hppmem", "rate_limiter": {"ops": {"size": 100, "refill_time": 1000}}})

    # ---- 3. a snapshot of the VM with the hot-added disk, restored ----
    assert listed(vm, "drives", "drive_id", "hp0"), "GET /vm/config does not show hp0"
    vm.api.want(204, "PATCH", "/drives/hp0", {"drive_id": "hp0", "rate_limiter": {
        "bandwidth": {"size": 50000000, "refill_time": 100}}})
    check_value(vm, "marker written, unmounted", guest(
        "MARK", "echo SNAPMARK5e2 >/dev/hp/g && sync && umount /dev/hp && echo done"), "^done$")
    snap = workdir / "snap"
    snap.mkdir()
    vm.api.want(204, "PATCH", "/vm", {"state": "Paused"})
    vm.api.want(204, "PUT", "/snapshot/create",
                {"snapshot_type": "Full", "snapshot_path": str(snap / "state"),
                 "mem_file_path": str(snap / "memory")}, timeout=300)
    state = (snap / "state").read_bytes()
    snap_util.expect_record(state, "disk", path=".../hp,0.img", hotplug_slot=None, bw=None)
    vm.stop(grace=0)
    vm, shell = linux.restore(vms, snap, rules, name="restored", api=True, wrap=ns.wrap)
    vm.api.timeout = 120
    assert listed(vm, "drives", "drive_id", "hp0"), "GET /vm/config of the restored VM: no hp0"
    check_value(vm, "the restored guest reads the marker from /dev/vdb", guest(
        "RMARK", "mount /dev/vdb /dev/hp && cat /dev/hp/g"), "^SNAPMARK5e2$")
    vm.api.want(204, "PATCH", "/drives/hp0", {"drive_id": "hp0", "rate_limiter": {
        "bandwidth": {"size": 0, "refill_time": 0}}})
    check_value(vm, "unmounted", guest("RUMNT", "umount /dev/hp && echo done"), "^done$")
    check_value(vm, "the restored guest reads /dev/pmem0", pmem_marker("PMRS"), "^PMEMMARK7d3$")
    check_value(vm, "the restored guest's vsock transport holds the vsock", guest(
        "VSRS", f"d=none; {bound}; echo $d"), r"^virtio[0-9]+$")
    snap_util.expect_record(state, "pmem", path=".../pm.img", hotplug_slot=None, gpa=None)
    snap_util.expect_record(state, "vsock", uds=".../hpv.sock", hotplug_slot=None)

    # ---- 3b. a NIC added on the namespace's tap before the migration ----
    status, out = ctl("add-net", HP_TAP, "--id", "hpnet0")
    assert status == 0, f"add-net: {out}"
    check_value(vm, "the NIC is eth0", guest(
        "ETH", linux.until("[ -e /sys/class/net/eth0 ]", 60) + "; "
        "cat /sys/class/net/eth0/address"), "^[0-9a-f:]{17}$")
    check_value(vm, f"eth0 up with {HP_GUEST_IP}", guest(
        "ETHUP", f"ip addr add {HP_GUEST_IP}/24 dev eth0 && ip link set eth0 up && echo done"),
        "^done$")
    reach("the guest and the host reach each other through the hot-added NIC")

    # ---- 4. a live migration of the restored VM, hp0 and hpnet0 in it ----
    src = vm
    mig = workdir / "dst.mig"
    vm = vms.start([*rules, "--migrate-from", f"unix:{mig}"], name="dst", api=True,
                   console_in=True, wrap=ns.wrap)
    vm.api.timeout = 120
    shell = Shell(vm)
    wait_until(mig.exists, 10, "the destination's migration socket", alive=vm.alive)
    src.api.want(204, "PUT", "/vmm/send-migration", {"destination_url": f"unix:{mig}"})
    src.wait(120)
    assert "migration completed" in src.err + vm.err, "no 'migration completed' in the logs"
    assert listed(vm, "drives", "drive_id", "hp0"), "GET /vm/config of the migrated VM: no hp0"
    check_value(vm, "the migrated guest reads the marker from /dev/vdb", guest(
        "MMARK", "mount /dev/vdb /dev/hp && cat /dev/hp/g && umount /dev/hp"), "^SNAPMARK5e2$")
    assert '"hpnet0"' in vm.api.want(200, "GET", "/vm/config").body, \
        "GET /vm/config of the migrated VM does not show hpnet0"
    reach("the migrated guest and the host reach each other through the hot-added NIC")
    status, out = ctl("remove-device", "hp0", "--timeout-ms", REMOVE_MS)
    assert status == 0, f"remove-device after the migration: {out}"
    check_value(vm, "/dev/vdb went in the migrated guest", guest(
        "RGONE", linux.until("! [ -b /dev/vdb ]", 30) + "; "
        "[ -b /dev/vdb ] && echo still || echo gone"), "^gone$")
    assert not listed(vm, "drives", "drive_id", "hp0"), "GET /vm/config still shows hp0"
    check_value(vm, "the migrated guest reads /dev/pmem0", pmem_marker("PMMG"), "^PMEMMARK7d3$")
    status, out = ctl("remove-device", "hpvsock", "--timeout-ms", REMOVE_MS)
    assert status == 0, f"remove-device hpvsock: {out}"
    check_value(vm, "the guest let the vsock go", guest(
        "VSGONE", f"d=none; {bound}; echo $d"), "^none$")
    assert not vs.exists(), f"the vsock's socket {vs} stays"
    assert not vm.api.want(200, "GET", "/vm/config").json().get("vsock"), \
        "GET /vm/config still lists the vsock"
    status, out = ctl("remove-device", "hppmem", "--timeout-ms", REMOVE_MS)
    assert status == 0, f"remove-device hppmem: {out}"
    check_value(vm, "/dev/pmem0 went", guest(
        "PMGONE", linux.until("! [ -b /dev/pmem0 ]", 30) + "; "
        "[ -b /dev/pmem0 ] && echo still || echo gone"), "^gone$")
    status, out = ctl("add-pmem", pm, "--id", "hppmem")
    assert status == 0, f"add-pmem again (its window and KVM slot were given back): {out}"
    check_value(vm, "the guest reads it again", pmem_marker("PMAG"), "^PMEMMARK7d3$")
