# PCI hotplug (docs/hotplug.md) with Debian 12's stock cloud kernel, which has ACPI and acpiphp
# built in (CONFIG_HOTPLUG_PCI_ACPI=y): one boot on our VMM (2 vCPUs, 256 MiB, its disk over
# virtio-pci so the VM has a PCI bus, --api-sock), /init in its hotplug mode
# (guest-images/stock/init.sh, vmmstock.end=hotplug). The test, through vmmctl:
#   - when /init waits, adds a disk (vmmctl add-disk IMG --id hp0: 200 with {"id", "bdf"}) and,
#     when a tap can be made, a NIC (add-net TAP --id hpnet0); asks for the same id again and an
#     unknown id's removal (400s, nothing added);
#   - the guest must list the hotplug slots (/sys/bus/pci/slots, from the DSDT's _SUN), see
#     /dev/vdb arrive (sysfs; busybox has no udev) with the image's size, write a line to it
#     and read it back, and see eth0 arrive;
#   - when /init is ready, removes both (remove-device: 204 once the guest's _EJ0 released
#     them); /dev/vdb and eth0 must go;
#   - adds a vsock (add-vsock 7 SOCK --id hpvs0) and a pmem device (add-pmem FILE --id hppm0,
#     2 MiB, a marker on its first line): the guest's vmw_vsock_virtio_transport binds the
#     vsock device, /dev/pmem0 arrives and reads the marker (Debian's modules: vsock,
#     vmw_vsock_virtio_transport, libnvdimm, nd_pmem, virtio_pmem, in the initramfs); removes
#     both: the device and /dev/pmem0 go (vmmstock.hpvp=1);
#   - when virtiofsd is installed, adds a shared folder (add-fs hpshare SOCK --id hpfs0; guest
#     RAM is a memfd, --mem-shared, which virtiofsd maps): Debian's virtiofs module binds it,
#     /init mounts the tag, reads the host's marker, writes a file the host then reads, and
#     unmounts; removes it: the device goes (vmmstock.hpfs=1);
#   - adds the disk again: /init reads the line it wrote before;
#   - removes the disk the VM started with (drive0, /dev/vda; not the root disk: /init runs from
#     its initramfs): 204 once the guest released it, /dev/vda goes;
#   - the VMM ends with status 0 after the guest's poweroff -f.
# Then, when QEMU is installed, the same kernel and /init on QEMU's q35 (a PCIe root port, its
# ACPI hotplug) with QMP's device_add and device_del as the peer: not counted, timed the same
# way. Printed: the time from the add request (vmmctl add-disk; QMP device_add) to /init's
# "/dev/vdb arrived" line on the console, and from the remove request to "vdb gone", each
# measured on the host (the console looked at every 20 ms, /init looks at sysfs every 50 ms).
# Where it runs: as linux_stock (on kvm_pvm in the run's L1, framework/l1.py; the checks here),
# and as there, no QEMU peer in L1 unless STOCK_PEER=1 (after ours it took the other half of the
# test's time in L1, for lines that are printed only). STOCK_DIRECT=1 boots here anyway.
# labels: slow linux api
# requires: kvm
# timeout: 900
# resource: linux:2
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # framework/, when run in L1
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "boot"))

import pytest  # noqa: E402

from firmware_stock_checks import stock_env  # noqa: E402
from framework import host, l1, paths  # noqa: E402
from framework.proc import WaitTimeout, read_text  # noqa: E402
from framework.vm import Vms  # noqa: E402

BOOT_TIMEOUT = int(os.environ.get("BOOT_TIMEOUT", "400"))
# How long a timing's line is waited for before the next step (which waits for its own line):
# /init gives the guest 120 s for each removal, so a line the test missed must not use them up.
LINE_WAIT = 30
VIRTIOFSD = os.environ.get("VIRTIOFSD", "/usr/lib/qemu/virtiofsd")


# ---- the boot (here, or in L1 with its files in a folder shared with it) ----

class Driver:
    """The requests to one machine, their answers and times into RESULTS."""

    def __init__(self, vm, results, prefix):
        self.vm = vm
        self.results = results
        self.prefix = prefix

    def stamp(self, name):
        self.results[f"{name}.ms"] = time.monotonic() * 1000

    def line_stamp(self, name, regex):
        """Once /init's line REGEX shows, the time into NAME.ms (in a thread)."""
        def watch():
            try:
                self.vm.wait_out(regex, BOOT_TIMEOUT)
                self.stamp(name)
            except WaitTimeout:
                pass
        t = threading.Thread(target=watch, daemon=True)
        t.start()
        return t

    def ctl(self, name, *args):
        """vmmctl's output, duration (ms) and status into NAME."""
        t0 = time.monotonic()
        run = subprocess.run([str(paths.VMMCTL), "--sock", str(self.vm.sock), *map(str, args)],
                             capture_output=True, text=True)
        self.results[name] = {"status": run.returncode, "ms": round((time.monotonic() - t0) * 1000),
                              "out": run.stdout + run.stderr}


def qmp(path, command):
    """One QMP command (after the capabilities handshake); its answer."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(60)
        s.connect(str(path))
        f = s.makefile("rw")
        f.readline()
        for cmd in ({"execute": "qmp_capabilities"}, command):
            f.write(json.dumps(cmd) + "\n")
            f.flush()
            while True:
                line = json.loads(f.readline())
                if "return" in line or "error" in line:
                    break
        return line


def boot(out, in_l1, peer):
    out = Path(out)
    env = stock_env()
    cmdline = env["STOCK_CMDLINE_EMULATED_KVM" if host.kvm_kind() == "pvm" else "STOCK_CMDLINE_NORMAL"]
    if in_l1:
        cmdline += " noxsave"  # linux_stock says why
    results = {"net": 0, "fs": 0}
    start = time.monotonic()
    # the machine's own folder: the vsock's socket, the pmem file, virtiofsd's socket, the disks
    # (in L1 OUT is shared with the host, where a Unix socket or a shared mapping may not work)
    with tempfile.TemporaryDirectory(prefix="stock-hp.") as work:
        work = Path(work)
        vms = Vms(work)
        mirror = l1.mirrored(vms, out).start()
        tap = None
        try:
            if subprocess.run(["ip", "tuntap", "add", "vmmhp0", "mode", "tap", "user",
                               str(os.getuid())], capture_output=True).returncode == 0:
                tap = "vmmhp0"
                subprocess.run(["ip", "link", "set", tap, "up"], check=True)
                results["net"] = 1
                cmdline += " vmmstock.hpnet=1"
            (work / "pm.img").write_text("VMM-STOCK-PMEM-MARK\n")
            os.truncate(work / "pm.img", 2 << 20)
            cmdline += " vmmstock.hpvp=1 vmmstock.hprmboot=1"
            # the shared folder: virtiofsd's socket here too, a marker for the guest to read
            if os.access(VIRTIOFSD, os.X_OK):
                (work / "share").mkdir()
                (work / "share" / "mark").write_text("VMM-STOCK-FS-MARK\n")
                vms.process([VIRTIOFSD, f"--socket-path={work / 'fs.sock'}",
                             "-o", f"source={work / 'share'}", "-o", "cache=none"], name="virtiofsd")
                results["fs"] = 1
                cmdline += " vmmstock.hpfs=1"
            (work / "root.img").write_text("VMM-STOCK-ROOT\n")
            os.truncate(work / "root.img", 8 << 20)
            for name in ("hp.img", "other.img"):
                (work / name).touch()
                os.truncate(work / name, 4 << 20)
            vm = vms.start(["--kernel", env["STOCK_KERNEL"], "--initrd", env["STOCK_INITRAMFS"],
                            "--cpus", "2", "--mem", "256M", "--mem-shared", "--transport", "pci",
                            "--disk", work / "root.img", "--landlock-rules", f"{work}:rw",
                            "--append", f"{cmdline} vmmstock.end=hotplug"], name="vmm", api=True)
            d = Driver(vm, results, "vmm")
            try:
                l1.wait_out(vm, r"^VMM-STOCK-HOTPLUG: waiting$", BOOT_TIMEOUT)
                d.stamp("vmm-add-req")
                seen = d.line_stamp("vmm-add-seen", r"^VMM-STOCK-HOTPLUG-ADDED")
                d.ctl("add1", "add-disk", work / "hp.img", "--id", "hp0")
                if tap:
                    d.ctl("addnet", "add-net", tap, "--id", "hpnet0")
                d.ctl("addvs", "add-vsock", "7", work / "vs.sock", "--id", "hpvs0")
                d.ctl("addpm", "add-pmem", work / "pm.img", "--id", "hppm0")
                if results["fs"]:
                    d.ctl("addfs", "add-fs", "hpshare", work / "fs.sock", "--id", "hpfs0")
                d.ctl("dup", "add-disk", work / "other.img", "--id", "hp0")
                d.ctl("rmnone", "remove-device", "nope")
                seen.join(LINE_WAIT)  # a timing: the next step waits for /init's own line
                l1.wait_out(vm, r"^VMM-STOCK-HOTPLUG: ready to remove", BOOT_TIMEOUT)
                d.stamp("vmm-rm-req")
                seen = d.line_stamp("vmm-rm-seen", r"^VMM-STOCK-HOTPLUG-REMOVED")
                d.ctl("rm1", "remove-device", "hp0")
                if tap:
                    d.ctl("rmnet", "remove-device", "hpnet0")
                d.ctl("rmvs", "remove-device", "hpvs0")
                d.ctl("rmpm", "remove-device", "hppm0")
                if results["fs"]:
                    d.ctl("rmfs", "remove-device", "hpfs0")
                seen.join(LINE_WAIT)
                l1.wait_out(vm, r"^VMM-STOCK-HOTPLUG: waiting again", BOOT_TIMEOUT)
                d.ctl("add2", "add-disk", work / "hp.img", "--id", "hp0")
                l1.wait_out(vm, r"^VMM-STOCK-HOTPLUG: remove the boot disk", BOOT_TIMEOUT)
                d.ctl("rmboot", "remove-device", "drive0")
                status = vm.wait(BOOT_TIMEOUT)
            except WaitTimeout as stopped:
                results["stopped"] = f"the steps stopped: {stopped}"
                if isinstance(stopped, l1.L1Loop):  # L1's failure: job_end() ends the job so
                    (out / "vmm.stall").write_text(stopped.line + "\n")
                vm.stop()
                status = vm.popen.returncode
            results["vmm.status"] = status
            (out / "vmm.log").write_text(vm.out)
            (out / "vmm.err").write_text(vm.err)
            if results["fs"]:
                results["fs-from-guest"] = read_text(work / "share" / "from-guest")
            print(f"vmm: status {status}, {time.monotonic() - start:.0f} s", flush=True)
            if tap:
                subprocess.run(["ip", "link", "del", tap], capture_output=True)
                tap = None
            if status == 0 and peer and host.has(paths.QEMU):
                # the peer gets no NIC: /init would wait for one (nor a vsock, pmem device or
                # folder, nor the boot disk's removal: not what it is timed for)
                peer_cmdline = re.sub(r" vmmstock\.(hpnet|hpvp|hpfs|hprmboot)=1", "", cmdline)
                boot_qemu(vms, work, out, env, peer_cmdline, results)
        finally:
            vms.stop_all()
            mirror.stop()
            if tap:
                subprocess.run(["ip", "link", "del", tap], capture_output=True)
    (out / "results.json").write_text(json.dumps(results))


def boot_qemu(vms, work, out, env, cmdline, results):
    """The peer: QEMU q35, the same kernel and /init, the disk through a PCIe root port."""
    start = time.monotonic()
    (work / "qhp.img").touch()
    os.truncate(work / "qhp.img", 4 << 20)
    qsock = work / "qmp.sock"
    qemu = vms.qemu(["-M", "q35", "-smp", "2", "-m", "256M", "-no-reboot", "-serial", "stdio",
                     "-kernel", env["STOCK_KERNEL"], "-initrd", env["STOCK_INITRAMFS"],
                     "-append", f"{cmdline} vmmstock.end=hotplug",
                     "-drive", f"id=d0,if=none,format=raw,file={work / 'root.img'}",
                     "-device", "virtio-blk-pci,drive=d0",
                     "-device", "pcie-root-port,id=rp1,chassis=1",
                     "-blockdev", f"driver=file,filename={work / 'qhp.img'},node-name=hp0",
                     "-qmp", f"unix:{qsock},server=on,wait=off"], name="qemu")
    d = Driver(qemu, results, "qemu")
    add = {"execute": "device_add", "arguments": {"driver": "virtio-blk-pci", "drive": "hp0",
                                                  "id": "hpd", "bus": "rp1"}}
    try:
        qemu.wait_out(r"^VMM-STOCK-HOTPLUG: waiting$", BOOT_TIMEOUT)
        d.stamp("qemu-add-req")
        seen = d.line_stamp("qemu-add-seen", r"^VMM-STOCK-HOTPLUG-ADDED")
        results["qemu-add"] = qmp(qsock, add)
        seen.join(LINE_WAIT)
        qemu.wait_out(r"^VMM-STOCK-HOTPLUG: ready to remove", BOOT_TIMEOUT)
        d.stamp("qemu-rm-req")
        seen = d.line_stamp("qemu-rm-seen", r"^VMM-STOCK-HOTPLUG-REMOVED")
        results["qemu-rm"] = qmp(qsock, {"execute": "device_del", "arguments": {"id": "hpd"}})
        seen.join(LINE_WAIT)
        qemu.wait_out(r"^VMM-STOCK-HOTPLUG: waiting again", BOOT_TIMEOUT)
        results["qemu-add2"] = qmp(qsock, add)
        status = qemu.wait(BOOT_TIMEOUT)
    except (WaitTimeout, OSError) as stopped:
        results["qemu-stopped"] = str(stopped)
        qemu.stop()
        status = 124  # stopped: no end of its own
    results["qemu.status"] = status
    (out / "qemu.log").write_text(qemu.out)
    print(f"qemu: status {status}, {time.monotonic() - start:.0f} s", flush=True)


# ---- the checks ----

@pytest.fixture(scope="module")
def out():
    direct = os.environ.get("STOCK_DIRECT") == "1"
    if l1.wanted(direct):
        stock_env()  # skips here, before L1, when Debian's kernel cannot be had
    # 180 s a boot in L1 (one ran 54 s there, idle), ours and the peer's
    peer_here = l1.peer_wanted("STOCK_PEER", False)
    with l1.boots_folder("linux_stock_hotplug", __file__, lambda f: boot(f, False, peer_here),
                         args=(str(int(l1.peer_wanted("STOCK_PEER", True))),), force_direct=direct,
                         env={"BOOT_TIMEOUT": 180, "VIRTIOFSD": VIRTIOFSD},
                         timeout=600, where="kvm_pvm, so the boot runs in the run's L1 "
                         "(framework/l1.py; linux_stock says why)") as folder:
        yield folder


@pytest.fixture(scope="module")
def results(out):
    return json.loads(read_text(out / "results.json") or "{}")


@pytest.fixture(scope="module")
def init_lines(out):
    """/init's lines with the kernel's messages that broke into them taken out ("bound a[
    10.55] pci ...: BAR 0 ...", newline, "fter 0s driver=..."): a printk comes out on the
    console between two bytes of a user-space write. The kernel's own checks read the console
    as it came."""
    return re.sub(r"(?<=[^\n])\[ *\d+\.\d+\] [^\n]*\n", "", read_text(out / "vmm.log"))


def report(out, results):
    return ("\n" + results.get("stopped", "") + "\n---- console (last 40 lines)\n"
            + "\n".join(read_text(out / "vmm.log").splitlines()[-40:])
            + "\n---- vmm stderr (last 15 lines)\n"
            + "\n".join(read_text(out / "vmm.err").splitlines()[-15:]))


class Checks:
    def __init__(self, out, results, init_lines):
        self.out, self.results, self.init = out, results, init_lines

    def line(self, key):
        m = re.search(rf"^VMM-STOCK-{key}: (.*)$", self.init, re.M)
        return m.group(1) if m else ""

    def ctl(self, name, status, regex, what):
        got = self.results.get(name)
        assert got is not None and got["status"] == status and re.search(regex, got["out"]), \
            f"{what}: {got or 'not run'}{report(self.out, self.results)}"
        print(f"ok: {what}: {got['out'].strip()} ({got['ms']} ms)")

    def expect_line(self, key, regex, what):
        got = self.line(key)
        assert re.search(regex, got), f"{what}: '{got}' (want /{regex}/){report(self.out, self.results)}"
        print(f"ok: {what}: {got}")


@pytest.fixture(scope="module")
def checks(out, results, init_lines):
    return Checks(out, results, init_lines)


def test_disk(checks, results):
    c = checks
    assert results.get("vmm.status") == 0, \
        f"VMM status '{results.get('vmm.status')}' (want 0 after the guest's poweroff){report(c.out, results)}"
    c.expect_line("SLOTS", r"^[0-9]", "the guest lists the hotplug slots (/sys/bus/pci/slots)")
    c.ctl("add1", 0, r'"bdf": *"0000:00:[0-9a-f]{2}\.0"', "vmmctl add-disk hp0")
    c.expect_line("HOTPLUG-ADDED", r"^vdb after [0-9]+s sectors=8192$", "/dev/vdb arrived, 4 MiB")
    c.expect_line("HOTPLUG-RW", r"^VMM-STOCK-HOTPLUG-DATA-", "the guest wrote /dev/vdb and read it back")
    c.ctl("dup", 1, r"hp0", "the same id again: refused")
    c.ctl("rmnone", 1, r"no device", "removing an unknown id: refused")
    c.ctl("rm1", 0, r"", "vmmctl remove-device hp0 (the guest released it)")
    c.expect_line("HOTPLUG-REMOVED", r"^vdb gone", "/dev/vdb went")
    written = c.line("HOTPLUG-RW") or "none"
    c.ctl("add2", 0, r'"id": *"hp0"', "vmmctl add-disk hp0 again")
    c.expect_line("HOTPLUG-AGAIN", rf"^vdb after [0-9]+s first-line={re.escape(written)}$",
                  "added again, the line written before read back")
    c.ctl("rmboot", 0, r"", "vmmctl remove-device drive0 (the disk the VM started with)")
    c.expect_line("HOTPLUG-BOOT-REMOVED", r"^vda gone", "/dev/vda (the boot disk) went")


def test_vsock_and_pmem(checks):
    c = checks
    c.ctl("addvs", 0, r'"id": *"hpvs0"', "vmmctl add-vsock hpvs0")
    c.expect_line("HOTPLUG-VSOCK", r"^bound after [0-9]+s driver=vmw_vsock_virtio_transport$",
                  "the guest's vsock driver bound the hot-added device")
    c.ctl("addpm", 0, r'"id": *"hppm0"', "vmmctl add-pmem hppm0")
    c.expect_line("HOTPLUG-PMEM", r"^pmem0 after [0-9]+s first-line=VMM-STOCK-PMEM-MARK$",
                  "/dev/pmem0 arrived with the file's marker")
    c.ctl("rmvs", 0, r"", "vmmctl remove-device hpvs0")
    c.expect_line("HOTPLUG-VSOCK-REMOVED", r"^gone", "the vsock device went")
    c.ctl("rmpm", 0, r"", "vmmctl remove-device hppm0")
    c.expect_line("HOTPLUG-PMEM-REMOVED", r"^pmem0 gone", "/dev/pmem0 went")


def test_shared_folder(checks, results):
    c = checks
    if not results.get("fs"):
        host.skip("missing tool", f"the shared folder: {VIRTIOFSD} is not installed where the VMM ran")
    c.ctl("addfs", 0, r'"id": *"hpfs0"', "vmmctl add-fs hpfs0")
    from_guest = (results.get("fs-from-guest") or "").splitlines()[:1]
    from_guest = from_guest[0] if from_guest else ""
    c.expect_line("HOTPLUG-FS", rf"^bound after [0-9]+s driver=[a-z_]+ mark=VMM-STOCK-FS-MARK "
                  rf"wrote={re.escape(from_guest or 'none')}$",
                  "the guest mounted the hot-added share, read the host's marker and wrote a file")
    assert from_guest.startswith("VMM-STOCK-FS-FROM-GUEST-"), \
        f"the guest's file in the shared folder: '{from_guest}'"
    c.ctl("rmfs", 0, r"", "vmmctl remove-device hpfs0")
    c.expect_line("HOTPLUG-FS-REMOVED", r"^gone", "the virtio-fs device went")


def test_nic(checks, results):
    c = checks
    if not results.get("net"):
        host.skip("no tap", "the NIC: no tap could be made where the VMM ran")
    c.ctl("addnet", 0, r'"id": *"hpnet0"', "vmmctl add-net hpnet0")
    c.expect_line("HOTPLUG-NET", r"^eth0 after [0-9]+s mac=", "eth0 arrived")
    c.ctl("rmnet", 0, r"", "vmmctl remove-device hpnet0")
    c.expect_line("HOTPLUG-NET-REMOVED", r"^eth0 gone", "eth0 went")


def test_no_acpi_complaint_and_timings(out, results):
    console = read_text(out / "vmm.log")
    complaints = re.findall(r"^.*ACPI(?: BIOS)? (?:Error|Warning).*$", console, re.M)
    assert not complaints, f"the kernel's ACPI complained: {complaints[:3]}"
    for note in [x for x in console.splitlines()
                 if re.search(r"acpiphp|pci 0000:00:[0-9a-f]{2}\.0: \[1af4", x)][:6]:
        print(f"note: {note}")
    # the timings, ours and the peer's (printed, not counted)

    def ms_between(a, b):
        if f"{a}.ms" in results and f"{b}.ms" in results:
            return f"{results[f'{b}.ms'] - results[f'{a}.ms']:.0f}"
        return "-"
    if "qemu.status" in results:
        if "qemu-stopped" in results:
            print(f"peer: qemu: stopped: {results['qemu-stopped']}")
        qtext = read_text(out / "qemu.log")
        for k in ("HOTPLUG-ADDED", "HOTPLUG-RW", "HOTPLUG-REMOVED", "HOTPLUG-AGAIN"):
            m = re.search(rf"^VMM-STOCK-{k}: (.*)$", qtext, re.M)
            print(f"peer: qemu: {k}: {m.group(1) if m else 'none'} (status {results['qemu.status']})")
    else:
        print("not run: the peer (in L1 only with STOCK_PEER=1; or QEMU is not installed)")
    print("machine | add request -> /dev/vdb in the guest | remove request -> vdb gone")
    print(f"{'vmm':<7} | {ms_between('vmm-add-req', 'vmm-add-seen') + ' ms':<34} | "
          f"{ms_between('vmm-rm-req', 'vmm-rm-seen')} ms")
    if "qemu.status" in results:
        print(f"{'qemu':<7} | {ms_between('qemu-add-req', 'qemu-add-seen') + ' ms':<34} | "
              f"{ms_between('qemu-rm-req', 'qemu-rm-seen')} ms")


if __name__ == "__main__":  # in L1: the boot, its files in argv[1]
    print(f"in L1: {host.kvm_line()}", flush=True)
    boot(sys.argv[1], True, sys.argv[2] == "1")
    l1.job_end(sys.argv[1])
