# virtio-blk served by another process: the virtio_blk test guest's checks (test_virtio_blk.py
# runs them on the in-process disk) on two disks that qemu-storage-daemon exports over
# vhost-user-blk (--disk vhost-user=SOCK, virtio/vhost_user/vu_blk.c), over virtio-mmio and over
# virtio-pci: config from the daemon (capacity), GET_ID (the daemon's "vhost_user_blk"), reads of
# the host's pattern, writes, flush, 32 requests in flight, indirect chains, interrupt suppression
# (EVENT_IDX), WRITE_ZEROES and DISCARD (discard=unmap), IOERR past the end, unknown type ->
# UNSUPP, and a read-only export (RO offered, writes refused with IOERR). The host then checks
# the files as test_virtio_blk.py does. Split rings only: the daemon (libvhost-user) offers no
# packed ring.
# labels: guests virtio vhost_user
# requires: kvm
# timeout: 300
import os

import pytest

from blk_checks import SECTORS, check_disks, expect_blk_output, make_disk
from framework import host
from framework.guests import boot_vmm, guest_transport_args, transport_args
from framework.proc import wait_until

QSD = os.environ.get("QSD", "qemu-storage-daemon")


def start_qsd(vms, workdir, rw, ro):
    """One daemon, two exports: rw.sock (writable, discard=unmap) and ro.sock (read-only)."""
    rw_sock, ro_sock = workdir / "rw.sock", workdir / "ro.sock"
    qsd = vms.process([QSD,
                       "--blockdev", f"driver=file,node-name=rw,filename={rw},discard=unmap",
                       "--export", "type=vhost-user-blk,id=e0,node-name=rw,addr.type=unix,"
                       f"addr.path={rw_sock},writable=on",
                       "--blockdev", f"driver=file,node-name=ro,filename={ro},read-only=on",
                       "--export", "type=vhost-user-blk,id=e1,node-name=ro,addr.type=unix,"
                       f"addr.path={ro_sock},writable=off"], name="qsd")
    wait_until(lambda: rw_sock.is_socket() and ro_sock.is_socket(), 10,
               f"{QSD}'s sockets", alive=qsd.alive)
    return qsd, rw_sock, ro_sock


@pytest.mark.parametrize("transport", ["mmio", "pci"])
def test_vhost_user_blk(vms, workdir, transport):
    if not host.has(QSD):
        host.skip("no vhost-user back-end", f"{QSD} not installed (qemu-system-common)")
    pristine, rw, ro = workdir / "pristine.img", workdir / "rw.img", workdir / "ro.img"
    for path in (pristine, rw, ro):
        make_disk(path)
    qsd, rw_sock, ro_sock = start_qsd(vms, workdir, rw, ro)
    run = boot_vmm(vms, "virtio_blk", *transport_args(transport),
                   "--disk", f"vhost-user={rw_sock}", "--disk", f"vhost-user={ro_sock}",
                   "--append", f"{guest_transport_args(transport)} ring=split sectors={SECTORS} "
                   "id=vhost_user_blk ro_disk discard")
    expect_blk_output(run, transport, "split")
    qsd.stop()  # its writes are in the files once it has ended
    check_disks(rw, ro, pristine)
