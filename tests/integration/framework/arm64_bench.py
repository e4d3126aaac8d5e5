"""x86's I/O and exit benchmark guests on arm64 (issue 67), with x86's checks: runs of
framework/arm64_guests.py on our VMM in the arm64 L1 (its `host` kind "net_bench", whose L1 lines
and checks are here) and on QEMU's virt board. As on x86 in CTest, quick runs: the guests' BENCH
lines must appear, no number is judged (L1 is nested TCG; tools/bench is where numbers come from).

  boot_timer        the startup benchmark's bare guest (tests/guests/aarch64/boot_timer.S): its
                    boot-timer write, which our VMM's --boot-timer must report in its log
  exit_cost         bench/test_bench_quick.py's exit-cost guest: writes to the PL011's read-only
                    flag register (a plain exit to the VMM) and to a virtio-rng's QueueNotify (its
                    ioeventfd), timed with the virtual counter
  blk_bench*        bench/test_virtio_blk_bench.py: 4 KiB random reads at depth 1 and 32 of a
                    64 MiB read-only disk over virtio-mmio (split and packed rings) and virtio-pci
  virtio_net_bench* bench/test_net_bench.py: frames to a tap in L1 (lib/net_host.c counts them),
                    then from it (net_host floods on the guest's "BENCH rx ready SIZE"), over
                    virtio-mmio and virtio-pci
"""
import os
import re

from . import arm64_guests as guests

HOSTS = ("net_bench",)

EXIT_LOOPS = 5000
BLK_ARGS = "seconds=1 requests=300"  # x86's quick mode
BLK_DISK = "blk-bench.img"
BLK_DISK_BYTES = 64 << 20
NET_TAP, NET_MAC = "vtapb0", "52:54:00:77:00:02"
NET_APPEND = "tx_ms=300 rx_idle_ms=300"
NET_SEND_S = 0.5
NET_TIMEOUT = 120

BOOT_TIMER_LOG = r"boot-timer: guest boot time [0-9]+ us \([0-9]+ ms\) since VMM process start"
CLOCK_LINE = r"^clock: [1-9][0-9]* kHz, CNTFRQ_EL0\r?$"
EXIT_LINE = (rf"^BENCH exit_cost mmio_exit_ns=[0-9]+ ioeventfd_ns=[0-9]+ loops={EXIT_LOOPS} "
             r"clock_khz=[1-9][0-9]*\r?$")
# Up to 300 requests or 1 s per depth: under a loaded nested TCG the second ends it first
BLK_LINES = [CLOCK_LINE, r"^BENCH blk_randread qd=1 iops=[0-9]+ requests=[1-9][0-9]* ",
             r"^BENCH blk_randread qd=32 iops=[0-9]+ requests=[1-9][0-9]* "]
NET_LINES = [CLOCK_LINE, r"^tx 60-byte frames: [1-9][0-9]* in ",
             r"^tx 1514-byte frames: [1-9][0-9]* in ", r"^rx 60-byte frames: [1-9][0-9]* in ",
             r"^rx 1514-byte frames: [1-9][0-9]* in ",
             r"^BENCH net tx_pps=[0-9]+ tx_mbps=[0-9]+ rx_pps=[0-9]+ rx_mbps=[0-9]+\r?$"]


def bench_runs(work):
    """The runs on our VMM in L1: one CPU each, ~2-5 s each there."""
    one = ["--cpus", "1", "--mem", "128M"]
    disk = f"--disk={work}/{BLK_DISK},ro"
    pci = ["--transport", "pci"]
    net = ["--net", f"tap={NET_TAP},mac={NET_MAC}"]
    return [
        guests.Run("boot_timer", "boot_timer", [*one, "--boot-timer"], "", 45, [],
                   log=BOOT_TIMER_LOG),
        guests.Run("exit_cost", "exit_cost", [*one, "--rng"], f"loops={EXIT_LOOPS}", 60,
                   [CLOCK_LINE, r"^notify: virtio device 4 at 0x", EXIT_LINE]),
        guests.Run("blk_bench", "blk_bench", [*one, disk], f"{BLK_ARGS} ring=split", 60,
                   [r"^disk: virtio-mmio ", *BLK_LINES]),
        guests.Run("blk_bench_packed", "blk_bench", [*one, disk], f"{BLK_ARGS} ring=packed", 60,
                   [r"^disk: virtio-mmio ", *BLK_LINES]),
        guests.Run("blk_bench_pci", "blk_bench", [*one, *pci, disk],
                   f"{BLK_ARGS} ring=split transport=pci", 60,
                   [r"^disk: virtio-pci ", *BLK_LINES]),
        guests.Run("virtio_net_bench", "virtio_net_bench", [*one, *net], NET_APPEND, NET_TIMEOUT,
                   NET_LINES, host="net_bench"),
        guests.Run("virtio_net_bench_pci", "virtio_net_bench", [*one, *pci, *net],
                   f"{NET_APPEND} transport=pci", NET_TIMEOUT, NET_LINES, host="net_bench"),
    ]


def prepare(work):
    """The disk blk_bench reads (random bytes, as x86's)."""
    (work / BLK_DISK).write_bytes(os.urandom(BLK_DISK_BYTES))


def host_lines(r, vmm_line):
    """L1's side of a net_bench run (test_net_bench.py's ns fixture and send_and_wait()): a tap,
    the counter bound before the VMM starts, a flood of each size once the guest is ready for
    it; what the host saw in <name>.host."""
    h, count = f"{r.name}.host", f"{r.name}.count"
    send = [f"waitfor {r.name}.out '^BENCH rx ready {size}' $pid 600 && "
            f"./net_host send {NET_TAP} {NET_MAC} {size} {NET_SEND_S} >> {h}"
            for size in (60, 1514)]
    return [f"./net_host tap {NET_TAP} > {h}", f"ip link set {NET_TAP} up",
            f"./net_host count {NET_TAP} {r.timeout} > {count} & ct=$!",
            f"waitfor {count} '^counting' $ct 100", f"{vmm_line} & pid=$!", *send,
            "wait $pid; r=$?", f"wait $ct; cat {count} >> {h}",
            f"tunctl -d {NET_TAP} > /dev/null"]


def problems(r, work):
    """What the host's side of a net_bench run saw wrong: every flood sent, the guest's frames
    counted (as many as it says it sent: nothing else on the tap has type 0x88b9)."""
    if r.host not in HOSTS:
        return []
    path = work / f"{r.name}.host"
    host = path.read_text(errors="replace") if path.exists() else ""
    out = (work / f"{r.name}.out").read_text(errors="replace")
    bad = [f"the host sent no {size}-byte frames" for size in (60, 1514)
           if not re.search(rf"^host sent [1-9][0-9]* {size}-byte frames", host, re.M)]
    sent = sum(int(n) for n in re.findall(r"^tx [0-9]+-byte frames: ([0-9]+) in ", out, re.M))
    m = re.search(r"^host counted ([0-9]+) frames", host, re.M)
    if not m or not 0 < int(m.group(1)) <= sent:
        bad.append(f"the host counted {m.group(1) if m else 'no'} frames of the guest's {sent}")
    if bad:
        bad[-1] += f"\n--- host side (end) ---\n{host[-1500:]}"
    return bad


def qemu_runs(images, work):
    """The QEMU peers (x86's test_qemu runs): boot_timer (QEMU has no boot timer), exit_cost
    with a virtio-rng, blk_bench over virtio-mmio (packed) and virtio-pci (QEMU's disk as ours:
    read-only)."""
    drive = ["-drive", f"id=d0,file={work}/{BLK_DISK},format=raw,if=none,readonly=on"]
    plan = [("boot_timer", "boot_timer", [], "", []),
            ("exit_cost", "exit_cost", ["-device", "virtio-rng-device"],
             f"loops={EXIT_LOOPS}", [CLOCK_LINE, EXIT_LINE]),
            ("blk_bench_packed", "blk_bench",
             [*drive, "-device", "virtio-blk-device,drive=d0,packed=on"],
             f"{BLK_ARGS} ring=packed", BLK_LINES),
            ("blk_bench_pci", "blk_bench",
             [*drive, "-device", "virtio-blk-pci,drive=d0,disable-legacy=on"],
             f"{BLK_ARGS} ring=split transport=pci", BLK_LINES)]
    return [guests.QemuRun(name, guests.qemu_argv(guest, images, ["-smp", "1", *extra], append),
                           lines) for name, guest, extra, append, lines in plan]
