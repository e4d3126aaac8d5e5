"""hotplug: time from the API request that adds a disk or a NIC to the running default Linux
guest until the guest has it (issue 52), ours (ACPI PCI hotplug on bus 0) against QEMU q35's
blockdev-add/netdev_add + device_add on a pcie-root-port (ACPI PCI hotplug, q35's default)."""

import os
import sys
import time

from .config import PEERS
from .control import ApiClient
from .guests import SHELL_ARGS, SHELL_PROMPT, guest_step, linux_guest
from .netns import NET_MAC, NetNS, net_capable
from .runner import rounds
from .vm import LiveVM


HP_DISK_MIB = 16
BOOT_DISK_MIB = 1
STEP_TIMEOUT = 600  # s; a hot-add is emulated guest kernel code here: minutes on a loaded host
# Typed into the guest's shell before the request, so that the guest is already polling when it
# goes out: shell built-ins only (one program per step: on kvm_pvm a pipeline computes with
# wrong memory now and then, docs/testing.md). The markers are written H""P... so that the
# console's echo of the typed line cannot match them. The loop prints READY as it starts.
DISK_WAIT = 'echo H""PREADY1; while [ ! -e /sys/block/vdb ]; do :; done; echo H""PDISK'
# The NIC: the interface appears, then `ip` (the one program) brings it up, then the loop waits
# for the kernel's operstate to say the link is up (virtio-net's status bit, both VMMs).
NET_WAIT = ('echo H""PREADY2; while [ ! -e /sys/class/net/eth0 ]; do :; done; echo H""PNETDEV; '
            'ip link set eth0 up; s=; while [ "$s" != up ]; do '
            'read s </sys/class/net/eth0/operstate; done; echo H""PLINK')


def hotplug_vm(env, g, impl, ns, sock, boot_disk):
    """The default guest at its shell with one read-only virtio-pci disk at boot (so the
    hot-added one is vdb in both, and ours has the PCI bus it needs), in namespace `ns`."""
    append = g["CMDLINE"] + " " + SHELL_ARGS + " vmmguest.dhcp=0"
    if impl == "vmm":
        cmd = env.vmm_cmd(g["VMLINUX"], append, [
            "--api-sock", sock, "--landlock-rules", f"{env.tmp}:rw", "--transport", "pci",
            "--disk", f"{boot_disk},ro"], initrd=g["INITRAMFS"])
    else:  # two root ports to plug into: ACPI hotplug on them is q35's default since QEMU 6.1
        cmd = env.qemu_cmd("q35", g["VMLINUX"], append, [
            "-qmp", f"unix:{sock},server=on,wait=off",
            "-drive", f"if=none,id=boot,file={boot_disk},format=raw,readonly=on",
            "-device", "virtio-blk-pci,drive=boot,bus=pcie.0",
            "-device", "pcie-root-port,id=rp0,chassis=1,slot=1,bus=pcie.0",
            "-device", "pcie-root-port,id=rp1,chassis=2,slot=2,bus=pcie.0"],
            initrd=g["INITRAMFS"])
    return LiveVM(ns.exec(cmd), {"shell": SHELL_PROMPT}, stdin=True)


def add_disk(c, path):
    if c.impl == "vmm":
        return http_ok(c, "/vmm/vm.add-disk", {"path": path, "id": "hp0"})
    qmp_ok(c, "blockdev-add", {"driver": "raw", "node-name": "hp0",
                               "file": {"driver": "file", "filename": path}})
    qmp_ok(c, "device_add", {"driver": "virtio-blk-pci", "id": "hpdisk", "drive": "hp0",
                             "bus": "rp0"})


def add_nic(c, tap):
    if c.impl == "vmm":
        return http_ok(c, "/vmm/vm.add-net", {"tap": tap, "id": "hpnet0", "mac": NET_MAC})
    qmp_ok(c, "netdev_add", {"type": "tap", "id": "hpn0", "ifname": tap, "script": "no",
                             "downscript": "no"})
    qmp_ok(c, "device_add", {"driver": "virtio-net-pci", "id": "hpnic", "netdev": "hpn0",
                             "mac": NET_MAC, "bus": "rp1"})


def http_ok(c, path, body):
    status, answer = c._http("PUT", path, body)
    if b" 200 " not in status and b" 204 " not in status:
        raise OSError(f"PUT {path}: {status.decode().strip()} {answer.decode(errors='replace')}")


def qmp_ok(c, cmd, args):
    r = c._qmp(cmd, args)
    if "error" in r:
        raise OSError(f"QMP {cmd}: {r['error']}")


def measure(vm, c, line, ready, marks, request):
    """Types the guest's polling loop `line`, waits until it runs (its READY marker), then
    calls request(c) on the fresh connection `c` (ours drops one left idle through a long wait;
    it is closed here): ns from just before the request to its answer, then to each of
    `marks`."""
    try:
        return measure_on(vm, c, line, ready, marks, request)
    finally:
        c.close()


def measure_on(vm, c, line, ready, marks, request):
    vm.watch_for("ready", b"\n" + ready.encode())
    for m in marks:
        vm.watch_for(m, b"\n" + m.encode())
    vm.type(line)
    if vm.wait_seen("ready", STEP_TIMEOUT) is None:
        raise OSError(f"the guest's loop did not start ({ready})")
    t0 = time.monotonic_ns()
    request(c)
    answered = time.monotonic_ns() - t0
    times = [answered]
    for m in marks:
        seen = vm.wait_seen(m, STEP_TIMEOUT)
        if seen is None:
            raise OSError(f"no {m} within {STEP_TIMEOUT} s of the request")
        times.append(vm.t0 + seen - t0)
    return times


def bench_hotplug(env, res, a):
    if not net_capable():
        res.note("hotplug: skipped: needs root and `ip netns` (the NIC's tap)")
        return
    g = linux_guest(res)
    if not g:
        return
    impls = [i for i in PEERS["hotplug"] if i == "vmm" or env.have_qemu]
    boot_disk = os.path.join(env.tmp, "hp-boot.img")
    with open(boot_disk, "wb") as f:
        f.truncate(BOOT_DISK_MIB << 20)
    ms = 1e6
    for i, impl in rounds(impls, a.runs):
        hp = os.path.join(env.tmp, f"hp-{i}{impl}.img")
        with open(hp, "wb") as f:
            f.truncate(HP_DISK_MIB << 20)
        sock = os.path.join(env.tmp, f"hp-{i}{impl}.sock")
        vm = None
        try:
            with NetNS() as ns:
                vm = hotplug_vm(env, g, impl, ns, sock, boot_disk)
                if vm.wait_seen("shell", a.boot_timeout) is None:
                    raise OSError("no shell")
                if not guest_step(vm, "true", "HPSETTLED", 60):
                    raise OSError("the shell does not answer")
                kind = "vmm" if impl == "vmm" else "qemu"
                disk = measure(vm, ApiClient(kind, sock), DISK_WAIT, "HPREADY1", ["HPDISK"],
                               lambda c: add_disk(c, hp))
                net = measure(vm, ApiClient(kind, sock), NET_WAIT, "HPREADY2",
                              ["HPNETDEV", "HPLINK"], lambda c: add_nic(c, ns.tap))
        except OSError as e:
            res.fail("hotplug", impl, str(e), vm.stop() if vm else None)
            continue
        finally:
            if vm:
                vm.stop()
            os.unlink(hp)
        print(f"bench: hotplug: {impl} run {i + 1}: disk {disk[1] / ms:.0f} ms, NIC "
              f"{net[1] / ms:.0f} ms, link up {net[2] / ms:.0f} ms", file=sys.stderr, flush=True)
        res.add("hotplug", "disk: request to /sys/block/vdb in the guest", "ms", "lower", impl,
                disk[1] / ms)
        res.add("hotplug", "disk: request answered", "ms", "lower", impl, disk[0] / ms)
        res.add("hotplug", "NIC: request to /sys/class/net/eth0 in the guest", "ms", "lower",
                impl, net[1] / ms)
        res.add("hotplug", "NIC: request to link up (ip link set up, operstate up)", "ms",
                "lower", impl, net[2] / ms)
        res.add("hotplug", "NIC: request answered", "ms", "lower", impl, net[0] / ms)
    res.note("hotplug: the default Linux guest (initramfs, shell on the serial console, one "
             f"{BOOT_DISK_MIB} MiB read-only virtio-pci disk at boot) polls, in a loop of "
             "shell built-ins typed before the request, for the new device; ms on the host's "
             "monotonic clock from sending the request to the loop's marker on the console. "
             f"Disk: a {HP_DISK_MIB} MiB raw file, until /sys/block/vdb exists. NIC: a tap in "
             "the tool's namespace, until /sys/class/net/eth0 exists, then `ip link set eth0 "
             "up` and until its operstate reads up. Ours: PUT /vmm/vm.add-disk and "
             "/vmm/vm.add-net (ACPI PCI hotplug on bus 0). QEMU q35: blockdev-add + device_add "
             "virtio-blk-pci and netdev_add + device_add virtio-net-pci (QMP, timed from the "
             "first command) on a pcie-root-port, ACPI PCI hotplug (q35's default). "
             "'answered': the request's own round trip (QEMU: both commands).")
