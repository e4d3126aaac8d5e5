"""The project's default guest built for arm64 (issue 67: guest-images/build.sh --arch arm64, our
linux-source-6.1 kernel with kernel.config and kernel-arm64.config, the busybox-static:arm64
disk) on the arm64 VMM in an arm64 L1 (tools/kvm-in-qemu/run.sh --arch aarch64): booted twice,
every device on virtio-mmio, then on virtio-pci (MSI-X through the ITS), each time with
2 vCPUs, 256 MiB, the root on a copy of the default disk image (root=/dev/vda, no initramfs, as
integration/linux_userspace on x86), a NIC on --net user with a hostfwd, an RNG and a vsock.
/init runs the x86 guest's checks (guest-images/checks): blk (two files written on the ext4
root, which the test reads back from the image with debugfs after the VM ends; e2fsck must find
it clean), rng (/dev/hwrng is virtio's), net (DHCP lease 10.0.2.15 from libslirp; a 300 kB file
fetched with wget from busybox httpd in L1, its MD5 checked in the guest; then L1 -> guest: 64 KiB
through libslirp's hostfwd to the guest's nc, which answers with their MD5), syscall (getpid()
through SVC) and vsock (the virtio transport bound to the device; the guest's vsock-echo sends
100000 bytes to the host's port 1234, which the VMM connects to its Unix socket, where a helper
in L1 checks them and answers), then opens a shell on the PL011: L1 types a command through a
fifo on the VMM's stdin, its output must come back on the console, and the `poweroff` typed
there (PSCI SYSTEM_OFF) must end the VMM with 0 (framework/arm64_guest_io.py: the L1 side of
these three exchanges, ~0.7 s a boot). A third, short boot takes the initramfs instead (its
/init and checks, from the cpio): /init reads the disk's marker through a read-only mount, the
syscall check, poweroff.
Not done here: a host-initiated vsock connection ("CONNECT port" on the VMM's socket), which
x86's tests make to tests/guests/virtio_vsock.c, not to this guest: its checks have no vsock
listener (vsock.sh only connects to the host).
prepare(), l1_lines() and check() are a part (framework/arm64_l1.py) of the one arm64 L1 boot of
integration/arm64_linux. The boots take ~10-25 s each under nested TCG (docs/aarch64.md); a cold
guest build is ~20 minutes (cached afterwards; tools/test.sh builds it before CTest).
"""
import hashlib
import os
import re
import shlex
import subprocess

from framework import arm64_guest_io

TRANSPORTS = ("mmio", "pci")
# The third boot: the initramfs (its /init and checks from the cpio, not the disk), on mmio
INITRAMFS_BOOT = "initramfs"
BOOTS = (*TRANSPORTS, INITRAMFS_BOOT)
MEM_MB = 256
HTTP_PORT = 8071  # busybox httpd in L1, the guest's 10.0.2.2 (libslirp's host)
BLOB_SIZE = 300000
CHECKS = "blk,rng,net,syscall,vsock"
# blk, rng, net, vsock: each on the transport of its boot
VIRTIO_DEVICES = 4


def prepare(work, guest):
    """The host's side before L1: a copy of the default disk per boot, the file the guest
    fetches. Returns what l1_lines() and check() need to know."""
    www = work / "defguest-www"
    www.mkdir()
    blob = os.urandom(BLOB_SIZE)
    (www / "blob").write_bytes(blob)
    for t in BOOTS:
        subprocess.run(["cp", "--sparse=always", guest["DISK"], str(work / f"defguest-{t}.ext4")],
                       check=True)
    return {"blob_md5": hashlib.md5(blob).hexdigest(), **arm64_guest_io.prepare(work)}


def l1_lines(vmm, guest, work, ctx):
    """What L1 runs (busybox sh), in WORK: one HTTP server, then one boot per transport and the
    initramfs boot, the console in defguest-B.log, the VMM's log (-v -v) in defguest-B.err, and on
    L1's console DEFGUEST_EXIT B STATUS and DEFGUEST_TIME B T0 T1 (L1's uptime at the VMM's start
    and exit)."""
    q = shlex.quote
    checks = (f" vmmguest.run={CHECKS} vmmguest.net.url=http://10.0.2.2:{HTTP_PORT}/blob"
              f" vmmguest.net.md5={ctx['blob_md5']} vmmguest.end=poweroff")
    lines = [f"cd {q(str(work))}", *arm64_guest_io.FUNCTIONS,
             f"httpd -p 127.0.0.1:{HTTP_PORT} -h {q(str(work / 'defguest-www'))}"]
    for t in BOOTS:
        # --transport first: it applies to the devices after it (docs/devices.md)
        transport = "mmio" if t == INITRAMFS_BOOT else t
        common = (f"{q(str(vmm))} -v -v --transport {transport} --kernel {q(guest['IMAGE'])}"
                  f" --cpus 2 --mem {MEM_MB}M --disk defguest-{t}.ext4")
        if t == INITRAMFS_BOOT:
            # /init mounts the disk read-only for its marker; the shortest run: no DHCP, one check
            cmdline = (f"{guest['CMDLINE']} vmmguest.run=syscall vmmguest.dhcp=0"
                       " vmmguest.end=poweroff")
            boot = f"{common} --initrd {q(guest['INITRAMFS'])} --append {q(cmdline)}"
            run = [f"timeout {arm64_guest_io.TIMEOUT} {boot} >defguest-{t}.log"
                   f" 2>defguest-{t}.err", "st=$?"]
        else:
            # the vsock's Unix socket in L1's tmpfs: the shared folder (9p) takes none
            uds = f"/tmp/defguest-{t}.sock"
            cmdline = (f"{guest['CMDLINE']} root=/dev/vda rootfstype=ext4 rw{checks}"
                       + arm64_guest_io.cmdline())
            boot = f"{common} --rng {arm64_guest_io.vmm_options(uds)} --append {q(cmdline)}"
            run = arm64_guest_io.around(f"defguest-{t}", uds, boot)
        lines += ["read -r t0 _ </proc/uptime", *run,
                  f'echo "DEFGUEST_EXIT {t} $st"',
                  "read -r t1 _ </proc/uptime",
                  f'echo "DEFGUEST_TIME {t} $t0 $t1"']
    return lines


def _expect(bad, text, what, regex):
    if not re.search(regex, text, re.M):
        bad.append(f"{what}: no /{regex}/")


def _check_common(log):
    """What the console of every boot must show."""
    bad = []
    for what, regex in (
            ("the kernel's console on the PL011", r"printk: console \[ttyAMA0\] enabled"),
            ("PSCI found", r"psci: PSCIv[0-9.]+ detected"),
            ("the PL031 clock", r"rtc-pl031 .*: registered as rtc0"),
            ("/init ran", r"VMM-GUEST-INIT: ok"),
            ("2 vCPUs online", r"^VMM-GUEST-CPUS: 2\r?$"),
            ("/init saw the disk", r"VMM-GUEST-BLOCK: .*vda"),
            ("syscall check passed", r"VMM-GUEST-RUN: syscall status 0"),
            ("poweroff", r"VMM-GUEST-END: poweroff"),
            ("the kernel powered down", r"reboot: Power down")):
        _expect(bad, log, what, regex)
    return bad


def _check_initramfs(log):
    """The initramfs boot: /init from the cpio, the disk's marker read from vda."""
    bad = _check_common(log)
    _expect(bad, log, "the initramfs unpacked, no root mounted", r"Run /init as init process")
    _expect(bad, log, "the disk's marker (read-only mount of vda)",
            r"VMM-GUEST-DISK-MARKER: VMM-DISK-MARKER v1")
    return bad


def _check_guest(t, log, err, ctx):
    """What the console and the VMM's log of boot T (a transport) must show."""
    bad = _check_common(log)
    for what, regex in (
            ("virtio-blk is vda (the 64 MiB image)",
             r"virtio_blk virtio[0-9]+: \[vda\] 131072 512-byte"),
            ("ext4 root mounted", r"VFS: Mounted root \(ext4 filesystem\)"),
            ("/init saw the rng", r"VMM-GUEST-HWRNG: .*virtio"),
            ("DHCP lease from libslirp", r"VMM-GUEST-NETADDR: eth0 .* 10\.0\.2\.15/24"),
            ("blk check passed", r"VMM-GUEST-RUN: blk status 0"),
            ("rng check passed", r"VMM-GUEST-RUN: rng status 0"),
            ("guest -> L1: the guest's MD5 of the file matches",
             rf"VMM-GUEST-NET-GET: {BLOB_SIZE} bytes md5 {ctx['blob_md5']} match"),
            ("net check passed", r"VMM-GUEST-RUN: net status 0"),
            ("the vsock transport holds the device", r"VMM-GUEST-VSOCK-DRIVER: virtio"),
            ("vsock check passed", r"VMM-GUEST-RUN: vsock status 0")):
        _expect(bad, log, what, regex)
    for device in ("blk", "rng", "net", "vsock"):
        _expect(bad, err, f"the guest drove virtio-{device}", rf"virtio-{device}: driver ready")
    listed = re.findall(r"^VMM-GUEST-VIRTIO: .*? on=(\S+)\r?$", log, re.M)
    on = r"0000:00:[0-9a-f]{2}\.0" if t == "pci" else r"[0-9a-f]+\.virtio_mmio"
    right = [p for p in listed if re.fullmatch(on, p)]
    if len(listed) != VIRTIO_DEVICES or len(right) != VIRTIO_DEVICES:
        bad.append(f"virtio devices: {len(listed)} listed, {len(right)} on {t}, want "
                   f"{VIRTIO_DEVICES}: {listed}")
    return bad


def _check_disk(image, log):
    """The blk check's files, read back from the image after the VM ended (x86's
    userspace_checks.test_disk_read_back)."""
    bad = []
    fsck = subprocess.run(["e2fsck", "-fn", str(image)], capture_output=True, text=True)
    if fsck.returncode != 0:
        bad.append(f"e2fsck -fn: {(fsck.stdout + fsck.stderr)[-500:]}")
    got = {}
    for name in ("vmm-blk-lines.txt", "vmm-blk-random.bin"):
        dump = subprocess.run(["debugfs", "-R", f"cat /{name}", str(image)], capture_output=True)
        got[name] = dump.stdout if dump.returncode == 0 else b""
    want = "".join(f"vmm-blk-check line {i}\n" for i in range(256)).encode()
    if got["vmm-blk-lines.txt"] != want:
        bad.append("/vmm-blk-lines.txt in the image differs from what the guest wrote")
    match = re.search(r"VMM-GUEST-BLK: lines [0-9a-f]* random ([0-9a-f]*)", log)
    if not match or hashlib.md5(got["vmm-blk-random.bin"]).hexdigest() != match.group(1):
        bad.append("/vmm-blk-random.bin in the image does not match the guest's MD5 "
                   f"({match and match.group(1)})")
    return bad


def check(out, work, ctx):
    """L1's console OUT and the files in WORK after L1 ended: a list of what failed (empty
    when all passed); prints each boot's time and the system-call cost."""
    failures = []
    status = dict(re.findall(r"^DEFGUEST_EXIT (\S+) (\d+)\r?$", out, re.M))
    times = re.findall(r"^DEFGUEST_TIME (\S+) (\S+) (\S+)\r?$", out, re.M)
    for t, t0, t1 in times:
        print(f"note: default guest on {t}: {float(t1) - float(t0):.1f} s from the VMM's start"
              " to its exit")
    if times:  # L1's own boot and the three boots, without a wait for the L1 lock
        print(f"note: L1's uptime after the last boot: {max(float(t[2]) for t in times):.1f} s")
    for t in BOOTS:
        if t not in status:
            failures.append(f"{t}: L1 did not run the boot")
            continue
        log = (work / f"defguest-{t}.log").read_text(errors="replace")
        err = (work / f"defguest-{t}.err").read_text(errors="replace")
        for line in sorted(set(re.findall(r"syscall-cost:.*", log))):
            print(f"note: {t}: {line.strip()}")
        if t == INITRAMFS_BOOT:
            bad = _check_initramfs(log)
        else:
            bad = (_check_guest(t, log, err, ctx) + _check_disk(work / f"defguest-{t}.ext4", log)
                   + arm64_guest_io.check(work, f"defguest-{t}", log, ctx))
        if status[t] != "0":
            bad.append(f"the VMM exited {status[t]} after the guest's poweroff")
        if bad:
            tail = "\n".join(log.splitlines()[-40:])
            failures.append(f"{t}: " + "\n".join(bad) + f"\n---- console (last 40 lines)\n{tail}"
                            f"\n---- VMM log (last 20 lines)\n" + "\n".join(err.splitlines()[-20:]))
    return failures
