"""The arm64 test guests (tests/guests/aarch64, tests/guests/README.md "arm64"): their runs on our
arm64 VMM inside an arm64 L1 and, as a peer, on QEMU's virt board. Used by
linux/test_arm64_linux.py (its part `guests`, framework/arm64_l1.py) and
boot/test_arm64_guests_qemu.py:

  build(vmm=True)                the arm64 vmm (unless not VMM) and every guest Image
                                 (framework/arm64_build.py): (vmm, folder of the Images)
  prepare(work)                  the disks the runs use and the vsock helper (lib/vsock_host.c,
                                 cross-built), written into WORK (a folder L1 shares read-write:
                                 not under /tmp)
  l1_lines(vmm, images, work)    busybox sh lines that run every guest on VMM one after the
                                 other, each under `timeout`, its console in WORK/<run>.out, the
                                 VMM's log in WORK/<run>.err, and "ARM64_GUEST <run> <status>
                                 <seconds> s" on L1's console
  check(console, work)           what went wrong (a list of messages; [] when every run passed)
                                 from L1's console and the files in WORK
  qemu_runs(images, work)        (name, argv, checks) of the runs on qemu-system-aarch64 (TCG)

A guest passes with the line "TEST PASS" and status 0: on arm64 the guest ends with PSCI
SYSTEM_OFF, which ends our VMM and QEMU with status 0 whatever the verdict ("TEST FAIL (code N)"
is the failure), so the line decides and the status says the VMM did not die on the way.
"""
import os
import re
import shlex
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field, replace

from . import arm64_abuse, arm64_bench, arm64_build, arm64_cpu_template, arm64_l1, paths
from .hostile import PATTERN_SECTORS, SECTORS, make_disk

SEED = 1
ROUNDS = 60
# Over virtio-pci: the checklist sweep and fewer random rounds; the fuzz mode with a seed of
# x86's pci ones (fuzz/test_guest_fuzz.py) and few rounds (each checks every device).
PCI_ROUNDS = 20
FUZZ_SEED = 2
FUZZ_ROUNDS = 150
BLK_ID = "vmm-disk-0"
# The VMM's log line when a device model gives up on a guest's request (virtio/core/device.c).
NEEDS_RESET_LOG = r"the device needs a reset"
# Not in WORK: L1 shares it over 9p, where no socket can be made; L1's /tmp is its own tmpfs.
VSOCK_UDS = "/tmp/arm64-guests-vsock.sock"
GUEST_WROTE = (4096, 72)  # virtio_blk.c: sectors with the guest's 'G' "GST" pattern
ZEROED = (6000, 16)  # virtio_blk.c: written, then WRITE_ZEROES
# virtio_vsock.c's host side in L1 (no Python there): lib/vsock_host.c, the twin of
# lib/vsock_host.py, on its own socket in L1's tmpfs; x86's sizes (virtio/virtio_vsock_checks.py)
LIB = paths.SOURCE_DIR / "tests" / "integration" / "lib"
VSOCK_TEST_UDS = "/tmp/arm64-guests-vsock-test.sock"
VSOCK_CID = 7
VSOCK_CREDIT = 32768
VSOCK_HOST_BYTES = 65536
# virtio_console.c's input (virtio/virtio_console_checks.py), typed on the VMM's stdin
CONSOLE_INPUT = "ping-from-host"
# virtio_net_user.c (net/net_user_checks.py): L1's service the guest reaches at 10.0.2.2:NET_PORT
# (busybox nc, one line answered "echo: LINE"), and L1's port forwarded to the guest's
NET_PORT = 7777
NET_HOSTPORT = 2222
NET_GUESTPORT = 8080
# virtio_net.c over a tap (net/test_net_tap_ping.py's plain and offload modes) and virtio_net_mq.c over a
# multi-queue one (net/test_virtio_net_mq.py): L1's side is lib/net_host.c (net_frames.py's and
# ECHO_PY's C twin), busybox ping, ip and arp; x86's addresses
TAP_HOST_IP, TAP_GUEST_IP, TAP_GUEST_MAC = "192.168.77.1", "192.168.77.2", "52:54:00:77:00:02"
TAP_DELAYED = 64
# the offload mode's: the tap's MTU (tun's largest), the larger frames echoed, the guest's frame
OFFLOAD_MTU, OFFLOAD_SWEEP, OFFLOAD_GEN = 65521, "1515-65535:997", 65550
MQ_HOST_IP, MQ_HOST_MAC = "192.168.78.1", "02:00:00:00:78:01"
MQ_GUEST_IP, MQ_GUEST_MAC = "192.168.78.2", "52:54:00:78:00:02"
# virtio_balloon.c's touched range: our VMM's RAM starts at 2 GiB
BALLOON_START = 0x80000000 + (64 << 20)
BALLOON_RSS_MIB = 100
# virtio_mem.c, virtio_pmem.c with --mem 64M: our VMM's map (base/aarch64/arch/layout.h) puts
# RAM at 2 GiB, the virtio-mem region right above it aligned to its 128 MiB slots, the pmem
# windows after the RAM (x86's tests expect 128 MiB and 4 GiB)
MEM_REGION = 0x80000000 + (128 << 20)
PMEM_WINDOW = 0x80000000 + (64 << 20)
PMEM_SIZE = 4 << 20
# virtio_input.c's events (display/test_display_input.py's script): keyboard KEY_A press and
# release, KEY_LEFTSHIFT press; tablet to (1000, 2000), BTN_LEFT click
INPUT_SCRIPT = "key 30 1\nkey 30 0\nkey 42 1\nabs 1000 2000\nbtn 0x110 1\nbtn 0x110 0\n"
PNG_CHECK = LIB / "display_png_check.py"
SHOT_DIR = "/tmp"  # L1's tmpfs, or WORK (Run.shot_dir): device_runs() says why


@dataclass
class Run:
    name: str
    guest: str
    args: list  # the VMM's options besides --kernel and --append
    append: str
    timeout: int  # seconds (a hang ends there); together under L1's (arm64_l1.run(): 1380)
    lines: list = field(default_factory=list)  # regexes the console must match (and TEST PASS)
    disks: str = ""  # the prefix of its disks (<disks>-rw.img, -ro.img) whose content is checked
    needs_reset: bool = False  # the VMM's log must say it failed a device (NEEDS_RESET_LOG)
    # what L1 does around the VMM: "" nothing; "vsock": lib/vsock_host.c on VSOCK_TEST_UDS;
    # "console": CONSOLE_INPUT typed on its stdin; "net_user": the service and the hostfwd client;
    # "screenshot": the VMM's --screenshot in SHOT_DIR copied to WORK/<name>.png
    host: str = ""
    mq_queues: int = 0  # virtio_blk_mq: its disk (<disks>-rw.img) must hold each queue's writes
    net_pairs: int = 0  # virtio_net_mq: queue pairs (host "tap_mq": the echo's count)
    # the guest's verdict is this FAIL line instead of TEST PASS (virtio_balloon waits for a
    # change that never comes, as x86's test_size_without_api)
    expect_fail: str = ""
    # the VMM must refuse its options before running the guest: the status it must exit with
    # (-1: any but 0 and 1, x86's test_refused) and a regex of its log ("" none)
    refused: int = 0
    refused_log: str = ""
    shot: tuple = ()  # virtio_gpu: (width, height) of <name>.png, the --screenshot checked
    shot_dir: str = SHOT_DIR  # where the VMM writes it (WORK: no copy)
    log: str = ""  # a regex the VMM's log must match


def blk_args(work, disks):
    return [f"--disk={work}/{disks}-rw.img,serial={BLK_ID},discard=on",
            f"--disk={work}/{disks}-ro.img,ro"]


def hostile_args(work, disks):
    return ["--console", "virtio", f"--disk={work}/{disks}-rw.img",
            f"--disk={work}/{disks}-ro.img,ro", "--rng", "--balloon", "size=0",
            "--net", "user", "--vsock", f"cid=3,uds={VSOCK_UDS}"]


HOSTILE_DEVS = r"blk0 blk1\(ro\) rng0 console0 net0 vsock0 balloon0"
BLK_LINES = [rf'^GET_ID: "{BLK_ID}": ok', r"^32 requests in flight: ok",
             r"^read-only disk: RO offered, read ok, write -> IOERR: ok",
             r"^bad queue size: status 0x4f \(DEVICE_NEEDS_RESET\), config interrupt: ok",
             r"^the other disk kept working; reset revived the failed one: ok"]


def pci_runs(work):
    """virtio-pci (--transport pci: the ECAM host bridge, MSI-X through the ITS): virtio_blk with
    MSI-X on a split ring and with INTx (the interrupt-map's SPI) on a packed one, as x86's
    (framework/guests.py guest_transport_args()), the hostile guest's sweep and random driver, its
    fuzz mode. In L1 (2026-12-02): 3 s, 2 s, 24 s and 14 s."""
    pci = ["--cpus", "1", "--mem", "256M", "--transport", "pci"]
    return [
        Run("virtio_blk_pci", "virtio_blk", [*pci, *blk_args(work, "blk-pci")],
            f"transport=pci ring=split sectors={SECTORS} id={BLK_ID} ro_disk discard bad_queue",
            60, [r"^disk 0: virtio-pci 00:[0-9a-f]{2}\.0, BAR 0x[0-9a-f]+, MSI-X", *BLK_LINES],
            "blk-pci", True),
        Run("virtio_blk_pci_intx", "virtio_blk", [*pci, *blk_args(work, "blk-intx")],
            f"transport=pci pci_irq=intx ring=packed sectors={SECTORS} id={BLK_ID} ro_disk "
            "discard bad_queue", 60,
            [r"^disk 0: virtio-pci 00:[0-9a-f]{2}\.0, BAR 0x[0-9a-f]+, INTx", *BLK_LINES],
            "blk-intx", True),
        Run("hostile_pci", "hostile", [*pci, *hostile_args(work, "hostile-pci")],
            f"seed={SEED} rounds={PCI_ROUNDS} transport=pci", 120,
            [rf"^hostile: seed {SEED}, {PCI_ROUNDS} rounds, [0-9]+ devices over pci: "
             + HOSTILE_DEVS, r"^checklist sweep: [0-9]+ abuses x [0-9]+ devices: ok",
             rf"^random driver: {PCI_ROUNDS} rounds: ok"], "hostile-pci", True),
        Run("hostile_fuzz_pci", "hostile", [*pci, *hostile_args(work, "fuzz-pci")],
            f"seed={FUZZ_SEED} rounds={FUZZ_ROUNDS} transport=pci fuzz", 90,
            [rf"^guest-fuzz: seed {FUZZ_SEED}, {FUZZ_ROUNDS} rounds, [0-9]+ devices over pci: "
             + HOSTILE_DEVS, rf"^guest-fuzz: seed {FUZZ_SEED}, {FUZZ_ROUNDS} rounds: ok"],
            "fuzz-pci"),
    ]


def _transport(transport, ring="split"):
    """The VMM's --transport (before the devices) and the guest's words for TRANSPORT, as x86's
    guest_transport_args(): over PCI, MSI-X (through the ITS) on a split ring, INTx (the
    interrupt-map's SPI) on a packed one."""
    if transport != "pci":
        return [], f"transport=mmio ring={ring}"
    irq = "msix" if ring == "split" else "intx"
    return ["--transport", "pci"], f"transport=pci pci_irq={irq} ring={ring}"


def _pci_line(who, transport, ring):
    """vdev_print()'s line over PCI: the function and the interrupt kind."""
    if transport != "pci":
        return []
    kind = "MSI-X" if ring == "split" else "INTx"
    return [rf"^{who}: virtio-pci 00:[0-9a-f]{{2}}\.0, BAR 0x[0-9a-f]+, {kind}"]


def virtio_runs(work):
    """The arch-neutral virtio guests with x86's checks of them (virtio/virtio_*_checks.py,
    net/net_user_checks.py, storage/test_virtio_blk_mq.py, virtio/virtio_balloon_checks.py):
    vsock over virtio-mmio (split) and virtio-pci (packed, INTx), each with the host-initiated
    connection (CONNECT 5000 on the VMM's socket); rng on both, and rate-limited; console on both
    (the input typed before the driver is up); net over libslirp (DHCP, TCP out to L1, a hostfwd
    in); blk with 2 queues (mmio) and 4 (pci, MSI-X vector per queue); the balloon's
    size=64 without the API (the VMM's RSS must drop). One CPU, small memory each."""
    one = ["--cpus", "1", "--mem", "128M"]
    out = []
    for name, transport, ring in (("virtio_vsock", "mmio", "split"),
                                  ("virtio_vsock_pci", "pci", "packed")):
        tr, words = _transport(transport, ring)
        out.append(Run(name, "virtio_vsock",
                       [*one, *tr, "--vsock", f"cid={VSOCK_CID},uds={VSOCK_TEST_UDS}"], words, 120,
                       [*_pci_line("vsock", transport, ring),
                        rf"^virtio-vsock at 0x[0-9a-f]+: guest CID {VSOCK_CID}, {ring} ring",
                        r"^echo: 65536 bytes both ways ok", r"^many: 16 connections ok",
                        r"^credit: [1-9][0-9]* stalls at 4096 bytes, recovered each time, "
                        rf"{VSOCK_CREDIT} bytes ok",
                        rf"^host: {VSOCK_HOST_BYTES} bytes from the host checked and echoed"],
                       host="vsock"))
    rng = [r"^random bytes: 5 buffers ok"]
    for name, transport, ring, opt in (("virtio_rng", "mmio", "split", "--rng"),
                                       ("virtio_rng_pci", "pci", "packed", "--rng"),
                                       ("virtio_rng_rate", "mmio", "split", "--rng=rate=2K")):
        tr, words = _transport(transport, ring)
        out.append(Run(name, "virtio_rng", [*one, *tr, opt], words, 45,
                       [*_pci_line("rng", transport, ring),
                        rf"^virtio-rng at 0x[0-9a-f]+ irq [0-9]+: {ring} ring", *rng]))
    for name, transport, ring in (("virtio_console", "mmio", "split"),
                                  ("virtio_console_pci", "pci", "packed")):
        tr, words = _transport(transport, ring)
        out.append(Run(name, "virtio_console", [*one, *tr, "--console", "virtio"],
                       f"{words} input={CONSOLE_INPUT}", 45,
                       [*_pci_line("console", transport, ring),
                        r"^transmitq: line sent, buffer returned by interrupt: ok\r?$",
                        rf'^receiveq: input "{CONSOLE_INPUT}"\r?$',
                        r"^virtio-console: hello from hvc0\r?$",
                        rf"^virtio-console echo: {CONSOLE_INPUT}\r?$"], host="console"))
    out.append(Run("virtio_net_user", "virtio_net_user",
                   [*one, "--net", f"user,hostfwd=tcp:127.0.0.1:{NET_HOSTPORT}-:{NET_GUESTPORT}"],
                   f"port={NET_PORT} listen={NET_GUESTPORT}", 90,
                   [r"^dhcp: got 10.0.2.15: ok\r?$",
                    rf"^tcp connect to 10.0.2.2:{NET_PORT}: sent, echo received, closed: ok",
                    rf"^tcp accept on {NET_GUESTPORT}: request received, answered, closed: ok"],
                   host="net_user"))
    for name, transport, queues in (("virtio_blk_mq", "mmio", 2), ("virtio_blk_mq_pci", "pci", 4)):
        tr, words = _transport(transport)
        out.append(Run(name, "virtio_blk_mq",
                       [*one, *tr, f"--disk={work}/{name}-rw.img,num-queues={queues}"],
                       f"{words} queues={queues}", 60,
                       [rf"^MQ negotiated, num_queues {queues}\r?$",
                        rf"^{queues} queues at once: 8 reads and 8 writes each: ok",
                        r"^flush on every queue, writes read back through another queue: ok"],
                       name, mq_queues=queues))
    # virtio_net over a tap (x86's plain mode): frames held while no rx buffer is posted, ARP and
    # ping answered, every frame size 60-1514 echoed
    out.append(Run("virtio_net", "virtio_net",
                   [*one, "--net", f"tap=vtap0,mac={TAP_GUEST_MAC}"],
                   f"ip={TAP_GUEST_IP} rx_frames={TAP_DELAYED} rx_delay_ms=3000 serve_ms=60000",
                   90, [rf"^rx delay: {TAP_DELAYED} of {TAP_DELAYED} frames after buffers were "
                        r"posted: ok\r?$",
                        r"^served: [1-9][0-9]* ARP replies, [1-9][0-9]* ICMP echo replies",
                        r"^num_buffers != 1 without MRG_RXBUF: 0 frames\r?$"], host="tap"))
    # and with offloads (x86's offload mode: MRG_RXBUF, CSUM, TSO; the tap's MTU 65521): a
    # 60000-byte ping, frames of 1515-65535 bytes echoed, one of 65550 from the guest
    out.append(Run("virtio_net_offload", "virtio_net",
                   [*one, "--net", f"tap=vtap0,mac={TAP_GUEST_MAC}"],
                   f"ip={TAP_GUEST_IP} rx_frames={TAP_DELAYED} rx_delay_ms=3000 serve_ms=60000 "
                   "offload", 90, out[-1].lines, host="tap_offload"))
    # virtio_net_mq over a multi-queue tap: 2 pairs on mmio, 4 on pci (a vector per queue)
    for name, transport, pairs in (("virtio_net_mq", "mmio", 2), ("virtio_net_mq_pci", "pci", 4)):
        tr, words = _transport(transport)
        out.append(Run(name, "virtio_net_mq",
                       [*one, *tr, "--net", f"tap=vtapmq0,mac={MQ_GUEST_MAC},queues={pairs}"],
                       f"{words} queues={pairs}", 60,
                       [rf"^MQ negotiated, max_virtqueue_pairs {pairs}\r?$",
                        rf"^VQ_PAIRS_SET: 0 and {pairs + 1} refused, {pairs} accepted\r?$",
                        rf"^round 1: {pairs * 8} datagrams from {pairs} pairs echoed intact\r?$",
                        r"^frames on [0-9]+ receive queues: ok\r?$"], host="tap_mq",
                       net_pairs=pairs))
    # --balloon size=64 without the API (x86's test_size_without_api): the guest touches 128 MiB
    # (from RAM + 64 MiB: x86's start=64M is below arm64's RAM) and inflates 64 MiB at once; the
    # VMM's RSS must fall below 100 MiB
    out.append(Run("virtio_balloon", "virtio_balloon",
                   ["--cpus", "1", "--mem", "256M", "--balloon", "size=64"],
                   f"touch=128M start={BALLOON_START:#x} changes=0 wait=5", 60,
                   [r"^BALLOON ready target=16384 ", r"^BALLOON actual=16384 "], host="balloon",
                   expect_fail=r"num_pages stayed 16384"))
    return out


def device_runs(work):
    """virtio_mem, virtio_pmem, virtio_input and virtio_gpu with x86's checks of them
    (virtio/test_virtio_mem.py, virtio/test_virtio_pmem.py, display/test_display_input.py,
    display/test_display_gpu.py): the request protocol's every answer over mmio and pci (and
    the failed device: the VMM's log); FLUSHes over mmio and pci, read-write and read-only, and
    the pmem files the VMM must refuse; the injected input events in order and a bad script
    refused; the gpu's picture drawn over mmio and pci, each --screenshot compared pixel for
    pixel on the host (lib/display_png_check.py: L1 has no Python), none without a scanout."""
    one = ["--cpus", "1", "--mem", "64M"]
    out = []
    for transport in ("mmio", "pci"):
        tr, words = _transport(transport)
        sfx = "_pci" if transport == "pci" else ""
        out.append(Run(f"virtio_mem{sfx}", "virtio_mem",
                       [*one, *tr, "--memory-hotplug", "total=256M,requested=8M"],
                       f"{words} wait_ms=1000", 60,
                       [*_pci_line("mem", transport, "split"),
                        rf"^virtio-mem at 0x[0-9a-f]+: region {MEM_REGION:#x}\+256 MiB, "
                        "block 2 MiB", r"^virtio-mem: ERROR and NACK answers ok",
                        r"^virtio-mem: a request in unplugged memory failed the device",
                        r"^virtio-mem: all answers ok"], needs_reset=True))
    # x86's four (each transport, each mode) cut to two, for L1's time: ~2 s each
    for transport, ro in (("mmio", 0), ("pci", 1)):
        tr, words = _transport(transport)
        name = "virtio_pmem" + ("_pci" if transport == "pci" else "") + ("_ro" if ro else "")
        out.append(Run(name, "virtio_pmem",
                       [*one, *tr, "--pmem", f"path={work}/pmem.img" + (",ro" if ro else "")],
                       f"{words} size={PMEM_SIZE} ro={ro}", 60,
                       [*_pci_line("pmem", transport, "split"),
                        rf"^virtio-pmem at 0x[0-9a-f]+: window {PMEM_WINDOW:#x}\+{PMEM_SIZE:#x}",
                        r"^virtio-pmem: 4 flushes answered 0" + (r" \(read-only\)" if ro else ""),
                        r"^virtio-pmem: all answers ok"]))
    # x86's refusals: the odd size only (a directory, a missing file: host_path's, arch-neutral;
    # each refusal costs L1 1-3 s)
    for kind, path, why in (("odd", f"{work}/pmem-odd.img", "non-zero multiple of 2 MiB"),):
        out.append(Run(f"virtio_pmem_{kind}", "virtio_pmem", [*one, "--pmem", f"path={path}"],
                       "", 30, refused=-1, refused_log=why))
    out.append(Run("virtio_input", "virtio_input",
                   [*one, "--input-script", f"{work}/input.txt"], "events", 60,
                   [r"^keyboard: 6 events as injected", r"^tablet: 7 events as injected",
                    r"^virtio-input ok"]))
    out.append(Run("virtio_input_bad", "virtio_input",
                   [*one, "--input-script", f"{work}/input-bad.txt"], "", 30, refused=2))
    # the mmio run's screenshot goes to L1's tmpfs (renameat2 with flags) and is copied to WORK
    # for the check; the pci run's straight into WORK, where 9p refuses renameat2's flags and the
    # VMM falls back to rename(), renameat on arm64 (its main thread's seccomp list once lacked
    # it: SIGSYS at exit)
    for name, tr, w, h, where in (("virtio_gpu", [], 320, 200, SHOT_DIR),
                                  ("virtio_gpu_pci", ["--transport", "pci"], 64, 40, str(work))):
        words = "transport=pci " if tr else ""
        out.append(Run(name, "virtio_gpu",
                       [*one, *tr, "--gpu", "--screenshot", f"{where}/{name}.png"],
                       f"{words}width={w} height={h}", 60,
                       [rf"^gpu pattern {w}x{h} drawn"], host="screenshot", shot=(w, h),
                       shot_dir=where))
    # a screenshot without a scanout: no file
    out.append(Run("virtio_gpu_noscanout", "hello",
                   [*one, "--screenshot", f"{SHOT_DIR}/virtio_gpu_noscanout.png"], "", 30,
                   [r"^hello from the test guest\r?$"], host="screenshot"))
    return out


# pci_enum and dtb_devices (tests/guests/pci_enum.c with aarch64/pci_enum_dt.c,
# aarch64/dtb_devices.c): x86's boot/test_pci_enum.py and boot/test_guest_dtb_devices.py
ENUM_DISK = "enum.img"
ENUM_VSOCK_UDS = "/tmp/arm64-guests-enum-vsock.sock"  # L1's tmpfs (9p takes no socket)
INITRD = "initrd.img"
INITRD_SIZE = 65536
INITRD_MAGIC = b"dtb_devices initrd\n"  # dtb_devices.c's INITRD_MAGIC


def _bootargs_line(append):
    """dtb_devices prints /chosen's bootargs: they must be what the VMM was given."""
    return rf'^chosen: bootargs "{re.escape(append)}"\r?$'


def enum_runs(work):
    """pci_enum on our VMM with five virtio-pci devices (blk, net over libslirp, rng, vsock,
    console: `vmm`, its exact layout: slots from 1, BARs, MSI-X, INTx line = the interrupt-map's
    SPI, the msi-map to the ITS), with a mix of transports (the mmio disk is not on the bus, the
    rng alone at slot 1) and without a PCI device (no host bridge node at all); dtb_devices with
    2 CPUs, 2 virtio-mmio devices, a virtio-pci one and an initrd, and with 4 CPUs and nothing
    else (no initrd, no PCI node)."""
    pci = ["--cpus", "1", "--mem", "128M", "--transport", "pci"]
    disk = f"--disk={work}/{ENUM_DISK}"
    five = [disk, "--net", "user", "--rng", "--vsock", f"cid=3,uds={ENUM_VSOCK_UDS}",
            "--console", "virtio"]
    dev = r"^00:0[1-5]\.0 1af4:"
    out = [
        Run("pci_enum", "pci_enum", [*pci, *five], "vmm devices=5", 60,
            [r"^ECAM at 0x70000000, 0x10000000 bytes, buses 0-255; [0-9]+ interrupt-map entries",
             r"^00:00\.0 1b36:0008 class 060000 header 0x00\r?$", dev + "1042 class 018000 ",
             dev + "1041 class 020000 ", dev + "1044 class ff0000 ", dev + "1053 class ff0000 ",
             dev + "1043 class 078000 ", r"^  decoding off: BAR reads 0xffffffff",
             r"^  INTA, line 1[2-5]; interrupt-map: SPI 1[2-5] flags 0x4",
             r"^6 functions, 5 virtio; ", r"^interrupt-map: [0-9]+ entries, 5 of them",
             r"^msi-map: RIDs 0x0\+0x10000 -> ITS 0x[0-9a-f]+ \(DeviceID base 0x0\)"]),
        Run("pci_enum_mixed", "pci_enum",
            ["--cpus", "1", "--mem", "128M", disk, "--transport", "pci", "--rng"],
            "vmm devices=1", 45,
            [r"^00:01\.0 1af4:1044 ", r"^  INTA, line 13; interrupt-map: SPI 13 flags 0x4",
             r"^2 functions, 1 virtio; ", r"^interrupt-map: [0-9]+ entries, 1 of them"]),
        Run("pci_enum_nobus", "pci_enum", ["--cpus", "1", "--mem", "128M", "--rng"],
            "vmm devices=0", 45,
            [r"^no pci-host-ecam-generic node", r"^0 functions, 0 virtio; "]),
    ]
    words = f"vmm expect_cpus=2 expect_mem=256M expect_virtio=2 expect_pci " \
            f"expect_initrd={INITRD_SIZE}"
    out.append(Run("dtb_devices", "dtb_devices",
                   ["--cpus", "2", "--mem", "256M", disk, "--rng", "--initrd", f"{work}/{INITRD}",
                    "--transport", "pci", "--console", "virtio"], words, 60,
                   [r"^cpus: 2\r?$", r"^memory: 256 MiB",
                    r"^gicv3: distributor 0x3fff0000 \(PIDR2 0x[0-9a-f]+, IIDR 0x[0-9a-f]+, "
                    r"160 INTIDs\), 2 redistributors",
                    r"^pl011 at 0x40002000: SPI 0 flags 0x4", r"^pl031 at 0x40003000: SPI 1 "
                    r"flags 0x4, RTCDR",
                    r"^virtio-mmio at 0x40100000 size 0x1000 SPI 16 flags 0x4: device 2\r?$",
                    r"^virtio-mmio at 0x40101000 size 0x1000 SPI 17 flags 0x4: device 4\r?$",
                    r"^pci host bridge: ECAM 0x70000000, 00:00\.0 1b36:0008, [0-9]+ INTx routes",
                    r"^timer: PPIs 13 14 11 10 level-high; virtual and physical timers fired",
                    _bootargs_line(words), r"^chosen: stdout-path names pl011@40002000",
                    rf"^initrd: 0x[0-9a-f]+-0x[0-9a-f]+, \"{INITRD_MAGIC.decode().strip()}\"",
                    r"^dtb_devices: ok"]))
    words = "vmm expect_cpus=4 expect_mem=128M expect_virtio=1"
    out.append(Run("dtb_devices_4cpus", "dtb_devices", ["--cpus", "4", "--mem", "128M", "--rng"],
                   words, 60, [r"^cpus: 4\r?$", r"4 redistributors", _bootargs_line(words),
                               r"^virtio-mmio: 1 windows, 1 devices", r"^dtb_devices: ok"]))
    return out


def enum_prepare(work):
    """The disk pci_enum and dtb_devices enumerate and the initrd dtb_devices finds."""
    make_disk(work / ENUM_DISK)
    (work / INITRD).write_bytes(INITRD_MAGIC.ljust(INITRD_SIZE, b"\0"))


def qemu_enum_runs(images, work):
    """The QEMU peers of enum_runs(): pci_enum with blk, net (libslirp) and rng on virtio-pci
    (the checks of any ECAM host bridge: not `vmm`, whose layout is our VMM's), and dtb_devices
    with 2 CPUs, a virtio-mmio disk, a virtio-pci rng and an initrd (the virt board's tree: its
    32 virtio-mmio windows, empty ones too, edge-rising; its PL011, PL031, GICv3 and ITS where
    the board puts them)."""
    drive = ["-drive", f"id=d0,file={work}/{ENUM_DISK},format=raw,if=none"]
    pci = [*drive, "-device", "virtio-blk-pci,drive=d0,disable-legacy=on", "-netdev", "user,id=n0",
           "-device", "virtio-net-pci,netdev=n0,disable-legacy=on", "-device",
           "virtio-rng-pci,disable-legacy=on"]
    words = f"expect_cpus=2 expect_mem=256M expect_virtio=1 expect_pci " \
            f"expect_initrd={INITRD_SIZE}"
    return [
        QemuRun("pci_enum", qemu_argv("pci_enum", images, ["-smp", "1", *pci], "devices=3"),
                [r"^00:00\.0 1b36:0008 ", r"^00:0[1-3]\.0 1af4:1042 ", r"^00:0[1-3]\.0 1af4:1041 ",
                 r"^00:0[1-3]\.0 1af4:1044 ", r"^  INTA, line [0-9]+; interrupt-map: SPI [0-9]+ "
                 r"flags 0x4", r"^4 functions, 3 virtio; ", r"^interrupt-map: 16 entries, 3 of them",
                 r"^msi-map: RIDs 0x0\+0x10000 -> ITS"]),
        QemuRun("dtb_devices",
                qemu_argv("dtb_devices", images,
                      ["-smp", "2", *drive, "-device", "virtio-blk-device,drive=d0", "-device",
                       "virtio-rng-pci,disable-legacy=on", "-initrd", f"{work}/{INITRD}"], words),
                [r"^cpus: 2\r?$", r"^gicv3: distributor .* 2 redistributors",
                 r"^virtio-mmio: 32 windows, 1 devices", _bootargs_line(words),
                 r"^initrd: ", r"^dtb_devices: ok"]),
    ]


def runs(work):
    """Every run, or those whose name matches $ARM64_GUESTS (a regex, for work on a few)."""
    only = os.environ.get("ARM64_GUESTS")
    return [r for r in _all_runs(work) if not only or re.fullmatch(only, r.name)]


def _all_runs(work):
    return [
        Run("hello", "hello", ["--cpus", "1", "--mem", "128M"], "", 45,
            [r"^hello from the test guest\r?$"]),
        Run("machine", "machine", ["--cpus", "2", "--mem", "256M"], "expect_mem=256M ncpus=2", 45,
            [r"^cpus: 2, boot CPU MPIDR", r"^psci: version 1\.", r"^machine: ok"]),
        Run("smp", "smp", ["--cpus", "4", "--mem", "128M"], "ncpus=4", 60,
            [r"^all 4 CPUs up"]),
        # tools/benchmarks memory's guest: 32 MiB touched from 16 MiB into RAM (2 GiB here)
        Run("mem_touch", "mem_touch", ["--cpus", "1", "--mem", "128M"], "touch=32M", 45,
            [r"^BENCH mem_touch bytes=33554432 start=0x81000000\r?$"]),
        Run("interrupts", "interrupts", ["--cpus", "1", "--mem", "128M"], "ticks=20", 45,
            [r"^virtual timer: 20 interrupts", r"^SGI 3 to self: taken"]),
        Run("virtio_blk", "virtio_blk", ["--cpus", "1", "--mem", "256M", *blk_args(work, "blk")],
            f"ring=split sectors={SECTORS} id={BLK_ID} ro_disk discard bad_queue", 90,
            BLK_LINES, "blk", True),
        Run("hostile", "hostile", ["--cpus", "1", "--mem", "256M", *hostile_args(work, "hostile")],
            f"seed={SEED} rounds={ROUNDS}", 240,
            [rf"^hostile: seed {SEED}, {ROUNDS} rounds, [0-9]+ devices over mmio: "
             + HOSTILE_DEVS, r"^checklist sweep: [0-9]+ abuses x [0-9]+ devices: ok",
             rf"^random driver: {ROUNDS} rounds: ok"], "hostile", True),
        Run("hostile_platform", "hostile_platform",
            ["--cpus", "2", "--mem", "128M", f"--disk={work}/platform.img"], "", 90,
            [r"^unmapped MMIO: [0-9]+ addresses", r"^odd virtio-mmio accesses: [1-9]",
             r"^virtio-blk after the odd accesses: sector 0 read: ok",
             r"^pl011: still printing", r"^bogus PSCI calls: VMM alive",
             r"^hostile_platform: ok"]),
        # an ldp from a virtio-mmio window: no syndrome, KVM cannot hand it to the VMM, which
        # gives the guest an external data abort (EC 0x25: a data abort at the same EL)
        Run("hostile_nisv", "hostile_platform", ["--cpus", "1", "--mem", "128M",
                                                 f"--disk={work}/platform.img"],
            "skip=unmapped,odd,platform,psci nisv", 45,
            [r"^nisv: ldp from 0x", r"^nisv: an exception, ESR 0x[0-9a-f]+ \(EC 0x25\)",
             r"^nisv: the guest goes on"]),
        *pci_runs(work),
        *virtio_runs(work),
        *device_runs(work),
        *enum_runs(work),
        *arm64_abuse.abuse_runs(work),
        *arm64_bench.bench_runs(work),
        *arm64_cpu_template.refused_runs(),
    ]


def build(vmm=True):
    out = arm64_build.build(*(["vmm", "vmmctl"] if vmm else []), "arm64_guests")
    return out / "vmm", out / "tests" / "guests"


def build_helper(work, name):
    """lib/NAME.c for L1, WORK/NAME."""
    cc = subprocess.run(["aarch64-linux-gnu-gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
                         str(work / name), str(LIB / f"{name}.c")],
                        capture_output=True, text=True)
    assert cc.returncode == 0, f"{name} does not build:\n" + cc.stderr


# The runs that go again in the GICv2 L1 (linux/test_arm64_linux.py's part gicv2): the runtime's
# GICv2 (gic_v2.c) on the VMM's, virtio-pci's MSI-X through the VMM's GICv2m frame (v2m.c) and
# INTx, the tree's GICv2 node (dtb_devices)
GICV2_L1 = ("machine", "smp", "interrupts", "virtio_blk", "virtio_blk_pci", "virtio_blk_pci_intx",
            "dtb_devices")


def gicv2_runs(work):
    """GICV2_L1's runs, their GICv3 lines a GICv2's."""
    return [replace(r, lines=[GICV2_LINE if line.startswith("^gicv3: ") else line
                              for line in r.lines])
            for r in _all_runs(work) if r.name in GICV2_L1]


def prepare_gicv2(work):
    """What gicv2_runs() need in WORK."""
    work.mkdir(parents=True, exist_ok=True)
    for disks in ("blk", "blk-pci", "blk-intx"):
        for kind in ("rw", "ro"):
            make_disk(work / f"{disks}-{kind}.img")
    make_disk(work / "pristine.img")  # what _disk_problems() compares against
    enum_prepare(work)


def prepare(work):
    for disks in ("blk", "hostile", "blk-pci", "blk-intx", "hostile-pci", "fuzz-pci"):
        for kind in ("rw", "ro"):
            make_disk(work / f"{disks}-{kind}.img")
    for name in ("platform", "pristine", "virtio_blk_mq-rw", "virtio_blk_mq_pci-rw"):
        make_disk(work / f"{name}.img")
    # virtio_net_user's service: one line answered "echo: LINE" (busybox nc -ll -e)
    echo = work / "net_echo.sh"
    echo.write_text('#!/bin/sh\nread -r l\necho "echo: $l"\n')
    echo.chmod(0o755)
    with open(work / "pmem.img", "wb") as f:
        f.truncate(PMEM_SIZE)
    with open(work / "pmem-odd.img", "wb") as f:
        f.truncate(3 << 20)
    (work / "input.txt").write_text(INPUT_SCRIPT)
    (work / "input-bad.txt").write_text("key 30 9\n")
    build_helper(work, "vsock_host")
    build_helper(work, "net_host")
    enum_prepare(work)
    arm64_abuse.prepare(work)
    arm64_bench.prepare(work)


# Busybox sh functions of the runs' lines: arm64_l1's waitfor, and
FUNCTIONS = [
    arm64_l1.WAITFOR,
    # askfwd FILE: "ping from the host" through the hostfwd, the answer in FILE; again while it
    # is empty (a connection that reached the guest before it listened is refused, not taken)
    'askfwd() { i=0; while [ $i -lt 20 ]; do echo "ping from the host" | nc -w 20 127.0.0.1 '
    f'{NET_HOSTPORT} > "$1" 2>&1; [ -s "$1" ] && return 0; i=$((i+1)); sleep 0.3; done; }}',
]


def _host_lines(r, vmm_line):
    """L1's lines of one run: VMM_LINE (the VMM under `timeout`, its output redirected) with
    what R.host needs around it; the VMM's status in $r. Findings of the host's side go to
    <name>.host."""
    h = f"{r.name}.host"
    if r.host == "vsock":
        return [f"rm -f {VSOCK_TEST_UDS} {VSOCK_TEST_UDS}_*",
                f"./vsock_host {VSOCK_TEST_UDS} {VSOCK_CREDIT} {VSOCK_HOST_BYTES} {r.timeout} "
                f"> {h} 2>&1 & vh=$!",
                f"waitfor {h} '^ready' $vh 100",
                vmm_line, "r=$?",
                f'[ -e {VSOCK_TEST_UDS} ] && echo "UDS-LEFT {VSOCK_TEST_UDS}" >> {h}',
                # the helper ends by itself once the exchange is done (its own deadline)
                f'wait $vh; echo "HOST-STATUS $?" >> {h}']
    if r.host == "console":
        # the input at once, before the guest's driver is up (x86's "at-once" runs)
        fifo = f"/tmp/{r.name}.in"
        return [f"rm -f {fifo}; mkfifo {fifo}", f"{vmm_line} < {fifo} & pid=$!",
                f"exec 3> {fifo}", f"echo {CONSOLE_INPUT} >&3",
                "wait $pid; r=$?", f"exec 3>&-; rm -f {fifo}"]
    if r.host == "screenshot":
        # --screenshot in L1's tmpfs, copied to WORK (the host compares it) when there is one
        shot = f"{r.shot_dir}/{r.name}.png"
        if r.shot_dir != SHOT_DIR:  # written in WORK itself
            return [f"rm -f {shot}", vmm_line, "r=$?"]
        return [f"rm -f {shot} {r.name}.png", vmm_line, "r=$?",
                f"[ -e {shot} ] && cp {shot} {r.name}.png; rm -f {shot}"]
    if r.host == "balloon":
        # the VMM's RSS (MiB) once the guest has inflated: below BALLOON_RSS_MIB within 5 s
        rss = "awk '/^VmRSS:/ {print int($2 / 1024)}' /proc/$pid/status"
        return [f"{vmm_line} & pid=$!",
                f"waitfor {r.name}.out '^BALLOON actual=16384 ' $pid 600",
                f'i=0; while [ $i -lt 50 ]; do m=$({rss}); [ -n "$m" ] && '
                f'[ "$m" -lt {BALLOON_RSS_MIB} ] && break; i=$((i+1)); sleep 0.1; done',
                f'echo "RSS $m MiB" > {h}', "wait $pid; r=$?"]
    if r.host == "net_user":
        # the service (10.0.2.2:NET_PORT for the guest); once the guest listens, the hostfwd's
        # client: its answer in <name>.host
        return [f"nc -ll -p {NET_PORT} -e ./net_echo.sh & sv=$!", f"{vmm_line} & pid=$!",
                f"waitfor {r.name}.out '^listening on port {NET_GUESTPORT}' $pid 600 && "
                "askfwd " + h,
                "wait $pid; r=$?", "kill $sv; wait $sv"]
    if r.host in ("tap", "tap_offload"):
        # net/test_net_tap_ping.py's exercise(), plain or offload mode
        mac = TAP_GUEST_MAC
        offload = [f"ping -c 2 -W 5 -s 60000 {TAP_GUEST_IP} >> {h} 2>&1; "
                   f"echo \"BIGPING-STATUS $?\" >> {h}; "
                   f"./net_host sweep vtap0 {mac} {OFFLOAD_SWEEP} >> {h}; "
                   f"./net_host gen vtap0 {mac} {OFFLOAD_GEN} >> {h}; "] \
            if r.host == "tap_offload" else []
        mtu = f"ip link set vtap0 mtu {OFFLOAD_MTU}" if offload else "true"
        return [f"./net_host tap vtap0 > {h}", mtu, "ip link set vtap0 up",
                f"ip addr add {TAP_HOST_IP}/24 dev vtap0", f"{vmm_line} & pid=$!",
                f"waitfor {r.name}.out '^rx buffers withheld' $pid 300 && "
                f"./net_host delayed vtap0 {mac} {TAP_DELAYED} >> {h}",
                f"if waitfor {r.name}.out '^serving at' $pid 300; then "
                f"ping -c 3 -W 2 {TAP_GUEST_IP} >> {h} 2>&1; echo \"PING-STATUS $?\" >> {h}; "
                f"./net_host sweep vtap0 {mac} 60-1514 >> {h}; echo \"SWEEP-STATUS $?\" >> {h}; ",
                *offload, "fi",
                f"./net_host quit vtap0 {mac}", "wait $pid; r=$?", "tunctl -d vtap0 > /dev/null"]
    if r.host == "tap_mq":
        # net/test_virtio_net_mq.py's mq_ns fixture and finish_run()
        echo = f"{r.name}.echo"
        return [f"./net_host tap vtapmq0 multi > {h}",
                f"ip link set dev vtapmq0 address {MQ_HOST_MAC}", "ip link set vtapmq0 up",
                f"ip addr add {MQ_HOST_IP}/24 dev vtapmq0",
                f"arp -i vtapmq0 -s {MQ_GUEST_IP} {MQ_GUEST_MAC}",
                f"./net_host udp-echo {MQ_HOST_IP} 7777 {r.timeout} > {echo} & ev=$!",
                f"waitfor {echo} '^ready' $ev 100", vmm_line, "r=$?",
                f"kill $ev; wait $ev; cat {echo} >> {h}", "tunctl -d vtapmq0 > /dev/null"]
    return [vmm_line, "r=$?"]


def l1_lines(vmm, images, work, selected=None):
    """The L1 lines of every run, or of the list SELECTED (gicv2_runs())."""
    q = shlex.quote
    lines = [f"cd {q(str(work))}", *FUNCTIONS, *arm64_abuse.FUNCTIONS]
    for r in runs(work) if selected is None else selected:
        argv = [str(vmm), "--kernel", str(images / f"{r.guest}.Image"), *r.args,
                "--append", r.append]
        vmm_line = f"timeout {r.timeout} {' '.join(map(q, argv))} > {r.name}.out 2> {r.name}.err"
        if r.host in arm64_abuse.HOSTS:
            host = arm64_abuse.host_lines(r, vmm, images, work)
        elif r.host in arm64_bench.HOSTS:
            host = arm64_bench.host_lines(r, vmm_line)
        else:
            host = _host_lines(r, vmm_line)
        lines += ["s=$(date +%s)", *host,
                  f'echo "ARM64_GUEST {r.name} $r $(($(date +%s) - s)) s"']
    return lines


def _pattern(tag, mark, first, count):
    return b"".join(f"{tag}{s:010d}-{mark}\n".encode() * 32 for s in range(first, first + count))


def _sectors(path, first, count):
    with open(path, "rb") as f:
        f.seek(first * 512)
        return f.read(count * 512)


def _disk_problems(r, work):
    """virtio_blk: its writes there, the host's pattern and the read-only disk intact; hostile:
    the host's pattern and the read-only disk intact."""
    if not r.disks:
        return []
    if r.mq_queues:
        host = (work / "pristine.img").read_bytes()[:PATTERN_SECTORS * 512]
        if (work / f"{r.disks}-rw.img").read_bytes()[:len(host)] != host:
            return ["the disk's host pattern changed"]
        return []
    pristine = (work / "pristine.img").read_bytes()
    host = pristine[:PATTERN_SECTORS * 512]
    rw, ro = work / f"{r.disks}-rw.img", work / f"{r.disks}-ro.img"
    bad = []
    if r.guest == "virtio_blk":
        if _sectors(rw, *GUEST_WROTE) != _pattern("G", "GST", *GUEST_WROTE):
            bad.append("the guest's pattern is not in sectors 4096-4167 of the disk")
        if _sectors(rw, *ZEROED) != bytes(ZEROED[1] * 512):
            bad.append("sectors 6000-6015 are not zeros after WRITE_ZEROES")
    if rw.read_bytes()[:len(host)] != host:
        bad.append("the writable disk's host pattern changed")
    if ro.read_bytes() != pristine:
        bad.append("the read-only disk changed")
    return bad


def _sweep_count(spec):
    """How many sizes net_host's sweep A-B:STEP sends (net_frames.py's sizes())."""
    ab, step = spec.split(":")
    a, b = map(int, ab.split("-"))
    return len(range(a, b + 1, int(step))) + (1 if (b - a) % int(step) else 0)


def _host_problems(r, work):
    """What L1's side of run R saw (<name>.host), as x86's checks of the same guest."""
    path = work / f"{r.name}.host"
    host = path.read_text(errors="replace") if path.exists() else ""
    bad = []
    if r.host == "vsock":
        if not re.search(r"^HOST-STATUS 0$", host, re.M):
            bad.append("the host's side (vsock_host) failed")
        if not re.search(rf"^host: {VSOCK_HOST_BYTES} bytes echoed intact$", host, re.M):
            bad.append("the host-initiated connection (CONNECT 5000) did not echo intact")
        # phase 1's connection and phase 2's 16
        echoes = re.findall(r"^echo: connection ([0-9]+)$", host, re.M)
        if len(echoes) != 17:
            bad.append(f"{len(echoes)} connections to the echo server, want 17")
        if "UDS-LEFT" in host:
            bad.append("the VMM left its vsock socket behind")
    elif r.host == "balloon":
        m = re.search(r"^RSS ([0-9]+) MiB$", host, re.M)
        if not m or int(m.group(1)) >= BALLOON_RSS_MIB:
            bad.append(f"the VMM's RSS after inflating 64 MiB of 128 touched: "
                       f"{m.group(1) + ' MiB' if m else 'not read'}, want < {BALLOON_RSS_MIB}")
    elif r.host in ("tap", "tap_offload"):
        offload = ((r"^BIGPING-STATUS 0$", f"ping -s 60000 {TAP_GUEST_IP}"),
                   (rf"^{_sweep_count(OFFLOAD_SWEEP)} sizes from 1515 to 65535 echoed intact$",
                    f"the sweep {OFFLOAD_SWEEP}"),
                   (rf"^frame of {OFFLOAD_GEN} bytes from the guest intact$",
                    f"a frame of {OFFLOAD_GEN} bytes from the guest")) \
            if r.host == "tap_offload" else ()
        for regex, what in ((rf"^sent {TAP_DELAYED}$", "the delayed frames"),
                            (r"^PING-STATUS 0$", f"ping {TAP_GUEST_IP}"),
                            (r"^1455 sizes from 60 to 1514 echoed intact$", "the sweep 60-1514"),
                            *offload):
            if not re.search(regex, host, re.M):
                bad.append(f"the host's side: {what} failed")
    elif r.host == "tap_mq":
        want = f"echoed {r.net_pairs * 8 * 2} from {r.net_pairs * 8} ports"
        if not re.search(rf"^{want}$", host, re.M):
            bad.append(f"the host's UDP echo: want '{want}'")
    elif r.host == "net_user":
        if not re.search(r"^pong: ping from the host\r?$", host, re.M):
            bad.append(f"hostfwd 127.0.0.1:{NET_HOSTPORT} -> guest:{NET_GUESTPORT} answered "
                       f"{host.strip()[:200]!r}")
    if r.mq_queues:
        n = r.mq_queues * 64
        if _sectors(work / f"{r.disks}-rw.img", 4096, n) != _pattern("G", "GST", 4096, n):
            bad.append(f"the guest's pattern is not in sectors 4096-{4095 + n} of the disk")
    if bad and r.host:
        bad[-1] += f"\n--- host side (end) ---\n{host[-1500:]}"
    return bad


def check_output(name, out, status, lines, expect_fail=""):
    """What is wrong with one run: its status, the verdict line (TEST PASS, or the FAIL line
    EXPECT_FAIL), the run's own lines."""
    bad = []
    if status != "0":
        bad.append(f"exit status {status}" + (" (timeout: a hang)" if status == "124" else ""))
    if expect_fail:
        if not re.search(rf"^FAIL: .*{expect_fail}", out, re.M):
            bad.append(f"no FAIL line /{expect_fail}/ (the verdict this run must end with)")
        lines = [*lines, r"^TEST FAIL \(code 0x10\)"]
    elif not re.search(r"^TEST PASS\r?$", out, re.M):
        bad.append("no TEST PASS line")
    for m in re.finditer(r"^(FAIL: .*|TEST FAIL.*|UNEXPECTED EXCEPTION.*)$", out, re.M):
        if not expect_fail:
            bad.append(m.group(1).strip())
    for regex in lines:
        if not re.search(regex, out, re.M):
            bad.append(f"output lacks /{regex}/")
    return bad


def _refused_problems(r, status, out, err):
    """A run whose options the VMM must refuse: its status (R.refused; -1 any but 0 and 1),
    its log (R.refused_log), and no guest run."""
    bad = []
    if (r.refused == -1 and status in ("0", "1", "124")) or \
            (r.refused != -1 and status != str(r.refused)):
        bad.append(f"exit status {status}, want "
                   + ("a refusal (not 0, 1)" if r.refused == -1 else str(r.refused)))
    if r.refused_log and not re.search(r.refused_log, err):
        bad.append(f"the VMM's log lacks /{r.refused_log}/")
    if "TEST PASS" in out:
        bad.append("the guest ran")
    return bad


def _screenshot_problems(r, work):
    """virtio_gpu: <name>.png is virtio_gpu.c's picture (lib/display_png_check.py); with
    --screenshot but no scanout: no file."""
    shot = work / f"{r.name}.png"
    if r.shot:
        if not shot.exists():
            return [f"no screenshot {shot.name}"]
        check = subprocess.run(["python3", str(PNG_CHECK), str(shot), *map(str, r.shot)],
                               capture_output=True, text=True)
        if check.returncode:
            return [f"screenshot {shot.name} differs: {check.stdout}{check.stderr}"]
    elif r.host == "screenshot" and shot.exists():
        return [f"a screenshot without a scanout: {shot.name}"]
    return []


def check(console, work, selected=None):
    status = dict(re.findall(r"^ARM64_GUEST (\S+) (\d+) ", console, re.M))
    failures = []
    for r in runs(work) if selected is None else selected:
        if r.name not in status:
            failures.append(f"{r.name}: never ran (L1 stopped before it)")
            continue
        out = (work / f"{r.name}.out").read_text(errors="replace")
        err = (work / f"{r.name}.err").read_text(errors="replace")
        if r.refused:
            bad = _refused_problems(r, status[r.name], out, err)
            if bad:
                failures.append(f"{r.name}: " + "; ".join(bad) + f"\n--- VMM log (end) ---\n"
                                f"{err[-1500:]}")
            continue
        bad = (check_output(r.name, out, status[r.name], r.lines, r.expect_fail)
               + _screenshot_problems(r, work)
               + _disk_problems(r, work)
               + _host_problems(r, work)
               + arm64_abuse.problems(r, work)
               + arm64_bench.problems(r, work))
        if r.needs_reset and not re.search(NEEDS_RESET_LOG, err):
            bad.append(f"the VMM's log lacks /{NEEDS_RESET_LOG}/")
        if r.log and not re.search(r.log, err, re.M):
            bad.append(f"the VMM's log lacks /{r.log}/")
        if r.name == "hostile_nisv" and "KVM cannot decode" not in err:
            bad.append("the VMM's log does not say it gave the guest a data abort")
        if bad:
            failures.append(f"{r.name}: " + "; ".join(bad) + f"\n--- console (end) ---\n"
                            f"{out[-2500:]}\n--- VMM log (end) ---\n{err[-1500:]}")
    return failures


QEMU_BASE = ["-M", "virt,gic-version=3", "-accel", "tcg", "-cpu", "max,pauth=off", "-m", "256",
             "-nographic", "-no-reboot", "-nodefaults", "-global",
             "virtio-mmio.force-legacy=false"]


@dataclass
class QemuRun:
    name: str
    argv: list  # qemu-system-aarch64's options (QEMU_BASE and the PL011's -serial included)
    lines: list  # regexes the output (the PL011's, then hvc0's) must match (and TEST PASS)
    stdin: str = ""  # typed on QEMU's stdin (hvc0) at once; the PL011 then goes to a file
    host: str = ""  # "net_user": the service and the hostfwd's client (qemu_run())
    ports: tuple = ()  # net_user: (the service's port, the hostfwd's host port)
    com1: str = ""  # with stdin: the file the PL011 writes (its -serial file:)
    mq_queues: int = 0  # virtio_blk_mq: queues whose writes the disk q-mq-<transport> must hold


def qemu_argv(guest, images, extra, append, stdin=""):
    serial = ["-serial", "stdio"] if not stdin else []
    return [*QEMU_BASE, *serial, *extra, "-kernel", str(images / f"{guest}.Image"),
            "-append", append]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qemu_virtio_runs(images, work):
    """x86's QEMU peers of the virtio guests (virtio/virtio_*_checks.py test_qemu and the
    others' QEMU runs) on the virt board: rng on a split and a packed ring over virtio-mmio and
    over virtio-pci (MSI-X on the split ring, INTx on the packed one); console with the input at
    once; net_user over QEMU's libslirp (DHCP, TCP out to a service here, a hostfwd in);
    blk_mq with 2 queues on virtio-mmio and 4 on virtio-pci. Not vsock: QEMU's needs the host's
    vhost-vsock."""
    out = []
    for transport, ring in (("mmio", "split"), ("mmio", "packed"), ("pci", "split"),
                            ("pci", "packed")):
        _, words = _transport(transport, ring)
        packed = "on" if ring == "packed" else "off"
        dev = ("virtio-rng-pci,disable-legacy=on" if transport == "pci" else "virtio-rng-device")
        out.append(QemuRun(f"virtio_rng_{transport}_{ring}",
                           qemu_argv("virtio_rng", images, ["-device", f"{dev},packed={packed}"],
                                 words), [*_pci_line("rng", transport, ring),
                                          rf"^virtio-rng at 0x[0-9a-f]+ irq [0-9]+: {ring} ring",
                                          r"^random bytes: 5 buffers ok"]))
    for transport, ring in (("mmio", "split"), ("pci", "packed")):
        _, words = _transport(transport, ring)
        packed = "on" if ring == "packed" else "off"
        dev = ("virtio-serial-pci,disable-legacy=on" if transport == "pci"
               else "virtio-serial-device")
        com1 = work / f"virtio_console_{transport}.com1"
        extra = ["-serial", f"file:{com1}", "-chardev", "stdio,id=con0", "-device",
                 f"{dev},packed={packed}", "-device", "virtconsole,chardev=con0"]
        out.append(QemuRun(f"virtio_console_{transport}_{ring}",
                           qemu_argv("virtio_console", images, extra,
                                 f"{words} input={CONSOLE_INPUT}", stdin=CONSOLE_INPUT + "\n"),
                           [*_pci_line("console", transport, ring),
                            r"^transmitq: line sent, buffer returned by interrupt: ok\r?$",
                            rf'^receiveq: input "{CONSOLE_INPUT}"\r?$',
                            r"^virtio-console: hello from hvc0\r?$",
                            rf"^virtio-console echo: {CONSOLE_INPUT}\r?$"],
                           stdin=CONSOLE_INPUT + "\n", com1=str(com1)))
    port, fwd = _free_port(), _free_port()
    out.append(QemuRun("virtio_net_user",
                       qemu_argv("virtio_net_user", images,
                             ["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{fwd}-:{NET_GUESTPORT}",
                              "-device", "virtio-net-device,netdev=n0"],
                             f"port={port} listen={NET_GUESTPORT}"),
                       [r"^dhcp: got 10.0.2.15: ok\r?$",
                        rf"^tcp connect to 10.0.2.2:{port}: sent, echo received, closed: ok",
                        rf"^tcp accept on {NET_GUESTPORT}: request received, answered, closed: ok"],
                       host="net_user", ports=(port, fwd)))
    for transport, queues in (("mmio", 2), ("pci", 4)):
        _, words = _transport(transport)
        dev = "virtio-blk-pci,disable-legacy=on" if transport == "pci" else "virtio-blk-device"
        out.append(QemuRun(f"virtio_blk_mq_{transport}",
                           qemu_argv("virtio_blk_mq", images,
                                 ["-drive", f"id=d0,file={work}/q-mq-{transport}-rw.img,format=raw,"
                                  "if=none", "-device", f"{dev},drive=d0,num-queues={queues}"],
                                 f"{words} queues={queues}"),
                           [rf"^MQ negotiated, num_queues {queues}\r?$",
                            rf"^{queues} queues at once: 8 reads and 8 writes each: ok",
                            r"^flush on every queue, writes read back through another queue: "
                            "ok"], mq_queues=queues))
    # virtio_input (display/test_display_input.py's QEMU run: the config space and the statusq,
    # no injection) and virtio_gpu (display/test_display_gpu.py's: the picture drawn, every
    # command answered; no screenshot there), over virtio-mmio and virtio-pci
    for transport in ("mmio", "pci"):
        pci = transport == "pci"
        sfx = "-pci,disable-legacy=on" if pci else "-device"
        words = "transport=pci" if pci else ""
        out.append(QemuRun(f"virtio_input_{transport}",
                           qemu_argv("virtio_input", images, ["-device", f"virtio-keyboard{sfx}",
                                                          "-device", f"virtio-tablet{sfx}"],
                                 words), [r"^virtio-input ok"]))
        out.append(QemuRun(f"virtio_gpu_{transport}",
                           qemu_argv("virtio_gpu", images, ["-device", f"virtio-gpu{sfx}"],
                                 f"{words} width=320 height=200"),
                           [r"^gpu pattern 320x200 drawn"]))
    return out


def _serve_echo_lines(ls):
    """net_user's service on listening socket LS: each connection's first line answered
    "echo: LINE", until LS is closed."""
    while True:
        try:
            c, _ = ls.accept()
        except OSError:
            return
        with c:
            c.settimeout(20)
            try:
                c.sendall(b"echo: " + c.makefile("rb").readline())
            except OSError:
                pass


def _ask_fwd(port, outpath, alive, deadline):
    """net_user's client: once the guest says it listens, "ping from the host" to 127.0.0.1:PORT
    (QEMU forwards it to the guest) and its side closed; the answer line, or what went wrong."""
    while not re.search(rf"^listening on port {NET_GUESTPORT}", outpath.read_text(errors="replace"),
                        re.M):
        if not alive() or time.time() > deadline:
            return "the guest never listened"
        time.sleep(0.1)
    answer = ""
    while not answer and time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
                c.sendall(b"ping from the host\n")
                # the request's end as L1's busybox nc ends it: data and FIN at once (the
                # runtime's accept once missed a connection half-closed in the same poll)
                c.shutdown(socket.SHUT_WR)
                answer = c.makefile("rb").readline().decode(errors="replace").rstrip("\n")
        except OSError as e:
            answer = ""
            last = str(e)
        if not answer:
            time.sleep(0.3)
    return answer or f"no answer ({last if 'last' in dir() else 'empty'})"


def qemu_run(r, work, timeout=60):
    """Runs QemuRun R on qemu-system-aarch64: (output, status, what went wrong on the host's
    side). The output is the PL011's, then (with R.stdin) hvc0's; status "124" is a timeout."""
    outpath, bad = work / f"{r.name}.out", []
    ls = None
    if r.host == "net_user":
        ls = socket.socket()
        ls.bind(("127.0.0.1", r.ports[0]))
        ls.listen(4)
        threading.Thread(target=_serve_echo_lines, args=(ls,), daemon=True).start()
    with open(outpath, "wb") as f:
        p = subprocess.Popen([paths.QEMU_AARCH64, *r.argv], stdin=subprocess.PIPE, stdout=f,
                             stderr=subprocess.STDOUT)
    try:
        if r.stdin:
            p.stdin.write(r.stdin.encode())
            p.stdin.flush()
        if r.host == "net_user":
            answer = _ask_fwd(r.ports[1], outpath, lambda: p.poll() is None,
                              time.time() + timeout)
            if answer != "pong: ping from the host":
                bad.append(f"hostfwd 127.0.0.1:{r.ports[1]} -> guest:{NET_GUESTPORT} answered "
                           f"{answer!r}")
        status = str(p.wait(timeout))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        status = "124"
    finally:
        p.stdin.close()
        if ls:
            ls.close()
    out = outpath.read_text(errors="replace")
    if r.com1 and os.path.exists(r.com1):
        with open(r.com1, errors="replace") as f:
            out = f.read() + out
    if r.mq_queues:
        mq = Run(r.name, "virtio_blk_mq", [], "", 0, disks=f"q-mq-{r.name.rsplit('_', 1)[1]}",
                 mq_queues=r.mq_queues)
        bad += _disk_problems(mq, work) + _host_problems(mq, work)
    return out, status, bad


def qemu_runs(images, work):
    """The runs on QEMU's virt board (not hostile: QEMU answers its abuses its own legal way):
    virtio_blk on virtio-mmio (split and packed rings) and on virtio-pci (split with MSI-X through
    the ITS, packed with INTx; the guest places the BARs, which nobody did), and the virtio
    guests of qemu_virtio_runs(). QEMU plugs the first virtio-mmio device into its highest window
    and the guest takes the lowest first, so there the read-only disk comes first on QEMU's
    command line; PCI slots go in command-line order."""
    def blk(ring, transport="mmio"):
        packed = "on" if ring == "packed" else "off"
        dev = ("virtio-blk-pci,disable-legacy=on" if transport == "pci"
               else "virtio-blk-device") + f",packed={packed}"
        d = f"q-{transport}-{ring}"
        ro = ["-drive", f"id=d1,file={work}/{d}-ro.img,format=raw,if=none,readonly=on",
              "-device", f"{dev},drive=d1"]
        rw = ["-drive", f"id=d0,file={work}/{d}-rw.img,format=raw,if=none,discard=unmap",
              "-device", f"{dev},drive=d0,serial={BLK_ID}"]
        return ro + rw if transport == "mmio" else rw + ro
    by_name = {r.name: r for r in runs(work)}
    plan = [("hello", ["-smp", "1"], ""),
            ("machine", ["-smp", "2"], "expect_mem=256M ncpus=2"),
            ("smp", ["-smp", "4"], "ncpus=4"),
            ("interrupts", ["-smp", "1"], "ticks=20"),
            ("hostile_platform", ["-smp", "2", "-drive",
                                  f"id=d0,file={work}/q-platform.img,format=raw,if=none",
                                  "-device", "virtio-blk-device,drive=d0"], "")]
    out = []
    for name, extra, append in plan:
        r = by_name[name]
        out.append(QemuRun(name, qemu_argv(r.guest, images, extra, append), r.lines))
    lines = [line for line in BLK_LINES if "bad queue" not in line and "the other disk" not in line]
    for transport, ring, words in QEMU_BLK:
        out.append(QemuRun(f"virtio_blk_{transport}_{ring}",
                           qemu_argv("virtio_blk", images, ["-smp", "1", *blk(ring, transport)],
                                 f"{words} ring={ring} sectors={SECTORS} id={BLK_ID} ro_disk "
                                 "discard"),
                           lines + QEMU_PCI_LINES.get(words, [])))
    return (out + qemu_virtio_runs(images, work) + qemu_enum_runs(images, work)
            + arm64_bench.qemu_runs(images, work))


# The runs of qemu_runs() that run again on a virt board with a GICv2 (its GICv2m frame for
# MSI-X): the runtime's GICv2 (gic_v2.c, v2m.c) against QEMU's
QEMU_GICV2 = ("machine", "smp", "interrupts", "virtio_blk_pci_split", "virtio_blk_pci_packed",
              "virtio_rng_pci_split", "dtb_devices")


GICV2_LINE = (r"^gicv2: distributor 0x[0-9a-f]+ \([0-9]+ INTIDs\), CPU interface 0x[0-9a-f]+ "
              r"\(IIDR 0x[0-9a-f]+\)")


def qemu_gicv2_runs(images, work):
    """QEMU_GICV2's runs with gic-version=2, named <run>_gicv2 (their disks their own)."""
    out = []
    for r in qemu_runs(images, work):
        if r.name in QEMU_GICV2:
            argv = ["virt,gic-version=2" if a == "virt,gic-version=3" else a for a in r.argv]
            lines = [GICV2_LINE if line.startswith("^gicv3: ") else line for line in r.lines]
            out.append(QemuRun(f"{r.name}_gicv2", argv, lines, r.stdin, r.host, r.ports,
                               r.com1, r.mq_queues))
    return out


# virtio_blk on QEMU: (transport, ring, its command-line words)
QEMU_BLK = [("mmio", "split", ""), ("mmio", "packed", ""),
            ("pci", "split", "transport=pci"), ("pci", "packed", "transport=pci pci_irq=intx")]
QEMU_PCI_LINES = {"transport=pci": [r"^disk 0: virtio-pci 00:01\.0, BAR 0x[0-9a-f]+, MSI-X"],
                  "transport=pci pci_irq=intx": [
                      r"^disk 0: virtio-pci 00:01\.0, BAR 0x[0-9a-f]+, INTx"]}


def prepare_qemu(work):
    for transport, ring, _ in QEMU_BLK:
        for kind in ("rw", "ro"):
            make_disk(work / f"q-{transport}-{ring}-{kind}.img")
    for name in ("q-platform", "q-mq-mmio-rw", "q-mq-pci-rw", "pristine"):
        make_disk(work / f"{name}.img")
    enum_prepare(work)
    arm64_bench.prepare(work)

