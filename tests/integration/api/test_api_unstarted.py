# The API of a VMM whose VM is not started yet (vmm --api-sock alone), which needs no KVM and so
# runs on every host: every bad-input case and awkward client of api_clients.py, configuration
# answers (GET /, PUT /machine-config, /boot-source, /drives, GET /vm/config), the kernel, initrd
# and drive files checked at PUT (a 400 naming the file and the problem), PUT /metrics with
# emit_id and properties and the line FlushMetrics writes, InstanceStart refused without a
# kernel, and then InstanceStart of a configured test guest: where KVM is usable the guest runs
# and passes; where it is not, the start is refused with the KVM probe's
# reason in the fault_message (host/kvm/kvm_probe.h) and the VMM keeps answering.
# labels: api
# timeout: 180
import os
import re

from api_util import api_vmm, run_lib_script, want
from framework import host
from framework.guests import expect_pass, guest_path


def test_unstarted_api(vms, workdir):
    disk = workdir / "disk.img"
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    kernel = guest_path("hello")
    vm = api_vmm(vms, "--debug-exit", "--console", "stdio")
    api = vm.api

    want(api, 200, "GET", "/", regex=r'"state":"Not started"')
    want(api, 400, "PUT", "/actions", {"action_type": "InstanceStart"}, "without kernel")
    run_lib_script("api_clients.py", vm.sock, "--not-started")
    want(api, 204, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64})
    # Paths are checked at PUT, as Firecracker opens them there: a 400 naming the file and why.
    none = workdir / "none"
    want(api, 400, "PUT", "/boot-source", {"kernel_image_path": str(none)},
         re.escape(f"kernel {none}: No such file"))
    want(api, 400, "PUT", "/boot-source", {"kernel_image_path": str(disk)},
         re.escape(f"kernel {disk}: neither a bzImage nor an ELF"))
    want(api, 400, "PUT", "/boot-source",
         {"kernel_image_path": str(kernel), "initrd_path": str(workdir)},
         re.escape(f"initrd {workdir}: not a regular file"))
    fifo = workdir / "fifo"
    os.mkfifo(fifo)
    want(api, 400, "PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": str(fifo),
                                         "is_root_device": False, "is_read_only": True},
         re.escape(f"disk {fifo}: not a regular file"))
    want(api, 400, "PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": str(none),
                                         "is_root_device": False},
         re.escape(f"disk {none}: ") + ".*No such file")
    ro_disk = workdir / "ro.img"
    with open(ro_disk, "wb") as f:
        f.truncate(1 << 20)
    ro_disk.chmod(0o444)
    want(api, 400, "PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": str(ro_disk),
                                         "is_root_device": False, "is_read_only": False},
         re.escape(f"disk {ro_disk}: ") + ".*(read-only|Permission denied)")
    want(api, 200, "GET", "/vm/config", regex=r'"drives":\[\]')
    want(api, 204, "PUT", "/boot-source", {"kernel_image_path": str(kernel)})
    want(api, 204, "PUT", "/drives/d0", {"drive_id": "d0", "path_on_host": str(disk),
                                         "is_root_device": False, "is_read_only": True})
    want(api, 200, "GET", "/vm/config", regex=r'"mem_size_mib":64')

    # Metrics as Firecracker defines them: unknown fields refused, emit_id and properties on
    # every JSON line of the file (FlushMetrics writes one now).
    metrics = workdir / "metrics.json"
    want(api, 400, "PUT", "/metrics", {"metrics_path": str(metrics), "period": 1}, "period")
    want(api, 400, "PUT", "/metrics", {"metrics_path": str(metrics), "properties": {"n": 1}},
         "must be a string")
    want(api, 204, "PUT", "/metrics", {"metrics_path": str(metrics), "emit_id": True,
                                       "properties": {"customer_id": "1234"}})
    want(api, 400, "PUT", "/metrics", {"metrics_path": str(metrics)}, "Reinitialization")
    want(api, 204, "PUT", "/actions", {"action_type": "FlushMetrics"})
    ident = re.search(r'"id":"[^"]*"', api.get("/").body).group(0)
    lines = metrics.read_text().splitlines()
    assert len(lines) == 1 and re.match(
        r'\{"utc_timestamp_ms":[0-9]*,' + re.escape(ident)
        + r',"properties":\{"customer_id":"1234"\},', lines[0]), \
        f"metrics line: {metrics.read_text()[:300]} (want {ident} and the properties)"

    if host.kvm_usable():
        want(api, 204, "PUT", "/actions", {"action_type": "InstanceStart"})
        vm.status = vm.wait(120)
        expect_pass(vm)
    else:
        reason = host.kvm_line().removeprefix("kvm: unusable: ").split("; fix: ")[0]
        # Refused: Firecracker answers a failed start with 400.
        want(api, 400, "PUT", "/actions", {"action_type": "InstanceStart"}, re.escape(reason))
        want(api, 200, "GET", "/", regex=r'"state":"Not started"')
