"""The default Linux guest's user space end to end, in one boot, typed at through a real terminal.
Used by test_linux_userspace.py (our VMM, virtio-mmio, COM1), test_linux_userspace_pci.py (our
VMM, virtio-pci, hvc0) and test_linux_userspace_qemu.py (QEMU microvm, COM1), whose Config says:
  runner     vmm | qemu
  transport  mmio | pci        (vmm only)
  console    com1 | hvc0       where the shell runs (vmm only; QEMU uses COM1)
  ending     poweroff | reboot | ctrl-a-x   how the session ends (QEMU: poweroff, then the test
             stops it once the guest has halted)
  gpu        also --gpu --screenshot (vmm only; the display checks)
  vsock      also --vsock (vmm only, on transport): /init's vsock check, a guest program over
             AF_VSOCK to a host helper (linux_vsock_host.py; see test_linux_virtiofs.py)
  qcow2      the root is a qcow2 overlay (`qemu-img create -b root.ext4 -F raw`) over the
             read-only ext4 image (vmm only): afterwards `qemu-img check` finds the overlay clean,
             the base is unchanged, and the disk checks read the overlay's contents

A boot, not the shared snapshot: the boot is what these test (a root disk and no initramfs, the
ACPI tables, every device found through its transport's description). The guest boots from a
copy of the default disk image (root=/dev/vda rw, no initramfs) with a virtio disk, rng and net
(user networking: libslirp here, QEMU's slirp there). /init runs the checks of
guest-images/checks:
  blk      writes two files on the ext4 root and syncs; after the VM ends the test reads them
           back from the image with debugfs (and e2fsck must find the file system consistent)
  rng      reads /dev/hwrng (the virtio rng must be the kernel's current hwrng)
  net      DHCP lease 10.0.2.15; wget of a file from an HTTP server of this test (guest -> host,
           MD5 checked in the guest); a TCP connection from the host through hostfwd to the guest
           (64 KiB), which answers with the MD5 of what it received (checked here)
  syscall  the cost of one getpid() from 64-bit (SYSCALL) and 32-bit (INT $0x80) code
then opens a shell on the console. The test types a command, reads its output back from the
screen and ends the session the way `ending` says. Timeouts are generous: on a loaded 2-core
machine with emulated KVM one boot can take minutes.
"""
import hashlib
import os
import re
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass

from framework import host, linux, paths
from framework.linux_guest_util import Terminal
from framework.proc import WaitTimeout, read_text, wait_until

BOOT_TIMEOUT = int(os.environ.get("BOOT_TIMEOUT", "900"))
RUN_TIMEOUT = 1200  # the whole VMM or QEMU run (`timeout`), within the test's 1500 s


@dataclass
class Config:
    runner: str = "vmm"
    transport: str = "mmio"
    console: str = "com1"
    ending: str = "poweroff"
    gpu: bool = False
    vsock: bool = False
    qcow2: bool = False

    @property
    def label(self):
        return "qemu microvm" if self.runner == "qemu" else f"vmm {self.transport} {self.console}"


def md5(data):
    return hashlib.md5(data).hexdigest()


def ncpus():
    # The VMM's ACPI tables describe the machine (docs/acpi.md): every vCPU must come online. 2
    # where the guest kernel runs on the CPU; 1 on kvm_pvm, where Linux stops at "Bringing up
    # secondary CPUs" (docs/running.md).
    return 1 if linux.images().get("EMULATED_KVM") == "1" else 2


def free_port():
    """A TCP port that nothing listens on (on any address) at this moment: the kernel's pick."""
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def _host_to_guest(port):
    """Host -> guest through hostfwd: 64 KiB of random bytes, the guest answers with their MD5.
    "listening" is printed just before nc starts: until nc listens, slirp resets the forwarded
    connection and the client tries again. Returns (sent MD5, the guest's answer)."""
    data = os.urandom(65536)

    def attempt():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=600) as s:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                reply = b""
                while chunk := s.recv(4096):
                    reply += chunk
        except OSError:
            return None
        return reply.split()[0].decode() if reply.split() else None
    try:
        got = wait_until(attempt, 600, "the guest's answer through hostfwd")
    except WaitTimeout:
        got = "nothing"
    return md5(data), got


def run(vms, cfg):
    """The whole session; returns the facts the tests check."""
    img = linux.images()
    work = vms.workdir
    facts = {"cfg": cfg, "notes": []}
    if cfg.runner == "qemu":
        host.require("qemu")
    root = work / "root.ext4"
    subprocess.run(["cp", "--sparse=always", img["DISK"], root], check=True)
    root_disk = str(root)
    if cfg.qcow2:
        host.require("qemu-img")
        root.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        facts["base_md5"] = md5(root.read_bytes())
        made = subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", root, "-F", "raw",
                               work / "root.qcow2"], capture_output=True, text=True)
        assert made.returncode == 0, f"qemu-img create of the overlay failed: {made.stderr}"
        root_disk = f"{work / 'root.qcow2'},backing_files=on"

    # ---- the host side of the network checks ----
    # Both ports are the kernel's pick, not derived from the pid as the bash script did (20000 +
    # $$ % 10000, and + 1): two tests at once could get the same port (one's hostfwd the other's
    # HTTP server), and a readiness check that merely connected would take the other test's
    # listener for its own server while the guest's wget went to the wrong one.
    (work / "www").mkdir()
    blob = os.urandom(300000)
    (work / "www" / "blob").write_bytes(blob)
    facts["blob_md5"] = blob_md5 = md5(blob)
    http = vms.process([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                        "--directory", work / "www"], name="http")
    facts["http"] = http
    http_port = int(http.wait_out(r"^Serving HTTP on 127\.0\.0\.1 port (\d+)", 30).group(1))
    fwd_port = free_port()

    cmdline = f"{img['CMDLINE']} root=/dev/vda rootfstype=ext4 rw rcupdate.rcu_cpu_stall_suppress=1"
    checks = "blk,rng,net,syscall"
    if cfg.vsock:
        checks += ",vsock"
        cmdline += " vmmguest.vsock.port=1234"
        helper = paths.SOURCE_DIR / "tests/integration/lib/linux_vsock_host.py"
        vsock_host = vms.process([sys.executable, helper, f"{work / 'v.sock'}_1234"],
                                 name="vsock-host")
        vsock_host.wait_out(r"^ready", 10)
        facts["vsock_host"] = vsock_host
    cmdline += f" vmmguest.run={checks} vmmguest.shell=1"
    cmdline += f" vmmguest.net.url=http://10.0.2.2:{http_port}/blob vmmguest.net.md5={blob_md5}"
    cmdline += " vmmguest.net.echo=8080"

    err = work / "vmm.err"
    facts["err_path"] = err
    if cfg.runner == "vmm":
        opts = ["--kernel", img["VMLINUX"], "--cpus", ncpus(), "--mem", "256M",
                "--transport", cfg.transport, "--disk", root_disk, "--rng",
                "--net", f"user,hostfwd=tcp::{fwd_port}-:8080"]
        if cfg.console == "hvc0":
            opts += ["--console", "virtio"]
            cmdline += " console=hvc0"
        if cfg.gpu:
            opts += ["--gpu", "--screenshot", work / "screen.png"]
        if cfg.vsock:
            opts += ["--vsock", f"cid=5,uds={work / 'v.sock'}"]
        # --foreground: the VMM reads the terminal (timeout would otherwise put it in the
        # background). Its log (-v -v: which devices the guest drove) goes to vmm.err, not to
        # the terminal.
        argv = ["bash", "-c", f'exec "$@" 2>{err}', "vmm", "timeout", "--foreground",
                str(RUN_TIMEOUT), paths.VMM, "-v", "-v", *opts, "--append", cmdline]
    else:
        accel = ["-accel", "tcg"]
        if os.access("/dev/kvm", os.R_OK | os.W_OK):
            # kvm_pvm refuses QEMU's write of MSR_IA32_ARCH_CAPABILITIES (0x10a).
            accel = ["-enable-kvm", "-cpu",
                     "host,-arch-capabilities" if img.get("EMULATED_KVM") == "1" else "host"]
        argv = ["timeout", "--foreground", str(RUN_TIMEOUT), paths.QEMU, *accel,
                "-M", "microvm,acpi=off", "-m", "256M", "-smp", "1", "-nodefaults",
                "-no-user-config", "-display", "none", "-no-reboot", "-serial", "stdio",
                "-kernel", img["VMLINUX"], "-append", cmdline,
                "-drive", f"id=root,if=none,format=raw,file={root}",
                "-device", "virtio-blk-device,drive=root", "-device", "virtio-rng-device",
                "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{fwd_port}-:8080",
                "-device", "virtio-net-device,netdev=n0"]
    term = Terminal(vms, argv)
    start = time.monotonic()
    facts["term"] = term

    # ---- host -> guest through hostfwd ----
    # The checks end with the shell: a guest that starts its shell without having listened has
    # skipped or failed the net check, and waiting on would only cost the whole boot timeout.
    term.wait_out(r"VMM-GUEST-NET-ECHO: listening|VMM-GUEST-SHELL: starting", BOOT_TIMEOUT)
    if re.search(r"VMM-GUEST-NET-ECHO: listening", term.out):
        facts["echo"] = _host_to_guest(fwd_port)
    else:
        facts["echo"] = None

    # ---- the shell: type a command, read its output back from the screen ----
    facts["shell"] = bool(term.wait_out(r"VMM-GUEST-SHELL: starting", 900)
                          and term.wait_out(r"vmmguest:.*# ", 300))
    if facts["shell"]:
        print(f"note: {cfg.label}: shell prompt {time.monotonic() - start:.0f} s after launch")
        # ash's line editor first asks the terminal where the cursor is (ESC[6n) and reads the
        # answer; keys typed before tmux answered are taken as that answer and lost. So the
        # command is typed again if nothing came of it.
        for _ in range(3):
            term.type("echo typed-$((6 * 7)) on $(tty)")
            if term.wait_out(r"typed-42 on /dev/", 100):
                break
        match = re.search(r"typed-42 on /dev/[a-zA-Z0-9]+", term.out)
        facts["typed"] = match.group(0) if match else None
        facts["typed_on_screen"] = bool(re.search(r"typed-42 on /dev/", term.screen()))
        if cfg.gpu:
            # Text for the screenshot on the framebuffer console (the kernel's messages stay
            # off it: drawing and scrolling them is minutes of emulated guest kernel code)
            term.type('for i in $(seq 20); do echo "vmm display line $i: the quick brown fox'
                      ' jumps over the lazy dog"; done >/dev/tty1; echo TTY1-$?-DONE')
            facts["tty1"] = bool(term.wait_out(r"TTY1-0-DONE", 120))

    # When the ending went out tells a slow guest from a lost key: a guest still short of its
    # shell when `timeout` ends the run (RUN_TIMEOUT, status 124) fails the terminal's checks,
    # the last of the session, whatever the terminal did.
    facts["ending_at"] = time.monotonic() - start
    print(f"note: {cfg.label}: '{cfg.ending}' sent {facts['ending_at']:.0f} s after launch")
    if cfg.ending == "ctrl-a-x":
        term.keys("C-a", "x")
    else:
        term.type(cfg.ending)
    if cfg.runner == "qemu":
        # QEMU has no halt detection (and its reset after `reboot` fails on kvm_pvm): the guest
        # must reach the kernel's halt, then the test stops QEMU.
        facts["ended"] = bool(term.wait_out(r"reboot: System halted", 600))
        term.stop()
    else:
        facts["status"] = term.wait_exit(600)
        term.stop()
    facts["log"] = term.out
    facts["err"] = read_text(err)

    # ---- the disk, read back on the host ----
    if cfg.qcow2:
        checked = subprocess.run(["qemu-img", "check", "-q", work / "root.qcow2"],
                                 capture_output=True, text=True)
        facts["qcow2_check"] = (checked.returncode, checked.stdout + checked.stderr)
        facts["base_md5_after"] = md5(root.read_bytes())
        # The overlay's contents, flattened, are what the checks below read (into a new file:
        # the base is the overlay's backing file).
        flat = subprocess.run(["qemu-img", "convert", "-O", "raw", work / "root.qcow2",
                               work / "flat.ext4"], capture_output=True, text=True)
        facts["convert"] = (flat.returncode, flat.stderr)
        if flat.returncode == 0:
            root.chmod(0o644)
            (work / "flat.ext4").replace(root)
    # A poweroff or reboot through /init remounts / read-only first: the file system must be
    # clean. Ctrl-A x pulls the plug: the journal (synced by the check) is replayed first.
    fsck = subprocess.run(["e2fsck", "-fy" if cfg.ending == "ctrl-a-x" else "-fn", root],
                          capture_output=True, text=True)
    facts["fsck"] = (fsck.returncode, fsck.stdout + fsck.stderr)
    for name, target in (("/vmm-blk-lines.txt", "lines.txt"),
                         ("/vmm-blk-random.bin", "random.bin")):
        subprocess.run(["debugfs", "-R", f"dump {name} {work / target}", root], capture_output=True)
    facts["lines"] = (work / "lines.txt").read_bytes() if (work / "lines.txt").exists() else b""
    random_bin = work / "random.bin"
    facts["random_md5"] = md5(random_bin.read_bytes()) if random_bin.exists() else None
    facts["http_log"] = http.out + http.err
    return facts


def _tail(facts):
    tail = "\n".join(facts["log"].splitlines()[-40:])
    return f"\n---- terminal (last 40 lines)\n{tail}"


def expect(facts, what, regex, text=None):
    text = facts["log"] if text is None else text
    assert re.search(regex, text, re.M), f"{facts['cfg'].label}: {what}: no /{regex}/{_tail(facts)}"


# ---- the tests' bodies ----
def test_host_to_guest_through_hostfwd(facts):
    assert facts["echo"] is not None, "the guest never listened for the host's connection"
    sent, got = facts["echo"]
    assert sent == got, f"host -> guest: sent MD5 {sent}, the guest answered {got}"


def test_shell_typed_in_a_terminal(facts):
    assert facts["shell"], f"no shell prompt{_tail(facts)}"
    assert facts.get("typed"), f"no output from the typed command{_tail(facts)}"
    assert facts["typed_on_screen"], \
        f"the typed command's output is not on the visible screen{_tail(facts)}"
    cfg = facts["cfg"]
    tty = "hvc0" if cfg.console == "hvc0" and cfg.runner == "vmm" else "ttyS0"
    expect(facts, f"the shell ran on {tty}", rf"typed-42 on /dev/{tty}")


def test_ending(facts):
    cfg = facts["cfg"]
    if cfg.runner == "qemu":
        assert facts["ended"], f"'{cfg.ending}' did not halt the guest{_tail(facts)}"
    else:
        why = f" (`timeout` ended it at {RUN_TIMEOUT} s)" if facts["status"] == 124 else ""
        assert facts["status"] == 0, \
            (f"'{cfg.ending}' sent {facts['ending_at']:.0f} s after launch: exit status"
             f" {facts['status']}{why}, want 0{_tail(facts)}")


def test_guest_checks(facts):
    expect(facts, "/init ran", r"VMM-GUEST-INIT: ok")
    expect(facts, "blk check passed", r"VMM-GUEST-RUN: blk status 0")
    expect(facts, "rng check passed", r"VMM-GUEST-RUN: rng status 0")
    expect(facts, "DHCP lease from slirp", r"VMM-GUEST-NETADDR: eth0 .* 10\.0\.2\.15/24")
    expect(facts, "guest -> host: the guest's MD5 of the file matches",
           rf"VMM-GUEST-NET-GET: 300000 bytes md5 {facts['blob_md5']} match")
    expect(facts, "net check passed", r"VMM-GUEST-RUN: net status 0")
    expect(facts, "syscall check passed", r"VMM-GUEST-RUN: syscall status 0")
    for line in sorted(set(re.findall(r".*syscall-cost:.*", facts["log"]))):
        print(f"note: {facts['cfg'].label}: {line}")
    assert "GET /blob" in facts["http_log"], "the host's HTTP server saw no request"


def test_devices_the_guest_drove(facts):
    """What the kernel saw of our machine, and which devices it drove (the VMM's -v -v log)."""
    cfg, err = facts["cfg"], facts["err"]
    if cfg.transport == "pci":
        expect(facts, "PCI bus enumerated", r"pci 0000:00:00\.0: \[1b36:0008\]")
        expect(facts, "virtio-blk-pci found", r"pci 0000:00:01\.0: \[1af4:1042\]")
        expect(facts, "MSI-X vectors routed", r"virtio-blk: MSI-X vector [0-9]+ -> GSI", err)
    else:
        # (the command line's copies of the DSDT's windows: refused, see test_acpi)
        expect(facts, "virtio_mmio.device= entries parsed",
               r"virtio-mmio: Registering device virtio-mmio\.[0-9]+ at 0xd000[0-9a-f]000")
    expect(facts, "virtio-blk is vda", r"virtio_blk virtio[0-9]+: \[vda\] 131072 512-byte")
    expect(facts, "ext4 root mounted", r"VFS: Mounted root \(ext4 filesystem\)")
    for device in ("blk", "rng", "net"):
        expect(facts, f"the guest drove virtio-{device}", rf"virtio-{device}: driver ready", err)
    expect(facts, "/init saw the disk", r"VMM-GUEST-BLOCK: .*vda")
    expect(facts, "/init saw the rng", r"VMM-GUEST-HWRNG: .*virtio")
    if cfg.console == "hvc0":
        # The kernel logs to both ttyS0 and hvc0, which share the terminal: lines after hvc0
        # registers come twice, the second copy through the virtio-console transmit queue.
        expect(facts, "hvc0 is a console", r"printk: console \[hvc0\] enabled")
        expect(facts, "the guest drove virtio-console", r"virtio-console: driver ready", err)
        runs = re.findall(r"Run /(sbin/)?init as init process", facts["log"])
        assert len(runs) >= 2, "Run /init did not come through hvc0"


def test_acpi(facts):
    """What the default guest's kernel read from the VMM's ACPI tables (docs/acpi.md): the XSDT,
    no complaint, every vCPU online (the MADT), the power button (the GED's PNP0C0C), each virtio
    device exactly once and through the description of its transport (the DSDT's LNRO0005
    devices over mmio, winning over the virtio_mmio.device= entries; PCI functions found through
    the host bridge and the MCFG's ECAM), and a poweroff through the FADT's sleep registers."""
    cfg, log = facts["cfg"], facts["log"]
    expect(facts, "the kernel read our ACPI tables", r"ACPI: XSDT 0x[0-9A-F]+ .* \(v01 VMM")
    bad = re.findall(r"^.*ACPI(?: BIOS)? (?:Error|Warning).*$", log, re.M)
    assert not bad, f"the kernel's ACPI complained: {bad[:3]}"
    expect(facts, f"every vCPU online ({ncpus()})", rf"VMM-GUEST-CPUS: {ncpus()}$")
    expect(facts, "the power button (PNP0C0C, notified by the GED)",
           r"input: Power Button as /devices/LNXSYSTM:00/LNXSYBUS:00/PNP0C0C:00/")
    listed = re.findall(r"^VMM-GUEST-VIRTIO: .*$", log, re.M)
    if cfg.transport == "pci":
        right = [line for line in listed if re.search(r" on=0000:00:[0-9a-f]{2}\.0$", line)]
        expect(facts, "PCI configuration space through the MCFG's ECAM",
               r"PCI: MMCONFIG at \[mem 0xe0000000-0xefffffff\] reserved (as|in)"
               r" ACPI motherboard resources?")
        expect(facts, "the host bridge from the DSDT",
               r"ACPI: PCI Root Bridge \[PCI0\] \(domain 0000 \[bus 00-ff\]\)")
    else:
        right = [line for line in listed if re.search(r" on=LNRO0005:[0-9a-f]{2}$", line)]
    # 3 devices besides the console on hvc0 (virtio-console), the display's gpu and input, vsock
    want = 3 + (cfg.console == "hvc0") + 3 * cfg.gpu + cfg.vsock
    assert len(listed) == want and len(right) == want, \
        (f"virtio devices: {len(listed)} listed, {len(right)} through the {cfg.transport}"
         f" description, want {want}: {listed}")
    if cfg.ending == "poweroff":
        expect(facts, "poweroff: the kernel powered down (not halted)", r"reboot: Power down")
        expect(facts, "poweroff: the kernel entered S5 through the sleep registers",
               r"acpi: the guest entered S5", facts["err"])


def test_kernel_reached_init(facts):
    expect(facts, "QEMU: the kernel reached Run /init", r"Run /(sbin/)?init as init process")


def test_vsock(facts):
    cfg, err = facts["cfg"], facts["err"]
    expect(facts, "the guest drove virtio-vsock", r"virtio-vsock: driver ready", err)
    on = "0000:" if cfg.transport == "pci" else "LNRO0005:"
    expect(facts, f"/init saw the vsock device (ID 19) bound, over {cfg.transport}",
           rf"VMM-GUEST-VIRTIO: .* device=0x0013 .*driver=vmw_vsock_virtio_transport on={on}")
    expect(facts, "the vsock transport driver holds the device", r"VMM-GUEST-VSOCK-DRIVER: virtio")
    expect(facts, "the guest's program reached the host over vsock and read its answer",
           r"VMM-GUEST-VSOCK: vsock-echo: sent 100000 bytes,"
           r" reply: OK 100000 bytes intact \(status 0\)")
    expect(facts, "the host saw the guest's greeting over vsock", r"^line: hello-from-guest 100000",
           facts["vsock_host"].out)
    expect(facts, "the vsock check passed", r"VMM-GUEST-RUN: vsock status 0")


def test_display(facts):
    err = facts["err"]
    assert facts.get("tty1"), f"could not write to /dev/tty1{_tail(facts)}"
    expect(facts, "virtio-gpu bound by DRM", r"Initialized virtio_gpu")
    expect(facts, "fbdev on virtio-gpu", r"virtio_gpudrmfb frame buffer device")
    expect(facts, "framebuffer console", r"Console: switching to colour frame buffer device")
    expect(facts, "virtio-input devices registered", r"input: .* as /devices/.*virtio")
    expect(facts, "the guest drove virtio-gpu", r"virtio-gpu: driver ready", err)
    # Not blank: several colours, and at least a few thousand lit pixels (the 20 lines).
    screen = facts["term"].log.parent / "screen.png"
    assert screen.exists() and screen.stat().st_size > 0, "no screenshot written"
    sys.path.insert(0, str(paths.SOURCE_DIR / "tests" / "integration" / "lib"))
    from display_png_check import read_png
    w, h, bpp, rows = read_png(str(screen))
    lit = sum(1 for r in rows for x in range(w) if any(r[x * bpp:x * bpp + 3]))
    colours = {bytes(r[x * bpp:x * bpp + 3]) for r in rows for x in range(0, w, 3)}
    print(f"screenshot {w}x{h}: {lit} lit pixels, {len(colours)} colours")
    assert lit > 2000 and len(colours) >= 2, "the screenshot is blank"


def test_disk_read_back(facts):
    cfg = facts["cfg"]
    if cfg.qcow2:
        code, text = facts["qcow2_check"]
        assert code == 0, f"qemu-img check: {text[-500:]}"
        assert facts["base_md5_after"] == facts["base_md5"], "the raw base changed"
        assert re.search(rf"disk {re.escape(str(facts['term'].log.parent / 'root.qcow2'))}: qcow2",
                         facts["err"]), "the VMM's log does not say it served the root as qcow2"
        assert facts["convert"][0] == 0, \
            f"qemu-img convert of the overlay failed: {facts['convert'][1]}"
    code, text = facts["fsck"]
    if cfg.ending == "ctrl-a-x":
        assert code <= 1, f"e2fsck after Ctrl-A x: {text[-500:]}"
    else:
        assert code == 0, f"e2fsck -n: {text[-500:]}"
    want = "".join(f"vmm-blk-check line {i}\n" for i in range(256)).encode()
    assert facts["lines"] == want, \
        "/vmm-blk-lines.txt in the image differs from what the guest wrote"
    match = re.search(r"VMM-GUEST-BLK: lines [0-9a-f]* random ([0-9a-f]*)", facts["log"])
    assert match and facts["random_md5"] == match.group(1), \
        ("/vmm-blk-random.bin in the image does not match the guest's MD5"
         f" ({match and match.group(1)})")
