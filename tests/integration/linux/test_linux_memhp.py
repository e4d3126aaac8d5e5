# virtio-mem on the default Linux guest (512 MiB, initramfs, shell on COM1) with a 1 GiB
# hotplug region, driven over --api-sock, restored from a snapshot of that guest at its shell
# (linux.shell_snapshot: the boot is not what is tested; the snapshot linux_balloon restores
# too, with its idle balloon: linux_api_util.memory_devices_args), then snapshotted and restored
# again:
#   1. Linux's virtio_mem driver binds the device; PATCH /hotplug/memory {"requested_size_mib":
#      128}: GET shows plugged_size_mib follow to 128 and the guest's MemTotal grows by at least
#      100 MiB (memory onlined movable);
#   2. the guest writes a 12 MiB file on a tmpfs (copies of its busybox, each after a counter)
#      and prints its md5sum
#      (shmem pages are movable and go to the hotplugged blocks first: the Movable zone's free
#      pages must drop by at least 8 MiB);
#   3. with blocks plugged, a Diff snapshot is a 400 naming the plugged memory; a Full snapshot
#      is taken (the memory file has RAM, then the 1 GiB region, sparse);
#   4. a page-fault handler (Uffd) load of it is a 400 that says to use the memory file (when
#      vmm-uffd-handler is built next to vmm);
#   5. vmm --restore: GET /hotplug/memory shows 128 MiB plugged, the file's md5sum in the guest is
#      the one before, MemTotal is the same;
#   6. the file is removed and PATCH 0 unplugs it all: plugged_size_mib follows to 0 and the
#      restored VMM's RSS drops by at least 8 MiB (unplugged blocks go back to the host);
#      sizes that are not a block multiple or exceed the region are 400s.
# The sizes are small on purpose: where guest kernel code is emulated (kvm_pvm) the kernel copies
# about 1 MiB in 2 s, 1 MiB from /dev/urandom takes 47 s and each page fault ~10 ms, and a 32 MiB
# file of urandom bytes took 4 of the test's 7 minutes there.
# Plugging and unplugging 1 GiB is timed by tools/bench memhp, not here.
# labels: slow linux api snapshot
# requires: kvm
# timeout: 1500
# resource: linux:1
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from framework import linux, paths  # noqa: E402
from framework.proc import wait_until  # noqa: E402
from linux_api_util import memory_devices_args, rss_mib, stop_guest, value, wait_field  # noqa: E402,E501


def memtotal(shell, tag):
    return int(value(shell, tag, "awk '/MemTotal/ {print $2}' /proc/meminfo"))


def movable_free_mib(shell, tag):
    return int(value(shell, tag, "awk '/zone +Movable/ {m = 1} m && /nr_free_pages/ "
                     "{print int($2 / 256); exit}' /proc/zoneinfo"))


def test_memhp(vms, workdir):
    folder = linux.shell_snapshot(memory_devices_args())
    rules = ["--landlock-rules", f"{workdir}:rw"]
    vm, shell = linux.restore(vms, folder, rules, api=True)
    assert value(shell, "MEMDRV", "ls /sys/bus/virtio/drivers/virtio_mem | grep -c virtio") \
        == "1", "virtio_mem did not bind the device"
    total_unplugged = memtotal(shell, "TOTALU")
    vm.api.want(204, "PATCH", "/hotplug/memory", {"requested_size_mib": 128})
    wait_field(vm.api, "/hotplug/memory", "plugged_size_mib", 128)

    # the blocks are onlined by the guest after the device plugs them: wait for MemTotal
    def grown():
        total = memtotal(shell, f"TOTAL0x{next(tries)}")
        return total if total - total_unplugged >= 100 * 1024 else None
    tries = iter(range(1000))
    try:
        total_before = wait_until(grown, 60, "MemTotal grows by 100 MiB", alive=vm.alive)
    except AssertionError:
        raise AssertionError(f"MemTotal did not grow by 100 MiB from {total_unplugged} kB")
    print(f"MemTotal grew by {(total_before - total_unplugged) // 1024} MiB")

    free0 = movable_free_mib(shell, "MOVFREE0")
    # Copies of busybox (about 2 MiB), each after a counter that shifts it: no two pages alike,
    # and no /dev/urandom; md5sum and cut one after the other (docs/testing.md: pipelines on
    # kvm_pvm)
    sum_before = value(shell, "SUM0", "mkdir -p /hp && mount -t tmpfs -o size=64m hp /hp && "
                       "for i in $(seq 6); do echo $i; cat /bin/busybox; done >/hp/memhp.bin && "
                       "md5sum /hp/memhp.bin >/hp/sum && cut -c1-32 /hp/sum", timeout=400)
    free1 = movable_free_mib(shell, "MOVFREE1")
    print(f"the file: md5 {sum_before}; Movable zone free: {free0} -> {free1} MiB")
    assert free0 - free1 >= 8, \
        f"the file did not go to hotplugged memory (Movable free {free0} -> {free1})"
    assert len(sum_before) == 32, f"no md5sum from the guest: {sum_before!r}"

    snap = workdir / "snap"
    snap.mkdir()
    vm.api.want(204, "PATCH", "/vm", {"state": "Paused"})
    diff = vm.api.want(400, "PUT", "/snapshot/create",
                       {"snapshot_type": "Diff", "snapshot_path": str(snap / "diff-state"),
                        "mem_file_path": str(snap / "diff-memory")}, timeout=120)
    assert "Diff snapshot" in diff.body, f"the Diff refusal: {diff.body}"
    vm.api.want(204, "PUT", "/snapshot/create",
                {"snapshot_type": "Full", "snapshot_path": str(snap / "state"),
                 "mem_file_path": str(snap / "memory")}, timeout=300)
    size = (snap / "memory").stat().st_size
    assert size == (512 + 1024) << 20, f"the memory file has {size} bytes, want RAM then the region"
    vm.stop(grace=0)

    handler = paths.VMM.parent / "vmm-uffd-handler"
    if handler.exists():
        uffd = workdir / "uffd.sock"
        vms.process([handler, "--timeout", "30", uffd, snap / "memory"], name="uffd-handler")
        empty = vms.start(rules, name="vmm-uffd", api=True)
        wait_until(uffd.exists, 10, "the handler's socket")
        refused = empty.api.want(400, "PUT", "/snapshot/load",
                                 {"snapshot_path": str(snap / "state"),
                                  "mem_backend": {"backend_type": "Uffd",
                                                  "backend_path": str(uffd)}})
        assert "page-fault handler" in refused.body, f"the Uffd refusal: {refused.body}"
        empty.stop(grace=0)
    else:
        print(f"note: {handler} not built: the Uffd refusal is not checked")

    vm, shell = linux.restore(vms, snap, rules, name="restored", api=True)
    wait_field(vm.api, "/hotplug/memory", "plugged_size_mib", 128)
    sum_after = value(shell, "SUM1", "md5sum /hp/memhp.bin >/hp/sum && cut -c1-32 /hp/sum")
    total_after = memtotal(shell, "TOTAL1")
    assert sum_after == sum_before, f"md5 after the restore {sum_after}, before {sum_before}"
    assert total_after == total_before, f"MemTotal {total_before} -> {total_after} kB"
    shell.check("rm /hp/memhp.bin")
    rss_before = rss_mib(vm)
    vm.api.want(204, "PATCH", "/hotplug/memory", {"requested_size_mib": 0})
    wait_field(vm.api, "/hotplug/memory", "plugged_size_mib", 0)
    # the blocks go back to the host as the device unplugs them: wait for the drop
    try:
        wait_until(lambda: rss_before - rss_mib(vm) >= 8, 30, "the RSS drops", alive=vm.alive)
    except AssertionError:
        raise AssertionError(f"unplug 128 MiB: RSS {rss_before} -> {rss_mib(vm)} MiB, "
                             "want a drop of at least 8") from None
    print(f"unplug 128 MiB: RSS {rss_before} MiB -> {rss_mib(vm)} MiB")
    vm.api.want(400, "PATCH", "/hotplug/memory", {"requested_size_mib": 3})
    vm.api.want(400, "PATCH", "/hotplug/memory", {"requested_size_mib": 2048})
    stop_guest(vm, timeout=60)
