# Live fork of the default Linux guest at its shell (docs/sandboxes.md): the parent (initramfs,
# RAM in a memfd, a raw scratch disk it wrote "parent-data" to, a NIC on a tap, a vsock) is
# forked with `vmmctl fork` into LINUX_FORK_CHILDREN children (4 by default), each a VMM the
# test started beforehand on its own API socket and console FIFO, given its own MAC, its own
# qcow2 overlay over the scratch disk, its own tap and its own vsock socket (the VMMs run in a
# network namespace of their own, where the taps are). Checked:
#   - every child's shell answers, and reads the parent's "parent-data" from its disk;
#   - every child writes its name to its disk, then (after all have written) reads its own name
#     back: no child sees another's write, and the parent's file and its console are untouched;
#   - each child's NIC has the child's MAC once the driver probes again (a running Linux driver
#     reads the MAC at probe only: unbind and bind);
#   - each child's vsock socket is its own (the parent's is still there);
#   - the parent's shell answers after the fork.
# Printed, not asserted: the parent's pause, the time to each child running, each child's
# private memory (smaps_rollup).
# The parent boots: its NIC is on a tap in this test's own network namespace, which the shared
# snapshot's boot has not (a restored --mem-shared VM forks too: snapshot/fork_live checks it).
# Both Linux slots: the children are more Linux VMs on the host's CPUs (beside it, in two
# fresh-clone runs, linux_memhp took 419 s instead of 175 and linux_balloon 420 instead of 240).
# labels: slow linux snapshot
# requires: kvm netns
# timeout: 1500
# resource: linux:2
import json
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from framework import host, linux, paths  # noqa: E402
from framework.linux import Shell, check_all  # noqa: E402

# Four children: ten took 549 s of both Linux slots in CI (2026-11-28) and one child missed its
# 300 s to answer; what a fork must keep apart is already there with two.
N = int(os.environ.get("LINUX_FORK_CHILDREN", "4"))


def smaps(pid, *fields):
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in fields:
                total += int(rest.split()[0])
    return total


def test_fork(vms, workdir, netns):
    host.require("qemu-img")
    if not paths.VMMCTL.exists():
        host.skip("no vmmctl", f"no vmmctl at {paths.VMMCTL}")
    img = linux.images()
    cmdline = img["CMDLINE"]
    # On kvm_pvm the guest kernel's code is emulated (~1,600 emulated instructions per timer
    # tick) and its periodic tick (HZ=100, no high-resolution timers) runs on the one-shot
    # TSC-deadline LAPIC timer: tick_handle_periodic() then catches up missed ticks one by one,
    # with interrupts off, until the next tick lies in the future. A guest emulated slower than
    # its ticks fall due (11 VMs sharing the CPUs, its memory faulted in again after the fork or
    # a restore) never leaves that loop: its console dies, its vCPU stays in KVM_RUN
    # (docs/sandboxes.md). Without the TSC-deadline timer (CPUID bit 152 cleared) the LAPIC timer
    # runs periodic and a late tick is dropped instead. The bit joins the emulated-KVM command
    # line's clearcpuid list (one list: a second clearcpuid= would replace the first).
    if img.get("EMULATED_KVM", "0") == "1":
        cmdline = cmdline.replace("clearcpuid=", "clearcpuid=152,", 1)
        if "clearcpuid=152," not in cmdline:
            cmdline += " clearcpuid=152"
    # the VMMs run in a network namespace of their own, where the taps are
    ns = netns(tap="ftap")
    for i in range(N):
        ns.ip("tuntap", "add", "dev", f"ftap{i}", "mode", "tap", "vnet_hdr")
        ns.ip("link", "set", f"ftap{i}", "up")
    rules = ["--landlock-rules", f"{workdir}:rw"]
    scratch = workdir / "scratch.img"
    with open(scratch, "wb") as f:
        f.truncate(16 << 20)
    parent, shell = linux.boot(vms, [
        *rules, "--kernel", img["VMLINUX"], "--initrd", img["INITRAMFS"], "--mem", "256M",
        "--mem-shared", "--append", f"{cmdline} vmmguest.shell=1 vmmguest.dhcp=0",
        "--console", "stdio", "--disk", f"{scratch},id=scratch,backing_files=on",
        "--net", "tap=ftap,mac=52:54:00:00:10:00", "--vsock", f"cid=3,uds={workdir}/v.sock"],
        name="parent", api=True, wrap=ns.wrap)
    shell.check("echo parent-data | dd of=/dev/vda bs=512 count=1 conv=sync 2>/dev/null; sync")

    # The children's VMMs wait on their sockets; their disks are overlays over the parent's
    # file (which the parent does not write after the fork here: see docs/sandboxes.md on
    # disks).
    kids, children = [], []
    for i in range(N):
        overlay = workdir / f"c{i}.qcow2"
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", scratch, "-F", "raw",
                        overlay], check=True)
        child = vms.start(rules, name=f"c{i}", api=True, console_in=True, wrap=ns.wrap)
        children.append(child)
        kids.append({"api_socket": str(child.sock),
                     "network_overrides": [{"iface_id": "net0", "host_dev_name": f"ftap{i}",
                                            "guest_mac": f"52:54:00:00:20:{i:02x}"}],
                     "drive_overrides": [{"drive_id": "scratch", "path_on_host": str(overlay)}],
                     "vsock_override": {"uds_path": str(workdir / f"v{i}.sock")}})
    body = {"state_path": str(workdir / "fork-state"), "children": kids}
    run = subprocess.run([paths.VMMCTL, "--sock", parent.sock, "--timeout", "300", "fork",
                          json.dumps(body)], capture_output=True, text=True, timeout=330)
    assert run.returncode == 0, f"vmmctl fork: {run.stderr}"
    fork = json.loads(run.stdout)
    print(f"parent paused {fork.get('parent_pause_us')} us; to each child running (ms): "
          f"{[int(c['running_ms']) for c in fork['children']]}")
    print("\n".join(re.findall(r".*fork: state.*", parent.err)))

    out = shell.check("echo parent-goes-on")
    assert "parent-goes-on" in out
    shells = [Shell(child) for child in children]
    # Each step is typed at every child at once, then each one's answer read: the children run
    # side by side, as the fork made them.
    outs = check_all(shells, lambda i: f"echo child-{i}-answers; head -c 11 /dev/vda; echo",
                     timeout=300)
    for i, out in enumerate(outs):
        assert f"child-{i}-answers" in out, f"child {i}'s shell does not answer: {out}"
        assert re.search(r"^parent-data", out, re.M), \
            f"child {i} does not read the parent's disk as it was at the fork: {out}"

    print("child   pid    RSS kB  PSS kB  private kB")
    for i, child in enumerate(children):
        print(f"{i:5d} {child.pid:6d} {smaps(child.pid, 'Rss'):8d} {smaps(child.pid, 'Pss'):7d} "
              f"{smaps(child.pid, 'Private_Clean', 'Private_Dirty'):11d}")

    check_all(shells, lambda i: f"echo child-{i} | dd of=/dev/vda bs=512 count=1 "
              "conv=sync,fsync 2>/dev/null", timeout=300)
    # (after all have written) no pipelines in the guest's commands:
    # guest-images/rootfs/usr/share/vmmguest/lib.sh
    outs = check_all(shells, "echo 3 >/proc/sys/vm/drop_caches; head -c 16 /dev/vda >/tmp/r; "
                     "read -r v </tmp/r; echo READ-$v-END", timeout=300)
    for i, out in enumerate(outs):
        reads = re.findall(r"^READ-.*", out, re.M)
        assert reads == [f"READ-child-{i}-END"], f"child {i} read back {reads}"
    # built-ins only (each program costs ~1 s on kvm_pvm): cd -P for readlink
    outs = check_all(shells, "cd -P /sys/class/net/eth0/device && d=${PWD##*/}; cd /; "
                     "echo $d >/sys/bus/virtio/drivers/virtio_net/unbind; "
                     "echo $d >/sys/bus/virtio/drivers/virtio_net/bind; " +
                     linux.until("[ -e /sys/class/net/eth0/address ]", 30) +
                     "; read -r m </sys/class/net/eth0/address; echo MAC-$m-END", timeout=300)
    for i, out in enumerate(outs):
        mac = f"52:54:00:00:20:{i:02x}"
        assert f"MAC-{mac}-END" in out, f"child {i}'s NIC does not have its own MAC: {out}"
        assert (workdir / f"v{i}.sock").exists(), f"no vsock socket v{i}.sock"
        raw = workdir / f"c{i}.raw"
        subprocess.run(["qemu-img", "convert", "-O", "raw", workdir / f"c{i}.qcow2", raw],
                       check=True)
        assert raw.read_bytes()[:7] == f"child-{i}".encode()[:7], \
            f"child {i}'s overlay does not hold child-{i}"
        raw.unlink()
    assert scratch.read_bytes()[:11] == b"parent-data", "the parent's disk changed"
    assert (workdir / "v.sock").exists(), "the parent's vsock socket is gone"
    assert not re.search(r"child-[0-9]", parent.out), "a child's output reached the parent's console"
    assert "parent-still" in shell.check("echo parent-still"), "the parent's shell at the end"
