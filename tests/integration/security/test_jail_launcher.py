# A start as Firecracker's launchers make it (issue 49), written from firecracker-go-sdk's
# jailer.go and handler list (firecracker-containerd and flintlock start through it):
#   1. the jailer's command line: vmm-jail --id ID --uid --gid --exec-file VMM
#      --chroot-base-dir BASE --netns NS -- --no-seccomp --api-sock /run/firecracker.socket
#      (the SDK's defaults: no --daemonize, no --new-pid-ns, seccomp off unless asked);
#   2. the launcher finds the API at BASE/vmm/ID/root/run/firecracker.socket, hard-links the
#      kernel, initrd, disk and the log and metrics FIFOs into the jail's root (chowned to the
#      jail's uid) and names them by their bare file names, relative to the jail's root;
#   3. the SDK's order: PUT /logger, PUT /metrics, PUT /machine-config, PUT /boot-source,
#      PUT /drives/rootfs, PUT /network-interfaces/1 (a tap owned by the jail's uid in the
#      --netns namespace; left out with a note where none can be made), InstanceStart;
# each answer checked (204), then in the same boot: the default Linux guest runs (its shell
# starts) and sees the disk (its marker) and the NIC (its MAC and the kernel's static IP), the
# guest answers ping in the namespace, GET / names the jailer's id and says Running, the VMM's
# arguments start with Firecracker's jailer's (--id ID --start-time-us ...), a FlushMetrics
# line on the FIFO has the id (emit_id) and Firecracker's api_server startup times, the log
# FIFO has Firecracker-style lines, <root>/vmm.pid names the VMM; finally `reboot -f` in the
# guest ends the VMM with 0, vmm-jail exits 0 and removes what it made (the linked files,
# the launcher's, stay until the launcher removes the jail, as after Firecracker's jailer).
# The boot itself is under test (the jail's, API-configured): no shared snapshot.
# labels: sandbox slow linux
# requires: kvm root curl python3
# timeout: 600
# resource: linux:1
import json
import os
import re
import shutil
import subprocess

import pytest

from framework import linux
from framework.api import Api
from jail_util import (JAIL, cmdline, firecracker_args_re, jail_base, remove_base,
                       require_jail)

TAP = "tap0"
MAC = "52:54:00:79:00:02"


@pytest.fixture
def jail_netns():
    """The network namespace and a tap the jail's uid may open (the jail's VMM has no
    CAP_NET_ADMIN: the tap must exist and be its own, as launchers make it); (name, has a tap)."""
    name = f"vmmlaunch-{os.getpid()}"
    steps = [["netns", "add", name], ["-n", name, "link", "set", "lo", "up"],
             ["-n", name, "tuntap", "add", "dev", TAP, "mode", "tap", "user", "65534",
              "vnet_hdr"],
             ["-n", name, "addr", "add", "192.168.79.1/24", "dev", TAP],
             ["-n", name, "link", "set", TAP, "up"]]
    net = all(subprocess.run(["ip", *step], capture_output=True).returncode == 0
              for step in steps)
    if not net:
        print("note: no tap in a network namespace here: PUT /network-interfaces is left out")
        subprocess.run(["ip", "netns", "add", name], capture_output=True)
    yield name, net
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


def link(src, dst):
    """A hard link (the SDK's os.Link), a copy across file systems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def test_jail_launcher(vms, workdir, jail_netns):
    require_jail()
    img = linux.images()
    ns, net = jail_netns
    base = jail_base(workdir, "vmm-launcher-test")
    jail_id = f"fc-launch-{os.getpid()}"
    root = base / "vmm" / jail_id / "root"
    try:
        _launch(vms, workdir, img, ns, net, base, jail_id, root)
    finally:
        remove_base(base)


def _launch(vms, workdir, img, ns, net, base, jail_id, root):
    # ---- 1. the jailer's command line (the console's input a pipe: "reboot -f" at the end)
    netns = ["--netns", f"/var/run/netns/{ns}"] if os.path.exists(f"/var/run/netns/{ns}") else []
    vm = vms.start(["--chroot-base-dir", base, *netns, "--", "--no-seccomp",
                    "--api-sock", "/run/firecracker.socket"], name="vmm-jail",
                   console_in=True, wrap=[JAIL, "--id", jail_id, "--uid", "65534", "--gid",
                                          "65534", "--exec-file"])
    api = Api(root / "run" / "firecracker.socket", timeout=30)
    api.wait_ready(10, alive=vm.alive)  # where the SDK looks

    # ---- 2. the launcher's files, linked into the jail's root
    shutil.copyfile(img["DISK"], workdir / "rootfs.ext4")
    os.chown(workdir / "rootfs.ext4", 65534, 65534)
    link(img["VMLINUX"], root / "vmlinux")
    link(img["INITRAMFS"], root / "initrd.cpio")
    link(workdir / "rootfs.ext4", root / "rootfs.ext4")
    for name in ("log.fifo", "metrics.fifo"):
        os.mkfifo(workdir / name)
        link(workdir / name, root / name)
        os.chown(root / name, 65534, 65534)
    log = vms.process(["cat", workdir / "log.fifo"], name="log")
    metrics = vms.process(["cat", workdir / "metrics.fifo"], name="metrics")

    # ---- 3. the API calls in the SDK's order, each a 204
    api.want(204, "PUT", "/logger", {"log_path": "log.fifo", "level": "Debug",
                                     "show_level": True, "show_log_origin": True})
    api.want(204, "PUT", "/metrics", {"metrics_path": "metrics.fifo", "emit_id": True})
    api.want(204, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 256, "smt": False})
    args = f"{img['CMDLINE']} vmmguest.shell=1 vmmguest.dhcp=0"
    if net:
        args += " ip=192.168.79.2::192.168.79.1:255.255.255.0::eth0:off"
    api.want(204, "PUT", "/boot-source", {"kernel_image_path": "vmlinux",
                                          "initrd_path": "initrd.cpio", "boot_args": args})
    api.want(204, "PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": "rootfs.ext4",
                                            "is_root_device": True, "is_read_only": False})
    if net:
        api.want(204, "PUT", "/network-interfaces/1", {"iface_id": "1", "host_dev_name": TAP,
                                                       "guest_mac": MAC})
    api.want(204, "PUT", "/actions", {"action_type": "InstanceStart"})

    # ---- the running VM, seen as a launcher sees it
    vm.wait_out(linux.SHELL_LINE.lstrip("^"), 600)
    vm.wait_out(rf"^VMM-GUEST-DISK-MARKER: {re.escape(img['DISK_MARKER'])}$", 10)
    if net:
        vm.wait_out(rf"device=eth0, hwaddr={MAC}, ipaddr=192\.168\.79\.2,", 10)
        ping = subprocess.run(["ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.5", "-W",
                               "5", "192.168.79.2"], capture_output=True, text=True)
        assert ping.returncode == 0, f"the guest answers no ping in the jail's namespace:\n" \
                                     f"{ping.stdout}{ping.stderr}"
    got = api.want(200, "GET", "/").body
    assert f'"id":"{jail_id}"' in got and '"Running"' in got, \
        f"GET / names the jailer's --id and says Running: {got}"
    vmm_pid = (root / "vmm.pid").read_text().strip()
    assert vmm_pid and os.path.isdir(f"/proc/{vmm_pid}"), f"vmm.pid names no running VMM"
    assert re.match(firecracker_args_re(jail_id, "--no-seccomp"), cmdline(vmm_pid)), \
        f"the VMM's arguments, as Firecracker's jailer passes them: {cmdline(vmm_pid)}"
    api.want(204, "PUT", "/actions", {"action_type": "FlushMetrics"})
    metrics.wait_out(r"api_server", 5)
    line = metrics.out.strip().splitlines()[-1]
    m = json.loads(line)
    server = m["api_server"]
    assert m["id"] == jail_id, m.get("id")
    assert 0 < server["process_startup_time_us"] < 600_000_000, server
    assert server["process_startup_time_cpu_us"] > 0, server
    line_re = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z \[vmm:(ERROR|WARN|INFO|DEBUG):[^]]+:[0-9]+\] "
    assert re.search(line_re, log.out, re.M), \
        f"the log FIFO has no Firecracker-style line: {log.out[:300]}"

    # ---- the end: the guest resets, the VMM exits 0, vmm-jail with it
    vm.type("reboot -f")
    status = vm.wait(300)
    assert status == 0, f"vmm-jail: status {status}, want 0\n{vm.tail()}"
    left = sorted(os.listdir(root)) if root.exists() else []
    assert left == ["initrd.cpio", "log.fifo", "metrics.fifo", "rootfs.ext4", "vmlinux"], \
        f"vmm-jail removed what it made, the launcher's files stay: {left}"
