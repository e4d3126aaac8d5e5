# PUT /vmm/vm.resize and vmmctl resize without a guest that answers (a test guest with no ACPI:
# vmm/vm/cpu_hotplug.h): the bad requests refused with a 400 that says why and change nothing,
# a grow accepted (the VMM's side: the vCPU woken, GET /vm/config's vcpu_count and max_vcpus), a
# shrink the guest never answers refused after its timeout with the vCPU kept, a paused VM
# refused, a snapshot of a VM with an absent vCPU restored and migrated with it absent and then
# grown, a snapshot with the guest's vCPU event unread refused, and a VM started without max=M
# refused.
# The guest's side (Linux onlining and ejecting the vCPU) is linux/linux_vcpu_hotplug.
# labels: api
# requires: kvm
# timeout: 180
import os
import subprocess

import pytest

from api_util import want
from framework import host, paths
from framework.api import Api
from framework.guests import guest_path
from framework.proc import wait_until

WAITING = "xlate=1 wait_ms=120000"


def start_vm(vms, cpus, name="vmm"):
    """The test guest waiting (for a Ctrl-Alt-Del that never comes)."""
    vm = vms.start(["--kernel", guest_path("i8042_keys"), "--debug-exit", "--cpus", cpus,
                    "--append", WAITING], name=name, api=True)
    vm.wait_out(r"waiting for Ctrl-Alt-Del", 30)
    return vm


def resize(api, status, body, regex=None):
    return want(api, status, "PUT", "/vmm/vm.resize", body, regex)


def test_resize_snapshot_migrate(vms, workdir):
    host.require("kvm")
    vm = start_vm(vms, "boot=1,max=2")
    api = vm.api
    want(api, 200, "GET", "/vm/config", regex=r'"max_vcpus": ?2')
    resize(api, 400, {"desired_vcpus": 0}, "desired_vcpus must be between 1")
    resize(api, 400, {"desired_vcpus": 3}, r"between 1 and 2 \(the VM's maximum\)")
    resize(api, 400, {}, "desired_vcpus is missing")
    resize(api, 400, {"desired_vcpus": 2, "desired_ram": 1073741824}, "PATCH /hotplug/memory")
    resize(api, 400, {"desired_vcpus": 2, "bogus": 1}, "bogus")
    want(api, 200, "GET", "/vm/config", regex=r'"vcpu_count": ?1,')
    want(api, 204, "PATCH", "/vm", {"state": "Paused"})
    resize(api, 400, {"desired_vcpus": 2}, "paused")
    # a snapshot of 1 of 2 vCPUs (the absent one's state too), restored: still 1 of 2, then grown
    snap = workdir / "snap"
    snap.mkdir()
    want(api, 204, "PUT", "/snapshot/create",
         {"snapshot_path": str(snap / "state"), "mem_file_path": str(snap / "memory")})
    vm.stop()

    src = vms.start(["--restore", snap], name="vmm-restored", api=True)
    want(src.api, 200, "GET", "/vm/config", regex=r'"vcpu_count": ?1,.*"max_vcpus": ?2')
    # that VM migrated (its absent vCPU's state too): the rest runs on the destination. The
    # destination's API socket is given by hand: it may appear only once the VM has come.
    mig = workdir / "dst.mig"
    dst_sock = workdir / "dst.sock"
    dst = vms.start(["--api-sock", dst_sock, "--migrate-from", f"unix:{mig}"], name="vmm-dst")
    wait_until(mig.exists, 10, "the destination's migration socket", alive=dst.alive)
    want(src.api, 204, "PUT", "/vmm/send-migration", {"destination_url": f"unix:{mig}"})
    src.wait(30)  # the source ends
    api = Api(dst_sock)
    api.wait_ready(alive=dst.alive)
    want(api, 200, "GET", "/vm/config", regex=r'"vcpu_count": ?1,.*"max_vcpus": ?2')
    resize(api, 204, {"desired_vcpus": 2})
    # the test guest has no ACPI: it never reads the event, which a snapshot would lose
    want(api, 204, "PATCH", "/vm", {"state": "Paused"})
    want(api, 400, "PUT", "/snapshot/create",
         {"snapshot_path": str(snap / "s2"), "mem_file_path": str(snap / "m2")},
         "has not answered the last vCPU change")
    want(api, 204, "PATCH", "/vm", {"state": "Resumed"})
    want(api, 200, "GET", "/vm/config", regex=r'"vcpu_count": ?2,')
    resize(api, 204, {"desired_vcpus": 2})  # no change
    # the test guest has no ACPI: it never ejects the vCPU
    resize(api, 400, {"desired_vcpus": 1, "timeout_ms": 300},
           "did not eject 1 of the 1 vCPUs.*2 vCPUs are present")
    want(api, 200, "GET", "/vm/config", regex=r'"vcpu_count": ?2,')
    assert os.access(paths.VMMCTL, os.X_OK), f"no vmmctl at {paths.VMMCTL}"
    for args, needle in ((["--vcpus", "1", "--timeout-ms", "200"], "did not eject"),
                         (["--vcpus", "0"], "wants 1-64")):
        run = subprocess.run([str(paths.VMMCTL), "--sock", str(dst_sock), "resize", *args],
                             capture_output=True, text=True, timeout=60)
        assert needle in run.stdout + run.stderr, \
            f"vmmctl resize {' '.join(args)}: {run.stdout}{run.stderr}"
    assert dst.alive(), f"the VM ended:\n{dst.tail()}"


def test_vm_without_max(vms):
    host.require("kvm")
    vm = start_vm(vms, "1")
    resize(vm.api, 400, {"desired_vcpus": 1}, r"no vCPU hotplug.*boot=N,max=M")


def test_config_file_max_vcpus(vms):
    # the config file's machine-config max_vcpus
    host.require("kvm")
    kernel = str(guest_path("i8042_keys"))
    vm = vms.start(["--debug-exit"], api=True, config={
        "boot-source": {"kernel_image_path": kernel, "boot_args": WAITING},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 128, "max_vcpus": 3}})
    want(vm.api, 200, "GET", "/vm/config", regex=r'"vcpu_count": ?1,.*"max_vcpus": ?3')
    resize(vm.api, 204, {"desired_vcpus": 3})
    vm.stop()
    run = vms.run([], timeout=30, name="vmm-below", config={
        "boot-source": {"kernel_image_path": kernel},
        "machine-config": {"vcpu_count": 2, "mem_size_mib": 128, "max_vcpus": 1}})
    assert run.status != 0, "max_vcpus below vcpu_count accepted"
    assert "max_vcpus must be between" in run.out + run.err, f"max_vcpus 1 of 2: {run.err}"


@pytest.mark.parametrize("bad", ["boot=2,max=1", "max=2", "boot=0,max=2", "1,max=65",
                                 "boot=1,bogus=2"])
def test_command_line_cpus_refused(vms, bad):
    run = vms.run(["--kernel", guest_path("i8042_keys"), "--cpus", bad], timeout=30)
    assert run.status != 0, f"--cpus {bad} accepted"
    assert "--cpus" in run.out + run.err, f"--cpus {bad}: {run.out}{run.err}"


def test_cpus_max_with_acpi_off_refused(vms):
    run = vms.run(["--kernel", guest_path("i8042_keys"), "--cpus", "boot=1,max=2",
                   "--acpi", "off"], timeout=30)
    assert run.status != 0, "--cpus max=2 --acpi off accepted"
