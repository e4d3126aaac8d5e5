"""memhp: plugging and unplugging virtio-mem memory in a running Linux guest."""

import json
import os
import time

from .control import ApiClient
from .guests import guest_step, linux_guest
from .runner import rounds
from .vm import LiveVM


def memhp_wait(c, mib, timeout):
    """GET /hotplug/memory until plugged_size_mib is `mib`; seconds it took, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        _, body = c._http("GET", "/hotplug/memory")
        try:
            if json.loads(body or b"{}").get("plugged_size_mib") == mib:
                return time.monotonic() - t0
        except ValueError:
            pass
        time.sleep(0.05)
    return None


def vm_rss_mib(pid):
    """VmRSS of a process, MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def bench_memhp(env, res, a):
    g = linux_guest(res)
    if not g:
        return
    total = 256 if a.quick else 1024
    fill = total // 4  # MiB the guest writes to a tmpfs once the region is plugged
    sock = os.path.join(env.tmp, "memhp.sock")
    cmd = [env.vmm, "--kernel", g["VMLINUX"], "--initrd", g["INITRAMFS"], "--mem", "512M",
           "--console", "stdio", "--api-sock", sock, "--memory-hotplug", f"total={total}M",
           "--append", g["CMDLINE"] + " vmmguest.shell=1 vmmguest.dhcp=0"
           " memhp_default_state=online_movable"]
    vm = LiveVM(cmd, {"shell": b"VMM-GUEST-SHELL: starting"}, stdin=True)
    try:
        if vm.wait_seen("shell", a.boot_timeout) is None:
            res.fail("memhp", "vmm", "no shell", vm.stop())
            return
        # One program at a time in the guest (on kvm_pvm a pipeline computes with wrong memory
        # now and then: docs/testing.md).
        if not guest_step(vm, "mkdir -p /mnt/hp; mount -t tmpfs -o size=90% none /mnt/hp",
                          "TMPFS-READY", 120):
            res.fail("memhp", "vmm", "no tmpfs in the guest", vm.stop())
            return
        for _ in rounds(["vmm"], a.runs):
            for want, label in ((total, "plug"), (0, "unplug")):
                if want == 0:  # what the guest wrote goes before its memory does
                    guest_step(vm, "rm -f /mnt/hp/f", "FILL-GONE", 120)
                # A connection per step: the API closes one left idle while the guest writes.
                c = ApiClient("vmm", sock)
                status, _ = c._http("PATCH", "/hotplug/memory", {"requested_size_mib": want})
                took = memhp_wait(c, want, 600) if b" 204 " in status else None
                c.close()
                if took is None:
                    res.fail("memhp", "vmm", f"{label} {total} MiB: {status!r}", vm.stop())
                    return
                res.add("memhp", f"{label} {total} MiB: request to plugged_size_mib {want}", "s",
                        "lower", "vmm", took)
                if want:
                    if not guest_step(vm, f"dd if=/dev/zero of=/mnt/hp/f bs=1M count={fill}"
                                      " 2>/dev/null", "FILL-DONE", 600):
                        res.fail("memhp", "vmm", f"the guest did not write {fill} MiB",
                                 vm.stop())
                        return
                    res.add("memhp", f"VMM RSS, {total} MiB plugged and {fill} MiB written",
                            "MiB", "lower", "vmm", vm_rss_mib(vm.p.pid))
                else:
                    time.sleep(1)
                    res.add("memhp", "VMM RSS after the unplug", "MiB", "lower", "vmm",
                            vm_rss_mib(vm.p.pid))
    finally:
        vm.stop()
    res.note(f"memhp: ours only, one Linux guest (512 MiB, initramfs, "
             f"memhp_default_state=online_movable) with a {total} MiB virtio-mem region: PATCH "
             "/hotplug/memory to all of it, then to 0, timed from the request until GET shows "
             "the plugged size followed (the guest's driver plugs and onlines, or offlines and "
             "unplugs, block by block; the unplugged blocks are madvised away). Between the "
             f"two the guest writes {fill} MiB of zeros to a tmpfs (movable pages, so mostly "
             "in the plugged memory) and the VMM's VmRSS is read; the file is removed before "
             "the unplug and VmRSS read again after it.")
