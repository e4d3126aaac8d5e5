# virtio-vsock configured through the control plane: Firecracker's PUT /vsock before
# InstanceStart (vmm --api-sock only), and the "vsock" member of --config-file. Each time the
# freestanding vsock guest (tests/guests/virtio_vsock.c, small sizes) runs all its phases against
# the host helper (vsock_host.py): guest->host echo, several connections, credit, and a
# host-initiated CONNECT. GET /vm/config shows the vsock; PUT /vsock after start is refused.
# labels: api virtio
# requires: kvm
# timeout: 240
import re
import sys

from api_util import LIB, api_vmm, want
from framework import host
from framework.guests import expect_output, expect_pass, expect_status, guest_path

GUEST_ARGS = "transport=mmio echo=8192 conns=4 credit=16384 host=8192"
RUN_TIMEOUT = 100


def start_host(vms, uds, tag, *args):
    """The host helper, ready to serve."""
    helper = vms.process([sys.executable, LIB / "vsock_host.py", uds, "--timeout", 90,
                          "--credit", 16384, "--host", 8192, *args], name=f"host-{tag}")
    helper.wait_out(r"^ready", 10)
    return helper


def check_guest(run, helper):
    """The guest's phases and the helper's verdict."""
    expect_pass(run)
    expect_output(run, r"^virtio-vsock at 0x[0-9a-f]+: guest CID 9, split ring")
    expect_output(run, r"^echo: 8192 bytes both ways ok")
    expect_output(run, r"^many: 4 connections ok")
    expect_output(run, r"^host: 8192 bytes from the host checked and echoed")
    status = helper.wait(60)
    assert status == 0, f"host side failed ({status}): {helper.out}{helper.err}"
    print("host side: " + ";".join(helper.out.splitlines()))


def test_over_the_api(vms, workdir):
    # the helper connects to the guest's port 5000 (its last phase, which waits for it) only
    # after the refused PUT below, so the VM is surely still running then
    host.require("kvm")
    kernel = guest_path("virtio_vsock")
    uds = workdir / "v.sock"
    go = workdir / "go"
    helper = start_host(vms, uds, "api", "--go", go)
    vm = api_vmm(vms, "--debug-exit", "--console", "stdio")
    api = vm.api
    want(api, 400, "PUT", "/vsock", {"guest_cid": 2, "uds_path": str(uds)})
    want(api, 204, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128})
    want(api, 204, "PUT", "/boot-source", {"kernel_image_path": str(kernel), "boot_args": GUEST_ARGS})
    want(api, 204, "PUT", "/vsock", {"vsock_id": "vsock0", "guest_cid": 9, "uds_path": str(uds)})
    want(api, 200, "GET", "/vm/config",
         regex=r'"guest_cid":9.*"uds_path":"' + re.escape(str(uds)) + '"')
    want(api, 204, "PUT", "/actions", {"action_type": "InstanceStart"})
    want(api, 400, "PUT", "/vsock", {"guest_cid": 10, "uds_path": str(uds)})
    go.touch()
    vm.status = vm.wait(RUN_TIMEOUT)
    check_guest(vm, helper)


def test_from_a_config_file(vms, workdir):
    host.require("kvm")
    kernel = guest_path("virtio_vsock")
    uds = workdir / "v.sock"
    helper = start_host(vms, uds, "file")
    run = vms.run(["--debug-exit", "--console", "stdio"], timeout=RUN_TIMEOUT, config={
        "boot-source": {"kernel_image_path": str(kernel), "boot_args": GUEST_ARGS},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 128},
        "vsock": {"guest_cid": 9, "uds_path": str(uds)}})
    check_guest(run, helper)


def test_bad_vsock_member_names_itself(vms, workdir):
    run = vms.run([], timeout=30, config={
        "boot-source": {"kernel_image_path": str(guest_path("virtio_vsock"))},
        "vsock": {"guest_cid": 1, "uds_path": str(workdir / "v.sock")}})
    expect_status(run, 2)
    assert "vsock: guest_cid" in run.err, f"stderr: {run.err}"
