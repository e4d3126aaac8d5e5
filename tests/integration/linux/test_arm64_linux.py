# Every arm64 KVM check of the suite, in one arm64 L1 boot (issue 67: the arm64 L1 tests share
# an L1; framework/arm64_l1.py runs the parts below one after the other in
# tools/kvm-in-qemu/run.sh --arch aarch64: qemu-system-aarch64, TCG, KVM at the emulated EL2),
# on the cross-built vmm ($BUILD_DIR/arm64, framework/arm64_build.py):
# stock: first the L1's KVM itself (tools/kvm-in-qemu/arm64-kvm-probe.c, cross-built here: a
#   guest whose MMIO write and PSCI SYSTEM_OFF must come back as KVM_EXIT_MMIO and
#   KVM_EXIT_SYSTEM_EVENT; a failure there is L1's, not the VMM's) and a kernel that is no arm64
#   Image (refused, exit 2). Then Debian's stock arm64 cloud kernel with our busybox initramfs
#   (guest-images/arm64-guest.sh), every device on virtio-mmio: 2 vCPUs brought up by PSCI,
#   512 MiB, a disk with a marker of this run in its first sector, a NIC on --net user
#   (libslirp: DHCP), a virtio RNG, a balloon; and, on their own transports beside them, the
#   vhost-user devices with Debian's arm64 back-ends in L1 (qemu-system-common:arm64, from
#   guest-images/arm64-guest.sh): two virtio-fs shares served by virtiofsd (fsmmio on
#   virtio-mmio, fspci on virtio-pci with MSI-X), a second disk served by
#   qemu-storage-daemon (vhost-user-blk, virtio-pci) and a second NIC served by Debian's arm64
#   dpdk-testpmd (vhost-user-net, virtio-pci; tools/kvm-in-qemu/debs.sh deb_dpdk_arm64), which
#   loops every frame back (macswap): the guest's DHCP discovers on it must come back.
#   The guest's VMMTEST lines (framework/vmmtest.py, the checks of integration/arm64_guest_qemu,
#   the guest on QEMU) must say: 2 CPUs, cpu1 taken off and on again (PSCI CPU_OFF/CPU_ON), the
#   RAM, the PL031 clock near the host's, each device bound to its driver on the transport, the
#   disk's size and marker (and the guest's write in the image afterwards; the same of the
#   vhost-user disk, vdb), each share mounted by its tag, its marker file and data.bin read,
#   and data-copy.bin and from-guest, which the guest wrote there, in the folder after the
#   run (vmmtest.fs=), the MAC and a DHCP
#   lease, 32 bytes of the RNG, the PL031's alarm interrupt on time (the VM layer's host timer:
#   the guest sets it 2 s ahead and leaves the clock alone); and the VMM must exit 0 after the
#   guest's `poweroff -f` (PSCI SYSTEM_OFF). Then the Firecracker API client's sequence (vmmctl,
#   cross-built: machine-config, boot-source, a root drive, InstanceStart) on a VMM with
#   virtio-pci, whose guest waits at "VMMTEST pause"; the client migrates it live to a third
#   VMM (--migrate-from), pauses it there and snapshots it, that VMM is killed, and a second VMM
#   loads the snapshot (--resume, --clock-realtime: the VMM must say it moved the guest's
#   counter on by at least the time between snapshot and load, and the guest's uptime across
#   the pause must show it) and gets the line the guest waits for on its PL011 console:
#   the restored guest must then pass the same checks (both vCPUs, cpu1 off and on again by PSCI
#   after the restore, the PL031 and its alarm, the disk read and written over virtio-pci with
#   MSI-X through the restored ITS) and its power-off end the second VMM with 0; and `vmm
#   --check-cpu` must refuse a snapshot whose CPU model is an x86 VM's ("not a snapshot of an
#   aarch64 VM"). Last, the API's vhost-user devices: a VMM configured through vmmctl with a
#   root disk, a drive whose "socket" is qemu-storage-daemon's and a NIC whose "socket" is
#   dpdk-testpmd's (virtio-pci); the guest must see both, write the disk and get its frames back.
# guests: the arm64 test guests, hostile ones included (framework/arm64_guests.py says which
#   and what each must show), and snap_counter's snapshots and restores (framework/arm64_snap.py:
#   the same result with or without a snapshot in the middle, over virtio-mmio and virtio-pci),
#   the benchmark guests' quick runs (framework/arm64_bench.py).
# default: the project's default guest built for arm64 (framework/arm64_default_guest.py).
# debian: a debootstrapped Debian 12 arm64 root with Debian's cloud kernel and initrd, to
#   systemd's multi-user target over virtio-mmio and over virtio-pci, DHCP by networkd, and
#   systemd's power-off ending the VMM with 0 (framework/arm64_debian.py).
# gicv2: a second L1 (run.sh --gic 2), whose KVM offers only a GICv2: the stock guest's mmio boot
#   and API flow as in `stock` (PCI devices' MSI-X through the VMM's GICv2m frame: a GICv2 has
#   no ITS; the guest's kernel must find the frame), every VMM saying it gave
#   its guest a GICv2 and the guest's kernel finding no GICv3; and `vmm --check-cpu` refusing the
#   first L1's snapshot for its GICv3 (ID_AA64PFR0_EL1.GIC); then a few test guests on the
#   GICv2 (framework/arm64_guests.py GICV2_L1: machine, smp, interrupts, virtio_blk over mmio
#   and over pci with MSI-X through the GICv2m frame and with INTx, dtb_devices). ~2 minutes more.
# vfio: a third L1 (run.sh --vfio-devices: QEMU's SMMUv3 and an NVMe controller), the controller
#   passed through to the stock guest with --device vfio=: its serial, MSI-X through the ITS,
#   1 MiB written and read back by DMA (framework/arm64_vfio.py). ~30 s.
# cputemplate: a fourth L1 on the backports kernel (run.sh --kernel backports: 6.12, whose KVM
#   lets user space lower ID registers): CPU templates (V1N1, a custom file, verify, dump and the
#   dump taken back, a raise refused, a templated guest snapshotted and restored) seen by the
#   cpu_ids guest, and V1N1 by the stock kernel's /proc/cpuinfo (framework/arm64_cpu_template.py).
#   ~50 s.
# It fails when a part fails or L1 does not boot twice in a row; skipped (77) without the cross
# toolchain, qemu-system-aarch64, qemu-user-static or the Debian packages and images (tools/test.sh
# builds the default guest and the Debian image for arm64 before CTest; cached). ~11 minutes on the
# 2-core host (L1 ~10 s; each part's time in L1 is printed). It takes both of the host's "linux" slots: L1's
# two vCPUs are two busy host threads, and CTest then never starts it beside an x86 L1, whose
# lock (tools/kvm-in-qemu/run.sh) it would wait on. ARM64_L1_KEEP=1 keeps $BUILD_DIR/l1-arm64;
# ARM64_L1_PARTS=stock,guests runs only those parts (for work on one; gicv2 needs stock; vfio;
# cputemplate);
# ARM64_GUESTS=REGEX only the guests part's runs whose names match.
# labels: arm64 linux guests
# timeout: 2400
# cost: 900
# resource: linux:2
# requires: root aarch64-linux-gnu-gcc qemu-system-aarch64 busybox cpio debugfs e2fsck qemu-img qemu-aarch64-static debootstrap
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

from framework import (arm64_build, arm64_cpu_template, arm64_debian, arm64_default_guest,
                       arm64_guests, arm64_l1, arm64_snap, arm64_vfio, guest_env, host, paths,
                       vmmtest)

PROBE = paths.tool("kvm-in-qemu", "arm64-kvm-probe.c")
CRAFT = paths.SOURCE_DIR / "tests" / "integration" / "lib" / "snapshot_craft.py"
MEM_MB = 512
API_MEM_MB = 256
DISK_SIZE = 64 << 20
MAC = "52:54:00:a6:40:02"
# The stock guest's boot with every device (its virtio-pci run is the API's, below; the Debian
# and default guests boot over both)
TRANSPORTS = ("mmio",)
# L1's tmpfs: Unix sockets cannot live on the folder shared with the host, and the snapshot's
# RAM is written faster there
API_DIR = "/tmp/api"
# The API steps' statuses: vmmctl's, waitfor's, the restored VMM's exit, `vmm --check-cpu` of an
# x86 VM's snapshot (2: it cannot be read as an arm64 one)
# The vhost-user back-ends (L1's arm64 virtiofsd and qemu-storage-daemon): their sockets and
# the folders virtiofsd exports in L1's tmpfs (a Unix socket cannot live on the 9p share, and
# virtiofsd's sandbox binds its folder), copied back to fs-TAG-back after the boot. The
# vhost-user disk: a copy of disk-vu.img there, and back as disk-vu-after.img.
VU_DIR = "/tmp/vu"
FS_SHARES = (("fsmmio", "mmio"), ("fspci", "pci"))
# The vhost-user NIC (virtio-pci): Debian's arm64 dpdk-testpmd looping its port (macswap, as
# x86's framework/testpmd.py runs it), at nice 10, 64 MiB without huge pages, no shared files;
# its PMDs named (-d): their built-in folder is not there (debs.sh deb_dpdk_arm64)
VU_NET_MAC = "02:00:00:00:00:33"
TESTPMD_PMDS = ("librte_net_vhost.so.23", "librte_mempool_ring.so.23")
VU_DISK_SIZE = 8 << 20
# The VMMs' --vhost-user-timeout: the back-ends run under nested emulation beside the suite's
# other tests; testpmd once took over 5 s (the default) for SET_MEM_TABLE (CI, 2026-12-03)
VU_TIMEOUT_MS = 60000
# The mmio boot's virtio devices (id, transport): its own on mmio, the vhost-user ones
VIRTIO_DEVICES = {"mmio": [("0x0002", "mmio"), ("0x0001", "mmio"), ("0x0004", "mmio"),
                           ("0x0005", "mmio"), ("0x001a", "mmio"), ("0x001a", "pci"),
                           ("0x0002", "pci"), ("0x0001", "pci")]}
API_STEPS = {"api-config": "0", "api-pause-line": "0", "api-migrate": "0", "api-source": "0",
             "api-snapshot": "0", "api-load": "0", "api-end": "0", "api-restored": "0",
             "api-x86-snapshot": "2"}
# api_vu_lines()' statuses, each 0
API_VU_STEPS = ("api-vu-backends", "api-vu-config", "api-vu")


def make_disk(path, size=DISK_SIZE):
    """A sparse image whose first sector starts with a marker of this run."""
    marker = f"VMMTEST-DISK-MARKER-{os.getpid()}-{time.time_ns()}\n".encode()
    with open(path, "wb") as f:
        f.write(marker)
        f.truncate(size)


def make_shares(work):
    """Each virtio-fs share's folder, fs-TAG: a marker of this run and 70 kB of random data
    (18 pages: busybox reads and copies it 4 KiB a FUSE request with cache=none, each a round
    trip through the back-end; 300 kB took the guest 3-4 s a share under a busy host)."""
    for tag, _ in FS_SHARES:
        (work / f"fs-{tag}").mkdir()
        (work / f"fs-{tag}" / "marker").write_text(
            f"VMMTEST-FS-MARKER-{tag}-{os.getpid()}-{time.time_ns()}\n")
        (work / f"fs-{tag}" / "data.bin").write_bytes(os.urandom(70000))


def vhost_user_lines(guest):
    """L1's lines that start the back-ends (virtiofsd per share, qemu-storage-daemon for the
    disk) on their sockets in VU_DIR ("VMM_EXIT backends 0": every socket there), the VMM's
    options for their devices and the lines that stop them and copy their folders and disk
    back: (start, options, stop)."""
    q = shlex.quote
    fsd = q(guest["ARM64_VIRTIOFSD"])
    start = ["read -r vu0 _ </proc/uptime",
             f"rm -rf {VU_DIR} && mkdir -p {VU_DIR} && cp disk-vu.img {VU_DIR}/disk.img"]
    socks, opts = [f"{VU_DIR}/blk.sock", f"{VU_DIR}/net.sock"], []
    for tag, transport in FS_SHARES:
        start += [f"cp -r fs-{tag} {VU_DIR}/{tag}", 
                  f"{fsd} --socket-path={VU_DIR}/{tag}.sock -o source={VU_DIR}/{tag} "
                  f"-o cache=none > virtiofsd-{tag}.log 2>&1 &"]
        socks.append(f"{VU_DIR}/{tag}.sock")
        opts += ["--transport", transport, "--fs", f"tag={tag},socket={VU_DIR}/{tag}.sock"]
    start += [qsd_line(guest), *dpdk_testpmd_lines(guest["ARM64_DPDK"]),
              "i=0; for s in " + " ".join(socks) + "; do while [ ! -S $s ] && [ $i -lt 300 ]; "
              "do i=$((i+1)); sleep 0.1; done; done; [ $i -lt 300 ]",
              'echo "VMM_EXIT backends $?"',
              # their start's time in L1 (the copies, three arm64 programs' start-up)
              'read -r vu1 _ </proc/uptime; echo "VU_BACKENDS $vu0 $vu1"']
    opts += ["--vhost-user-timeout", str(VU_TIMEOUT_MS), "--transport", "pci", "--disk",
             f"vhost-user={VU_DIR}/blk.sock",
             "--net", f"vhost-user={VU_DIR}/net.sock,mac={VU_NET_MAC}"]
    # virtiofsd ends with the VMM's connection; the daemon and testpmd are told to
    stop = ["kill $qsd $tpmd; wait $qsd; wait $tpmd",
            *(f"cp -r {VU_DIR}/{tag} fs-{tag}-back" for tag, _ in FS_SHARES),
            f"cp {VU_DIR}/disk.img disk-vu-after.img",
            'read -r vu2 _ </proc/uptime; echo "VU_STOPPED $vu2"']
    return start, " ".join(opts), stop


def qsd_line(guest, log="qsd.log"):
    """L1's line that starts qemu-storage-daemon on VU_DIR/blk.sock for VU_DIR/disk.img (its pid
    in $qsd)."""
    return (f"{shlex.quote(guest['ARM64_QSD'])} --blockdev driver=file,node-name=d,"
            f"filename={VU_DIR}/disk.img --export type=vhost-user-blk,id=vu,node-name=d,"
            f"addr.type=unix,addr.path={VU_DIR}/blk.sock,writable=on > {log} 2>&1 & qsd=$!")


def api_vu_lines(vmm, vmmctl, guest, work):
    """The API's vhost-user devices: a VMM (virtio-pci) configured through vmmctl with a root
    disk of its own (disk-apivu.img), a drive whose "socket" is qemu-storage-daemon's (a copy of
    disk-vu.img, back as disk-vu-api-after.img) and a NIC whose "socket" is dpdk-testpmd's
    (macswap); the guest's checks, its power-off the VMM's end. Statuses: VMM_EXIT
    api-vu-backends, api-vu-config, api-vu."""
    q = shlex.quote
    sock = f"{VU_DIR}/api.sock"
    ctl = f"{q(str(vmmctl))} -s {sock}"
    drive = {"drive_id": "vu", "socket": f"{VU_DIR}/blk.sock", "is_root_device": False}
    nic = {"iface_id": "vu", "socket": f"{VU_DIR}/net.sock", "guest_mac": VU_NET_MAC}
    args = guest["ARM64_GUEST_CMDLINE"] + " vmmtest.write=1"
    return [
        f"rm -rf {VU_DIR} && mkdir -p {VU_DIR} && cp disk-vu.img {VU_DIR}/disk.img",
        qsd_line(guest, "qsd-api.log"),
        *dpdk_testpmd_lines(guest["ARM64_DPDK"], "vu-net-api"),
        f"waitsock {VU_DIR}/blk.sock && waitsock {VU_DIR}/net.sock",
        'echo "VMM_EXIT api-vu-backends $?"',
        f"{q(str(vmm))} --enable-pci --vhost-user-timeout {VU_TIMEOUT_MS} --api-sock {sock} "
        "> vmm-apivu.log 2>&1 </dev/null & pid=$!",
        f"waitsock {sock}",
        f"{{ {ctl} put-machine-config --vcpus 2 --mem-mib {API_MEM_MB} && "
        f"{ctl} put-boot-source {q(guest['ARM64_GUEST_KERNEL'])} "
        f"--initrd {q(guest['ARM64_GUEST_INITRAMFS'])} --args {q(args)} && "
        f"{ctl} put-drive rootfs {q(str(work / 'disk-apivu.img'))} --root && "
        f"{ctl} raw PUT /drives/vu {q(json.dumps(drive))} && "
        f"{ctl} raw PUT /network-interfaces/vu {q(json.dumps(nic))} && "
        f"{ctl} start; }} > api-vu.log 2>&1",
        'echo "VMM_EXIT api-vu-config $?"',
        'i=0; while kill -0 $pid 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done',
        'kill $pid 2>/dev/null; wait $pid; echo "VMM_EXIT api-vu $?"',
        "kill $qsd $tpmd; wait $qsd; wait $tpmd",
        f"cp {VU_DIR}/disk.img disk-vu-api-after.img"]


def check_api_vu(work, status, gicv2):
    """What api_vu_lines()' guest saw wrong: its root disk, the vhost-user disk (vdb, the
    guest's write in it) and NIC (its frames looped back), all on virtio-pci."""
    bad = [f"{step}: status {status.get(step)}" for step in API_VU_STEPS
           if status.get(step) != "0"]
    text, report, when = vmmtest.parse_log(work / "vmm-apivu.log")
    print(f"api-vu: the guest's report\n{report}")
    bad += vmmtest.problems(report, cpus=2, mem_mb=API_MEM_MB, transport="pci",
                            disk=(work / "disk-apivu.img", DISK_SIZE), wrote=True,
                            disks={"vdb": (work / "disk-vu-api-after.img", VU_DISK_SIZE)},
                            looped_macs=(VU_NET_MAC,), now=when, msi_chip="" if gicv2 else "ITS")
    if not bad:
        return []
    api = work / "api-vu.log"
    return ["api-vu: " + "\n".join(bad) + "\n" + (api.read_text() if api.exists() else "")
            + text[-4000:] + "".join(_tail(work / n) for n in ("qsd-api.log", "vu-net-api.log"))]


def dpdk_testpmd_lines(dpdk, prefix="vu-net"):
    """L1's lines that start dpdk-testpmd (DPDK: the unpacked dpdk-dev:arm64) on
    VU_DIR/net.sock, its pid in $tpmd; its runtime files under PREFIX (a restarted one gets
    its own, as x86's framework/testpmd.py does)."""
    q = shlex.quote
    libs = f"{dpdk}/usr/lib/aarch64-linux-gnu"
    pmds = " ".join(f"-d {q(f'{libs}/dpdk/pmds-23.0/{p}')}" for p in TESTPMD_PMDS)
    return [f"LD_LIBRARY_PATH={q(libs)}:{q(f'{dpdk}/lib/aarch64-linux-gnu')} "
            # L1's busybox has renice, no nice (/usr/bin/nice is the x86 host's)
            "sh -c 'renice -n 10 -p $$ > /dev/null; exec \"$@\"' - "
            f"{q(f'{dpdk}/usr/bin/dpdk-testpmd')} --lcores 0@0,1@0 --no-huge -m 64 "
            f"--no-pci --no-shconf --file-prefix={prefix} {pmds} "
            f"--vdev net_vhost0,iface={VU_DIR}/net.sock,queues=1 -- --port-topology=loop "
            "--forward-mode=macswap --nb-cores=1 --total-num-mbufs=2048 --stats-period=60 "
            f"> {prefix}.log 2>&1 & tpmd=$!"]


def api_lines(vmm, vmmctl, guest, work):
    """The Firecracker API client's sequence (vmmctl: machine-config, boot-source, drive,
    InstanceStart) on a VMM with virtio-pci, the guest waiting at "VMMTEST pause"; a live
    migration to a third VMM (--migrate-from); then pause, snapshot-create, that VMM killed, and
    a second VMM that loads the snapshot (--resume) and gets the line the guest waits for on its
    console. Each step's status as "VMM_EXIT api-STEP
    N"; the disk copied back for the checks."""
    q = shlex.quote
    ctl = f"{q(str(vmmctl))} -s"
    args = guest["ARM64_GUEST_CMDLINE"] + " vmmtest.pause=1 vmmtest.write=1 vmmtest.dhcp=0"
    return [
        f"mkdir -p {API_DIR} && cp disk-api.img {API_DIR}/disk.img",
        f"{q(str(vmm))} --enable-pci --api-sock {API_DIR}/1.sock > vmm-api1.log 2>&1 "
        "</dev/null & pid=$!",
        f"waitsock {API_DIR}/1.sock",
        f"{{ {ctl} {API_DIR}/1.sock put-machine-config --vcpus 2 --mem-mib {API_MEM_MB} "
        "--track-dirty-pages && "
        f"{ctl} {API_DIR}/1.sock put-boot-source {q(guest['ARM64_GUEST_KERNEL'])} "
        f"--initrd {q(guest['ARM64_GUEST_INITRAMFS'])} --args {q(args)} && "
        f"{ctl} {API_DIR}/1.sock put-drive rootfs {API_DIR}/disk.img --root && "
        f"{ctl} {API_DIR}/1.sock start; }} > api.log 2>&1",
        'echo "VMM_EXIT api-config $?"',
        'waitfor vmm-api1.log "VMMTEST pause" $pid; echo "VMM_EXIT api-pause-line $?"',
        # live migration to a third VMM, which the snapshot is then taken of
        f"{q(str(vmm))} --migrate-from unix:{API_DIR}/mig.sock --landlock-rules {API_DIR}:rw "
        f"--api-sock {API_DIR}/3.sock </dev/null > vmm-api3.log 2>&1 & pid3=$!",
        f"waitsock {API_DIR}/mig.sock && {ctl} {API_DIR}/1.sock migrate unix:{API_DIR}/mig.sock "
        ">> api.log 2>&1",
        'echo "VMM_EXIT api-migrate $?"',
        'i=0; while kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done',
        'kill $pid 2>/dev/null; wait $pid; echo "VMM_EXIT api-source $?"; pid=$pid3',
        # a Full snapshot, the guest runs on, then a Diff onto the Full's memory file
        f"waitsock {API_DIR}/3.sock; {{ {ctl} {API_DIR}/3.sock pause && "
        f"{ctl} {API_DIR}/3.sock snapshot-create {API_DIR}/full-state {API_DIR}/mem && "
        f"{ctl} {API_DIR}/3.sock resume && {ctl} {API_DIR}/3.sock pause && "
        f"{ctl} {API_DIR}/3.sock snapshot-create {API_DIR}/state {API_DIR}/mem --type diff; }} "
        ">> api.log 2>&1",
        'echo "VMM_EXIT api-snapshot $?"; read -r t1 _ </proc/uptime',
        # the state, for the GICv2 L1's CPU-model check (gicv2_lines())
        f"cp {API_DIR}/state state-saved",
        "kill $pid; wait $pid",
        f"mkfifo {API_DIR}/console",
        f"{q(str(vmm))} --api-sock {API_DIR}/2.sock < {API_DIR}/console > vmm-api2.log 2>&1 & "
        "pid=$!",
        f"exec 3> {API_DIR}/console",
        f"waitsock {API_DIR}/2.sock",
        'read -r t2 _ </proc/uptime; echo "API_GAP $t1 $t2" >> api.log',
        f"{ctl} {API_DIR}/2.sock snapshot-load {API_DIR}/state {API_DIR}/mem --resume "
        "--clock-realtime >> api.log 2>&1",
        'echo "VMM_EXIT api-load $?"',
        "echo go >&3",
        'waitfor vmm-api2.log "VMMTEST end" $pid; echo "VMM_EXIT api-end $?"',
        "i=0; while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done",
        'kill $pid 2>/dev/null; wait $pid; echo "VMM_EXIT api-restored $?"; exec 3>&-',
        f"cp {API_DIR}/disk.img disk-api-after.img",
        # a snapshot of an x86 VM (its CPU model) and one without a model: refused
        f"{q(str(vmm))} --check-cpu x86-snap > check-x86.log 2>&1",
        'echo "VMM_EXIT api-x86-snapshot $?"',
    ]


# busybox sh functions of L1's script: waitfor FILE TEXT PID: until TEXT is in FILE (1: 300 s
# passed, 2: PID ended first); waitsock SOCK: until it is there (1: 15 s passed)
SH_WAIT = [
    'waitfor() { i=0; while ! grep -q "$2" "$1" 2>/dev/null; do kill -0 "$3" 2>/dev/null '
    '|| return 2; i=$((i+1)); [ $i -gt 1500 ] && return 1; sleep 0.2; done; }',
    'waitsock() { i=0; while [ ! -S "$1" ]; do i=$((i+1)); [ $i -gt 150 ] && return 1; '
    'sleep 0.1; done; }']


def restart_lines(guest):
    """While the guest waits at "VMMTEST netpause" (vmmtest.netpause=VU_NET_MAC), testpmd is
    killed and started again on the same socket; once the VMM says it reconnected, the guest
    gets its line (on the console FIFO, fd 4) and sends again ("VMM_EXIT netpause|reconnect")."""
    return ['waitfor vmm-$t.log "VMMTEST netpause" $vpid; echo "VMM_EXIT netpause $?"',
            # DPDK does not remove a stale socket (it would fail to bind)
            f"kill -9 $tpmd; wait $tpmd; rm -f {VU_DIR}/net.sock",
            *dpdk_testpmd_lines(guest["ARM64_DPDK"], "vu-net-2"),
            'waitfor vmm-$t.log "back-end reconnected" $vpid; echo "VMM_EXIT reconnect $?"',
            # a subshell: a VMM gone already would end L1's shell by SIGPIPE
            "(echo go >&4) 2>/dev/null"]


def l1_script(vmm, vmmctl, guest, work, gicv2=False):
    """What L1 runs (busybox sh): the KVM probe and the refused kernel (not in the GICv2 L1: the
    probe makes a GICv3), one boot per transport, then the API client with a snapshot and its
    restore; each VMM's output in its own file, its status on L1's console."""
    q = shlex.quote
    boot = (f"{q(str(vmm))} $pci --kernel {q(guest['ARM64_GUEST_KERNEL'])} "
            f"--initrd {q(guest['ARM64_GUEST_INITRAMFS'])} --cpus 2 --mem {MEM_MB}M "
            f"--disk disk-$t.img --net user,mac={MAC} --rng --balloon size=16")
    vu_start, vu_opts, vu_stop = vhost_user_lines(guest)
    fs_tags = ",".join(tag for tag, _ in FS_SHARES)
    lines = [f"cd {q(str(work))}", "ls -l /dev/kvm", *SH_WAIT]
    if gicv2:  # the GICv3 L1's snapshot: its CPU model names the GIC this host lacks
        lines += [f"{q(str(vmm))} --check-cpu v3-snap > check-v3.log 2>&1",
                  'echo "VMM_EXIT gicv3-snapshot $?"']
    else:
        lines += ["./arm64-kvm-probe --exits 1000 > probe.log 2>&1", 'echo "VMM_EXIT probe $?"',
                  f"{q(str(vmm))} --kernel {q(guest['ARM64_GUEST_INITRAMFS'])} > refused.log "
                  "2>&1", 'echo "VMM_EXIT refused $?"']
    for t in TRANSPORTS:
        pci = "--enable-pci" if t == "pci" else ""
        # the vhost-user devices after the VMM's own (each on its --transport)
        # its console a FIFO: the guest's line after the back-end's restart
        args = (guest['ARM64_GUEST_CMDLINE'] + ' vmmtest.write=1 vmmtest.fs=' + fs_tags
                + ' vmmtest.netpause=' + VU_NET_MAC)
        lines += [f"t={t} pci={pci}", *vu_start,
                  f"rm -f {VU_DIR}/console; mkfifo {VU_DIR}/console",
                  f"timeout 300 {boot} {vu_opts} --append {q(args)} < {VU_DIR}/console "
                  "> vmm-$t.log 2>&1 & vpid=$!", f"exec 4> {VU_DIR}/console",
                  *restart_lines(guest), 'wait $vpid; echo "VMM_EXIT $t $?"; exec 4>&-',
                  *vu_stop]
    lines += api_lines(vmm, vmmctl, guest, work) + api_vu_lines(vmm, vmmctl, guest, work)
    return "\n".join(lines) + "\n"


def craft_x86_snapshot(work):
    """A snapshot folder whose state carries an x86 VM's CPU model."""
    (work / "x86-snap").mkdir()
    opts = json.dumps([["mem", f"{API_MEM_MB}M"]])
    subprocess.run([sys.executable, str(CRAFT), str(work / "x86-snap" / "state"), opts,
                    str(API_MEM_MB << 20), "x86"], check=True)


def check_clock_realtime(report, restored_log, api_log):
    """The load's clock_realtime: the VMM moved the guest's counter on by at least the time
    between the snapshot and the load (L1's uptime after snapshot-create and before
    snapshot-load), and the guest's uptime from its pause to its resumption took that jump."""
    moved = re.search(r"clock_realtime: the virtual counter advanced by ([0-9.]+) s",
                      restored_log)
    gap = re.search(r"^API_GAP ([0-9.]+) ([0-9.]+)$", api_log, re.M)
    if not moved or not gap:
        return [f"clock_realtime: no advance logged ({bool(moved)}) or no gap ({bool(gap)})"]
    advanced, least = float(moved.group(1)), float(gap.group(2)) - float(gap.group(1))
    print(f"api: clock_realtime advanced the counter by {advanced} s (snapshot to load: "
          f"{least:.2f} s of L1's uptime)")
    bad = []
    if not least <= advanced < least + 120:
        bad.append(f"clock_realtime: the counter advanced by {advanced} s, the snapshot was "
                   f"{least:.2f} s before the load")
    paused, resumed = report.get("pause"), report.get("resumed")
    ran = float(resumed.get("uptime", 0)) - float(paused.get("uptime", 0)) if (
        paused and resumed) else None
    if ran is None or ran < advanced - 0.5:
        bad.append(f"clock_realtime: the guest's uptime from its pause to its resumption is "
                   f"{ran} s, less than the {advanced} s the counter moved")
    return bad


def check_api(work, status, gicv2=False):
    """The API client's steps, the restored guest's report (its lines before the snapshot in
    the first VMM's log, the rest in the second's: its PCI devices' MSIs through the ITS, or
    the GICv2m frame in the GICv2 L1) and the refused x86 snapshot."""
    bad = [f"{step}: status {status.get(step)}" for step in API_STEPS
           if status.get(step) != API_STEPS[step]]
    logs = [(work / name).read_text(errors="replace") if (work / name).exists() else ""
            for name in ("vmm-api1.log", "vmm-api3.log", "vmm-api2.log", "api.log",
                         "check-x86.log")]
    report = vmmtest.parse(logs[0] + logs[1] + logs[2])
    print(f"api: the restored guest's report\n{report}")
    resumed = report.get("resumed")
    if not resumed or resumed.get("line") != "go":
        bad.append("the restored guest did not get the console line: "
                   f"{resumed.text if resumed else 'no VMMTEST resumed line'}")
    log2 = work / "vmm-api2.log"
    bad += vmmtest.problems(report, cpus=2, mem_mb=API_MEM_MB, transport="pci",
                            disk=(work / "disk-api-after.img", DISK_SIZE), wrote=True,
                            alarm=True, now=log2.stat().st_mtime if log2.exists() else None,
                            msi_chip="" if gicv2 else "ITS")
    bad += check_clock_realtime(report, logs[2], logs[3])
    if "not a snapshot of an aarch64 VM" not in logs[4]:
        bad.append(f"an x86 snapshot: {logs[4].strip()!r}")
    if bad:
        return ["api: " + "\n".join(bad) + "\n" + "\n".join(x[-3000:] for x in logs)]
    return []


def stock_prepare(work, v3_state=None):
    """The disks, an x86 VM's snapshot to refuse, the L1 KVM probe (cross-built); for the GICv2
    L1, the GICv3 L1's snapshot state V3_STATE instead of the probe."""
    for t in (*TRANSPORTS, "api"):
        make_disk(work / f"disk-{t}.img")
    make_disk(work / "disk-vu.img", VU_DISK_SIZE)
    make_disk(work / "disk-apivu.img")
    make_shares(work)
    craft_x86_snapshot(work)
    if v3_state is not None:
        (work / "v3-snap").mkdir()
        shutil.copy(v3_state, work / "v3-snap" / "state")
        return
    cc = subprocess.run(["aarch64-linux-gnu-gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
                         str(work / "arm64-kvm-probe"), str(PROBE)],
                        capture_output=True, text=True)
    assert cc.returncode == 0, "the probe does not build:\n" + cc.stderr


def check_gicv2(work, status):
    """The GICv2 L1: every VMM gave its guest a GICv2 (the VMM says so, the guest's kernel found
    no GICv3), and the GICv3 L1's snapshot was refused for its GIC."""
    bad = []
    for name in (*(f"vmm-{t}.log" for t in TRANSPORTS), "vmm-api1.log"):
        log = (work / name).read_text(errors="replace")
        if "offers a GICv2 only" not in log or "GICv3:" in log:
            bad.append(f"{name}: the VMM did not give the guest a GICv2:\n{log[-2000:]}")
        # Linux's irq-gic-v2m found the frame and its SPIs (GIC_V2M_*: INTIDs 96..159)
        if name == "vmm-api1.log" and not re.search(r"GICv2m: range\[mem 0x3ffd0000-0x3ffd0fff\]"
                                                    r", SPI\[96:159\]", log):
            bad.append(f"{name}: the guest's kernel did not find the GICv2m frame")
    v3 = (work / "check-v3.log").read_text(errors="replace")
    want = "the guest's VM has a GICv3 and this host's KVM offers only a GICv2"
    if status.get("gicv3-snapshot") in (None, "0") or want not in v3:
        bad.append(f"the GICv3 L1's snapshot: exit {status.get('gicv3-snapshot')}, {v3!r}")
    return bad


def stock_check(out, work, gicv2=False):
    """L1's KVM, the refused kernel, the two boots, the API client's steps (in the GICv2 L1:
    the GIC and the GICv3 snapshot's refusal instead of the probe and the kernel): what
    failed."""
    status = dict(re.findall(r"^VMM_EXIT (\S+) (\d+)\r?$", out, re.M))
    if len(status) != (1 if gicv2 else 2) + 4 * len(TRANSPORTS) + len(API_STEPS) + len(API_VU_STEPS):
        return [f"L1 did not run every step: {sorted(status)}"]
    if not re.search(r"^c[-rwx]{9} .* /dev/kvm\r?$", out, re.M):
        return ["L1 has no /dev/kvm"]
    failures = check_gicv2(work, status) if gicv2 else []
    for a, b in re.findall(r"^VU_BACKENDS (\S+) (\S+)\r?$", out, re.M):
        print(f"note: the vhost-user back-ends up in {float(b) - float(a):.1f} s of L1's")
    probe = "" if gicv2 else (work / "probe.log").read_text(errors="replace")
    if not gicv2 and (status["probe"] != "0" or "arm64-kvm-probe: ok" not in probe):
        return [f"L1's KVM failed the probe (exit {status['probe']}):\n{probe[-4000:]}"]
    refused = "" if gicv2 else (work / "refused.log").read_text(errors="replace")
    if not gicv2 and (status["refused"] != "2" or "not an arm64 Image" not in refused):
        failures.append(f"a kernel that is no Image: exit {status['refused']}\n{refused}")
    for t in TRANSPORTS:
        log = (work / f"vmm-{t}.log").read_text(errors="replace")
        report = vmmtest.parse(log)
        print(f"{t}: VMM exit {status[t]}\n{report}")
        bad = vmmtest.problems(report, cpus=2, mem_mb=MEM_MB, devices=VIRTIO_DEVICES[t],
                               disk=(work / f"disk-{t}.img", DISK_SIZE), mac=MAC, dhcp=True,
                               rng=True, wrote=True, alarm=True,
                               now=(work / f"vmm-{t}.log").stat().st_mtime,
                               msi_chip="" if gicv2 else "ITS",
                               disks={"vdb": (work / "disk-vu-after.img", VU_DISK_SIZE)},
                               looped_macs=(VU_NET_MAC,), restarted_macs=(VU_NET_MAC,),
                               fs={tag: (work / f"fs-{tag}", work / f"fs-{tag}-back")
                                   for tag, _ in FS_SHARES})
        bad += vhost_user_problems(log)
        for line in report.all("fs"):
            print(f"note: {t}: virtio-fs {line.name}: the guest's check took "
                  f"{float(line.get('t1', 0)) - float(line.get('t0', 0)):.1f} s")
        if status.get("backends") != "0":
            bad.append("the vhost-user back-ends' sockets did not all come: "
                       + " | ".join(_tail(work / n) for n in (
                           "qsd.log", "vu-net.log",
                           *(f"virtiofsd-{tag}.log" for tag, _ in FS_SHARES))))
        if (status.get("netpause"), status.get("reconnect")) != ("0", "0"):
            bad.append(f"testpmd's restart: the guest's netpause line {status.get('netpause')},"
                       f" the VMM's reconnection {status.get('reconnect')} (0: seen)")
        if status[t] != "0":
            bad.append(f"the VMM exited {status[t]} after the guest's power-off")
        if bad:
            failures.append(f"{t}: " + "\n".join(bad) + "\n" + log[-4000:])
    return failures + check_api(work, status, gicv2) + check_api_vu(work, status, gicv2)


def vhost_user_problems(log):
    """The VMM's own words on its vhost-user devices (at its exit): over virtio-pci, each
    back-end's calls reach the guest through the queue's MSI-X irqfd, not through the VMM (it
    relays only what comes while a vector is masked or not yet set up: docs/vhost-user.md, "How
    calls reach the guest"); over virtio-mmio it relays them all (the interrupt status
    register is its own)."""
    bad = []
    for name in ("virtio-fs fspci", f"vhost-user-blk {VU_DIR}/blk.sock",
                 f"vhost-user-net {VU_DIR}/net.sock", "virtio-fs fsmmio"):
        relayed = re.search(rf"{re.escape(name)}: ([0-9]+) calls of the back-end relayed", log)
        if not relayed:
            bad.append(f"{name}: the VMM did not say how many calls it relayed")
        elif "fsmmio" not in name and int(relayed.group(1)) >= 20:
            bad.append(f"{name}: the VMM relayed {relayed.group(1)} calls (want fewer than 20)")
    return bad


def _tail(path):
    return path.read_text(errors="replace")[-500:] if path.exists() else f"no {path.name}"


def guest_env_or_skip(script, *args):
    env, run = guest_env.print_env(script, *args)
    if run.returncode == 3 or "cannot get busybox-static:arm64" in run.stderr:
        host.skip("no arm64 packages", run.stderr.strip()[-300:])
    assert run.returncode == 0, f"guest-images/{script} failed:\n{run.stderr[-3000:]}"
    return env


def test_arm64_vmm_in_one_l1():
    out_dir = arm64_build.build("vmm", "vmmctl", "arm64_guests")
    vmm, vmmctl = out_dir / "vmm", out_dir / "tools" / "vmmctl" / "vmmctl"
    images = out_dir / "tests" / "guests"
    stock = guest_env_or_skip("arm64-guest.sh")
    default = guest_env_or_skip("build.sh", "--arch", "arm64")
    debian = arm64_debian.image_env()
    parts = [
        arm64_l1.Part("stock", lambda w: stock_prepare(w),
                      lambda w, c: l1_script(vmm, vmmctl, stock, w).splitlines(),
                      lambda out, w, c: stock_check(out, w)),
        arm64_l1.Part("guests", lambda w: (arm64_guests.prepare(w), arm64_snap.prepare(w)),
                      lambda w, c: (arm64_guests.l1_lines(vmm, images, w)
                                    + arm64_snap.l1_lines(vmm, vmmctl, images, w)),
                      lambda out, w, c: (arm64_guests.check(out, w)
                                         + arm64_snap.check(out, w))),
        arm64_l1.Part("default", lambda w: arm64_default_guest.prepare(w, default),
                      lambda w, c: arm64_default_guest.l1_lines(vmm, default, w, c),
                      arm64_default_guest.check),
        arm64_l1.Part("debian", lambda w: arm64_debian.prepare(w, debian),
                      lambda w, c: arm64_debian.l1_lines(vmm, debian, w),
                      lambda out, w, c: arm64_debian.check_all(out, w, debian)),
    ]
    only = os.environ.get("ARM64_L1_PARTS")  # for work on one part: "stock,guests"
    names = (only.split(",") if only
             else [p.name for p in parts] + ["gicv2", "vfio", "cputemplate"])
    parts = [p for p in parts if p.name in names]
    # Outside /tmp: L1 mounts a tmpfs of its own there. Shared read-write with L1.
    root, root2 = paths.BUILD_DIR / "l1-arm64", paths.BUILD_DIR / "l1-arm64-gicv2"
    root3 = paths.BUILD_DIR / "l1-arm64-vfio"
    root4 = paths.BUILD_DIR / "l1-arm64-cputemplate"
    failures = arm64_l1.run(parts, root)[0] if parts else []
    if "gicv2" in names:  # a second L1, whose KVM offers only a GICv2
        v3_state = root / "stock" / "state-saved"
        if not v3_state.exists():  # no GICv3 L1's snapshot: a GICv2 VM's is refused there
            v3_state = None
            failures.append("gicv2: no snapshot of the GICv3 L1 to refuse (run with stock)")
        gicv2 = arm64_l1.Part(
            "gicv2", lambda w: (stock_prepare(w, v3_state),
                                arm64_guests.prepare_gicv2(w / "guests")),
            lambda w, c: (l1_script(vmm, vmmctl, stock, w, True).splitlines()
                          + arm64_guests.l1_lines(vmm, images, w / "guests",
                                                  arm64_guests.gicv2_runs(w / "guests"))),
            lambda out, w, c: (stock_check(out, w, gicv2=True)
                               + arm64_guests.check(out, w / "guests",
                                                    arm64_guests.gicv2_runs(w / "guests"))))
        failures += arm64_l1.run([gicv2], root2, gic=2)[0]
    if "vfio" in names:  # a third L1, with an SMMUv3 and an NVMe controller to pass through
        vfio = arm64_l1.Part("vfio", lambda w: arm64_vfio.prepare(w, make_disk),
                             lambda w, c: arm64_vfio.l1_lines(vmm, stock, w),
                             lambda out, w, c: arm64_vfio.check(out, w))
        failures += arm64_l1.run([vfio], root3, vfio=True)[0]
    if "cputemplate" in names:  # a fourth L1, on the backports kernel (writable ID registers)
        ct = arm64_l1.Part("cputemplate", lambda w: arm64_cpu_template.prepare(w, images),
                           lambda w, c: arm64_cpu_template.l1_lines(vmm, vmmctl, images, w,
                                                                     stock),
                           lambda out, w, c: arm64_cpu_template.check(out, w))
        failures += arm64_l1.run([ct], root4, kernel="backports")[0]
    assert not failures, "\n\n".join(failures)
    if os.environ.get("ARM64_L1_KEEP") != "1":  # the logs and disks, for a look afterwards
        subprocess.run(["rm", "-rf", str(root), str(root2), str(root3), str(root4)])
