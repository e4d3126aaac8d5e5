# The vhost-user front-end (virtio/vhost_user) against the real Debian back-ends, with no KVM and
# no guest: tests/vhost_user (vhost_user_check) shares a memfd as guest RAM, lays a split ring in
# it and plays the guest's driver.
#  - qemu-storage-daemon, vhost-user-blk export over a raw file: GET_CONFIG capacity, sectors
#    written, read back, flushed and found in the file, GET_VRING_BASE; then the daemon is
#    killed: the front-end sees it within seconds and nothing hangs, a new daemon on the same
#    socket is reconnected and serves I/O again.
#  - the same daemon through the VMM's vhost-user-blk device model (virtio/vhost_user/vu_blk.c):
#    config space from GET_CONFIG, DRIVER_OK, I/O with interrupts from the device's I/O thread;
#    the daemon killed with the ring drained: the device reconnects to the restarted one itself.
#  - dpdk-testpmd's vhost-user port (no huge pages) through the vhost-user-net device model
#    (vu_net.c), testpmd looping its port in macswap mode: a frame sent on tx comes back on rx
#    with its MACs swapped; testpmd killed while rx buffers are posted: the device reconnects to
#    the restarted one itself and frames flow again. Skipped without dpdk-testpmd (Debian's
#    dpdk-dev).
#  - virtiofsd over a directory: FUSE_INIT, LOOKUP, OPEN, READ of a file made here, the bytes
#    compared; then virtiofsd killed and restarted: the rings handed to the new one as they are,
#    a new FUSE_INIT (a guest's remount), the file read again.
# Each back-end's tests skip when it is not installed (tools/setup.sh installs
# qemu-system-common, which has qemu-storage-daemon and virtiofsd, and dpdk-dev, which has
# dpdk-testpmd). vhost_user_check restarts a back-end itself (BACKEND_PID RESTART_COMMAND: it
# kills the pid and runs the command at the moment it tests); the restarted one runs in the
# check's process group, which the harness ends with the test.
# labels: vhost_user
# requires: root
# timeout: 180
import os
import shlex
import shutil

import pytest

from framework import host, paths, testpmd

CHECK = paths.BUILD_DIR / "tests" / "vhost_user_check"
QSD = os.environ.get("QSD", "qemu-storage-daemon")
VIRTIOFSD = os.environ.get("VIRTIOFSD", "/usr/lib/qemu/virtiofsd")


def check(vms, what, *args):
    """Runs vhost_user_check WHAT ARGS; a pass needs status 0 and its "PASS" line."""
    assert CHECK.exists(), f"{CHECK} not built (ninja vhost_user_check)"
    run = vms.process([CHECK, what, *args], name=f"check-{what}")
    status = run.wait(60)
    print(run.out)
    assert status == 0 and "PASS" in run.out.splitlines(), \
        f"vhost_user_check {what}: status {status}\n{run.tail()}"


def need(program):
    if not shutil.which(program):
        host.skip("no vhost-user back-end", f"{program} not installed (tools/setup.sh)")


@pytest.fixture
def qsd(vms, workdir):
    """qemu-storage-daemon's command over a 4 MiB raw file; returns (argv, socket, file)."""
    need(QSD)
    disk = workdir / "disk.raw"
    disk.write_bytes(b"")
    os.truncate(disk, 4 << 20)
    sock = workdir / "blk.sock"
    argv = [QSD, "--blockdev", f"driver=file,node-name=disk,filename={disk}",
            "--export", "type=vhost-user-blk,id=exp0,node-name=disk,addr.type=unix,"
            f"addr.path={sock},writable=on"]
    return argv, sock, disk


def restart(argv, log):
    """The shell command vhost_user_check runs to restart a back-end."""
    return f"{shlex.join(map(str, argv))} >{shlex.quote(str(log))} 2>&1 &"


def test_blk(vms, qsd):
    argv, sock, disk = qsd
    vms.process(argv, name="qsd")
    check(vms, "blk", sock, disk)


def test_blk_backend_restarted(vms, workdir, qsd):
    # killed mid-session, restarted on the same socket
    argv, sock, disk = qsd
    daemon = vms.process(argv, name="qsd")
    check(vms, "blk", sock, disk, daemon.pid, restart(argv, workdir / "qsd2.log"))


def test_blk_device_backend_restarted(vms, workdir, qsd):
    # the daemon through the vhost-user-blk device model, killed with the ring drained and
    # restarted: the device reconnects by itself
    argv, sock, disk = qsd
    daemon = vms.process(argv, name="qsd")
    check(vms, "blkdev", sock, disk, daemon.pid, restart(argv, workdir / "qsd2.log"))


def test_net_device_testpmd_restarted(vms, workdir):
    need(testpmd.TESTPMD)
    sock = workdir / "net.sock"
    prefix = f"vu-check-{os.getpid()}"
    try:
        daemon = testpmd.start(vms, sock, f"{prefix}-1")
        # DPDK does not remove a stale socket, so the restart does
        check(vms, "net", sock, daemon.pid, f"rm -f {shlex.quote(str(sock))}; "
              + restart(testpmd.argv(sock, f"{prefix}-2"), workdir / "testpmd2.log"))
    finally:
        vms.stop_all()
        testpmd.cleanup(prefix)


@pytest.fixture
def fsd(workdir):
    """virtiofsd's command over a directory with a 3000-byte file; returns (argv, socket, dir)."""
    if not os.access(VIRTIOFSD, os.X_OK):
        host.skip("no vhost-user back-end", f"{VIRTIOFSD} not installed (qemu-system-common)")
    share = workdir / "share"
    share.mkdir()
    (share / "data.bin").write_bytes(os.urandom(3000))
    sock = workdir / "fs.sock"
    return [VIRTIOFSD, f"--socket-path={sock}", "-o", f"source={share}", "-o", "cache=none"], \
        sock, share


def test_fs(vms, fsd):
    argv, sock, share = fsd
    vms.process(argv, name="virtiofsd")
    check(vms, "fs", sock, share, "data.bin")


def test_fs_virtiofsd_restarted(vms, workdir, fsd):
    # the rings go to the new one as they are, a FUSE_INIT starts a new session (a guest's
    # remount), the file reads again
    argv, sock, share = fsd
    daemon = vms.process(argv, name="virtiofsd")
    check(vms, "fs", sock, share, "data.bin", daemon.pid, restart(argv, workdir / "virtiofsd2.log"))
