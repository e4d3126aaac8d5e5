# The default Linux guest (512 MiB, initramfs, shell on COM1) with a virtio-balloon (statistics,
# deflate-on-oom and free page reporting on), driven over --api-sock, restored from a snapshot
# of that guest at its shell (the boot is not what is tested: linux.shell_snapshot; the
# snapshot linux_memhp restores too, linux_api_util.memory_devices_args); the VMM's RSS is read
# from the host (/proc/PID/status VmRSS):
#   1. Linux's virtio_balloon driver binds the device (/sys/bus/virtio/drivers/virtio_balloon);
#   2. free page reporting: dd in the guest touches 64 MB and frees it, and the guest reports the
#      free blocks by itself: the RSS drops by at least 16 MiB from its peak;
#   3. PATCH /balloon {"amount_mib": 64}: the driver inflates, GET /balloon shows actual_mib
#      follow to 64 and the guest's MemFree drops by at least 48 MiB (the balloon holds the
#      pages; that the VMM gives inflated pages back to the host is measured by virtio_balloon.sh
#      with a guest of ours, which knows which pages it touched);
#   4. GET /balloon/statistics has the guest's statistics (polled every 2 s);
#   5. PATCH 0: the balloon deflates (actual_mib 0) and MemFree comes back.
# The sizes are small on purpose: each guest page fault costs ~7 ms where guest kernel code is
# emulated (kvm_pvm; dd of 4 MB took 7 s idle); Linux reports free 4 MiB blocks only, and of 32 MB
# that dd freed it reported 10 MiB (16 MB, freed by awk, was seen reported only in part), so dd
# touches 64 MB; ballooning 256 MiB instead of 128 took a minute more (so 64 here). With dd
# instead of awk (which took 4 times as long a MB) the test took 150 s of CPU instead of 351 s.
# labels: slow linux api
# requires: kvm
# timeout: 1500
# resource: linux:1
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from framework import linux  # noqa: E402
from framework.proc import wait_until  # noqa: E402
from linux_api_util import memory_devices_args, rss_mib, stop_guest, value, wait_field  # noqa: E402,E501

def memfree_mib(shell, tag):
    return int(value(shell, tag, "awk '/MemFree/ {print int($2 / 1024)}' /proc/meminfo"))


class RssWatch:
    """The VMM's RSS sampled every 50 ms in a thread while the block runs: its peak, and the
    lowest sample after the peak."""

    def __init__(self, vm):
        self.vm, self.samples, self.stop = vm, [], threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop.wait(0.05):
            try:
                self.samples.append(rss_mib(self.vm))
            except (OSError, AssertionError):
                return

    def __enter__(self):
        self.samples.append(rss_mib(self.vm))
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def drop(self):
        samples = list(self.samples)
        top = samples.index(max(samples))
        return samples[top] - min(samples[top:])

    def text(self):
        samples = list(self.samples)
        top = samples.index(max(samples))
        return f"{samples[0]} MiB before, peak {samples[top]}, then down to {min(samples[top:])}"


def test_balloon(vms):
    folder = linux.shell_snapshot(memory_devices_args())
    vm, shell = linux.restore(vms, folder, api=True)
    # one program per step (docs/testing.md: pipelines on kvm_pvm); the glob counts the bound
    # devices
    bound = value(shell, "BALLOONDRV", 'set -- /sys/bus/virtio/drivers/virtio_balloon/virtio*; '
                  '[ -e "$1" ] || shift; echo $#')
    assert bound == "1", f"Linux's virtio_balloon driver did not bind the device ({bound})"

    # ---- free page reporting ----
    # dd reads 64 MB of zeros into one buffer (a page fault of the guest's user space for each
    # page: the emulated guest kernel's most expensive work on kvm_pvm; busybox awk building a
    # string as long took ~4 times as long a MB), then exits, leaving the pages free in the
    # guest and resident in the VMM. The RSS is sampled from before dd starts: Linux reports the
    # freed blocks ~2 s after they are freed, which can come before the shell's answer reaches
    # the test (a sample taken only then saw part of the drop: 49 -> 41 MiB).
    with RssWatch(vm) as watch:
        touched = value(shell, "TOUCHED", "dd if=/dev/zero of=/dev/null bs=64000000 count=1 "
                        "2>/dev/null && echo done", timeout=900)
        assert touched == "done", f"dd did not finish: {touched}"
        try:
            wait_until(lambda: watch.drop() >= 16, 120, "the RSS drops by 16 MiB",
                       alive=vm.alive)
        except AssertionError:
            raise AssertionError(f"Linux reporting 64 MB freed by dd: RSS {watch.text()}, "
                                 "want a drop of at least 16 MiB") from None
    print(f"free page reporting: RSS {watch.text()}")

    # ---- inflate, statistics, deflate ----
    free0 = memfree_mib(shell, "FREE0")
    vm.api.want(204, "PATCH", "/balloon", {"amount_mib": 64})
    wait_field(vm.api, "/balloon", "actual_mib", 64)
    free1 = memfree_mib(shell, "FREE1")
    print(f"MemFree: {free0} MiB -> {free1} MiB with 64 MiB in the balloon")
    assert free0 - free1 >= 48, f"MemFree {free0} -> {free1} MiB, want a drop of at least 48"

    # the statistics come every 2 s: wait for the first set
    def statistics():
        answer = vm.api.get("/balloon/statistics")
        body = answer.json() if answer.status == 200 else None
        return body if body and all(body.get(f) is not None for f in
                                    ("total_memory", "free_memory", "available_memory")) else None
    stats = wait_until(statistics, 30, "GET /balloon/statistics with the guest's statistics")
    print(f"statistics: {stats}")
    vm.api.want(200, "GET", "/balloon/statistics")

    vm.api.want(204, "PATCH", "/balloon", {"amount_mib": 0})
    wait_field(vm.api, "/balloon", "actual_mib", 0)
    free2 = memfree_mib(shell, "FREE2")
    assert free2 - free1 >= 48, \
        f"MemFree after the deflate {free2} MiB (was {free1} inflated), want 48 more"
    stop_guest(vm)
