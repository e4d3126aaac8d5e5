# The default Linux guest with its root file system on virtio-pmem: the ext4 image (padded to a
# multiple of 2 MiB) mapped read-only (--pmem path=IMG,ro,root: root=/dev/pmem0 rootflags=dax ro),
# and a second, writable pmem device. Checks that:
#   1. the kernel mounted the root from /dev/pmem0, with DAX (/proc/mounts says dax);
#   2. /init ran from it and its shell came up;
#   3. bytes written to /dev/pmem1 and flushed (dd conv=fsync: a virtio-pmem FLUSH, answered after
#      the host's fsync) are in the host file after the VM has ended.
# The same boot has a virtio-net NIC on user networking (--net user, libslirp) with the kernel's
# `ip=dhcp` (what net_linux_dhcp.sh did in a boot of its own): the kernel's IP autoconfiguration
# completes with libslirp's lease, 10.0.2.15 via 10.0.2.2, before the root is mounted.
# This one boots (the root device and the kernel's DHCP are the boot's): no shared snapshot.
# First passed on a kvm_pvm host on 2026-11-24 (guest kernel with NVDIMM_PFN, disk with 4 KiB blocks).
# labels: slow linux
# requires: kvm
# timeout: 900
# resource: linux:1
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from framework import linux  # noqa: E402
from framework.linux import Shell  # noqa: E402
from linux_api_util import copy_disk, stop_guest  # noqa: E402


def test_root_on_pmem(vms, workdir, transport="mmio"):
    img = linux.images()
    root = copy_disk(workdir / "root.ext4")
    size = root.stat().st_size
    with open(root, "r+b") as f:
        f.truncate((size + (2 << 20) - 1) // (2 << 20) * (2 << 20))
    data = workdir / "data.img"
    with open(data, "wb") as f:
        f.truncate(4 << 20)
    args = ["-v", "-v", "--kernel", img["VMLINUX"], "--mem", "256M", "--console", "stdio",
            "--transport", transport, "--pmem", f"path={root},ro,root", "--pmem", f"path={data}",
            "--net", "user", "--append",
            f"{img['CMDLINE']} rootfstype=ext4 ip=dhcp vmmguest.shell=1 vmmguest.dhcp=0"]
    vm = vms.start(args, name="linux", console_in=True)
    shell = Shell(vm)
    shell.wait_started(timeout=800)  # a boot from pmem with -v -v logs
    assert re.search(r"virtio-net: driver ready", vm.err), "the guest did not drive virtio-net"
    linux_out = vm.out
    assert re.search(r"IP-Config: Complete", linux_out), "no IP-Config: Complete"
    assert re.search(r"ipaddr=10\.0\.2\.15, mask=255\.255\.255\.0, gw=10\.0\.2\.2", linux_out), \
        "no DHCP lease 10.0.2.15/24 via 10.0.2.2"
    assert re.search(r"bootserver=10\.0\.2\.2", linux_out), "the DHCP server is not slirp"
    # Shell built-ins only: on kvm_pvm a pipeline of busybox programs computes with wrong memory
    # now and then (docs/testing.md, "Known issue"; `$(grep | tr)` segfaulted here in a CI run).
    # (Not $t in the loop: the shell helper keeps its tag there.)
    out = shell.check('while read d m f o r; do [ "$m" = / ] && echo "ROOT""MOUNT-$d,$m,$f,$o"; '
                      'done </proc/mounts; true')
    assert re.search(r"^ROOTMOUNT-/dev/(root|pmem0),/,ext4", out, re.M), \
        f"the root is not /dev/pmem0: {out}"
    assert re.search(r"^ROOTMOUNT-.*dax", out, re.M), f"the root is not mounted with DAX: {out}"
    # The bytes go in with the shell's echo, then dd rewrites that block with conv=fsync (the
    # FLUSH): one program at a time, no pipeline.
    shell.check("echo PMEM-DATA-4d2f9a >/dev/pmem1; dd if=/dev/pmem1 of=/dev/pmem1 bs=4096 "
                "count=1 conv=notrunc,fsync 2>/dev/null")
    stop_guest(vm)
    assert b"PMEM-DATA-4d2f9a" in data.read_bytes(), \
        "the host file does not have the bytes written in the guest"
    assert re.search(r"virtio-pmem: driver ready", vm.err), "the guest did not drive virtio-pmem"
