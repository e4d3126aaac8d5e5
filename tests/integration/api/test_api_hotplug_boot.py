# A device the VM started with, removed at run time (issue 52, docs/hotplug.md "Removing a boot
# device"), on the real VMM with a test guest that answers the PCI hotplug controller as an ACPI
# driver would (halt.elf, halt.pcihp=1: it releases every device it is asked to), and requests
# on --api-sock. The VM: a disk on virtio-mmio (mm), then on PCI the root disk (00:01.0), drive2
# (00:02.0), data3 (00:03.0), drive4 (00:04.0) and, when a tap can be made, a NIC net0
# (00:05.0), and a vsock and two pmem devices after them:
#   - refused with a 400 and nothing changed: the root disk, the virtio-mmio disk, an unknown
#     id; on a VM whose virtio-mem device sits after the disk and the vsock, both (it would
#     move);
#   - on a VM with a virtio-console, an rng and a balloon after a removed boot disk: their records pinned to
#     their slots (hotplug-slot=N) in the snapshot; the restore keeps them there (a new disk
#     goes into the hole, the next one past the balloon), the balloon answers its PATCH, a
#     second removal leaves their records as they are, and a migration keeps them too;
#   - drive2 removed by Firecracker's DELETE /drives/drive2 (204): GET /vm/config lists the
#     others under their ids; a disk added then goes into its slot (00:02.0) and is removed;
#     pmem0 removed with DELETE /pmem/pmem0;
#   - the VM paused and snapshotted: the state's configuration records data3 and drive4 (and
#     net0) with their ids and slots; the restore lists the same devices, keeps the hole (a new
#     disk goes into 00:02.0 again), and a remaining boot device (drive4) is removed there;
#     that VM migrated: the destination lists the same devices, its first free slot is the one
#     pmem0 left (the others keep theirs), and there drive4, net0 (Firecracker's DELETE
#     /network-interfaces/net0) and the vsock (recorded with its slot too, PUT
#     /vmm/vm.remove-device) are removed, pmem1 (recorded with its slot and window, gpa=) with DELETE
#     /pmem/pmem1, and a pmem device is added into the windows they left;
#   - on a guest that never releases a device (halt.irq=1), a boot disk's removal times out
#     with a 400 that says so, and the configuration stays as it was; a root pmem device is
#     refused; a boot shared folder (virtiofsd), kept under its tag when the disk before it
#     goes, then removed.
# labels: api
# requires: kvm
# timeout: 180
import os
import re
import subprocess

import pytest

from api_util import del_tap, want
from framework import host
from framework import snapshot_util as snap_util
from framework.api import Api
from framework.guests import guest_path
from framework.proc import wait_until


@pytest.fixture
def d(workdir):
    for name in ("mm", "root", "d2", "d3", "d4", "new"):
        with open(workdir / f"{name}.img", "wb") as f:
            f.truncate(1 << 20)
    for name in ("p0", "p1", "p2"):
        with open(workdir / f"{name}.img", "wb") as f:
            f.truncate(2 << 20)
    return workdir


@pytest.fixture
def tap():
    """A tap the VMM may open, or None where none can be made."""
    name = f"vmmhb{os.getpid() % 100000}"
    made = subprocess.run(["ip", "tuntap", "add", name, "mode", "tap", "user", str(os.getuid())],
                          capture_output=True).returncode == 0 if host.has("ip") else False
    if not made:
        print("note: no tap could be made here: no boot NIC is removed")
    yield name if made else None
    if made:
        del_tap(name)


def ids(api):
    """GET /vm/config's drive and NIC ids, sorted, comma-separated."""
    config = want(api, 200, "GET", "/vm/config").json()
    return ",".join(sorted([x["drive_id"] for x in config.get("drives", [])]
                           + [x["iface_id"] for x in config.get("network-interfaces", [])]))


def expect_ids(api, expected, what, timeout=0):
    """GET /vm/config lists EXPECTED (within TIMEOUT s: a restore's devices come after its
    socket)."""
    if timeout:
        try:
            wait_until(lambda: ids(api) == expected, timeout, what)
        except AssertionError:
            pass
    got = ids(api)
    assert got == expected, f"{what}: GET /vm/config lists {got}, want {expected}"


def start_halt(vms, d, append, *args, name="vmm"):
    """The halt guest with APPEND and ARGS, once it has printed its line (halt.pcihp=1: it
    answers the hotplug controller from then on, so a removal is released)."""
    vm = vms.start(["--kernel", guest_path("halt"), "--append", append, "--mem", "128M", *args],
                   name=name, api=True)
    vm.wait_out(r"answering PCI hotplug|halting", 30)
    return vm


def add_disk(api, body, bdf):
    """PUT /vmm/vm.add-disk BODY, answered 200 with the device at BDF (a regex), asked once: a
    restored or migrated VM is the API's running VM only once vm_run() has started its hotplug
    thread (ctl_mark_started()), so an add sent as soon as the API answers is run."""
    answer = api.put("/vmm/vm.add-disk", body)
    assert answer.status == 200, f"PUT /vmm/vm.add-disk {body} -> {answer!r} (want 200)"
    assert re.search(f'"bdf": *"{bdf}"', answer.body), f"add-disk {body}: {answer!r} (want {bdf})"


def snapshot(api, folder):
    want(api, 204, "PATCH", "/vm", {"state": "Paused"})
    folder.mkdir()
    want(api, 204, "PUT", "/snapshot/create", {"snapshot_path": str(folder / "state"),
                                                 "mem_file_path": str(folder / "memory")})


def expect_records(folder, records):
    """Each (device, members) of RECORDS has a record in the snapshot (expect_record())."""
    for device, members in records:
        snap_util.expect_record(folder / "state", device, **members)


def migrate(vms, d, src, name):
    """A destination VMM (API d/NAME.sock) waiting on d/NAME.mig, the VM of SRC migrated there,
    the source ended and the destination's API up; returns (destination, its Api)."""
    mig, sock = d / f"{name}.mig", d / f"{name}.sock"
    dst = vms.start(["--api-sock", sock, "--migrate-from", f"unix:{mig}",
                     "--landlock-rules", f"{d}:rw"], name=f"vmm-{name}")
    wait_until(mig.exists, 10, "the destination's migration socket", alive=dst.alive)
    # While the guest has not yet answered a hotplug event (its scan of a slot just added or
    # emptied), the send is a 400 saying so, by design: asked again until it is answered (a
    # loaded host delays the test guest's answer).
    body = {"destination_url": f"unix:{mig}"}

    def sent():
        answer = src.api.put("/vmm/send-migration", body)
        if answer.status == 400 and "hotplug event is under way" in answer.body:
            return None
        return answer
    answer = wait_until(sent, 30, "the guest to answer its hotplug event before the migration")
    assert answer.status == 204, f"PUT /vmm/send-migration -> {answer!r} (want 204)"
    src.wait(30)  # the source ends
    api = Api(sock)
    api.wait_ready(alive=dst.alive)
    return dst, api


def test_boot_devices_removed_snapshot_migrate(vms, d, tap):
    host.require("kvm")
    net = ["--net", f"tap={tap}"] if tap else []
    vm = start_halt(vms, d, "halt.pcihp=1",
                    "--transport", "mmio", "--disk", f"{d}/mm.img,id=mm",
                    "--transport", "pci", "--disk", f"{d}/root.img,root", "--disk", f"{d}/d2.img",
                    "--disk", f"{d}/d3.img,id=data3", "--disk", f"{d}/d4.img", *net,
                    "--vsock", f"cid=3,uds={d}/v.sock", "--pmem", f"path={d}/p0.img",
                    "--pmem", f"path={d}/p1.img", "--console", "stdio")
    api = vm.api
    nic = ",net0" if tap else ""
    every = f"data3,drive1,drive2,drive4,mm{nic}"
    expect_ids(api, every, "the boot devices")

    # ---- refused, nothing changed ----
    want(api, 400, "DELETE", "/drives/drive1", regex="drive1 is the root disk")
    want(api, 400, "PUT", "/vmm/vm.remove-device", {"id": "mm"}, "virtio-mmio: only a virtio-pci device")
    want(api, 400, "DELETE", "/drives/nope", regex="no device has the id nope")
    expect_ids(api, every, "nothing removed")

    # ---- a boot disk removed; its slot taken by a new disk, which goes again ----
    want(api, 204, "DELETE", "/drives/drive2")
    # the guest prints its line after its B0EJ write, which already ended the request
    vm.wait_out(r"released 0x4", 10)
    left = f"data3,drive1,drive4,mm{nic}"
    expect_ids(api, left, "the others keep their ids")
    want(api, 400, "DELETE", "/drives/drive2", regex="no device has the id drive2")
    add_disk(api, {"path": f"{d}/new.img", "id": "new1"}, "0000:00:02.0")
    want(api, 204, "PUT", "/vmm/vm.remove-device", {"id": "new1"})
    want(api, 204, "DELETE", "/pmem/pmem0")  # a boot pmem device: its window goes with it
    assert '"id":"pmem0"' not in want(api, 200, "GET", "/vm/config").body, \
        "GET /vm/config still lists pmem0"

    # ---- a snapshot keeps the remaining devices' ids and slots ----
    snap = d / "snap"
    snapshot(api, snap)
    vm.signal(9)
    vm.wait(10)
    vslot = 6 if tap else 5
    expect_records(snap, [
        ("disk", {"path": ".../d3.img", "id": "data3", "hotplug_slot": "3"}),
        ("disk", {"path": ".../d4.img", "id": "drive4", "hotplug_slot": "4"}),
        *([("net", {"tap": tap, "id": "net0", "hotplug_slot": "5"})] if tap else []),
        ("vsock", {"uds": ".../v.sock", "id": "vsock0", "hotplug_slot": str(vslot)}),
        ("pmem", {"path": ".../p1.img", "id": "pmem1", "hotplug_slot": str(vslot + 2),
                  "gpa": None})])
    assert b"d2.img" not in (snap / "state").read_bytes(), "the snapshot still has drive2"
    over = ["--net", f"tap={tap},id=net0"] if tap else []  # the restore's confirmation of a host tap
    vm = vms.start(["--restore", snap, "--landlock-rules", f"{d}:rw", *over], name="vmm-restored",
                   api=True)
    api = vm.api
    expect_ids(api, left, "restored: the same devices", timeout=5)
    want(api, 204, "PATCH", "/vm", {"state": "Resumed"})
    add_disk(api, {"path": f"{d}/new.img", "id": "new2"}, "0000:00:02.0")

    # ---- that VM migrated: the destination replays the same records, the devices in their slots
    dst, api = migrate(vms, d, vm, "dst")
    expect_ids(api, f"data3,drive1,drive4,mm{nic},new2", "migrated: the same devices", timeout=5)
    add_disk(api, {"path": f"{d}/d2.img", "id": "new3"}, "0000:00:07.0|0000:00:06.0")
    want(api, 204, "PUT", "/vmm/vm.remove-device", {"id": "new3"})
    want(api, 204, "DELETE", "/drives/drive4")
    if tap:
        want(api, 204, "DELETE", "/network-interfaces/net0")
    want(api, 200, "GET", "/vm/config", regex='"vsock_id":"vsock0"')
    want(api, 204, "PUT", "/vmm/vm.remove-device", {"id": "vsock0"})
    assert '"vsock_id"' not in want(api, 200, "GET", "/vm/config").body, \
        "GET /vm/config still lists the vsock"
    want(api, 200, "GET", "/vm/config", regex='"id":"pmem1"')
    want(api, 204, "DELETE", "/pmem/pmem1")
    want(api, 200, "PUT", "/vmm/vm.add-pmem", {"file": f"{d}/p2.img", "id": "p2"}, '"bdf"')
    expect_ids(api, "data3,drive1,mm,new2", "drive4 (and net0) removed after the restore")


def test_pinned_slots_of_rng_and_balloon(vms, d):
    # an rng and a balloon after it keep their slots (hotplug-slot=N), in a restore too
    host.require("kvm")
    # root 00:01.0, drive1 .. drive3 00:02.0 .. 00:04.0, hvc0 00:05.0, rng 00:06.0,
    # vsock 00:07.0, balloon 00:08.0
    vm = start_halt(vms, d, "halt.pcihp=1", "--transport", "pci", "--disk", f"{d}/root.img,root",
                    "--disk", f"{d}/d2.img", "--disk", f"{d}/d3.img", "--disk", f"{d}/d4.img",
                    "--rng", "--vsock", f"cid=4,uds={d}/w.sock", "--balloon", "size=0",
                    "--console", "virtio")
    api = vm.api
    want(api, 204, "DELETE", "/drives/drive2")  # the console, rng and balloon after it: kept
    want(api, 200, "GET", "/vm/config", regex=r'"entropy":\{')
    want(api, 200, "GET", "/vm/config", regex=r'"balloon":\{"amount_mib":0')
    snap = d / "snap2"
    snapshot(api, snap)
    vm.signal(9)
    vm.wait(10)
    expect_records(snap, [("console", {"kind": "virtio", "hotplug_slot": "5"}),
                          ("rng", {"hotplug_slot": "6"}),
                          ("balloon", {"hotplug_slot": "8"}),
                          ("disk", {"path": ".../d4.img", "id": "drive3", "hotplug_slot": "4"}),
                          ("vsock", {"uds": ".../w.sock", "id": "vsock0", "hotplug_slot": "7"})])
    (d / "w.sock").unlink(missing_ok=True)
    vm = vms.start(["--restore", snap, "--landlock-rules", f"{d}:rw"], name="vmm-restored",
                   api=True)
    api = vm.api
    expect_ids(api, "drive0,drive1,drive3", "restored", timeout=5)
    want(api, 204, "PATCH", "/vm", {"state": "Resumed"})
    want(api, 204, "PATCH", "/balloon", {"amount_mib": 1})  # the restored balloon answers
    want(api, 200, "GET", "/vm/config", regex=r'"balloon":\{"amount_mib":1')
    # the hole is the only free slot before 00:09.0: hvc0, the rng and the balloon kept theirs
    # (a second add while the guest has not scanned the first slot is fine: the controller
    # ORs the slots to check)
    add_disk(api, {"path": f"{d}/new.img", "id": "new4"}, "0000:00:03.0")
    add_disk(api, {"path": f"{d}/d3.img", "id": "new5"}, "0000:00:09.0")
    want(api, 204, "PUT", "/vmm/vm.remove-device", {"id": "new5"})
    want(api, 204, "DELETE", "/drives/drive1")  # a boot disk: the kept ones have their slots
    assert "not recorded with its slot" not in vm.err, f"a record not kept: {vm.err}"
    expect_ids(api, "drive0,drive3,new4", "drive1 removed after the restore")
    want(api, 400, "PUT", "/vmm/vm.remove-device", {"id": "rng"}, "no device has the id rng")
    # that VM migrated: the destination replays the pinned records, the kept devices in their
    # slots (the free slots are the holes, 00:02.0 and 00:09.0)
    dst, api = migrate(vms, d, vm, "dst2")
    expect_ids(api, "drive0,drive3,new4", "migrated: the same devices", timeout=5)
    want(api, 204, "PATCH", "/balloon", {"amount_mib": 2})
    add_disk(api, {"path": f"{d}/d2.img", "id": "new6"}, "0000:00:02.0")
    add_disk(api, {"path": f"{d}/d3.img", "id": "new7"}, "0000:00:09.0")


def test_virtio_mem_after_would_move(vms, d):
    # a device after it that only the VM's start places (virtio-mem): it would move
    host.require("kvm")
    # root 00:01.0, drive1 00:02.0, vsock 00:03.0, virtio-mem 00:04.0
    api = start_halt(vms, d, "halt.pcihp=1", "--transport", "pci", "--disk", f"{d}/root.img,root",
                     "--disk", f"{d}/d2.img", "--vsock", f"cid=4,uds={d}/w.sock",
                     "--memory-hotplug", "total=256M", "--console", "stdio").api
    want(api, 400, "DELETE", "/drives/drive1", regex="00:04.0 after it.*would move")
    want(api, 400, "PUT", "/vmm/vm.remove-device", {"id": "vsock0"}, "00:04.0 after it.*would move")
    want(api, 200, "GET", "/vm/config", regex='"drive_id":"drive1"')


def test_guest_never_answers(vms, d):
    # a guest that never answers (no ACPI driver): the request times out, the disk stays
    host.require("kvm")
    api = start_halt(vms, d, "halt.irq=1", "--transport", "pci", "--disk", f"{d}/root.img,root",
                     "--disk", f"{d}/d2.img", "--disk", f"{d}/d3.img", "--console", "stdio").api
    want(api, 400, "PUT", "/vmm/vm.remove-device", {"id": "drive1", "timeout_ms": 300},
         "did not release the device within 300 ms.*it stays")
    expect_ids(api, "drive0,drive1,drive2", "the configuration unchanged")
    want(api, 400, "PUT", "/vmm/vm.remove-device", {"id": "drive2", "timeout_ms": 300},
         "did not release")


def test_root_pmem_refused(vms, d):
    # as Firecracker's root block or pmem device
    host.require("kvm")
    api = start_halt(vms, d, "halt.pcihp=1", "--transport", "pci", "--pmem", f"path={d}/p0.img,root",
                     "--console", "stdio").api
    want(api, 400, "DELETE", "/pmem/pmem0", regex="pmem0 is the root device")


def test_boot_shared_folder(vms, d):
    # a boot shared folder (virtiofsd, when installed): kept under its tag, then removed
    host.require("kvm")
    virtiofsd = os.environ.get("VIRTIOFSD", "/usr/lib/qemu/virtiofsd")
    if not os.access(virtiofsd, os.X_OK):
        host.skip("missing tool", f"no virtiofsd here ({virtiofsd}): a boot shared folder's "
                  "removal is not checked")
    (d / "share").mkdir()
    fs_sock = d / "fs.sock"
    vfs = vms.process([virtiofsd, f"--socket-path={fs_sock}", "-o", f"source={d}/share",
                       "-o", "cache=none"], name="virtiofsd")
    wait_until(fs_sock.exists, 10, "virtiofsd's socket", alive=vfs.alive)
    api = start_halt(vms, d, "halt.pcihp=1", "--mem-shared", "--transport", "pci",
                     "--disk", f"{d}/root.img,root", "--disk", f"{d}/d2.img",
                     "--fs", f"tag=share,socket={fs_sock}", "--console", "stdio").api
    want(api, 204, "DELETE", "/drives/drive1")
    want(api, 200, "GET", "/vm/config", regex=r'"fs":\[\{"id":"share","tag":"share"')
    want(api, 204, "PUT", "/vmm/vm.remove-device", {"id": "share"})
    want(api, 200, "GET", "/vm/config", regex=r'"fs":\[\]')
