# virtio-vsock across a snapshot: the vsock test guest (tests/guests/virtio_vsock.c snapshot=1)
# opens a connection to the host's echo server (vsock_host.py --echo-only on PATH_1234) and
# echoes 4 KiB; the VM is paused, snapshotted (PUT /snapshot/create) and killed; `vmm --restore
# DIR` resumes it. The guest must then get VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on its event
# queue, find its old connection gone (the device answers a packet on it with RST), connect
# again and echo 4 KiB through the restored VMM, which has bound PATH again (the killed VMM left
# its socket file behind).
# labels: snapshot virtio
# requires: kvm
# timeout: 300
import signal
import sys

from framework import snapshot_util as snap
from framework.guests import expect_no_output, expect_output


def test_vsock_across_restore(vms, workdir):
    uds = workdir / "v.sock"
    echo = vms.process([sys.executable, snap.LIB / "vsock_host.py", uds, "--echo-only",
                        "--timeout", "250"], name="vsock-host")
    echo.wait_out(r"^ready", 10)

    vm = snap.start_guest(vms, "virtio_vsock", "--vsock", f"cid=5,uds={uds}",
                          "--append", "transport=mmio snapshot=1", landlock=workdir)
    vm.wait_out(r"^SNAP-READY", 60)
    expect_output(vm, r"^snapshot: port [0-9]+ connected to host port 1234, 4096 bytes echoed")
    folder = snap.take(vm.api, workdir / "snap")  # paused and snapshotted with the connection open
    vm.signal(signal.SIGKILL)
    vm.wait()
    assert uds.is_socket(), f"the killed VMM did not leave {uds} behind (the restore must replace it)"

    # the landlock rule: its socket, outside the snapshot's folder
    run = vms.run(["--restore", folder, "--landlock-rules", f"{workdir}:rw"], timeout=120,
                  name="restore")
    snap.expect_pass(run)
    expect_no_output(run, r"^SNAP-READY")  # went on, did not boot again
    expect_output(run, r"^snapshot: TRANSPORT_RESET received, connections dropped, CID still 5")
    expect_output(run, r"^snapshot: the old connection is gone \(RST\)")
    expect_output(run, r"^snapshot: connected again after the restore, 4096 bytes echoed")
    assert not uds.exists(), f"{uds} still there after the restored VMM exited"
