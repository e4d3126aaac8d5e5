"""The checks of test_virtio_vsock.py and test_virtio_vsock_pci.py (one per transport): each test
file defines the `transport` fixture and imports these tests."""
import os
import sys

import pytest

from framework import paths
from framework.guests import (boot_vmm, expect_output, expect_pass, guest_transport_args,
                              transport_args)

VSOCK_HOST = paths.SOURCE_DIR / "tests" / "integration" / "lib" / "vsock_host.py"


@pytest.mark.parametrize("ring", ["split", "packed"])
def test_guest_and_host(vms, workdir, transport, ring):
    uds = workdir / "v.sock"
    helper = vms.process([sys.executable, VSOCK_HOST, uds, "--timeout", "110"], name="host")
    helper.wait_out(r"^ready", 30)  # its echo and source servers listen before the guest connects
    run = boot_vmm(vms, "virtio_vsock", *transport_args(transport), "--vsock", f"cid=7,uds={uds}",
                   "--append", f"{guest_transport_args(transport, ring)} ring={ring}", timeout=120)
    expect_pass(run)
    expect_output(run, rf"^virtio-vsock at 0x[0-9a-f]+: guest CID 7, {ring} ring")
    expect_output(run, r"^echo: 65536 bytes both ways ok")
    expect_output(run, r"^many: 16 connections ok")
    expect_output(run, r"^credit: [1-9][0-9]* stalls at 4096 bytes, recovered each time, "
                       r"32768 bytes ok")
    expect_output(run, r"^host: 65536 bytes from the host checked and echoed")
    # The VMM removes PATH when it exits (seccomp on: the unlink is allowed).
    assert not os.path.exists(uds), f"{uds} still there after the VMM exited"
    status = helper.wait(30)
    assert status == 0, f"host side failed:\n{helper.out}"
    assert "echo connections: 17\n" in helper.out, f"host side:\n{helper.out}"


@pytest.mark.parametrize("bad", ["cid=2,uds={uds}", "cid=3", "uds={uds}", "cid=3,uds={uds},x=1"],
                         ids=["host-cid", "no-uds", "no-cid", "unknown-key"])
def test_bad_options_refused(vms, workdir, bad):
    option = bad.format(uds=workdir / "v.sock")
    run = boot_vmm(vms, "virtio_vsock", "--vsock", option)
    assert run.status != 0 and "vsock" in run.err, \
        f"--vsock {option}: status {run.status}\n{run.tail()}"
