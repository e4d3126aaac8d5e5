"""Benchmarks of our VMM side by side with QEMU, measured the way the field measures.

Usage: tools/bench startup|memory|boot|firmware|firmware-l1|blk|exit-cost|net|api|snapshot|
                   ratelimit|vsock|migrate|pmem|
                   memhp|vhost-user-blk|virtiofs|hotplug|qcow2|fork|working-set|scaling|
                   all|fio|iperf3
                   [--runs N] (several joined by commas run in one table: blk,net,ratelimit)
                   [--quick]
                   [--out DIR]
                   [--build DIR] [--vmm PATH] [--guests DIR] [--qemu PATH]
                   [--peer-vmm PATH]

Every benchmark runs our VMM and each peer (QEMU -M microvm,acpi=off and, where it makes sense,
-M q35) ALTERNATELY, N runs each (the order flips every round), with the same guest, kernel
command line, memory (256 MiB) and vCPU count (1), QEMU with -nodefaults -no-user-config. It
prints one Markdown table: per metric the median and (min-max) of each, and the ratio of the
medians ours/peer. --out DIR gets the same table (results.md), the raw values (results.json) and
a gnuplot plot of the ratios (ratios.png, ratios.svg; ratios.gp and ratios.dat beside them).

What is compared (every time is taken by this tool with CLOCK_MONOTONIC, or by the VMM itself):
  startup    the boot_timer test guest (its first instruction writes the Firecracker boot-timer
             byte, then it prints "TEST PASS" and exits). Both: launch (just before fork) to
             "TEST PASS" read from the VM's serial output; launch to process exit; CPU time.
             Ours only (--boot-timer): main() to the guest's first instruction, main() to the
             first KVM_RUN, launch to main() (exec + dynamic loading). QEMU cannot report its
             guest's first instruction, so the like-for-like rows are the launch-to-output ones.
  memory     the mem_touch guest writes every page of a known amount (64 MiB; --quick 16 MiB);
             peak RSS of the process (wait4 ru_maxrss) and peak RSS minus that amount: the VMM's
             own overhead (it still includes the guest's few hundred KiB of code, stacks and page
             tables, and for QEMU its firmware).
  boot       the default Linux guest (guest-images/build.sh: vmlinux, initramfs, CMDLINE plus
             vmmguest.shell=1) to "Run /init" and to the shell prompt on the serial console, read
             by this tool as they arrive (both), and the VMM's own --boot-timer to-run-init (ours).
             QEMU microvm only (q35's firmware would dominate). Serial console on (it is how the
             lines are seen), unlike Firecracker's figure.
  firmware   the default guest's bzImage booted through Debian's SeaBIOS (bios-256k.bin) with the
             kernel in fw_cfg: ours (--firmware with --kernel) against QEMU q35 and pc (-bios with
             -kernel), to the kernel's first console line and to the shell prompt; the same kernel
             booted directly by each (vmm-direct; qemu-direct: microvm) gives the firmware's share.
             Not in all.
  firmware-l1  Debian's cloud-style image with its stock kernel, booted through OVMF and GRUB,
             through SeaBIOS and GRUB, and directly (ovmf, seabios, direct rows; FW_L1_KINDS
             picks): ours against QEMU -M pc, to the kernel's first console line and to the
             login prompt. On kvm_pvm in an L1 (tools/kvm-in-qemu), where the seconds are
             emulated and only the ratio counts; with --peer-vmm, ours against another build of
             ours (an A/B of a change's failures in L1: FW_L1_* in docs/benchmarks.md). Not in
             all.
  blk        the blk_bench test guest: 4 KiB random reads at queue depth 1 and 32 from a 64 MiB
             file in the host page cache, loop in guest ring 3; IOPS (higher is better). Also
             qd=32 over 2 queues (num-queues=2 on both VMMs). Two QEMU peers: qemu-microvm with
             QEMU's defaults, and qemu-iothread, its best configuration here (an IOThread for
             the disk, aio=io_uring). And the host alone ("host", also in qcow2, net and vsock:
             the same work with no VM, for the ratio vmm/host): vmm-blkhost (tools/blkhost)
             reading the same file with the same pattern through io_uring.
  qcow2      the blk_bench guest: 4 KiB random reads and writes (op=write) at qd 1 and 32 on a
             64 MiB qcow2 image with every cluster allocated: ours against QEMU (defaults, and
             IOThread + io_uring) on the same image, our raw path on the same bytes (vmm-raw)
             and the host alone on the raw file. Then the same writes on an empty 8 GiB image,
             a new one each VM (most writes allocate a cluster; the share that did is a row).
  vhost-user-blk  the blk_bench guest (qd=1 and 32) on a disk served by qemu-storage-daemon
             over vhost-user-blk (a fresh daemon per VM): ours (--disk vhost-user=SOCK) against
             QEMU microvm's vhost-user-blk (virtio-mmio) on the same daemon, and against our own
             in-process virtio-blk on the same file (vmm-in-process). Not in all.
  virtiofs   the default Linux guest with a host folder over virtio-fs (a fresh
             /usr/lib/qemu/virtiofsd per VM, cache=none): sequential read of a 256 MiB file (dd
             bs=1M) and empty-file creates per second, timed in the guest; ours --fs against
             QEMU microvm's vhost-user-fs-device on the same virtiofsd. Root. Not in all.
  hotplug    the default Linux guest at its shell (one read-only virtio-pci disk at boot): ms
             from the API request that adds a 16 MiB disk, then a NIC on a tap in this tool's
             namespace, until a loop of shell built-ins typed before it sees /sys/block/vdb,
             /sys/class/net/eth0 and (after `ip link set eth0 up`) operstate up; ours PUT
             /vmm/vm.add-disk and vm.add-net against QEMU q35's blockdev-add/netdev_add +
             device_add on a pcie-root-port (ACPI PCI hotplug both). Root. Not in all.
  exit-cost  the exit_cost test guest: ns per ring-3 MMIO write that exits to the VMM's user space,
             and per QueueNotify write bound to an ioeventfd (virtio-rng on both).
  net        the virtio_net_bench guest (ring-3 polling loops, MMIO kicks, no interrupts) on a
             tap in a network namespace this tool creates and deletes (vmmbench-PID, tap vtap0,
             raw EtherType 0x88b9 frames, no IP): guest->host frames/s (60-byte frames) and
             Mbit/s (1514-byte), timed by the guest; host->guest the same, the host side an
             AF_PACKET sender flooding the tap (vmm-netgen, tools/netgen; where it is not built
             tools/benchmarks/net_host.py, shared with tests/integration/bench/test_net_bench.py).
             QEMU: -netdev tap,vhost=off -device virtio-net-device. The host alone: vmm-netgen
             tapwrite writing the frames into the tap's fd as our transmit path does, and
             tapread reading the sender's flood from it. Then the same over 2 queue
             pairs: the guest with pairs=2 (VIRTIO_NET_F_MQ, VQ_PAIRS_SET 2, its frames
             round-robin over both transmit queues, both receive queues polled) on a
             multi_queue tap, the host sending IPv4/UDP frames of 16 flows (the tap spreads
             flows over its queues by hash); ours --net tap=...,queues=2, QEMU -netdev
             tap,queues=2 -device virtio-net-device,mq=on. Needs root and `ip netns`;
             otherwise "skipped: needs root and ip netns".
  api        the control plane while the blk_bench guest reads its disk at queue depth 32: the
             round trip of a status request on one connection (ours: HTTP GET /vmm/state on
             --api-sock; QEMU: QMP query-status) as median and p99 of 300, and the time a pause
             takes to be answered with 32 requests in flight (ours: PATCH /vm Paused; QEMU: QMP
             stop, which also drains the disk), median of 10 pause/resume cycles.
  ratelimit  rate-limiter accuracy: the blk_bench guest (qd=32) under a disk limit of 500 reads/s
             (ops=5:10; QEMU -drive throttling.iops-total=500) and of 2000 KiB/s (bw=20K:10;
             QEMU throttling.bps-total); delivered as % of asked (100 is exact, never above).
             Net rows (ours only: QEMU has no virtio-net rate limiter): the virtio_net_bench
             guest with both directions limited, tx-ops/rx-ops=5:10 (500 frames/s, 60-byte
             frames) and tx-bw/rx-bw=15140:10 (1000 1514-byte frames/s); tx as the guest
             times its sends, rx a host flood (tools/benchmarks/net_host.py) as the guest
             counts it. Needs root and ip netns for the net rows.
  snapshot   the blk_bench guest (qd=32, read-only 64 MiB disk) paused ~1 s into its ring-3 loop
             and saved, then restored, each run with a fresh source VM. Snapshot time, request
             to answer (ours: PUT /snapshot/create; QEMU: QMP stop, then migrate to
             "exec:cat > FILE", query-migrate polled every ~1 ms until completed), with the
             files' size on disk (du) as a note. Restore to running: launch of the restoring
             process until its control socket says the guest runs, polled every ~1 ms (ours:
             vmm --restore DIR --api-sock S, GET / "state": "Running"; QEMU: the same command
             line with -incoming "exec:cat FILE", query-status "running"; QEMU leaves a guest
             saved while stopped paused, so it is sent `cont` once the migration is in).
             Cold boot: the source VM's launch to the guest's "disk: ... per depth" line (its
             setup done). Ours also: process start to first KVM_RUN (--boot-timer, inherited
             by the restore from the snapshot) for both. Ours also as a Firecracker client
             restores: `vmm --api-sock S` launched bare, PUT /snapshot/load with resume_vm and
             mem_backend File, then Uffd (vmm-uffd-handler serving the memory file), order
             alternating, launch to running. Then, ours only and once: 20 clones
             (--quick 5) of one snapshot restored at once, run ~2 s, their Rss, Pss and
             Private_Clean+Private_Dirty from /proc/PID/smaps_rollup: mean private and PSS per
             clone, summed RSS and summed PSS.
  fork       ours only: the snap_counter guest (RAM in a memfd) forked ~1 s into its run into
             10 children (--quick 4: half warm VMMs waiting on their sockets, half started
             after the answer), loads sent at once from one thread: the parent's pause, what
             the fork adds to it, request to answer, request to a warm and a cold child
             running, private memory per child; then one warm child alone; then an idle guest
             (halt.elf) into 10 warm children: the first, median and last running
             (tools/benchmarks/fork.py; targets: pause < 5 ms, child < 10 ms).
  working-set ours only: the ws_touch guest reads 64 MiB (--quick 32) after each restore and
             answers on its serial console; a working set recorded once, then File and Uffd
             restores cold and with it, the memory file cached and evicted: ms from PUT
             /snapshot/load to the answer (tools/benchmarks/working_set.py; target 3x).
  vsock      the virtio_vsock test guest (bench=N, ring 3, polling): N bytes (16 MiB; --quick
             2 MiB) guest->host on one stream to a host sink on PATH_1236, then host->guest from
             a source on PATH_1237, each timed by the guest; MB/s. No QEMU peer (QEMU's vsock is
             vhost-vsock: a kernel module this host lacks); the host alone ("host") is the
             same bytes through a host Unix stream socket pair by the same Python code.
  scaling    how cost grows: blk 4 KiB reads at qd 32 (blk_bench) and net guest->host 60-byte
             frames (virtio_net_bench) from one VM with 1, 2 and 4 queues (pairs), and from 2,
             4 and 8 VMs at once with one each: the summed rate and the host CPU per request,
             outside the vCPU threads (the device side) and in all (schedstat of every thread
             over each guest's window). Ours against QEMU's best configuration here (IOThread
             and io_uring; multiqueue tap) and the host alone doing the same N times at once
             (vmm-blkhost, vmm-netgen tapwrite). 3 runs by default.
  migrate    the default Linux guest at its shell prompt with a heartbeat on its serial console
             (a shell loop of `echo -n .`), migrated over a Unix socket to a new process on this
             host: idle, then from there with a writer rewriting 64 MiB of tmpfs, then (ours
             only) a local migration (guest RAM handed over as a memfd). Per leg: total time and
             downtime as the source reports them, the downtime from the source's pause to the
             destination's resume (ours: the two VMMs' log lines; QEMU: its STOP and RESUME
             events; one host's clock), MiB sent, rounds, and the pause the guest saw
             (the heartbeat's gap across the move less its usual interval, the same measure for
             both). Peers: qemu-microvm as QEMU's defaults have it (max-bandwidth 128 MiB/s) and
             qemu-tuned (no bandwidth cap); -incoming unix:PATH on the destination. 3 runs by
             default.
  pmem       ours only: 10 VMs (--quick 3) of the default kernel booted at once from one
             read-only copy of the default guest's disk, as their root on virtio-pmem
             (--pmem path=IMG,ro,root: DAX, the file's pages shared) and then on virtio-blk
             (--disk IMG,ro); each guest reads every file of its root; summed PSS and private
             memory of the 10 VMMs (/proc/PID/smaps_rollup). 3 runs by default.
  net-mmds   ours only: the net benchmark's single-queue rows with MMDS (V2) on the NIC
             (config file) and without it, alternating: the transmit path's cost of MMDS.
             Not in all.
  mmds-latency
             ours only: the default Linux guest on user-mode networking (libslirp) with MMDS
             (V1) on its NIC, from a config file; in the guest mmds-get
             (guest-images/tools/mmds-get.c) times N GETs (500; --quick 50) on one keep-alive
             connection, alternating between MMDS (answered inside the VMM) and the same
             request to a minimal HTTP server on the host's loopback through the same NIC
             (10.0.2.2:PORT, answered through libslirp and the host kernel); median and p99
             per run, in microseconds. Not in all.
  memhp      ours only: one default Linux guest with a 1 GiB (--quick 256 MiB) virtio-mem
             region: seconds from PATCH /hotplug/memory (all of it, then 0) until GET
             /hotplug/memory shows the plugged size followed. 3 runs by default.
  all        every benchmark above, in that order, but migrate, pmem, memhp and hotplug (not
             fio/iperf3).
  fio        hardware KVM only: the default Linux kernel with the Debian 12 root file system of
             guest-images/rootfs.sh (debootstrap; built once, cached) read-only as /dev/vda, and
             a second raw disk (1 GiB; --quick 256 MiB) opened O_DIRECT by both VMMs: fio
             4 KiB randread and randwrite, libaio, iodepth 32, direct=1, 10 s ramp + 30 s
             (Firecracker's jobs); IOPS.
  iperf3     hardware KVM only: the same root file system, iperf3 client in the guest
             (192.168.77.2), server on the tap (192.168.77.1) inside the tool's own namespace;
             20 s, omit 5, 128 KiB writes, guest->host and host->guest (-R); Gbit/s. Needs
             iperf3 on the host too.
On hosts whose KVM emulates guest kernel code (kvm_pvm), where a Linux guest's user space
cannot make system calls, fio and iperf3 print "skipped: needs hardware KVM (this host's KVM is
kvm_pvm)".

--peer-vmm PATH: the peer is another build of our VMM instead of QEMU ("vmm-peer" in the
table, vmm/vmm-peer the ratio), for what a build option costs; e.g. hardening (cmake
-DVMM_HARDEN=OFF -B build-unhardened, see docs/benchmarks.md):
  tools/bench blk,net,startup --peer-vmm build-unhardened/vmm --out DIR
Both get the same command lines (--boot-timer where each has it). Only startup, memory, boot,
blk, qcow2, exit-cost, net, scaling and firmware-l1 take it (api and snapshot speak QMP to the
peer).

Exit status: 0 if every run produced its numbers, 1 if a run failed, 2 on bad usage.
No timing is ever asserted: the hosts are shared and noisy.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import time

from .catalog import BENCHES, HW_BENCHES, NOT_IN_ALL
from .config import EMULATED_KVM, PEER_VMM, PEER_VMM_BENCHES
from .launchers import Env
from .plot import write_plot
from .results import Results
from .rootfs import bench_hw_only


def main():
    ap = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("what", help="a benchmark, several joined by commas (blk,net), or all")
    ap.add_argument("--runs", type=int, help="runs per VMM (default 10; boot 3; --quick 1)")
    ap.add_argument("--quick", action="store_true", help="one run each, tiny sizes")
    ap.add_argument("--out", help="directory for results.md/json and the plot")
    ap.add_argument("--build", help="build directory (default $BUILD_DIR or ./build)")
    ap.add_argument("--vmm", help="vmm binary (default $VMM or BUILD/vmm)")
    ap.add_argument("--guests", help="test guests (default $GUESTS or BUILD/tests/guests)")
    ap.add_argument("--qemu", help="QEMU binary (default $QEMU or qemu-system-x86_64)")
    ap.add_argument("--peer-vmm", metavar="PATH",
                    help="another vmm binary as the only peer, instead of QEMU")
    ap.add_argument("--boot-timeout", type=int, default=400, help="seconds per Linux boot")
    a = ap.parse_args()
    if a.runs is not None and a.runs < 1:
        ap.error("--runs must be at least 1")
    # A SIGTERM unwinds like an exception: the network namespaces' finally blocks still run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = Env(a)
    if not os.access(env.vmm, os.X_OK):
        print(f"bench: {env.vmm}: not an executable (build first, or --vmm/--build)",
              file=sys.stderr)
        return 2
    res = Results()
    names = [n for n in BENCHES if n not in NOT_IN_ALL] if a.what == "all" else a.what.split(",")
    unknown = [n for n in names if n not in BENCHES and n not in HW_BENCHES]
    if unknown:
        ap.error(f"unknown benchmark {', '.join(unknown)} (choose from "
                 f"{', '.join(list(BENCHES) + list(HW_BENCHES))} or all)")
    if a.peer_vmm:
        if not os.access(a.peer_vmm, os.X_OK):
            ap.error(f"--peer-vmm {a.peer_vmm}: not an executable")
        others = [n for n in names if n not in PEER_VMM_BENCHES]
        if others:
            ap.error(f"--peer-vmm works with {', '.join(PEER_VMM_BENCHES)} only, not "
                     f"{', '.join(others)}")
        res.note(f"peer {PEER_VMM}: {os.path.abspath(a.peer_vmm)} (ours: "
                 f"{os.path.abspath(env.vmm)})")
    runs_used = set()
    for name in names:
        opts = argparse.Namespace(**vars(a))
        few = ("boot", "scaling", "fio", "iperf3", "migrate", "pmem", "memhp", "hotplug")
        opts.runs = a.runs or (1 if a.quick else 3 if name in few else 10)
        runs_used.add(opts.runs)
        t = time.monotonic()
        print(f"bench: {name}: {opts.runs} run(s) per VMM ...", file=sys.stderr, flush=True)
        {**BENCHES, **HW_BENCHES}[name](env, res, opts)
        print(f"bench: {name}: done in {time.monotonic() - t:.1f} s", file=sys.stderr, flush=True)
    if a.what == "all":
        bench_hw_only(env, res, a)
    runs_text = "/".join(str(r) for r in sorted(runs_used))
    table = res.table(runs_text)
    print(table)
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        drawn = write_plot(res, a.out)
        table = res.table(runs_text)  # with the plot's notes
        with open(os.path.join(a.out, "results.md"), "w") as f:
            f.write(table)
            if drawn:
                f.write("\n![ratios](ratios.svg)\n")
        with open(os.path.join(a.out, "results.json"), "w") as f:
            json.dump({"runs": runs_text, "emulated_kvm": EMULATED_KVM,
                       "rows": [{"bench": b, "metric": m, "unit": u, "better": bt,
                                 "values": res.values[(b, m)]} for b, m, u, bt in res.rows],
                       "notes": res.notes, "failures": res.failures}, f, indent=1)
        print(f"bench: wrote {a.out}/results.md, results.json"
              + (", ratios.png, ratios.svg" if drawn else ""), file=sys.stderr)
    shutil.rmtree(env.tmp, ignore_errors=True)
    if res.failures:
        print(f"bench: {len(res.failures)} run(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
